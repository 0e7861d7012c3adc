package main

import (
	"flag"
	"fmt"

	"omnichart/internal/fhir/search"
	"omnichart/internal/store"
)

// maxIncludedFlag bounds --search-max-included: the resources one page includes
// are looked up in one statement, and SQLite takes at most 32,766 values in one.
const maxIncludedFlag = 10000

// searchFlags adds the flags of the search limits (docs/limits.md, "Search") to fs
// and returns a function that, once fs is parsed, checks them and gives them as
// store options.
func searchFlags(fs *flag.FlagSet) func() (store.Options, error) {
	timeout := fs.Duration(store.LimitSearchTimeout, store.DefaultSearchTimeout, "longest time one search, or the criteria search of a conditional write, may run")
	lockWait := fs.Duration(store.LimitWriteLockTimeout, store.DefaultWriteLockTimeout, "longest time a write waits for other writes to finish (SQLite's one writer, PostgreSQL's row locks); then it is answered 503 with Retry-After")
	var l search.Limits
	d := search.DefaultLimits
	fs.IntVar(&l.Depth, search.LimitDepth, d.Depth, "most links of a chain and levels of _has in one search parameter")
	fs.IntVar(&l.Params, search.LimitParams, d.Params, "most parameters in one search")
	fs.IntVar(&l.Values, search.LimitValues, d.Values, "most OR values of one search parameter")
	fs.IntVar(&l.TotalValues, search.LimitTotalValues, d.TotalValues, "most values in one search, each counted once per resource type its chain or _has searches")
	fs.IntVar(&l.Joins, search.LimitJoins, d.Joins, "most resource types the chains and _has of one search go through")
	fs.IntVar(&l.SortKeys, search.LimitSortKeys, d.SortKeys, "most _sort keys")
	fs.IntVar(&l.Includes, search.LimitIncludes, d.Includes, "most _include and _revinclude values in one search")
	fs.IntVar(&l.Included, search.LimitIncluded, d.Included, fmt.Sprintf("most resources _include and _revinclude add to one page (at most %d)", maxIncludedFlag))
	fs.IntVar(&l.ValueLength, search.LimitValueLength, d.ValueLength, "most bytes in one search value")
	return func() (store.Options, error) {
		if *timeout <= 0 {
			return store.Options{}, fmt.Errorf("--%s must be more than 0, got %s", store.LimitSearchTimeout, *timeout)
		}
		if *lockWait <= 0 {
			return store.Options{}, fmt.Errorf("--%s must be more than 0, got %s", store.LimitWriteLockTimeout, *lockWait)
		}
		for name, v := range map[string]int{search.LimitDepth: l.Depth, search.LimitParams: l.Params, search.LimitValues: l.Values,
			search.LimitTotalValues: l.TotalValues, search.LimitJoins: l.Joins, search.LimitSortKeys: l.SortKeys,
			search.LimitIncludes: l.Includes, search.LimitIncluded: l.Included, search.LimitValueLength: l.ValueLength} {
			if v < 1 {
				return store.Options{}, fmt.Errorf("--%s must be at least 1, got %d", name, v)
			}
		}
		if l.Included > maxIncludedFlag {
			return store.Options{}, fmt.Errorf("--%s must be at most %d, got %d", search.LimitIncluded, maxIncludedFlag, l.Included)
		}
		return store.Options{SearchTimeout: *timeout, SearchLimits: l, WriteLockWait: *lockWait}, nil
	}
}

package directory

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// Writer is what Load writes through: the service's transactions and searches
// (service.Service), under a principal allowed to write the directory.
type Writer interface {
	Apply(ctx context.Context, kind string, changes []ehr.Change, opts ehr.ApplyOptions) ([]ehr.Outcome, error)
	Search(ctx context.Context, q *search.Query) (*ehr.Page, error)
	// RefreshStatistics is called after a load that changed anything, so that
	// the directory's questions are not planned on figures from before it.
	RefreshStatistics(ctx context.Context) error
}

// Report says what a load changed, per resource type.
type Report struct {
	Added, Changed, Removed, Unchanged map[string]int
	// Withdrawn lists the CHPL product numbers whose certification was active
	// before the load and is not after it.
	Withdrawn []string
}

// Total is the number of resources added, changed and removed.
func (r *Report) Total() int {
	n := 0
	for _, m := range []map[string]int{r.Added, r.Changed, r.Removed} {
		for _, v := range m {
			n += v
		}
	}
	return n
}

// loadTypes are the types of the directory's resources, in the order they are
// written (search parameters first, referenced resources before those referring
// to them) and removed (the reverse).
var loadTypes = []string{"SearchParameter", "Organization", "DeviceDefinition", "Endpoint"}

// loadBatch is the number of changes written in one transaction: large enough
// that the snapshot takes a few dozen commits, small enough that a transaction
// holds SQLite's one writer for a second or two, well under the write lock
// timeout other writers wait for, and well under the entry limit of a Bundle.
const loadBatch = 5000

// loadInFlight is how many transactions of one step of a load run at once: while
// one holds the writer, the next is validated, encoded and indexed (which the
// service does before its transaction), so that a load keeps two cores busy on
// SQLite; on PostgreSQL the transactions themselves run side by side.
const loadInFlight = 2

// Load makes the directory in the store what the snapshot says: it writes the
// resources that are new or differ from the stored ones and deletes the directory's
// resources the snapshot no longer has, in transactions of loadBatch changes, and
// reports what it did. Loading the same snapshot again changes nothing. Only
// resources whose meta.source is Source are compared and removed: what other
// sources wrote is never touched.
//
// The writes go in steps, one per type and method in the order of loadTypes
// (puts) and its reverse (deletes); a step starts once the one before it has
// committed, so that the search parameters index what follows them and a
// resource is written after what it refers to. Within a step, changes are in id
// order, which keeps each transaction's inserts together in the tables' keys
// (the ids are hashes), and up to loadInFlight transactions run at once.
func Load(ctx context.Context, w Writer, s *Snapshot) (*Report, error) {
	return load(ctx, w, s, loadBatch)
}

// load is Load in transactions of batch changes.
func load(ctx context.Context, w Writer, s *Snapshot, batch int) (*Report, error) {
	want := Resources(s)
	stored, wasActive, err := storedDirectory(ctx, w)
	if err != nil {
		return nil, err
	}
	// Everything to be written is checked before anything is, so that what the
	// store would refuse never leaves a load half done.
	states, err := compareResources(want, stored)
	if err != nil {
		return nil, err
	}
	rep := &Report{Added: map[string]int{}, Changed: map[string]int{}, Removed: map[string]int{}, Unchanged: map[string]int{}}
	puts := map[string][]ehr.Change{}
	kept := map[string]bool{}
	for i, res := range want {
		typ, id := fhir.String(res, "resourceType"), fhir.String(res, "id")
		kept[typ+"/"+id] = true
		switch states[i] {
		case added:
			rep.Added[typ]++
		case changed:
			rep.Changed[typ]++
		default:
			rep.Unchanged[typ]++
			continue
		}
		puts[typ] = append(puts[typ], ehr.Change{Method: "PUT", Type: typ, ID: id, Resource: res})
		if typ == "DeviceDefinition" && productStatus(res) != "Active" {
			if num, ok := wasActive[id]; ok {
				rep.Withdrawn = append(rep.Withdrawn, num)
			}
		}
	}
	sort.Strings(rep.Withdrawn)
	var steps [][]ehr.Change
	for _, typ := range loadTypes {
		slices.SortFunc(puts[typ], func(a, b ehr.Change) int { return strings.Compare(a.ID, b.ID) })
		steps = append(steps, puts[typ])
	}
	for i := len(loadTypes) - 1; i >= 0; i-- {
		typ := loadTypes[i]
		var deletes []ehr.Change
		for _, id := range slices.Sorted(maps.Keys(stored[typ])) {
			if !kept[typ+"/"+id] {
				rep.Removed[typ]++
				deletes = append(deletes, ehr.Change{Method: "DELETE", Type: typ, ID: id})
			}
		}
		steps = append(steps, deletes)
	}
	if err := writeSteps(ctx, w, steps, batch); err != nil {
		return nil, err
	}
	if rep.Total() > 0 {
		if err := w.RefreshStatistics(ctx); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// state is what a load does with a resource of the snapshot.
type state int

const (
	unchanged state = iota
	added
	changed
)

// compareResources compares every resource with its stored canonical form, if
// any, and validates against R4 those that are new or differ, working on every
// core. A stored resource is the same when its canonical JSON is.
func compareResources(res []fhir.Resource, stored map[string]map[string][]byte) ([]state, error) {
	states := make([]state, len(res))
	err := forEach(len(res), func(i int) error {
		typ, id := fhir.String(res[i], "resourceType"), fhir.String(res[i], "id")
		states[i] = added
		if old, found := stored[typ][id]; found {
			body, err := canonical(res[i])
			if err != nil {
				return fmt.Errorf("%s/%s: %w", typ, id, err)
			}
			if string(body) == string(old) {
				states[i] = unchanged
				return nil
			}
			states[i] = changed
		}
		if issues := fhir.R4().Validate(res[i]); len(issues) > 0 {
			return fmt.Errorf("%s/%s is not valid R4: %s", typ, id, issues[0].Diagnostics)
		}
		return nil
	})
	return states, err
}

// forEach calls fn with 0 to n-1 on as many goroutines as there are cores, and
// returns the error of the lowest index that failed, so that the error a load
// reports does not depend on scheduling.
func forEach(n int, fn func(i int) error) error {
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				errs[i] = fn(i)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// writeSteps writes each step's changes in transactions of batch changes, up to
// loadInFlight at once, starting a step once the one before it has committed.
// After a failure no further transaction starts; the error is that of the first
// failed transaction in the order of the changes.
func writeSteps(ctx context.Context, w Writer, steps [][]ehr.Change, batch int) error {
	total := 0
	for _, step := range steps {
		total += len(step)
	}
	done := 0
	for _, step := range steps {
		var batches []int // start of each batch within step
		for start := 0; start < len(step); start += batch {
			batches = append(batches, start)
		}
		errs := make([]error, len(batches))
		var failed atomic.Bool
		slots := make(chan struct{}, loadInFlight)
		var wg sync.WaitGroup
		for k, start := range batches {
			slots <- struct{}{}
			if failed.Load() {
				<-slots
				break
			}
			wg.Go(func() {
				defer func() { <-slots }()
				end := min(start+batch, len(step))
				if _, err := w.Apply(ctx, "transaction", step[start:end], ehr.ApplyOptions{}); err != nil {
					errs[k] = fmt.Errorf("write the directory (changes %d to %d of %d): %w", done+start+1, done+end, total, err)
					failed.Store(true)
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		done += len(step)
	}
	return nil
}

// storedDirectory reads the directory's stored resources of every type, each in
// canonical form by type and id, and the CHPL numbers of the products that are
// active, by DeviceDefinition id. The types are read side by side.
func storedDirectory(ctx context.Context, w Writer) (map[string]map[string][]byte, map[string]string, error) {
	found := make([]map[string][]byte, len(loadTypes))
	wasActive := map[string]string{}
	err := forEachType(func(k int) error {
		typ := loadTypes[k]
		m, err := storedResources(ctx, w, typ, func(res fhir.Resource) {
			if typ == "DeviceDefinition" && productStatus(res) == "Active" {
				wasActive[fhir.String(res, "id")] = productNumber(res)
			}
		})
		found[k] = m
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	stored := map[string]map[string][]byte{}
	for k, typ := range loadTypes {
		stored[typ] = found[k]
	}
	return stored, wasActive, nil
}

// forEachType calls fn with the index of every type of loadTypes, each on a
// goroutine of its own, and returns the first error in the order of loadTypes.
func forEachType(fn func(k int) error) error {
	errs := make([]error, len(loadTypes))
	var wg sync.WaitGroup
	for k := range loadTypes {
		wg.Go(func() { errs[k] = fn(k) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// storedResources returns the directory's stored resources of typ, by id, in
// canonical form, calling each on every one.
func storedResources(ctx context.Context, w Writer, typ string, each func(fhir.Resource)) (map[string][]byte, error) {
	// Every resource of typ is read and those of other sources skipped here: a
	// _source search reads the same rows, and pages through them more slowly.
	q, err := search.ParseString(typ, "_count=1000")
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for {
		page, err := w.Search(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("read the stored directory (%s): %w", typ, err)
		}
		for _, rec := range page.Records {
			res, err := fhir.Decode(rec.Resource)
			if err != nil {
				return nil, fmt.Errorf("read %s/%s: %w", typ, rec.ID, err)
			}
			if meta := fhir.Object(res, "meta"); fhir.String(meta, "source") != Source {
				continue
			}
			each(res)
			body, err := canonical(res)
			if err != nil {
				return nil, err
			}
			out[rec.ID] = body
		}
		if page.Next == "" {
			return out, nil
		}
		q.Cursor = page.Next
	}
}

// canonical is a resource's JSON without what the server sets on each write.
func canonical(res fhir.Resource) ([]byte, error) {
	c := make(fhir.Resource, len(res))
	for k, v := range res {
		c[k] = v
	}
	if meta, ok := res["meta"].(map[string]any); ok {
		m := make(map[string]any, len(meta))
		for k, v := range meta {
			if k != "versionId" && k != "lastUpdated" {
				m[k] = v
			}
		}
		c["meta"] = m
	}
	return fhir.Marshal(c)
}

func productStatus(res fhir.Resource) string {
	if codes := PropertyCodes(res, PropertyStatus); len(codes) > 0 {
		return codes[0]
	}
	return ""
}

// PropertyCodes returns the codes of the values of a product DeviceDefinition's
// property (PropertyStatus, PropertyInterfaces, ...), in order.
func PropertyCodes(res fhir.Resource, property string) []string {
	var out []string
	for _, p := range fhir.Array(res, "property") {
		pm, _ := p.(map[string]any)
		named := false
		for _, c := range fhir.Array(fhir.Object(pm, "type"), "coding") {
			cm, _ := c.(map[string]any)
			named = named || fhir.String(cm, "code") == property
		}
		if !named {
			continue
		}
		for _, v := range fhir.Array(pm, "valueCode") {
			vm, _ := v.(map[string]any)
			for _, c := range fhir.Array(vm, "coding") {
				cm, _ := c.(map[string]any)
				out = append(out, fhir.String(cm, "code"))
			}
		}
	}
	return out
}

func productNumber(res fhir.Resource) string {
	for _, id := range fhir.Array(res, "identifier") {
		if im, _ := id.(map[string]any); fhir.String(im, "system") == SystemProductNumber {
			return fhir.String(im, "value")
		}
	}
	return ""
}

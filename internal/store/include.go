package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// SearchParameters lists the search parameters Search supports for typ, from the
// registry, for the CapabilityStatement.
func (s *Store) SearchParameters(typ string) []ehr.SearchParameterInfo {
	var out []ehr.SearchParameterInfo
	for _, d := range s.registry.ForType(typ) {
		if d.Expression == "" && d.Type != "composite" {
			continue
		}
		out = append(out, ehr.SearchParameterInfo{Name: d.Code, Type: d.Type, Definition: d.URL, Targets: d.Targets})
	}
	return out
}

// Registry returns the search parameter registry the store indexes with.
func (s *Store) Registry() *search.Registry { return s.registry }

// includeSpec is one _include or _revinclude value: "Type:param[:target]" or "*".
type includeSpec struct {
	source, param, target string
	reverse, iterate      bool
}

func parseIncludes(q *search.Query) ([]includeSpec, error) {
	var specs []includeSpec
	add := func(values []string, reverse, iterate bool) error {
		for _, v := range values {
			if v == "*" {
				specs = append(specs, includeSpec{param: "*", reverse: reverse, iterate: iterate})
				continue
			}
			parts := strings.Split(v, ":")
			if len(parts) < 2 || len(parts) > 3 {
				return invalid("_include/_revinclude value %q must be Type:parameter[:targetType]", v)
			}
			s := includeSpec{source: parts[0], param: parts[1], reverse: reverse, iterate: iterate}
			if len(parts) == 3 {
				s.target = parts[2]
				if !fhir.R4().IsResourceType(s.target) {
					return invalid("the target type of _include/_revinclude value %q is not a resource type", v)
				}
			}
			specs = append(specs, s)
		}
		return nil
	}
	for _, x := range []struct {
		v                []string
		reverse, iterate bool
	}{{q.Include, false, false}, {q.IncludeIterate, false, true}, {q.RevInclude, true, false}, {q.RevIncludeIterate, true, true}} {
		if err := add(x.v, x.reverse, x.iterate); err != nil {
			return nil, err
		}
	}
	return specs, nil
}

// includes adds the resources that _include and _revinclude ask for to page.Included,
// repeating :iterate specs over what they add until nothing new appears (at most
// includeRounds times). A page that would include more than the Included limit is
// Invalid: leaving some out would let a client take a partial record for the
// whole, and reading them all would let one request hold any number of resources
// in memory.
func (t *tx) includes(ctx context.Context, q *search.Query, page *ehr.Page) error {
	specs, err := parseIncludes(q)
	if err != nil || len(specs) == 0 {
		return err
	}
	for _, s := range specs {
		if s.param == "*" {
			continue
		}
		d, ok := t.s.registry.Lookup(s.source, s.param)
		if !ok || d.Type != "reference" {
			return invalid("%s:%s is not a reference search parameter", s.source, s.param)
		}
	}
	seen := map[string]bool{}
	for _, r := range page.Records {
		seen[r.Reference()] = true
	}
	limit := t.s.limits.Included
	tooMany := limitError(fmt.Sprintf("_include and _revinclude would add more than %d resources to the page; the limit is %d (%s): ask for fewer matches per page with _count, or search the included resources themselves",
		limit, limit, search.LimitIncluded), "", "limit "+search.LimitIncluded)
	frontier := page.Records
	for round := 0; round < includeRounds && len(frontier) > 0; round++ {
		var found []*ehr.Record
		for _, s := range specs {
			if round > 0 && !s.iterate {
				continue
			}
			// Targets already seen may be among those read, so read up to
			// that many more than the resources still allowed.
			recs, complete, err := t.includeOne(ctx, s, frontier, limit-len(page.Included)+len(seen))
			if err != nil {
				return err
			}
			for _, r := range recs {
				if seen[r.Reference()] {
					continue
				}
				if len(page.Included) == limit {
					return tooMany
				}
				seen[r.Reference()] = true
				page.Included = append(page.Included, r)
				found = append(found, r)
			}
			if !complete {
				return tooMany
			}
		}
		frontier = found
	}
	return nil
}

// includeRounds bounds how often :iterate specs are repeated over what the
// previous round added.
const includeRounds = 5

// includeOne resolves one spec against a set of resources, reading at most room of
// the resources it refers to; complete is false when there were more.
func (t *tx) includeOne(ctx context.Context, s includeSpec, from []*ehr.Record, room int) (recs []*ehr.Record, complete bool, err error) {
	byType := map[string][]any{}
	compartments := map[string][]any{} // of the resources of each type, once each
	seenCompartment := map[[2]string]bool{}
	for _, r := range from {
		byType[r.Type] = append(byType[r.Type], r.ID)
		if k := [2]string{r.Type, r.Compartment}; !seenCompartment[k] {
			seenCompartment[k] = true
			compartments[r.Type] = append(compartments[r.Type], r.Compartment)
		}
	}
	var targets [][2]string
	dup := map[[2]string]bool{}
	for typ, ids := range byType {
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
		var query string
		var args []any
		if s.reverse {
			// Resources of s.source whose s.param points at one of ours.
			if s.param == "*" {
				continue
			}
			query = `SELECT DISTINCT i.res_type, i.res_id FROM index_reference i WHERE i.res_type = ? AND i.param = ? AND i.ref_type = ? AND i.ref_id IN (` + marks + `)`
			args = append([]any{s.source, s.param, typ}, ids...)
		} else {
			if s.param != "*" && s.source != typ {
				continue
			}
			// Naming the resources' compartments lets the engines find their
			// rows by the owner index, instead of every row of the parameter.
			cmarks := strings.TrimSuffix(strings.Repeat("?, ", len(compartments[typ])), ", ")
			query = `SELECT DISTINCT i.ref_type, i.ref_id FROM index_reference i` + ownerIndex(t.s.dialect, "index_reference") + ` WHERE i.compartment IN (` + cmarks + `) AND i.res_type = ? AND i.res_id IN (` + marks + `) AND i.ref_id <> ''`
			args = append(append(append([]any{}, compartments[typ]...), typ), ids...)
			if s.param != "*" {
				query += " AND i.param = ?"
				args = append(args, s.param)
			}
			if s.target != "" {
				query += " AND i.ref_type = ?"
				args = append(args, s.target)
			}
		}
		query += fmt.Sprintf(" LIMIT %d", room+1-len(targets))
		rows, err := t.query(ctx, query, args...)
		if err != nil {
			return nil, false, fmt.Errorf("include: %w", err)
		}
		for rows.Next() {
			var rt, rid string
			if err := rows.Scan(&rt, &rid); err != nil {
				rows.Close()
				return nil, false, err
			}
			if k := [2]string{rt, rid}; !dup[k] {
				dup[k] = true
				targets = append(targets, k)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, false, err
		}
		if len(targets) > room {
			return nil, false, nil
		}
	}
	recs, err = t.loadCurrent(ctx, targets)
	return recs, true, err
}

// loadCurrent reads the current, not deleted versions of the given resources.
func (t *tx) loadCurrent(ctx context.Context, refs [][2]string) ([]*ehr.Record, error) {
	scope := ehr.ScopeFrom(ctx)
	byType := map[string][]any{}
	dup := map[[2]string]bool{}
	for _, r := range refs {
		if !dup[r] {
			dup[r] = true
			byType[r[0]] = append(byType[r[0]], r[1])
		}
	}
	var out []*ehr.Record
	for typ, ids := range byType {
		for len(ids) > 0 {
			chunk := ids[:min(len(ids), 500)]
			ids = ids[len(chunk):]
			marks := strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")
			where, args := andScope(`r.res_type = ? AND r.res_id IN (`+marks+`) AND r.deleted = ?`, append(append([]any{typ}, chunk...), false), scope, "r")
			rows, err := t.query(ctx, `SELECT r.res_type, r.res_id, r.version, r.last_updated, v.body, r.source, r.compartment FROM resources r `+currentVersion+`
				WHERE `+where+` ORDER BY r.res_id`, args...)
			if err != nil {
				return nil, fmt.Errorf("include: %w", err)
			}
			for rows.Next() {
				rec := &ehr.Record{}
				var lu int64
				if err := rows.Scan(&rec.Type, &rec.ID, &rec.Version, &lu, bodyDest(&rec.Resource), &rec.Source, &rec.Compartment); err != nil {
					rows.Close()
					return nil, err
				}
				rec.LastUpdated = time.UnixMicro(lu).UTC()
				out = append(out, rec)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

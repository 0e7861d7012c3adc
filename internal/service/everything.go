package service

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// EverythingQuery asks for the records of one or more source Patients: each
// Patient, everything in its Patient compartment, and the shared resources
// (practitioners, organizations, medications, locations...) those refer to.
// See https://hl7.org/fhir/R4/patient-operation-everything.html.
type EverythingQuery struct {
	// Patients are the ids of the source Patients, in the order they are listed.
	Patients []string
	// Types, when not nil, limits the result to these resource types (_type).
	Types []string
	// Since, when not zero, keeps only resources last updated at or after it (_since).
	Since time.Time
	// Count is the page size; 0 is search.DefaultCount.
	Count int
	// Cursor continues a previous page (Page.Next).
	Cursor string
}

// everythingCursor is where a page of Everything stops: the patient, the type and
// the store's own cursor within that type's compartment search.
type everythingCursor struct {
	Patient string `json:"p"`
	Type    string `json:"t"`
	Store   string `json:"c,omitempty"`
}

// Everything returns one page of the records of q.Patients, under the caller's
// scope. Records are listed patient by patient, and for each patient type by type
// (the Patient first, then the compartment's types in alphabetical order); each
// page's Included holds the shared resources its records refer to that the caller
// may see. A record outside the scope is neither listed nor counted.
func (s *Service) Everything(ctx context.Context, q EverythingQuery) (page *ehr.Page, err error) {
	defer func() {
		var recs []*ehr.Record
		if page != nil {
			recs = append(append(recs, page.Records...), page.Included...)
		}
		if aerr := s.read(ctx, "operation-everything", "Patient", strings.Join(q.Patients, ","), nil, recs, err); aerr != nil {
			page, err = nil, aerr
		}
	}()
	for _, id := range q.Patients {
		if err := ehr.CheckID(id); err != nil {
			return nil, err
		}
	}
	types, err := everythingTypes(q.Types)
	if err != nil {
		return nil, err
	}
	sctx, err := s.begin(ctx, ehr.ActionSearch, "Patient")
	if err != nil {
		return nil, err
	}
	pi, ti, storeCursor, err := decodeEverythingCursor(q.Cursor, q.Patients, types)
	if err != nil {
		return nil, err
	}
	count := q.Count
	if count <= 0 {
		count = search.DefaultCount
	}
	count = min(count, search.MaxCount)
	page = &ehr.Page{Total: -1}
	p := ehr.PrincipalFrom(ctx)
	for pi < len(q.Patients) && len(page.Records) < count {
		typ := types[ti]
		if err := s.policy.Authorize(ctx, p, ehr.ActionSearch, typ); err == nil {
			sq := &search.Query{Type: typ, Compartment: "Patient/" + q.Patients[pi], Count: count - len(page.Records), Cursor: storeCursor}
			if !q.Since.IsZero() {
				sq.Params = []search.Param{{Name: "_lastUpdated", Values: []string{"ge" + q.Since.UTC().Format(time.RFC3339Nano)}}}
			}
			got, err := s.store.Search(sctx, sq)
			if err != nil {
				return nil, err
			}
			for _, rec := range got.Records {
				listed, err := s.listedBefore(sctx, rec, q.Patients[:pi])
				if err != nil {
					return nil, err
				}
				if !listed {
					page.Records = append(page.Records, rec)
				}
			}
			if got.Next != "" {
				storeCursor = got.Next
				break
			}
		} else if ehr.ErrorCode(err) != ehr.Forbidden {
			return nil, err
		}
		storeCursor = ""
		if ti++; ti == len(types) {
			ti, pi = 0, pi+1
		}
	}
	if pi < len(q.Patients) {
		page.Next = encodeEverythingCursor(everythingCursor{Patient: q.Patients[pi], Type: types[ti], Store: storeCursor})
	}
	page.Records = uniqueRecords(page.Records)
	page.Included, err = s.referenced(sctx, page.Records, q.Types)
	if q.Types != nil {
		// Records walked only for what they refer to are not listed.
		page.Records = slices.DeleteFunc(page.Records, func(r *ehr.Record) bool { return !slices.Contains(q.Types, r.Type) })
	}
	return page, err
}

// everythingTypes is the order in which Everything walks types: Patient first,
// then the other types of the Patient compartment alphabetically. With only (not
// nil) it walks the compartment types in only, or every compartment type when only
// names a shared type too, since those are found through what refers to them.
func everythingTypes(only []string) ([]string, error) {
	compartment := fhir.PatientCompartmentTypes()
	shared := false
	for _, t := range only {
		if err := ehr.CheckType(t); err != nil {
			return nil, err
		}
		shared = shared || !slices.Contains(compartment, t)
	}
	var out []string
	for _, t := range append([]string{"Patient"}, compartment...) {
		if slices.Contains(out, t) {
			continue
		}
		if only == nil || shared || slices.Contains(only, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func encodeEverythingCursor(c everythingCursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeEverythingCursor finds where a cursor continues among patients and types.
// A cursor made for other patients or types (a link edited, or the person's links
// changed since the first page) is refused rather than followed elsewhere.
func decodeEverythingCursor(s string, patients, types []string) (pi, ti int, store string, err error) {
	if s == "" {
		return 0, 0, "", nil
	}
	bad := ehr.Errorf(ehr.Invalid, "the _page cursor is not one this operation made for these patients and types; start again from the first page")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, 0, "", bad
	}
	var c everythingCursor
	if err := json.Unmarshal(raw, &c); err != nil {
		return 0, 0, "", bad
	}
	pi, ti = slices.Index(patients, c.Patient), slices.Index(types, c.Type)
	if pi < 0 || ti < 0 {
		return 0, 0, "", bad
	}
	return pi, ti, c.Store, nil
}

// listedBefore reports whether rec is in the compartment of one of earlier, the
// patients listed before the one it was found for, and so was listed already.
func (s *Service) listedBefore(ctx context.Context, rec *ehr.Record, earlier []string) (bool, error) {
	if len(earlier) == 0 {
		return false, nil
	}
	var tree any
	if err := json.Unmarshal(rec.Resource, &tree); err != nil {
		return false, err
	}
	var candidates []string
	collectReferences(tree, func(ref string) {
		if id, ok := strings.CutPrefix(ref, "Patient/"); ok && slices.Contains(earlier, id) {
			candidates = append(candidates, id)
		}
	})
	// A reference is not always a compartment membership: ask the store.
	for _, id := range candidates {
		got, err := s.store.Search(ctx, &search.Query{Type: rec.Type, Compartment: "Patient/" + id, Count: 1,
			Params: []search.Param{{Name: "_id", Values: []string{rec.ID}}}})
		if err != nil {
			return false, err
		}
		if len(got.Records) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// uniqueRecords drops the later copies of a record listed twice (a resource in the
// compartments of two linked Patients).
func uniqueRecords(recs []*ehr.Record) []*ehr.Record {
	seen := map[string]bool{}
	out := recs[:0]
	for _, r := range recs {
		if !seen[r.Reference()] {
			seen[r.Reference()] = true
			out = append(out, r)
		}
	}
	return out
}

// referenced reads the shared resources (outside every Patient compartment) that
// recs refer to by relative literal reference, under the scope in ctx: what the
// caller may not see, what no longer exists and what belongs to a patient
// compartment is left out. only, when not nil, limits their types.
func (s *Service) referenced(ctx context.Context, recs []*ehr.Record, only []string) ([]*ehr.Record, error) {
	have := map[string]bool{}
	for _, r := range recs {
		have[r.Reference()] = true
	}
	var refs []string
	for _, r := range recs {
		var tree any
		if err := json.Unmarshal(r.Resource, &tree); err != nil {
			return nil, err
		}
		collectReferences(tree, func(ref string) {
			if !have[ref] {
				have[ref] = true
				refs = append(refs, ref)
			}
		})
	}
	slices.Sort(refs)
	var out []*ehr.Record
	for _, ref := range refs {
		typ, id, _ := strings.Cut(ref, "/")
		if typ == "Patient" || (only != nil && !slices.Contains(only, typ)) {
			continue
		}
		rec, err := s.store.Read(ctx, typ, id)
		if code := ehr.ErrorCode(err); err != nil && (code == ehr.NotFound || code == ehr.Gone) {
			continue
		} else if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(rec.Compartment, "Patient/") {
			out = append(out, rec)
		}
	}
	return out, nil
}

// collectReferences calls fn with every relative literal reference ("Type/id") in
// a resource tree, contained resources included; absolute, logical and versioned
// references are left alone.
func collectReferences(node any, fn func(string)) {
	switch x := node.(type) {
	case []any:
		for _, e := range x {
			collectReferences(e, fn)
		}
	case map[string]any:
		for k, v := range x {
			if k == "reference" {
				ref, _ := v.(string)
				typ, id, version, ok := fhir.ParseReference(ref)
				if ok && version == "" && ref == typ+"/"+id {
					fn(ref)
				}
				continue
			}
			collectReferences(v, fn)
		}
	}
}

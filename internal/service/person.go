package service

import (
	"context"
	"encoding/json"
	"slices"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// The master patient index keeps each human as a Person whose link[] lists exactly
// the source Patients that are that human, with assurance level3 (linked
// automatically) or level4 (confirmed by a person). Lower assurances are not links:
// possible and probable matches are review Tasks. A Patient without a Person
// stands for itself only.

// PersonPatients reads Person/id under the caller's scope and returns it with the
// ids of the source Patients it links.
func (s *Service) PersonPatients(ctx context.Context, id string) (*ehr.Record, []string, error) {
	rec, err := s.Read(ctx, "Person", id)
	if err != nil {
		return nil, nil, err
	}
	ids, err := linkedPatientIDs(rec.Resource)
	return rec, ids, err
}

// LinkedPatients returns the ids of the source Patients that are the same human as
// Patient/id: id first, then the other Patients linked with it through a Person,
// sorted. A Patient the caller cannot see is NotFound. The links are looked up by
// the engine itself (the master patient index's Persons are its own records), but
// only the Patients the caller may see are returned: a link shows a record of
// another enterprise only where the caller's scope (its sources, a patient's
// Consent, a break-the-glass access) lets the caller see that record.
func (s *Service) LinkedPatients(ctx context.Context, id string) ([]string, error) {
	if _, err := s.Read(ctx, "Patient", id); err != nil {
		return nil, err
	}
	sctx, err := s.begin(ctx, ehr.ActionRead, "Patient")
	if err != nil {
		return nil, err
	}
	return s.visibleLinks(sctx, id)
}

// visibleLinks returns id and the ids of the source Patients linked with it (see
// LinkedPatients), keeping those whose records the scope in ctx reaches: the
// Patient's source and compartment, whatever the resource types the scope
// names, since a caller searching Observations by :mdm need not read Patients.
func (s *Service) visibleLinks(ctx context.Context, id string) ([]string, error) {
	linked, err := s.linkedPatients(ehr.WithScope(ctx, ehr.Unrestricted()), id)
	if err != nil {
		return nil, err
	}
	scope := ehr.ScopeFrom(ctx)
	if !scope.All {
		scope.Types, scope.Restricted = nil, nil
	}
	pctx := ehr.WithScope(ctx, scope)
	out := linked[:1]
	for _, other := range linked[1:] {
		_, err := s.store.Read(pctx, "Patient", other)
		if err == nil {
			out = append(out, other)
		} else if code := ehr.ErrorCode(err); code != ehr.NotFound && code != ehr.Gone {
			return nil, err
		}
	}
	return out, nil
}

// linkedPatients is LinkedPatients under the scope already in ctx.
func (s *Service) linkedPatients(ctx context.Context, id string) ([]string, error) {
	q := &search.Query{Type: "Person", Count: search.MaxCount,
		Params: []search.Param{{Name: "link", Values: []string{"Patient/" + id}}}}
	var others []string
	for {
		page, err := s.store.Search(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, rec := range page.Records {
			ids, err := linkedPatientIDs(rec.Resource)
			if err != nil {
				return nil, err
			}
			// A Person found through a lower-assurance link of id does not make
			// id one with its other Patients.
			if !slices.Contains(ids, id) {
				continue
			}
			others = append(others, ids...)
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	slices.Sort(others)
	out := []string{id}
	for _, o := range slices.Compact(others) {
		if o != id {
			out = append(out, o)
		}
	}
	return out, nil
}

// linkedPatientIDs lists the Patient ids a Person links with assurance level3 or
// level4, in the order of its links, each once.
func linkedPatientIDs(person []byte) ([]string, error) {
	var p struct {
		Link []struct {
			Target    struct{ Reference string } `json:"target"`
			Assurance string                     `json:"assurance"`
		} `json:"link"`
	}
	if err := json.Unmarshal(person, &p); err != nil {
		return nil, err
	}
	var ids []string
	for _, l := range p.Link {
		if l.Assurance != string(ehr.AssuranceLevel3) && l.Assurance != string(ehr.AssuranceLevel4) {
			continue
		}
		typ, id, _, ok := fhir.ParseReference(l.Target.Reference)
		if ok && typ == "Patient" && l.Target.Reference == typ+"/"+id && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

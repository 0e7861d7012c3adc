package service

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
	"omnichart/internal/integrate"
)

// Clinical information reconciliation (ONC 170.315(b)(2)): an enterprise looks at
// the problems, medications and allergies other sources know of its patient next
// to its own list, and accepts one into its own list or marks it reviewed. Its
// decisions are its own records: an accepted item is a new resource of the
// enterprise's source with a Provenance naming what it came from; a reviewed one
// is a Provenance of the enterprise's source whose target is the item.

// ReconcileTypes are the resource types reconciled.
var ReconcileTypes = []string{"AllergyIntolerance", "Condition", "MedicationRequest", "MedicationStatement"}

// ReconcileSystem codes the activity of a reconciliation Provenance.
const ReconcileSystem = "urn:omnichart:reconciliation"

// The states of a received item.
const (
	ItemNew      = "new"      // not decided on, and no record of the enterprise states the same fact
	ItemSame     = "same"     // a record of the enterprise states the same fact (see integrate)
	ItemAccepted = "accepted" // accepted into the enterprise's list
	ItemReviewed = "reviewed" // marked reviewed
)

// ReceivedItem is a record another source holds of the patient.
type ReceivedItem struct {
	Record *ehr.Record
	State  string
	// SameAs are the enterprise's own records of the same fact.
	SameAs []string
	// DisagreesWith are the enterprise's own records of the same fact that say
	// otherwise about it (see integrate.Conflict).
	DisagreesWith []string
	// Decision is the Provenance of an accept or review.
	Decision *ehr.Record
}

// Reconciliation lists, for one of the enterprise's Patients, its own items and
// those received from other sources of the same human.
type Reconciliation struct {
	Source string
	// Patients are the source Patients of the human, Patient/id first.
	Patients []string
	Own      []*ehr.Record
	Received []ReceivedItem
}

// reconcileCheck checks that the caller writes for a source and that Patient/id is
// that source's record, which it returns.
func (s *Service) reconcileCheck(ctx context.Context, id string) (string, error) {
	src := ehr.PrincipalFrom(ctx).Source
	if src == "" {
		return "", ehr.Errorf(ehr.Forbidden, "reconciliation is done by an enterprise for its own records, and this caller writes for no source")
	}
	rec, err := s.Read(ctx, "Patient", id)
	if err != nil {
		return "", err
	}
	if rec.Source != src {
		return "", ehr.Errorf(ehr.Invalid, "Patient/%s is not a record of the caller's source %s; reconcile on the enterprise's own Patient", id, src)
	}
	return src, nil
}

// Reconciliation lists the problems, medications and allergies of the human that
// Patient/id (a record of the caller's source) is, under the caller's scope.
func (s *Service) Reconciliation(ctx context.Context, id string) (*Reconciliation, error) {
	src, err := s.reconcileCheck(ctx, id)
	if err != nil {
		return nil, err
	}
	patients, err := s.LinkedPatients(ctx, id)
	if err != nil {
		return nil, err
	}
	rec, err := s.Integrated(ctx, EverythingQuery{Patients: patients, Types: ReconcileTypes})
	if err != nil {
		return nil, err
	}
	out := &Reconciliation{Source: src, Patients: patients}
	disagree := map[string][]string{}
	for _, c := range rec.Conflicts {
		a, b := c.Records[0], c.Records[1]
		switch {
		case a.Source == src && b.Source != src:
			disagree[b.Ref] = append(disagree[b.Ref], a.Ref)
		case b.Source == src && a.Source != src:
			disagree[a.Ref] = append(disagree[a.Ref], b.Ref)
		}
	}
	var received []string
	for _, f := range rec.Facts {
		members := append([]integrate.Record{f.Record}, f.Also...)
		var own []string
		for _, m := range members {
			if m.Source == src {
				own = append(own, m.Ref)
			}
		}
		for _, m := range members {
			r := rec.Records[m.Ref]
			if m.Source == src {
				out.Own = append(out.Own, r)
				continue
			}
			item := ReceivedItem{Record: r, State: ItemNew, SameAs: own, DisagreesWith: disagree[m.Ref]}
			if len(own) > 0 {
				item.State = ItemSame
			}
			out.Received = append(out.Received, item)
			received = append(received, m.Ref)
		}
	}
	decisions, err := s.decisions(ctx, src, received)
	if err != nil {
		return nil, err
	}
	for i := range out.Received {
		if d, ok := decisions[out.Received[i].Record.Reference()]; ok {
			out.Received[i].State, out.Received[i].Decision = d.state, d.prov
		}
	}
	return out, nil
}

type decision struct {
	state string
	prov  *ehr.Record
}

// decisions finds the caller's source's Provenances that accepted (entity) or
// reviewed (target) each of refs; an accept outweighs a review.
func (s *Service) decisions(ctx context.Context, src string, refs []string) (map[string]decision, error) {
	out := map[string]decision{}
	sctx, err := s.begin(ctx, ehr.ActionSearch, "Provenance")
	if err != nil {
		return nil, err
	}
	for start := 0; start < len(refs); start += 50 {
		chunk := refs[start:min(start+50, len(refs))]
		for _, param := range []string{"target", "entity"} {
			q := &search.Query{Type: "Provenance", Count: search.MaxCount, Params: []search.Param{{Name: param, Values: chunk}}}
			for {
				page, err := s.store.Search(sctx, q)
				if err != nil {
					return nil, err
				}
				for _, p := range page.Records {
					if p.Source != src {
						continue
					}
					res, err := fhir.Decode(p.Resource)
					if err != nil {
						return nil, err
					}
					activity := codesIn(res["activity"], ReconcileSystem)
					switch {
					case param == "entity" && slices.Contains(activity, ItemAccepted):
						for _, ref := range provenanceRefs(res["entity"], "what") {
							if slices.Contains(chunk, ref) {
								out[ref] = decision{ItemAccepted, p}
							}
						}
					case param == "target" && slices.Contains(activity, ItemReviewed):
						for _, ref := range provenanceRefs(res["target"], "") {
							if slices.Contains(chunk, ref) && out[ref].state != ItemAccepted {
								out[ref] = decision{ItemReviewed, p}
							}
						}
					}
				}
				if page.Next == "" {
					break
				}
				q.Cursor = page.Next
			}
		}
	}
	return out, nil
}

func codesIn(v any, system string) []string {
	cc, _ := v.(map[string]any)
	list, _ := cc["coding"].([]any)
	var out []string
	for _, c := range list {
		cm, _ := c.(map[string]any)
		if cm["system"] == system {
			if code, ok := cm["code"].(string); ok {
				out = append(out, code)
			}
		}
	}
	return out
}

// provenanceRefs lists the references of Provenance.target (key "") or of an
// element of Provenance.entity (key "what").
func provenanceRefs(v any, key string) []string {
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		m, _ := e.(map[string]any)
		if key != "" {
			m, _ = m[key].(map[string]any)
		}
		if ref, ok := m["reference"].(string); ok {
			out = append(out, ref)
		}
	}
	return out
}

// Reconcile records the enterprise's decision on item ("Condition/123"), a record
// another source holds of the human Patient/id is: "accept" writes a copy as the
// caller's source's record of Patient/id with a Provenance naming item as its
// source; "review" writes a Provenance saying the enterprise reviewed item. Both
// are one transaction; what is returned are the records written, the new
// resource (accept only) and the Provenance.
func (s *Service) Reconcile(ctx context.Context, id, item, decisionCode string) ([]*ehr.Record, error) {
	if decisionCode != "accept" && decisionCode != "review" {
		return nil, &ehr.Error{Code: ehr.Invalid, Message: fmt.Sprintf("decision must be accept or review, not %q", decisionCode),
			Issues: []fhir.Issue{fhir.ErrorIssue("invalid", "decision", "must be accept or review")}}
	}
	typ, itemID, _, ok := fhir.ParseReference(item)
	if !ok || item != typ+"/"+itemID || !slices.Contains(ReconcileTypes, typ) {
		return nil, &ehr.Error{Code: ehr.Invalid, Message: fmt.Sprintf("item must be a reference such as Condition/123 to one of %s, not %q", strings.Join(ReconcileTypes, ", "), item),
			Issues: []fhir.Issue{fhir.ErrorIssue("invalid", "item", "not a reference to a reconciled type")}}
	}
	list, err := s.Reconciliation(ctx, id)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(list.Received, func(r ReceivedItem) bool { return r.Record.Reference() == item })
	if i < 0 {
		return nil, &ehr.Error{Code: ehr.Invalid, Message: fmt.Sprintf("%s is not an item another source holds of this patient's human (or the caller cannot see it)", item),
			Issues: []fhir.Issue{fhir.ErrorIssue("invalid", "item", "not a received item")}}
	}
	got := list.Received[i]
	if got.State == ItemAccepted {
		return nil, ehr.Errorf(ehr.Conflict, "%s was accepted already (%s)", item, got.Decision.Reference())
	}
	agent := []any{map[string]any{
		"type": map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type", "code": "verifier"}}},
		"who":  map[string]any{"identifier": map[string]any{"system": "urn:omnichart:source", "value": list.Source}},
	}}
	now := s.now().UTC().Format("2006-01-02T15:04:05.000Z07:00")
	var changes []ehr.Change
	if decisionCode == "review" {
		changes = append(changes, ehr.Change{Method: "POST", Type: "Provenance", Resource: map[string]any{
			"resourceType": "Provenance",
			"target":       []any{map[string]any{"reference": item}},
			"recorded":     now,
			"activity":     map[string]any{"coding": []any{map[string]any{"system": ReconcileSystem, "code": ItemReviewed}}},
			"agent":        agent,
		}})
	} else {
		res, err := fhir.Decode(got.Record.Resource)
		if err != nil {
			return nil, err
		}
		copied := acceptedCopy(res, list.Patients, id)
		const local = "urn:uuid:00000000-0000-4000-8000-000000000001"
		changes = append(changes,
			ehr.Change{Method: "POST", FullURL: local, Type: typ, Resource: copied},
			ehr.Change{Method: "POST", Type: "Provenance", Resource: map[string]any{
				"resourceType": "Provenance",
				"target":       []any{map[string]any{"reference": local}},
				"recorded":     now,
				"activity":     map[string]any{"coding": []any{map[string]any{"system": ReconcileSystem, "code": ItemAccepted}}},
				"agent":        agent,
				"entity":       []any{map[string]any{"role": "source", "what": map[string]any{"reference": item}}},
			}})
	}
	out, err := s.Apply(ctx, "transaction", changes, ehr.ApplyOptions{})
	if err != nil {
		return nil, err
	}
	var recs []*ehr.Record
	for _, o := range out {
		recs = append(recs, o.Record)
	}
	return recs, nil
}

// acceptedCopy is the enterprise's own record of an accepted item: the item's
// content about Patient/id instead of the human's other Patients, without what
// belongs to the other source alone (its id, meta, identifiers, narrative,
// extensions, the encounter it was recorded in).
func acceptedCopy(res fhir.Resource, patients []string, id string) fhir.Resource {
	for _, k := range []string{"id", "meta", "identifier", "encounter", "context", "text", "extension"} {
		delete(res, k)
	}
	var walk func(any)
	walk = func(n any) {
		switch x := n.(type) {
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for k, v := range x {
				if ref, ok := v.(string); ok && k == "reference" && strings.HasPrefix(ref, "Patient/") && slices.Contains(patients, strings.TrimPrefix(ref, "Patient/")) {
					x[k] = "Patient/" + id
					continue
				}
				walk(v)
			}
		}
	}
	walk(res)
	return res
}

package fhirapi

import (
	"encoding/json"
	"net/http"
	"net/url"
)

var patientReconcile = &operation{
	id: "Patient-reconcile", name: "PatientReconcile", code: "reconcile", resource: "Patient", instance: true,
	description: "Clinical information reconciliation: for a Patient of the caller's source, its own problems, medications and allergies " +
		"(own) and those other sources linked to the same human hold (received), each received item with its state: new, same (a record " +
		"of the caller's source states the same fact), accepted or reviewed. Only what the caller's scope allows is listed.",
	params: []opParam{
		{name: "source", use: "out", typ: "uri", min: 1, max: "1", doc: "The caller's source."},
		{name: "own", use: "out", typ: "Resource", min: 0, max: "*", doc: "An item of the caller's source."},
		{name: "received", use: "out", min: 0, max: "*", doc: "An item of another source.", parts: []opParam{
			{name: "item", use: "out", typ: "Resource", min: 1, max: "1", doc: "The other source's record."},
			{name: "state", use: "out", typ: "code", min: 1, max: "1", doc: "new, same, accepted or reviewed."},
			{name: "same-as", use: "out", typ: "Reference", min: 0, max: "*", doc: "A record of the caller's source that states the same fact."},
			{name: "disagrees-with", use: "out", typ: "Reference", min: 0, max: "*", doc: "A record of the caller's source about the same fact that says otherwise (a disagreement of the integrated record)."},
			{name: "decision", use: "out", typ: "Reference", min: 0, max: "1", doc: "The Provenance of the accept or review."},
		}},
	},
	serve: (*API).reconcileList,
}

var patientReconcileDecide = &operation{
	id: "Patient-reconcile-decide", name: "PatientReconcileDecide", code: "reconcile-decide", resource: "Patient", instance: true, affects: true,
	description: "Records the caller's source's decision on a received item: accept writes a copy of it as the caller's source's record of " +
		"this Patient with a Provenance whose entity is the item; review writes a Provenance whose target is the item. One transaction; " +
		"malformed input changes nothing.",
	params: []opParam{
		{name: "item", use: "in", typ: "Reference", min: 1, max: "1", doc: "The received item, e.g. Condition/123."},
		{name: "decision", use: "in", typ: "code", min: 1, max: "1", doc: "accept or review."},
		{name: "written", use: "out", typ: "Reference", min: 1, max: "*", doc: "The records written: the accepted copy (accept) and the Provenance."},
	},
	serve: (*API).reconcileDecide,
}

func (a *API) reconcileList(w http.ResponseWriter, r *http.Request, id string, _ url.Values) {
	list, err := a.svc.Reconciliation(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	params := []any{map[string]any{"name": "source", "valueUri": list.Source}}
	for _, rec := range list.Own {
		params = append(params, map[string]any{"name": "own", "resource": json.RawMessage(rec.Resource)})
	}
	for _, item := range list.Received {
		parts := []any{
			map[string]any{"name": "item", "resource": json.RawMessage(item.Record.Resource)},
			map[string]any{"name": "state", "valueCode": item.State},
		}
		for _, ref := range item.SameAs {
			parts = append(parts, map[string]any{"name": "same-as", "valueReference": map[string]any{"reference": ref}})
		}
		for _, ref := range item.DisagreesWith {
			parts = append(parts, map[string]any{"name": "disagrees-with", "valueReference": map[string]any{"reference": ref}})
		}
		if item.Decision != nil {
			parts = append(parts, map[string]any{"name": "decision", "valueReference": map[string]any{"reference": item.Decision.Reference()}})
		}
		params = append(params, map[string]any{"name": "received", "part": parts})
	}
	a.writeResource(w, r, http.StatusOK, map[string]any{"resourceType": "Parameters", "parameter": params})
}

func (a *API) reconcileDecide(w http.ResponseWriter, r *http.Request, id string, in url.Values) {
	recs, err := a.svc.Reconcile(r.Context(), id, in.Get("item"), in.Get("decision"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var params []any
	for _, rec := range recs {
		params = append(params, map[string]any{"name": "written", "valueReference": map[string]any{"reference": rec.Reference()}})
	}
	a.writeResource(w, r, http.StatusOK, map[string]any{"resourceType": "Parameters", "parameter": params})
}

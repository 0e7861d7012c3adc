package fhirapi

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/service"
)

var patientBreakGlass = &operation{
	id: "Patient-break-the-glass", name: "PatientBreakTheGlass", code: "break-the-glass", resource: "Patient", instance: true, affects: true,
	description: "Emergency access: opens to the calling user, for a limited time, the records of this patient at every source " +
		"(this Patient and every Patient linked to it through the master patient index), whatever the patient's Consents say. " +
		"Only users allowed to break the glass may; the reason is required; every access is audited and listed in the report " +
		"of emergency accesses (omnichart admin break-glass report).",
	params: []opParam{
		{name: "reason", use: "in", typ: "string", min: 1, max: "1", doc: "Why the emergency access is needed."},
		{name: "minutes", use: "in", typ: "integer", min: 0, max: "1", doc: "How long the access lasts (default 60, at most 240)."},
		{name: "opened", use: "out", typ: "Reference", min: 1, max: "*", doc: "The Patients whose compartments were opened."},
		{name: "until", use: "out", typ: "instant", min: 1, max: "1", doc: "When the access closes."},
	},
	serve: (*API).breakGlass,
}

func (a *API) breakGlass(w http.ResponseWriter, r *http.Request, id string, in url.Values) {
	var d time.Duration
	if v := in.Get("minutes"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			a.errorf(w, r, ehr.Invalid, "minutes must be a positive whole number, got %q", v)
			return
		}
		if time.Duration(n)*time.Minute > service.MaxBreakGlass {
			a.errorf(w, r, ehr.Invalid, "a break-the-glass access lasts at most %d minutes", int(service.MaxBreakGlass/time.Minute))
			return
		}
		d = time.Duration(n) * time.Minute
	}
	b, err := a.svc.BreakGlass(r.Context(), id, in.Get("reason"), d)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	params := []any{}
	for _, c := range b.Compartments {
		params = append(params, map[string]any{"name": "opened", "valueReference": map[string]any{"reference": c}})
	}
	params = append(params, map[string]any{"name": "until", "valueInstant": b.Closes.Format(time.RFC3339)})
	a.writeResource(w, r, http.StatusOK, map[string]any{"resourceType": "Parameters", "parameter": params})
}

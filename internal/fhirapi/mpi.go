package fhirapi

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/mpi"
)

// PatientIndex is what the API asks of the master patient index
// (*mpi.MPI). Both calls run under the caller's principal and scope.
type PatientIndex interface {
	Candidates(ctx context.Context, patient map[string]any, onlyCertain bool, count int) ([]mpi.Candidate, error)
	Decide(ctx context.Context, taskID string, v mpi.Verdict, reason string) (*ehr.Record, error)
}

// The operations of the patient index.
const (
	matchOperation    = "http://hl7.org/fhir/OperationDefinition/Patient-match"
	decideOperation   = "urn:omnichart:OperationDefinition:Task-decide"
	matchGradeURL     = "http://hl7.org/fhir/StructureDefinition/match-grade"
	maxMatchCandidate = 100
)

func (a *API) mpiRoutes() {
	a.mux.HandleFunc("POST /fhir/Patient/$match", a.patientMatch)
	a.mux.HandleFunc("POST /fhir/Task/{id}/$decide", a.taskDecide)
}

// declareOperations adds the patient index's operations to a resource of the
// CapabilityStatement.
func (a *API) declareOperations(typ string, res map[string]any) {
	if a.cfg.PatientIndex == nil {
		return
	}
	ops, _ := res["operation"].([]any)
	switch typ {
	case "Patient":
		ops = append(ops, map[string]any{"name": "match", "definition": matchOperation})
	case "Task":
		ops = append(ops, map[string]any{"name": "decide", "definition": decideOperation,
			"documentation": "Decide a match-review or identity-conflict task: Parameters decision (code: link, not-same, undo) and reason (string); the reviewer is the caller."})
	default:
		return
	}
	res["operation"] = ops
}

// parameters reads an operation's Parameters body into its parameters by
// name, refusing anything but the names allowed, each at most once.
func (a *API) parameters(r *http.Request, op string, allowed ...string) (map[string]map[string]any, error) {
	body, err := a.readBody(r)
	if err != nil {
		return nil, err
	}
	if rt := fhir.String(body, "resourceType"); rt != "Parameters" {
		return nil, ehr.Errorf(ehr.Invalid, "the body of %s must be a Parameters resource, not %q", op, rt)
	}
	out := map[string]map[string]any{}
	for i, p := range fhir.Array(body, "parameter") {
		pm, _ := p.(map[string]any)
		name := fhir.String(pm, "name")
		where := fmt.Sprintf("Parameters.parameter[%d]", i)
		known := false
		for _, n := range allowed {
			known = known || n == name
		}
		switch {
		case !known:
			return nil, &ehr.Error{Code: ehr.Invalid, Message: fmt.Sprintf("%s takes no parameter %q (it takes %s)", op, name, strings.Join(allowed, ", ")),
				Issues: []fhir.Issue{fhir.ErrorIssue("invalid", where+".name", "unknown parameter")}}
		case out[name] != nil:
			return nil, &ehr.Error{Code: ehr.Invalid, Message: fmt.Sprintf("%s takes parameter %q once", op, name),
				Issues: []fhir.Issue{fhir.ErrorIssue("invalid", where, "repeated parameter")}}
		}
		pm["@where"] = where
		out[name] = pm
	}
	return out, nil
}

func paramError(p map[string]any, field, format string, args ...any) error {
	where, _ := p["@where"].(string)
	msg := fmt.Sprintf(format, args...)
	return &ehr.Error{Code: ehr.Invalid, Message: msg, Issues: []fhir.Issue{fhir.ErrorIssue("invalid", where+"."+field, msg)}}
}

// patientMatch serves Patient/$match
// (https://hl7.org/fhir/R4/patient-operation-match.html): the Patient in
// the resource parameter is scored against the stored Patients the caller
// may see; the answer is a searchset Bundle, best first, each entry with its
// search score (0..1) and match grade.
func (a *API) patientMatch(w http.ResponseWriter, r *http.Request) {
	if !a.checkAccept(w, r) {
		return
	}
	if a.cfg.PatientIndex == nil {
		a.errorf(w, r, ehr.NotSupported, "this server runs without a patient index: $match is not available")
		return
	}
	// $match is a search of Patients; each candidate is then read as the
	// caller, so only those it may see are offered.
	if err := a.svc.Authorize(r.Context(), ehr.ActionSearch, "Patient"); err != nil {
		a.writeError(w, r, err)
		return
	}
	params, err := a.parameters(r, "$match", "resource", "onlyCertainMatches", "count")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	rp := params["resource"]
	if rp == nil {
		a.writeError(w, r, &ehr.Error{Code: ehr.Invalid, Message: "$match needs the Patient to match in the parameter \"resource\"",
			Issues: []fhir.Issue{fhir.ErrorIssue("required", "Parameters.parameter", "resource is missing")}})
		return
	}
	patient := fhir.Object(rp, "resource")
	if rt := fhir.String(patient, "resourceType"); rt != "Patient" {
		a.writeError(w, r, paramError(rp, "resource", "the resource parameter must hold a Patient, not %q", rt))
		return
	}
	if issues := fhir.R4().Validate(patient); len(issues) > 0 {
		a.writeError(w, r, ehr.InvalidIssues("the Patient of the resource parameter is not valid R4", issues))
		return
	}
	onlyCertain := false
	if p := params["onlyCertainMatches"]; p != nil {
		b, ok := p["valueBoolean"].(bool)
		if !ok {
			a.writeError(w, r, paramError(p, "valueBoolean", "onlyCertainMatches must be a valueBoolean"))
			return
		}
		onlyCertain = b
	}
	count := maxMatchCandidate
	if p := params["count"]; p != nil {
		n, ok := positiveInt(p)
		if !ok {
			a.writeError(w, r, paramError(p, "valueInteger", "count must be a valueInteger or valuePositiveInt of at least 1"))
			return
		}
		count = min(n, maxMatchCandidate)
	}
	found, err := a.cfg.PatientIndex.Candidates(r.Context(), patient, onlyCertain, count)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	base := a.base(r)
	entries := make([]any, 0, len(found))
	for _, c := range found {
		res, err := fhir.Decode(c.Record.Resource)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		entries = append(entries, map[string]any{
			"fullUrl":  base + "/Patient/" + c.Record.ID,
			"resource": res,
			"search": map[string]any{
				"mode":      "match",
				"score":     json.Number(strconv.FormatFloat(math.Round(c.Probability*10000)/10000, 'f', -1, 64)),
				"extension": []any{map[string]any{"url": matchGradeURL, "valueCode": c.Grade}},
			},
		})
	}
	a.writeResource(w, r, http.StatusOK, map[string]any{
		"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries,
	})
}

func positiveInt(p map[string]any) (int, bool) {
	for _, key := range []string{"valueInteger", "valuePositiveInt"} {
		var n int64
		switch v := p[key].(type) {
		case json.Number:
			var err error
			if n, err = v.Int64(); err != nil {
				return 0, false
			}
		case float64:
			if v != math.Trunc(v) {
				return 0, false
			}
			n = int64(v)
		case nil:
			continue
		default:
			return 0, false
		}
		if n < 1 || n > math.MaxInt32 {
			return 0, false
		}
		return int(n), true
	}
	return 0, false
}

// taskDecide serves Task/{id}/$decide: a person decides a match-review or
// identity-conflict task. Parameters: decision (code link, not-same or undo)
// and reason (string). The reviewer is the caller; the answer is the task as
// written.
func (a *API) taskDecide(w http.ResponseWriter, r *http.Request) {
	if !a.checkAccept(w, r) {
		return
	}
	if a.cfg.PatientIndex == nil {
		a.errorf(w, r, ehr.NotSupported, "this server runs without a patient index: $decide is not available")
		return
	}
	id := r.PathValue("id")
	if err := ehr.CheckID(id); err != nil {
		a.writeError(w, r, err)
		return
	}
	params, err := a.parameters(r, "$decide", "decision", "reason")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	dp, rp := params["decision"], params["reason"]
	if dp == nil || rp == nil {
		a.writeError(w, r, &ehr.Error{Code: ehr.Invalid, Message: "$decide needs the parameters decision (link, not-same or undo) and reason",
			Issues: []fhir.Issue{fhir.ErrorIssue("required", "Parameters.parameter", "decision and reason are required")}})
		return
	}
	code := fhir.String(dp, "valueCode")
	if code == "" {
		a.writeError(w, r, paramError(dp, "valueCode", "decision must be a valueCode: link, not-same or undo"))
		return
	}
	v, err := mpi.ParseVerdict(code)
	if err != nil {
		a.writeError(w, r, paramError(dp, "valueCode", "%s", ehr.ErrorMessage(err)))
		return
	}
	reason := fhir.String(rp, "valueString")
	if strings.TrimSpace(reason) == "" {
		a.writeError(w, r, paramError(rp, "valueString", "reason must be a valueString saying why"))
		return
	}
	rec, err := a.cfg.PatientIndex.Decide(r.Context(), id, v, reason)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeRecord(w, r, http.StatusOK, rec)
}

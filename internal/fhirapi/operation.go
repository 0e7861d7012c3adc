package fhirapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
)

// operation is one FHIR operation ($name) on one resource type, at type level
// ([type]/$name), instance level ([type]/[id]/$name) or both. The table of
// operations (operations) is the one place an operation is declared: its routes,
// its OperationDefinition (served at OperationDefinition/[id]) and its entry in the
// CapabilityStatement all come from it. See https://hl7.org/fhir/R4/operations.html.
type operation struct {
	id          string // OperationDefinition id, e.g. "Patient-everything"
	name        string // computer-friendly name of the definition
	code        string // the operation's code, without "$"
	resource    string
	typeLevel   bool
	instance    bool
	affects     bool   // affectsState: only POST invokes it
	base        string // canonical URL of the definition it extends, if any
	description string
	params      []opParam
	// unsupported names parameters the specification defines for the operation
	// that this server does not implement: asking for one is NotSupported.
	unsupported []string
	// serve answers one invocation; id is "" at type level. in holds the
	// parameters, checked against params.
	serve func(a *API, w http.ResponseWriter, r *http.Request, id string, in url.Values)
}

// opParam declares one parameter of an operation.
type opParam struct {
	name string
	use  string // in, out
	typ  string // FHIR type
	min  int
	max  string // "1" or "*"
	doc  string
	// parts are the parts of a parameter without a type.
	parts []opParam
}

// operations lists every operation the server offers.
func operations() []*operation {
	return []*operation{patientEverything, personEverything, patientSummary, personSummary, patientReconcile, patientReconcileDecide, patientBreakGlass}
}

// routeOperations registers the routes of ops: GET (when it does not affect
// state) and POST at each level it is offered.
func (a *API) routeOperations(m *http.ServeMux, ops []*operation) {
	for _, op := range ops {
		var paths []string
		if op.typeLevel {
			paths = append(paths, "/fhir/"+op.resource+"/$"+op.code)
		}
		if op.instance {
			paths = append(paths, "/fhir/"+op.resource+"/{id}/$"+op.code)
		}
		h := a.operationHandler(op)
		for _, p := range paths {
			m.HandleFunc("POST "+p, h)
			if !op.affects {
				m.HandleFunc("GET "+p, h)
				continue
			}
			m.HandleFunc("GET "+p, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Allow", "POST")
				a.writeResource(w, r, http.StatusMethodNotAllowed, fhir.OperationOutcome([]fhir.Issue{{Severity: "error", Code: "not-supported",
					Diagnostics: fmt.Sprintf("$%s changes data and is invoked with POST only", op.code)}}))
			})
		}
	}
}

// operationHandler reads an invocation's parameters (the query string; for POST
// also a Parameters body), checks them against the declaration and serves it.
func (a *API) operationHandler(op *operation) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !a.checkAccept(w, r) {
			return
		}
		id := r.PathValue("id")
		if op.instance && id != "" {
			if err := ehr.CheckID(id); err != nil {
				a.writeError(w, r, err)
				return
			}
		}
		in, err := a.operationInput(r, op)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		op.serve(a, w, r, id, in)
	}
}

// operationInput gathers the "in" parameters of an invocation. The query string's
// _format and _pretty shape the answer and are no parameters.
func (a *API) operationInput(r *http.Request, op *operation) (url.Values, error) {
	in := url.Values{}
	for k, vs := range r.URL.Query() {
		if k == "_format" || k == "_pretty" {
			continue
		}
		in[k] = append(in[k], vs...)
	}
	if r.Method == http.MethodPost && (r.ContentLength != 0 || r.Header.Get("Content-Type") != "") {
		body, err := a.readBody(r)
		if err != nil {
			return nil, err
		}
		if err := parametersInput(body, in); err != nil {
			return nil, err
		}
	}
	for k, vs := range in {
		i := slices.IndexFunc(op.params, func(p opParam) bool { return p.name == k && p.use == "in" })
		if i < 0 && slices.Contains(op.unsupported, k) {
			return nil, &ehr.Error{Code: ehr.NotSupported, Message: fmt.Sprintf("$%s parameter %q is not supported by this server; its parameters are %s", op.code, k, inNames(op)),
				Issues: []fhir.Issue{fhir.ErrorIssue("not-supported", k, "not supported")}}
		}
		if i < 0 {
			return nil, &ehr.Error{Code: ehr.Invalid, Message: fmt.Sprintf("$%s has no parameter %q; its parameters are %s", op.code, k, inNames(op)),
				Issues: []fhir.Issue{fhir.ErrorIssue("not-supported", k, "unknown parameter")}}
		}
		if op.params[i].max == "1" && len(vs) > 1 {
			return nil, &ehr.Error{Code: ehr.Invalid, Message: fmt.Sprintf("$%s parameter %q may be given once", op.code, k),
				Issues: []fhir.Issue{fhir.ErrorIssue("invalid", k, "repeated")}}
		}
	}
	for _, p := range op.params {
		if p.use == "in" && p.min > 0 && len(in[p.name]) < p.min {
			return nil, &ehr.Error{Code: ehr.Invalid, Message: fmt.Sprintf("$%s needs parameter %q", op.code, p.name),
				Issues: []fhir.Issue{fhir.ErrorIssue("required", p.name, "missing")}}
		}
	}
	return in, nil
}

func inNames(op *operation) string {
	var names []string
	for _, p := range op.params {
		if p.use == "in" {
			names = append(names, p.name)
		}
	}
	return strings.Join(names, ", ")
}

// parametersInput adds the parameters of a Parameters resource to in, each value as
// the text it would have in a query string; a reference is its reference string.
func parametersInput(body fhir.Resource, in url.Values) error {
	if rt, _ := body["resourceType"].(string); rt != "Parameters" {
		return ehr.Errorf(ehr.Invalid, "the body of an operation must be a Parameters resource, not a %q", rt)
	}
	list, _ := body["parameter"].([]any)
	for i, e := range list {
		p, _ := e.(map[string]any)
		name, _ := p["name"].(string)
		where := fmt.Sprintf("Parameters.parameter[%d]", i)
		if name == "" {
			return &ehr.Error{Code: ehr.Invalid, Message: "a parameter has no name", Issues: []fhir.Issue{fhir.ErrorIssue("required", where+".name", "missing")}}
		}
		v, err := parameterValue(p)
		if err != nil {
			return &ehr.Error{Code: ehr.Invalid, Message: fmt.Sprintf("parameter %q: %v", name, err), Issues: []fhir.Issue{fhir.ErrorIssue("invalid", where, err.Error())}}
		}
		in[name] = append(in[name], v)
	}
	return nil
}

func parameterValue(p map[string]any) (string, error) {
	for k, v := range p {
		if !strings.HasPrefix(k, "value") {
			continue
		}
		switch x := v.(type) {
		case string:
			return x, nil
		case bool:
			return strconv.FormatBool(x), nil
		case json.Number:
			return x.String(), nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		case map[string]any:
			if ref, ok := x["reference"].(string); ok && k == "valueReference" {
				return ref, nil
			}
		}
		return "", fmt.Errorf("%s is not a value this operation takes", k)
	}
	return "", errors.New("it has no value[x]")
}

// builtinDefinition answers a read of OperationDefinition/[id] with the definition
// of an operation this server offers, reporting whether it did; other ids are
// stored OperationDefinitions, read as any resource.
func (a *API) builtinDefinition(w http.ResponseWriter, r *http.Request, typ, id string) bool {
	if typ != "OperationDefinition" {
		return false
	}
	for _, op := range operations() {
		if op.id == id {
			a.writeResource(w, r, http.StatusOK, op.definition(a.base(r)))
			return true
		}
	}
	return false
}

// definition is the OperationDefinition of op, its url under base.
// See https://hl7.org/fhir/R4/operationdefinition.html.
func (op *operation) definition(base string) fhir.Resource {
	params := definitionParams(op.params)
	def := fhir.Resource{
		"resourceType": "OperationDefinition",
		"id":           op.id,
		"url":          base + "/OperationDefinition/" + op.id,
		"name":         op.name,
		"status":       "active",
		"kind":         "operation",
		"description":  op.description,
		"affectsState": op.affects,
		"code":         op.code,
		"resource":     []any{op.resource},
		"system":       false,
		"type":         op.typeLevel,
		"instance":     op.instance,
		"parameter":    params,
	}
	if op.base != "" {
		def["base"] = op.base
	}
	return def
}

func definitionParams(ps []opParam) []any {
	var out []any
	for _, p := range ps {
		d := map[string]any{"name": p.name, "use": p.use, "min": p.min, "max": p.max, "documentation": p.doc}
		if p.typ != "" {
			d["type"] = p.typ
		}
		if len(p.parts) > 0 {
			d["part"] = definitionParams(p.parts)
		}
		out = append(out, d)
	}
	return out
}

// capabilityOperations lists, per resource type, the operations entries of the
// CapabilityStatement.
func capabilityOperations(base string) map[string][]any {
	out := map[string][]any{}
	for _, op := range operations() {
		out[op.resource] = append(out[op.resource], map[string]any{"name": op.code, "definition": base + "/OperationDefinition/" + op.id})
	}
	return out
}

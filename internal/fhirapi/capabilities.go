package fhirapi

import (
	"net/http"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
)

// SearchParameterLister is implemented by stores that can say which search
// parameters they support for a resource type; the CapabilityStatement lists them.
type SearchParameterLister interface {
	SearchParameters(typ string) []ehr.SearchParameterInfo
}

// capabilities serves GET /metadata: a CapabilityStatement built from what this
// server implements, resource type by resource type.
// See https://hl7.org/fhir/R4/capabilitystatement.html.
func (a *API) capabilities(w http.ResponseWriter, r *http.Request) {
	if !a.checkAccept(w, r) {
		return
	}
	a.writeResource(w, r, http.StatusOK, a.capabilityStatement(r))
}

func (a *API) capabilityStatement(r *http.Request) map[string]any {
	lister := a.svc
	interactions := []any{}
	for _, code := range []string{"read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"} {
		interactions = append(interactions, map[string]any{"code": code})
	}
	params := map[string][]ehr.SearchParameterInfo{}
	revIncludes := map[string][]any{}
	if lister != nil {
		for _, typ := range fhir.R4().ResourceTypes() {
			params[typ] = lister.SearchParameters(typ)
			for _, p := range params[typ] {
				for _, target := range p.Targets {
					revIncludes[target] = append(revIncludes[target], typ+":"+p.Name)
				}
			}
		}
	}
	ops := capabilityOperations(a.base(r))
	var resources []any
	for _, typ := range fhir.R4().ResourceTypes() {
		res := map[string]any{
			"type":              typ,
			"interaction":       interactions,
			"versioning":        "versioned-update",
			"readHistory":       true,
			"updateCreate":      true,
			"conditionalCreate": true,
			"conditionalRead":   "full-support",
			"conditionalUpdate": true,
			"conditionalDelete": "single",
			"referencePolicy":   []any{"literal", "local"},
		}
		var searchParams []any
		includes := []any{"*"}
		for _, p := range params[typ] {
			sp := map[string]any{"name": p.Name, "type": p.Type}
			if p.Definition != "" {
				sp["definition"] = p.Definition
			}
			searchParams = append(searchParams, sp)
			if p.Type == "reference" {
				includes = append(includes, typ+":"+p.Name)
			}
		}
		if len(searchParams) > 0 {
			res["searchParam"] = searchParams
			res["searchInclude"] = includes
		}
		if rev := revIncludes[typ]; len(rev) > 0 {
			res["searchRevInclude"] = rev
		}
		if o := ops[typ]; len(o) > 0 {
			res["operation"] = o
		}
		a.declareOperations(typ, res)
		resources = append(resources, res)
	}
	return map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         a.cfg.Now().UTC().Format("2006-01-02T15:04:05Z"),
		"kind":         "instance",
		"software":     map[string]any{"name": "Omnichart", "version": a.cfg.Version},
		"implementation": map[string]any{
			"description": "Omnichart FHIR R4 server",
			"url":         a.base(r),
		},
		"fhirVersion": "4.0.1",
		"format":      []any{"application/fhir+json", "json"},
		"patchFormat": []any{jsonPatch},
		"rest": []any{map[string]any{
			"mode":     "server",
			"resource": resources,
			"interaction": []any{
				map[string]any{"code": "transaction"},
				map[string]any{"code": "batch"},
				map[string]any{"code": "search-system"},
				map[string]any{"code": "history-system"},
			},
		}},
	}
}

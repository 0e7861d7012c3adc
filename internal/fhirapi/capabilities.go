package fhirapi

import (
	"net/http"
	"strings"

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
		if typ == "AuditEvent" {
			res = auditEventCapability()
		}
		resources = append(resources, res)
	}
	rest := map[string]any{
		"mode":     "server",
		"resource": resources,
		"interaction": []any{
			map[string]any{"code": "transaction"},
			map[string]any{"code": "batch"},
			map[string]any{"code": "search-system"},
			map[string]any{"code": "history-system"},
		},
	}
	description := "Omnichart FHIR R4 server"
	switch {
	case a.cfg.InsecureNoAuth:
		description = "Omnichart FHIR R4 server. WARNING: AUTHORIZATION IS OFF (--insecure-no-auth): every caller reads and changes every record."
		rest["documentation"] = "Authorization is off: this server is for local experiments only."
	case a.cfg.SMART:
		rest["security"] = a.smartSecurity(r)
	}
	return map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         a.cfg.Now().UTC().Format("2006-01-02T15:04:05Z"),
		"kind":         "instance",
		"software":     map[string]any{"name": "Omnichart", "version": a.cfg.Version},
		"implementation": map[string]any{
			"description": description,
			"url":         a.base(r),
		},
		"fhirVersion": "4.0.1",
		"format":      []any{"application/fhir+json", "json"},
		"patchFormat": []any{jsonPatch},
		"rest":        []any{rest},
	}
}

// smartSecurity declares SMART on FHIR and its OAuth endpoints (the oauth-uris
// extension of SMART App Launch).
func (a *API) smartSecurity(r *http.Request) map[string]any {
	root := strings.TrimSuffix(a.base(r), "/fhir")
	var uris []any
	for _, e := range []string{"authorize", "token", "introspect", "revoke"} {
		uris = append(uris, map[string]any{"url": e, "valueUri": root + "/oauth/" + e})
	}
	return map[string]any{
		"cors": false,
		"service": []any{map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}}}},
		"extension":   []any{map[string]any{"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris", "extension": uris}},
		"description": "OAuth 2.0 bearer tokens (SMART App Launch 2.2, SMART Backend Services); see " + a.base(r) + "/.well-known/smart-configuration",
	}
}

// auditEventCapability declares AuditEvent as the audit log serves it
// (auditevent.go): read and search by patient, agent and date, newest first;
// nothing written through the API.
func auditEventCapability() map[string]any {
	return map[string]any{
		"type":          "AuditEvent",
		"documentation": "The tamper-evident audit log, read-only, as IHE Basic Audit Log Patterns AuditEvents; reading it needs a grant that reaches every record, or a patient's own grant with patient= (docs/security.md).",
		"interaction":   []any{map[string]any{"code": "read"}, map[string]any{"code": "search-type"}},
		"versioning":    "no-version",
		"readHistory":   false,
		"updateCreate":  false,
		"searchParam": []any{
			map[string]any{"name": "patient", "type": "reference", "definition": "http://hl7.org/fhir/SearchParameter/clinical-patient"},
			map[string]any{"name": "agent", "type": "reference", "documentation": "the acting principal's subject, e.g. user/jdoe or client/app"},
			map[string]any{"name": "date", "type": "date", "definition": "http://hl7.org/fhir/SearchParameter/AuditEvent-date"},
		},
	}
}

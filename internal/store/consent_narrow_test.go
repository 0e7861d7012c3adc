package store

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestNarrowedConsentProvisionsFailClosed: openings are whole compartments, so
// a provision that decides for part of the record (or for other actions than
// reading) must never open more than it says: a narrowed permit opens nothing,
// a narrowed deny denies the whole compartment. The expected rules are written
// from R4's Consent semantics, not from the code.
func TestNarrowedConsentProvisionsFailClosed(t *testing.T) {
	north := []any{map[string]any{"reference": map[string]any{"identifier": map[string]any{"system": OrganizationSystem, "value": "north"}}}}
	coding := func(system, code string) map[string]any {
		return map[string]any{"coding": []any{map[string]any{"system": system, "code": code}}}
	}
	consent := func(optIn bool, provision map[string]any) map[string]any {
		c := map[string]any{"resourceType": "Consent", "status": "active",
			"scope":     coding("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy"),
			"provision": provision}
		if optIn {
			c["policyRule"] = coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTIN")
		}
		return c
	}
	permit := func(extra map[string]any) map[string]any {
		p := map[string]any{"type": "permit", "actor": north}
		for k, v := range extra {
			p[k] = v
		}
		return p
	}
	action := func(code string) []any {
		return []any{coding("http://terminology.hl7.org/CodeSystem/consentaction", code)}
	}
	cases := []struct {
		name    string
		consent map[string]any
		want    string // the rules, "grantee kind" joined by ","
	}{
		{"a plain permit opens north", consent(false, permit(nil)), "org:north permit"},
		{"a permit for access opens north", consent(false, permit(map[string]any{"action": action("access")})), "org:north permit"},
		{"a permit to collect only opens nothing", consent(false, permit(map[string]any{"action": action("collect")})), ""},
		{"a permit of one class opens nothing", consent(false, permit(map[string]any{"class": []any{map[string]any{"system": "http://hl7.org/fhir/resource-types", "code": "Immunization"}}})), ""},
		{"a permit of some codes opens nothing", consent(false, permit(map[string]any{"code": []any{coding("http://loinc.org", "30954-2")}})), ""},
		{"a permit for one purpose opens nothing", consent(false, permit(map[string]any{"purpose": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT"}}})), ""},
		{"a permit of some data opens nothing", consent(false, permit(map[string]any{"data": []any{map[string]any{"meaning": "instance", "reference": map[string]any{"reference": "Observation/x"}}}})), ""},
		{"a permit of a data period opens nothing", consent(false, permit(map[string]any{"dataPeriod": map[string]any{"start": "2020-01-01"}})), ""},
		{"a permit of labelled data opens nothing", consent(false, permit(map[string]any{"securityLabel": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "N"}}})), ""},
		{"an opt-in with a narrowed deny for north denies north everything", consent(true, map[string]any{"type": "deny", "actor": north,
			"class": []any{map[string]any{"system": "http://hl7.org/fhir/resource-types", "code": "Condition"}}}), "* permit,org:north deny"},
		{"a permit with a narrowed nested deny denies north everything", consent(false, permit(map[string]any{"provision": []any{map[string]any{"type": "deny",
			"purpose": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HMARKT"}}}}})), ""},
	}
	if len(cases) < 10 {
		t.Fatal("too few cases")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ""
			for i, r := range sortRules(consentRules(c.consent)) {
				if i > 0 {
					got += ","
				}
				got += fmt.Sprintf("%s %s", r.grantee, r.kind)
			}
			if got != c.want {
				t.Errorf("rules = %q, want %q", got, c.want)
			}
		})
	}
}

func sortRules(rs []consentRule) []consentRule {
	slices.SortFunc(rs, func(a, b consentRule) int { return strings.Compare(a.grantee, b.grantee) })
	return rs
}

package ingest_test

import (
	"strings"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
	"omnichart/internal/ingest/ccda"
	"omnichart/internal/ingest/hl7v2"
)

// The identifier system both converted samples below use for the patient.
const (
	v2PatientSystem   = "urn:oid:2.16.840.1.113883.19.5"
	ccdaPatientSystem = "urn:oid:2.16.840.1.113883.19.5.99999.2"
)

func hl7v2PatientBundle(tb testing.TB, value string) fhir.Resource {
	tb.Helper()
	msg := "MSH|^~\\&|A|F|B|G|20240101120000+0000||ADT^A04^ADT_A01|CTRL-1|P|2.5.1\r" +
		"PID|1||" + value + "^^^MYEHR&" + v2PatientSystem[len("urn:oid:"):] + "&ISO^MR||Doe^Jane||19800101|F\r" +
		"PV1|1|O\r"
	m, err := hl7v2.Parse([]byte(msg))
	if err != nil {
		tb.Fatalf("Parse = %v", err)
	}
	res, err := hl7v2.Convert(m, hl7v2.Options{})
	if err != nil {
		tb.Fatalf("Convert = %v", err)
	}
	return res.Bundle
}

func ccdaPatientBundle(tb testing.TB, value string) fhir.Resource {
	tb.Helper()
	doc := strings.Replace(string(mustRead(tb, "ccda/testdata/ccd_r21.xml")), `extension="MRN-0001"`, `extension="`+value+`"`, 1)
	res, err := ccda.Convert([]byte(doc), ccda.Options{})
	if err != nil {
		tb.Fatalf("Convert = %v", err)
	}
	return res.Bundle
}

// patientIfNoneExist returns the conditional-create criteria of the Patient entry.
func patientIfNoneExist(tb testing.TB, b fhir.Resource) string {
	tb.Helper()
	for _, e := range fhir.Array(b, "entry") {
		em := e.(map[string]any)
		if fhir.Object(em, "resource")["resourceType"] == "Patient" {
			return fhir.String(fhir.Object(em, "request"), "ifNoneExist")
		}
	}
	tb.Fatal("the bundle has no Patient entry")
	return ""
}

func TestConditionalCreateOfAnIdentifierWithACommaDoesNotBindToItsParts(t *testing.T) {
	converters := []struct {
		name   string
		system string
		bundle func(testing.TB, string) fhir.Resource
	}{
		{"HL7 v2", v2PatientSystem, hl7v2PatientBundle},
		{"C-CDA", ccdaPatientSystem, ccdaPatientBundle},
	}
	for _, conv := range converters {
		t.Run(conv.name+" ifNoneExist parses into one identifier value", func(t *testing.T) {
			crit := patientIfNoneExist(t, conv.bundle(t, "A,B"))
			q, err := search.ParseString("Patient", crit)
			if err != nil {
				t.Fatalf("ParseString(%q) = %v", crit, err)
			}
			if len(q.Params) != 1 || len(q.Params[0].Values) != 1 {
				t.Fatalf("ParseString(%q) = %+v, want one parameter with one value", crit, q.Params)
			}
			if sys, code, _ := search.SplitToken(q.Params[0].Values[0]); sys != conv.system || code != "A,B" {
				t.Errorf("SplitToken(%q) = %q, %q; want %q, %q", q.Params[0].Values[0], sys, code, conv.system, "A,B")
			}
		})
	}
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			for _, conv := range converters {
				existing := []struct {
					name   string
					values []string
				}{
					{"with a patient whose identifier is the first part", []string{"A"}},
					{"with patients for both parts", []string{"A", "B"}},
				}
				for _, ex := range existing {
					t.Run(conv.name+" "+ex.name, func(t *testing.T) {
						e := newEnv(t, engine)
						parts := map[string]string{}
						for _, v := range ex.values {
							rec, _, err := e.svc.Create(e.ctx, map[string]any{"resourceType": "Patient",
								"identifier": []any{map[string]any{"system": conv.system, "value": v}}}, "")
							if err != nil {
								t.Fatalf("Create(Patient %s) = %v", v, err)
							}
							parts[v] = rec.ID
						}
						for round := 1; round <= 2; round++ {
							kind, changes, err := ehr.ParseBundle(conv.bundle(t, "A,B"), "")
							if err == nil {
								_, err = e.svc.Apply(e.ctx, kind, changes, ehr.ApplyOptions{})
							}
							if err != nil {
								t.Fatalf("Bundle (import %d) = %v", round, err)
							}
						}
						byValue := map[string][]string{}
						for _, r := range e.all(t) {
							if r.Type != "Patient" {
								continue
							}
							res, err := fhir.Decode(r.Resource)
							if err != nil {
								t.Fatal(err)
							}
							for _, id := range fhir.Array(res, "identifier") {
								im := id.(map[string]any)
								if fhir.String(im, "system") == conv.system {
									byValue[fhir.String(im, "value")] = append(byValue[fhir.String(im, "value")], r.ID)
								}
							}
						}
						if got := len(byValue["A,B"]); got != 1 {
							t.Errorf("after importing A,B twice, %d patients have identifier A,B; want 1", got)
						}
						for v, id := range parts {
							if got := byValue[v]; len(got) != 1 || got[0] != id {
								t.Errorf("patients with identifier %s = %v, want only the existing Patient/%s", v, got, id)
							}
						}
					})
				}
			}
		})
	}
}

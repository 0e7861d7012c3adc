package service_test

import (
	"context"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

// TestIntegratedRecordUsesOnlyTheTerminologySourcesMappings: a laboratory's
// HbA1c under its local code and the clinic's under LOINC, at one time with one
// value, are two facts until the terminology source holds a ConceptMap saying
// the codes are equivalent, and one fact from then on; the same ConceptMap sent
// by an EMR source changes nothing, nor does a retired one.
func TestIntegratedRecordUsesOnlyTheTerminologySourcesMappings(t *testing.T) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			svc := service.New(st, service.Options{})
			as := func(src string) context.Context {
				return ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "source/test", Source: src, System: true})
			}
			const lab, clinic = "urn:omnichart:source:lab", "urn:omnichart:source:clinic"
			put := func(src string, res map[string]any) {
				t.Helper()
				if _, _, err := svc.Update(as(src), res["resourceType"].(string), res["id"].(string), res, 0); err != nil {
					t.Fatalf("PUT %s/%s as %s: %v", res["resourceType"], res["id"], src, err)
				}
			}
			obs := func(id, patient, system, code string) map[string]any {
				return map[string]any{"resourceType": "Observation", "id": id, "status": "final",
					"code":              map[string]any{"coding": []any{map[string]any{"system": system, "code": code}}},
					"subject":           map[string]any{"reference": "Patient/" + patient},
					"effectiveDateTime": "2024-03-01T08:00:00Z",
					"valueQuantity":     map[string]any{"value": 6.1, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}}
			}
			put(lab, map[string]any{"resourceType": "Patient", "id": "tlab", "name": []any{map[string]any{"family": "Rowan"}}})
			put(clinic, map[string]any{"resourceType": "Patient", "id": "tclinic", "name": []any{map[string]any{"family": "Rowan"}}})
			put(lab, obs("tobs-lab", "tlab", "http://lab.example.org/codes", "A1C"))
			put(clinic, obs("tobs-clinic", "tclinic", "http://loinc.org", "4548-4"))
			conceptMap := func(id, status string) map[string]any {
				return map[string]any{"resourceType": "ConceptMap", "id": id, "status": status,
					"group": []any{map[string]any{"source": "http://lab.example.org/codes", "target": "http://loinc.org",
						"element": []any{map[string]any{"code": "A1C", "target": []any{map[string]any{"code": "4548-4", "equivalence": "equivalent"}}}}}}}
			}
			facts := func() int {
				t.Helper()
				rec, err := svc.Integrated(as(""), service.EverythingQuery{Patients: []string{"tlab", "tclinic"}, Types: []string{"Observation"}})
				if err != nil {
					t.Fatal(err)
				}
				return len(rec.Facts)
			}
			if n := facts(); n != 2 {
				t.Fatalf("without a mapping: %d facts, want 2", n)
			}
			put(clinic, conceptMap("tmap-clinic", "active"))
			if n := facts(); n != 2 {
				t.Errorf("with an EMR source's ConceptMap: %d facts, want 2 (only the terminology source's count)", n)
			}
			put(service.TerminologySource, conceptMap("tmap", "retired"))
			if n := facts(); n != 2 {
				t.Errorf("with a retired ConceptMap: %d facts, want 2", n)
			}
			put(service.TerminologySource, conceptMap("tmap", "active"))
			if n := facts(); n != 1 {
				t.Errorf("with the terminology source's ConceptMap: %d facts, want 1", n)
			}
		})
	}
}

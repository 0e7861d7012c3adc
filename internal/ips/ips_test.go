package ips_test

import (
	"strings"
	"testing"
	"time"

	"omnichart/internal/fhir"
	"omnichart/internal/integrate"
	"omnichart/internal/ips"
)

func record(t *testing.T, ref, source, body string) integrate.Record {
	t.Helper()
	res, err := fhir.Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return integrate.Record{Ref: ref, Source: source, Resource: res}
}

func TestDocument(t *testing.T) {
	patient := record(t, "Patient/p1", "a", `{"resourceType":"Patient","id":"p1","name":[{"family":"O'Neil <b>","given":["Ann"]}]}`)
	cond := record(t, "Condition/c1", "a", `{"resourceType":"Condition","id":"c1","code":{"text":"asthma & <i>wheeze</i>"},"onsetDateTime":"2010-05-01","subject":{"reference":"Patient/p1"}}`)
	condB := record(t, "Condition/c2", "b", `{"resourceType":"Condition","id":"c2","code":{"text":"asthma"},"subject":{"reference":"Patient/p2"}}`)
	alA := record(t, "AllergyIntolerance/a1", "a", `{"resourceType":"AllergyIntolerance","id":"a1","code":{"text":"penicillin"},"patient":{"reference":"Patient/p1"}}`)
	alB := record(t, "AllergyIntolerance/a2", "b", `{"resourceType":"AllergyIntolerance","id":"a2","code":{"text":"penicillin"},"patient":{"reference":"Patient/p2"}}`)
	vital := record(t, "Observation/o1", "a", `{"resourceType":"Observation","id":"o1","status":"final","category":[{"coding":[{"code":"vital-signs"}]}],"code":{"text":"weight"},"valueQuantity":{"value":70.5,"unit":"kg"}}`)
	social := record(t, "Observation/o2", "a", `{"resourceType":"Observation","id":"o2","status":"final","category":[{"coding":[{"code":"social-history"}]}],"code":{"text":"smoker"}}`)
	result := integrate.Result{
		Facts:     []integrate.Fact{{Record: patient}, {Record: cond, Also: []integrate.Record{condB}}, {Record: alA}, {Record: alB}, {Record: vital}, {Record: social}},
		Conflicts: []integrate.Conflict{{Element: "AllergyIntolerance.clinicalStatus", Records: [2]integrate.Record{alA, alB}, Values: [2]string{"active", "<resolved>"}}},
	}
	doc := ips.Document(ips.Input{Patient: patient, Result: result, FullURL: func(ref string) string { return "http://x/fhir/" + ref },
		ID: "11111111-2222-4333-8444-555555555555", Now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)})

	if doc["type"] != "document" || doc["timestamp"] != "2025-01-02T03:04:05Z" ||
		doc["identifier"].(map[string]any)["value"] != "urn:uuid:11111111-2222-4333-8444-555555555555" {
		t.Errorf("bundle header: %v %v %v", doc["type"], doc["timestamp"], doc["identifier"])
	}
	entries := doc["entry"].([]any)
	var urls []string
	for _, e := range entries {
		urls = append(urls, e.(map[string]any)["fullUrl"].(string))
	}
	// Composition, Patient, then the sections' entries in section order; the
	// social-history observation is in no section.
	want := []string{"urn:uuid:11111111-2222-4333-8444-555555555555", "http://x/fhir/Patient/p1", "http://x/fhir/Condition/c1",
		"http://x/fhir/AllergyIntolerance/a1", "http://x/fhir/AllergyIntolerance/a2", "urn:uuid:" + result.Conflicts[0].ID(), "http://x/fhir/Observation/o1"}
	if strings.Join(urls, " ") != strings.Join(want, " ") {
		t.Errorf("entries\n got  %v\n want %v", urls, want)
	}
	comp := entries[0].(map[string]any)["resource"].(map[string]any)
	sections := comp["section"].([]any)
	wantSections := []struct {
		code  string
		refs  int
		empty bool
		text  string
	}{
		{"11450-4", 1, false, "asthma &amp; &lt;i&gt;wheeze&lt;/i&gt;"},
		{"48765-2", 3, false, "&lt;resolved&gt;"},
		{"10160-0", 0, true, "No information"},
		{"11369-6", 0, true, "No information"},
		{"30954-2", 0, true, "No information"},
		{"8716-3", 1, false, "70.5 kg"},
		{"47519-4", 0, true, "No information"},
	}
	if len(sections) != len(wantSections) {
		t.Fatalf("%d sections, want %d", len(sections), len(wantSections))
	}
	for i, w := range wantSections {
		s := sections[i].(map[string]any)
		code := s["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"]
		refs, _ := s["entry"].([]any)
		_, empty := s["emptyReason"]
		div := s["text"].(map[string]any)["div"].(string)
		if code != w.code || len(refs) != w.refs || empty != w.empty || !strings.Contains(div, w.text) {
			t.Errorf("section %d: code %v, %d entries, empty %v, narrative %q; want %s, %d, %v, containing %q", i, code, len(refs), empty, div, w.code, w.refs, w.empty, w.text)
		}
		if strings.Contains(div, "<i>") || strings.Contains(div, "<resolved>") {
			t.Errorf("section %s narrative holds unescaped text: %s", w.code, div)
		}
	}
	if c1 := entries[2].(map[string]any)["resource"].(map[string]any); len(fhir.Array(c1, "extension")) != 1 {
		t.Errorf("the condition b also recorded carries %v, want one also-recorded-as extension", c1["extension"])
	}
	if _, touched := cond.Resource["extension"]; touched {
		t.Error("the source record was changed")
	}
	if div := comp["text"].(map[string]any)["div"].(string); !strings.Contains(div, "O&#39;Neil &lt;b&gt;") {
		t.Errorf("composition narrative %q, want the escaped patient name", div)
	}
}

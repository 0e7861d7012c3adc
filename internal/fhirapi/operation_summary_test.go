package fhirapi_test

import (
	"strings"
	"testing"
)

// summarySections reads a summary document: the codes of its sections in order,
// and for each code the references its entries hold (DetectedIssues as
// "DetectedIssue"), or "empty:<reason>".
func summarySections(t *testing.T, c *client, doc map[string]any) ([]string, map[string][]string) {
	t.Helper()
	if doc["type"] != "document" || doc["timestamp"] == nil || doc["identifier"] == nil {
		t.Fatalf("not a document Bundle: type %v timestamp %v identifier %v", doc["type"], doc["timestamp"], doc["identifier"])
	}
	entries := doc["entry"].([]any)
	comp := entries[0].(map[string]any)["resource"].(map[string]any)
	if comp["resourceType"] != "Composition" {
		t.Fatalf("first entry is a %v, want the Composition", comp["resourceType"])
	}
	full := map[string]map[string]any{}
	for _, e := range entries {
		em := e.(map[string]any)
		full[em["fullUrl"].(string)] = em["resource"].(map[string]any)
	}
	resolve := func(ref string) map[string]any {
		if r, ok := full[ref]; ok {
			return r
		}
		return full[c.base+"/"+ref]
	}
	if subj := resolve(comp["subject"].(map[string]any)["reference"].(string)); subj == nil || subj["resourceType"] != "Patient" {
		t.Errorf("the Composition's subject is not a Patient of the Bundle")
	}
	var codes []string
	lists := map[string][]string{}
	for _, s := range comp["section"].([]any) {
		sm := s.(map[string]any)
		code := sm["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"].(string)
		codes = append(codes, code)
		div := sm["text"].(map[string]any)["div"].(string)
		if !strings.HasPrefix(div, `<div xmlns="http://www.w3.org/1999/xhtml">`) {
			t.Errorf("section %s narrative %q is not an XHTML div", code, div)
		}
		if er, ok := sm["emptyReason"].(map[string]any); ok {
			lists[code] = []string{"empty:" + er["coding"].([]any)[0].(map[string]any)["code"].(string)}
			continue
		}
		for _, e := range sm["entry"].([]any) {
			ref := e.(map[string]any)["reference"].(string)
			res := resolve(ref)
			if res == nil {
				t.Errorf("section %s lists %s, which is not in the Bundle", code, ref)
				continue
			}
			if res["resourceType"] == "DetectedIssue" {
				ref = "DetectedIssue"
			}
			lists[code] = append(lists[code], ref)
		}
	}
	return codes, lists
}

func TestSummaryIsAnIPSDocumentOfTheIntegratedRecord(t *testing.T) {
	forRecordEngines(t, func(t *testing.T, c *client) {
		oneHumanAtThreeSources(c)
		c.put(srcA, "Patient/alone", `{"name":[{"family":"Nobody"}]}`)
		order := []string{"11450-4", "48765-2", "10160-0", "11369-6", "30954-2", "8716-3", "47519-4"}
		want := map[string][]string{
			"11450-4": {"Condition/asthma-a"},
			"48765-2": {"AllergyIntolerance/pen-a", "AllergyIntolerance/pen-b", "DetectedIssue"},
			"10160-0": {"MedicationRequest/aml-a", "MedicationStatement/aml-b", "DetectedIssue"},
			"11369-6": {"Immunization/flu-a"},
			"30954-2": {"Observation/glu-a", "Observation/hb-b", "Observation/hb-c", "DetectedIssue"},
			"8716-3":  {"empty:unavailable"},
			"47519-4": {"empty:unavailable"},
		}
		var doc map[string]any
		for _, path := range []string{"/Person/h/$summary", "/Patient/p1/$summary"} {
			r := c.must(200, "GET", path, "")
			doc = r.json
			codes, lists := summarySections(t, c, r.json)
			if strings.Join(codes, " ") != strings.Join(order, " ") {
				t.Errorf("%s sections %v, want %v", path, codes, order)
			}
			for code, refs := range want {
				if strings.Join(lists[code], " ") != strings.Join(refs, " ") {
					t.Errorf("%s section %s lists %v, want %v", path, code, lists[code], refs)
				}
			}
			var divs []string
			comp := r.json["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
			for _, sec := range comp["section"].([]any) {
				divs = append(divs, sec.(map[string]any)["text"].(map[string]any)["div"].(string))
			}
			narratives := strings.Join(divs, "")
			if strings.Contains(narratives, "<script>") || !strings.Contains(narratives, "&lt;script&gt;alert(1)&lt;/script&gt; asthma &amp; wheeze") {
				t.Errorf("%s: the condition's text is not escaped in the narrative", path)
			}
		}
		// From b's record the subject is b's Patient.
		r := c.must(200, "GET", "/Patient/p2/$summary", "")
		comp := r.json["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
		if comp["subject"].(map[string]any)["reference"] != "Patient/p2" {
			t.Errorf("Patient/p2/$summary subject %v", comp["subject"])
		}
		// The scope hides b and c: their facts and the disagreements go.
		r = c.must(200, "GET", "/Person/h/$summary", "", "X-Test-Sees", srcA+","+srcMPI)
		_, lists := summarySections(t, c, r.json)
		if got := strings.Join(lists["48765-2"], " "); got != "AllergyIntolerance/pen-a" {
			t.Errorf("allergies seen by a: %s", got)
		}
		if got := strings.Join(lists["30954-2"], " "); got != "Observation/glu-a" {
			t.Errorf("results seen by a: %s", got)
		}
		// Nothing known: every section says so.
		r = c.must(200, "GET", "/Patient/alone/$summary", "")
		codes, lists := summarySections(t, c, r.json)
		for _, code := range codes {
			if strings.Join(lists[code], " ") != "empty:unavailable" {
				t.Errorf("empty record, section %s: %v", code, lists[code])
			}
		}
		if len(codes) != 7 {
			t.Errorf("empty record: %d sections, want 7", len(codes))
		}
		c.must(404, "GET", "/Patient/nobody/$summary", "")
		c.must(404, "GET", "/Person/h/$summary", "", "X-Test-Sees", srcA)
		c.must(501, "GET", "/Patient/p1/$summary?profile=x", "")
		// The document is valid R4: the server stores it as a Bundle.
		c.must(201, "POST", "/Bundle", string(mustJSON(t, doc)))
	})
}

package fhirapi_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// oneHumanAtThreeSources writes one human's records at sources a, b and c, with
// duplicates of one fact and three planted disagreements, and the Person that
// links the three.
func oneHumanAtThreeSources(c *client) {
	const at = "2024-03-01T08:30:00Z"
	lab := func(code, subject, value, unit string) string {
		return fmt.Sprintf(`{"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],`+
			`"code":{"coding":[{"system":"http://loinc.org","code":%q}]},"subject":{"reference":%q},"effectiveDateTime":%q,`+
			`"valueQuantity":{"value":%s,"unit":%q,"system":"http://unitsofmeasure.org","code":%q}}`, code, subject, at, value, unit, unit)
	}
	// The text of a's asthma is markup a narrative must escape.
	condition := func(subject string) string {
		return `{"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},` +
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"195967001"}],"text":"<script>alert(1)</script> asthma & wheeze"},"subject":{"reference":"` + subject + `"},"onsetDateTime":"2010-05-01"}`
	}
	allergy := func(subject, status string) string {
		return `{"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"` + status + `"}]},` +
			`"code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"7980"}]},"patient":{"reference":"` + subject + `"}}`
	}
	shot := func(subject string) string {
		return `{"status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"140"}]},"patient":{"reference":"` + subject + `"},"occurrenceDateTime":"2023-10-12"}`
	}
	rx := `"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"197361"}]}`

	c.put(srcA, "Patient/p1", `{"name":[{"family":"Chalmers","given":["Peter"]}],"birthDate":"1974-12-25"}`)
	c.put(srcA, "Observation/glu-a", lab("2345-7", "Patient/p1", "95", "mg/dL"))
	c.put(srcA, "Condition/asthma-a", condition("Patient/p1"))
	c.put(srcA, "AllergyIntolerance/pen-a", allergy("Patient/p1", "active"))
	c.put(srcA, "MedicationRequest/aml-a", `{"status":"active","intent":"order",`+rx+`,"subject":{"reference":"Patient/p1"}}`)
	c.put(srcA, "Immunization/flu-a", shot("Patient/p1"))

	c.put(srcB, "Patient/p2", `{"name":[{"family":"Chalmers","given":["Pete"]}],"birthDate":"1974-12-25"}`)
	c.put(srcB, "Observation/glu-b", lab("2345-7", "Patient/p2", "0.95", "g/L"))
	c.put(srcB, "Condition/asthma-b", condition("Patient/p2"))
	c.put(srcB, "AllergyIntolerance/pen-b", allergy("Patient/p2", "resolved"))
	c.put(srcB, "MedicationStatement/aml-b", `{"status":"stopped",`+rx+`,"subject":{"reference":"Patient/p2"}}`)
	c.put(srcB, "Immunization/flu-b", shot("Patient/p2"))
	c.put(srcB, "Observation/hb-b", lab("718-7", "Patient/p2", "13.5", "g/dL"))

	c.put(srcC, "Patient/p3", `{"name":[{"family":"Chalmers","given":["Peter"]}],"birthDate":"1974-12-25"}`)
	c.put(srcC, "Observation/glu-c", lab("2345-7", "Patient/p3", "95", "mg/dL"))
	c.put(srcC, "Observation/hb-c", lab("718-7", "Patient/p3", "15.0", "g/dL"))
	c.put(srcC, "Immunization/flu-c", shot("Patient/p3"))

	c.person("h", "Patient/p1=level4", "Patient/p2=level3", "Patient/p3=level3")
}

// integrated reads a whole integrated record, page by page: the facts shown
// (with the records each also stands for, "Ref@source"), and each DetectedIssue
// as "refA refB".
type integratedRecord struct {
	facts  map[string][]string
	order  []string
	issues []string
	total  float64
	// samples are resources the integrated record made (a DetectedIssue, an
	// annotated fact), to check that they are valid R4.
	samples []map[string]any
}

func (c *client) integrated(path string, headers ...string) integratedRecord {
	c.t.Helper()
	out := integratedRecord{facts: map[string][]string{}}
	for page := 0; path != ""; page++ {
		if page > 50 {
			c.t.Fatalf("more than 50 pages from %s", path)
		}
		r := c.must(200, "GET", path, "", headers...)
		out.total, _ = r.json["total"].(float64)
		entries, _ := r.json["entry"].([]any)
		for _, e := range entries {
			res := e.(map[string]any)["resource"].(map[string]any)
			if res["resourceType"] == "DetectedIssue" {
				var refs []string
				for _, i := range res["implicated"].([]any) {
					refs = append(refs, i.(map[string]any)["reference"].(string))
				}
				slices.Sort(refs)
				out.samples = append(out.samples, res)
				out.issues = append(out.issues, strings.Join(refs, " "))
				if !strings.HasPrefix(e.(map[string]any)["fullUrl"].(string), "urn:uuid:") {
					c.t.Errorf("DetectedIssue fullUrl %v, want a urn:uuid:", e.(map[string]any)["fullUrl"])
				}
				continue
			}
			ref := res["resourceType"].(string) + "/" + res["id"].(string)
			if _, dup := out.facts[ref]; dup {
				c.t.Errorf("%s is listed twice", ref)
			}
			also := []string{}
			exts, _ := res["extension"].([]any)
			for _, x := range exts {
				xm := x.(map[string]any)
				if xm["url"] != "urn:omnichart:extension:also-recorded-as" {
					continue
				}
				var rec, src string
				for _, part := range xm["extension"].([]any) {
					pm := part.(map[string]any)
					switch pm["url"] {
					case "record":
						rec = pm["valueReference"].(map[string]any)["reference"].(string)
					case "source":
						src = pm["valueUri"].(string)
					}
				}
				also = append(also, rec+"@"+strings.TrimPrefix(src, "urn:omnichart:source:"))
			}
			slices.Sort(also)
			if len(also) > 0 {
				out.samples = append(out.samples, res)
			}
			out.facts[ref] = also
			out.order = append(out.order, ref)
		}
		path = ""
		for _, l := range r.json["link"].([]any) {
			if l.(map[string]any)["relation"] == "next" {
				path = strings.TrimPrefix(l.(map[string]any)["url"].(string), c.base)
			}
		}
	}
	slices.Sort(out.issues)
	return out
}

func checkFacts(t *testing.T, what string, got integratedRecord, want map[string][]string, issues []string) {
	t.Helper()
	for ref, also := range want {
		g, ok := got.facts[ref]
		if !ok {
			t.Errorf("%s: fact %s is missing", what, ref)
			continue
		}
		slices.Sort(also)
		if !slices.Equal(g, also) {
			t.Errorf("%s: %s also stands for %v, want %v", what, ref, g, also)
		}
	}
	for ref := range got.facts {
		if _, ok := want[ref]; !ok {
			t.Errorf("%s: %s is listed, but it should not be (a duplicate shown twice, or hidden by the scope)", what, ref)
		}
	}
	slices.Sort(issues)
	if !slices.Equal(got.issues, issues) {
		t.Errorf("%s: disagreements %q, want %q", what, got.issues, issues)
	}
	if int(got.total) != len(want) {
		t.Errorf("%s: total %v, want %d facts", what, got.total, len(want))
	}
}

func TestIntegratedEverythingShowsEachFactOnceWithItsSourcesAndConflicts(t *testing.T) {
	forRecordEngines(t, func(t *testing.T, c *client) {
		oneHumanAtThreeSources(c)
		none := []string{}
		all := map[string][]string{
			"Person/h": none, "Patient/p1": none, "Patient/p2": none, "Patient/p3": none,
			"Observation/glu-a":         {"Observation/glu-b@b", "Observation/glu-c@c"},
			"Condition/asthma-a":        {"Condition/asthma-b@b"},
			"Immunization/flu-a":        {"Immunization/flu-b@b", "Immunization/flu-c@c"},
			"AllergyIntolerance/pen-a":  none,
			"AllergyIntolerance/pen-b":  none,
			"MedicationRequest/aml-a":   none,
			"MedicationStatement/aml-b": none,
			"Observation/hb-b":          none,
			"Observation/hb-c":          none,
		}
		conflicts := []string{"AllergyIntolerance/pen-a AllergyIntolerance/pen-b", "MedicationRequest/aml-a MedicationStatement/aml-b", "Observation/hb-b Observation/hb-c"}
		for _, path := range []string{"/Person/h/$everything", "/Person/h/$everything?_count=2", "/Patient/p1/$everything?_mdm=true&_count=5"} {
			checkFacts(t, path, c.integrated(path), all, conflicts)
		}
		made := c.integrated("/Person/h/$everything").samples
		// Asked from b's record, b's records show the facts.
		got := c.integrated("/Patient/p2/$everything?_mdm=true")
		if _, ok := got.facts["Observation/glu-b"]; !ok || got.order[0] != "Patient/p2" {
			t.Errorf("Patient/p2/$everything?_mdm=true shows %v, want Patient/p2 first and its glucose shown", got.order)
		}

		// The scope hides c: its records are neither shown nor named, and the
		// disagreement with c is gone with them.
		checkFacts(t, "scope a+b+mpi", c.integrated("/Person/h/$everything", "X-Test-Sees", srcA+","+srcB+","+srcMPI), map[string][]string{
			"Person/h": none, "Patient/p1": none, "Patient/p2": none,
			"Observation/glu-a":         {"Observation/glu-b@b"},
			"Condition/asthma-a":        {"Condition/asthma-b@b"},
			"Immunization/flu-a":        {"Immunization/flu-b@b"},
			"AllergyIntolerance/pen-a":  none,
			"AllergyIntolerance/pen-b":  none,
			"MedicationRequest/aml-a":   none,
			"MedicationStatement/aml-b": none,
			"Observation/hb-b":          none,
		}, conflicts[:2])

		// The source records are unchanged: the extension is the integrated
		// record's, not theirs.
		r := c.must(200, "GET", "/Observation/glu-a", "")
		if _, ok := r.json["extension"]; ok || r.json["meta"].(map[string]any)["versionId"] != "1" {
			t.Errorf("Observation/glu-a changed: %s", r.body)
		}

		// Unlinking c splits its records off again.
		c.person("h", "Patient/p1=level4", "Patient/p2=level3")
		checkFacts(t, "after unlinking p3", c.integrated("/Person/h/$everything"), map[string][]string{
			"Person/h": none, "Patient/p1": none, "Patient/p2": none,
			"Observation/glu-a":         {"Observation/glu-b@b"},
			"Condition/asthma-a":        {"Condition/asthma-b@b"},
			"Immunization/flu-a":        {"Immunization/flu-b@b"},
			"AllergyIntolerance/pen-a":  none,
			"AllergyIntolerance/pen-b":  none,
			"MedicationRequest/aml-a":   none,
			"MedicationStatement/aml-b": none,
			"Observation/hb-b":          none,
		}, conflicts[:2])
		// What the integrated record makes is valid R4: the server stores it
		// (last, since it adds to the human's records).
		if len(made) != 6 {
			t.Fatalf("%d DetectedIssues and annotated facts, want 3 of each", len(made))
		}
		for _, res := range made {
			delete(res, "id")
			delete(res, "meta")
			c.must(201, "POST", "/"+res["resourceType"].(string), string(mustJSON(t, res)))
		}
		checkFacts(t, "p3 alone", c.integrated("/Patient/p3/$everything?_mdm=true"), map[string][]string{
			"Patient/p3": none, "Observation/glu-c": none, "Observation/hb-c": none, "Immunization/flu-c": none,
		}, nil)
	})
}

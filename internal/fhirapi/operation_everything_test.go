package fhirapi_test

import (
	"encoding/json"
	"strings"
	"testing"
)

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// threeSources writes one human known at sources a and b (linked by the MPI, a by
// a person, b automatically), a third record at c that the MPI thinks only
// possibly the same (not a link), and an unrelated patient at a.
func threeSources(c *client) {
	c.put(srcA, "Practitioner/dr-a", `{"name":[{"family":"Osler"}]}`)
	c.put(srcA, "Organization/org-a", `{"name":"St. Mary's"}`)
	c.put(srcB, "Medication/med-b", `{"code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"197361"}]}}`)
	c.put(srcA, "Patient/pa", `{"name":[{"family":"Chalmers","given":["Peter"]}],"birthDate":"1974-12-25","managingOrganization":{"reference":"Organization/org-a"}}`)
	c.put(srcA, "Observation/oa", `{"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},"subject":{"reference":"Patient/pa"},"performer":[{"reference":"Practitioner/dr-a"}]}`)
	c.put(srcA, "Condition/ca", `{"code":{"text":"asthma"},"subject":{"reference":"Patient/pa"}}`)
	c.put(srcA, "Encounter/ea", `{"status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"Patient/pa"},"serviceProvider":{"reference":"Organization/org-a"}}`)
	c.put(srcB, "Patient/pb", `{"name":[{"family":"Chalmers","given":["Pete"]}],"birthDate":"1974-12-25"}`)
	c.put(srcB, "Observation/ob", `{"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},"subject":{"reference":"Patient/pb"}}`)
	c.put(srcB, "MedicationRequest/mb", `{"status":"active","intent":"order","medicationReference":{"reference":"Medication/med-b"},"subject":{"reference":"Patient/pb"}}`)
	c.put(srcC, "Patient/pc", `{"name":[{"family":"Chalmers","given":["Paula"]}],"birthDate":"1974-12-25"}`)
	c.put(srcC, "Observation/oc", `{"status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pc"}}`)
	c.put(srcA, "Patient/pz", `{"name":[{"family":"Other"}]}`)
	c.put(srcA, "Observation/oz", `{"status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pz"}}`)
	c.person("h1", "Patient/pa=level4", "Patient/pb=level3", "Patient/pc=level2")
}

func TestPatientEverythingIsThatRecordsCompartment(t *testing.T) {
	forRecordEngines(t, func(t *testing.T, c *client) {
		threeSources(c)
		refs, modes, _ := c.pages("/Patient/pa/$everything")
		// Person/h1 links pa, so it is in pa's compartment (Person's link parameter).
		sameSet(t, "Patient/pa/$everything", refs, []string{"Patient/pa", "Observation/oa", "Condition/ca", "Encounter/ea", "Person/h1",
			"Practitioner/dr-a", "Organization/org-a"})
		if modes["Practitioner/dr-a"] != "include" || modes["Organization/org-a"] != "include" || modes["Observation/oa"] != "match" {
			t.Errorf("modes = %v, want referred-to shared resources as include and the compartment as match", modes)
		}
		if refs[0] != "Patient/pa" {
			t.Errorf("first entry = %s, want the Patient", refs[0])
		}

		refs, _, _ = c.pages("/Patient/pa/$everything?_mdm=true")
		sameSet(t, "Patient/pa/$everything?_mdm=true", refs, []string{"Patient/pa", "Observation/oa", "Condition/ca", "Encounter/ea", "Person/h1",
			"Practitioner/dr-a", "Organization/org-a", "Patient/pb", "Observation/ob", "MedicationRequest/mb", "Medication/med-b"})

		refs, _, _ = c.pages("/Person/h1/$everything")
		sameSet(t, "Person/h1/$everything", refs, []string{"Patient/pa", "Observation/oa", "Condition/ca", "Encounter/ea", "Person/h1",
			"Practitioner/dr-a", "Organization/org-a", "Patient/pb", "Observation/ob", "MedicationRequest/mb", "Medication/med-b"})

		// From b's side, the same human; c's possible match is no link.
		refs, _, _ = c.pages("/Patient/pb/$everything?_mdm=true")
		if !strings.Contains(strings.Join(refs, " "), "Observation/oa") || strings.Contains(strings.Join(refs, " "), "Patient/pc") {
			t.Errorf("Patient/pb/$everything?_mdm=true = %v, want a's records and none of c's", refs)
		}
		refs, _, _ = c.pages("/Patient/pc/$everything?_mdm=true")
		sameSet(t, "Patient/pc/$everything?_mdm=true (a level2 link is no link)", refs, []string{"Patient/pc", "Observation/oc", "Person/h1"})
	})
}

func TestEverythingPagesSinceAndTypes(t *testing.T) {
	forRecordEngines(t, func(t *testing.T, c *client) {
		threeSources(c)
		all, _, _ := c.pages("/Person/h1/$everything")
		for _, size := range []string{"1", "2", "3", "5"} {
			refs, _, n := c.pages("/Person/h1/$everything?_count=" + size)
			// Shared resources come with each page that refers to them.
			var matched []string
			seen := map[string]bool{}
			for _, r := range refs {
				if !seen[r] {
					seen[r] = true
					matched = append(matched, r)
				}
			}
			sameSet(t, "pages of "+size, matched, all)
			if size == "1" && n < 8 {
				t.Errorf("_count=1 gave %d pages, want one per compartment resource (8 or more)", n)
			}
		}
		refs, _, _ := c.pages("/Person/h1/$everything?_type=Observation,Patient")
		sameSet(t, "_type=Observation,Patient", refs, []string{"Patient/pa", "Observation/oa", "Patient/pb", "Observation/ob"})
		refs, _, _ = c.pages("/Person/h1/$everything?_type=Observation&_type=Practitioner")
		sameSet(t, "_type=Observation&_type=Practitioner", refs, []string{"Observation/oa", "Observation/ob", "Practitioner/dr-a"})
		refs, _, _ = c.pages("/Person/h1/$everything?_type=Practitioner,Medication")
		sameSet(t, "_type=Practitioner,Medication", refs, []string{"Practitioner/dr-a", "Medication/med-b"})
		refs, _, _ = c.pages("/Patient/pa/$everything?_type=Organization&_count=1")
		sameSet(t, "_type=Organization, paged", refs, []string{"Organization/org-a", "Organization/org-a"})

		// _since: only what changed from then on.
		r := c.must(200, "GET", "/Observation/ob", "")
		since := r.json["meta"].(map[string]any)["lastUpdated"].(string)
		c.put(srcA, "Condition/ca", `{"code":{"text":"asthma, resolved"},"subject":{"reference":"Patient/pa"}}`)
		refs, _, _ = c.pages("/Person/h1/$everything?_since=" + since)
		// ob was written at since, mb and Person/h1 after it, ca updated now;
		// pa, oa, ea and pb before. The Medication mb refers to comes with it.
		sameSet(t, "_since", refs, []string{"Observation/ob", "MedicationRequest/mb", "Medication/med-b", "Person/h1", "Condition/ca"})
	})
}

func TestEverythingShowsOnlyWhatTheScopeAllows(t *testing.T) {
	forRecordEngines(t, func(t *testing.T, c *client) {
		threeSources(c)
		// A reader of a's records and the MPI's links sees a's half of the human.
		refs, _, _ := c.pages("/Person/h1/$everything", "X-Test-Sees", srcA+","+srcMPI)
		sameSet(t, "scope a+mpi", refs, []string{"Patient/pa", "Observation/oa", "Condition/ca", "Encounter/ea", "Person/h1",
			"Practitioner/dr-a", "Organization/org-a"})
		// The links are the engine's: a caller who may see a's and b's records
		// gets both halves through them, without seeing the MPI's Person.
		refs, _, _ = c.pages("/Patient/pa/$everything?_mdm=true", "X-Test-Sees", srcA+","+srcB)
		sameSet(t, "scope a+b, linked through the MPI", refs, []string{"Patient/pa", "Observation/oa", "Condition/ca", "Encounter/ea",
			"Practitioner/dr-a", "Organization/org-a", "Patient/pb", "Observation/ob", "MedicationRequest/mb", "Medication/med-b"})
		// A linked record the caller may not see stays hidden: pa stands for itself.
		refs, _, _ = c.pages("/Patient/pa/$everything?_mdm=true", "X-Test-Sees", srcA)
		sameSet(t, "scope a, b's linked record hidden", refs, []string{"Patient/pa", "Observation/oa", "Condition/ca", "Encounter/ea",
			"Practitioner/dr-a", "Organization/org-a"})
		// A Patient outside the scope is not found.
		c.must(404, "GET", "/Patient/pb/$everything", "", "X-Test-Sees", srcA)
		c.must(404, "GET", "/Person/h1/$everything", "", "X-Test-Sees", srcA)
	})
}

func TestEverythingRefusesWhatItCannotDo(t *testing.T) {
	forRecordEngines(t, func(t *testing.T, c *client) {
		threeSources(c)
		for _, tc := range []struct {
			path   string
			status int
			says   string
		}{
			{"/Patient/pa/$everything?_count=x", 400, "_count"},
			{"/Patient/pa/$everything?_since=yesterday", 400, "_since"},
			{"/Patient/pa/$everything?_type=Observatio", 400, "Observatio"},
			{"/Patient/pa/$everything?_mdm=maybe", 400, "_mdm"},
			{"/Patient/pa/$everything?colour=red", 400, "colour"},
			{"/Patient/pa/$everything?start=2020-01-01", 501, "start"},
			{"/Patient/pa/$everything?_page=bogus", 400, "_page"},
			{"/Person/h1/$everything?_page=bogus", 400, "_page"},
			{"/Person/h1/$everything?_page=-1", 400, "_page"},
			{"/Person/h1/$everything?_page=100000", 400, "_page"},
			{"/Patient/nobody/$everything", 404, ""},
			{"/Person/nobody/$everything", 404, ""},
		} {
			r := c.must(tc.status, "GET", tc.path, "")
			if r.json["resourceType"] != "OperationOutcome" || !strings.Contains(string(r.body), tc.says) {
				t.Errorf("%s: %s, want an OperationOutcome naming %q", tc.path, r.body, tc.says)
			}
		}
		// A cursor of one patient's pages does not continue another's.
		r := c.must(200, "GET", "/Patient/pa/$everything?_count=1", "")
		var next string
		for _, l := range r.json["link"].([]any) {
			if l.(map[string]any)["relation"] == "next" {
				next = l.(map[string]any)["url"].(string)
			}
		}
		_, cursor, _ := strings.Cut(next, "_page=")
		c.must(400, "GET", "/Patient/pz/$everything?_count=1&_page="+cursor, "")
		// POST with a Parameters body is the same operation.
		r = c.must(200, "POST", "/Patient/pa/$everything", `{"resourceType":"Parameters","parameter":[{"name":"_mdm","valueBoolean":true},{"name":"_type","valueCode":"Patient"}]}`)
		if n := len(r.json["entry"].([]any)); n != 2 {
			t.Errorf("POST $everything _mdm _type=Patient gave %d entries, want 2: %s", n, r.body)
		}
	})
}

func TestOperationsAreDefinedAndDeclared(t *testing.T) {
	forRecordEngines(t, func(t *testing.T, c *client) {
		for _, id := range []string{"Patient-everything", "Person-everything", "Patient-summary", "Person-summary", "Patient-reconcile", "Patient-reconcile-decide"} {
			def := c.must(200, "GET", "/OperationDefinition/"+id, "").json
			_, code, _ := strings.Cut(id, "-")
			if def["resourceType"] != "OperationDefinition" || def["code"] != code || def["instance"] != true {
				t.Errorf("OperationDefinition/%s = %v", id, def)
			}
			// What is served must be valid R4: store it as a resource.
			c.must(201, "POST", "/OperationDefinition", strings.Replace(string(mustJSON(t, def)), `"id":"`+id+`",`, "", 1))
		}
		cs := c.must(200, "GET", "/metadata", "").json
		found := map[string]string{}
		for _, res := range cs["rest"].([]any)[0].(map[string]any)["resource"].([]any) {
			rm := res.(map[string]any)
			ops, _ := rm["operation"].([]any)
			for _, o := range ops {
				om := o.(map[string]any)
				found[rm["type"].(string)+"/$"+om["name"].(string)] = om["definition"].(string)
			}
		}
		for _, want := range []string{"Patient/$everything", "Person/$everything", "Patient/$summary", "Person/$summary", "Patient/$reconcile", "Patient/$reconcile-decide"} {
			if !strings.HasSuffix(found[want], "/OperationDefinition/"+strings.ReplaceAll(want, "/$", "-")) {
				t.Errorf("CapabilityStatement operation %s = %q", want, found[want])
			}
		}
	})
}

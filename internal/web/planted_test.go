package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"omnichart/internal/ehrtest"
	"omnichart/internal/ingest"
)

// The planted sources: a clinic that sends FHIR and a hospital.
var plantedSources = []ingest.Source{
	{Slug: "riverside", URI: ingest.SourceURIPrefix + "riverside", Name: "Riverside Clinic", Vendor: "athenahealth", Product: "athenaOne", Active: true},
	{Slug: "stmarys", URI: ingest.SourceURIPrefix + "stmarys", Name: "St Marys Hospital", Vendor: "Epic", Product: "EpicCare", Active: true},
}

const (
	loinc  = "http://loinc.org"
	snomed = "http://snomed.info/sct"
	rxnorm = "http://www.nlm.nih.gov/research/umls/rxnorm"
)

func coding(system, code, display string) map[string]any {
	return map[string]any{"coding": []any{map[string]any{"system": system, "code": code, "display": display}}}
}

func patient(id, given, family, mrnSystem, mrn, ssn string) map[string]any {
	return map[string]any{"resourceType": "Patient", "id": id,
		"identifier": []any{
			map[string]any{"system": mrnSystem, "value": mrn, "type": coding("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical record number")},
			map[string]any{"system": "http://hl7.org/fhir/sid/us-ssn", "value": ssn},
		},
		"name":      []any{map[string]any{"use": "official", "family": family, "given": []any{given}}},
		"gender":    "female",
		"birthDate": "1961-04-12",
		"address":   []any{map[string]any{"line": []any{"12 Elm Street"}, "city": "Springfield", "state": "MA", "postalCode": "01101"}},
		"telecom":   []any{map[string]any{"system": "phone", "value": "413-555-0101"}},
	}
}

func subject(id string) map[string]any { return map[string]any{"reference": "urn:uuid:" + id} }

func hba1c(pid string) map[string]any {
	return map[string]any{"resourceType": "Observation", "status": "final",
		"category":          []any{coding("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory", "Laboratory")},
		"code":              coding(loinc, "4548-4", "Hemoglobin A1c"),
		"subject":           subject(pid),
		"effectiveDateTime": "2025-01-10T09:00:00Z",
		"valueQuantity":     map[string]any{"value": 9.1, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"},
		"interpretation":    []any{coding("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "H", "High")},
		"referenceRange":    []any{map[string]any{"low": map[string]any{"value": 4.0}, "high": map[string]any{"value": 5.6}}},
	}
}

func penicillin(pid, status string) map[string]any {
	return map[string]any{"resourceType": "AllergyIntolerance",
		"clinicalStatus": coding("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", status, status),
		"code":           coding(rxnorm, "7980", "Penicillin G"),
		"patient":        subject(pid),
	}
}

// plantedClinic is Ada's record at the clinic, with the planted cases.
func plantedClinic() []map[string]any {
	return []map[string]any{
		patient("p1", "Ada", "Planted", "urn:oid:2.999.1", "R1001", "999-12-1001"),
		hba1c("p1"),
		{"resourceType": "Observation", "status": "final",
			"category":          []any{coding("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory", "Laboratory")},
			"code":              coding(loinc, "2345-7", "Glucose unitless"),
			"subject":           subject("p1"),
			"effectiveDateTime": "2025-01-10T09:00:00Z",
			"valueQuantity":     map[string]any{"value": 105},
		},
		penicillin("p1", "active"),
		{"resourceType": "Condition",
			"clinicalStatus": coding("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"),
			"code":           coding(snomed, "44054006", "Diabetes mellitus type 2"),
			"subject":        subject("p1"),
			"onsetDateTime":  "2015",
		},
	}
}

// plantedHospital is Ada's record at the hospital: the same HbA1c, and the
// penicillin allergy as resolved (a conflict).
func plantedHospital() []map[string]any {
	return []map[string]any{
		patient("p2", "Ada", "Planted", "urn:oid:2.999.2", "H2002", "999-12-1001"),
		hba1c("p2"),
		penicillin("p2", "resolved"),
		{"resourceType": "Condition",
			"clinicalStatus": coding("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"),
			"code":           coding(snomed, "38341003", "Hypertension"),
			"subject":        subject("p2"),
			"onsetDateTime":  "2019-06",
		},
	}
}

// plant registers the sources and imports Ada (both sources), Noah (no known
// allergies, clinic) and Uma (nothing about allergies, clinic).
func (e *env) plant() {
	e.t.Helper()
	for _, s := range plantedSources {
		e.register(s)
	}
	e.importBundle(plantedSources[0], "ada-clinic.json", plantedClinic()...)
	e.importBundle(plantedSources[1], "ada-hospital.json", plantedHospital()...)
	noah := patient("p3", "Noah", "Nka", "urn:oid:2.999.1", "R3003", "999-12-3003")
	noah["birthDate"], noah["gender"] = "1990-02-02", "male"
	noah["address"] = []any{map[string]any{"line": []any{"9 Oak Road"}, "city": "Amherst", "state": "MA"}}
	e.importBundle(plantedSources[0], "noah.json", noah, map[string]any{"resourceType": "AllergyIntolerance",
		"clinicalStatus": coding("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active"),
		"code":           coding(snomed, "716186003", "No known allergy"), "patient": subject("p3")})
	uma := patient("p4", "Uma", "Unrecorded", "urn:oid:2.999.1", "R4004", "999-12-4004")
	uma["birthDate"] = "1975-07-07"
	uma["address"] = []any{map[string]any{"line": []any{"1 Pine Lane"}, "city": "Hadley", "state": "MA"}}
	e.importBundle(plantedSources[0], "uma.json", uma)
}

var patientLink = regexp.MustCompile(`href="/patients/([^"/]+)"`)

// find searches by name and returns the ids of the results.
func (b *browser) find(name string) []string {
	b.e.t.Helper()
	status, body, _ := b.get("/?name=" + url.QueryEscape(name))
	if status != http.StatusOK {
		b.e.t.Fatalf("search %q = %d\n%s", name, status, body)
	}
	var ids []string
	for _, m := range patientLink.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func TestChartShowsThePlantedClinicalSafetyCases(t *testing.T) {
	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine, envOptions{})
			e.plant()
			b := e.browser()
			b.mustSignIn(clinician)

			ada := b.find("Planted")
			if len(ada) != 2 {
				t.Fatalf("search Planted = %d records, want 2 (one per source)", len(ada))
			}
			_, results, _ := b.get("/?name=Planted")
			contains(t, "search results", results, "Riverside Clinic", "St Marys Hospital", "Linked with")

			status, chart, _ := b.get("/patients/" + ada[0])
			if status != http.StatusOK {
				t.Fatalf("GET chart = %d\n%s", status, chart)
			}
			cases := []struct {
				name string
				// row is a regexp picking the part of the page the case is about.
				row  string
				want []string
			}{
				{"a value sent without a unit says so", `(?s)<tr class="lab[^"]*">\s*<th scope="row">(?:<a [^>]*>)?Glucose unitless.*?</tr>`, []string{"no unit sent", "105"}},
				{"an abnormal value is flagged in words and a symbol", `(?s)<tr class="lab[^"]*">\s*<th scope="row">(?:<a [^>]*>)?Hemoglobin A1c.*?</tr>`, []string{"High", "▲", "9.1", "%", "4–5.6"}},
				{"a fact from two sources names both", `(?s)<tr class="lab[^"]*">\s*<th scope="row">(?:<a [^>]*>)?Hemoglobin A1c.*?</tr>`, []string{"Riverside Clinic", "St Marys Hospital"}},
				{"a conflict is marked", `(?s)<section aria-labelledby="allergies-h">.*?</section>`, []string{"Sources disagree", "Penicillin G"}},
				{"a year stays a year", `(?s)<section aria-labelledby="problems-h">.*?</section>`, []string{"Diabetes mellitus type 2", `datetime="2015"`, ">2015</time>", "(year only)"}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					part := regexp.MustCompile(c.row).FindString(chart)
					if part == "" {
						t.Fatalf("the chart has no part matching %s", c.row)
					}
					contains(t, "the part", part, c.want...)
				})
			}
			if n := len(regexp.MustCompile(`<th scope="row">(?:<a [^>]*>)?Hemoglobin A1c`).FindAllString(chart, -1)); n != 1 {
				t.Errorf("the HbA1c both sources sent is shown %d times, want once (de-duplicated)", n)
			}

			noah := b.find("Nka")
			_, nchart, _ := b.get("/patients/" + noah[0])
			contains(t, "Noah's chart", nchart, "No known allergies")
			if strings.Contains(nchart, "not recorded") {
				t.Errorf("Noah's chart says allergies are not recorded, but a source asserts no known allergies")
			}
			uma := b.find("Unrecorded")
			_, uchart, _ := b.get("/patients/" + uma[0])
			contains(t, "Uma's chart", uchart, "Allergies not recorded")
			if strings.Contains(uchart, "No known allergies") {
				t.Errorf("Uma's chart says no known allergies, but no source said so")
			}
		})
	}
}

var receivedItem = regexp.MustCompile(`(?s)<li class="received">(.*?)</li>`)

// TestReconciliationDecidesThroughThePage accepts the hospital's problem into
// the clinic's list and marks the hospital's allergy reviewed, from the chart's
// forms, as a clinician of the clinic; the engine's records show both.
func TestReconciliationDecidesThroughThePage(t *testing.T) {
	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine, envOptions{})
			e.plant()
			b := e.browser()
			b.mustSignIn(clinician)
			ids := b.find("Planted")
			if len(ids) != 2 {
				t.Fatalf("search Planted = %d, want 2", len(ids))
			}
			chartPath := "/patients/" + ids[0]
			_, chart, _ := b.get(chartPath)
			items := map[string]string{} // text -> item reference
			var own string
			for _, m := range receivedItem.FindAllStringSubmatch(chart, -1) {
				ref := regexp.MustCompile(`name="item" value="([^"]+)"`).FindStringSubmatch(m[1])
				o := regexp.MustCompile(`name="own" value="([^"]+)"`).FindStringSubmatch(m[1])
				if ref == nil || o == nil {
					continue
				}
				own = o[1]
				for _, name := range []string{"Hypertension", "Penicillin G"} {
					if strings.Contains(m[1], name) {
						items[name] = ref[1]
					}
				}
			}
			if len(items) != 2 {
				t.Fatalf("the chart offers %v to reconcile, want Hypertension and Penicillin G:\n%s", items, chart)
			}
			marked := false
			for _, li := range receivedItem.FindAllString(chart, -1) {
				marked = marked || strings.Contains(li, "Penicillin G") && strings.Contains(li, "disagrees with your record")
			}
			if !marked {
				t.Errorf("the hospital's resolved penicillin allergy is not marked as disagreeing with the clinic's")
			}
			for name, decision := range map[string]string{"Hypertension": "accept", "Penicillin G": "review"} {
				status, body, _ := b.post(chartPath+"/reconcile", url.Values{"csrf": {csrf(t, chart)}, "own": {own}, "item": {items[name]}, "decision": {decision}})
				if status != http.StatusSeeOther {
					t.Fatalf("%s %s = %d\n%s", decision, name, status, body)
				}
			}
			ctx := system()
			rec, err := e.svc.Reconciliation(clinicContext(ctx), own)
			if err != nil {
				t.Fatalf("Reconciliation = %v", err)
			}
			states := map[string]string{}
			for _, it := range rec.Received {
				states[it.Record.Reference()] = it.State
			}
			if states[items["Hypertension"]] != "accepted" || states[items["Penicillin G"]] != "reviewed" {
				t.Errorf("states after the clicks = %v, want %s accepted and %s reviewed", states, items["Hypertension"], items["Penicillin G"])
			}
		})
	}
}

package web_test

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"omnichart/internal/ehrtest"
	"omnichart/internal/ingest"
)

// protectedKeys hold codes, references, dates and other values whose syntax the
// importer checks; every other string gets a payload.
var protectedKeys = map[string]bool{"resourceType": true, "id": true, "reference": true, "system": true, "code": true, "status": true,
	"gender": true, "contentType": true, "data": true, "use": true, "intent": true, "div": true, "url": true}

var dateLike = regexp.MustCompile(`^\d{4}(-\d{2}(-\d{2}(T.*)?)?)?$`)

// poison appends a payload to every free string of v, in turn.
func poison(v any, n *int) any {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if s, ok := c.(string); ok && (protectedKeys[k] || dateLike.MatchString(s)) {
				continue
			}
			x[k] = poison(c, n)
		}
		return x
	case []any:
		for i, c := range x {
			x[i] = poison(c, n)
		}
		return x
	case string:
		*n++
		return x + xssPayloads[*n%len(xssPayloads)]
	}
	return v
}

// hostileRecords is a patient whose every free string carries a payload.
func hostileRecords() ([]map[string]any, int) {
	p := patient("h1", "Harriet", "Hostile", "urn:oid:2.999.1", "R6666", "999-12-6666")
	p["birthDate"] = "1950-05-05"
	p["address"] = []any{map[string]any{"line": []any{"66 Sly Street"}, "city": "Worcester", "state": "MA"}}
	note := "Seen today. " + strings.Join(xssPayloads, " ")
	recs := []map[string]any{
		p,
		{"resourceType": "Observation", "status": "final", "category": []any{coding("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory", "Laboratory")},
			"code": map[string]any{"text": "Potassium", "coding": []any{map[string]any{"system": loinc, "code": "2823-3", "display": "Potassium"}}}, "subject": subject("h1"),
			"effectiveDateTime": "2024-02-02T10:00:00Z", "valueQuantity": map[string]any{"value": 4.1, "unit": "mmol/L"},
			"referenceRange": []any{map[string]any{"text": "3.5 to 5.1"}}, "note": []any{map[string]any{"text": "lab note"}}},
		{"resourceType": "Observation", "status": "final", "code": coding(loinc, "8302-2", "Comment"), "subject": subject("h1"),
			"effectiveDateTime": "2024-02-02", "valueString": "free text"},
		{"resourceType": "Condition", "code": map[string]any{"text": "Asthma"}, "subject": subject("h1"), "note": []any{map[string]any{"text": "note"}}},
		{"resourceType": "AllergyIntolerance", "code": map[string]any{"text": "Latex"}, "patient": subject("h1"),
			"reaction": []any{map[string]any{"manifestation": []any{map[string]any{"text": "Hives"}}}}},
		{"resourceType": "MedicationStatement", "status": "active", "medicationCodeableConcept": map[string]any{"text": "Salbutamol"}, "subject": subject("h1"),
			"dosage": []any{map[string]any{"text": "2 puffs"}}},
		{"resourceType": "Immunization", "status": "completed", "vaccineCode": map[string]any{"text": "Flu"}, "patient": subject("h1"), "occurrenceDateTime": "2023-10-01"},
		{"resourceType": "Encounter", "status": "finished", "class": map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"},
			"type": []any{map[string]any{"text": "Office visit"}}, "subject": subject("h1"), "period": map[string]any{"start": "2024-02-02T09:00:00Z"},
			"reasonCode": []any{map[string]any{"text": "Wheeze"}}},
		{"resourceType": "ServiceRequest", "status": "active", "intent": "order", "code": map[string]any{"text": "Pulmonology referral"}, "subject": subject("h1"),
			"requester": map[string]any{"display": "Dr Who"}, "authoredOn": "2024-02-02"},
		{"resourceType": "DocumentReference", "status": "current", "description": "Clinic letter", "subject": subject("h1"), "date": "2024-02-02T12:00:00Z",
			"type":    map[string]any{"text": "Letter"},
			"content": []any{map[string]any{"attachment": map[string]any{"contentType": "text/plain", "title": "letter", "data": base64.StdEncoding.EncodeToString([]byte(note))}}}},
	}
	n := 0
	for _, r := range recs {
		poison(r, &n)
	}
	return recs, n
}

// plantHostile imports the hostile patient at the clinic.
func (e *env) plantHostile() {
	e.t.Helper()
	recs, _ := hostileRecords()
	rep := e.importBundle(plantedSources[0], "hostile.json", recs...)
	for _, u := range rep.Units {
		if u.Err != nil {
			e.t.Fatalf("import the hostile patient: %v %v", u.Err, u.Issues)
		}
	}
}

// unescaped finds markup of a payload that the page would interpret.
var unescaped = regexp.MustCompile(`(?i)<script>window|<img src=x|<svg onload|href="javascript:|src="javascript:`)

func TestNoPayloadAppearsUnescaped(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	e.plant()
	e.plantHostile()
	_, n := hostileRecords()
	if n < 30 {
		t.Fatalf("planted %d payloads, want at least 30 string fields", n)
	}
	b := e.browser()
	b.mustSignIn(operator)
	ids := b.find("Hostile")
	if len(ids) != 1 {
		t.Fatalf("search Hostile = %d results, want 1", len(ids))
	}
	pages := []string{"/?name=Hostile", "/patients/" + ids[0], "/patients/" + ids[0] + "/trend?code=" + "http%3A%2F%2Floinc.org%7C2823-3"}
	_, chart, _ := b.get(pages[1])
	for _, m := range regexp.MustCompile(`href="(/patients/[^"]+/notes/[^"]+)"`).FindAllStringSubmatch(chart, -1) {
		pages = append(pages, m[1])
	}
	if len(pages) < 4 {
		t.Fatalf("the chart links no note")
	}
	shown := 0
	for _, p := range pages {
		status, body, _ := b.get(p)
		if status != http.StatusOK {
			t.Errorf("GET %s = %d", p, status)
			continue
		}
		if m := unescaped.FindString(body); m != "" {
			t.Errorf("GET %s: a payload appears unescaped: %q", p, m)
		}
		shown += strings.Count(body, "&lt;script&gt;window.__xss") + strings.Count(body, "&lt;img src=x")
	}
	// The payloads are shown, as text: the test saw the fields it planted.
	if shown < 10 {
		t.Errorf("the pages show %d escaped payloads, want at least 10", shown)
	}
}

// plantReview imports two records that look alike but not enough to link:
// a task for the review queue.
func (e *env) plantReview() {
	e.t.Helper()
	a := patient("r1", "Rita", "Review", "urn:oid:2.999.1", "R7001", "")
	b := patient("r2", "Rita", "Review", "urn:oid:2.999.2", "H7002", "")
	for _, p := range []map[string]any{a, b} {
		p["identifier"] = p["identifier"].([]any)[:1]
		p["birthDate"] = "1980-08-08"
	}
	b["birthDate"] = "1980-08-18"
	b["address"] = []any{map[string]any{"line": []any{"5 Far Away Road"}, "city": "Boston", "state": "MA", "postalCode": "02101"}}
	e.importBundle(plantedSources[0], "rita-a.json", a)
	e.importBundle(plantedSources[1], "rita-b.json", b)
}

// plantQuarantine imports, from the hospital, a message that cannot be imported.
func (e *env) plantQuarantine() {
	e.t.Helper()
	msg := "MSH|^~\\&|EPIC|STMARYS|OMNICHART|OMNICHART|20240101120000||ORU^R01^ORU_R01|Q1|P|2.5.1\rOBX|1|NM|2823-3^Potassium^LN||4.0|mmol/L|||||F\r"
	rep, err := e.im.Import(system(), plantedSources[1], ingest.Input{Name: "broken.hl7", Data: []byte(msg)})
	if err != nil {
		e.t.Fatalf("Import(broken.hl7) = %v", err)
	}
	if rep.Failed() == 0 {
		e.t.Fatalf("broken.hl7 was imported, want it quarantined")
	}
}

func TestReviewAndQuarantinePlants(t *testing.T) {
	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine, envOptions{})
			e.plant()
			e.plantReview()
			e.plantQuarantine()
			queue, err := e.index.Queue(system(), false)
			if err != nil {
				t.Fatal(err)
			}
			if len(queue) == 0 {
				t.Fatalf("the review queue is empty, want the planted look-alikes")
			}
		})
	}
}

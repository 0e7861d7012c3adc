package web_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"omnichart/internal/fhir/search"
)

// requestIDs are the request ids an error page quotes, different on every request.
var requestIDs = regexp.MustCompile(`[0-9a-f]{16,}|[0-9A-Za-z_-]{20,}`)

// TestANoteIsShownOnlyUnderItsPatient reads a note of Ada's, sent by the
// hospital about its record of her, under each of her two records (the clinic's
// and the hospital's, linked by the patient index): both show it. Under Noah's
// chart, which the same user may read, the same address with Noah's id answers
// exactly as a note that does not exist, so that no one reads Ada's note as
// Noah's.
func TestANoteIsShownOnlyUnderItsPatient(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	e.plant()
	ada := searchIDs(t, e, "Patient", "identifier=urn:oid:2.999.1|R1001,urn:oid:2.999.2|H2002")
	noah := searchIDs(t, e, "Patient", "identifier=urn:oid:2.999.1|R3003")
	if len(ada) != 2 || len(noah) != 1 {
		t.Fatalf("Ada's records %v, Noah's %v: want 2 and 1", ada, noah)
	}
	hospitalAda := ""
	for id, sys := range ada {
		if sys == "H2002" {
			hospitalAda = id
		}
	}
	const text = "Discharge summary: Ada's penicillin rash resolved."
	rep := e.importBundle(plantedSources[1], "ada-note.json", map[string]any{
		"resourceType": "DocumentReference", "status": "current",
		"subject": map[string]any{"reference": "Patient/" + hospitalAda},
		"type":    coding("http://loinc.org", "18842-5", "Discharge summary"),
		"content": []any{map[string]any{"attachment": map[string]any{
			"contentType": "text/plain", "data": base64.StdEncoding.EncodeToString([]byte(text))}}},
	})
	for _, u := range rep.Units {
		if u.Err != nil {
			t.Fatalf("import the note: %v %v", u.Err, u.Issues)
		}
	}
	notes := searchIDs(t, e, "DocumentReference", "type=http://loinc.org|18842-5&subject=Patient/"+hospitalAda)
	if len(notes) != 1 {
		t.Fatalf("the hospital's notes about Ada: %v, want 1", notes)
	}
	var note string
	for id := range notes {
		note = id
	}

	b := e.browser()
	b.mustSignIn(clinician)
	shown := 0
	for id := range ada {
		status, body, _ := b.get("/patients/" + id + "/notes/DocumentReference/" + note)
		if status != http.StatusOK || !strings.Contains(body, "penicillin rash resolved") {
			t.Errorf("Ada's note under her record %s = %d, want 200 with its text", id, status)
			continue
		}
		shown++
	}
	if shown != 2 {
		t.Fatalf("Ada's note was shown under %d of her 2 records", shown)
	}
	for id := range noah {
		status, body, _ := b.get("/patients/" + id + "/notes/DocumentReference/" + note)
		_, missing, _ := b.get("/patients/" + id + "/notes/DocumentReference/noSuchNote")
		if status != http.StatusNotFound {
			t.Errorf("Ada's note under Noah's chart = %d, want 404", status)
		}
		if strings.Contains(body, "penicillin") || strings.Contains(body, "Discharge") {
			t.Errorf("Ada's note under Noah's chart shows the note:\n%s", body)
		}
		got := requestIDs.ReplaceAllString(strings.ReplaceAll(body, note, "{note}"), "{request}")
		want := requestIDs.ReplaceAllString(strings.ReplaceAll(missing, "noSuchNote", "{note}"), "{request}")
		if got != want {
			t.Errorf("Ada's note under Noah's chart differs from a missing note:\n%s\nwant\n%s", got, want)
		}
	}
}

var firstValue = regexp.MustCompile(`"value":"([^"]+)"`)

// searchIDs searches as the system and returns the ids found, each with the
// first "value" of its JSON (a Patient's first identifier).
func searchIDs(t *testing.T, e *env, typ, params string) map[string]string {
	t.Helper()
	q, err := search.ParseString(typ, params)
	if err != nil {
		t.Fatal(err)
	}
	page, err := e.svc.Search(system(), q)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range page.Records {
		v := ""
		if m := firstValue.FindStringSubmatch(string(r.Resource)); m != nil {
			v = m[1]
		}
		out[r.ID] = v
	}
	return out
}

// TestAReconciliationIsDecidedOnlyFromItsPersonsChart posts the decision the
// chart of Ada offers (accept the hospital's hypertension into the clinic's
// list) to the address of Noah's chart, which the same user may read: it is
// refused and decides nothing. From Ada's chart it is taken.
func TestAReconciliationIsDecidedOnlyFromItsPersonsChart(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	e.plant()
	b := e.browser()
	b.mustSignIn(clinician)
	ada, noah := b.find("Planted"), b.find("Nka")
	if len(ada) != 2 || len(noah) != 1 {
		t.Fatalf("search: Ada %v, Noah %v; want 2 and 1", ada, noah)
	}
	_, chart, _ := b.get("/patients/" + ada[0])
	var own, item string
	for _, m := range receivedItem.FindAllStringSubmatch(chart, -1) {
		if !strings.Contains(m[1], "Hypertension") {
			continue
		}
		if o := regexp.MustCompile(`name="own" value="([^"]+)"`).FindStringSubmatch(m[1]); o != nil {
			own = o[1]
		}
		if i := regexp.MustCompile(`name="item" value="([^"]+)"`).FindStringSubmatch(m[1]); i != nil {
			item = i[1]
		}
	}
	if own == "" || item == "" {
		t.Fatalf("Ada's chart offers no decision on the hypertension:\n%s", chart)
	}
	state := func() string {
		t.Helper()
		rec, err := e.svc.Reconciliation(clinicContext(system()), own)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range rec.Received {
			if it.Record.Reference() == item {
				return it.State
			}
		}
		t.Fatalf("%s is not among the items received for Patient/%s", item, own)
		return ""
	}
	before := state()
	form := url.Values{"csrf": {csrf(t, chart)}, "own": {own}, "item": {item}, "decision": {"accept"}}
	status, body, _ := b.post("/patients/"+noah[0]+"/reconcile", form)
	if status != http.StatusBadRequest {
		t.Errorf("the decision posted from Noah's chart = %d, want 400\n%s", status, body)
	}
	if got := state(); got != before {
		t.Errorf("the decision posted from Noah's chart changed the item from %q to %q", before, got)
	}
	if status, body, _ := b.post("/patients/"+ada[0]+"/reconcile", form); status != http.StatusSeeOther {
		t.Fatalf("the decision from Ada's chart = %d\n%s", status, body)
	}
	if got := state(); got != "accepted" {
		t.Errorf("after the decision from Ada's chart the item is %q, want accepted", got)
	}
}

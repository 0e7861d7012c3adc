package fhirapi_test

import (
	"slices"
	"strings"
	"testing"
)

// reconciliation reads a $reconcile answer: own item references, and each
// received item as "ref state [same-as...]".
func reconciliation(t *testing.T, c *client, headers ...string) (own, received []string, decisions map[string]string) {
	t.Helper()
	r := c.must(200, "GET", "/Patient/p1/$reconcile", "", headers...)
	decisions = map[string]string{}
	ref := func(res map[string]any) string { return res["resourceType"].(string) + "/" + res["id"].(string) }
	for _, p := range r.json["parameter"].([]any) {
		pm := p.(map[string]any)
		switch pm["name"] {
		case "own":
			own = append(own, ref(pm["resource"].(map[string]any)))
		case "received":
			var item, state string
			var same []string
			for _, part := range pm["part"].([]any) {
				pp := part.(map[string]any)
				switch pp["name"] {
				case "item":
					item = ref(pp["resource"].(map[string]any))
				case "state":
					state = pp["valueCode"].(string)
				case "same-as":
					same = append(same, pp["valueReference"].(map[string]any)["reference"].(string))
				case "disagrees-with":
					same = append(same, "≠"+pp["valueReference"].(map[string]any)["reference"].(string))
				case "decision":
					decisions[item] = pp["valueReference"].(map[string]any)["reference"].(string)
				}
			}
			received = append(received, strings.TrimSpace(item+" "+state+" "+strings.Join(same, " ")))
		}
	}
	slices.Sort(own)
	slices.Sort(received)
	return own, received, decisions
}

func decide(item, decision string) string {
	return `{"resourceType":"Parameters","parameter":[{"name":"item","valueReference":{"reference":"` + item + `"}},{"name":"decision","valueCode":"` + decision + `"}]}`
}

func TestReconcileListsAcceptsAndReviews(t *testing.T) {
	forRecordEngines(t, func(t *testing.T, c *client) {
		oneHumanAtThreeSources(c)
		asA := []string{"X-Test-Source", srcA}
		own, received, _ := reconciliation(t, c, asA...)
		sameSet(t, "own", own, []string{"AllergyIntolerance/pen-a", "Condition/asthma-a", "MedicationRequest/aml-a"})
		sameSet(t, "received", received, []string{"AllergyIntolerance/pen-b new ≠AllergyIntolerance/pen-a", "Condition/asthma-b same Condition/asthma-a",
			"MedicationStatement/aml-b new ≠MedicationRequest/aml-a"})

		// Malformed or misdirected decisions are refused and change nothing.
		before := c.versions()
		for _, tc := range []struct {
			path, body string
			headers    []string
			status     int
			says       string
		}{
			{"/Patient/p1/$reconcile-decide", decide("MedicationStatement/aml-b", "maybe"), asA, 400, "decision"},
			{"/Patient/p1/$reconcile-decide", decide("Observation/glu-b", "accept"), asA, 400, "item"},
			{"/Patient/p1/$reconcile-decide", decide("Condition/nothing", "accept"), asA, 400, "Condition/nothing"},
			{"/Patient/p1/$reconcile-decide", decide("Condition/asthma-a", "accept"), asA, 400, "Condition/asthma-a"},
			{"/Patient/p1/$reconcile-decide", `{"resourceType":"Parameters","parameter":[{"name":"decision","valueCode":"accept"}]}`, asA, 400, "item"},
			{"/Patient/p1/$reconcile-decide", `{"resourceType":"Parameters","parameter":[{"name":"item"}]}`, asA, 400, "value"},
			{"/Patient/p1/$reconcile-decide", `{"resourceType":"Patient"}`, asA, 400, "Parameters"},
			{"/Patient/p2/$reconcile-decide", decide("Condition/asthma-a", "accept"), asA, 400, "Patient/p2"},
			{"/Patient/p1/$reconcile-decide", decide("MedicationStatement/aml-b", "accept"), nil, 403, "source"},
		} {
			r := c.must(tc.status, "POST", tc.path, tc.body, tc.headers...)
			if r.json["resourceType"] != "OperationOutcome" || !strings.Contains(string(r.body), tc.says) {
				t.Errorf("%s %s: %s, want an OperationOutcome naming %q", tc.path, tc.body, r.body, tc.says)
			}
		}
		c.must(405, "GET", "/Patient/p1/$reconcile-decide?item=Condition/asthma-b&decision=accept", "", asA...)
		if after := c.versions(); after != before {
			t.Fatalf("refused decisions wrote %d versions", after-before)
		}

		// Accept b's medication: a's own copy, with a Provenance naming b's record.
		r := c.must(200, "POST", "/Patient/p1/$reconcile-decide", decide("MedicationStatement/aml-b", "accept"), asA...)
		var written []string
		for _, p := range r.json["parameter"].([]any) {
			written = append(written, p.(map[string]any)["valueReference"].(map[string]any)["reference"].(string))
		}
		if len(written) != 2 || !strings.HasPrefix(written[0], "MedicationStatement/") || !strings.HasPrefix(written[1], "Provenance/") {
			t.Fatalf("accept wrote %v, want a MedicationStatement and a Provenance", written)
		}
		copied := c.must(200, "GET", "/"+written[0], "").json
		if copied["meta"].(map[string]any)["source"] != srcA || copied["subject"].(map[string]any)["reference"] != "Patient/p1" || copied["status"] != "stopped" {
			t.Errorf("accepted copy %v, want a's record of Patient/p1 saying stopped", copied)
		}
		prov := c.must(200, "GET", "/"+written[1], "").json
		if prov["meta"].(map[string]any)["source"] != srcA ||
			prov["target"].([]any)[0].(map[string]any)["reference"] != written[0] ||
			prov["entity"].([]any)[0].(map[string]any)["what"].(map[string]any)["reference"] != "MedicationStatement/aml-b" {
			t.Errorf("Provenance %v, want a's, targeting the copy, with b's record as its entity", prov)
		}
		if orig := c.must(200, "GET", "/MedicationStatement/aml-b", "").json; orig["meta"].(map[string]any)["versionId"] != "1" {
			t.Errorf("b's record changed: %v", orig)
		}

		// Review b's allergy.
		c.must(200, "POST", "/Patient/p1/$reconcile-decide", decide("AllergyIntolerance/pen-b", "review"), asA...)
		own, received, decisions := reconciliation(t, c, asA...)
		sameSet(t, "own after accepting", own, []string{"AllergyIntolerance/pen-a", "Condition/asthma-a", "MedicationRequest/aml-a", written[0]})
		sameSet(t, "received after deciding", received, []string{"AllergyIntolerance/pen-b reviewed ≠AllergyIntolerance/pen-a", "Condition/asthma-b same Condition/asthma-a",
			"MedicationStatement/aml-b accepted " + written[0] + " ≠MedicationRequest/aml-a"})
		if decisions["MedicationStatement/aml-b"] != written[1] || !strings.HasPrefix(decisions["AllergyIntolerance/pen-b"], "Provenance/") {
			t.Errorf("decisions %v", decisions)
		}
		r = c.must(409, "POST", "/Patient/p1/$reconcile-decide", decide("MedicationStatement/aml-b", "accept"), asA...)
		if !strings.Contains(string(r.body), "accepted already") {
			t.Errorf("accepting twice: %s", r.body)
		}

		// b's decisions are b's own: nothing a decided shows as decided for b.
		r = c.must(200, "GET", "/Patient/p2/$reconcile", "", "X-Test-Source", srcB)
		if strings.Contains(string(r.body), `"reviewed"`) || strings.Contains(string(r.body), `"accepted"`) {
			t.Errorf("b sees a's decisions as its own: %s", r.body)
		}
		// What the scope hides is not offered.
		_, received, _ = reconciliation(t, c, "X-Test-Source", srcA, "X-Test-Sees", srcA+","+srcMPI)
		if len(received) != 0 {
			t.Errorf("with b and c hidden, received %v", received)
		}
	})
}

package fhirapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhirapi"
	"omnichart/internal/mpi"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

// newIndexedServer is a server with the master patient index on its engine's
// after-commit hook and behind its operations.
func newIndexedServer(t *testing.T, engine string) *client {
	t.Helper()
	st := ehrtest.MustOpen(t, engine, store.Options{})
	var ix atomic.Pointer[mpi.MPI]
	svc := service.New(st, service.Options{AfterCommit: func(ctx context.Context, recs []*ehr.Record) {
		if m := ix.Load(); m != nil {
			m.Committed(ctx, recs)
		}
	}})
	m, _, err := mpi.Open(ehr.WithPrincipal(context.Background(), ehr.SystemPrincipal), svc, mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix.Store(m)
	api := fhirapi.New(svc, fhirapi.Config{MaxBodyBytes: 1 << 20, Version: "test", PatientIndex: m}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &client{t: t, base: srv.URL + "/fhir"}
}

const householdPatient = `{"resourceType":"Patient","gender":"%s","birthDate":"%s","name":[{"family":"Kowalczyk","given":["%s"]}],` +
	`"address":[{"line":["1820 Liberty Street"],"city":"Northampton","postalCode":"01060"}],"telecom":[{"system":"phone","value":"413-555-9151"}]}`

func household(gender, birth, given string) string {
	return fmt.Sprintf(householdPatient, gender, birth, given)
}

func TestMatchAndDecideOperations(t *testing.T) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				ehrtest.PostgresURL(t)
			}
			c := newIndexedServer(t, engine)
			a := c.must(201, "POST", "/Patient", household("male", "2001-04-04", "Jaxon")).json["id"].(string)
			b := c.must(201, "POST", "/Patient", household("unknown", "2001", "J")).json["id"].(string)
			other := c.must(201, "POST", "/Patient", household("female", "1975-10-01", "Agnieszka")).json["id"].(string)

			// The review queue is a Task search.
			r := c.must(200, "GET", "/Task?code=urn:omnichart:task|match-review&status=requested", "")
			entries, _ := r.json["entry"].([]any)
			if len(entries) != 1 {
				t.Fatalf("open review tasks = %d, want 1: %s", len(entries), r.body)
			}
			task := entries[0].(map[string]any)["resource"].(map[string]any)
			taskID := task["id"].(string)
			if !strings.Contains(string(mustJSON(t, task)), "Patient/"+a) || !strings.Contains(string(mustJSON(t, task)), "Patient/"+b) {
				t.Fatalf("review task does not name both records: %s", mustJSON(t, task))
			}

			// $match: the probe is Jaxon; a is certain, b probable, the mother not offered.
			probe := `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":` + household("male", "2001-04-04", "Jaxon") + `}]}`
			r = c.must(200, "POST", "/Patient/$match", probe)
			grades := map[string]string{}
			var scores []float64
			for _, e := range r.json["entry"].([]any) {
				em := e.(map[string]any)
				s := em["search"].(map[string]any)
				ext := s["extension"].([]any)[0].(map[string]any)
				if ext["url"] != "http://hl7.org/fhir/StructureDefinition/match-grade" || s["mode"] != "match" {
					t.Errorf("entry search = %v", s)
				}
				grades[em["resource"].(map[string]any)["id"].(string)] = ext["valueCode"].(string)
				scores = append(scores, s["score"].(float64))
			}
			if grades[a] != "certain" || grades[b] != "probable" || grades[other] != "" {
				t.Errorf("$match grades = %v, want %s certain, %s probable, %s absent", grades, a, b, other)
			}
			if len(scores) != 2 || scores[0] < scores[1] || scores[0] > 1 || scores[1] <= 0 {
				t.Errorf("$match scores = %v, want two in (0,1], best first", scores)
			}
			certain := `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":` + household("male", "2001-04-04", "Jaxon") +
				`},{"name":"onlyCertainMatches","valueBoolean":true},{"name":"count","valueInteger":5}]}`
			if r := c.must(200, "POST", "/Patient/$match", certain); r.json["total"].(float64) != 1 {
				t.Errorf("onlyCertainMatches: total %v, want 1", r.json["total"])
			}

			before := c.versions()
			for _, bad := range []struct{ name, body, want string }{
				{"not Parameters", `{"resourceType":"Patient"}`, "Parameters"},
				{"no resource", `{"resourceType":"Parameters","parameter":[{"name":"count","valueInteger":1}]}`, "resource"},
				{"an Observation", `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Observation","status":"final","code":{"text":"x"}}}]}`, "Observation"},
				{"an invalid Patient", `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","gender":"sometimes"}}]}`, "not valid"},
				{"a count of zero", `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient"}},{"name":"count","valueInteger":0}]}`, "count"},
				{"a text flag", `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient"}},{"name":"onlyCertainMatches","valueString":"yes"}]}`, "onlyCertainMatches"},
				{"an unknown parameter", `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient"}},{"name":"limit","valueInteger":1}]}`, "limit"},
			} {
				r := c.do("POST", "/Patient/$match", bad.body)
				if r.status != 400 || r.json["resourceType"] != "OperationOutcome" || !strings.Contains(string(r.body), bad.want) {
					t.Errorf("$match with %s = %d %s, want 400 naming %q", bad.name, r.status, r.body, bad.want)
				}
			}
			decide := func(decision, reason string) string {
				return `{"resourceType":"Parameters","parameter":[{"name":"decision","valueCode":"` + decision + `"},{"name":"reason","valueString":"` + reason + `"}]}`
			}
			for _, bad := range []struct{ name, path, body string }{
				{"no reason", "/Task/" + taskID + "/$decide", `{"resourceType":"Parameters","parameter":[{"name":"decision","valueCode":"link"}]}`},
				{"an unknown decision", "/Task/" + taskID + "/$decide", decide("maybe", "unsure")},
				{"a blank reason", "/Task/" + taskID + "/$decide", decide("link", "  ")},
				{"undo of nothing", "/Task/" + taskID + "/$decide", decide("undo", "oops")},
				{"a task that is no review", "/Task/nope/$decide", decide("link", "x")},
			} {
				r := c.do("POST", bad.path, bad.body)
				if r.status < 400 || r.status >= 500 || r.json["resourceType"] != "OperationOutcome" {
					t.Errorf("$decide with %s = %d %s, want a 4xx OperationOutcome", bad.name, r.status, r.body)
				}
			}
			if after := c.versions(); after != before {
				t.Errorf("refused operations wrote %d versions", after-before)
			}

			r = c.must(200, "POST", "/Task/"+taskID+"/$decide", decide("link", "same child, the clinic had only his initial"))
			if r.json["status"] != "completed" {
				t.Errorf("decided task status = %v", r.json["status"])
			}
			persons := c.must(200, "GET", "/Person?link=Patient/"+a, "")
			pe, _ := persons.json["entry"].([]any)
			if len(pe) != 1 || !strings.Contains(string(mustJSON(t, pe[0])), "Patient/"+b) || !strings.Contains(string(mustJSON(t, pe[0])), "level4") {
				t.Errorf("Person of %s after the decision: %s", a, persons.body)
			}
			c.must(409, "POST", "/Task/"+taskID+"/$decide", decide("not-same", "second thoughts"))
			c.must(200, "POST", "/Task/"+taskID+"/$decide", decide("undo", "decided on the wrong pair"))
			if r := c.must(200, "GET", "/Task?code=urn:omnichart:task|match-review&status=requested", ""); r.json["total"] != nil && r.json["total"].(float64) != 1 {
				t.Errorf("after undo, open tasks: %s", r.body)
			}

			caps := c.must(200, "GET", "/metadata", "")
			if !strings.Contains(string(caps.body), "Patient-match") || !strings.Contains(string(caps.body), "Task-decide") {
				t.Error("the CapabilityStatement does not declare $match and $decide")
			}
		})
	}
}

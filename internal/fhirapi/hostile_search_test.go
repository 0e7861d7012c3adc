package fhirapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir/search"
	"omnichart/internal/fhirapi"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

// Hostile and careless searches: each is refused with 400 and an OperationOutcome
// naming the limit it passed (docs/limits.md, "Search"), changes nothing, and
// never holds up other requests. Every case runs on both engines.

// hostileServer is a real server over loopback on a store with the given options,
// counting the requests it is still working on.
type hostileServer struct {
	*client
	store    *store.Store
	inflight *atomic.Int64
}

func newHostileServer(t *testing.T, engine string, opts store.Options) *hostileServer {
	t.Helper()
	st := ehrtest.MustOpen(t, engine, opts)
	api := fhirapi.New(service.New(st, service.Options{}), fhirapi.Config{MaxBodyBytes: 1 << 20, Version: "test"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	inflight := &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inflight.Add(1)
		defer inflight.Add(-1)
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return &hostileServer{client: &client{t: t, base: srv.URL + "/fhir"}, store: st, inflight: inflight}
}

func forHostileEngines(t *testing.T, opts store.Options, fn func(t *testing.T, h *hostileServer)) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				ehrtest.PostgresURL(t)
			}
			fn(t, newHostileServer(t, engine, opts))
		})
	}
}

// counts returns the current resources and the stored versions, to show that a
// refused request changed nothing.
func (c *client) counts() (resources, versions int) {
	c.t.Helper()
	r := c.must(200, "GET", "?_summary=count", "")
	total, ok := r.json["total"].(float64)
	if !ok {
		c.t.Fatalf("system search with _summary=count answered %.200s, want a total", r.body)
	}
	return int(total), c.versions()
}

// orValues returns n distinct token values joined with commas.
func orValues(n int) string {
	v := make([]string, n)
	for i := range v {
		v[i] = fmt.Sprintf("http://loinc.org|%d-5", i)
	}
	return strings.Join(v, ",")
}

// namesLimit reports whether an OperationOutcome names limit in an issue.
func namesLimit(outcome map[string]any, limit string) bool {
	issues, _ := outcome["issue"].([]any)
	for _, is := range issues {
		if d, _ := is.(map[string]any)["diagnostics"].(string); strings.Contains(d, limit) {
			return true
		}
	}
	return false
}

func TestHostileSearchIsRefusedNamingTheLimitAndChangesNothing(t *testing.T) {
	deepHas := strings.Repeat("_has:Observation:patient:", 8) + "code=x"
	deepChain := "link" + strings.Repeat(".link", 11) + ".name=x"
	chainParams := strings.Repeat("subject:Patient.name=x&", 30)
	values4000 := "code=" + orValues(4000)
	values1100 := strings.Repeat("code="+orValues(100)+"&", 11)
	sort100 := "_sort=" + strings.Repeat("name,", 99) + "name"
	includes11 := strings.Repeat("_include=Observation:subject&", 11)
	cursorNUL := base64.RawURLEncoding.EncodeToString([]byte(`{"t":"Patient","i":"a\u0000b"}`))
	form := []string{"Content-Type", "application/x-www-form-urlencoded"}
	patch := []string{"Content-Type", "application/json-patch+json"}
	transaction := func(entries ...string) string {
		return `{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Join(entries, ",") + `]}`
	}

	forHostileEngines(t, store.Options{}, func(t *testing.T, h *hostileServer) {
		p := h.must(201, "POST", "/Patient", fmt.Sprintf(patientJSON, "h1"))
		pid := p.json["id"].(string)
		h.must(201, "POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"1-5"}]},"subject":{"reference":"Patient/`+pid+`"}}`)
		observation := func(ref string) string {
			return `{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"` + ref + `"}},"request":{"method":"POST","url":"Observation"}}`
		}
		newPatient := `{"resource":` + fmt.Sprintf(patientJSON, "h2") + `,"request":{"method":"POST","url":"Patient"}}`

		tests := []struct {
			name    string
			method  string
			path    string
			body    string
			headers []string
			limit   string // what the OperationOutcome must name
		}{
			{"_has nested eight levels deep is refused", "GET", "/Patient?" + deepHas, "", nil, search.LimitDepth},
			{"a chain twelve links deep is refused", "GET", "/Patient?" + deepChain, "", nil, search.LimitDepth},
			{"thirty chain parameters are refused", "GET", "/Observation?" + chainParams, "", nil, search.LimitParams},
			{"an OR list of 4,000 values is refused", "GET", "/Observation?" + values4000, "", nil, search.LimitValues},
			{"1,100 values in all are refused", "GET", "/Observation?" + values1100, "", nil, search.LimitTotalValues},
			{"a chain to any resource type is refused", "GET", "/Provenance?target.name=x", "", nil, search.LimitJoins},
			{"_sort with 100 keys is refused", "GET", "/Patient?" + sort100, "", nil, search.LimitSortKeys},
			{"eleven _include values are refused", "GET", "/Observation?" + includes11, "", nil, search.LimitIncludes},
			{"a value of 5,000 bytes is refused", "GET", "/Patient?name=" + strings.Repeat("a", 5000), "", nil, search.LimitValueLength},
			{"the same search by POST _search is refused", "POST", "/Patient/_search", deepHas, form, search.LimitDepth},
			{"a compartment search past a limit is refused", "GET", "/Patient/" + pid + "/Observation?" + values4000, "", nil, search.LimitValues},
			{"a system search past a limit is refused", "GET", "?" + strings.Repeat("_id=x&", 21), "", nil, search.LimitParams},
			{"If-None-Exist with nested _has is refused and creates nothing", "POST", "/Patient", fmt.Sprintf(patientJSON, "h3"), []string{"If-None-Exist", deepHas}, search.LimitDepth},
			{"a conditional update with 4,000 values is refused and writes nothing", "PUT", "/Patient?identifier=" + orValues(4000), fmt.Sprintf(patientJSON, "h1"), nil, search.LimitValues},
			{"a conditional delete with a deep chain is refused and deletes nothing", "DELETE", "/Patient?" + deepChain, "", nil, search.LimitDepth},
			{"a conditional patch with 100 sort keys is refused and patches nothing", "PATCH", "/Patient?identifier=http://mrn.example|h1&" + sort100, `[{"op":"add","path":"/active","value":true}]`, patch, search.LimitSortKeys},
			{"a transaction with a conditional reference past a limit is refused and writes nothing", "POST", "", transaction(newPatient, observation("Patient?"+deepHas)), nil, search.LimitDepth},
			{"a transaction with a conditional update past a limit is refused and writes nothing", "POST", "", transaction(newPatient,
				`{"resource":`+fmt.Sprintf(patientJSON, "h1")+`,"request":{"method":"PUT","url":"Patient?`+chainParams+`"}}`), nil, search.LimitParams},
			{"a search value that is not UTF-8 is refused", "GET", "/Patient?name=%FF", "", nil, "UTF-8"},
			{"a search value with a NUL is refused", "GET", "/Patient?name=a%00b", "", nil, "U+0000"},
			{"a paging cursor with a NUL is refused", "GET", "/Patient?_page=" + cursorNUL, "", nil, "cursor"},
			{"an _include target that is no resource type is refused", "GET", "/Observation?_include=Observation:subject:%FF", "", nil, "not valid UTF-8"},
			{"a compartment of an invalid Patient id is refused", "GET", "/Patient/a%00b/Observation", "", nil, "not a valid resource id"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resources, versions := h.counts()
				r := h.do(tt.method, tt.path, tt.body, tt.headers...)
				if r.status != 400 {
					t.Fatalf("%s %.80s = %d, want 400; body %.300s", tt.method, tt.path, r.status, r.body)
				}
				if r.json["resourceType"] != "OperationOutcome" || !namesLimit(r.json, tt.limit) {
					t.Fatalf("%s %.80s answered %.400s, want an OperationOutcome naming %s", tt.method, tt.path, r.body, tt.limit)
				}
				if strings.Contains(string(r.body), "loinc") || strings.Contains(string(r.body), "mrn.example") {
					t.Errorf("%s %.80s answered %.400s, which repeats a search value", tt.method, tt.path, r.body)
				}
				if res, ver := h.counts(); res != resources || ver != versions {
					t.Errorf("%s %.80s changed the store: %d resources and %d versions before, %d and %d after", tt.method, tt.path, resources, versions, res, ver)
				}
			})
		}

		t.Run("a batch search entry past a limit is refused in its entry", func(t *testing.T) {
			resources, versions := h.counts()
			r := h.must(200, "POST", "", `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient?`+deepHas+`"}}]}`)
			entry := r.json["entry"].([]any)[0].(map[string]any)["response"].(map[string]any)
			outcome, _ := entry["outcome"].(map[string]any)
			if entry["status"] != "400 Bad Request" || !namesLimit(outcome, search.LimitDepth) {
				t.Errorf("batch entry response = %v, want 400 naming %s", entry, search.LimitDepth)
			}
			if res, ver := h.counts(); res != resources || ver != versions {
				t.Errorf("the batch changed the store: %d resources and %d versions before, %d and %d after", resources, versions, res, ver)
			}
		})
	})
}

func TestHostileSearchPastTheEnginesOwnLimitsIsRefusedOnBoth(t *testing.T) {
	// With the limits raised far beyond the defaults, a search reaches the
	// engines' own limits (SQLite: expression depth, bind variables; PostgreSQL:
	// 65,535 bind parameters): still a 400, never a 500, on either engine.
	raised := store.Options{SearchLimits: search.Limits{Values: 100000, TotalValues: 100000}}
	forHostileEngines(t, raised, func(t *testing.T, h *hostileServer) {
		resources, versions := h.counts()
		v := make([]string, 40000)
		for i := range v {
			v[i] = fmt.Sprintf("s|%d", i)
		}
		r := h.do("GET", "/Observation?code="+strings.Join(v, ","), "")
		if r.status != 400 || !namesLimit(r.json, "a limit of the database engine") {
			t.Fatalf("GET Observation?code=<40,000 values> = %d %.300s, want 400 naming the engine's limit", r.status, r.body)
		}
		if res, ver := h.counts(); res != resources || ver != versions {
			t.Errorf("the search changed the store: %d resources and %d versions before, %d and %d after", resources, versions, res, ver)
		}
	})
}

func TestHostileSearchCountZeroAnswersTheTotalOnly(t *testing.T) {
	forHostileEngines(t, store.Options{}, func(t *testing.T, h *hostileServer) {
		for i := range 3 {
			h.must(201, "POST", "/Patient", fmt.Sprintf(patientJSON, fmt.Sprint(i)))
		}
		r := h.must(200, "GET", "/Patient?_count=0", "")
		if r.json["resourceType"] != "Bundle" || r.json["total"] != float64(3) || r.json["entry"] != nil {
			t.Fatalf("GET Patient?_count=0 = %.300s, want a searchset with total 3 and no entries", r.body)
		}
		self := r.json["link"].([]any)[0].(map[string]any)
		if self["relation"] != "self" || !strings.Contains(self["url"].(string), "_count=0") {
			t.Errorf("GET Patient?_count=0 self link = %v, want _count=0 in it", self)
		}
	})
}

func TestHostileSearchIncludingTooManyResourcesIsRefused(t *testing.T) {
	forHostileEngines(t, store.Options{SearchLimits: search.Limits{Included: 3}}, func(t *testing.T, h *hostileServer) {
		ids := map[string]string{}
		for _, name := range []string{"few", "many"} {
			p := h.must(201, "POST", "/Patient", fmt.Sprintf(patientJSON, name))
			ids[name] = p.json["id"].(string)
		}
		for name, n := range map[string]int{"few": 3, "many": 4} {
			for range n {
				h.must(201, "POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/`+ids[name]+`"}}`)
			}
		}
		ok := h.must(200, "GET", "/Patient?_id="+ids["few"]+"&_revinclude=Observation:subject", "")
		if n := len(ok.json["entry"].([]any)); n != 4 {
			t.Errorf("a page including 3 resources under a limit of 3 has %d entries, want 4", n)
		}
		resources, versions := h.counts()
		r := h.do("GET", "/Patient?_id="+ids["many"]+"&_revinclude=Observation:subject", "")
		if r.status != 400 || !namesLimit(r.json, search.LimitIncluded) {
			t.Fatalf("a page including 4 resources under a limit of 3 = %d %.300s, want 400 naming %s", r.status, r.body, search.LimitIncluded)
		}
		if res, ver := h.counts(); res != resources || ver != versions {
			t.Errorf("the search changed the store: %d resources and %d versions before, %d and %d after", resources, versions, res, ver)
		}
	})
}

// TestHostileSlowSearchNeverHoldsUpTheServer runs a search that is slow but within
// limits raised for the test (every one of 3,000 Patients sorted by 1,500 keys) and
// shows that it is stopped by the search timeout and when its client goes away,
// and that while it runs, even as the criteria of a conditional create, other
// writers go on.
func TestHostileSlowSearchNeverHoldsUpTheServer(t *testing.T) {
	const timeout = 3 * time.Second
	keys := []string{"name", "-birthdate", "family", "given", "-_lastUpdated", "gender", "address", "phone", "-identifier", "email"}
	var sort []string
	for i := range 1500 {
		sort = append(sort, keys[i%len(keys)])
	}
	slow := "gender=female&_sort=" + strings.Join(sort, ",")
	opts := store.Options{SearchTimeout: timeout, SearchLimits: search.Limits{SortKeys: 1500}}

	forHostileEngines(t, opts, func(t *testing.T, h *hostileServer) {
		// Citus evaluates the keys on its shards, each a fraction of the
		// Patients, and is many times faster at this search than one
		// PostgreSQL: it gets more Patients, to stay slow past the timeout.
		patients := 3000
		if strings.HasSuffix(t.Name(), "/citus") {
			patients = 9000
		}
		err := h.store.Transaction(context.Background(), func(tx ehr.Tx) error {
			for i := range patients {
				p := map[string]any{"resourceType": "Patient", "gender": "female", "birthDate": "1970-01-01",
					"name": []any{map[string]any{"family": fmt.Sprintf("Family%d", i), "given": []any{"Given"}}}}
				if _, err := tx.Create(context.Background(), tx.NewID(), p); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		// startSlow sends req in the background once ctx allows and reports its
		// answer; it returns once the server is working on it.
		startSlow := func(t *testing.T, ctx context.Context, method, path, body string, headers ...string) <-chan response {
			t.Helper()
			done := make(chan response, 1)
			req, err := http.NewRequestWithContext(ctx, method, h.base+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body != "" {
				req.Header.Set("Content-Type", "application/fhir+json")
			}
			for i := 0; i+1 < len(headers); i += 2 {
				req.Header.Set(headers[i], headers[i+1])
			}
			go func() {
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					done <- response{status: -1, body: []byte(err.Error())}
					return
				}
				defer resp.Body.Close()
				out := response{status: resp.StatusCode}
				out.body, _ = io.ReadAll(resp.Body)
				json.Unmarshal(out.body, &out.json)
				done <- out
			}()
			waitFor(t, "the server to start on the slow request", time.Second, func() bool { return h.inflight.Load() > 0 })
			// Give it time to reach the database.
			time.Sleep(200 * time.Millisecond)
			return done
		}
		// writeWithin creates a Patient and fails the test unless it is answered
		// within d.
		writeWithin := func(t *testing.T, d time.Duration) {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), d)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", h.base+"/Patient", strings.NewReader(fmt.Sprintf(patientJSON, "writer")))
			req.Header.Set("Content-Type", "application/fhir+json")
			start := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("a write while the slow search ran failed after %s: %v", time.Since(start), err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 201 {
				t.Fatalf("a write while the slow search ran = %d, want 201", resp.StatusCode)
			}
		}

		t.Run("the search timeout stops it with 400 naming the limit", func(t *testing.T) {
			start := time.Now()
			done := startSlow(t, context.Background(), "GET", "/Patient?"+slow, "")
			writeWithin(t, time.Second)
			select {
			case r := <-done:
				if r.status != 400 || !namesLimit(r.json, store.LimitSearchTimeout) {
					t.Fatalf("the slow search = %d %.300s, want 400 naming %s", r.status, r.body, store.LimitSearchTimeout)
				}
				if took := time.Since(start); took < timeout {
					t.Fatalf("the slow search was answered after %s, before the timeout of %s: it is not slow enough to test anything", took, timeout)
				}
			case <-time.After(timeout + 2*time.Second):
				t.Fatalf("the slow search was not answered within %s of a %s timeout", 2*time.Second, timeout)
			}
		})

		t.Run("a client that goes away stops it", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			done := startSlow(t, ctx, "GET", "/Patient?"+slow, "")
			writeWithin(t, time.Second)
			cancel()
			<-done
			waitFor(t, "the server to stop the search of a client that went away", time.Second, func() bool { return h.inflight.Load() == 0 })
		})

		t.Run("as a batch entry it holds up no writer", func(t *testing.T) {
			batch := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient?` + slow + `"}}]}`
			done := startSlow(t, context.Background(), "POST", "", batch)
			writeWithin(t, time.Second)
			select {
			case r := <-done:
				entry := r.json["entry"].([]any)[0].(map[string]any)["response"].(map[string]any)
				outcome, _ := entry["outcome"].(map[string]any)
				if r.status != 200 || entry["status"] != "400 Bad Request" || !namesLimit(outcome, store.LimitSearchTimeout) {
					t.Fatalf("the slow batch = %d %.300s, want 200 with an entry of 400 naming %s", r.status, r.body, store.LimitSearchTimeout)
				}
			case <-time.After(timeout + 2*time.Second):
				t.Fatalf("the slow batch was not answered within %s of a %s timeout", 2*time.Second, timeout)
			}
		})

		t.Run("as the criteria of a conditional create it holds up no writer and creates nothing", func(t *testing.T) {
			resources, versions := h.counts()
			done := startSlow(t, context.Background(), "POST", "/Patient", fmt.Sprintf(patientJSON, "conditional"), "If-None-Exist", slow)
			writeWithin(t, time.Second)
			select {
			case r := <-done:
				if r.status != 400 || !namesLimit(r.json, store.LimitSearchTimeout) {
					t.Fatalf("the slow conditional create = %d %.300s, want 400 naming %s", r.status, r.body, store.LimitSearchTimeout)
				}
			case <-time.After(timeout + 2*time.Second):
				t.Fatalf("the slow conditional create was not answered within %s of a %s timeout", 2*time.Second, timeout)
			}
			// The one write of writeWithin, and nothing of the conditional create.
			if res, ver := h.counts(); res != resources+1 || ver != versions+1 {
				t.Errorf("%d resources and %d versions before, %d and %d after; want one more of each", resources, versions, res, ver)
			}
		})
	})
}

// waitFor polls cond until it holds, failing the test when it does not within d.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHostileIDsAndCursorsAreAnsweredAlikeOnBothEngines(t *testing.T) {
	// PostgreSQL refuses text that is not UTF-8 or holds a NUL, where SQLite just
	// finds nothing: such ids and cursors are answered before the store is asked,
	// the same on both engines. An id no resource can have is a bad request.
	historyNUL := base64.RawURLEncoding.EncodeToString([]byte("1|Patient|a\x00|1"))
	forHostileEngines(t, store.Options{}, func(t *testing.T, h *hostileServer) {
		h.must(201, "POST", "/Patient", fmt.Sprintf(patientJSON, "1"))
		tests := []struct {
			name, method, path, body string
			headers                  []string
			status                   int
		}{
			{"a read of an id that is not UTF-8 is 400", "GET", "/Patient/%FF", "", nil, 400},
			{"a read of an id with a NUL is 400", "GET", "/Patient/a%00b", "", nil, 400},
			{"a vread of an id that is not UTF-8 is 400", "GET", "/Patient/%FF/_history/1", "", nil, 400},
			{"the history of an id that is not UTF-8 is 400", "GET", "/Patient/%FF/_history", "", nil, 400},
			{"a history cursor with a NUL is 400", "GET", "/_history?_page=" + historyNUL, "", nil, 400},
			{"a delete of an id that is not UTF-8 is 400", "DELETE", "/Patient/%FF", "", nil, 400},
			{"a patch of an id that is not UTF-8 is 400", "PATCH", "/Patient/%FF", `[{"op":"add","path":"/active","value":true}]`, []string{"Content-Type", "application/json-patch+json"}, 400},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resources, versions := h.counts()
				r := h.do(tt.method, tt.path, tt.body, tt.headers...)
				if r.status != tt.status {
					t.Fatalf("%s %s = %d, want %d; body %.300s", tt.method, tt.path, r.status, tt.status, r.body)
				}
				if tt.status >= 400 && r.json["resourceType"] != "OperationOutcome" {
					t.Errorf("%s %s answered %.300s, want an OperationOutcome", tt.method, tt.path, r.body)
				}
				if res, ver := h.counts(); res != resources || ver != versions {
					t.Errorf("%s %s changed the store: %d resources and %d versions before, %d and %d after", tt.method, tt.path, resources, versions, res, ver)
				}
			})
		}
	})
}

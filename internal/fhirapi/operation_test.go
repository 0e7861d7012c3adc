package fhirapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestOperationRoutes checks the routing of an operation offered at type and
// instance level, which changes data: POST reaches it at both levels with the
// parameters of the query string and of a Parameters body, GET is 405, and
// parameters it does not declare are refused before it runs.
func TestOperationRoutes(t *testing.T) {
	type call struct {
		id string
		in url.Values
	}
	var calls []call
	op := &operation{id: "Observation-test", name: "Test", code: "test", resource: "Observation", typeLevel: true, instance: true, affects: true,
		params: []opParam{{name: "n", use: "in", typ: "integer", min: 1, max: "1"}, {name: "tag", use: "in", typ: "code", min: 0, max: "*"}},
		serve: func(a *API, w http.ResponseWriter, r *http.Request, id string, in url.Values) {
			calls = append(calls, call{id, in})
			w.WriteHeader(http.StatusNoContent)
		}}
	a := &API{cfg: Config{MaxBodyBytes: 1 << 20}, log: slog.New(slog.NewTextHandler(io.Discard, nil)), mux: http.NewServeMux()}
	a.routeOperations(a.mux, []*operation{op})
	srv := httptest.NewServer(a.mux)
	defer srv.Close()
	do := func(method, path, body string) int {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/fhir+json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
		id                 string
		in                 string
	}{
		{"POST", "/fhir/Observation/$test?n=1", "", 204, "", "n=1"},
		{"POST", "/fhir/Observation/o1/$test", `{"resourceType":"Parameters","parameter":[{"name":"n","valueInteger":2},{"name":"tag","valueCode":"a"},{"name":"tag","valueCode":"b"}]}`, 204, "o1", "n=2&tag=a&tag=b"},
		{"GET", "/fhir/Observation/o1/$test?n=1", "", 405, "", ""},
		{"POST", "/fhir/Observation/o1/$test", "", 400, "", ""},
		{"POST", "/fhir/Observation/o1/$test?n=1&n=2", "", 400, "", ""},
		{"POST", "/fhir/Observation/o1/$test?n=1&colour=red", "", 400, "", ""},
		{"POST", "/fhir/Observation/bad_id!/$test?n=1", "", 400, "", ""},
		{"POST", "/fhir/Observation/o1/$test", `{"resourceType":"Parameters","parameter":[{"name":"n","valueQuantity":{"value":1}}]}`, 400, "", ""},
	} {
		before := len(calls)
		if got := do(tc.method, tc.path, tc.body); got != tc.status {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, got, tc.status)
			continue
		}
		if tc.status != 204 {
			if len(calls) != before {
				t.Errorf("%s %s reached the operation", tc.method, tc.path)
			}
			continue
		}
		got := calls[len(calls)-1]
		if got.id != tc.id || got.in.Encode() != tc.in {
			t.Errorf("%s %s called with id %q, %s; want %q, %s", tc.method, tc.path, got.id, got.in.Encode(), tc.id, tc.in)
		}
	}
	def, _ := json.Marshal(op.definition("http://x/fhir"))
	if !strings.Contains(string(def), `"type":true`) || !strings.Contains(string(def), `"instance":true`) || !strings.Contains(string(def), `"affectsState":true`) {
		t.Errorf("definition %s does not say type, instance and affectsState", def)
	}
}

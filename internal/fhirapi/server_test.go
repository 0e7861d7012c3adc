package fhirapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"omnichart/internal/ehrtest"
	"omnichart/internal/fhirapi"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

// recordingHandler keeps every log record it is given.
type recordingHandler struct {
	mu      sync.Mutex
	records []slog.Record
	added   chan struct{}
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler            { return h }

func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.records = append(h.records, r.Clone())
	h.mu.Unlock()
	h.added <- struct{}{}
	return nil
}

// next waits for the next record; a request is logged after its response is sent.
func (h *recordingHandler) next(t *testing.T) map[string]string {
	t.Helper()
	select {
	case <-h.added:
	case <-time.After(5 * time.Second):
		t.Fatal("no log record within 5s")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.records[len(h.records)-1]
	attrs := map[string]string{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value.String()
		return true
	})
	return attrs
}

// newLoggedServer starts a server on SQLite whose log is recorded.
func newLoggedServer(t *testing.T, maxBody int64) (*client, *recordingHandler) {
	t.Helper()
	st := ehrtest.MustOpen(t, "sqlite", store.Options{})
	h := &recordingHandler{added: make(chan struct{}, 100)}
	api := fhirapi.New(service.New(st, service.Options{}), fhirapi.Config{MaxBodyBytes: maxBody, Version: "test"}, slog.New(h))
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &client{t: t, base: srv.URL + "/fhir"}, h
}

func TestEveryRequestIsLoggedOnceWithoutPHI(t *testing.T) {
	c, logs := newLoggedServer(t, 1<<20)
	generated := regexp.MustCompile(`^[0-9a-f]{16}$`)
	tests := []struct {
		name      string
		method    string
		path      string
		body      string
		requestID string // sent as X-Request-ID
		status    int
		route     string
		keepsID   bool // whether the sent id is used
	}{
		{"a search is logged by its route, not its query string", "GET", "/Patient?family=Chalmers&birthdate=1974-12-25", "", "", 200, "GET /fhir/{type}", false},
		{"a create is logged with its status", "POST", "/Patient", `{"resourceType":"Patient","name":[{"family":"Chalmers"}]}`, "", 201, "POST /fhir/{type}", false},
		{"a sane X-Request-ID is kept", "GET", "/Patient/unknown-id", "", "trace-0042.a:b_c", 404, "GET /fhir/{type}/{id}", true},
		{"an X-Request-ID with spaces is replaced", "GET", "/metadata", "", "Peter Chalmers", 200, "GET /fhir/metadata", false},
		{"an overlong X-Request-ID is replaced", "GET", "/metadata", "", strings.Repeat("a", 65), 200, "GET /fhir/metadata", false},
		{"a refused request is logged with its error status", "POST", "/Patient", `{"resourceType":"Patient","gender":"banana"}`, "", 400, "POST /fhir/{type}", false},
		{"an unknown route is logged under the catch-all pattern", "GET", "/Patient/x/y/z/w", "", "", 501, "/fhir/", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			if tt.requestID != "" {
				headers = []string{"X-Request-ID", tt.requestID}
			}
			r := c.do(tt.method, tt.path, tt.body, headers...)
			if r.status != tt.status {
				t.Fatalf("%s %s = %d, want %d: %s", tt.method, tt.path, r.status, tt.status, r.body)
			}
			rec := logs.next(t)
			id := r.header.Get("X-Request-ID")
			switch {
			case tt.keepsID && id != tt.requestID:
				t.Errorf("X-Request-ID = %q, want the sent %q", id, tt.requestID)
			case !tt.keepsID && !generated.MatchString(id):
				t.Errorf("X-Request-ID = %q, want a generated id", id)
			}
			want := map[string]string{"msg": "request", "method": tt.method, "route": tt.route, "status": fmt.Sprint(tt.status), "request_id": id}
			for k, v := range want {
				if rec[k] != v {
					t.Errorf("log record %s = %q, want %q (record %v)", k, rec[k], v, rec)
				}
			}
			if d, err := time.ParseDuration(rec["duration"]); err != nil || d <= 0 {
				t.Errorf("log record duration = %q, want a positive duration", rec["duration"])
			}
			for k, v := range rec {
				if strings.Contains(v, "Chalmers") || strings.Contains(v, "1974-12-25") || strings.Contains(v, "?") || strings.Contains(v, "unknown-id") {
					t.Errorf("log record %s = %q carries the path, query string or body", k, v)
				}
			}
			if len(rec) != len(want)+1 {
				t.Errorf("log record = %v, want exactly msg, method, route, status, duration and request_id", rec)
			}
		})
	}
	select {
	case <-logs.added:
		logs.mu.Lock()
		defer logs.mu.Unlock()
		t.Errorf("%d requests made %d log records, want one each", len(tests), len(logs.records))
	case <-time.After(100 * time.Millisecond):
	}
}

func TestBodiesOverTheLimitAre413(t *testing.T) {
	const limit = 1 << 10
	c, _ := newLoggedServer(t, limit)
	patient := `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">%s</div>"}}`
	fits := fmt.Sprintf(patient, strings.Repeat("x", limit-200))
	tooBig := fmt.Sprintf(patient, strings.Repeat("x", limit))
	tests := []struct {
		name   string
		body   func() (io.Reader, int64)
		status int
	}{
		{"a body within the limit is accepted", func() (io.Reader, int64) { return strings.NewReader(fits), int64(len(fits)) }, 201},
		{"a declared Content-Length over the limit is refused before the body is read",
			// The body never comes: a server that waited for it would not answer.
			func() (io.Reader, int64) { r, _ := io.Pipe(); return r, 1 << 40 }, 413},
		{"a chunked body over the limit is cut off at the limit",
			func() (io.Reader, int64) { return io.MultiReader(strings.NewReader(tooBig)), -1 }, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := c.versions()
			body, n := tt.body()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, "POST", c.base+"/Patient", body)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = n
			req.Header.Set("Content-Type", "application/fhir+json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("POST /Patient with %d bytes declared: %v", n, err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if pr, ok := body.(*io.PipeReader); ok {
				pr.Close()
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("POST /Patient with %d bytes declared = %d, want %d: %s", n, resp.StatusCode, tt.status, out)
			}
			if tt.status == 413 && !strings.Contains(string(out), `"resourceType":"OperationOutcome"`) {
				t.Errorf("413 body = %s, want an OperationOutcome", out)
			}
			if after := c.versions(); tt.status == 413 && after != before {
				t.Errorf("a refused body wrote %d versions", after-before)
			}
		})
	}
}

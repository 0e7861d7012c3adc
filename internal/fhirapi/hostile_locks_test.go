package fhirapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhirapi"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

// heldBody is a Patient/held with the family name given.
func heldBody(family string) string {
	return fmt.Sprintf(`{"resourceType":"Patient","id":"held","name":[{"family":%q}]}`, family)
}

// holdPatient updates Patient/id in a transaction it keeps open, as a slow writer
// would, and returns once the update holds its locks. release commits it and
// fails t if the commit fails.
func holdPatient(t *testing.T, st ehr.ResourceStore, id string) (release func()) {
	t.Helper()
	holding, done := make(chan struct{}), make(chan error, 1)
	proceed := make(chan struct{})
	go func() {
		done <- st.Transaction(context.Background(), func(tx ehr.Tx) error {
			_, _, err := tx.Update(context.Background(), "Patient", id,
				map[string]any{"resourceType": "Patient", "id": id, "name": []any{map[string]any{"family": "Slow"}}}, ehr.WriteOptions{})
			close(holding)
			<-proceed
			return err
		})
	}()
	<-holding
	return func() {
		t.Helper()
		close(proceed)
		if err := <-done; err != nil {
			t.Fatalf("the held transaction: %v", err)
		}
	}
}

// TestWritesWaitForLocksAtMostTheWriteLockTimeout holds a write transaction open
// on Patient/held, as a slow writer would, and checks that a write that needs the
// same lock (on SQLite any write: it has one writer; on PostgreSQL one of the same
// resource) is answered 503 with Retry-After once --write-lock-timeout has passed,
// changing nothing, and succeeds once the lock is free.
func TestWritesWaitForLocksAtMostTheWriteLockTimeout(t *testing.T) {
	const wait = 300 * time.Millisecond
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{WriteLockWait: wait})
			api := fhirapi.New(service.New(st, service.Options{}), fhirapi.Config{Version: "test"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			srv := httptest.NewServer(api)
			t.Cleanup(srv.Close)
			c := &client{t: t, base: srv.URL + "/fhir"}
			c.must(201, "PUT", "/Patient/held", heldBody("Before"))

			release := holdPatient(t, st, "held")
			start := time.Now()
			r := c.do("PUT", "/Patient/held", heldBody("Waiting"))
			took := time.Since(start)
			if r.status != 503 || r.header.Get("Retry-After") == "" {
				t.Fatalf("a write behind a held lock: %d (Retry-After %q) %s, want 503 with Retry-After", r.status, r.header.Get("Retry-After"), r.body)
			}
			if !strings.Contains(string(r.body), "write-lock-timeout") || !strings.Contains(string(r.body), `"lock-error"`) {
				t.Errorf("the OperationOutcome does not name the limit: %s", r.body)
			}
			if took < wait || took > wait+5*time.Second {
				t.Errorf("the write was answered after %v, want soon after the %v limit", took, wait)
			}
			release()
			got := c.must(200, "GET", "/Patient/held", "")
			if v := got.json["meta"].(map[string]any)["versionId"]; v != "2" {
				t.Fatalf("after the refused write the Patient is at version %v, want 2 (the held transaction's)", v)
			}
			c.must(200, "PUT", "/Patient/held", heldBody("After"))
		})
	}
}

// TestTheWriteTimeoutStopsTheWork holds a write transaction open and sends a write
// that waits behind it for longer than --write-timeout: the waiting write is
// stopped at the timeout (503 or a closed connection: the server gives the
// response up at the same moment) and is never written afterwards, when the lock
// frees.
func TestTheWriteTimeoutStopsTheWork(t *testing.T) {
	const writeTimeout = 400 * time.Millisecond
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{WriteLockWait: time.Minute})
			logs := &lockedBuffer{}
			log := slog.New(slog.NewTextHandler(logs, nil))
			api := fhirapi.New(service.New(st, service.Options{Log: log}), fhirapi.Config{Version: "test"}, log)
			conns := fhirapi.Connections{ReadTimeout: writeTimeout / 2, WriteTimeout: writeTimeout}
			srv := httptest.NewUnstartedServer(nil)
			srv.Config = fhirapi.NewHTTPServer(api, conns)
			srv.Start()
			t.Cleanup(srv.Close)
			c := &client{t: t, base: srv.URL + "/fhir"}
			c.must(201, "PUT", "/Patient/held", heldBody("Before"))

			release := holdPatient(t, st, "held")
			req, _ := http.NewRequest("PUT", c.base+"/Patient/held", strings.NewReader(heldBody("Late")))
			req.Header.Set("Content-Type", "application/fhir+json")
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != 503 {
					t.Errorf("a write stopped at the write timeout: %d, want 503 or a closed connection", resp.StatusCode)
				}
			}
			// The waiting write has given up: releasing the lock must not let it through.
			time.Sleep(writeTimeout)
			release()
			time.Sleep(100 * time.Millisecond)
			got := c.must(200, "GET", "/Patient/held", "")
			if v := got.json["meta"].(map[string]any)["versionId"]; v != "2" {
				t.Fatalf("the Patient is at version %v, want 2: the write stopped at the write timeout was written after all", v)
			}
			if !strings.Contains(logs.String(), "request stopped at the write timeout") {
				t.Errorf("the stopped request was not logged as such:\n%s", logs.String())
			}
		})
	}
}

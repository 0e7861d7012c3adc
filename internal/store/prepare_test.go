package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
	"omnichart/internal/store"
	"omnichart/internal/synth"
)

// samePreparedWrite checks that preparing res before the transaction stores what
// encoding and indexing it inside did: the same bytes, index rows and compartment.
func samePreparedWrite(t *testing.T, s *store.Store, ctx context.Context, res map[string]any) {
	t.Helper()
	typ, _ := res["resourceType"].(string)
	id, _ := res["id"].(string)
	if id == "" {
		id = "prepared-1"
	}
	now := time.Date(2024, 3, 1, 12, 30, 15, 123456000, time.UTC)
	body, rows, comp, err := s.PreparedWrite(ctx, typ, id, res, 7, now)
	if err != nil {
		t.Fatalf("PreparedWrite(%s/%s): %v", typ, id, err)
	}
	wantBody, wantRows, wantComp, err := s.InlineWrite(ctx, typ, id, res, 7, now)
	if err != nil {
		t.Fatalf("InlineWrite(%s/%s): %v", typ, id, err)
	}
	if string(body) != string(wantBody) {
		t.Errorf("PreparedWrite(%s/%s) body differs from the inline one (-inline +prepared):\n%s", typ, id, cmp.Diff(string(wantBody), string(body)))
	}
	if rows != wantRows {
		t.Errorf("PreparedWrite(%s/%s) index rows differ from the inline ones (-inline +prepared):\n%s", typ, id, cmp.Diff(wantRows, rows))
	}
	if comp != wantComp {
		t.Errorf("PreparedWrite(%s/%s) compartment = %q, want %q", typ, id, comp, wantComp)
	}
}

func TestPreparedWriteStoresWhatAnInlineWriteStores(t *testing.T) {
	s := ehrtest.MustOpen(t, "sqlite", store.Options{})
	g := synth.New(7)
	g.PerPatient = 40
	data := g.Shared()
	for i := range 5 {
		data = append(data, g.Patient(i)...)
	}
	handmade := []struct {
		name string
		res  string
	}{
		{"a resource without meta", `{"resourceType":"Patient","active":true}`},
		{"a resource without members other than its type", `{"resourceType":"Basic"}`},
		{"a stale versionId and lastUpdated are replaced", `{"resourceType":"Patient","meta":{"versionId":"99","lastUpdated":"2001-01-01T00:00:00Z"}}`},
		{"every member of meta around versionId and lastUpdated", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"meta":{"id":"m1","extension":[{"url":"http://example.org/x","valueString":"y"}],"profile":["http://example.org/p"],"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}],"source":"urn:omnichart:source:a","tag":[{"system":"http://example.org/t","code":"t1"}]}}`},
		{"members sorting before and after meta", `{"resourceType":"Patient","active":true,"language":"en","meta":{"source":"urn:x"},"modifierExtension":[],"name":[{"family":"Äöü \"quoted\" <b>"}],"implicitRules":"http://example.org/r"}`},
		{"contained resources keep their own meta", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"contained":[{"resourceType":"Patient","id":"p","meta":{"versionId":"3"}}],"subject":{"reference":"#p"}}`},
		{"a body id that differs is replaced by the id written", `{"resourceType":"Patient","id":"other"}`},
		{"escapes in keys and values", `{"resourceType":"Basic","code":{"text":"line\nbreak\ttab \u0001 \u2028"},"meta":{"tag":[{"code":"\"q\""}]}}`},
	}
	for _, deferred := range []bool{false, true} {
		ctx := context.Background()
		name := "inline indexing"
		if deferred {
			ctx, name = ehr.WithDeferredIndexing(ctx), "deferred indexing"
		}
		t.Run(name, func(t *testing.T) {
			t.Run("synthetic records", func(t *testing.T) {
				for _, res := range data {
					samePreparedWrite(t, s, ctx, res)
				}
			})
			for _, h := range handmade {
				t.Run(h.name, func(t *testing.T) {
					res, err := fhir.Decode([]byte(h.res))
					if err != nil {
						t.Fatal(err)
					}
					res["id"] = "h1"
					samePreparedWrite(t, s, ctx, res)
				})
			}
		})
	}
	t.Run("official examples", func(t *testing.T) {
		files, _ := filepath.Glob(filepath.Join(ehrtest.SharedTestdata(t, "fhir-r4-examples"), "*.json"))
		n := 0
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			res, err := fhir.Decode(data)
			if err != nil || !fhir.R4().IsResourceType(fhir.String(res, "resourceType")) {
				continue // package.json and the like
			}
			samePreparedWrite(t, s, context.Background(), res)
			n++
		}
		if n < len(files)-1 {
			t.Errorf("compared %d official examples of %d files, want all but package.json", n, len(files))
		}
	})
	t.Run("a custom parameter that reads meta.versionId", func(t *testing.T) {
		sp := map[string]any{"resourceType": "SearchParameter", "url": "http://example.org/sp/version", "name": "version",
			"status": "active", "code": "version", "base": []any{"Basic"}, "type": "token", "expression": "Basic.meta.versionId",
			"description": "the version"}
		if _, err := s.Create(context.Background(), "sp-version", sp); err != nil {
			t.Fatal(err)
		}
		samePreparedWrite(t, s, context.Background(), map[string]any{"resourceType": "Basic", "code": map[string]any{"text": "v"}})
	})
}

// TestPreparedWriteIndexesSearchParametersAddedMeanwhile prepares an Observation,
// then adds a search parameter, then writes it: the write indexes it for the new
// parameter too, as a write prepared inside the transaction would.
func TestPreparedWriteIndexesSearchParametersAddedMeanwhile(t *testing.T) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				ehrtest.PostgresURL(t)
			}
			ctx := context.Background()
			s := ehrtest.MustOpen(t, engine, store.Options{})
			obs := map[string]any{"resourceType": "Observation", "status": "final", "code": map[string]any{"text": "x"},
				"note": []any{map[string]any{"text": "meanwhile"}}}
			p, err := s.Prepare(ctx, "Observation", "o1", obs)
			if err != nil {
				t.Fatal(err)
			}
			sp := map[string]any{"resourceType": "SearchParameter", "url": "http://example.org/sp/note", "name": "note",
				"status": "active", "code": "note-text", "base": []any{"Observation"}, "type": "string",
				"expression": "Observation.note.text", "description": "note text"}
			if _, err := s.Create(ctx, "sp-note", sp); err != nil {
				t.Fatal(err)
			}
			err = s.Transaction(ctx, func(tx ehr.Tx) error {
				_, err := tx.(ehr.PreparedWriter).CreatePrepared(ctx, p)
				return err
			})
			if err != nil {
				t.Fatalf("CreatePrepared(%s): %v", p.Reference(), err)
			}
			q, err := search.ParseString("Observation", "note-text=meanwhile")
			if err != nil {
				t.Fatal(err)
			}
			page, err := s.Search(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Records) != 1 {
				t.Errorf("Search(note-text=meanwhile) = %d results, want 1", len(page.Records))
			}
		})
	}
}

// TestPreparedWriteChecksAsCreateAndUpdateDo writes prepared resources where
// Create and Update would fail, and checks that they fail the same way.
func TestPreparedWriteChecksAsCreateAndUpdateDo(t *testing.T) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				ehrtest.PostgresURL(t)
			}
			ctx := context.Background()
			s := ehrtest.MustOpen(t, engine, store.Options{})
			other := ehrtest.MustOpen(t, "sqlite", store.Options{})
			patient := func(id string) map[string]any {
				return map[string]any{"resourceType": "Patient", "id": id, "gender": "female"}
			}
			if _, err := s.Create(ctx, "exists", patient("exists")); err != nil {
				t.Fatal(err)
			}
			mustPrepare := func(s *store.Store, id string) ehr.Prepared {
				t.Helper()
				p, err := s.Prepare(ctx, "Patient", id, patient(id))
				if err != nil {
					t.Fatalf("Prepare(Patient/%s): %v", id, err)
				}
				return p
			}
			tests := []struct {
				name  string
				write func(tx ehr.PreparedWriter) error
				want  ehr.Code
			}{
				{"creating an id in use is a conflict", func(tx ehr.PreparedWriter) error {
					_, err := tx.CreatePrepared(ctx, mustPrepare(s, "exists"))
					return err
				}, ehr.Conflict},
				{"updating with a stale If-Match fails its precondition", func(tx ehr.PreparedWriter) error {
					_, _, err := tx.UpdatePrepared(ctx, mustPrepare(s, "exists"), ehr.WriteOptions{IfMatch: 5})
					return err
				}, ehr.PreconditionFailed},
				{"what another store prepared is refused", func(tx ehr.PreparedWriter) error {
					_, err := tx.CreatePrepared(ctx, mustPrepare(other, "new"))
					return err
				}, ehr.Internal},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					err := s.Transaction(ctx, func(tx ehr.Tx) error { return tt.write(tx.(ehr.PreparedWriter)) })
					if got := ehr.ErrorCode(err); err == nil || got != tt.want {
						t.Errorf("write = %v (%s), want %s", err, got, tt.want)
					}
				})
			}
			for _, bad := range []struct{ typ, id string }{{"Patientx", "a"}, {"Patient", "bad id!"}} {
				if _, err := s.Prepare(ctx, bad.typ, bad.id, patient(bad.id)); ehr.ErrorCode(err) != ehr.Invalid {
					t.Errorf("Prepare(%s/%s) = %v, want Invalid", bad.typ, bad.id, err)
				}
			}
			rec, err := s.Read(ctx, "Patient", "exists")
			if err != nil || rec.Version != 1 {
				t.Errorf("Read(Patient/exists) = %v, %v; want version 1, unchanged", rec, err)
			}
			var stored map[string]any
			if err := json.Unmarshal(rec.Resource, &stored); err != nil || fmt.Sprint(stored["gender"]) != "female" {
				t.Errorf("Patient/exists = %s, want it unchanged", rec.Resource)
			}
		})
	}
}

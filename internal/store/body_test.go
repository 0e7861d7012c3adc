package store_test

import (
	"bytes"
	"compress/bzip2"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
	"omnichart/internal/store"
)

// TestOriginalsAreStoredCompressed keeps Synthea bundles as Binary resources, as
// the import keeps every original, and checks on every engine that the stored
// bodies take at most 30% of the bundles' own bytes (measured by the database,
// length of the body column), and that read, vread, history and search give back
// JSON whose data decodes to exactly the bundle's bytes.
func TestOriginalsAreStoredCompressed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(ehrtest.SharedTestdata(t, "synthea-r4"), "*.json.bz2"))
	if err != nil || len(files) < 8 {
		t.Fatalf("found %d Synthea bundles (%v), want at least 8", len(files), err)
	}
	var originals [][]byte
	for _, f := range files[:8] {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(bzip2.NewReader(fh))
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		originals = append(originals, data)
	}
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				ehrtest.PostgresURL(t)
			}
			st := ehrtest.MustOpen(t, engine, store.Options{})
			ctx := context.Background()
			raw := 0
			for i, data := range originals {
				raw += len(data)
				bin := map[string]any{"resourceType": "Binary", "contentType": "application/fhir+json",
					"data": base64.StdEncoding.EncodeToString(data)}
				id := "orig" + string(rune('a'+i))
				if _, err := st.Create(ctx, id, bin); err != nil {
					t.Fatalf("create Binary/%s: %v", id, err)
				}
				// A second version, so that history and vread have two.
				bin["contentType"] = "application/json"
				if _, _, err := st.Update(ctx, "Binary", id, bin, ehr.WriteOptions{}); err != nil {
					t.Fatalf("update Binary/%s: %v", id, err)
				}
			}
			var stored int64
			if err := st.DB().QueryRow(`SELECT SUM(length(body)) FROM resource_versions WHERE res_type = 'Binary' AND version = 1`).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if share := float64(stored) / float64(raw); share > 0.30 {
				t.Errorf("the originals' stored bodies take %d bytes for %d bytes of bundles (%.0f%%), want at most 30%%", stored, raw, 100*share)
			}

			same := func(what string, body []byte, want []byte) {
				t.Helper()
				var res struct {
					Data string `json:"data"`
				}
				if err := json.Unmarshal(body, &res); err != nil {
					t.Fatalf("%s: the body is not JSON: %v", what, err)
				}
				got, err := base64.StdEncoding.DecodeString(res.Data)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s: the data is not the original's bytes (%d bytes back, %d sent, %v)", what, len(got), len(want), err)
				}
			}
			for i, data := range originals {
				id := "orig" + string(rune('a'+i))
				rec, err := st.Read(ctx, "Binary", id)
				if err != nil {
					t.Fatal(err)
				}
				same("read "+id, rec.Resource, data)
				rec, err = st.VRead(ctx, "Binary", id, 1)
				if err != nil {
					t.Fatal(err)
				}
				same("vread "+id+"/1", rec.Resource, data)
				page, err := st.History(ctx, ehr.HistoryQuery{Type: "Binary", ID: id})
				if err != nil || len(page.Records) != 2 {
					t.Fatalf("history of %s: %v, %d versions, want 2", id, err, len(page.Records))
				}
				for _, r := range page.Records {
					same("history "+id, r.Resource, data)
				}
			}
			q, err := search.ParseString("Binary", "_count=100")
			if err != nil {
				t.Fatal(err)
			}
			page, err := st.Search(ctx, q)
			if err != nil || len(page.Records) != len(originals) {
				t.Fatalf("search Binary: %v, %d records, want %d", err, len(page.Records), len(originals))
			}
			for _, r := range page.Records {
				same("search "+r.ID, r.Resource, originals[r.ID[len("orig")]-'a'])
			}
		})
	}
}

// TestBodiesStoredBeforeCompressionStillRead rewrites a stored body into the
// plain JSON rows had before bodies were compressed, and one into a damaged
// frame: the first reads as it was, the second fails the read with an error
// instead of a panic or wrong content.
func TestBodiesStoredBeforeCompressionStillRead(t *testing.T) {
	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			ctx := context.Background()
			long := bytes.Repeat([]byte("a long note "), 1000)
			obs := map[string]any{"resourceType": "Observation", "status": "final",
				"code": map[string]any{"text": "note"}, "valueString": string(long)}
			rec, err := st.Create(ctx, "plain1", obs)
			if err != nil {
				t.Fatal(err)
			}
			var storedLen int
			if err := st.DB().QueryRow(`SELECT length(body) FROM resource_versions WHERE res_id = 'plain1'`).Scan(&storedLen); err != nil {
				t.Fatal(err)
			}
			if storedLen >= len(rec.Resource)/4 {
				t.Fatalf("a %d-byte body of a repeated text is stored in %d bytes: it was not compressed", len(rec.Resource), storedLen)
			}
			update := `UPDATE resource_versions SET body = $1 WHERE res_id = 'plain1'`
			if engine == "sqlite" {
				update = `UPDATE resource_versions SET body = ? WHERE res_id = 'plain1'`
			}
			if _, err := st.DB().Exec(update, rec.Resource); err != nil {
				t.Fatal(err)
			}
			got, err := st.Read(ctx, "Observation", "plain1")
			if err != nil {
				t.Fatalf("read of a body stored plain: %v", err)
			}
			res, err := fhir.Decode(got.Resource)
			if err != nil || fhir.String(res, "valueString") != string(long) {
				t.Errorf("a body stored plain reads back changed (%v)", err)
			}
			damaged := append([]byte{0x28, 0xb5, 0x2f, 0xfd}, bytes.Repeat([]byte{0xff}, 40)...)
			if _, err := st.DB().Exec(update, damaged); err != nil {
				t.Fatal(err)
			}
			if got, err := st.Read(ctx, "Observation", "plain1"); err == nil {
				t.Errorf("read of a damaged stored body = %d bytes, no error; want an error", len(got.Resource))
			}
		})
	}
}

package ingest_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
	"omnichart/internal/ingest"
	"omnichart/internal/ingest/hl7v2"
)

// mshKeys returns "MSH-4|MSH-10" (the first component of MSH-4) of every message
// in an HL7 v2 file, read with plain string splitting.
func mshKeys(data []byte) []string {
	text := strings.TrimPrefix(string(data), "\xef\xbb\xbf")
	var out []string
	for _, seg := range strings.FieldsFunc(text, func(r rune) bool { return r == '\r' || r == '\n' }) {
		seg = strings.TrimLeft(seg, "\v\x1c")
		if len(seg) < 4 || !strings.HasPrefix(seg, "MSH") {
			continue
		}
		f := strings.Split(seg, seg[3:4])
		if len(f) < 10 || f[1] == "" {
			out = append(out, "")
			continue
		}
		facility, _, _ := strings.Cut(f[3], f[1][:1])
		out = append(out, facility+"|"+f[9])
	}
	return out
}

// withMSH returns an HL7 v2 message with field n of its MSH segment set to v.
func withMSH(tb testing.TB, msg []byte, n int, v string) []byte {
	tb.Helper()
	text := string(msg)
	start := strings.Index(text, "MSH")
	end := start + strings.IndexAny(text[start:], "\r\n")
	f := strings.Split(text[start:end], text[start+3:start+4])
	if len(f) <= n-1 {
		tb.Fatalf("the MSH segment has no MSH-%d", n)
	}
	f[n-1] = v
	return []byte(text[:start] + strings.Join(f, text[start+3:start+4]) + text[end:])
}

// mshField returns field n of the MSH segment of msg.
func mshField(msg []byte, n int) string {
	text := string(msg)
	start := strings.Index(text, "MSH")
	end := start + strings.IndexAny(text[start:], "\r\n")
	f := strings.Split(text[start:end], text[start+3:start+4])
	if len(f) <= n-1 {
		return ""
	}
	return f[n-1]
}

// originalHash returns the SHA-256 identifier of a DocumentReference.
func (e *env) originalHash(tb testing.TB, ref string) string {
	tb.Helper()
	rec, err := e.svc.Read(e.ctx, "DocumentReference", strings.TrimPrefix(ref, "DocumentReference/"))
	if err != nil {
		tb.Fatalf("Read(%s) = %v", ref, err)
	}
	doc, _ := fhir.Decode(rec.Resource)
	for _, id := range fhir.Array(doc, "identifier") {
		m, _ := id.(map[string]any)
		if fhir.String(m, "system") == ingest.HashSystem {
			return fhir.String(m, "value")
		}
	}
	return ""
}

// patientIdentifier returns the identifiers of the Patient an HL7 v2 message
// converts to. Two stored patients with them make the message's conditional create
// match both, so its import fails until one is removed.
func patientIdentifier(tb testing.TB, msg []byte) any {
	tb.Helper()
	m, err := hl7v2.Parse(msg)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := hl7v2.Convert(m, hl7v2.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	for _, en := range fhir.Array(res.Bundle, "entry") {
		em, _ := en.(map[string]any)
		if r := fhir.Object(em, "resource"); fhir.String(r, "resourceType") == "Patient" && r["identifier"] != nil {
			return r["identifier"]
		}
	}
	tb.Fatal("the message converts to no Patient with identifiers")
	return nil
}

func hashOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func TestReDeliveredMessageIsAppliedOnceAndReportedAsDuplicate(t *testing.T) {
	oru := mustRead(t, "hl7v2/testdata/oru_r01_cbc.hl7")
	restamped := withMSH(t, oru, 7, "20110531150551-0500")
	cases := []struct {
		name       string
		again      []byte
		wantReason string
	}{
		{"the same bytes again are a duplicate", oru, ingest.ReasonDuplicate},
		{"the same message with a new MSH-7 is a re-delivery", restamped, ingest.ReasonRedelivered},
	}
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					e := newEnv(t, engine)
					src := ingest.Source{URI: "urn:omnichart:source:lab"}
					first := e.mustImport(t, src, "oru.hl7", oru).Units[0]
					if first.Err != nil || first.Duplicate || first.Reason != "" {
						t.Fatalf("first Import = err %v, duplicate %v, reason %q; want a plain import", first.Err, first.Duplicate, first.Reason)
					}
					before := e.counts(t)
					u := e.mustImport(t, src, "oru-again.hl7", c.again).Units[0]
					if u.Err != nil || !u.Duplicate || u.Reason != c.wantReason || u.Original != first.Original {
						t.Errorf("Import(again) = err %v, duplicate %v, reason %q, original %s; want a duplicate, %q, %s",
							u.Err, u.Duplicate, u.Reason, u.Original, c.wantReason, first.Original)
					}
					if got := e.counts(t); !equalCounts(got, before) {
						t.Errorf("the re-delivery changed the store: %v, before %v", got, before)
					}
				})
			}
		})
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestMessagesSharingAKeyAreAllImportedOrQuarantined imports the real samples that
// share the sending facility and control id GHHSFacility|MSG00001: each is another
// message, so each is imported (and reported as reusing the key) or quarantined with
// its error, and none is skipped as already imported.
func TestMessagesSharingAKeyAreAllImportedOrQuarantined(t *testing.T) {
	const key = "GHHSFacility|MSG00001"
	var files []string
	want := 0
	filepath.Walk(filepath.Join(testdata, "hl7v2"), func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		n := 0
		for _, k := range mshKeys(data) {
			if k == key {
				n++
			}
		}
		if n > 0 {
			files = append(files, p)
			want += n
		}
		return nil
	})
	if want < 2 {
		t.Skipf("fewer than two samples with %s under %s", key, testdata)
	}
	sort.Strings(files)
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			src := ingest.Source{URI: "urn:omnichart:source:ghh"}
			seen := map[string]bool{} // hashes of the messages imported so far
			imported, quarantined := 0, 0
			originals := map[string]string{} // unit name -> DocumentReference
			for _, f := range files {
				data := mustRead(t, f)
				keys := mshKeys(data)
				rep := e.mustImport(t, src, filepath.Base(f), data)
				if len(rep.Units) != len(keys) {
					t.Fatalf("Import(%s) = %d units, the file holds %d messages", f, len(rep.Units), len(keys))
				}
				for i, u := range rep.Units {
					if keys[i] != key {
						continue
					}
					switch {
					case u.Err != nil && u.Quarantine != "":
						quarantined++
					case u.Err != nil:
						t.Errorf("%s: failed without a quarantine entry: %v", u.Name, u.Err)
					case u.Duplicate && !seen[u.Hash]:
						t.Errorf("%s: skipped as %q (%s), but no earlier message had its bytes", u.Name, u.Reason, u.Original)
					case u.Duplicate:
					default:
						if len(u.SameKey) != imported {
							t.Errorf("%s: SameKey lists %d earlier messages, want the %d imported before", u.Name, len(u.SameKey), imported)
						}
						if imported > 0 && u.Reason != ingest.ReasonReusedKey {
							t.Errorf("%s: reason %q, want %q", u.Name, u.Reason, ingest.ReasonReusedKey)
						}
						imported++
						seen[u.Hash] = true
						originals[u.Name] = u.Original
					}
				}
			}
			if imported+quarantined != want {
				t.Errorf("%d messages with %s: %d imported, %d quarantined; want all %d accounted for", want, key, imported, quarantined, want)
			}
			if imported < 2 {
				t.Errorf("only %d messages with %s imported, want several", imported, key)
			}
			q := "identifier=" + url.QueryEscape(ingest.MessageKeySystem+"|"+strings.ReplaceAll(key, "|", `\|`))
			docs, err := e.im.Target().Search(e.ctx, "DocumentReference", q, 1000)
			if err != nil || len(docs) != imported {
				t.Errorf("Search(DocumentReference?%s) = %d, %v; want the %d imported", q, len(docs), err, imported)
			}
			t.Logf("%d messages with %s in %d files: %d imported, %d quarantined", want, key, len(files), imported, quarantined)

			// The same files again are re-deliveries: nothing is written twice.
			before := e.counts(t)
			for _, f := range files {
				rep := e.mustImport(t, src, filepath.Base(f), mustRead(t, f))
				for _, u := range rep.Units {
					if orig, ok := originals[u.Name]; ok && (!u.Duplicate || u.Reason != ingest.ReasonDuplicate || u.Original != orig) {
						t.Errorf("%s again: duplicate %v, reason %q, original %s; want a duplicate of %s", u.Name, u.Duplicate, u.Reason, u.Original, orig)
					}
				}
			}
			if after := e.counts(t); after["DocumentReference"] != before["DocumentReference"] || after["Observation"] != before["Observation"] {
				t.Errorf("importing the files again changed the store: %v, before %v", after, before)
			}
		})
	}
}

// TestReplayClosesAQuarantineEntryOnlyForItsOwnOriginal quarantines a message, imports
// another message with the same MSH-4|MSH-10, and replays the first: while it still
// fails its entry stays open, and once it imports the entry names its own original.
func TestReplayClosesAQuarantineEntryOnlyForItsOwnOriginal(t *testing.T) {
	adt := mustRead(t, "hl7v2/testdata/adt_a01.hl7")
	// Another message under the first one's key.
	other := withMSH(t, withMSH(t, mustRead(t, "hl7v2/testdata/vxu_v04.hl7"), 4, mshField(adt, 4)), 10, mshField(adt, 10))
	identifier := patientIdentifier(t, adt)
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			src := ingest.Source{URI: "urn:omnichart:source:ghh"}
			// Two patients of the source with the message's identifier: its
			// conditional create matches both, so the message fails until one is
			// removed.
			var ids []string
			asSource := ehr.WithPrincipal(e.ctx, ehr.Principal{Subject: "source/ghh", Source: src.URI, System: true})
			for range 2 {
				rec, _, err := e.svc.Create(asSource, fhir.Resource{"resourceType": "Patient", "identifier": identifier}, "")
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, rec.ID)
			}
			u := e.mustImport(t, src, "adt.hl7", adt).Units[0]
			if u.Err == nil || u.Quarantine == "" {
				t.Fatalf("Import(ADT with an ambiguous patient) = %v, quarantine %q; want a quarantined failure", u.Err, u.Quarantine)
			}
			task := strings.TrimPrefix(u.Quarantine, "Task/")
			o := e.mustImport(t, src, "other.hl7", other).Units[0]
			if o.Err != nil || o.Duplicate {
				t.Fatalf("Import(another message with the same key) = err %v, duplicate %v; want it imported", o.Err, o.Duplicate)
			}

			rep, err := e.im.Replay(e.ctx, nil, task)
			if err != nil {
				t.Fatal(err)
			}
			if r := rep.Units[0]; r.Err == nil || r.Duplicate {
				t.Errorf("Replay while the cause remains = err %v, duplicate %v (%s); want a failure", r.Err, r.Duplicate, r.Original)
			}
			entry, _, err := e.im.QuarantinedEntry(e.ctx, task)
			if err != nil {
				t.Fatal(err)
			}
			if entry.Status != "failed" || entry.Original != "" || entry.Attempts != 2 {
				t.Errorf("after a failed replay the entry is %s, original %q, %d attempts; want failed, none, 2", entry.Status, entry.Original, entry.Attempts)
			}

			if _, err := e.svc.Delete(e.ctx, "Patient", ids[1], 0); err != nil {
				t.Fatal(err)
			}
			rep, err = e.im.Replay(e.ctx, nil, task)
			if err != nil {
				t.Fatal(err)
			}
			r := rep.Units[0]
			if r.Err != nil || r.Duplicate || r.Reason != ingest.ReasonReusedKey || len(r.SameKey) != 1 || r.SameKey[0] != o.Original {
				t.Errorf("Replay after the fix = err %v, duplicate %v, reason %q, same key %v; want imported, %q, [%s]",
					r.Err, r.Duplicate, r.Reason, r.SameKey, ingest.ReasonReusedKey, o.Original)
			}
			entry, _, err = e.im.QuarantinedEntry(e.ctx, task)
			if err != nil {
				t.Fatal(err)
			}
			if entry.Status != "completed" || entry.Original != r.Original || entry.Original == o.Original {
				t.Errorf("after the replay the entry is %s, original %q; want completed, %s (not %s)", entry.Status, entry.Original, r.Original, o.Original)
			}
			if got := e.originalHash(t, entry.Original); got != hashOf(adt) {
				t.Errorf("the entry's original %s has hash %s, want the replayed message's %s", entry.Original, got, hashOf(adt))
			}
		})
	}
}

func TestTheSameFileFromTwoSourcesIsImportedOncePerSource(t *testing.T) {
	cases := []struct {
		name string
		path string
	}{
		{"an HL7 v2 message", "hl7v2/testdata/oru_r01_cbc.hl7"},
		{"a C-CDA document", filepath.Join(testdata, "ccda/chb-sample_ccdas/HL7 Samples/CCD.sample.xml")},
	}
	a := ingest.Source{URI: "urn:omnichart:source:a"}
	b := ingest.Source{URI: "urn:omnichart:source:b"}
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					e := newEnv(t, engine)
					data := mustRead(t, c.path)
					steps := []struct {
						src           ingest.Source
						wantDuplicate bool
					}{{a, false}, {b, false}, {a, true}, {b, true}}
					originals := map[string]string{}
					for i, s := range steps {
						u := e.mustImport(t, s.src, filepath.Base(c.path), data).Units[0]
						if u.Err != nil || u.Duplicate != s.wantDuplicate {
							t.Fatalf("Import #%d from %s = err %v, duplicate %v; want duplicate %v", i+1, s.src.URI, u.Err, u.Duplicate, s.wantDuplicate)
						}
						if !s.wantDuplicate {
							originals[s.src.URI] = u.Original
							continue
						}
						if u.Original != originals[s.src.URI] || u.Reason != ingest.ReasonDuplicate {
							t.Errorf("Import #%d from %s = duplicate of %s (%q), want of that source's own %s", i+1, s.src.URI, u.Original, u.Reason, originals[s.src.URI])
						}
					}
					if originals[a.URI] == originals[b.URI] {
						t.Errorf("both sources' imports are %s, want one original each", originals[a.URI])
					}
					if n := e.counts(t)["DocumentReference"]; n < 2 {
						t.Errorf("%d DocumentReferences stored, want one original per source", n)
					}
				})
			}
		})
	}
}

// TestTheSameFailureFromTwoSourcesHasAnEntryEach sends one failing message from two
// sources: each gets a quarantine entry of its own, and each entry closes only when
// its own source's import of the message succeeds.
func TestTheSameFailureFromTwoSourcesHasAnEntryEach(t *testing.T) {
	adt := mustRead(t, "hl7v2/testdata/adt_a01.hl7")
	identifier := patientIdentifier(t, adt)
	a := ingest.Source{URI: "urn:omnichart:source:a"}
	b := ingest.Source{URI: "urn:omnichart:source:b"}
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			// Each source has two patients with the message's identifier, so each
			// source's message fails until one of its own is removed.
			ids := map[string][]string{}
			for _, src := range []ingest.Source{a, b} {
				asSource := ehr.WithPrincipal(e.ctx, ehr.Principal{Subject: "source", Source: src.URI, System: true})
				for range 2 {
					rec, _, err := e.svc.Create(asSource, fhir.Resource{"resourceType": "Patient", "identifier": identifier}, "")
					if err != nil {
						t.Fatal(err)
					}
					ids[src.URI] = append(ids[src.URI], rec.ID)
				}
			}
			tasks := map[string]string{}
			for _, src := range []ingest.Source{a, b} {
				u := e.mustImport(t, src, "adt.hl7", adt).Units[0]
				if u.Err == nil || u.Quarantine == "" {
					t.Fatalf("Import from %s = %v, quarantine %q; want a quarantined failure", src.URI, u.Err, u.Quarantine)
				}
				tasks[src.URI] = strings.TrimPrefix(u.Quarantine, "Task/")
			}
			if tasks[a.URI] == tasks[b.URI] {
				t.Fatalf("both sources' failures are Task/%s, want an entry each", tasks[a.URI])
			}
			if _, err := e.svc.Delete(e.ctx, "Patient", ids[a.URI][1], 0); err != nil {
				t.Fatal(err)
			}
			status := func(src ingest.Source) (string, string) {
				entry, _, err := e.im.QuarantinedEntry(e.ctx, tasks[src.URI])
				if err != nil {
					t.Fatal(err)
				}
				if entry.Source != src.URI {
					t.Errorf("Task/%s source = %s, want %s", entry.ID, entry.Source, src.URI)
				}
				return entry.Status, entry.Original
			}
			ua := e.mustImport(t, a, "adt.hl7", adt).Units[0]
			if ua.Err != nil || ua.Duplicate {
				t.Fatalf("Import from %s after the fix = err %v, duplicate %v; want imported", a.URI, ua.Err, ua.Duplicate)
			}
			if st, orig := status(a); st != "completed" || orig != ua.Original {
				t.Errorf("%s's entry after its import: %s, %q; want completed, %s", a.URI, st, orig, ua.Original)
			}
			if st, orig := status(b); st != "failed" || orig != "" {
				t.Errorf("%s's entry after %s's import: %s, %q; want still failed", b.URI, a.URI, st, orig)
			}
			if _, err := e.svc.Delete(e.ctx, "Patient", ids[b.URI][1], 0); err != nil {
				t.Fatal(err)
			}
			ub := e.mustImport(t, b, "adt.hl7", adt).Units[0]
			if ub.Err != nil || ub.Duplicate || ub.Original == ua.Original {
				t.Fatalf("Import from %s after the fix = err %v, duplicate %v, original %s; want its own import", b.URI, ub.Err, ub.Duplicate, ub.Original)
			}
			if st, orig := status(b); st != "completed" || orig != ub.Original {
				t.Errorf("%s's entry after its import: %s, %q; want completed, %s", b.URI, st, orig, ub.Original)
			}
		})
	}
}

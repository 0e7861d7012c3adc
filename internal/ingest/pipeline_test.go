package ingest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
	"omnichart/internal/ingest"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

var syntheaAll = flag.Bool("synthea-all", false, "load every Synthea bundle in ../shared/testdata/synthea-r4, not a handful")

const testdata = "../../../shared/testdata"

// env is a fresh store with an importer over it.
type env struct {
	svc *service.Service
	im  *ingest.Importer
	ctx context.Context
}

func newEnv(tb testing.TB, engine string) *env {
	tb.Helper()
	st := ehrtest.MustOpen(tb, engine, store.Options{})
	svc := service.New(st, service.Options{})
	return &env{svc: svc, im: ingest.New(ingest.ServiceTarget{Service: svc}, ingest.Options{}),
		ctx: ehr.WithPrincipal(context.Background(), ehr.SystemPrincipal)}
}

// all returns every current resource in the store.
func (e *env) all(tb testing.TB) []*ehr.Record {
	tb.Helper()
	var out []*ehr.Record
	q := &search.Query{Count: search.MaxCount}
	for {
		page, err := e.svc.Search(e.ctx, q)
		if err != nil {
			tb.Fatalf("Search(all) = %v", err)
		}
		out = append(out, page.Records...)
		if page.Next == "" {
			return out
		}
		q.Cursor = page.Next
	}
}

func (e *env) counts(tb testing.TB) map[string]int {
	out := map[string]int{}
	for _, r := range e.all(tb) {
		out[r.Type]++
	}
	return out
}

func (e *env) mustImport(tb testing.TB, src ingest.Source, name string, data []byte) *ingest.Report {
	tb.Helper()
	rep, err := e.im.Import(e.ctx, src, ingest.Input{Name: name, Data: data})
	if err != nil {
		tb.Fatalf("Import(%s) = %v", name, err)
	}
	return rep
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// checkReferences fails for every reference "Type/id" in a stored resource that
// does not resolve to a stored resource.
func checkReferences(t *testing.T, recs []*ehr.Record) {
	t.Helper()
	have := map[string]bool{}
	for _, r := range recs {
		have[r.Reference()] = true
	}
	bad := 0
	for _, r := range recs {
		res, err := fhir.Decode(r.Resource)
		if err != nil {
			t.Fatal(err)
		}
		walkRefs(res, func(ref string) {
			if strings.HasPrefix(ref, "#") || strings.Contains(ref, "://") {
				return
			}
			typ, id, _, ok := fhir.ParseReference(ref)
			if !ok || !have[typ+"/"+id] {
				if bad < 10 {
					t.Errorf("%s refers to %q, which is not stored", r.Reference(), ref)
				}
				bad++
			}
		})
	}
	if bad > 10 {
		t.Errorf("%d unresolved references in all", bad)
	}
}

func walkRefs(node any, fn func(string)) {
	switch x := node.(type) {
	case []any:
		for _, v := range x {
			walkRefs(v, fn)
		}
	case map[string]any:
		for k, v := range x {
			if s, ok := v.(string); ok && k == "reference" {
				fn(s)
				continue
			}
			walkRefs(v, fn)
		}
	}
}

// entryCounts counts a Bundle's POST and PUT entries by resource type.
func entryCounts(tb testing.TB, data []byte) map[string]int {
	plain, err := ingest.Decompress(data)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := fhir.Decode(plain)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range fhir.Array(b, "entry") {
		m, _ := e.(map[string]any)
		out[fhir.String(fhir.Object(m, "resource"), "resourceType")]++
	}
	return out
}

func syntheaFiles(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join(testdata, "synthea-r4", "*.json.bz2"))
	if err != nil || len(files) == 0 {
		ehrtest.MissingTestdata(t, "no Synthea data in "+testdata)
	}
	sort.Strings(files) // the "0-...Information" bundles sort first
	if !*syntheaAll {
		files = files[:min(len(files), 6)]
	}
	return files
}

func TestSyntheaBundlesLoadWithReferencesIntact(t *testing.T) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			want := map[string]int{}
			for _, f := range syntheaFiles(t) {
				data := mustRead(t, f)
				rep := e.mustImport(t, ingest.Source{URI: "urn:omnichart:source:synthea"}, filepath.Base(f), data)
				for _, u := range rep.Units {
					if u.Err != nil {
						t.Fatalf("Import(%s) failed: %v %v", filepath.Base(f), u.Err, u.Issues)
					}
				}
				fileWant := entryCounts(t, data)
				for _, typ := range []string{"Binary", "DocumentReference", "Provenance"} {
					fileWant[typ]++
				}
				if diff := cmp.Diff(fileWant, rep.Created()); diff != "" {
					t.Errorf("Import(%s) created per type differs from the bundle's entries (-want +got):\n%s", filepath.Base(f), diff)
				}
				for k, v := range fileWant {
					want[k] += v
				}
			}
			if diff := cmp.Diff(want, e.counts(t)); diff != "" {
				t.Errorf("stored resources per type (-want +got):\n%s", diff)
			}
			checkReferences(t, e.all(t))
		})
	}
}

func TestFailedDocumentLeavesOnlyAQuarantineEntryAndReplays(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testdata, "synthea-r4", "*.json.bz2"))
	if len(files) < 3 {
		ehrtest.MissingTestdata(t, "no Synthea data")
	}
	sort.Strings(files)
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			src := ingest.Source{URI: "urn:omnichart:source:synthea"}
			// A patient bundle before the organizations it refers to: its conditional
			// references match nothing, so the whole transaction fails.
			rep := e.mustImport(t, src, "patient.json.bz2", mustRead(t, files[2]))
			u := rep.Units[0]
			if u.Err == nil || ehr.ErrorCode(u.Err) != ehr.PreconditionFailed {
				t.Fatalf("Import(patient before organizations) error = %v, want precondition-failed", u.Err)
			}
			if u.Quarantine == "" {
				t.Fatalf("Import(patient before organizations) quarantine = empty, want a Task")
			}
			if got, want := e.counts(t), map[string]int{"Binary": 1, "Task": 1}; !cmp.Equal(got, want) {
				t.Fatalf("after a failed import the store holds %v, want %v", got, want)
			}
			list, err := e.im.Quarantined(e.ctx, false)
			if err != nil || len(list) != 1 {
				t.Fatalf("Quarantined() = %d entries, %v; want 1", len(list), err)
			}
			q := list[0]
			_, data, err := e.im.QuarantinedEntry(e.ctx, q.ID)
			if err != nil {
				t.Fatal(err)
			}
			plain, _ := ingest.Decompress(mustRead(t, files[2]))
			if string(data) != string(plain) {
				t.Errorf("QuarantinedEntry(%s) bytes differ from the original", q.ID)
			}
			if q.Attempts != 1 || q.Format != ingest.FormatFHIRBundle || q.Source != src.URI || q.Error == "" {
				t.Errorf("Quarantined()[0] = %+v, want 1 attempt, fhir-bundle, source %s and an error", q, src.URI)
			}
			// A second failure updates the entry.
			e.mustImport(t, src, "patient.json.bz2", mustRead(t, files[2]))
			if list, _ := e.im.Quarantined(e.ctx, false); len(list) != 1 || list[0].Attempts != 2 {
				t.Fatalf("after a second failure Quarantined() = %+v, want one entry with 2 attempts", list)
			}
			// Remove the cause, then replay.
			for _, f := range files[:2] {
				e.mustImport(t, src, filepath.Base(f), mustRead(t, f))
			}
			rep, err = e.im.Replay(e.ctx, nil, q.ID)
			if err != nil || rep.Failed() != 0 {
				t.Fatalf("Replay(%s) = %v, %d failed; want success", q.ID, err, rep.Failed())
			}
			if list, _ := e.im.Quarantined(e.ctx, false); len(list) != 0 {
				t.Errorf("after replay Quarantined() = %d entries, want 0", len(list))
			}
			all, _ := e.im.Quarantined(e.ctx, true)
			if len(all) != 1 || all[0].Status != "completed" || all[0].Original == "" {
				t.Errorf("after replay Quarantined(all) = %+v, want one completed entry naming the original", all)
			}
			checkReferences(t, e.all(t))
		})
	}
}

// checkProvenance checks that every resource of the source carries meta.source and
// is a target of a Provenance whose entity is the DocumentReference of an
// original, whose Binary holds one of originals exactly.
func checkProvenance(t *testing.T, e *env, sourceURI string, originals [][]byte) {
	t.Helper()
	recs := e.all(t)
	byRef := map[string]fhir.Resource{}
	for _, r := range recs {
		res, _ := fhir.Decode(r.Resource)
		byRef[r.Reference()] = res
	}
	targetOf := map[string]string{} // target -> DocumentReference
	for ref, res := range byRef {
		if !strings.HasPrefix(ref, "Provenance/") {
			continue
		}
		var doc string
		for _, en := range fhir.Array(res, "entity") {
			m, _ := en.(map[string]any)
			if fhir.String(m, "role") == "source" {
				doc = fhir.String(fhir.Object(m, "what"), "reference")
			}
		}
		if !strings.HasPrefix(doc, "DocumentReference/") {
			continue // a Provenance that came with the data
		}
		for _, tg := range fhir.Array(res, "target") {
			m, _ := tg.(map[string]any)
			targetOf[fhir.String(m, "reference")] = doc
		}
	}
	isOriginal := func(data []byte) bool {
		for _, o := range originals {
			// A file of several messages holds each message's original.
			if len(data) > 0 && bytes.Contains(o, data) {
				return true
			}
		}
		return false
	}
	for ref, res := range byRef {
		if got := fhir.String(fhir.Object(res, "meta"), "source"); got != sourceURI {
			t.Errorf("%s meta.source = %q, want %q", ref, got, sourceURI)
		}
		typ := strings.Split(ref, "/")[0]
		if typ == "Binary" || typ == "DocumentReference" && targetOf[ref] == "" || typ == "Provenance" && targetOf[ref] == "" {
			continue
		}
		doc := targetOf[ref]
		if doc == "" {
			t.Errorf("%s is the target of no Provenance of an original", ref)
			continue
		}
		att := fhir.Object(fhir.Array(byRef[doc], "content")[0].(map[string]any), "attachment")
		bin := byRef[fhir.String(att, "url")]
		data, err := base64.StdEncoding.DecodeString(fhir.String(bin, "data"))
		if err != nil || !isOriginal(data) {
			t.Errorf("%s: the Binary of %s does not hold an original's exact bytes", ref, doc)
		}
	}
}

func TestEveryImportedResourceHasSourceAndProvenanceToItsOriginal(t *testing.T) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			src := ingest.Source{URI: "urn:omnichart:source:lab"}
			var originals [][]byte
			for _, f := range []string{"hl7v2/testdata/oru_r01_cbc.hl7", "hl7v2/testdata/adt_a01.hl7", "hl7v2/testdata/vxu_v04.hl7"} {
				data := mustRead(t, f)
				rep := e.mustImport(t, src, filepath.Base(f), data)
				if rep.Failed() > 0 {
					t.Fatalf("Import(%s) failed: %v", f, rep.Units[0].Err)
				}
				originals = append(originals, data)
			}
			ccd := mustRead(t, filepath.Join(testdata, "ccda/chb-sample_ccdas/HL7 Samples/CCD.sample.xml"))
			if rep := e.mustImport(t, src, "CCD.sample.xml", ccd); rep.Failed() > 0 {
				t.Fatalf("Import(CCD.sample.xml) failed: %v", rep.Units[0].Err)
			}
			originals = append(originals, ccd)
			checkProvenance(t, e, src.URI, originals)
		})
	}
}

func TestImportingTheSameOriginalTwiceWritesItOnce(t *testing.T) {
	cases := []struct {
		name string
		path string
	}{
		{"a C-CDA document imported twice is written once", filepath.Join(testdata, "ccda/chb-sample_ccdas/HL7 Samples/CCD.sample.xml")},
		{"an HL7 v2 message file imported twice is written once", "hl7v2/testdata/oru_r01_cbc.hl7"},
		{"a Synthea bundle imported twice is written once", ""},
	}
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					e := newEnv(t, engine)
					path := c.path
					if path == "" {
						files, _ := filepath.Glob(filepath.Join(testdata, "synthea-r4", "0-hospital*.json.bz2"))
						if len(files) == 0 {
							ehrtest.MissingTestdata(t, "no Synthea data")
						}
						path = files[0]
					}
					data := mustRead(t, path)
					first := e.mustImport(t, ingest.Source{}, filepath.Base(path), data)
					if first.Failed() > 0 {
						t.Fatalf("first Import = %v", first.Units[0].Err)
					}
					before := e.counts(t)
					second := e.mustImport(t, ingest.Source{}, filepath.Base(path), data)
					if second.Duplicates() != len(second.Units) || second.Units[0].Original != first.Units[0].Original {
						t.Errorf("second Import: %d of %d duplicates, original %s; want all, %s", second.Duplicates(), len(second.Units), second.Units[0].Original, first.Units[0].Original)
					}
					if diff := cmp.Diff(before, e.counts(t)); diff != "" {
						t.Errorf("the second Import changed the store (-before +after):\n%s", diff)
					}
				})
			}
		})
	}
}

func TestMalformedInputIsQuarantinedAndWritesNothingElse(t *testing.T) {
	ccd := mustRead(t, filepath.Join(testdata, "ccda/chb-sample_ccdas/HL7 Samples/CCD.sample.xml"))
	oru := mustRead(t, "hl7v2/testdata/oru_r01_cbc.hl7")
	huge := append(append([]byte{}, oru[:strings.Index(string(oru), "\r")+1]...), []byte("PID|1||"+strings.Repeat("9", 70<<20)+"\r")...)
	cases := []struct {
		name   string
		data   []byte
		format ingest.Format
	}{
		{"truncated C-CDA XML", ccd[:len(ccd)/2], ""},
		{"an HL7 v2 message with wrong delimiters", []byte("MSH^~|\\&^APP^FAC^^^20240101||ADT^A01^ADT_A01^1^P^2.5.1\rPID^1\r"), ""},
		{"an HL7 v2 message of an unknown type", []byte(strings.Replace(string(oru), "ORU^R01", "ZZZ^Z99", 1)), ""},
		{"an HL7 v2 message missing its required segments", []byte(strings.FieldsFunc(string(oru), func(r rune) bool { return r == '\r' || r == '\n' })[0] + "\r"), ""},
		{"a JSON bundle that is cut off", []byte(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient"`), ""},
		{"a JSON resource that is not valid R4", []byte(`{"resourceType":"Patient","gender":42}`), ""},
		{"a JSON document in UTF-16 without a BOM", []byte("{\x00\"\x00r\x00"), ingest.FormatFHIRResource},
		{"an unknown resource type", []byte(`{"resourceType":"Spaceship"}`), ""},
		{"NDJSON with a broken line", []byte("{\"resourceType\":\"Patient\",\"id\":\"a\"}\n{\"resourceType\":\"Observation\",\n"), ingest.FormatNDJSON},
		{"bytes of no known format", []byte("\x00\x01\x02 not a health record"), ""},
		{"a huge HL7 v2 message", huge, ""},
		{"a corrupt bzip2 file", []byte("BZh91AY&SY garbage"), ""},
		{"a message bundle whose entries break a conditional reference", []byte(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient?identifier=urn:x|1"}}}]}`), ""},
	}
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					e := newEnv(t, engine)
					rep, err := e.im.Import(e.ctx, ingest.Source{URI: "urn:omnichart:source:x"}, ingest.Input{Name: "bad", Data: c.data, Format: c.format})
					if err != nil {
						t.Fatalf("Import = %v, want a quarantined unit", err)
					}
					u := rep.Units[0]
					if u.Err == nil {
						t.Fatalf("Import(%s) succeeded, want an error", c.name)
					}
					if msg := ingest.ErrorText(u.Err); msg == "" || len(msg) > 2000 {
						t.Errorf("ErrorText = %q, want a short clear message", msg)
					}
					if u.Quarantine == "" {
						t.Errorf("Import(%s) quarantine = empty, want a Task", c.name)
					}
					want := map[string]int{"Binary": 1, "Task": 1}
					if len(c.data) > ingest.DefaultMaxDocumentBytes {
						// An original over the document limit is not kept.
						want = map[string]int{"Task": 1}
					}
					if got := e.counts(t); !cmp.Equal(got, want) {
						t.Errorf("the store holds %v, want only %v", got, want)
					}
				})
			}
		})
	}
}

func TestDetectTellsFormatsByContent(t *testing.T) {
	cases := []struct {
		name string
		data string
		file string
		want ingest.Format
	}{
		{"a transaction bundle", `{"resourceType":"Bundle","type":"transaction"}`, "x.txt", ingest.FormatFHIRBundle},
		{"a pretty-printed resource", "{\n  \"resourceType\": \"Patient\"\n}\n", "p.json", ingest.FormatFHIRResource},
		{"NDJSON lines", "{\"resourceType\":\"Patient\"}\n{\"resourceType\":\"Patient\"}\n", "p.json", ingest.FormatNDJSON},
		{"one NDJSON line named .ndjson", "{\"resourceType\":\"Patient\"}\n", "p.ndjson", ingest.FormatNDJSON},
		{"a C-CDA with a BOM and prolog", "\xef\xbb\xbf<?xml version=\"1.0\"?>\n<!-- x -->\n<ClinicalDocument xmlns=\"urn:hl7-org:v3\">", "doc.txt", ingest.FormatCCDA},
		{"a C-CDA in UTF-16", "\xff\xfe<\x00C\x00l\x00i\x00n\x00i\x00c\x00a\x00l\x00D\x00o\x00c\x00u\x00m\x00e\x00n\x00t\x00>\x00", "doc.xml", ingest.FormatCCDA},
		{"an HL7 v2 message", "MSH|^~\\&|A|B\r", "m.dat", ingest.FormatHL7v2},
		{"an HL7 v2 batch", "FHS|^~\\&\rBHS|^~\\&\rMSH|^~\\&\r", "m.txt", ingest.FormatHL7v2},
		{"other XML", "<html></html>", "x.xml", ingest.FormatUnknown},
		{"text", "hello", "README.md", ingest.FormatUnknown},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ingest.Detect([]byte(c.data), c.file); got != c.want {
				t.Errorf("Detect(%q) = %s, want %s", c.name, got, c.want)
			}
		})
	}
}

func TestNDJSONKeepsReferencesAcrossChunks(t *testing.T) {
	var lines []string
	lines = append(lines, `{"resourceType":"Patient","id":"p1","gender":"female"}`)
	for i := range 25 {
		lines = append(lines, fmt.Sprintf(`{"resourceType":"Observation","id":"o%d","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`, i))
	}
	data := []byte(strings.Join(lines, "\n") + "\n")
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			svc := service.New(st, service.Options{})
			im := ingest.New(ingest.ServiceTarget{Service: svc}, ingest.Options{ChunkLines: 10})
			e := &env{svc: svc, im: im, ctx: context.Background()}
			rep := e.mustImport(t, ingest.Source{URI: "urn:omnichart:source:bulk"}, "export.ndjson", data)
			if len(rep.Units) != 3 || rep.Failed() != 0 {
				t.Fatalf("Import(NDJSON of 26 lines by 10) = %d units, %d failed; want 3, 0", len(rep.Units), rep.Failed())
			}
			got := e.counts(t)
			if got["Patient"] != 1 || got["Observation"] != 25 || got["Provenance"] != 3 {
				t.Errorf("stored %v, want 1 Patient, 25 Observations, 3 Provenances", got)
			}
			checkReferences(t, e.all(t))
			// The same data again, in other chunks, is the same resources.
			im2 := ingest.New(ingest.ServiceTarget{Service: svc}, ingest.Options{ChunkLines: 7})
			if _, err := im2.Import(context.Background(), ingest.Source{URI: "urn:omnichart:source:bulk"}, ingest.Input{Name: "export.ndjson", Data: data}); err != nil {
				t.Fatal(err)
			}
			if got := e.counts(t); got["Patient"] != 1 || got["Observation"] != 25 {
				t.Errorf("after re-chunked re-import stored %v, want still 1 Patient and 25 Observations", got)
			}
		})
	}
}

// TestConcurrentImportsOfTheSameOriginalWriteItOnce imports one message from several
// goroutines at once: the duplicate check before converting cannot see the others'
// uncommitted work, so the write itself must be conditional.
func TestConcurrentImportsOfTheSameOriginalWriteItOnce(t *testing.T) {
	data := mustRead(t, "hl7v2/testdata/oru_r01_cbc.hl7")
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				ehrtest.PostgresURL(t)
			}
			once := newEnv(t, engine)
			once.mustImport(t, ingest.Source{}, "oru.hl7", data)
			want := once.counts(t)

			e := newEnv(t, engine)
			const n = 4
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := e.im.Import(e.ctx, ingest.Source{}, ingest.Input{Name: "oru.hl7", Data: data}); err != nil {
						t.Errorf("Import: %v", err)
					}
				}()
			}
			wg.Wait()
			if diff := cmp.Diff(want, e.counts(t)); diff != "" {
				t.Errorf("%d concurrent imports of one message wrote more than one import does (-once +concurrent):\n%s", n, diff)
			}
		})
	}
}

// TestPartlyFailedBatchReplaysOnlyItsFailedEntries imports a batch whose middle
// entry refers to an organization that does not exist yet, then replays it after the
// organization arrives: the failed entry is written and the others are not written
// again.
func TestPartlyFailedBatchReplaysOnlyItsFailedEntries(t *testing.T) {
	batch := []byte(`{"resourceType":"Bundle","type":"batch","entry":[
	 {"resource":{"resourceType":"Patient","name":[{"family":"First"}]},"request":{"method":"POST","url":"Patient"}},
	 {"resource":{"resourceType":"Patient","name":[{"family":"Second"}],"managingOrganization":{"reference":"Organization?identifier=http://npi.example|77"}},"request":{"method":"POST","url":"Patient"}},
	 {"resource":{"resourceType":"Patient","name":[{"family":"Third"}]},"request":{"method":"POST","url":"Patient"}}]}`)
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				ehrtest.PostgresURL(t)
			}
			e := newEnv(t, engine)
			rep := e.mustImport(t, ingest.Source{}, "batch.json", batch)
			u := rep.Units[0]
			if u.Err == nil || len(u.FailedEntries) != 1 || u.FailedEntries[0] != 1 {
				t.Fatalf("Import(batch) = %v, failed entries %v; want entry 1 failed", u.Err, u.FailedEntries)
			}
			if got := e.counts(t)["Patient"]; got != 2 {
				t.Fatalf("after the partial batch there are %d patients, want 2", got)
			}
			list, err := e.im.Quarantined(e.ctx, false)
			if err != nil || len(list) != 1 || fmt.Sprint(list[0].FailedEntries) != "[1]" {
				t.Fatalf("Quarantined() = %+v, %v; want one entry with failed entries [1]", list, err)
			}
			org := []byte(`{"resourceType":"Organization","identifier":[{"system":"http://npi.example","value":"77"}],"name":"Clinic"}`)
			e.mustImport(t, ingest.Source{}, "org.json", org)
			rep, err = e.im.Replay(e.ctx, nil, list[0].ID)
			if err != nil || rep.Failed() != 0 {
				t.Fatalf("Replay = %v, %d failed; want success", err, rep.Failed())
			}
			if got := e.counts(t)["Patient"]; got != 3 {
				t.Errorf("after the replay there are %d patients, want 3 (the failed one added, none duplicated)", got)
			}
			if list, _ := e.im.Quarantined(e.ctx, false); len(list) != 0 {
				t.Errorf("after a successful replay %d quarantine entries are open, want 0", len(list))
			}
			// Importing the file again now finds nothing left to do.
			again := e.mustImport(t, ingest.Source{}, "batch.json", batch)
			if !again.Units[0].Duplicate || e.counts(t)["Patient"] != 3 {
				t.Errorf("re-import after the replay: duplicate %v, %d patients; want a duplicate and 3", again.Units[0].Duplicate, e.counts(t)["Patient"])
			}
		})
	}
}

package ingest_test

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
	"omnichart/internal/ingest"
)

// emergePatient is what a test reads from a C-CDA header by plain pattern
// matching, independently of the converter: the recordTarget's first given name,
// family name and birth date.
type emergePatient struct {
	given, family, birth string
}

var (
	ccdaGiven  = regexp.MustCompile(`(?s)<patient>.*?<given[^>]*>([^<]+)</given>`)
	ccdaFamily = regexp.MustCompile(`(?s)<patient>.*?<family[^>]*>([^<]+)</family>`)
	ccdaBirth  = regexp.MustCompile(`(?s)<patient>.*?<birthTime value="(\d{8})`)
)

func readEmergePatient(t *testing.T, data []byte) emergePatient {
	t.Helper()
	g, f, b := ccdaGiven.FindSubmatch(data), ccdaFamily.FindSubmatch(data), ccdaBirth.FindSubmatch(data)
	if g == nil || f == nil || b == nil {
		t.Fatalf("the document's recordTarget has no given name, family name or birth time")
	}
	d := string(b[1])
	return emergePatient{given: strings.TrimSpace(string(g[1])), family: strings.TrimSpace(string(f[1])), birth: d[:4] + "-" + d[4:6] + "-" + d[6:]}
}

// TestEMERGEDocumentsStayApart imports the sixty EMERGE documents, which share
// one MRN and one SSN but describe sixty people, as one source: each person must
// get a Patient of their own holding exactly their own document's entries, and
// the identity conflicts must be listed for review.
func TestEMERGEDocumentsStayApart(t *testing.T) {
	dir := ehrtest.SharedTestdata(t, "ccda", "chb-sample_ccdas", "EMERGE")
	files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil || len(files) < 60 {
		t.Fatalf("EMERGE documents: %d found, %v; want 60", len(files), err)
	}
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			src := ingest.Source{URI: "urn:omnichart:source:emerge"}
			want := map[string]emergePatient{} // DocumentReference -> person
			conflictUnits := 0
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				rep := e.mustImport(t, src, filepath.Base(f), data)
				if len(rep.Units) != 1 || rep.Units[0].Err != nil || rep.Units[0].Original == "" {
					t.Fatalf("Import(%s) = %+v, want one imported unit", filepath.Base(f), rep.Units[0])
				}
				u := rep.Units[0]
				want[u.Original] = readEmergePatient(t, data)
				if len(u.Conflicts) > 0 {
					conflictUnits++
					if !hasConflictIssue(u.Issues) {
						t.Errorf("Import(%s) raised %v but its issues do not say so", filepath.Base(f), u.Conflicts)
					}
				}
			}
			recs := e.all(t)
			byRef := map[string]map[string]any{}
			for _, r := range recs {
				res, err := fhir.Decode(r.Resource)
				if err != nil {
					t.Fatal(err)
				}
				byRef[r.Reference()] = res
			}
			patients := 0
			for _, r := range recs {
				if r.Type == "Patient" {
					patients++
				}
			}
			if patients != 60 {
				t.Fatalf("sixty EMERGE documents made %d Patients, want 60", patients)
			}
			// Each document's Patient is its own person, and the Patients differ.
			patientOf := map[string]string{} // DocumentReference -> Patient
			seen := map[string]string{}
			for doc, p := range want {
				subject := fhir.String(fhir.Object(byRef[doc], "subject"), "reference")
				pat := byRef[subject]
				if pat == nil {
					t.Fatalf("%s has subject %q, which is not stored", doc, subject)
				}
				if other, dup := seen[subject]; dup {
					t.Errorf("%s and %s share %s", doc, other, subject)
				}
				seen[subject] = doc
				patientOf[doc] = subject
				name, _ := fhir.Array(pat, "name")[0].(map[string]any)
				given, _ := fhir.Array(name, "given")[0].(string)
				if got := fhir.String(pat, "birthDate"); got != p.birth || fhir.String(name, "family") != p.family || given != p.given {
					t.Errorf("%s of %s = %s %s born %s, want %s %s born %s", subject, doc, given, fhir.String(name, "family"), got, p.given, p.family, p.birth)
				}
			}
			// Every clinical resource in a Patient's compartment came from that
			// Patient's document: it is a target of the document's Provenance.
			fromDoc := map[string]string{} // resource -> DocumentReference
			for ref, res := range byRef {
				if !strings.HasPrefix(ref, "Provenance/") {
					continue
				}
				var doc string
				for _, en := range fhir.Array(res, "entity") {
					doc = fhir.String(fhir.Object(en.(map[string]any), "what"), "reference")
				}
				for _, tg := range fhir.Array(res, "target") {
					fromDoc[fhir.String(tg.(map[string]any), "reference")] = doc
				}
			}
			clinical := 0
			for _, r := range recs {
				switch r.Type {
				case "Patient", "Provenance", "DocumentReference", "Binary", "Task":
					continue
				}
				if !strings.HasPrefix(r.Compartment, "Patient/") {
					continue
				}
				clinical++
				doc := fromDoc[r.Reference()]
				if doc == "" || patientOf[doc] != r.Compartment {
					t.Errorf("%s is in %s's compartment but came from %q, whose patient is %s", r.Reference(), r.Compartment, doc, patientOf[doc])
				}
			}
			if clinical < 60 {
				t.Errorf("only %d clinical resources in patient compartments; the documents hold more", clinical)
			}
			// The conflicts are listed for review as Tasks.
			tasks, err := ingest.ServiceTarget{Service: e.svc}.Search(e.ctx, "Task", "code=urn:omnichart:task|identity-conflict", 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(tasks) != 59 || conflictUnits != 59 {
				t.Errorf("identity-conflict tasks = %d, reported by %d imports; want 59 each (every document after the first)", len(tasks), conflictUnits)
			}
		})
	}
}

func hasConflictIssue(issues []fhir.Issue) bool {
	for _, is := range issues {
		if is.Code == "conflict" && strings.Contains(is.Diagnostics, "identity conflict") {
			return true
		}
	}
	return false
}

// TestSourcesKeepTheirOwnRecords imports one C-CDA document as two sources and an
// HL7 v2 ADT as both: each source gets its own Patient and records, and nothing
// one source sends changes the other's.
func TestSourcesKeepTheirOwnRecords(t *testing.T) {
	doc := mustRead(t, filepath.Join(ehrtest.SharedTestdata(t, "ccda", "chb-sample_ccdas", "EMERGE"), "Patient-0.xml"))
	adt := mustRead(t, filepath.Join(ehrtest.SharedTestdata(t, "hl7v2", "ms-fhir-converter"), "ADT-A08-02.hl7"))
	a := ingest.Source{URI: "urn:omnichart:source:a"}
	b := ingest.Source{URI: "urn:omnichart:source:b"}
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			ra := e.mustImport(t, a, "doc.xml", doc)
			rb := e.mustImport(t, b, "doc.xml", doc)
			if ra.Units[0].Err != nil || rb.Units[0].Err != nil {
				t.Fatalf("imports failed: %v / %v", ra.Units[0].Err, rb.Units[0].Err)
			}
			if rb.Units[0].Duplicate {
				t.Fatalf("the same document from a second source was taken as already imported")
			}
			owners := map[string][]string{} // source -> Patients
			for _, r := range e.all(t) {
				if r.Type == "Patient" {
					owners[r.Source] = append(owners[r.Source], r.ID)
				}
				if r.Compartment != "" && strings.HasPrefix(r.Compartment, "Patient/") && r.Type != "Patient" {
					pid := strings.TrimPrefix(r.Compartment, "Patient/")
					p, err := e.svc.Read(e.ctx, "Patient", pid)
					if err != nil {
						continue // a reference to a patient the document names but does not carry
					}
					if p.Source != r.Source {
						t.Errorf("%s of %s is in the compartment of a Patient of %s", r.Reference(), r.Source, p.Source)
					}
				}
			}
			if len(owners[a.URI]) != 1 || len(owners[b.URI]) != 1 {
				t.Fatalf("Patients by source = %v, want one each for %s and %s", owners, a.URI, b.URI)
			}
			before, err := e.svc.Read(e.ctx, "Patient", owners[a.URI][0])
			if err != nil {
				t.Fatal(err)
			}
			// The ADT, first from A, then twice from B with other content: B's
			// conditional update must never reach A's Patient.
			e.mustImport(t, a, "adt.hl7", adt)
			afterA := patientsOf(t, e, a.URI)
			e.mustImport(t, b, "adt.hl7", adt)
			// Other bytes under the same message key: a later message, not a
			// re-delivery.
			changed := append(append([]byte{}, adt...), '\r')
			e.mustImport(t, b, "adt2.hl7", changed)
			if got := patientsOf(t, e, a.URI); !equalVersions(got, afterA) {
				t.Errorf("A's Patients changed after B's ADT: before %v, after %v", afterA, got)
			}
			still, err := e.svc.Read(e.ctx, "Patient", before.ID)
			if err != nil || still.Version != before.Version || still.Source != a.URI {
				t.Errorf("A's document Patient after B's writes = v%d of %q (%v), want v%d of %q", still.Version, still.Source, err, before.Version, a.URI)
			}
		})
	}
}

// patientsOf returns "id@version" of each Patient owned by source.
func patientsOf(t *testing.T, e *env, source string) []string {
	t.Helper()
	var out []string
	for _, r := range e.all(t) {
		if r.Type == "Patient" && r.Source == source {
			out = append(out, r.ID+"@"+strconv.FormatInt(r.Version, 10))
		}
	}
	sort.Strings(out)
	return out
}

func equalVersions(a, b []string) bool {
	return strings.Join(a, ",") == strings.Join(b, ",")
}

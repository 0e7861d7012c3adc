package mpi_test

import (
	"strings"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
	"omnichart/internal/ingest"
	"omnichart/internal/mpi"
)

const mergeSystem = "2.16.840.1.113883.19.5"

func adt(control, event, segments string) []byte {
	return []byte("MSH|^~\\&|A|F|B|G|20240101120000+0000||ADT^" + event + "|" + control + "|P|2.5.1\r" + segments)
}

func pid(mrn, name, birth, sex string) string {
	return "PID|1||" + mrn + "^^^MYEHR&" + mergeSystem + "&ISO^MR||" + name + "||" + birth + "|" + sex + "\r"
}

// patientByMRN returns the id of the source's Patient with an MRN.
func (f *fixture) patientByMRN(t *testing.T, mrn string) string {
	t.Helper()
	q, err := search.ParseString("Patient", "identifier=urn:oid:"+mergeSystem+"|"+mrn)
	if err != nil {
		t.Fatal(err)
	}
	page, err := f.svc.Search(system, q)
	if err != nil || len(page.Records) != 1 {
		t.Fatalf("Patient with MRN %s: %d found, %v", mrn, len(page.Records), err)
	}
	return page.Records[0].ID
}

// TestMergeFromTheSourceLinksThroughIngest: an ADT^A40 that merges two of a
// source's records, imported through the pipeline, makes them one person as
// the source's decision, recorded as such; a person's earlier decision on
// the pair would stand.
func TestMergeFromTheSourceLinksThroughIngest(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			f := newFixture(t, engine)
			im := ingest.New(ingest.ServiceTarget{Service: f.svc}, ingest.Options{})
			src := ingest.Source{Slug: "st-marys", URI: "urn:omnichart:source:st-marys", Name: "St. Mary's"}
			for i, msg := range [][]byte{
				adt("C1", "A04^ADT_A01", pid("1001", "Doe^Jane", "19800101", "F")+"PV1|1|O\r"),
				adt("C2", "A04^ADT_A01", pid("1002", "Smith^Robert", "19550505", "M")+"PV1|1|O\r"),
			} {
				if _, err := im.Import(system, src, ingest.Input{Name: "adt.hl7", Data: msg}); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
			}
			jane, robert := f.patientByMRN(t, "1001"), f.patientByMRN(t, "1002")
			if l := f.links(t); l[jane].person == l[robert].person {
				t.Fatal("two different people share a Person before the merge")
			}
			merge := adt("C3", "A40^ADT_A39", pid("1001", "Doe^Jane", "19800101", "F")+
				"MRG|1002^^^MYEHR&"+mergeSystem+"&ISO^MR\r")
			rep, err := im.Import(system, src, ingest.Input{Name: "merge.hl7", Data: merge})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range rep.Units {
				if u.Err != nil {
					t.Fatalf("merge unit: %v", u.Err)
				}
			}
			l := f.links(t)
			if l[jane].person != l[robert].person {
				t.Fatalf("after ADT^A40: %v and %v, want one Person", l[jane], l[robert])
			}
			if l[jane].assurance != "level3" {
				t.Errorf("a source's merge has assurance %s, want level3 (no person here confirmed it)", l[jane].assurance)
			}
			task := taskAbout(f.tasks(t, mpi.ReviewCode, "completed"), jane, robert)
			if task == nil {
				t.Fatal("no completed task records the source's decision")
			}
			body := string(mustJSON(t, task))
			if !strings.Contains(body, `"source"`) || !strings.Contains(body, src.URI) {
				t.Errorf("the decision task does not say the source decided: %s", body)
			}
			// The decision is a decision: undoing it is a person's business,
			// and a rematch keeps it.
			f.restart(t)
			if l := f.links(t); l[jane].person != l[robert].person {
				t.Error("the source's merge did not survive a restart")
			}
			reviewer := ehr.WithPrincipal(system, ehr.Principal{Subject: "user/him"})
			if _, err := f.m.Load().Decide(reviewer, fhir.String(task, "id"), mpi.VerdictUndo, "merged in error at the desk"); err != nil {
				t.Fatal(err)
			}
			if l := f.links(t); l[jane].person == l[robert].person {
				t.Error("after undoing the merge the records are still one Person")
			}
			// The source sends the merged record again: the person's undo stands.
			again := adt("C4", "A08^ADT_A01", pid("1002", "Smith^Robert", "19550505", "M")+"PV1|1|O\r")
			if _, err := im.Import(system, src, ingest.Input{Name: "update.hl7", Data: again}); err != nil {
				t.Fatal(err)
			}
			f.restart(t)
			if l := f.links(t); l[jane].person == l[robert].person {
				t.Error("a later message from the source overrode the person's undo")
			}
		})
	}
}

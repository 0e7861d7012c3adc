package storetest

import (
	"strings"
	"testing"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/service"
)

// The consent suite adds Consents to the access-scope fixture (see scope.go) and
// checks what callers of named organizations see, with expectations worked out by
// hand from the Consent rules in docs/security.md:
//
//	c1  by B, patient pb1: permit organization north             → north sees Patient/pb1's compartment
//	c2  by B, patient pb2: policy OPTIN, deny organization north → every organization but north sees pb2's
//	c3  by A, patient pb1: permit organization west              → nothing: A is not pb1's custodian
//	c4  by B, patient pb1: permit east, period ended in 2001     → nothing
//	c5  by B, patient pb1: permit south, status inactive         → nothing
//
// Patient/pb1's compartment holds pb1, ob1, ob2, eb1, oax (source A's) and the
// Consents c1, c3, c4, c5; Patient/pb2's holds pb2, ob3, ob4, eb2 and c2.

const orgSystem = "urn:omnichart:organization"

func consent(id, patient, status string, optIn bool, provision map[string]any) map[string]any {
	c := map[string]any{
		"resourceType": "Consent", "id": id, "status": status,
		"scope": map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}}},
		"category":  []any{map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "59284-0"}}}},
		"patient":   map[string]any{"reference": "Patient/" + patient},
		"provision": provision,
	}
	if optIn {
		c["policyRule"] = map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}}}
	}
	return c
}

func orgActor(org string) []any {
	return []any{map[string]any{
		"role":      map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}}},
		"reference": map[string]any{"identifier": map[string]any{"system": orgSystem, "value": org}},
	}}
}

func consentFixture() []scopeItem {
	return []scopeItem{
		{sourceB, consent("c1", "pb1", "active", false, map[string]any{"type": "permit", "actor": orgActor("north")})},
		{sourceB, consent("c2", "pb2", "active", true, map[string]any{"type": "deny", "actor": orgActor("north")})},
		{sourceA, consent("c3", "pb1", "active", false, map[string]any{"type": "permit", "actor": orgActor("west")})},
		{sourceB, consent("c4", "pb1", "active", false, map[string]any{"type": "permit", "actor": orgActor("east"),
			"period": map[string]any{"start": "2000-01-01", "end": "2001-01-01"}})},
		{sourceB, consent("c5", "pb1", "inactive", false, map[string]any{"type": "permit", "actor": orgActor("south")})},
	}
}

func loadConsents(t *testing.T, s ehr.ResourceStore, items []scopeItem) {
	t.Helper()
	svc := service.New(s, service.Options{})
	for _, it := range items {
		if _, _, err := svc.Update(sourceContext(it.source), it.typ(), it.id(), it.res, 0); err != nil {
			t.Fatalf("Update(%s/%s): %v", it.typ(), it.id(), err)
		}
	}
}

// orgScope is the scope of a user of org whose own sources are sources.
func orgScope(org, user string, at time.Time, sources ...string) ehr.Scope {
	return ehr.Scope{Sources: append([]string{}, sources...), Openings: &ehr.Openings{Org: org, User: user, At: at.UnixMicro()}}
}

func searchIDs(t *testing.T, s ehr.ResourceStore, scope ehr.Scope, typ, query string) []string {
	t.Helper()
	svc := scopedService(s, scopeCaller{scope: scope})
	page, err := runScoped(t, svc, typ, query, "")
	if err != nil {
		t.Fatalf("Search(%s?%s) = %v", typ, query, err)
	}
	var ids []string
	for _, r := range page.Records {
		ids = append(ids, r.ID)
	}
	return ids
}

func testConsentOpenings(t *testing.T, s ehr.ResourceStore) {
	loadScopeFixture(t, s)
	loadConsents(t, s, consentFixture())
	now := time.Now()
	tests := []struct {
		name  string
		scope ehr.Scope
		typ   string
		query string
		want  string
	}{
		{"north sees its own source's Observations and those of the patient whose custodian permits it", orgScope("north", "n1", now, sourceA),
			"Observation", "", "oa1,oa2,oa3,oa4,oa5,oax,ob1,ob2"},
		{"north's Patients: its own and pb1, not pb2 whose Consent denies north by name", orgScope("north", "n1", now, sourceA),
			"Patient", "", "pa1,pa2,pb1"},
		{"south, with no source of its own, sees pb2 (opted in for every organization) and not pb1 (its Consent is inactive)", orgScope("south", "s1", now),
			"Patient", "", "pb2"},
		{"south sees pb2's whole compartment", orgScope("south", "s1", now),
			"Observation", "", "ob3,ob4"},
		{"west gains nothing from a Consent written by a source that is not the patient's custodian", orgScope("west", "w1", now),
			"Patient", "", "pb2"},
		{"east gains nothing from a Consent whose period has ended", orgScope("east", "e1", now),
			"Observation", "", "ob3,ob4"},
		{"openings do not reach shared resources outside the patient's compartment", orgScope("north", "n1", now),
			"Practitioner", "", ""},
		{"a chain through an opened Patient finds its records", orgScope("north", "n1", now),
			"Observation", "subject:Patient.family=Birch", "ob1,ob2,oax"},
		{"_has through a hidden record finds nothing", orgScope("north", "n1", now),
			"Patient", "_has:Observation:subject:code=" + loinc + "|" + heartRate, "pb1"},
		{"a patient context is not widened by openings", ehr.Scope{Compartments: []string{"Patient/pa1"}, Shared: true,
			Openings: &ehr.Openings{Org: "north", User: "n1", At: now.UnixMicro()}}, "Observation", "", "oa1,oa2,oa3"},
		{"read sources add another source's records for reading", ehr.Scope{Sources: []string{sourceA}, ReadSources: []string{sourceB}},
			"Patient", "", "pa1,pa2,pb1,pb2"},
		{"read sources alone show that source's records, shared ones included", ehr.Scope{Sources: []string{}, ReadSources: []string{sourceB}},
			"Practitioner", "", "drb"},
		{"a type-limited scope keeps its types with openings", ehr.Scope{Types: []string{"Encounter"}, Sources: []string{},
			Openings: &ehr.Openings{Org: "north", User: "n1", At: now.UnixMicro()}}, "Observation", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := searchIDs(t, s, tt.scope, tt.typ, tt.query)
			if sortedIDs(got) != sortedIDs(splitIDs(tt.want)) {
				t.Errorf("Search(%s?%s) = %v, want %s", tt.typ, tt.query, sortedIDs(got), sortedIDs(splitIDs(tt.want)))
			}
		})
	}

	t.Run("counts, reads and writes follow the openings", func(t *testing.T) {
		north := orgScope("north", "n1", now, sourceA)
		svc := scopedService(s, scopeCaller{scope: north})
		page, err := runScoped(t, svc, "Observation", "_summary=count", "")
		if err != nil || page.Total != 8 {
			t.Errorf("Search(Observation?_summary=count) = %v, %v; want 8", page, err)
		}
		if _, err := svc.Read(ctx, "Observation", "ob1"); err != nil {
			t.Errorf("Read(Observation/ob1) = %v, want it (pb1's Consent permits north)", err)
		}
		wantCode(t, "Read(Observation/ob3)", func() error { _, err := svc.Read(ctx, "Observation", "ob3"); return err }(), ehr.NotFound)
		ob1 := scopeObservation("ob1", "pb1", glucose, "2020-02-01", "96")
		_, _, err = svc.Update(sourceContext(sourceA), "Observation", "ob1", ob1, 0)
		wantCode(t, "Update(Observation/ob1) by north's source", err, ehr.Forbidden)
		history, err := svc.History(ctx, ehr.HistoryQuery{Type: "Patient", ID: "pb1"})
		if err != nil || len(history.Records) != 2 {
			t.Errorf("History(Patient/pb1) = %v, %v; want its 2 versions", history, err)
		}
	})

	t.Run("read sources are never written", func(t *testing.T) {
		svc := scopedService(s, scopeCaller{scope: ehr.Scope{Sources: []string{}, ReadSources: []string{sourceB}}})
		_, _, err := svc.Update(ctx, "Observation", "ob1", scopeObservation("ob1", "pb1", glucose, "2020-02-01", "97"), 0)
		wantCode(t, "Update(Observation/ob1) under read-only sources", err, ehr.Forbidden)
		pb9 := scopePatient("pb9", "Bay", "Eve", "female", "1990-01-01", "mrn-b9", "", "")
		pb9["meta"] = map[string]any{"source": sourceB}
		_, _, err = svc.Create(ctx, pb9, "")
		wantCode(t, "Create(Patient claiming source B) under read-only sources", err, ehr.Forbidden)
	})

	t.Run("a Consent made inactive or deleted closes at once", func(t *testing.T) {
		loadConsents(t, s, []scopeItem{{sourceB, consent("c1", "pb1", "inactive", false, map[string]any{"type": "permit", "actor": orgActor("north")})}})
		if got := searchIDs(t, s, orgScope("north", "n1", time.Now(), sourceA), "Patient", ""); sortedIDs(got) != "pa1,pa2" {
			t.Errorf("north's Patients after c1 became inactive = %v, want pa1,pa2", got)
		}
		svc := service.New(s, service.Options{})
		if _, err := svc.Delete(sourceContext(sourceB), "Consent", "c2", 0); err != nil {
			t.Fatalf("Delete(Consent/c2): %v", err)
		}
		if got := searchIDs(t, s, orgScope("south", "s1", time.Now()), "Patient", ""); len(got) != 0 {
			t.Errorf("south's Patients after c2 was deleted = %v, want none", got)
		}
	})

	t.Run("a Consent that arrives before its Patient counts once the Patient arrives, and closes with its deletion", func(t *testing.T) {
		north := orgScope("north", "n1", time.Now(), sourceA)
		ob9 := scopeObservation("ob9", "pb9", glucose, "2021-03-01", "101")
		loadConsents(t, s, []scopeItem{
			{sourceB, consent("c9", "pb9", "active", false, map[string]any{"type": "permit", "actor": orgActor("north")})},
			{sourceB, ob9},
		})
		if got := searchIDs(t, s, north, "Observation", "subject=Patient/pb9"); len(got) != 0 {
			t.Errorf("north sees %v before pb9's custodian is known, want nothing", got)
		}
		loadConsents(t, s, []scopeItem{{sourceB, scopePatient("pb9", "Ash", "Ivy", "female", "1970-05-05", "mrn-b9x", "", "")}})
		if got := searchIDs(t, s, north, "Observation", "subject=Patient/pb9"); sortedIDs(got) != "ob9" {
			t.Errorf("north's Observations of pb9 once its Patient arrived = %v, want ob9", got)
		}
		svc := service.New(s, service.Options{})
		if _, err := svc.Delete(sourceContext(sourceB), "Patient", "pb9", 0); err != nil {
			t.Fatalf("Delete(Patient/pb9): %v", err)
		}
		if got := searchIDs(t, s, north, "Observation", "subject=Patient/pb9"); len(got) != 0 {
			t.Errorf("north sees %v after pb9 was deleted, want nothing", got)
		}
	})

	t.Run("break-the-glass opens to its user only, until it closes, and stays in the report", func(t *testing.T) {
		access, ok := s.(ehr.EmergencyAccess)
		if !ok {
			t.Fatalf("%T keeps no emergency accesses", s)
		}
		opened := time.Now().Add(-time.Minute)
		b, err := access.BreakGlass(ctx, ehr.BreakGlass{User: "n1", Patient: "Patient/pb2", Reason: "unconscious in the emergency room",
			Compartments: []string{"Patient/pb2"}, Opens: opened, Closes: opened.Add(time.Hour)})
		if err != nil {
			t.Fatalf("BreakGlass: %v", err)
		}
		if got := searchIDs(t, s, orgScope("north", "n1", time.Now(), sourceA), "Patient", ""); sortedIDs(got) != "pa1,pa2,pb2" {
			t.Errorf("n1's Patients during the access = %v, want pa1,pa2,pb2", got)
		}
		if got := searchIDs(t, s, orgScope("north", "n2", time.Now(), sourceA), "Patient", ""); sortedIDs(got) != "pa1,pa2" {
			t.Errorf("another north user's Patients = %v, want pa1,pa2", got)
		}
		if got := searchIDs(t, s, orgScope("north", "n1", opened.Add(2*time.Hour), sourceA), "Patient", ""); sortedIDs(got) != "pa1,pa2" {
			t.Errorf("n1's Patients after the access closed = %v, want pa1,pa2", got)
		}
		report, err := access.BreakGlassReport(ctx, opened.Add(-time.Second))
		if err != nil || len(report) != 1 || report[0].ID != b.ID || report[0].User != "n1" || report[0].Patient != "Patient/pb2" ||
			report[0].Reason != "unconscious in the emergency room" || strings.Join(report[0].Compartments, ",") != "Patient/pb2" {
			t.Errorf("BreakGlassReport = %+v, %v; want the one access", report, err)
		}
		if _, err := access.BreakGlass(ctx, ehr.BreakGlass{User: "n1", Compartments: []string{"Patient/pb2"}, Opens: opened, Closes: opened.Add(time.Hour)}); ehr.ErrorCode(err) != ehr.Invalid {
			t.Errorf("BreakGlass without a reason = %v, want Invalid", err)
		}
	})
}

func splitIDs(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

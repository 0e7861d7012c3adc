package storetest

import (
	"testing"

	"omnichart/internal/ehr"
)

// testScopeRestrictions checks SMART v2 search-parameter restrictions
// (ehr.Scope.Restricted) on the access-scope fixture (scope.go): a caller of
// source A restricted to glucose Observations sees oa1, oa2 and oa4 of A's six,
// wherever Observations are reached by a search; paths that cannot evaluate the
// restriction (history, version reads, includes) leave Observations out.
func testScopeRestrictions(t *testing.T, s ehr.ResourceStore) {
	loadScopeFixture(t, s)
	glucoseOnly := ehr.Scope{Sources: []string{sourceA}, Restricted: map[string][]string{"Observation": {"code=" + loinc + "|" + glucose}}}
	either := ehr.Scope{Sources: []string{sourceA}, Restricted: map[string][]string{"Observation": {"code=" + loinc + "|" + glucose, "code=" + loinc + "|" + heartRate}}}
	both := ehr.Scope{Sources: []string{sourceA}, Restricted: map[string][]string{"Observation": {"code=" + loinc + "|" + glucose + "&date=ge2021"}}}
	tests := []struct {
		name  string
		scope ehr.Scope
		typ   string
		query string
		want  string
	}{
		{"a search finds only the Observations the restriction matches", glucoseOnly, "Observation", "", "oa1,oa2,oa4"},
		{"a search's own parameters combine with the restriction", glucoseOnly, "Observation", "subject=Patient/pa1", "oa1,oa2"},
		{"two restricted scopes of one type are alternatives", either, "Observation", "", "oa1,oa2,oa3,oa4,oa5"},
		{"the parameters of one restriction all hold", both, "Observation", "", "oa2"},
		{"_has finds no Patient through a hidden Observation", glucoseOnly, "Patient", "_has:Observation:subject:code=" + loinc + "|" + heartRate, ""},
		{"_has finds Patients through matching Observations", glucoseOnly, "Patient", "_has:Observation:subject:code=" + loinc + "|" + glucose, "pa1,pa2"},
		{"other types are not restricted", glucoseOnly, "Encounter", "", "ea1,em"},
		{"a search of the Patient compartment is restricted too", glucoseOnly, "Observation", "patient=Patient/pa2", "oa4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := searchIDs(t, s, tt.scope, tt.typ, tt.query)
			if sortedIDs(got) != sortedIDs(splitIDs(tt.want)) {
				t.Errorf("Search(%s?%s) = %v, want %s", tt.typ, tt.query, sortedIDs(got), sortedIDs(splitIDs(tt.want)))
			}
		})
	}
	t.Run("reads by id answer only for matching records, NotFound otherwise", func(t *testing.T) {
		svc := scopedService(s, scopeCaller{scope: glucoseOnly})
		if _, err := svc.Read(ctx, "Observation", "oa1"); err != nil {
			t.Errorf("Read(Observation/oa1) = %v, want it", err)
		}
		_, err := svc.Read(ctx, "Observation", "oa3")
		wantCode(t, "Read(Observation/oa3)", err, ehr.NotFound)
		_, err = svc.Read(ctx, "Observation", "ob1")
		wantCode(t, "Read(Observation/ob1)", err, ehr.NotFound)
	})
	t.Run("history and included Observations are left out", func(t *testing.T) {
		svc := scopedService(s, scopeCaller{scope: glucoseOnly})
		h, err := svc.History(ctx, ehr.HistoryQuery{Type: "Observation"})
		if err != nil || len(h.Records) != 0 {
			t.Errorf("History(Observation) = %v, %v; want nothing", h, err)
		}
		page, err := runScoped(t, svc, "Patient", "_revinclude=Observation:subject", "")
		if err != nil || len(page.Included) != 0 || len(page.Records) != 2 {
			t.Errorf("Patient?_revinclude=Observation:subject = %v, %v; want pa1, pa2 and nothing included", page, err)
		}
	})
	t.Run("a restricted type cannot be written", func(t *testing.T) {
		svc := scopedService(s, scopeCaller{scope: glucoseOnly})
		_, _, err := svc.Update(sourceContext(sourceA), "Observation", "oa1", scopeObservation("oa1", "pa1", glucose, "2020-01-01", "91"), 0)
		wantCode(t, "Update(Observation/oa1)", err, ehr.Forbidden)
	})
}

package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
	"omnichart/internal/service"
)

// The access scope suite loads one fixed dataset written by two sources and checks,
// for callers with different scopes, every read path against expected sets worked
// out by hand from the fixture below:
//
//	source A: Patient pa1 (Alder, 1970, mrn-a1, GP dra)   Observations oa1 oa2 oa3, Encounter ea1
//	          Patient pa2 (Ash, 1980, mrn-a2, shared-1,
//	                       GP drb of source B)            Observations oa4 oa5, Encounter ea2 (deleted)
//	          Practitioner dra, Provenance prova1 (oa1 oa2) and prova2 (oa4)
//	          Observation oax about pb1 of source B (a cross reference: compartment Patient/pb1)
//	          Encounter em, version 1 about pa1, version 2 moved to pa2
//	source B: Patient pb1 (Birch, 1975, mrn-b1, GP drb)   Observations ob1 ob2, Encounter eb1
//	          Patient pb2 (Beech, 1985, mrn-b2, shared-1) Observations ob3 ob4, Encounter eb2
//	          Practitioner drb, Provenance provb1 (ob1 ob2), provb2 (ob3) and
//	          provbx (oa1 of source A)
//
// Practitioners, and Provenances that point at Observations only, are outside every
// Patient compartment (R4 CompartmentDefinition Patient), so a compartment caller
// with Shared sees all of them.
//
//	Observation  subject code (LOINC)          effective   value
//	oa1          pa1     glucose 2339-0        2020-01-01   90 mg/dL
//	oa2          pa1     glucose 2339-0        2021-01-01  140 mg/dL  (updated: version 2)
//	oa3          pa1     heart rate 8867-4     2020-06-01   70 /min
//	oa4          pa2     glucose 2339-0        2020-03-01  105 mg/dL
//	oa5          pa2     heart rate 8867-4     2022-01-01   80 /min
//	oax          pb1     body weight 29463-7   2021-03-01   70 kg
//	ob1          pb1     glucose 2339-0        2020-02-01   95 mg/dL
//	ob2          pb1     heart rate 8867-4     2021-05-01   75 /min
//	ob3          pb2     glucose 2339-0        2022-02-01  120 mg/dL
//	ob4          pb2     heart rate 8867-4     2020-07-01   65 /min
//
// pa1, oa2 and pb1 are updated once, em is moved and ea2 is deleted, so each has a
// version 2.

const (
	sourceA = "urn:omnichart:source:a"
	sourceB = "urn:omnichart:source:b"

	mrnSystem    = "http://hospital.example/mrn"
	regionSystem = "http://region.example/id"
	loinc        = "http://loinc.org"
	glucose      = "2339-0"
	heartRate    = "8867-4"
	bodyWeight   = "29463-7"
)

// scopeItem is one fixture resource and the source that writes it.
type scopeItem struct {
	source string
	res    map[string]any
}

func (it scopeItem) typ() string { return it.res["resourceType"].(string) }
func (it scopeItem) id() string  { return it.res["id"].(string) }

func scopePatient(id, family, given, gender, birth, mrn, gp, region string) map[string]any {
	ids := []any{map[string]any{"system": mrnSystem, "value": mrn}}
	if region != "" {
		ids = append(ids, map[string]any{"system": regionSystem, "value": region})
	}
	p := map[string]any{"resourceType": "Patient", "id": id, "identifier": ids,
		"name":   []any{map[string]any{"family": family, "given": []any{given}}},
		"gender": gender, "birthDate": birth}
	if gp != "" {
		p["generalPractitioner"] = []any{map[string]any{"reference": "Practitioner/" + gp}}
	}
	return p
}

func scopeObservation(id, patient, code, date, value string) map[string]any {
	unit := map[string]string{glucose: "mg/dL", heartRate: "/min", bodyWeight: "kg"}[code]
	return map[string]any{"resourceType": "Observation", "id": id, "status": "final",
		"code":              map[string]any{"coding": []any{map[string]any{"system": loinc, "code": code}}},
		"subject":           map[string]any{"reference": "Patient/" + patient},
		"effectiveDateTime": date + "T09:00:00Z",
		"valueQuantity":     map[string]any{"value": json.Number(value), "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}}
}

func scopeEncounter(id, patient, date string) map[string]any {
	return map[string]any{"resourceType": "Encounter", "id": id, "status": "finished",
		"class":   map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
		"subject": map[string]any{"reference": "Patient/" + patient},
		"period":  map[string]any{"start": date + "T08:00:00Z", "end": date + "T10:00:00Z"}}
}

func scopePractitioner(id, family string) map[string]any {
	return map[string]any{"resourceType": "Practitioner", "id": id, "name": []any{map[string]any{"family": family}}}
}

func scopeProvenance(id, agent string, observations ...string) map[string]any {
	var targets []any
	for _, o := range observations {
		targets = append(targets, map[string]any{"reference": "Observation/" + o})
	}
	return map[string]any{"resourceType": "Provenance", "id": id, "target": targets, "recorded": "2022-06-01T00:00:00Z",
		"agent": []any{map[string]any{"who": map[string]any{"reference": "Practitioner/" + agent}}}}
}

// scopeFixture returns the dataset in the order it is written.
func scopeFixture() []scopeItem {
	a := func(res map[string]any) scopeItem { return scopeItem{sourceA, res} }
	b := func(res map[string]any) scopeItem { return scopeItem{sourceB, res} }
	return []scopeItem{
		a(scopePractitioner("dra", "Adams")),
		a(scopePatient("pa1", "Alder", "Ann", "female", "1970-04-01", "mrn-a1", "dra", "")),
		a(scopePatient("pa2", "Ash", "Bob", "male", "1980-05-02", "mrn-a2", "drb", "shared-1")),
		a(scopeObservation("oa1", "pa1", glucose, "2020-01-01", "90")),
		a(scopeObservation("oa2", "pa1", glucose, "2021-01-01", "140")),
		a(scopeObservation("oa3", "pa1", heartRate, "2020-06-01", "70")),
		a(scopeObservation("oa4", "pa2", glucose, "2020-03-01", "105")),
		a(scopeObservation("oa5", "pa2", heartRate, "2022-01-01", "80")),
		a(scopeObservation("oax", "pb1", bodyWeight, "2021-03-01", "70")),
		a(scopeEncounter("ea1", "pa1", "2020-01-01")),
		a(scopeEncounter("ea2", "pa2", "2020-03-01")),
		a(scopeEncounter("em", "pa1", "2021-01-01")),
		a(scopeProvenance("prova1", "dra", "oa1", "oa2")),
		a(scopeProvenance("prova2", "dra", "oa4")),
		b(scopePractitioner("drb", "Baker")),
		b(scopePatient("pb1", "Birch", "Cara", "female", "1975-06-03", "mrn-b1", "drb", "")),
		b(scopePatient("pb2", "Beech", "Dan", "male", "1985-07-04", "mrn-b2", "", "shared-1")),
		b(scopeObservation("ob1", "pb1", glucose, "2020-02-01", "95")),
		b(scopeObservation("ob2", "pb1", heartRate, "2021-05-01", "75")),
		b(scopeObservation("ob3", "pb2", glucose, "2022-02-01", "120")),
		b(scopeObservation("ob4", "pb2", heartRate, "2020-07-01", "65")),
		b(scopeEncounter("eb1", "pb1", "2020-02-01")),
		b(scopeEncounter("eb2", "pb2", "2022-02-01")),
		b(scopeProvenance("provb1", "drb", "ob1", "ob2")),
		b(scopeProvenance("provb2", "drb", "ob3")),
		b(scopeProvenance("provbx", "drb", "oa1")),
	}
}

// versionsOf is the number of versions fixture resource id has once loaded.
func versionsOf(id string) int64 {
	switch id {
	case "pa1", "oa2", "pb1", "em", "ea2":
		return 2
	}
	return 1
}

// sourceContext is the context of a principal that writes for src.
func sourceContext(src string) context.Context {
	return ehr.WithPrincipal(ctx, ehr.Principal{Subject: "source/" + src[strings.LastIndex(src, ":")+1:], Source: src})
}

// loadScopeFixture writes the dataset through an unrestricted service, each
// resource by the principal of its source, then makes the later versions.
func loadScopeFixture(t *testing.T, s ehr.ResourceStore) {
	t.Helper()
	svc := service.New(s, service.Options{})
	for _, it := range scopeFixture() {
		rec, _, err := svc.Update(sourceContext(it.source), it.typ(), it.id(), it.res, 0)
		if err != nil {
			t.Fatalf("fixture Update(%s/%s): %v", it.typ(), it.id(), err)
		}
		if rec.Source != it.source {
			t.Fatalf("fixture %s/%s owned by %q, want %q", it.typ(), it.id(), rec.Source, it.source)
		}
	}
	pa1 := scopePatient("pa1", "Alder", "Ann", "female", "1970-04-01", "mrn-a1", "dra", "")
	pa1["telecom"] = []any{map[string]any{"system": "phone", "value": "555-0101"}}
	oa2 := scopeObservation("oa2", "pa1", glucose, "2021-01-01", "140")
	oa2["status"] = "amended"
	pb1 := scopePatient("pb1", "Birch", "Cara", "female", "1975-06-03", "mrn-b1", "drb", "")
	pb1["telecom"] = []any{map[string]any{"system": "phone", "value": "555-0202"}}
	for _, u := range []struct {
		source string
		res    map[string]any
	}{{sourceA, pa1}, {sourceA, oa2}, {sourceA, scopeEncounter("em", "pa2", "2021-01-01")}, {sourceB, pb1}} {
		it := scopeItem{u.source, u.res}
		if _, _, err := svc.Update(sourceContext(u.source), it.typ(), it.id(), u.res, 0); err != nil {
			t.Fatalf("fixture Update(%s/%s) to version 2: %v", it.typ(), it.id(), err)
		}
	}
	if _, err := svc.Delete(sourceContext(sourceA), "Encounter", "ea2", 0); err != nil {
		t.Fatalf("fixture Delete(Encounter/ea2): %v", err)
	}
}

// perCaller holds, for each caller of scopeCallers, a comma-separated list of ids.
// Every entry below spells out all five; the caller whose scope denies everything
// always expects nothing.
type perCaller struct{ all, a, b, pa1, pat string }

func (p perCaller) of(key string) []string {
	v := map[string]string{"all": p.all, "a": p.a, "b": p.b, "pa1": p.pa1, "pat": p.pat}[key]
	if v == "" {
		return []string{}
	}
	return strings.Split(v, ",")
}

// perCallerCount holds, for each caller of scopeCallers, a count; the caller whose
// scope denies everything always expects zero.
type perCallerCount struct{ all, a, b, pa1, pat int }

func (p perCallerCount) of(key string) int {
	return map[string]int{"all": p.all, "a": p.a, "b": p.b, "pa1": p.pa1, "pat": p.pat}[key]
}

type scopeCaller struct {
	key, name string
	scope     ehr.Scope
}

func scopeCallers() []scopeCaller {
	return []scopeCaller{
		{"all", "an unrestricted caller", ehr.Unrestricted()},
		{"a", "a caller limited to source A", ehr.Scope{Sources: []string{sourceA}}},
		{"b", "a caller limited to source B", ehr.Scope{Sources: []string{sourceB}}},
		{"pa1", "a caller limited to Patient/pa1 and shared resources", ehr.Scope{Compartments: []string{"Patient/pa1"}, Shared: true}},
		{"pat", "a caller limited to Patients", ehr.Scope{Types: []string{"Patient"}}},
		{"none", "a caller whose scope denies everything", ehr.Scope{}},
	}
}

// scopeVisible is every fixture resource each caller may see, deleted ones included.
func scopeVisible() perCaller {
	return perCaller{
		all: "dra,pa1,pa2,oa1,oa2,oa3,oa4,oa5,oax,ea1,ea2,em,prova1,prova2,drb,pb1,pb2,ob1,ob2,ob3,ob4,eb1,eb2,provb1,provb2,provbx",
		a:   "dra,pa1,pa2,oa1,oa2,oa3,oa4,oa5,oax,ea1,ea2,em,prova1,prova2",
		b:   "drb,pb1,pb2,ob1,ob2,ob3,ob4,eb1,eb2,provb1,provb2,provbx",
		pa1: "pa1,oa1,oa2,oa3,ea1,dra,drb,prova1,prova2,provb1,provb2,provbx",
		pat: "pa1,pa2,pb1,pb2",
	}
}

// olderVersionVisible reports the one older version a caller may see although the
// current version is hidden from it: em was in Patient/pa1's compartment until it
// moved to pa2's.
func olderVersionVisible(key, id string, version int64) bool {
	return key == "pa1" && id == "em" && version == 1
}

func scopedService(s ehr.ResourceStore, c scopeCaller) *service.Service {
	return service.New(s, service.Options{Policy: ehr.FixedScope{Allowed: c.scope}})
}

// sortedIDs joins ids in sorted order, for comparing sets.
func sortedIDs(v []string) string {
	v = slices.Clone(v)
	slices.Sort(v)
	return strings.Join(v, ",")
}

// describe names a record and its version for a failure message, without its content.
func describe(rec *ehr.Record) string {
	if rec == nil {
		return "nothing"
	}
	return fmt.Sprintf("%s version %d", rec.Reference(), rec.Version)
}

func versionKeys(recs []*ehr.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = fmt.Sprintf("%s/%s/_history/%d", r.Type, r.ID, r.Version)
	}
	return out
}

func testScopeReads(t *testing.T, s ehr.ResourceStore) {
	loadScopeFixture(t, s)
	fixture := scopeFixture()
	for _, c := range scopeCallers() {
		t.Run(c.name, func(t *testing.T) {
			svc := scopedService(s, c)
			visible := map[string]bool{}
			for _, id := range scopeVisible().of(c.key) {
				visible[id] = true
			}
			wantVersions := map[string][]string{} // type -> visible "Type/id/_history/v"
			var wantAll []string
			for _, it := range fixture {
				typ, id := it.typ(), it.id()
				n := versionsOf(id)
				var seen []string // the versions of id the caller may see
				for v := int64(1); v <= n; v++ {
					if visible[id] || olderVersionVisible(c.key, id, v) {
						seen = append(seen, fmt.Sprintf("%s/%s/_history/%d", typ, id, v))
					}
				}
				wantVersions[typ] = append(wantVersions[typ], seen...)
				wantAll = append(wantAll, seen...)

				rec, err := svc.Read(ctx, typ, id)
				switch {
				case !visible[id]:
					if ehr.ErrorCode(err) != ehr.NotFound || rec != nil {
						t.Errorf("Read(%s/%s) = %s, %v; want nothing, NotFound", typ, id, describe(rec), err)
					}
				case id == "ea2":
					wantCode(t, "Read(Encounter/ea2)", err, ehr.Gone)
				case err != nil:
					t.Errorf("Read(%s/%s) = %v, want version %d", typ, id, err, n)
				case rec.Version != n || rec.Source != it.source:
					t.Errorf("Read(%s/%s) = version %d of %q, want version %d of %q", typ, id, rec.Version, rec.Source, n, it.source)
				}

				for v := int64(1); v <= n; v++ {
					rec, err := svc.VRead(ctx, typ, id, v)
					want := ehr.Code("")
					switch {
					case !visible[id] && !olderVersionVisible(c.key, id, v):
						want = ehr.NotFound
					case id == "ea2" && v == 2:
						want = ehr.Gone
					}
					switch {
					case err == nil && want != "":
						t.Errorf("VRead(%s/%s, %d) = %s, want %s", typ, id, v, describe(rec), want)
					case err != nil && want == "":
						t.Errorf("VRead(%s/%s, %d) = %v, want version %d", typ, id, v, err, v)
					case err != nil && ehr.ErrorCode(err) != want:
						t.Errorf("VRead(%s/%s, %d) = %v, want %s", typ, id, v, err, want)
					}
				}

				h, err := svc.History(ctx, ehr.HistoryQuery{Type: typ, ID: id})
				switch {
				case len(seen) == 0:
					if ehr.ErrorCode(err) != ehr.NotFound {
						t.Errorf("History(%s/%s) = %v, want NotFound", typ, id, err)
					}
				case err != nil:
					t.Errorf("History(%s/%s): %v", typ, id, err)
				default:
					if got := sortedIDs(versionKeys(h.Records)); got != sortedIDs(seen) || h.Total != len(seen) {
						t.Errorf("History(%s/%s) = %s, total %d; want %s, total %d", typ, id, got, h.Total, sortedIDs(seen), len(seen))
					}
				}
			}

			for _, typ := range []string{"Patient", "Observation", "Encounter", "Practitioner", "Provenance"} {
				h, err := svc.History(ctx, ehr.HistoryQuery{Type: typ, Count: 100})
				if err != nil {
					t.Fatalf("History(%s): %v", typ, err)
				}
				if got, want := sortedIDs(versionKeys(h.Records)), sortedIDs(wantVersions[typ]); got != want {
					t.Errorf("History(%s) = %s, want %s", typ, got, want)
				}
			}

			// The whole system's history, three versions a page.
			var got []string
			seen := map[string]bool{}
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 20 {
					t.Fatalf("system History did not end after %d pages", pages)
				}
				h, err := svc.History(ctx, ehr.HistoryQuery{Count: 3, Cursor: cursor})
				if err != nil {
					t.Fatalf("History(system, page %d): %v", pages, err)
				}
				for _, k := range versionKeys(h.Records) {
					if seen[k] {
						t.Errorf("History(system) repeated %s", k)
					}
					seen[k] = true
					got = append(got, k)
				}
				if h.Next == "" {
					break
				}
				cursor = h.Next
			}
			if sortedIDs(got) != sortedIDs(wantAll) {
				t.Errorf("History(system) = %s, want %s", sortedIDs(got), sortedIDs(wantAll))
			}
		})
	}
}

// runScoped runs a strict search through svc.
func runScoped(t *testing.T, svc *service.Service, typ, query, compartment string) (*ehr.Page, error) {
	t.Helper()
	q, err := search.ParseString(typ, query)
	if err != nil {
		t.Fatalf("bad test query %s?%s: %v", typ, query, err)
	}
	q.Strict = true
	q.Compartment = compartment
	return svc.Search(ctx, q)
}

func testScopeSearch(t *testing.T, s ehr.ResourceStore) {
	loadScopeFixture(t, s)
	const glucoseCode = "code=" + loinc + "|" + glucose
	tests := []struct {
		name        string
		typ, query  string
		compartment string
		ordered     bool // compare in order rather than as sets
		want        perCaller
		included    perCaller
	}{
		{name: "every Patient", typ: "Patient",
			want: perCaller{all: "pa1,pa2,pb1,pb2", a: "pa1,pa2", b: "pb1,pb2", pa1: "pa1", pat: "pa1,pa2,pb1,pb2"}},
		{name: "every Observation", typ: "Observation",
			want: perCaller{all: "oa1,oa2,oa3,oa4,oa5,oax,ob1,ob2,ob3,ob4", a: "oa1,oa2,oa3,oa4,oa5,oax", b: "ob1,ob2,ob3,ob4", pa1: "oa1,oa2,oa3", pat: ""}},
		{name: "Practitioners are shared outside patient compartments", typ: "Practitioner",
			want: perCaller{all: "dra,drb", a: "dra", b: "drb", pa1: "dra,drb", pat: ""}},
		{name: "a deleted Encounter is found by nobody and a moved one only in its new compartment", typ: "Encounter",
			want: perCaller{all: "ea1,eb1,eb2,em", a: "ea1,em", b: "eb1,eb2", pa1: "ea1", pat: ""}},
		{name: "a compartment search finds a moved Encounter in its new compartment", typ: "Encounter", compartment: "Patient/pa2",
			want: perCaller{all: "em", a: "em", b: "", pa1: "", pat: ""}},
		{name: "a system-wide search by _id", typ: "", query: "_id=pa1,pb1,oa1,ob1,drb",
			want: perCaller{all: "drb,oa1,ob1,pa1,pb1", a: "oa1,pa1", b: "drb,ob1,pb1", pa1: "drb,oa1,pa1", pat: "pa1,pb1"}},
		{name: "a token parameter", typ: "Observation", query: glucoseCode,
			want: perCaller{all: "oa1,oa2,oa4,ob1,ob3", a: "oa1,oa2,oa4", b: "ob1,ob3", pa1: "oa1,oa2", pat: ""}},
		{name: "a date parameter", typ: "Observation", query: "date=ge2021-01-01",
			want: perCaller{all: "oa2,oa5,oax,ob2,ob3", a: "oa2,oa5,oax", b: "ob2,ob3", pa1: "oa2", pat: ""}},
		{name: "a quantity parameter", typ: "Observation", query: "value-quantity=gt110",
			want: perCaller{all: "oa2,ob3", a: "oa2", b: "ob3", pa1: "oa2", pat: ""}},
		{name: "an identifier both sources use", typ: "Patient", query: "identifier=" + regionSystem + "|shared-1",
			want: perCaller{all: "pa2,pb2", a: "pa2", b: "pb2", pa1: "", pat: "pa2,pb2"}},
		{name: "a reference to a patient of the other source finds only visible referrers", typ: "Observation", query: "subject=Patient/pb1",
			want: perCaller{all: "oax,ob1,ob2", a: "oax", b: "ob1,ob2", pa1: "", pat: ""}},
		{name: "a compartment search", typ: "Observation", compartment: "Patient/pb1",
			want: perCaller{all: "oax,ob1,ob2", a: "oax", b: "ob1,ob2", pa1: "", pat: ""}},
		{name: "a chain matches only through a visible patient", typ: "Observation", query: "subject:Patient.name=birch",
			want: perCaller{all: "oax,ob1,ob2", a: "", b: "ob1,ob2", pa1: "", pat: ""}},
		{name: "a chain to a caller's own patient", typ: "Observation", query: "subject:Patient.name=alder",
			want: perCaller{all: "oa1,oa2,oa3", a: "oa1,oa2,oa3", b: "", pa1: "oa1,oa2,oa3", pat: ""}},
		{name: "a chain from Provenance matches only through visible observations", typ: "Provenance", query: "target:Observation." + glucoseCode,
			want: perCaller{all: "prova1,prova2,provb1,provb2,provbx", a: "prova1,prova2", b: "provb1,provb2", pa1: "prova1,provbx", pat: ""}},
		{name: "a two-level chain", typ: "Provenance", query: "target:Observation.subject:Patient.name=alder",
			want: perCaller{all: "prova1,provbx", a: "prova1", b: "", pa1: "prova1,provbx", pat: ""}},
		{name: "a two-level chain through the other source's patient", typ: "Provenance", query: "target:Observation.subject:Patient.name=birch",
			want: perCaller{all: "provb1", a: "", b: "provb1", pa1: "", pat: ""}},
		{name: "_has finds only visible patients through visible observations", typ: "Patient", query: "_has:Observation:patient:" + glucoseCode,
			want: perCaller{all: "pa1,pa2,pb1,pb2", a: "pa1,pa2", b: "pb1,pb2", pa1: "pa1", pat: ""}},
		{name: "_has does not reveal a patient through an observation of the other source", typ: "Patient", query: "_has:Observation:patient:code=" + loinc + "|" + bodyWeight,
			want: perCaller{all: "pb1", a: "", b: "", pa1: "", pat: ""}},
		{name: "_include leaves out a subject of the other source", typ: "Observation", query: "code=" + loinc + "|" + bodyWeight + "&_include=Observation:subject",
			want:     perCaller{all: "oax", a: "oax", b: "", pa1: "", pat: ""},
			included: perCaller{all: "pb1", a: "", b: "", pa1: "", pat: ""}},
		{name: "_include adds only visible subjects", typ: "Observation", query: "_include=Observation:subject",
			want:     perCaller{all: "oa1,oa2,oa3,oa4,oa5,oax,ob1,ob2,ob3,ob4", a: "oa1,oa2,oa3,oa4,oa5,oax", b: "ob1,ob2,ob3,ob4", pa1: "oa1,oa2,oa3", pat: ""},
			included: perCaller{all: "pa1,pa2,pb1,pb2", a: "pa1,pa2", b: "pb1,pb2", pa1: "pa1", pat: ""}},
		{name: "_include adds only visible practitioners", typ: "Patient", query: "_include=Patient:general-practitioner",
			want:     perCaller{all: "pa1,pa2,pb1,pb2", a: "pa1,pa2", b: "pb1,pb2", pa1: "pa1", pat: "pa1,pa2,pb1,pb2"},
			included: perCaller{all: "dra,drb", a: "dra", b: "drb", pa1: "dra", pat: ""}},
		{name: "_include:iterate follows only visible resources", typ: "Provenance", query: "_include=Provenance:target&_include:iterate=Observation:subject",
			want:     perCaller{all: "prova1,prova2,provb1,provb2,provbx", a: "prova1,prova2", b: "provb1,provb2,provbx", pa1: "prova1,prova2,provb1,provb2,provbx", pat: ""},
			included: perCaller{all: "oa1,oa2,oa4,ob1,ob2,ob3,pa1,pa2,pb1,pb2", a: "oa1,oa2,oa4,pa1,pa2", b: "ob1,ob2,ob3,pb1,pb2", pa1: "oa1,oa2,pa1", pat: ""}},
		{name: "_revinclude adds only visible provenances", typ: "Observation", query: "_id=oa1&_revinclude=Provenance:target",
			want:     perCaller{all: "oa1", a: "oa1", b: "", pa1: "oa1", pat: ""},
			included: perCaller{all: "prova1,provbx", a: "prova1", b: "", pa1: "prova1,provbx", pat: ""}},
		{name: "_revinclude:iterate adds only visible observations and provenances", typ: "Patient", query: "_revinclude=Observation:subject&_revinclude:iterate=Provenance:target",
			want: perCaller{all: "pa1,pa2,pb1,pb2", a: "pa1,pa2", b: "pb1,pb2", pa1: "pa1", pat: "pa1,pa2,pb1,pb2"},
			included: perCaller{all: "oa1,oa2,oa3,oa4,oa5,oax,ob1,ob2,ob3,ob4,prova1,prova2,provb1,provb2,provbx",
				a: "oa1,oa2,oa3,oa4,oa5,prova1,prova2", b: "ob1,ob2,ob3,ob4,provb1,provb2", pa1: "oa1,oa2,oa3,prova1,provbx", pat: ""}},
		{name: "_sort by date orders only visible observations", typ: "Observation", query: "_sort=date", ordered: true,
			want: perCaller{all: "oa1,ob1,oa4,oa3,ob4,oa2,oax,ob2,oa5,ob3", a: "oa1,oa4,oa3,oa2,oax,oa5", b: "ob1,ob4,ob2,ob3", pa1: "oa1,oa3,oa2", pat: ""}},
		{name: "_sort by descending birth date orders only visible patients", typ: "Patient", query: "_sort=-birthdate", ordered: true,
			want: perCaller{all: "pb2,pa2,pb1,pa1", a: "pa2,pa1", b: "pb2,pb1", pa1: "pa1", pat: "pb2,pa2,pb1,pa1"}},
	}
	for _, c := range scopeCallers() {
		t.Run(c.name, func(t *testing.T) {
			svc := scopedService(s, c)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					query := strings.TrimPrefix(tt.query+"&_count=100", "&")
					page, err := runScoped(t, svc, tt.typ, query, tt.compartment)
					if err != nil {
						t.Fatalf("Search(%s?%s): %v", tt.typ, query, err)
					}
					got, want := ids(page.Records), tt.want.of(c.key)
					if !tt.ordered {
						got, want = strings.Split(sortedIDs(got), ","), strings.Split(sortedIDs(want), ",")
					}
					if strings.Join(got, ",") != strings.Join(want, ",") {
						t.Errorf("Search(%s?%s) = %v, want %v", tt.typ, query, got, want)
					}
					if inc, want := sortedIDs(ids(page.Included)), sortedIDs(tt.included.of(c.key)); inc != want {
						t.Errorf("Search(%s?%s) included %s, want %s", tt.typ, query, inc, want)
					}
				})
			}
		})
	}
}

func testScopeTotals(t *testing.T, s ehr.ResourceStore) {
	loadScopeFixture(t, s)
	tests := []struct {
		name       string
		typ, query string
		want       perCallerCount
	}{
		{"_summary=count counts visible Observations", "Observation", "_summary=count",
			perCallerCount{all: 10, a: 6, b: 4, pa1: 3, pat: 0}},
		{"_summary=count counts visible Patients", "Patient", "_summary=count",
			perCallerCount{all: 4, a: 2, b: 2, pa1: 1, pat: 4}},
		{"_summary=count counts shared Provenances", "Provenance", "_summary=count",
			perCallerCount{all: 5, a: 2, b: 3, pa1: 5, pat: 0}},
		{"_summary=count with _has counts only patients of visible observations", "Patient", "_has:Observation:patient:code=" + loinc + "|" + glucose + "&_summary=count",
			perCallerCount{all: 4, a: 2, b: 2, pa1: 1, pat: 0}},
		{"_total=accurate counts a token search beyond the page", "Observation", "code=" + loinc + "|" + glucose + "&_total=accurate&_count=1",
			perCallerCount{all: 5, a: 3, b: 2, pa1: 2, pat: 0}},
		{"_total=accurate counts a chain only through visible patients", "Observation", "subject:Patient.name=birch&_total=accurate&_count=1",
			perCallerCount{all: 3, a: 0, b: 2, pa1: 0, pat: 0}},
	}
	for _, c := range scopeCallers() {
		t.Run(c.name, func(t *testing.T) {
			svc := scopedService(s, c)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					page, err := runScoped(t, svc, tt.typ, tt.query, "")
					if err != nil {
						t.Fatalf("Search(%s?%s): %v", tt.typ, tt.query, err)
					}
					want := tt.want.of(c.key)
					wantRecords := min(want, 1)
					if strings.Contains(tt.query, "_summary=count") {
						wantRecords = 0
					}
					if page.Total != want || len(page.Records) != wantRecords {
						t.Errorf("Search(%s?%s) = total %d, %d records; want %d and %d", tt.typ, tt.query, page.Total, len(page.Records), want, wantRecords)
					}
				})
			}
		})
	}
}

func testScopePaging(t *testing.T, s ehr.ResourceStore) {
	loadScopeFixture(t, s)
	tests := []struct {
		name       string
		typ, query string
		want       perCaller // in order
	}{
		{"Observations by date", "Observation", "_sort=date",
			perCaller{all: "oa1,ob1,oa4,oa3,ob4,oa2,oax,ob2,oa5,ob3", a: "oa1,oa4,oa3,oa2,oax,oa5", b: "ob1,ob4,ob2,ob3", pa1: "oa1,oa3,oa2", pat: ""}},
		{"Patients by descending birth date", "Patient", "_sort=-birthdate",
			perCaller{all: "pb2,pa2,pb1,pa1", a: "pa2,pa1", b: "pb2,pb1", pa1: "pa1", pat: "pb2,pa2,pb1,pa1"}},
		{"Provenances in id order", "Provenance", "",
			perCaller{all: "prova1,prova2,provb1,provb2,provbx", a: "prova1,prova2", b: "provb1,provb2,provbx", pa1: "prova1,prova2,provb1,provb2,provbx", pat: ""}},
	}
	for _, c := range scopeCallers() {
		t.Run(c.name, func(t *testing.T) {
			svc := scopedService(s, c)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					query := strings.TrimPrefix(tt.query+"&_count=1", "&")
					want := tt.want.of(c.key)
					page := func(cursor string) *ehr.Page {
						t.Helper()
						q, err := search.ParseString(tt.typ, query)
						if err != nil {
							t.Fatal(err)
						}
						q.Cursor = cursor
						p, err := svc.Search(ctx, q)
						if err != nil {
							t.Fatalf("Search(%s?%s) with cursor %q: %v", tt.typ, query, cursor, err)
						}
						if len(p.Records) > 1 {
							t.Fatalf("Search(%s?%s) = %d records on a page of 1", tt.typ, query, len(p.Records))
						}
						return p
					}
					// Forward with Next, from the first page to the last.
					var forward []string
					p := page("")
					if p.Prev != "" {
						t.Errorf("Search(%s?%s) first page has a previous link", tt.typ, query)
					}
					for n := 1; ; n++ {
						forward = append(forward, ids(p.Records)...)
						if n > 1 && p.Prev == "" {
							t.Errorf("Search(%s?%s) page %d has no previous link", tt.typ, query, n)
						}
						if p.Next == "" {
							break
						}
						if n > len(want) {
							t.Fatalf("Search(%s?%s) has a next link after %d pages, want %d pages", tt.typ, query, n, len(want))
						}
						p = page(p.Next)
					}
					if got := strings.Join(forward, ","); got != strings.Join(want, ",") {
						t.Errorf("Search(%s?%s) pages forward = %s, want %s", tt.typ, query, got, strings.Join(want, ","))
					}
					// Back with Prev, from the last page to the first.
					var backward []string
					for n := 1; ; n++ {
						backward = append(backward, ids(p.Records)...)
						if p.Prev == "" {
							break
						}
						if n > len(want) {
							t.Fatalf("Search(%s?%s) has a previous link after %d pages back, want %d pages", tt.typ, query, n, len(want))
						}
						p = page(p.Prev)
						if p.Next == "" {
							t.Errorf("Search(%s?%s) page reached backwards has no next link", tt.typ, query)
						}
					}
					slices.Reverse(backward)
					if got := strings.Join(backward, ","); got != strings.Join(want, ",") {
						t.Errorf("Search(%s?%s) pages backward = %s, want %s", tt.typ, query, got, strings.Join(want, ","))
					}
				})
			}
		})
	}
}

// current reads typ/id without any scope, as maintenance work does.
func current(t *testing.T, s ehr.ResourceStore, typ, id string) *ehr.Record {
	t.Helper()
	rec, err := s.Read(ctx, typ, id)
	if err != nil {
		t.Fatalf("Read(%s/%s): %v", typ, id, err)
	}
	return rec
}

// wantUnchanged fails unless typ/id is still exactly before.
func wantUnchanged(t *testing.T, s ehr.ResourceStore, call string, before *ehr.Record) {
	t.Helper()
	after := current(t, s, before.Type, before.ID)
	if after.Version != before.Version || after.Source != before.Source || !bytes.Equal(after.Resource, before.Resource) {
		t.Errorf("after %s, %s is version %d of %q, want it unchanged at version %d of %q",
			call, before.Reference(), after.Version, after.Source, before.Version, before.Source)
	}
}

func testScopeWrites(t *testing.T, s ehr.ResourceStore) {
	loadScopeFixture(t, s)
	svc := service.New(s, service.Options{})
	svcB := scopedService(s, scopeCaller{scope: ehr.Scope{Sources: []string{sourceB}}})
	asA, asB := sourceContext(sourceA), sourceContext(sourceB)
	pa1, pa2, pb2 := current(t, s, "Patient", "pa1"), current(t, s, "Patient", "pa2"), current(t, s, "Patient", "pb2")
	mrn := func(v string) string { return "identifier=" + mrnSystem + "|" + v }

	t.Run("a conditional create by B with an identifier only A's record has creates B's own record", func(t *testing.T) {
		body := noID(scopePatient("", "Alder", "Ann", "female", "1970-04-01", "mrn-a1", "", ""))
		rec, created, err := svc.Create(asB, body, mrn("mrn-a1"))
		if err != nil {
			t.Fatalf("Create(If-None-Exist %s): %v", mrn("mrn-a1"), err)
		}
		if !created || rec.ID == "pa1" || rec.Source != sourceB {
			t.Errorf("Create(If-None-Exist %s) = %s of %q, created %v; want a new record of %q", mrn("mrn-a1"), rec.Reference(), rec.Source, created, sourceB)
		}
		if src := fhir.String(fhir.Object(decode(t, current(t, s, "Patient", rec.ID)), "meta"), "source"); src != sourceB {
			t.Errorf("meta.source of the created Patient = %q, want %q", src, sourceB)
		}
		wantUnchanged(t, s, "B's conditional create", pa1)
	})

	t.Run("a conditional create by B with an identifier both sources use finds B's record", func(t *testing.T) {
		body := noID(scopePatient("", "Beech", "Dan", "male", "1985-07-04", "mrn-b2", "", "shared-1"))
		criteria := "identifier=" + regionSystem + "|shared-1"
		rec, created, err := svc.Create(asB, body, criteria)
		if err != nil {
			t.Fatalf("Create(If-None-Exist %s): %v", criteria, err)
		}
		if created || rec.ID != "pb2" {
			t.Errorf("Create(If-None-Exist %s) = %s, created %v; want Patient/pb2 found", criteria, rec.Reference(), created)
		}
		wantUnchanged(t, s, "B's conditional create", pa2)
		wantUnchanged(t, s, "B's conditional create", pb2)
	})

	t.Run("a conditional update by B with an identifier only A's record has creates B's own record", func(t *testing.T) {
		body := noID(scopePatient("", "Ash", "Bob", "male", "1980-05-02", "mrn-a2", "", ""))
		rec, created, err := svc.ConditionalUpdate(asB, "Patient", mrn("mrn-a2"), body, 0)
		if err != nil {
			t.Fatalf("ConditionalUpdate(Patient?%s): %v", mrn("mrn-a2"), err)
		}
		if !created || rec.ID == "pa2" || rec.Source != sourceB {
			t.Errorf("ConditionalUpdate(Patient?%s) = %s of %q, created %v; want a new record of %q", mrn("mrn-a2"), rec.Reference(), rec.Source, created, sourceB)
		}
		wantUnchanged(t, s, "B's conditional update", pa2)
	})

	t.Run("a conditional update by B with an identifier both sources use updates only B's record", func(t *testing.T) {
		body := noID(scopePatient("", "Beech", "Dan", "male", "1985-07-04", "mrn-b2", "", "shared-1"))
		body["telecom"] = []any{map[string]any{"system": "phone", "value": "555-0303"}}
		criteria := "identifier=" + regionSystem + "|shared-1"
		rec, created, err := svc.ConditionalUpdate(asB, "Patient", criteria, body, 0)
		if err != nil {
			t.Fatalf("ConditionalUpdate(Patient?%s): %v", criteria, err)
		}
		if created || rec.ID != "pb2" || rec.Version != 2 {
			t.Errorf("ConditionalUpdate(Patient?%s) = %s version %d, created %v; want Patient/pb2 version 2", criteria, rec.Reference(), rec.Version, created)
		}
		wantUnchanged(t, s, "B's conditional update", pa2)
	})

	t.Run("a conditional update by B that names A's id in the body is forbidden", func(t *testing.T) {
		body := scopePatient("pa1", "Alder", "Ann", "female", "1970-04-01", "mrn-a1-x", "", "")
		_, _, err := svc.ConditionalUpdate(asB, "Patient", mrn("mrn-a1-x"), body, 0)
		wantCode(t, "ConditionalUpdate(Patient?identifier=…, body id pa1) by B", err, ehr.Forbidden)
		wantUnchanged(t, s, "B's conditional update", pa1)
	})

	services := []struct {
		name string
		svc  *service.Service
		// patch is what a plain patch of A's record gives: the unrestricted
		// policy lets B read it but not change it; B's own scope hides it.
		patch ehr.Code
	}{
		{"under an unrestricted policy", svc, ehr.Forbidden},
		{"under a policy limited to source B", svcB, ehr.NotFound},
	}
	for _, sv := range services {
		t.Run("a plain update, patch or delete by B of A's record changes nothing "+sv.name, func(t *testing.T) {
			body := scopePatient("pa1", "Other", "Name", "female", "1970-04-01", "mrn-a1", "", "")
			_, _, err := sv.svc.Update(asB, "Patient", "pa1", body, 0)
			wantCode(t, "Update(Patient/pa1) by B", err, ehr.Forbidden)
			wantUnchanged(t, s, "B's update", pa1)
			_, err = sv.svc.Patch(asB, "Patient", "pa1", []byte(`[{"op":"replace","path":"/gender","value":"male"}]`), 0)
			wantCode(t, "Patch(Patient/pa1) by B", err, sv.patch)
			wantUnchanged(t, s, "B's patch", pa1)
			_, err = sv.svc.Delete(asB, "Patient", "pa1", 0)
			wantCode(t, "Delete(Patient/pa1) by B", err, ehr.Forbidden)
			wantUnchanged(t, s, "B's delete", pa1)
		})
	}

	t.Run("a conditional delete by B deletes only B's record with the identifier", func(t *testing.T) {
		rec, err := svc.ConditionalDelete(asB, "Patient", mrn("mrn-a1"))
		if err != nil {
			t.Fatalf("ConditionalDelete(Patient?%s): %v", mrn("mrn-a1"), err)
		}
		if rec == nil || rec.ID == "pa1" || rec.Source != sourceB {
			t.Errorf("ConditionalDelete(Patient?%s) = %s, want the deletion of B's own record", mrn("mrn-a1"), describe(rec))
		}
		wantUnchanged(t, s, "B's conditional delete", pa1)
		// Now only A has the identifier: B's conditional delete and patch find nothing.
		rec, err = svc.ConditionalDelete(asB, "Patient", mrn("mrn-a1"))
		if err != nil || rec != nil {
			t.Errorf("ConditionalDelete(Patient?%s) again = %s, %v; want nothing, no error", mrn("mrn-a1"), describe(rec), err)
		}
		_, err = svc.ConditionalPatch(asB, "Patient", mrn("mrn-a1"), []byte(`[{"op":"replace","path":"/gender","value":"male"}]`), 0)
		wantCode(t, "ConditionalPatch(Patient?"+mrn("mrn-a1")+") by B", err, ehr.NotFound)
		wantUnchanged(t, s, "B's conditional delete and patch", pa1)
	})

	t.Run("a transaction by B with a conditional reference only A's record matches fails and writes nothing", func(t *testing.T) {
		before, err := s.History(ctx, ehr.HistoryQuery{Count: 1000})
		if err != nil {
			t.Fatal(err)
		}
		bundle := func(ref string) map[string]any {
			return map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{
				map[string]any{"fullUrl": "urn:uuid:33333333-3333-4333-8333-333333333333",
					"resource": noID(scopePatient("", "Birch", "Eve", "female", "1990-01-01", "mrn-b9", "", "")),
					"request":  map[string]any{"method": "POST", "url": "Patient"}},
				map[string]any{"fullUrl": "urn:uuid:44444444-4444-4444-8444-444444444444",
					"resource": map[string]any{"resourceType": "Observation", "status": "final",
						"code":    map[string]any{"coding": []any{map[string]any{"system": loinc, "code": bodyWeight}}},
						"subject": map[string]any{"reference": ref}},
					"request": map[string]any{"method": "POST", "url": "Observation"}},
			}}
		}
		ref := "Patient?" + mrn("mrn-a1")
		kind, changes, err := ehr.ParseBundle(bundle(ref), "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = svc.Apply(asB, kind, changes, ehr.ApplyOptions{})
		wantCode(t, "transaction by B referring to "+ref, err, ehr.PreconditionFailed)
		after, err := s.History(ctx, ehr.HistoryQuery{Count: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(after.Records) != len(before.Records) {
			t.Errorf("the failed transaction left %d versions behind, want 0", len(after.Records)-len(before.Records))
		}
		wantUnchanged(t, s, "B's transaction", pa1)

		// The same transaction by A, whose record the reference names, succeeds.
		kind, changes, err = ehr.ParseBundle(bundle(ref), "")
		if err != nil {
			t.Fatal(err)
		}
		outs, err := svc.Apply(asA, kind, changes, ehr.ApplyOptions{})
		if err != nil {
			t.Fatalf("transaction by A referring to %s: %v", ref, err)
		}
		if subj := fhir.String(fhir.Object(decode(t, outs[1].Record), "subject"), "reference"); subj != "Patient/pa1" {
			t.Errorf("A's Observation.subject = %q, want Patient/pa1", subj)
		}
	})
}

// noID returns res without its id, as a body to create from.
func noID(res map[string]any) map[string]any {
	delete(res, "id")
	return res
}

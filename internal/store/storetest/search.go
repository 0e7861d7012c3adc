package storetest

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// searchFixture is a small data set whose search results were worked out by hand.
var searchFixture = []string{
	`{"resourceType":"Patient","id":"p1","meta":{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]},
	  "identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":"http://mrn.example","value":"1001"}],
	  "active":true,"name":[{"family":"Chalmers","given":["Peter","James"]}],"telecom":[{"system":"phone","value":"555-1234"}],
	  "gender":"male","birthDate":"1974-12-25","address":[{"city":"PleasantVille"}]}`,
	`{"resourceType":"Patient","id":"p2","meta":{"tag":[{"system":"http://example.org/tags","code":"vip"}]},
	  "identifier":[{"system":"http://mrn.example","value":"1002"}],"active":false,"name":[{"family":"Müller","given":["Zoë"]}],
	  "gender":"female","birthDate":"1980-02","address":[{"city":"Berlin"}],"generalPractitioner":[{"reference":"Practitioner/dr1"}]}`,
	`{"resourceType":"Patient","id":"p3","name":[{"family":"Chalmers-Smith","given":["Anna"]}],"gender":"female",
	  "managingOrganization":{"reference":"Organization/org1"}}`,
	`{"resourceType":"Practitioner","id":"dr1","name":[{"family":"House","given":["Gregory"]}]}`,
	`{"resourceType":"Organization","id":"org1","name":"Acme Clinic","identifier":[{"system":"http://npi.example","value":"9"}]}`,
	`{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/p1"},
	  "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
	  "code":{"coding":[{"system":"http://loinc.org","code":"2339-0","display":"Glucose [Mass/volume] in Blood"}]},
	  "effectiveDateTime":"2020-01-15T10:30:00Z","valueQuantity":{"value":95,"unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL"}}`,
	`{"resourceType":"Observation","id":"o2","status":"final","subject":{"reference":"Patient/p1"},
	  "code":{"coding":[{"system":"http://loinc.org","code":"2339-0","display":"Glucose [Mass/volume] in Blood"}]},
	  "effectiveDateTime":"2021-06-01T08:00:00+02:00","valueQuantity":{"value":130,"unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL"}}`,
	`{"resourceType":"Observation","id":"o3","status":"final","subject":{"reference":"Patient/p2"},
	  "code":{"coding":[{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure panel"}]},
	  "effectivePeriod":{"start":"2020-03-01","end":"2020-03-02"},
	  "component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
	               {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`,
	`{"resourceType":"Observation","id":"o4","status":"preliminary","subject":{"reference":"Patient/p2"},
	  "code":{"coding":[{"system":"http://loinc.org","code":"2339-0","display":"Glucose [Mass/volume] in Blood"}]},
	  "valueQuantity":{"value":0.1,"unit":"g/dL","system":"http://unitsofmeasure.org","code":"g/dL"}}`,
	`{"resourceType":"Observation","id":"o5","status":"final","code":{"text":"free text"},"valueString":"abc"}`,
	`{"resourceType":"Encounter","id":"e1","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
	  "subject":{"reference":"Patient/p1"},"period":{"start":"2020-01-15T09:00:00Z","end":"2020-01-15T12:00:00Z"}}`,
	`{"resourceType":"RiskAssessment","id":"ra1","status":"final","subject":{"reference":"Patient/p1"},"prediction":[{"probabilityDecimal":0.35}]}`,
	`{"resourceType":"Provenance","id":"prov1","target":[{"reference":"Observation/o1"}],"recorded":"2020-01-16T00:00:00Z",
	  "agent":[{"who":{"reference":"Practitioner/dr1"}}]}`,
}

func loadSearchFixture(t *testing.T, s ehr.ResourceStore) {
	t.Helper()
	for _, js := range searchFixture {
		res, err := fhir.Decode([]byte(js))
		if err != nil {
			t.Fatalf("fixture: %v", err)
		}
		if issues := fhir.R4().Validate(res); len(issues) > 0 {
			t.Fatalf("fixture %s is invalid: %v", res["id"], issues)
		}
		if _, _, err := s.Update(ctx, res["resourceType"].(string), res["id"].(string), res, ehr.WriteOptions{}); err != nil {
			t.Fatalf("fixture %s: %v", res["id"], err)
		}
	}
}

func runSearch(t *testing.T, s ehr.ResourceStore, typ, query string) (*ehr.Page, error) {
	t.Helper()
	values, err := url.ParseQuery(query)
	if err != nil {
		t.Fatalf("bad test query %q: %v", query, err)
	}
	q, err := search.Parse(typ, values)
	if err != nil {
		return nil, err
	}
	q.Strict = true
	return s.Search(ctx, q)
}

func ids(recs []*ehr.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

func testSearchParameters(t *testing.T, s ehr.ResourceStore) {
	loadSearchFixture(t, s)
	tests := []struct {
		name  string
		typ   string
		query string
		want  string // comma-separated ids, any order; "!" means an Invalid error
	}{
		{"string search matches name prefixes", "Patient", "name=chalmers", "p1,p3"},
		{"string search ignores case", "Patient", "name=CHAL", "p1,p3"},
		{"string search ignores accents", "Patient", "name=muller", "p2"},
		{"string search covers given names", "Patient", "name=zoe", "p2"},
		{"any of several values of one resource matches", "Patient", "given=james", "p1"},
		{"a composite resource with several components matches each", "Observation", "component-code=http://loinc.org|8462-4", "o3"},
		{"string :exact matches the whole value with case", "Patient", "name:exact=Chalmers", "p1"},
		{"string :contains matches inside the value", "Patient", "name:contains=smith", "p3"},
		{"parameters are ANDed", "Patient", "family=chalmers&given=anna", "p3"},
		{"a year finds a date inside it", "Patient", "birthdate=1974", "p1"},
		{"a day does not contain a month-precision date", "Patient", "birthdate=1980-02-10", ""},
		{"ge includes a range inside the year", "Patient", "birthdate=ge1980", "p2"},
		{"lt compares range starts", "Patient", "birthdate=lt1975", "p1"},
		{"sa finds dates starting after", "Patient", "birthdate=sa1975", "p2"},
		{":missing=true finds resources without the value", "Patient", "birthdate:missing=true", "p3"},
		{":missing=false finds resources with the value", "Patient", "birthdate:missing=false", "p1,p2"},
		{"token code matches", "Patient", "gender=female", "p2,p3"},
		{"token :not includes resources lacking the value", "Patient", "gender:not=female", "p1"},
		{"token system|code matches", "Patient", "identifier=http://mrn.example|1001", "p1"},
		{"token code alone matches any system", "Patient", "identifier=1002", "p2"},
		{"token values are ORed", "Patient", "identifier=1001,1002", "p1,p2"},
		{":of-type matches identifier type and value", "Patient", "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|1001", "p1"},
		{"boolean tokens match", "Patient", "active=true", "p1"},
		{"address parts are strings", "Patient", "address-city=pleasant", "p1"},
		{"ContactPoint tokens match system|value", "Patient", "telecom=phone|555-1234", "p1"},
		{"phone matches the value", "Patient", "phone=555-1234", "p1"},
		{"reference by type/id", "Patient", "general-practitioner=Practitioner/dr1", "p2"},
		{"chained parameter with a type", "Patient", "general-practitioner:Practitioner.name=house", "p2"},
		{"chained parameter resolved over targets", "Patient", "general-practitioner.family=house", "p2"},
		{"chained parameter through organization", "Patient", "organization.name=acme", "p3"},
		{"reverse chaining with _has", "Patient", "_has:Observation:subject:code=http://loinc.org|2339-0", "p1,p2"},
		{"_has with a quantity", "Patient", "_has:Observation:patient:value-quantity=gt120", "p1"},
		{"_id ORs values", "Patient", "_id=p1,p3", "p1,p3"},
		{"_profile matches the canonical", "Patient", "_profile=http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient", "p1"},
		{"uri :below matches prefixes", "Patient", "_profile:below=http://hl7.org/fhir/us/core", "p1"},
		{"_tag matches system|code", "Patient", "_tag=http://example.org/tags|vip", "p2"},
		{"_lastUpdated compares write times", "Patient", "_lastUpdated=gt2000-01-01", "p1,p2,p3"},
		{"LOINC code search", "Observation", "code=http://loinc.org|2339-0", "o1,o2,o4"},
		{"one patient's labs by code", "Observation", "code=2339-0&subject=Patient/p1", "o1,o2"},
		{"patient takes a bare id", "Observation", "patient=p1", "o1,o2"},
		{"reference with a type modifier", "Observation", "subject:Patient=p2", "o3,o4"},
		{"date covers dateTime and Period", "Observation", "date=2020", "o1,o3"},
		{"date ge", "Observation", "date=ge2021-01-01", "o2"},
		{"date lt", "Observation", "date=lt2020-02-01", "o1"},
		{"dateTime with another time zone matches in UTC", "Observation", "date=2021-06-01T06:00:00Z", "o2"},
		{"a day in UTC contains a zoned dateTime", "Observation", "date=2021-06-01", "o2"},
		{"quantity without unit compares the number at its precision", "Observation", "value-quantity=95", "o1"},
		{"quantity in another UCUM unit matches canonically", "Observation", "value-quantity=100|http://unitsofmeasure.org|mg/dL", "o4"},
		{"quantity gt with unit", "Observation", "value-quantity=gt110|http://unitsofmeasure.org|mg/dL", "o2"},
		{"composite matches components of the same element", "Observation", "component-code-value-quantity=http://loinc.org|8480-6$gt100", "o3"},
		{"composite does not mix components of different elements", "Observation", "component-code-value-quantity=http://loinc.org|8462-4$gt100", ""},
		{":text searches code display", "Observation", "code:text=glucose", "o1,o2,o4"},
		{"string from a choice value", "Observation", "value-string=ab", "o5"},
		{":missing on a reference", "Observation", "subject:missing=true", "o5"},
		{":in needs terminology and says so", "Observation", "code:in=http://example.org/vs", "!"},
		{"an unknown parameter is an error under strict handling", "Observation", "colour=red", "!"},
		{"a malformed date is an error", "Observation", "date=2020-13", "!"},
		{"Period within a day", "Encounter", "date=2020-01-15", "e1"},
		{"a second does not contain a three-hour Period", "Encounter", "date=2020-01-15T10:00:00Z", ""},
		{"ap finds nearby dates", "Encounter", "date=ap2020-01-15", "e1"},
		{"number eq at its precision", "RiskAssessment", "probability=0.35", "ra1"},
		{"number gt", "RiskAssessment", "probability=gt0.3", "ra1"},
		{"number lt", "RiskAssessment", "probability=lt0.3", ""},
		{"reference from Provenance target", "Provenance", "target=Observation/o1", "prov1"},
		{"chain several levels", "Provenance", "target:Observation.subject:Patient.name=chalmers", "prov1"},
		{"chain through the patient compartment", "Observation", "subject:Patient.name=muller", "o3,o4"},
		{"chain through patient with another condition", "Observation", "patient.birthdate=1974&code=2339-0", "o1,o2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := runSearch(t, s, tt.typ, tt.query+"&_count=100")
			if tt.want == "!" {
				if err == nil || ehr.ErrorCode(err) != ehr.Invalid {
					t.Fatalf("Search(%s?%s) = %v, want an Invalid error", tt.typ, tt.query, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Search(%s?%s): %v", tt.typ, tt.query, err)
			}
			got := ids(page.Records)
			slices.Sort(got)
			want := []string{}
			if tt.want != "" {
				want = strings.Split(tt.want, ",")
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("Search(%s?%s) = %v, want %v", tt.typ, tt.query, got, want)
			}
		})
	}
}

func testSearchResults(t *testing.T, s ehr.ResourceStore) {
	loadSearchFixture(t, s)
	order := func(typ, query string) []string {
		t.Helper()
		page, err := runSearch(t, s, typ, query)
		if err != nil {
			t.Fatalf("Search(%s?%s): %v", typ, query, err)
		}
		return ids(page.Records)
	}
	sorts := []struct{ query, want string }{
		{"_sort=birthdate", "p1,p2,p3"},
		{"_sort=-birthdate", "p2,p1,p3"},
		{"_sort=family,given", "p1,p3,p2"},
		{"_sort=-_id", "p3,p2,p1"},
	}
	for _, tt := range sorts {
		if got := strings.Join(order("Patient", tt.query), ","); got != tt.want {
			t.Errorf("Search(Patient?%s) order = %s, want %s (missing values last)", tt.query, got, tt.want)
		}
	}

	// Paging through a sorted search with next links, then back with previous.
	var pages [][]string
	var first *ehr.Page
	cursor := ""
	for i := 0; i < 5; i++ {
		q, _ := search.ParseString("Observation", "_sort=-date&_count=2")
		q.Cursor = cursor
		page, err := s.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			first = page
		}
		pages = append(pages, ids(page.Records))
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if got := pagesString(pages); got != "o2,o3|o1,o4|o5" {
		t.Errorf("pages of Observation?_sort=-date&_count=2 = %s, want o2,o3|o1,o4|o5", got)
	}
	if first == nil || first.Prev == "" {
		t.Fatal("the second page has no previous link")
	}
	q, _ := search.ParseString("Observation", "_sort=-date&_count=2")
	q.Cursor = first.Prev
	back, err := s.Search(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids(back.Records), ","); got != "o2,o3" {
		t.Errorf("previous of page 2 = %s, want o2,o3", got)
	}

	// A write before the cursor position must not shift the next page.
	q, _ = search.ParseString("Patient", "_sort=family&_count=1")
	p1, _ := s.Search(ctx, q)
	extra := map[string]any{"resourceType": "Patient", "id": "p0", "name": []any{map[string]any{"family": "Aaron"}}}
	if _, _, err := s.Update(ctx, "Patient", "p0", extra, ehr.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	q.Cursor = p1.Next
	p2, _ := s.Search(ctx, q)
	if strings.Join(ids(p1.Records), ",") != "p1" || strings.Join(ids(p2.Records), ",") != "p3" {
		t.Errorf("paging while writing gave %v then %v, want p1 then p3", ids(p1.Records), ids(p2.Records))
	}

	incl := []struct{ typ, query, match, included string }{
		{"Observation", "_id=o1&_include=Observation:subject", "o1", "p1"},
		{"Observation", "_id=o1&_revinclude=Provenance:target", "o1", "prov1"},
		{"Observation", "_id=o3&_include=Observation:subject&_include:iterate=Patient:general-practitioner", "o3", "p2,dr1"},
		{"Patient", "_id=p1&_revinclude=Observation:subject&_revinclude:iterate=Provenance:target", "p1", "o1,o2,prov1"},
	}
	for _, tt := range incl {
		page, err := runSearch(t, s, tt.typ, tt.query)
		if err != nil {
			t.Fatalf("Search(%s?%s): %v", tt.typ, tt.query, err)
		}
		inc := ids(page.Included)
		slices.Sort(inc)
		want := strings.Split(tt.included, ",")
		slices.Sort(want)
		if strings.Join(ids(page.Records), ",") != tt.match || strings.Join(inc, ",") != strings.Join(want, ",") {
			t.Errorf("Search(%s?%s) = %v + included %v, want %s + %v", tt.typ, tt.query, ids(page.Records), inc, tt.match, want)
		}
	}

	comp := []struct{ typ, want string }{{"Observation", "o1,o2"}, {"Encounter", "e1"}, {"Patient", "p1"}, {"RiskAssessment", "ra1"}}
	for _, tt := range comp {
		q, _ := search.ParseString(tt.typ, "")
		q.Compartment = "Patient/p1"
		page, err := s.Search(ctx, q)
		if err != nil {
			t.Fatalf("compartment search %s: %v", tt.typ, err)
		}
		got := ids(page.Records)
		slices.Sort(got)
		if strings.Join(got, ",") != tt.want {
			t.Errorf("Patient/p1/%s = %v, want %s", tt.typ, got, tt.want)
		}
	}

	q, _ = search.ParseString("Patient", "gender=female&_total=accurate&_count=1")
	page, err := s.Search(ctx, q)
	if err != nil || page.Total != 2 || len(page.Records) != 1 {
		t.Errorf("_total=accurate with _count=1 = total %d, %d records, %v; want 2 and 1", page.Total, len(page.Records), err)
	}
	q, _ = search.ParseString("Patient", "gender=female&colour=red")
	page, err = s.Search(ctx, q)
	if err != nil || len(page.Records) != 2 || strings.Join(q.Ignored, ",") != "colour" {
		t.Errorf("lenient search with an unknown parameter = %d records, ignored %v, %v; want 2 and [colour]", len(page.Records), q.Ignored, err)
	}
}

func pagesString(pages [][]string) string {
	parts := make([]string, len(pages))
	for i, p := range pages {
		parts[i] = strings.Join(p, ",")
	}
	return strings.Join(parts, "|")
}

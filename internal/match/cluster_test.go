package match_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/match"
)

const (
	sourceA = "urn:omnichart:source:a"
	sourceB = "urn:omnichart:source:b"
	sourceC = "urn:omnichart:source:c"
	mrnA    = "urn:oid:2.999.9.1.1"
	mrnB    = "urn:oid:2.999.9.2.1"
	mrnC    = "urn:oid:2.999.9.3.1"
)

// household is what the people of one home share.
func household(p person) person {
	p.line, p.city, p.zip, p.phone = "1820 Liberty Street", "Northampton", "01060", "413-555-9151"
	return p
}

// fixedModel matches with the default model, so that a handful of records
// is scored as a large population would be.
func fixedModel() match.Config {
	cfg := match.DefaultConfig()
	cfg.Model = match.DefaultModel()
	return cfg
}

func persons(r *match.Result) [][]match.Ref {
	var out [][]match.Ref
	for _, p := range r.Persons {
		out = append(out, p.Records)
	}
	return out
}

func ref(source, id string) match.Ref { return match.Ref{Source: source, ID: id} }

func TestHardNegativesStayApart(t *testing.T) {
	emma := household(person{given: []string{"Emma"}, family: "Novak", birth: "2010-04-04", sex: "female"})
	olivia := emma
	olivia.given = []string{"Olivia"}
	anna := household(person{given: []string{"Anna"}, family: "Kowalski", birth: "2001-04-04", sex: "female"})
	piotr := anna
	piotr.given, piotr.sex = []string{"Piotr"}, "male"
	sr := household(person{given: []string{"John", "Paul"}, family: "Smith", suffix: "Sr", birth: "1950-03-02", sex: "male"})
	jr := sr
	jr.suffix, jr.birth = "Jr", "1978-07-19"
	noSuffix := func(p person) person { p.suffix = ""; return p }
	withMRN := func(p person, system, mrn string) person { p.system, p.mrn = system, mrn; return p }
	tests := []struct {
		name    string
		records []match.Record
		want    [][]match.Ref
	}{
		{
			name: "twins of one sex at two sources are two persons",
			records: []match.Record{
				withMRN(emma, mrnA, "1").record(sourceA, "1"), withMRN(olivia, mrnA, "2").record(sourceA, "2"),
				withMRN(emma, mrnB, "7").record(sourceB, "7"), withMRN(olivia, mrnB, "8").record(sourceB, "8"),
			},
			want: [][]match.Ref{{ref(sourceA, "1"), ref(sourceB, "7")}, {ref(sourceA, "2"), ref(sourceB, "8")}},
		},
		{
			name: "twins without identifiers at two sources are two persons",
			records: []match.Record{
				emma.record(sourceA, "1"), olivia.record(sourceB, "8"),
			},
			want: [][]match.Ref{{ref(sourceA, "1")}, {ref(sourceB, "8")}},
		},
		{
			name: "twins of two sexes are two persons",
			records: []match.Record{
				anna.record(sourceA, "1"), piotr.record(sourceB, "2"), anna.record(sourceC, "3"),
			},
			want: [][]match.Ref{{ref(sourceA, "1"), ref(sourceC, "3")}, {ref(sourceB, "2")}},
		},
		{
			name: "father and son of one name are two persons, with or without their suffixes",
			records: []match.Record{
				sr.record(sourceA, "1"), noSuffix(sr).record(sourceB, "2"),
				jr.record(sourceA, "3"), noSuffix(jr).record(sourceC, "4"),
			},
			want: [][]match.Ref{{ref(sourceA, "1"), ref(sourceB, "2")}, {ref(sourceA, "3"), ref(sourceC, "4")}},
		},
		{
			name: "father and son without suffixes at all are two persons",
			records: []match.Record{
				noSuffix(sr).record(sourceB, "2"), noSuffix(jr).record(sourceC, "4"),
			},
			want: [][]match.Ref{{ref(sourceB, "2")}, {ref(sourceC, "4")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := match.Batch(tt.records, fixedModel())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, persons(r)); diff != "" {
				t.Errorf("Batch() persons mismatch (-want +got):\n%s", diff)
				for _, p := range r.Pairs {
					t.Log(p.Explain())
				}
			}
		})
	}
}

// TestClusteringDoesNotChain: a record with only an initial for a given name
// fits both twins, and scores above the upper threshold with each. Linking
// both pairs would make one person of the twins, whose records conflict; so
// one pair is linked and the other sent to review, naming the clash.
func TestClusteringDoesNotChain(t *testing.T) {
	mary := household(person{given: []string{"Mary"}, family: "OConnor", birth: "2003-12-13", sex: "female", system: mrnA, mrn: "1"})
	maria := mary
	maria.given, maria.mrn = []string{"Maria"}, "2"
	initial := mary
	initial.given, initial.system, initial.mrn = []string{"M"}, mrnB, "9"
	records := []match.Record{mary.record(sourceA, "1"), maria.record(sourceA, "2"), initial.record(sourceB, "9")}
	r, err := match.Batch(records, fixedModel())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Persons {
		if len(p.Records) > 1 && p.Records[0] == ref(sourceA, "1") && p.Records[1] == ref(sourceA, "2") {
			t.Fatalf("Batch() made one person of the twins: %v", p.Records)
		}
	}
	var links, splits int
	for _, p := range r.Pairs {
		switch {
		case p.B == ref(sourceB, "9") && p.Decision == match.Link:
			links++
		case p.B == ref(sourceB, "9") && p.Rule == match.RuleSplit:
			splits++
			if p.Clash != [2]match.Ref{ref(sourceA, "1"), ref(sourceA, "2")} {
				t.Errorf("split pair %s ~ %s names the clash %v, want the twins", p.A, p.B, p.Clash)
			}
		case p.B == ref(sourceA, "2"):
			if p.Decision == match.Link || len(p.Conflicts) == 0 {
				t.Errorf("twins pair: %s with conflicts %v, want no link and conflicts", p.Decision, p.Conflicts)
			}
		}
	}
	if links != 1 || splits != 1 {
		t.Errorf("Batch(): the initial record has %d links and %d splits, want one of each\n%v", links, splits, r.Pairs)
	}
}

func TestSamePersonLinks(t *testing.T) {
	william := household(person{given: []string{"William", "Henry"}, family: "Wilson", birth: "1961-08-09", sex: "male"})
	bill := william
	bill.given = []string{"Bill", "H"}
	swapped := william
	swapped.birth = "1961-09-08"
	married := household(person{given: []string{"Elizabeth"}, family: "King", maiden: "Brown", birth: "1990-09-14", sex: "female", ssn: "931-65-8832"})
	maiden := married
	maiden.family, maiden.maiden, maiden.line, maiden.phone = "BROWN", "", "12 Elm St", ""
	tests := []struct {
		name    string
		records []match.Record
	}{
		{"a nickname and a middle initial", []match.Record{william.record(sourceA, "1"), bill.record(sourceB, "2")}},
		{"day and month of birth swapped", []match.Record{william.record(sourceA, "1"), swapped.record(sourceB, "2")}},
		{"a maiden name and an old address, with one SSN", []match.Record{married.record(sourceA, "1"), maiden.record(sourceB, "2")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := match.Batch(tt.records, fixedModel())
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Persons) != 1 {
				t.Errorf("Batch() = %d persons, want 1", len(r.Persons))
				for _, p := range r.Pairs {
					t.Log(p.Explain())
				}
			}
		})
	}
}

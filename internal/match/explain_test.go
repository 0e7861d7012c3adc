package match_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/match"
)

// TestExplain checks that an explanation adds up to the score, names every
// field once, and reads as the documented table.
func TestExplain(t *testing.T) {
	william := household(person{given: []string{"William"}, family: "Wilson", birth: "1961-08-09", sex: "male", ssn: "931-65-8832"})
	bill := william
	bill.given, bill.ssn = []string{"Bill"}, ""
	r, err := match.Batch([]match.Record{william.record(sourceA, "1"), bill.record(sourceB, "2")}, fixedModel())
	if err != nil {
		t.Fatal(err)
	}
	e := r.Pairs[0].Explain()
	var sum float64
	for _, c := range e.Fields {
		sum += c.Weight
	}
	if math.Abs(sum-e.Score) > 1e-9 {
		t.Errorf("Explain() field weights add up to %v, want the score %v", sum, e.Score)
	}
	if len(e.Fields) != 12 {
		t.Errorf("Explain() has %d fields, want 12", len(e.Fields))
	}
	want := []string{
		"Patient/1@urn:omnichart:source:a ~ Patient/2@urn:omnichart:source:b: score 9.6 (upper 5, lower 2): link by threshold",
		"  given             nickname     +3.9  (m 0.09 u 0.006)",
		"  family            exact        +0.5  (m 0.79 u 0.56)",
		"  middle            missing         0",
		"  birthDate         exact        +3.5  (m 0.96 u 0.085)",
		"  strongIdentifier  missing         0",
		"  phone             same         +0.2  (m 0.999 u 0.89)",
	}
	got := e.String()
	for _, line := range want {
		if !strings.Contains(got, line+"\n") {
			t.Errorf("Explain().String() lacks the line %q; it is:\n%s", line, got)
		}
	}
	for _, value := range []string{"Wilson", "William", "1961", "4135559151", "931"} {
		if strings.Contains(strings.ToLower(got), strings.ToLower(value)) {
			t.Errorf("Explain().String() holds the value %q", value)
		}
	}
}

func TestReviewTask(t *testing.T) {
	// A married name and another address: the same woman, or another Mary
	// born that day.
	mary := household(person{given: []string{"Mary"}, family: "Harris", birth: "1980-03-30", sex: "female"})
	other := person{given: []string{"Mary"}, family: "Thomas", birth: "1980-03-30", sex: "female",
		line: "12 Elm Street", city: "Palmer", zip: "01069"}
	r, err := match.Batch([]match.Record{mary.record(sourceA, "1"), other.record(sourceB, "2")}, fixedModel())
	if err != nil {
		t.Fatal(err)
	}
	p := r.Pairs[0]
	if p.Decision != match.Review {
		t.Fatalf("Batch() decided %s, want review:\n%s", p.Decision, p.Explain())
	}
	task := p.ReviewTask()
	data, err := fhir.Marshal(task)
	if err != nil {
		t.Fatalf("Marshal(ReviewTask()) error = %v", err)
	}
	for _, want := range []string{`"code":"match-review"`, `"focus":{"reference":"Patient/1"}`, `"valueReference":{"reference":"Patient/1"}`, `"valueReference":{"reference":"Patient/2"}`, `"valueDecimal":`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("ReviewTask() = %s, want it to contain %s", data, want)
		}
	}
}

func TestPersonLinks(t *testing.T) {
	william := household(person{given: []string{"William"}, family: "Wilson", birth: "1961-08-09", sex: "male"})
	bill := william
	bill.given = []string{"Bill"}
	r, err := match.Batch([]match.Record{william.record(sourceA, "1"), bill.record(sourceB, "2")}, fixedModel())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	links := r.PersonLinks(func(match.Person) string { return "Person/p1" }, at)
	if len(links) != 2 {
		t.Fatalf("PersonLinks() = %d links, want 2", len(links))
	}
	for i, l := range links {
		if l.Person != "Person/p1" || l.Patient != r.Persons[0].Records[i].Reference() || l.Source != r.Persons[0].Records[i].Source ||
			l.Assurance != ehr.AssuranceLevel3 || l.Score != r.Pairs[0].Score || !l.Decided.Equal(at) || l.Reviewer != "" {
			t.Errorf("PersonLinks()[%d] = %+v, want an automatic level3 link of %s with the pair's score", i, l, r.Persons[0].Records[i])
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*match.Config)
		ok     bool
	}{
		{"the default is valid", func(*match.Config) {}, true},
		{"a lower threshold above the upper is refused", func(c *match.Config) { c.Lower = c.Upper + 1 }, false},
		{"a block of one is refused", func(c *match.Config) { c.MaxBlock = 1 }, false},
		{"an override of a known level is valid", func(c *match.Config) {
			c.Overrides = []match.Override{{Field: "given", Level: "nickname", M: 0.1, U: 0.01}}
		}, true},
		{"an override of an unknown level is refused", func(c *match.Config) {
			c.Overrides = []match.Override{{Field: "given", Level: "rhymes", M: 0.1, U: 0.01}}
		}, false},
		{"an override with m of 1 is refused", func(c *match.Config) {
			c.Overrides = []match.Override{{Field: "sex", Level: "same", M: 1, U: 0.5}}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := match.DefaultConfig()
			tt.change(&cfg)
			if err := cfg.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tt.ok)
			}
			if _, err := match.Batch(nil, cfg); (err == nil) != tt.ok || (err != nil && ehr.ErrorCode(err) != ehr.Invalid) {
				t.Errorf("Batch() error = %v, want ok %v or Invalid", err, tt.ok)
			}
		})
	}
}

package search_test

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/fhir/search"
)

// values returns n distinct token values joined with commas.
func values(n int) string {
	v := make([]string, n)
	for i := range v {
		v[i] = fmt.Sprintf("http://loinc.org|%d-%d", i, i%10)
	}
	return strings.Join(v, ",")
}

func TestCheckLimitsRefusesWhatPassesALimitAndNamesIt(t *testing.T) {
	reg := search.NewRegistry()
	tests := []struct {
		name  string
		typ   string
		query string
		limit string // the limit the error must name; "" for none
	}{
		{"a plain search passes", "Patient", "name=x&birthdate=ge1970", ""},
		{"a chain two links deep passes", "Observation", "subject:Patient.organization.name=x", ""},
		{"_has three levels deep passes", "Patient", strings.Repeat("_has:Observation:patient:", 3) + "code=x", ""},
		{"_has eight levels deep is refused", "Patient", strings.Repeat("_has:Observation:patient:", 8) + "code=x", search.LimitDepth},
		{"a chain twelve links deep is refused", "Patient", "link" + strings.Repeat(".link", 11) + ".name=x", search.LimitDepth},
		{"_has and a chain count together", "Patient", "_has:Observation:patient:subject:Patient.link.link.name=x", search.LimitDepth},
		{"twenty parameters pass", "Patient", strings.Repeat("name=x&", 20), ""},
		{"twenty-one parameters are refused", "Patient", strings.Repeat("name=x&", 21), search.LimitParams},
		{"thirty chain parameters are refused", "Observation", strings.Repeat("subject:Patient.name=x&", 30), search.LimitParams},
		{"a hundred OR values pass", "Observation", "code=" + values(100), ""},
		{"four thousand OR values are refused", "Observation", "code=" + values(4000), search.LimitValues},
		{"eleven hundred values in all are refused", "Observation", strings.Repeat("code="+values(100)+"&", 11), search.LimitTotalValues},
		{"values count once per type a chain searches", "Observation", strings.Repeat("subject.name="+strings.Repeat("x,", 99)+"x&", 6), search.LimitTotalValues},
		{"a chain to any resource type is refused", "Provenance", "target.name=x", search.LimitJoins},
		{"the same chain to one type passes", "Provenance", "target:Patient.name=x", ""},
		{"five sort keys pass", "Patient", "_sort=name,-birthdate,family,given,_lastUpdated", ""},
		{"a hundred sort keys are refused", "Patient", "_sort=" + strings.Repeat("name,", 99) + "name", search.LimitSortKeys},
		{"ten includes pass", "Observation", strings.Repeat("_include=Observation:subject&", 10), ""},
		{"eleven includes are refused", "Observation", strings.Repeat("_include=Observation:subject&", 6) + strings.Repeat("_revinclude=Provenance:target&", 5), search.LimitIncludes},
		{"a value of 5000 bytes is refused", "Patient", "name=" + strings.Repeat("a", 5000), search.LimitValueLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := search.ParseString(tt.typ, tt.query)
			if err != nil {
				t.Fatal(err)
			}
			err = reg.CheckLimits(q, search.Limits{})
			var le *search.LimitError
			switch {
			case tt.limit == "" && err != nil:
				t.Fatalf("CheckLimits(%.60s) = %v, want nil", tt.query, err)
			case tt.limit == "":
				return
			case !errors.As(err, &le):
				t.Fatalf("CheckLimits(%.60s) = %v, want a *LimitError", tt.query, err)
			case le.Limit != tt.limit || !strings.Contains(err.Error(), tt.limit):
				t.Fatalf("CheckLimits(%.60s) = %q naming %s, want it to name %s", tt.query, err, le.Limit, tt.limit)
			}
			if strings.Contains(err.Error(), "loinc") || len(err.Error()) > 400 {
				t.Errorf("CheckLimits(%.60s) = %q, want no search value and a short message", tt.query, err)
			}
		})
	}
}

func TestCheckLimitsTakesRaisedLimits(t *testing.T) {
	q, err := search.ParseString("Patient", strings.Repeat("_has:Observation:patient:", 8)+"code=x")
	if err != nil {
		t.Fatal(err)
	}
	if err := search.NewRegistry().CheckLimits(q, search.Limits{Depth: 8, Joins: 8}); err != nil {
		t.Errorf("CheckLimits(8 levels of _has) with Depth 8 = %v, want nil", err)
	}
}

func TestDepthCountsChainLinksAndHasLevels(t *testing.T) {
	tests := []struct {
		name, key string
		want      int
	}{
		{"a plain parameter is 0 deep", "name", 0},
		{"a modifier adds nothing", "code:text", 0},
		{"a chain of one link is 1 deep", "subject.name", 1},
		{"a typed chain of two links is 2 deep", "subject:Patient.organization.name", 2},
		{"one _has is 1 deep", "_has:Observation:patient:code", 1},
		{"nested _has count each level", "_has:Observation:patient:_has:Provenance:target:agent", 2},
		{"a chain inside _has counts both", "_has:Observation:patient:subject.name", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := url.Values{tt.key: {"x"}}
			q, err := search.Parse("Patient", values)
			if err != nil {
				t.Fatal(err)
			}
			if got := search.Depth(q.Params[0]); got != tt.want {
				t.Errorf("Depth(%s) = %d, want %d", tt.key, got, tt.want)
			}
		})
	}
}

func TestSearchedTypesFollowsChainsAndHas(t *testing.T) {
	reg := search.NewRegistry()
	tests := []struct {
		name, typ, query string
		want             []string
	}{
		{"a plain search reads its own type", "Patient", "identifier=x", []string{"Patient"}},
		{"a typed chain reads its target", "Observation", "subject:Patient.name=x", []string{"Observation", "Patient"}},
		{"_has reads the referring type", "Patient", "_has:Observation:patient:code=x", []string{"Observation", "Patient"}},
		{"_has inside _has reads both", "Patient", "_has:Observation:patient:_has:Provenance:target:agent=x", []string{"Observation", "Patient", "Provenance"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := search.ParseString(tt.typ, tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, reg.SearchedTypes(q)); diff != "" {
				t.Errorf("SearchedTypes(%s?%s) mismatch (-want +got):\n%s", tt.typ, tt.query, diff)
			}
		})
	}
	if got := reg.SearchedTypes(&search.Query{}); got != nil {
		t.Errorf("SearchedTypes(system search) = %v, want nil (every type)", got)
	}
}

func TestCountZeroAsksForTheTotalOnly(t *testing.T) {
	q, err := search.ParseString("Patient", "name=x&_count=0")
	if err != nil {
		t.Fatal(err)
	}
	if !q.TotalOnly() || !q.CountZero {
		t.Fatalf("ParseString(_count=0) TotalOnly = %v, CountZero = %v; want both true", q.TotalOnly(), q.CountZero)
	}
	if got := q.Encode().Get("_count"); got != "0" {
		t.Errorf("Encode of _count=0 has _count=%q, want 0", got)
	}
	q, _ = search.ParseString("Patient", "name=x&_count=5")
	if q.TotalOnly() {
		t.Errorf("ParseString(_count=5) TotalOnly = true, want false")
	}
}

func TestParseRefusesValuesThatAreNotText(t *testing.T) {
	for _, query := range []string{"name=%FF", "name=a%00b", "_type=%C3"} {
		if _, err := search.ParseString("", query); err == nil {
			t.Errorf("ParseString(%s) = nil error, want one", query)
		}
	}
}

package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"omnichart/internal/directory"
)

// smallDirectory is three products and one endpoint list, written by hand:
//
//	chpl-1 Alpha EHR 2.0 (Alpha Inc.)  Active    2023-05-01  (b)(1) (b)(2) (g)(10)
//	chpl-2 Alpha Lite 1.0 (Alpha Inc.) Active    2021-02-01  (b)(1) (f)(1)
//	chpl-3 Beta Chart 7 (Beta LLC)     Withdrawn 2022-03-01  (a)(10) (b)(2) (g)(10)
//
// chpl-1 and chpl-2 publish the list alpha.json: three organizations' endpoints.
func smallDirectory() *directory.Snapshot {
	crit := func(ns ...string) []directory.Criterion {
		var out []directory.Criterion
		for _, n := range ns {
			out = append(out, directory.Criterion{Number: "170.315 " + n})
		}
		return out
	}
	list := directory.List{URL: "https://alpha.example/fhir-list", Developer: "Alpha Inc.", FileName: "alpha.json", Endpoints: []directory.Endpoint{
		{URL: "https://alpha.example/r4/elm", OrganizationName: "Elm Clinic", ZIP: "01002"},
		{URL: "https://alpha.example/r4/oak", OrganizationName: "Oak Hospital", ZIP: "01003"},
		{URL: "https://alpha.example/dstu2/pine", OrganizationName: "Pine Practice", ZIP: "01004"},
	}}
	return &directory.Snapshot{Lists: []directory.List{list}, Products: []directory.Product{
		{ListingID: 1, CHPLNumber: "15.04.04.0001.ALPH.02.00.1.230501", DeveloperID: 10, Developer: "Alpha Inc.", Name: "Alpha EHR", Version: "2.0",
			CertificationDate: "2023-05-01", Status: "Active", Criteria: crit("(b)(1)", "(b)(2)", "(g)(10)"), ListURL: list.URL,
			APIDocs: []directory.APIDoc{{Criterion: "170.315 (g)(10)", URL: "https://alpha.example/docs"}}},
		{ListingID: 2, CHPLNumber: "15.04.04.0001.ALPL.01.00.1.210201", DeveloperID: 10, Developer: "Alpha Inc.", Name: "Alpha Lite", Version: "1.0",
			CertificationDate: "2021-02-01", Status: "Active", Criteria: crit("(b)(1)", "(f)(1)"), ListURL: list.URL},
		{ListingID: 3, CHPLNumber: "15.04.04.0002.BETA.07.00.1.220301", DeveloperID: 20, Developer: "Beta LLC", Name: "Beta Chart", Version: "7",
			CertificationDate: "2022-03-01", Status: "Withdrawn by Developer", Criteria: crit("(b)(2)", "(g)(10)", "(a)(10)")},
	}}
}

func (e *env) loadDirectory() {
	e.t.Helper()
	if _, err := directory.Load(system(), e.svc, smallDirectory()); err != nil {
		e.t.Fatalf("directory.Load: %v", err)
	}
}

var productLink = regexp.MustCompile(`href="/directory/products/([^"]+)"`)

func TestDirectoryPages(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	e.loadDirectory()
	b := e.browser()
	b.mustSignIn(clinician)
	for _, tc := range []struct {
		name, query string
		want        string
	}{
		{"active products meeting (g)(10)", "criterion=" + url.QueryEscape("170.315 (g)(10)") + "&status=Active", "chpl-1"},
		{"any product meeting (g)(10) and (b)(2), newest first", "criterion=" + url.QueryEscape("170.315 (g)(10)") + "&criterion=" + url.QueryEscape("170.315 (b)(2)") + "&status=any", "chpl-1,chpl-3"},
		{"a developer's products by name", "developer=alpha&status=any&sort=name", "chpl-1,chpl-2"},
	} {
		status, body, _ := b.get("/directory?" + tc.query)
		if status != http.StatusOK {
			t.Fatalf("%s: %d\n%s", tc.name, status, body)
		}
		var ids []string
		for _, m := range productLink.FindAllStringSubmatch(body, -1) {
			ids = append(ids, m[1])
		}
		if strings.Join(ids, ",") != tc.want {
			t.Errorf("%s: products %v, want %s", tc.name, ids, tc.want)
		}
	}
	_, body, _ := b.get("/directory")
	contains(t, "the directory's search form", body, `<abbr title="Fast Healthcare Interoperability Resources">FHIR</abbr>`)
	contains(t, "the directory's search form", body, `href="/directory/glossary"`)

	_, body, _ = b.get("/directory/products/chpl-2")
	for _, w := range []string{"Alpha Lite 1.0", "Alpha Inc.", "170.315 (f)(1)", "immunizations", "Elm Clinic", "Oak Hospital", "Pine Practice", "01003",
		"https://alpha.example/r4/elm", `<abbr title="Vaccination Record Update">VXU</abbr>`} {
		contains(t, "the product page of chpl-2", body, w)
	}
	if strings.Count(body, "<td>4.0</td>") != 2 || strings.Count(body, "<td>1.0</td>") != 1 {
		t.Errorf("the product page shows FHIR versions 4.0 ×%d and 1.0 ×%d, want 2 and 1 (two r4 addresses, one dstu2)", strings.Count(body, "<td>4.0</td>"), strings.Count(body, "<td>1.0</td>"))
	}

	_, body, _ = b.get("/directory/compare?id=chpl-1&id=chpl-3")
	rows := regexp.MustCompile(`(?s)<tr><th scope="row">([^<]+)</th>.*?</tr>`).FindAllStringSubmatch(body, -1)
	want := map[string]string{"(a)(10)": "—✓", "(b)(1)": "✓—", "(b)(2)": "✓✓", "(g)(10)": "✓✓"}
	if len(rows) != len(want) {
		t.Errorf("the comparison has %d rows, want %d", len(rows), len(want))
	}
	for _, r := range rows {
		marks := regexp.MustCompile(`✓|—`).FindAllString(r[0], -1)
		if key := strings.TrimPrefix(r[1], "170.315 "); strings.Join(marks, "") != want[key] {
			t.Errorf("comparison row %s: %v, want %s (chpl-1 then chpl-3)", key, marks, want[key])
		}
	}
	if status, _, _ := b.get("/directory/compare?id=chpl-1"); status != http.StatusBadRequest {
		t.Errorf("comparing one product = %d, want 400", status)
	}

	_, body, _ = b.get("/directory/glossary")
	n := 0
	for _, term := range directory.Glossary {
		n++
		contains(t, "the glossary", body, `id="term-`+term.Abbreviation+`"`)
	}
	if n < 15 {
		t.Fatalf("the glossary has %d terms", n)
	}
	if status, _, _ := b.get("/directory/products/chpl-99"); status != http.StatusNotFound {
		t.Errorf("a missing product = %d, want 404", status)
	}
}

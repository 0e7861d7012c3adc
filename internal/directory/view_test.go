package directory_test

import (
	"context"
	"strings"
	"testing"

	"omnichart/internal/directory"
	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

// smallSnapshot is three products of two developers and one endpoint list of
// five organizations, written by hand:
//
//	chpl-1 Alpha EHR 2.0 (Alpha Inc.)  Active    2023-05-01  (b)(1) (b)(2) (g)(10)
//	chpl-2 Alpha Lite 1.0 (Alpha Inc.) Active    2021-02-01  (b)(1) (f)(1)
//	chpl-3 Beta Chart 7 (Beta LLC)     Withdrawn 2022-03-01  (b)(2) (g)(10) (a)(10)
//
// chpl-1 and chpl-2 publish the list alpha.json with five endpoints.
func smallSnapshot() *directory.Snapshot {
	crit := func(ns ...string) []directory.Criterion {
		var out []directory.Criterion
		for _, n := range ns {
			out = append(out, directory.Criterion{Number: "170.315 " + n})
		}
		return out
	}
	list := directory.List{URL: "https://alpha.example/fhir-list", Developer: "Alpha Inc.", FileName: "alpha.json"}
	for i, org := range []string{"Elm Clinic", "Oak Hospital", "Pine Practice", "Ash Clinic", "Birch Center"} {
		list.Endpoints = append(list.Endpoints, directory.Endpoint{URL: "https://alpha.example/r4/" + string(rune('a'+i)), OrganizationName: org, ZIP: "0100" + string(rune('1'+i))})
	}
	return &directory.Snapshot{
		Products: []directory.Product{
			{ListingID: 1, CHPLNumber: "15.04.04.0001.ALPH.02.00.1.230501", Edition: "2015", DeveloperID: 10, Developer: "Alpha Inc.", Name: "Alpha EHR", Version: "2.0",
				CertificationDate: "2023-05-01", Status: "Active", Criteria: crit("(b)(1)", "(b)(2)", "(g)(10)"), ListURL: list.URL,
				APIDocs: []directory.APIDoc{{Criterion: "170.315 (g)(10)", URL: "https://alpha.example/docs"}}},
			{ListingID: 2, CHPLNumber: "15.04.04.0001.ALPL.01.00.1.210201", Edition: "2015", DeveloperID: 10, Developer: "Alpha Inc.", Name: "Alpha Lite", Version: "1.0",
				CertificationDate: "2021-02-01", Status: "Active", Criteria: crit("(b)(1)", "(f)(1)"), ListURL: list.URL},
			{ListingID: 3, CHPLNumber: "15.04.04.0002.BETA.07.00.1.220301", Edition: "2015", DeveloperID: 20, Developer: "Beta LLC", Name: "Beta Chart", Version: "7",
				CertificationDate: "2022-03-01", Status: "Withdrawn by Developer", Criteria: crit("(b)(2)", "(g)(10)", "(a)(10)")},
		},
		Lists: []directory.List{list},
	}
}

func TestDirectoryQuestionsOnASmallSnapshot(t *testing.T) {
	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			svc := service.New(st, service.Options{})
			ctx := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "admin", System: true})
			if _, err := directory.Load(ctx, svc, smallSnapshot()); err != nil {
				t.Fatal(err)
			}
			ids := func(p *directory.ProductPage) string {
				var out []string
				for _, v := range p.Products {
					out = append(out, v.ID)
				}
				return strings.Join(out, ",")
			}
			for _, tc := range []struct {
				name string
				q    directory.ProductQuery
				want string
			}{
				{"active products meeting (b)(2) and (g)(10)", directory.ProductQuery{Criteria: []string{"170.315 (b)(2)", "170.315 (g)(10)"}, Status: "Active"}, "chpl-1"},
				{"any product meeting (g)(10), newest certification first", directory.ProductQuery{Criteria: []string{"170.315 (g)(10)"}}, "chpl-1,chpl-3"},
				{"a developer's products by name", directory.ProductQuery{Developer: "alpha", ByName: true}, "chpl-1,chpl-2"},
				{"every product, newest first", directory.ProductQuery{}, "chpl-1,chpl-3,chpl-2"},
			} {
				page, err := directory.FindProducts(ctx, svc, tc.q)
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if got := ids(page); got != tc.want || page.Total != len(strings.Split(tc.want, ",")) {
					t.Errorf("%s: %s (total %d), want %s", tc.name, got, page.Total, tc.want)
				}
			}
			p, err := directory.FindProduct(ctx, svc, "chpl-1")
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != "Alpha EHR" || p.Developer != "Alpha Inc." || p.Status != "Active" || p.CertificationDate != "2023-05-01" ||
				len(p.Criteria) != 3 || p.Criteria[2].Number != "170.315 (g)(10)" || p.Criteria[2].Words == "" ||
				len(p.Documentation) != 1 || p.Documentation[0].URL != "https://alpha.example/docs" || len(p.Interfaces) != 2 {
				t.Errorf("FindProduct(chpl-1) = %+v", p)
			}
			var seen []string
			cursor := ""
			for pages := 0; ; pages++ {
				ep, err := directory.ProductEndpoints(ctx, svc, "chpl-2", 2, cursor)
				if err != nil {
					t.Fatal(err)
				}
				if ep.Total != 5 {
					t.Errorf("endpoints of chpl-2: total %d, want 5", ep.Total)
				}
				for _, e := range ep.Endpoints {
					if e.FHIRVersion != "4.0" || e.ZIP == "" || e.OrganizationID == "" {
						t.Errorf("endpoint %+v: want FHIR 4.0, a ZIP code and its organization", e)
					}
					seen = append(seen, e.Organization)
				}
				if ep.Next == "" || pages > 5 {
					break
				}
				cursor = ep.Next
			}
			if strings.Join(seen, ",") != "Ash Clinic,Birch Center,Elm Clinic,Oak Hospital,Pine Practice" {
				t.Errorf("endpoints of chpl-2 by name, two a page: %v", seen)
			}
			cmp, err := directory.Compare(ctx, svc, []string{"chpl-1", "chpl-3"})
			if err != nil {
				t.Fatal(err)
			}
			var rows []string
			for _, r := range cmp.Rows {
				mark := ""
				for _, m := range r.Meets {
					mark += map[bool]string{true: "y", false: "n"}[m]
				}
				rows = append(rows, strings.TrimPrefix(r.Criterion.Number, "170.315 ")+"="+mark)
				if r.Criterion.Words == "" {
					t.Errorf("comparison row %s has no plain words", r.Criterion.Number)
				}
			}
			if got := strings.Join(rows, " "); got != "(a)(10)=ny (b)(1)=yn (b)(2)=yy (g)(10)=yy" {
				t.Errorf("Compare(chpl-1, chpl-3) rows = %s", got)
			}
			if _, err := directory.Compare(ctx, svc, []string{"chpl-1"}); ehr.ErrorCode(err) != ehr.Invalid {
				t.Errorf("Compare of one product = %v, want Invalid", err)
			}
			if _, err := directory.FindProduct(ctx, svc, "chpl-99"); ehr.ErrorCode(err) != ehr.NotFound {
				t.Errorf("FindProduct(chpl-99) = %v, want NotFound", err)
			}
		})
	}
}

package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"omnichart/internal/fhir/search"
)

// TestOperatorsRegisterSourcesWithTheirDirectoryPlace: the sources page's form
// registers a source with the product and endpoint it runs from the EMR
// directory (shown on the page from then on), keeps what was entered and says
// why when the product is not in the directory or the slug is taken, registers
// a source whose product the directory does not list, and is refused to a
// clinician.
func TestOperatorsRegisterSourcesWithTheirDirectoryPlace(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	e.loadDirectory()
	q, err := search.ParseString("Endpoint", "_count=100")
	if err != nil {
		t.Fatal(err)
	}
	page, err := e.svc.Search(system(), q)
	if err != nil {
		t.Fatal(err)
	}
	endpoint := ""
	for _, r := range page.Records {
		if strings.Contains(string(r.Resource), `"address":"https://alpha.example/r4/elm"`) {
			endpoint = "Endpoint/" + r.ID
		}
	}
	if endpoint == "" {
		t.Fatalf("no Endpoint of the Elm Clinic among %d", len(page.Records))
	}

	b := e.browser()
	b.mustSignIn(operator)
	_, body, _ := b.get("/ops/sources")
	contains(t, "the sources page", body, "Register a source", `name="directory_product"`)
	add := func(fields url.Values) (int, string) {
		t.Helper()
		_, page, _ := b.get("/ops/sources")
		fields.Set("csrf", csrf(t, page))
		status, body, resp := b.post("/ops/sources", fields)
		if status == http.StatusSeeOther {
			status, body, _ = b.get(resp.Header.Get("Location"))
		}
		return status, body
	}

	status, body := add(url.Values{"slug": {"elm-clinic"}, "name": {"Elm Clinic"}, "directory_product": {"15.04.04.0001.ALPH.02.00.1.230501"},
		"directory_endpoint": {endpoint}})
	if status != http.StatusOK || !strings.Contains(body, "Source elm-clinic registered") {
		t.Fatalf("registering Elm Clinic: %d\n%s", status, body)
	}
	row := body[strings.Index(body, "Elm Clinic <span"):]
	row = row[:strings.Index(row, "</tr>")]
	contains(t, "Elm Clinic's row", row, "Alpha EHR", "Alpha Inc.", "https://alpha.example/r4/elm")

	status, body = add(url.Values{"slug": {"oak"}, "name": {"Oak Hospital"}, "directory_product": {"15.04.04.9999.NONE.01.00.1.200101"}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "is not a product of the EMR directory") ||
		!strings.Contains(body, `value="Oak Hospital"`) {
		t.Errorf("a product the directory does not list: %d\n%s", status, body)
	}
	status, body = add(url.Values{"slug": {"elm-clinic"}, "name": {"Elm Clinic again"}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, `value="Elm Clinic again"`) {
		t.Errorf("a slug already taken: %d\n%s", status, body)
	}
	status, body = add(url.Values{"slug": {"maple"}, "name": {"Maple Practice"}, "vendor": {"Homegrown"}, "product": {"Maple EMR"}})
	if status != http.StatusOK || !strings.Contains(body, "Maple EMR (not in the directory)") {
		t.Errorf("a source whose product is not in the directory: %d\n%s", status, body)
	}

	c := e.browser()
	c.mustSignIn(clinician)
	_, home, _ := c.get("/")
	if status, _, _ := c.post("/ops/sources", url.Values{"csrf": {csrf(t, home)}, "slug": {"sneaky"}, "name": {"Sneaky"}}); status != http.StatusForbidden {
		t.Errorf("a clinician registering a source: %d, want 403", status)
	}
	_, body, _ = b.get("/ops/sources")
	if strings.Contains(body, "Sneaky") {
		t.Error("a clinician's refused registration shows on the sources page")
	}
}

package directory_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"omnichart/internal/directory"
	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir/search"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

// rawSnapshot is the shared snapshot read as plain JSON, without the package's
// reader: the counts the tests expect are worked out from it here, by the rules
// docs/directory.md states, so that the reader and the mapping are checked
// against the files themselves.
type rawSnapshot struct {
	products  []map[string]any // every softwareProducts entry, once per CHPL listing id
	lists     []map[string]any // CHPLEndpointResourcesList.json
	endpoints map[string][]map[string]any
}

func readRaw(t *testing.T, dir string) rawSnapshot {
	t.Helper()
	var raw rawSnapshot
	var infos []map[string]any
	mustJSON(t, filepath.Join(dir, "CHPLProductsInfo.json"), &infos)
	seen := map[float64]bool{}
	for _, info := range infos {
		for _, p := range info["softwareProducts"].([]any) {
			pm := p.(map[string]any)
			if id := pm["id"].(float64); !seen[id] {
				seen[id] = true
				pm["listSourceURL"] = info["listSourceURL"]
				raw.products = append(raw.products, pm)
			}
		}
	}
	mustJSON(t, filepath.Join(dir, "CHPLEndpointResourcesList.json"), &raw.lists)
	raw.endpoints = map[string][]map[string]any{}
	for _, l := range raw.lists {
		name := l["FileName"].(string)
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || strings.TrimSpace(string(data)) == "" {
			continue // a list Lantern did not fetch, or an empty one
		}
		var f struct{ Endpoints []map[string]any }
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		raw.endpoints[name] = f.Endpoints
	}
	return raw
}

func mustJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func meets(p map[string]any, criteria ...string) bool {
	met := map[string]bool{}
	for _, c := range p["criteriaMet"].([]any) {
		met[c.(map[string]any)["number"].(string)] = true
	}
	for _, c := range criteria {
		if !met[c] {
			return false
		}
	}
	return true
}

func status(p map[string]any) string {
	return p["certificationStatus"].(map[string]any)["name"].(string)
}

// endpointKeys returns the distinct endpoints of the lists of the developer's
// products: one per list file, URL, organization name (case aside), ZIP and NPI.
func (raw rawSnapshot) endpointKeys(developerID float64) map[string]bool {
	urls := map[string]bool{}
	for _, p := range raw.products {
		if p["developer"].(map[string]any)["id"].(float64) == developerID {
			urls[p["listSourceURL"].(string)] = true
		}
	}
	keys := map[string]bool{}
	for _, l := range raw.lists {
		if !urls[l["URL"].(string)] {
			continue
		}
		file := l["FileName"].(string)
		for _, e := range raw.endpoints[file] {
			url := strings.TrimSpace(e["URL"].(string))
			if url == "" {
				continue
			}
			zip, _ := e["OrganizationZipCode"].(string)
			keys[strings.Join([]string{file, url, strings.ToLower(strings.TrimSpace(e["OrganizationName"].(string))), strings.TrimSpace(zip), strings.TrimSpace(e["NPIID"].(string))}, "\x00")] = true
		}
	}
	return keys
}

// organizationsInZIP returns the distinct named organizations with endpoints
// listed in zip: one per name (case aside), ZIP and NPI.
func (raw rawSnapshot) organizationsInZIP(zip string) int {
	orgs := map[string]bool{}
	for _, eps := range raw.endpoints {
		for _, e := range eps {
			z, _ := e["OrganizationZipCode"].(string)
			name := strings.TrimSpace(e["OrganizationName"].(string))
			if strings.TrimSpace(z) == zip && name != "" && strings.TrimSpace(e["URL"].(string)) != "" {
				orgs[strings.ToLower(name)+"\x00"+strings.TrimSpace(e["NPIID"].(string))] = true
			}
		}
	}
	return len(orgs)
}

// total runs a search and returns its total.
func total(t *testing.T, svc *service.Service, ctx context.Context, typ, query string) int {
	t.Helper()
	q, err := search.ParseString(typ, query+"&_count=0")
	if err != nil {
		t.Fatalf("%s?%s: %v", typ, query, err)
	}
	page, err := svc.Search(ctx, q)
	if err != nil {
		t.Fatalf("%s?%s: %v", typ, query, err)
	}
	return page.Total
}

// TestLoadTheSharedSnapshot loads the ONC Lantern snapshot and answers the
// directory's questions by search, against counts worked out from the raw files;
// loads it again (nothing changes) and then a modified copy (exactly the changes
// made are reported).
func TestLoadTheSharedSnapshot(t *testing.T) {
	dir := ehrtest.SharedTestdata(t, "emr-directory", "lantern")
	raw := readRaw(t, dir)
	snap, err := directory.Read(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	var active, g10, g10b2 int
	for _, p := range raw.products {
		if status(p) != "Active" {
			continue
		}
		active++
		if meets(p, "170.315 (g)(10)") {
			g10++
			if meets(p, "170.315 (b)(2)") {
				g10b2++
			}
		}
	}
	if len(raw.products) < 300 || g10 < 100 || g10b2 < 50 {
		t.Fatalf("the raw snapshot has %d products, %d active with (g)(10), %d also (b)(2): fewer than the snapshot holds", len(raw.products), g10, g10b2)
	}
	developers := map[string]float64{"Epic Systems Corporation": 448, "athenahealth, Inc.": 1881, "Greenway Health, LLC": 1914}
	const zip = "77030"
	inZIP := raw.organizationsInZIP(zip)
	if inZIP < 3 {
		t.Fatalf("only %d organizations in %s in the raw snapshot; pick a busier ZIP code", inZIP, zip)
	}

	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			svc := service.New(st, service.Options{})
			ctx := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "admin", System: true})
			rep, err := directory.Load(ctx, svc, snap)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Added["DeviceDefinition"] != len(raw.products) || rep.Total() != rep.Added["SearchParameter"]+rep.Added["Organization"]+rep.Added["DeviceDefinition"]+rep.Added["Endpoint"] {
				t.Errorf("first load: %+v, want %d products added and nothing else but additions", rep, len(raw.products))
			}
			checks := []struct {
				what       string
				typ, query string
				want       int
			}{
				{"products", "DeviceDefinition", "_source=" + directory.Source, len(raw.products)},
				{"active products meeting (g)(10)", "DeviceDefinition", "certification-status=Active&criterion=170.315 (g)(10)", g10},
				{"active products meeting (g)(10) and (b)(2)", "DeviceDefinition", "certification-status=Active&criterion=170.315 (g)(10)&criterion=170.315 (b)(2)", g10b2},
				{"active products", "DeviceDefinition", "certification-status=Active", active},
				{"organizations in ZIP " + zip, "Organization", "address-postalcode:exact=" + zip, inZIP},
			}
			for name, id := range developers {
				keys := raw.endpointKeys(id)
				if len(keys) == 0 {
					t.Fatalf("no endpoints of %s in the raw snapshot", name)
				}
				checks = append(checks, struct {
					what       string
					typ, query string
					want       int
				}{"endpoints of " + name, "Endpoint", "product:DeviceDefinition.developer=Organization/dev-" + strconv.FormatFloat(id, 'f', -1, 64), len(keys)})
			}
			for _, c := range checks {
				if got := total(t, svc, ctx, c.typ, c.query); got != c.want {
					t.Errorf("%s (%s?%s): %d, want %d", c.what, c.typ, c.query, got, c.want)
				}
			}

			again, err := directory.Load(ctx, svc, snap)
			if err != nil {
				t.Fatal(err)
			}
			if again.Total() != 0 {
				t.Errorf("a second load of the same snapshot changed %d resources: %+v", again.Total(), again)
			}

			modified := modifiedSnapshot(t, dir)
			mod, err := directory.Load(ctx, svc, modified.snapshot)
			if err != nil {
				t.Fatal(err)
			}
			if mod.Added["Endpoint"] != 1 || mod.Added["Organization"] != 1 || mod.Removed["Endpoint"] != 1 || mod.Changed["DeviceDefinition"] != 1 ||
				mod.Total() != 4 || len(mod.Withdrawn) != 1 || mod.Withdrawn[0] != modified.withdrawn {
				t.Errorf("a load of the modified snapshot reported %+v; want 1 Endpoint and its Organization added, 1 Endpoint removed, 1 product changed and withdrawn (%s)", mod, modified.withdrawn)
			}
		})
	}
}

type modification struct {
	snapshot  *directory.Snapshot
	withdrawn string
}

// modifiedSnapshot copies the snapshot's three kinds of files into memory with
// three edits: the first active product is withdrawn, the first endpoint of the
// first non-empty list is removed and an endpoint of a new organization added.
func modifiedSnapshot(t *testing.T, dir string) modification {
	t.Helper()
	fsys := fstest.MapFS{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fsys[e.Name()] = &fstest.MapFile{Data: data}
	}
	var infos []map[string]any
	mustJSON(t, filepath.Join(dir, "CHPLProductsInfo.json"), &infos)
	var m modification
	for _, info := range infos {
		for _, p := range info["softwareProducts"].([]any) {
			pm := p.(map[string]any)
			if m.withdrawn == "" && status(pm) == "Active" {
				m.withdrawn = pm["chplProductNumber"].(string)
			}
			if pm["chplProductNumber"] == m.withdrawn {
				pm["certificationStatus"] = map[string]any{"id": 3, "name": "Withdrawn by Developer"}
			}
		}
	}
	data, _ := json.Marshal(infos)
	fsys["CHPLProductsInfo.json"] = &fstest.MapFile{Data: data}
	var lists []map[string]any
	mustJSON(t, filepath.Join(dir, "CHPLEndpointResourcesList.json"), &lists)
	for _, l := range lists {
		name := l["FileName"].(string)
		f, ok := fsys[name]
		if !ok || strings.TrimSpace(string(f.Data)) == "" {
			continue
		}
		var file struct{ Endpoints []map[string]any }
		if err := json.Unmarshal(f.Data, &file); err != nil || len(file.Endpoints) < 2 {
			continue
		}
		first := file.Endpoints[0]
		dup := 0
		for _, e := range file.Endpoints {
			if e["URL"] == first["URL"] && e["OrganizationName"] == first["OrganizationName"] && e["NPIID"] == first["NPIID"] && e["OrganizationZipCode"] == first["OrganizationZipCode"] {
				dup++
			}
		}
		if dup > 1 {
			continue // removing one copy of a repeated entry changes nothing
		}
		file.Endpoints = append(file.Endpoints[1:], map[string]any{"URL": "https://fhir.new-clinic.example/r4", "OrganizationName": "New Clinic of Testing",
			"NPIID": "", "OrganizationZipCode": "99999"})
		data, _ := json.Marshal(file)
		fsys[name] = &fstest.MapFile{Data: data}
		break
	}
	s, err := directory.Read(fsys)
	if err != nil {
		t.Fatal(err)
	}
	m.snapshot = s
	return m
}

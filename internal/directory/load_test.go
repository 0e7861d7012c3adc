package directory_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
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

// countCheck is a search whose total is known from the raw files.
type countCheck struct {
	what       string
	typ, query string
	want       int
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
			checks := []countCheck{
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
				dev := "Organization/dev-" + strconv.FormatFloat(id, 'f', -1, 64)
				checks = append(checks,
					countCheck{"endpoints of " + name, "Endpoint", "developer=" + dev, len(keys)},
					countCheck{"endpoints of " + name + " through its products", "Endpoint", "product:DeviceDefinition.developer=" + dev, len(keys)})
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

// manyEndpoints is a snapshot of three products of two developers, Alpha (two
// products, list a.json) and Beta (one, list b.json), whose lists name alpha and
// beta endpoints, each of an organization of its own.
func manyEndpoints(alpha, beta int) *directory.Snapshot {
	list := func(file string, n int) directory.List {
		l := directory.List{URL: "https://" + file + ".example/list", FileName: file}
		for i := range n {
			l.Endpoints = append(l.Endpoints, directory.Endpoint{URL: "https://" + file + ".example/r4/" + strconv.Itoa(i),
				OrganizationName: file + " clinic " + strconv.Itoa(i), ZIP: "12345"})
		}
		return l
	}
	a, b := list("a.json", alpha), list("b.json", beta)
	product := func(listing, developer int, name string, l directory.List) directory.Product {
		return directory.Product{ListingID: listing, CHPLNumber: "15.04.04.000" + strconv.Itoa(listing) + ".X.01.00.1.230101", DeveloperID: developer,
			Developer: name, Name: name + " EHR", Version: "1", Status: "Active", CertificationDate: "2023-01-01",
			Criteria: []directory.Criterion{{Number: "170.315 (g)(10)"}}, ListURL: l.URL}
	}
	return &directory.Snapshot{
		Products: []directory.Product{product(1, 10, "Alpha", a), product(2, 10, "Alpha", a), product(3, 20, "Beta", b)},
		Lists:    []directory.List{a, b},
	}
}

// recordingWriter writes through the service and records when each of its
// transactions starts and ends, and what it holds.
type recordingWriter struct {
	directory.Writer
	// fail, when set, makes every transaction of this step ("PUT Endpoint") fail
	// without writing.
	fail string

	mu          sync.Mutex
	inFlight    map[string]int // step -> transactions running
	maxInFlight int
	started     []string // the step of each transaction, as it started
	mixed       bool     // a transaction held changes of more than one step
	outOfOrder  []string
	// refreshes holds, for each RefreshStatistics call, the number of
	// transactions started before it, or -1 when one was still running.
	refreshes []int
}

func (w *recordingWriter) RefreshStatistics(ctx context.Context) error {
	w.mu.Lock()
	n := len(w.started)
	for _, running := range w.inFlight {
		if running > 0 {
			n = -1
		}
	}
	w.refreshes = append(w.refreshes, n)
	w.mu.Unlock()
	return w.Writer.RefreshStatistics(ctx)
}

// steps is the order Load writes in, as docs/directory.md states it.
var steps = []string{"PUT SearchParameter", "PUT Organization", "PUT DeviceDefinition", "PUT Endpoint",
	"DELETE Endpoint", "DELETE DeviceDefinition", "DELETE Organization", "DELETE SearchParameter"}

func (w *recordingWriter) Apply(ctx context.Context, kind string, changes []ehr.Change, opts ehr.ApplyOptions) ([]ehr.Outcome, error) {
	step := changes[0].Method + " " + changes[0].Type
	w.mu.Lock()
	for _, c := range changes {
		w.mixed = w.mixed || c.Method+" "+c.Type != step
	}
	running := 0
	for other, n := range w.inFlight {
		running += n
		if other != step && n > 0 {
			w.outOfOrder = append(w.outOfOrder, step+" started while "+other+" was being written")
		}
	}
	if len(w.started) > 0 && slices.Index(steps, step) < slices.Index(steps, w.started[len(w.started)-1]) {
		w.outOfOrder = append(w.outOfOrder, step+" started after "+w.started[len(w.started)-1])
	}
	w.inFlight[step]++
	w.maxInFlight = max(w.maxInFlight, running+1)
	w.started = append(w.started, step)
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.inFlight[step]--
		w.mu.Unlock()
	}()
	if step == w.fail {
		return nil, errors.New("the database went away")
	}
	return w.Writer.Apply(ctx, kind, changes, opts)
}

// TestLoadWritesStepByStep loads a snapshot in many small transactions and checks
// that each transaction holds one type and method, that a step starts only after
// the one before it has committed, that no more than two transactions run at
// once, and that the result is what the snapshot says; then that a load failing
// in the middle names the changes it failed on and is completed by the next one.
func TestLoadWritesStepByStep(t *testing.T) {
	const batch = 25
	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			svc := service.New(st, service.Options{})
			ctx := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "admin", System: true})
			params := len(directory.SearchParameters())

			failing := &recordingWriter{Writer: svc, inFlight: map[string]int{}, fail: "PUT Endpoint"}
			_, err := directory.LoadInBatches(ctx, failing, manyEndpoints(120, 80), batch)
			// The changes: the search parameters, two developers, 200
			// organizations and three products, then the endpoints.
			first := params + 2 + 200 + 3 + 1
			want := fmt.Sprintf("changes %d to %d of %d", first, first+batch-1, first-1+200)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("a load whose endpoint transactions fail: %v, want an error naming %s", err, want)
			}
			if n := strings.Count(strings.Join(failing.started, ","), "PUT Endpoint"); n > 2 {
				t.Errorf("%d endpoint transactions started, want no more than the two started before the first failed", n)
			}
			if got := total(t, svc, ctx, "Endpoint", "_source="+directory.Source); got != 0 {
				t.Errorf("%d endpoints stored after the failed load, want 0", got)
			}

			rec := &recordingWriter{Writer: svc, inFlight: map[string]int{}}
			rep, err := directory.LoadInBatches(ctx, rec, manyEndpoints(120, 80), batch)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Added["Endpoint"] != 200 || rep.Unchanged["Organization"] != 202 || rep.Total() != 200 {
				t.Errorf("the load after the failed one reported %+v, want 200 endpoints added and the 202 organizations unchanged", rep)
			}
			if afterFirst := len(rec.started); !slices.Equal(rec.refreshes, []int{afterFirst}) {
				t.Errorf("statistics refreshed after %v transactions, want once after all %d", rec.refreshes, afterFirst)
			}
			shrunk := manyEndpoints(60, 80)
			rep, err = directory.LoadInBatches(ctx, rec, shrunk, batch)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Removed["Endpoint"] != 60 || rep.Removed["Organization"] != 60 || rep.Total() != 120 {
				t.Errorf("the load of a snapshot without 60 endpoints reported %+v, want those endpoints and their organizations removed", rep)
			}
			afterShrunk := len(rec.started)
			if rep, err = directory.LoadInBatches(ctx, rec, shrunk, batch); err != nil || rep.Total() != 0 {
				t.Fatalf("loading the same snapshot again: %+v, %v; want nothing changed", rep, err)
			}
			if len(rec.refreshes) != 2 || rec.refreshes[1] != afterShrunk {
				t.Errorf("statistics refreshed after %v transactions, want after the %d of the second load and not after the unchanged third", rec.refreshes, afterShrunk)
			}
			if rec.mixed || len(rec.outOfOrder) > 0 || rec.maxInFlight > 2 {
				t.Errorf("transactions: mixed steps %v, out of order %q, at most %d at once (want unmixed, in order, at most 2)", rec.mixed, rec.outOfOrder, rec.maxInFlight)
			}
			if n := strings.Count(strings.Join(rec.started, ","), "PUT Endpoint"); n != 200/batch {
				t.Errorf("%d endpoint transactions, want %d", n, 200/batch)
			}
			for _, c := range []countCheck{
				{"Alpha's endpoints", "Endpoint", "developer=Organization/dev-10", 60},
				{"Beta's endpoints", "Endpoint", "developer=Organization/dev-20", 80},
				{"Alpha's endpoints through its products", "Endpoint", "product:DeviceDefinition.developer=Organization/dev-10", 60},
				{"the endpoints of Alpha's first product", "Endpoint", "product=DeviceDefinition/chpl-1", 60},
				{"organizations", "Organization", "_source=" + directory.Source, 2 + 60 + 80},
			} {
				if got := total(t, svc, ctx, c.typ, c.query); got != c.want {
					t.Errorf("%s (%s?%s): %d, want %d", c.what, c.typ, c.query, got, c.want)
				}
			}
		})
	}
}

// TestAnInvalidResourceLeavesNothingLoaded checks that a snapshot mapping to a
// resource R4 refuses is refused before anything is written.
func TestAnInvalidResourceLeavesNothingLoaded(t *testing.T) {
	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			svc := service.New(st, service.Options{})
			ctx := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "admin", System: true})
			snap := manyEndpoints(30, 30)
			snap.Products[2].CertificationDate = "2023-13-45"
			_, err := directory.LoadInBatches(ctx, svc, snap, 10)
			if err == nil || !strings.Contains(err.Error(), "DeviceDefinition/chpl-3 is not valid R4") {
				t.Fatalf("Load = %v, want DeviceDefinition/chpl-3 refused as not valid R4", err)
			}
			for _, typ := range []string{"SearchParameter", "Organization", "DeviceDefinition", "Endpoint"} {
				if got := total(t, svc, ctx, typ, "_source="+directory.Source); got != 0 {
					t.Errorf("%d %s stored after the refused load, want 0", got, typ)
				}
			}
		})
	}
}

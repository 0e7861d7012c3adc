package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"omnichart/internal/gen"
	"omnichart/internal/ingest"
	"omnichart/internal/mpi"
)

const chromiumPath = "/usr/bin/chromium"

// mustChromium skips the test when Chromium is absent, or fails it when
// OMNICHART_REQUIRE_CHROMIUM=1 (as in CI).
func mustChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("OMNICHART_REQUIRE_CHROMIUM") == "1" {
			t.Fatalf("%s is missing and OMNICHART_REQUIRE_CHROMIUM=1: install the Debian package chromium", chromiumPath)
		}
		t.Skipf("%s is missing: install the Debian package chromium to run the browser tests (CI sets OMNICHART_REQUIRE_CHROMIUM=1)", chromiumPath)
	}
}

// newChromium starts a headless Chromium with a fresh profile.
func newChromium(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.NoFirstRun, chromedp.DisableGPU,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.WindowSize(1280, 900),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	// The first action starts the browser, under a context without a deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	ctx, cancel3 := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(cancel3)
	return ctx
}

// screenshots is where the tests save screenshots of the pages.
func screenshots(t *testing.T) string {
	if d := os.Getenv("OMNICHART_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// population is a generated multi-source population, imported.
type population struct {
	res   *gen.Result
	files map[string][]byte
}

func generate(t *testing.T) *population {
	t.Helper()
	o, err := gen.Preset("easy")
	if err != nil {
		t.Fatal(err)
	}
	o.People, o.Sources, o.Seed, o.Years = 8, 3, 11, 3
	p := &population{files: map[string][]byte{}}
	p.res, err = gen.Generate(o, func(name string, data []byte) error { p.files[name] = data; return nil })
	if err != nil {
		t.Fatalf("Generate = %v", err)
	}
	return p
}

func (e *env) importPopulation(p *population) {
	e.t.Helper()
	for _, s := range p.res.Sources {
		src := ingest.Source{Slug: s.Slug, URI: s.URI, Name: s.Name, Vendor: s.Vendor, Product: s.Product, Active: true}
		e.register(src)
		for name, data := range p.files {
			if !strings.HasPrefix(name, "sources/"+s.Slug+"/") {
				continue
			}
			if _, err := e.im.Import(system(), src, ingest.Input{Name: path.Base(name), Data: data}); err != nil {
				e.t.Fatalf("Import(%s) = %v", name, err)
			}
		}
	}
}

var obxCode = regexp.MustCompile(`^OBX\|[^|]*\|NM\|([^^|]+)\^`)

// labOracle counts, from the generated files alone, the numeric results of code
// each source sent about person: OBX segments of HL7 v2 files and Observations
// with a valueQuantity of FHIR Bundles.
func (p *population) labOracle(person gen.TruthPerson, code string) map[string]int {
	uri := map[string]string{}
	for _, s := range p.res.Sources {
		uri[s.Slug] = s.URI
	}
	out := map[string]int{}
	for _, r := range person.Records {
		if data, ok := p.files["sources/"+r.Source+"/"+r.MRN+".hl7"]; ok {
			for _, seg := range strings.FieldsFunc(string(data), func(c rune) bool { return c == '\r' || c == '\n' }) {
				if m := obxCode.FindStringSubmatch(seg); m != nil && m[1] == code {
					out[uri[r.Source]]++
				}
			}
		}
		if data, ok := p.files["sources/"+r.Source+"/"+r.MRN+".json"]; ok {
			var b struct {
				Entry []struct {
					Resource struct {
						ResourceType  string
						Code          struct{ Coding []struct{ Code string } }
						ValueQuantity *struct{ Value json.Number }
					}
				}
			}
			if err := json.Unmarshal(data, &b); err != nil {
				panic(err)
			}
			for _, en := range b.Entry {
				r2 := en.Resource
				if r2.ResourceType == "Observation" && r2.ValueQuantity != nil && len(r2.Code.Coding) > 0 && r2.Code.Coding[0].Code == code {
					out[uri[r.Source]]++
				}
			}
		}
	}
	return out
}

// pickTrend chooses a person known to at least two sources and a lab code some
// of their sources sent at least twice in all.
func (p *population) pickTrend(t *testing.T) (gen.TruthPerson, string, map[string]int) {
	t.Helper()
	for _, person := range p.res.Truth.Persons {
		if len(person.Records) < 2 {
			continue
		}
		for _, code := range []string{"4548-4", "2160-0", "13457-7", "2093-3", "2345-7", "718-7"} {
			want := p.labOracle(person, code)
			n := 0
			for _, c := range want {
				n += c
			}
			if n >= 2 {
				return person, code, want
			}
		}
	}
	t.Fatal("the generated population has no person with a lab result sent twice")
	return gen.TruthPerson{}, "", nil
}

// xssPayloads would each set window.__xss if a page ran them.
var xssPayloads = []string{
	`<script>window.__xss=1</script>`,
	`<img src=x onerror="window.__xss=2">`,
	`javascript:window.__xss=3`,
	`"><svg onload="window.__xss=4">`,
}

func TestBrowserEndToEnd(t *testing.T) {
	mustChromium(t)
	pop := generate(t)
	visible := []string{mpi.SourceURI}
	for _, s := range plantedSources {
		visible = append(visible, s.URI)
	}
	for _, s := range pop.res.Sources {
		visible = append(visible, s.URI)
	}
	e := newEnv(t, "sqlite", envOptions{visible: visible, viewer: true})
	e.plant()
	e.importPopulation(pop)
	e.plantHostile()
	e.plantReview()
	e.plantQuarantine()
	e.loadDirectory()
	shots := screenshots(t)
	ctx := newChromium(t)
	base := e.srv.URL

	var failures []string
	shot := func(name string) {
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		failures = append(failures, axeCheck(t, ctx, name)...)
		t.Logf("axe on %s: %s", name, time.Since(start).Round(time.Millisecond))
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		start := time.Now()
		defer func() { t.Logf("%s: %s", what, time.Since(start).Round(time.Millisecond)) }()
		// A step that waits for what never comes fails in a while, not at
		// the end of the whole test's time.
		sctx, cancel := context.WithTimeout(ctx, 45*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	attr := func(sel, name string) string {
		t.Helper()
		r, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
		if err != nil || !r.Exists {
			t.Fatalf("attribute %s of %s: %v (exists %v)", name, sel, err, r.Exists)
		}
		return r.Value
	}
	xssRan := func() bool {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__xss !== undefined`))
		if err != nil {
			t.Fatalf("read window.__xss: %v", err)
		}
		return v
	}

	// Sign in.
	run("open the sign-in page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`#username`)))
	shot("signin")
	run("sign in", chromedp.SendKeys(chromedp.CSS(`#username`), operator), chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(chromedp.CSS(`form.signin button`)), chromedp.WaitVisible(chromedp.CSS(`#name`)))

	// Search, and open the chart of the chosen person.
	person, code, want := pop.pickTrend(t)
	run("search", chromedp.SendKeys(chromedp.CSS(`#identifier`), person.Records[0].MRN), chromedp.Click(chromedp.CSS(`form.search button`)),
		chromedp.WaitVisible(chromedp.CSS(`#results-h`)))
	shot("search")
	href := attr(`tr.result a`, "href")
	run("open the chart", chromedp.Click(chromedp.CSS(`tr.result a`)), chromedp.WaitVisible(chromedp.CSS(`#labs-h`)))
	shot("chart")

	// The trend of the code, from its link in the labs table (the second click).
	sel := fmt.Sprintf(`a[href$="trend?code=%s"]`, url.QueryEscape("http://loinc.org|"+code))
	run("open the trend", chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS(`svg.plot-svg`)))
	shot("trend")
	got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]int](`(() => { const o = {}; for (const g of document.querySelectorAll('svg.plot-svg g.pt')) { o[g.dataset.source] = (o[g.dataset.source]||0)+1 } return o })()`))
	if err != nil {
		t.Fatalf("count the points: %v", err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("trend of %s for %s: points per source = %v, want %v (from the generated files)", code, person.ID, got, want)
	}

	// No planted script runs: on the search page and the chart of the hostile patient.
	run("search the hostile patient", chromedp.Navigate(base+"/?name=Hostile"), chromedp.WaitVisible(chromedp.CSS(`#results-h`)))
	run("open the hostile chart", chromedp.Click(chromedp.CSS(`tr.result a`)), chromedp.WaitVisible(chromedp.CSS(`#labs-h`)))
	shot("hostile-chart")
	if xssRan() {
		t.Errorf("a script planted in a record ran in the chart")
	}
	noteURL := attr(`#notes .fact-text a`, "href")
	run("open the note", chromedp.Navigate(base+noteURL), chromedp.WaitVisible(chromedp.CSS(`.document`)))
	shot("note")
	if xssRan() {
		t.Errorf("a script planted in a note ran on the note page")
	}

	// An original message of the chosen person, as it was received, by segment.
	run("open the chart again", chromedp.Navigate(base+href), chromedp.WaitVisible(chromedp.CSS(`#notes-h`)))
	original := attr(`#notes h3 + ul.facts a`, "href")
	run("open an original", chromedp.Navigate(base+original), chromedp.WaitVisible(chromedp.CSS(`.document`)))
	shot("original")
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('.document').innerText`))
	if err != nil || !(strings.Contains(text, "PID") || strings.Contains(text, "Patient")) {
		t.Errorf("the original document page shows %.200q (%v), want its segments or sections", text, err)
	}

	// Decide a review task.
	run("open the review queue", chromedp.Navigate(base+"/ops/review"), chromedp.WaitVisible(chromedp.CSS(`section.task`)))
	shot("review")
	taskID := strings.TrimPrefix(attr(`section.task`, "id"), "task-")
	run("decide", chromedp.SendKeys(chromedp.CSS(`section.task input[name=reason]`), "different people: checked with the patient"),
		chromedp.Click(chromedp.CSS(`section.task button[value=not-same]`)), chromedp.WaitVisible(chromedp.CSS(`p.decided`)))
	queue, err := e.index.Queue(system(), true)
	if err != nil {
		t.Fatal(err)
	}
	decided := false
	for _, it := range queue {
		if it.Task == taskID && it.Decision != nil && it.Decision.Verdict == mpi.VerdictNotSame {
			decided = true
		}
	}
	if !decided {
		t.Errorf("Task/%s has no not-same decision after the click", taskID)
	}

	// Replay a quarantined message.
	run("open the quarantine", chromedp.Navigate(base+"/ops/quarantine"), chromedp.WaitVisible(chromedp.CSS(`tr.q-entry`)))
	shot("quarantine")
	qid := strings.TrimPrefix(attr(`tr.q-entry`, "id"), "q-")
	run("replay", chromedp.Click(chromedp.CSS(`tr.q-entry button`)), chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	entries, err := e.im.Quarantined(system(), true)
	if err != nil {
		t.Fatal(err)
	}
	replayed := false
	for _, en := range entries {
		if en.ID == qid && (en.Status == "completed" || en.Attempts >= 2) {
			replayed = true
		}
	}
	if !replayed {
		t.Errorf("quarantine Task/%s shows no replay after the click", qid)
	}

	// The other operations pages, for their screenshots and axe.
	run("open the sources", chromedp.Navigate(base+"/ops/sources"), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	shot("sources")
	run("open the audit log", chromedp.Navigate(base+"/ops/audit"), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	shot("audit")
	run("open a missing chart", chromedp.Navigate(base+"/patients/no-such-patient"), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	shot("error")

	// The EMR software directory: search by criterion, tick two products,
	// compare them, open one, read the glossary.
	run("search the directory", chromedp.Navigate(base+"/directory"), chromedp.WaitVisible(chromedp.CSS(`#developer`)),
		chromedp.Click(chromedp.CSS(`input[value="170.315 (g)(10)"]`)),
		chromedp.SetValue(chromedp.CSS(`#status`), "any"),
		chromedp.Click(chromedp.CSS(`form[role="search"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#dir-results-h`)))
	shot("directory")
	run("compare two products", chromedp.Click(chromedp.CSS(`#cmp-chpl-1`)), chromedp.Click(chromedp.CSS(`#cmp-chpl-3`)),
		chromedp.Click(chromedp.CSS(`form[action="/directory/compare"] button`)), chromedp.WaitVisible(chromedp.CSS(`table.compare`)))
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("table.compare tbody tr").length`))
	if err != nil || rows != 4 {
		t.Errorf("the comparison of chpl-1 and chpl-3 has %d rows (%v), want 4: (a)(10), (b)(1), (b)(2), (g)(10)", rows, err)
	}
	shot("compare")
	run("open a product", chromedp.Click(chromedp.CSS(`a[href="/directory/products/chpl-1"]`)), chromedp.WaitVisible(chromedp.CSS(`#endpoints`)))
	shot("product")
	run("open the glossary", chromedp.Navigate(base+"/directory/glossary"), chromedp.WaitVisible(chromedp.CSS(`dl.glossary`)))
	shot("glossary")

	// Sign out: the next page asks to sign in again.
	run("sign out", chromedp.Click(chromedp.CSS(`.who button`)), chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.Navigate(base+href), chromedp.WaitVisible(chromedp.CSS(`#username`)))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(loc, "/signin") {
		t.Errorf("after signing out, a chart opened at %s, want the sign-in page", loc)
	}
	for _, f := range failures {
		t.Error(f)
	}
}

type axeResult struct {
	Violations []struct {
		ID, Impact, Help string
		Nodes            []struct{ Target []any }
	}
}

// axeCheck runs axe-core in the page and returns its serious and critical WCAG
// 2.1 A and AA violations.
func axeCheck(t *testing.T, ctx context.Context, page string) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](string(src))); err != nil {
		t.Fatalf("load axe on %s: %v", page, err)
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[axeResult](`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe on %s: %v", page, err)
	}
	var out []string
	for _, v := range res.Violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			out = append(out, fmt.Sprintf("axe on %s: %s (%s): %s, at %v", page, v.ID, v.Impact, v.Help, v.Nodes))
		}
	}
	return out
}

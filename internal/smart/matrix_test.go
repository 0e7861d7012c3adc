package smart_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"omnichart/internal/ehr"
	"omnichart/internal/smart"
)

// The authorization matrix: callers of every kind (users of two organizations,
// one with a patient's Consent, one after breaking the glass, a patient-context
// app, a backend client of one source, a user limited to one type) × the read
// paths of the API (read, vread, history, search with _include, _revinclude, _has,
// chains, counts, compartment search, $everything, $summary, batch) × records inside and
// outside each caller's reach. The expected answer of every cell is the
// endpoint's full answer (written out below) cut to what the caller may see
// (written out below, from the rules in docs/security.md); a forbidden record
// must not show up anywhere in the answer: bodies, totals, links or headers.
// The same test runs Patient/$match, imports over HTTP and MLLP
// (matrix_ingest_test.go), writes (matrix_write_test.go), transactions and
// batches of writes (matrix_bundle_test.go), and the web UI's pages
// (matrix_web_test.go) against the same records.
//
//	source a: Patient mxPatA, Observation mxObsA, Encounter mxEncA
//	source b: Patient mxPatB, Observation mxObsB, Encounter mxEncB, Consent mxConB (shares mxPatB with org-c)
//	          Patient mxPatB2, Observation mxObsB2
var matrixIDs = []string{"mxPatA", "mxObsA", "mxEncA", "mxPatB", "mxObsB", "mxEncB", "mxConB", "mxPatB2", "mxObsB2"}

const matrixCode = "http://example.org/matrix|m1"

// matrixIdentifierSystem is the system of the Observations' identifiers, which
// conditional interactions name them by; the value is never the id, so that an
// answer naming the id is told apart from the request naming the identifier.
const matrixIdentifierSystem = "http://example.org/matrix-id"

func matrixIdentifier(id string) string { return "idf-" + strings.TrimPrefix(id, "mx") }

// matrixPeople are the demographics of the fixture Patients.
var matrixPeople = map[string]struct{ given, gender, birthDate string }{
	"mxPatA":  {"Adelheid", "female", "1941-03-07"},
	"mxPatB":  {"Bartholomew", "male", "1968-11-23"},
	"mxPatB2": {"Cordelia", "female", "1987-05-30"},
}

type matrixCaller struct {
	name    string
	token   string
	types   []string // resource types the caller may read and search; nil: all
	visible []string
}

func (c matrixCaller) mayUse(types []string) bool {
	if c.types == nil {
		return true
	}
	for _, t := range types {
		if !slices.Contains(c.types, t) {
			return false
		}
	}
	return true
}

func seedMatrix(t *testing.T, h *harness) {
	t.Helper()
	write := func(source, typ, id string, res map[string]any) { matrixWrite(t, h, source, typ, id, res) }
	ref := func(s string) map[string]any { return map[string]any{"reference": s} }
	// The Patients are three different people (the patient index links none of
	// them), each with what Patient/$match needs to find them.
	patient := func(src, id string) {
		p := matrixPeople[id]
		write(src, "Patient", id, map[string]any{"name": []any{map[string]any{"family": "Matrixson", "given": []any{p.given}}},
			"gender": p.gender, "birthDate": p.birthDate})
	}
	obs := func(src, id, patient string) {
		write(src, "Observation", id, map[string]any{"status": "final", "subject": ref("Patient/" + patient),
			"identifier": []any{map[string]any{"system": matrixIdentifierSystem, "value": matrixIdentifier(id)}},
			"category":   []any{map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}}}},
			"code":       map[string]any{"coding": []any{map[string]any{"system": "http://example.org/matrix", "code": "m1"}}}})
	}
	patient(sourceA, "mxPatA")
	obs(sourceA, "mxObsA", "mxPatA")
	write(sourceA, "Encounter", "mxEncA", map[string]any{"status": "finished", "class": map[string]any{"code": "AMB"}, "subject": ref("Patient/mxPatA")})
	patient(sourceB, "mxPatB")
	obs(sourceB, "mxObsB", "mxPatB")
	write(sourceB, "Encounter", "mxEncB", map[string]any{"status": "finished", "class": map[string]any{"code": "AMB"}, "subject": ref("Patient/mxPatB")})
	write(sourceB, "Consent", "mxConB", map[string]any{"status": "active",
		"scope":    map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}}},
		"category": []any{map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "59284-0"}}}},
		"patient":  ref("Patient/mxPatB"),
		"provision": map[string]any{"type": "permit", "actor": []any{map[string]any{"role": map[string]any{"text": "recipient"},
			"reference": map[string]any{"identifier": map[string]any{"system": "urn:omnichart:organization", "value": "org-c"}}}}}})
	patient(sourceB, "mxPatB2")
	obs(sourceB, "mxObsB2", "mxPatB2")
}

// matrixWrite writes typ/id as source does.
func matrixWrite(t *testing.T, h *harness, source, typ, id string, res map[string]any) {
	t.Helper()
	res["resourceType"], res["id"] = typ, id
	ctx := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "source/test", Source: source, System: true})
	_, _, err := h.svc.Update(ctx, typ, id, res, 0)
	must(t, err)
}

func matrixCallers(t *testing.T, h *harness) []matrixCaller {
	t.Helper()
	ctx := context.Background()
	must(t, h.auth.AddUser(ctx, smart.User{Username: "carol", Org: "org-c"}, password))
	must(t, h.auth.AddUser(ctx, smart.User{Username: "erin", Org: "org-a", MayBreakGlass: true}, password))
	must(t, h.auth.AddUser(ctx, smart.User{Username: "dave", Org: "org-a"}, password))
	issue := func(scope, user, patient string) string {
		tok, err := h.auth.IssueToken(ctx, scope, user, patient, 8*time.Hour)
		must(t, err)
		return tok
	}
	erin := issue("user/*.rs", "erin", "")
	if resp, body := h.fhirPost("/fhir/Patient/mxPatB2/$break-the-glass", erin,
		`{"resourceType":"Parameters","parameter":[{"name":"reason","valueString":"unresponsive, no history"}]}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("erin breaking the glass: %d %s", resp.StatusCode, body)
	}
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	must(t, err)
	client, sig := backendClient(t, h, key, jose.ES384, []string{sourceB})
	_, tok := h.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"system/*.rs"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion(t, sig, client, h.url+"/oauth/token", "matrix-1", h.clock.now(), 4*time.Minute)}}, "", "")
	sysB, _ := tok["access_token"].(string)
	if sysB == "" {
		t.Fatalf("no token for the backend client: %v", tok)
	}
	ownA := []string{"mxPatA", "mxObsA", "mxEncA"}
	return []matrixCaller{
		{name: "alice, a user of org-a", token: issue("user/*.rs", "alice", ""), visible: ownA},
		{name: "carol, a user of org-c, which mxPatB's Consent permits", token: issue("user/*.rs", "carol", ""),
			visible: []string{"mxPatB", "mxObsB", "mxEncB", "mxConB"}},
		{name: "erin, a user of org-a who broke the glass for mxPatB2", token: erin,
			visible: append(slices.Clone(ownA), "mxPatB2", "mxObsB2")},
		{name: "an app launched for patient mxPatA", token: issue("patient/*.rs", "alice", "mxPatA"), visible: ownA},
		{name: "a backend client of source b", token: sysB,
			visible: []string{"mxPatB", "mxObsB", "mxEncB", "mxConB", "mxPatB2", "mxObsB2"}},
		{name: "dave, a user of org-a with Observation scopes only", token: issue("user/Observation.rs", "dave", ""),
			types: []string{"Observation"}, visible: []string{"mxObsA"}},
	}
}

// matrixEndpoint is one request and its answer for a caller who sees everything:
// the fixture ids it returns (matches and included), and of them those that are
// the search's matches, which its total counts.
type matrixEndpoint struct {
	name, method, path, body string
	// types are the types the request reads, the searched or read type first:
	// a caller without it gets 403; one without the others gets nothing of them.
	types            []string
	returns, matches []string
	// via maps a returned id to the record the request finds it through (the
	// chained Patient, the _has Observation): the caller must see both.
	via map[string]string
	// instance names the one record the request is about: a caller who may not
	// see it gets 404 (as if it did not exist).
	instance string
}

func matrixEndpoints() []matrixEndpoint {
	// A chain or _has finds a record only through another the caller may see.
	subjects := map[string]string{"mxObsA": "mxPatA", "mxObsB": "mxPatB", "mxObsB2": "mxPatB2",
		"mxPatA": "mxObsA", "mxPatB": "mxObsB", "mxPatB2": "mxObsB2"}
	obs := []string{"mxObsA", "mxObsB", "mxObsB2"}
	pats := []string{"mxPatA", "mxPatB", "mxPatB2"}
	var out []matrixEndpoint
	for _, id := range matrixIDs {
		typ := map[string]string{"Pat": "Patient", "Obs": "Observation", "Enc": "Encounter", "Con": "Consent"}[id[2:5]]
		one := []string{id}
		out = append(out,
			matrixEndpoint{name: "read " + id, method: "GET", path: "/fhir/" + typ + "/" + id, types: []string{typ}, returns: one, instance: id},
			matrixEndpoint{name: "vread " + id, method: "GET", path: "/fhir/" + typ + "/" + id + "/_history/1", types: []string{typ}, returns: one, instance: id},
			matrixEndpoint{name: "history of " + id, method: "GET", path: "/fhir/" + typ + "/" + id + "/_history", types: []string{typ}, returns: one, instance: id},
		)
	}
	both := append(slices.Clone(obs), pats...)
	return append(out,
		matrixEndpoint{name: "search", method: "GET", path: "/fhir/Observation?code=" + matrixCode + "&_total=accurate",
			types: []string{"Observation"}, returns: obs, matches: obs},
		matrixEndpoint{name: "count", method: "GET", path: "/fhir/Observation?code=" + matrixCode + "&_summary=count",
			types: []string{"Observation"}, matches: obs},
		matrixEndpoint{name: "_include", method: "GET", path: "/fhir/Observation?code=" + matrixCode + "&_include=Observation:subject&_total=accurate",
			types: []string{"Observation", "Patient"}, returns: both, matches: obs},
		matrixEndpoint{name: "_revinclude", method: "GET", path: "/fhir/Patient?family=Matrixson&_revinclude=Observation:subject&_total=accurate",
			types: []string{"Patient", "Observation"}, returns: both, matches: pats},
		matrixEndpoint{name: "_has", method: "GET", path: "/fhir/Patient?family=Matrixson&_has:Observation:subject:code=" + matrixCode + "&_total=accurate",
			types: []string{"Patient", "Observation"}, returns: pats, matches: pats, via: subjects},
		matrixEndpoint{name: "chain", method: "GET", path: "/fhir/Observation?subject:Patient.family=Matrixson&_total=accurate",
			types: []string{"Observation", "Patient"}, returns: obs, matches: obs, via: subjects},
		matrixEndpoint{name: "compartment search", method: "GET", path: "/fhir/Patient/mxPatB/Observation?_total=accurate",
			types: []string{"Observation", "Patient"}, returns: []string{"mxObsB"}, matches: []string{"mxObsB"}},
		matrixEndpoint{name: "$everything", method: "GET", path: "/fhir/Patient/mxPatB/$everything",
			types: []string{"Patient", "Observation", "Encounter", "Consent"}, returns: []string{"mxPatB", "mxObsB", "mxEncB", "mxConB"}, instance: "mxPatB"},
		matrixEndpoint{name: "$summary", method: "GET", path: "/fhir/Patient/mxPatB/$summary",
			types: []string{"Patient", "Observation"}, returns: []string{"mxPatB", "mxObsB"}, instance: "mxPatB"},
		matrixEndpoint{name: "type history", method: "GET", path: "/fhir/Observation/_history?_count=100",
			types: []string{"Observation"}, returns: obs},
		matrixEndpoint{name: "batch of reads", method: "POST", path: "/fhir",
			body: `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/mxPatB2"}},` +
				`{"request":{"method":"GET","url":"Observation?code=` + matrixCode + `"}}]}`,
			types: []string{"Observation", "Patient"}, returns: []string{"mxPatB2", "mxObsA", "mxObsB", "mxObsB2"}},
	)
}

func TestAuthorizationMatrix(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			h := newIndexedHarness(t, engine)
			seedMatrix(t, h)
			callers := matrixCallers(t, h)
			_, missing := h.request("GET", "/fhir/Patient/mxNoSuchPatient", "", "Bearer "+callers[0].token)
			cells := 0
			for _, c := range callers {
				for _, e := range matrixEndpoints() {
					if !c.mayUse(e.types[:1]) {
						resp, body := h.request(e.method, e.path, e.body, "Bearer "+c.token)
						if e.method == "GET" && resp.StatusCode != http.StatusForbidden {
							t.Errorf("%s: %s: %d, want 403 (the scopes do not name %s)", c.name, e.name, resp.StatusCode, e.types[0])
						}
						leaks(t, c, e, resp, body)
						cells++
						continue
					}
					checkCell(t, h, c, e, missing)
					cells++
				}
			}
			cells += checkMatchCells(t, h, callers)
			originals := matrixOriginals(t, h)
			writers := writeCallers(t, h, callers)
			for _, c := range writers {
				for _, w := range matrixWriteCells(c) {
					cells++
					checkWriteCell(t, h, c, w, originals, cells)
				}
				for _, b := range matrixBundles(c) {
					cells++
					checkBundleCell(t, h, c, b, originals, cells)
				}
			}
			cells += checkImportCells(t, h, writers, cells)
			cells += checkMLLPCells(t, h, cells)
			cells += checkWebCells(t, h)
			if cells < 450 {
				t.Fatalf("only %d cells of the matrix ran", cells)
			}
		})
	}
}

// checkCell requests e as c and compares the fixture ids in the answer with
// e.returns cut to what c may see.
func checkCell(t *testing.T, h *harness, c matrixCaller, e matrixEndpoint, missing []byte) {
	t.Helper()
	resp, body := h.request(e.method, e.path, e.body, "Bearer "+c.token)
	if e.instance != "" && !slices.Contains(c.visible, e.instance) {
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %s: %d, want 404", c.name, e.name, resp.StatusCode)
		}
		if want := strings.ReplaceAll(string(missing), "Patient/mxNoSuchPatient", ""); e.name == "read "+e.instance &&
			strings.HasPrefix(e.instance, "mxPat") && strings.ReplaceAll(string(body), "Patient/"+e.instance, "") != want {
			t.Errorf("%s: %s: the 404 differs from that of a missing Patient:\n%s\n%s", c.name, e.name, body, missing)
		}
		for _, hdr := range []string{"ETag", "Location", "Content-Location", "Last-Modified"} {
			if v := resp.Header.Get(hdr); v != "" {
				t.Errorf("%s: %s: a 404 with %s %q", c.name, e.name, hdr, v)
			}
		}
		leaks(t, c, e, resp, body)
		return
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("%s: %s: %d, want 200: %s", c.name, e.name, resp.StatusCode, body)
		return
	}
	want := seenVia(e.returns, c.visible, e.via)
	got := idsIn(body, e)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s: %s: answered %v, want %v", c.name, e.name, got, want)
	}
	if e.matches != nil {
		var b struct {
			Total *int `json:"total"`
		}
		json.Unmarshal(body, &b)
		if n := len(seenVia(e.matches, c.visible, e.via)); b.Total == nil || *b.Total != n {
			t.Errorf("%s: %s: total %s, want %d", c.name, e.name, totalText(b.Total), n)
		}
	}
	leaks(t, c, e, resp, body)
}

func totalText(n *int) string {
	if n == nil {
		return "none"
	}
	return strconv.Itoa(*n)
}

// seenVia is ids cut to visible, sorted; an id found through another (via)
// needs that one visible too.
func seenVia(ids, visible []string, via map[string]string) []string {
	out := []string{}
	for _, id := range ids {
		if other, ok := via[id]; ok && !slices.Contains(visible, other) {
			continue
		}
		if slices.Contains(visible, id) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// records lists the resources an answer returns: the resource itself, or the
// entries of a Bundle, and of the Bundles a batch answers its searches with.
func records(doc map[string]any) []map[string]any {
	if doc["resourceType"] != "Bundle" {
		return []map[string]any{doc}
	}
	var out []map[string]any
	entries, _ := doc["entry"].([]any)
	for _, e := range entries {
		em, _ := e.(map[string]any)
		res, _ := em["resource"].(map[string]any)
		if res == nil {
			continue
		}
		if res["resourceType"] == "Bundle" {
			out = append(out, records(res)...)
		} else {
			out = append(out, res)
		}
	}
	return out
}

// idsIn lists the fixture records body returns, sorted.
func idsIn(body []byte, _ matrixEndpoint) []string {
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return []string{"(not JSON)"}
	}
	out := []string{}
	for _, r := range records(doc) {
		if id, _ := r["id"].(string); slices.Contains(matrixIDs, id) && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// leaks fails the cell when a record the caller may not see, and that the request
// does not itself name, is named anywhere in the answer outside the records the
// caller may see (whose own references are theirs): other records, totals,
// links, issues, headers.
func leaks(t *testing.T, c matrixCaller, e matrixEndpoint, resp *http.Response, body []byte) {
	t.Helper()
	var headers strings.Builder
	for k, v := range resp.Header {
		headers.WriteString(k + ": " + strings.Join(v, ",") + "\n")
	}
	rest := string(body)
	var doc map[string]any
	if json.Unmarshal(body, &doc) == nil {
		for _, r := range records(doc) {
			if id, _ := r["id"].(string); slices.Contains(c.visible, id) {
				enc, _ := json.Marshal(r)
				rest = strings.Replace(rest, string(enc), "", 1)
				// The server's encoding may differ from Go's: drop the record's
				// references by value too.
				for _, ref := range referencesIn(r) {
					rest = strings.ReplaceAll(rest, `"`+ref+`"`, `""`)
				}
			}
		}
	}
	for _, id := range matrixIDs {
		named := regexp.MustCompile(`\b` + id + `\b`)
		if slices.Contains(c.visible, id) || named.MatchString(e.path) || named.MatchString(e.body) {
			continue
		}
		if named.MatchString(rest) || named.MatchString(headers.String()) {
			t.Errorf("%s: %s: the answer names %s, which the caller may not see", c.name, e.name, id)
		}
	}
}

// referencesIn lists the reference strings of a resource.
func referencesIn(node any) []string {
	var out []string
	switch v := node.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "reference" {
				out = append(out, s)
			} else {
				out = append(out, referencesIn(x)...)
			}
		}
	case []any:
		for _, x := range v {
			out = append(out, referencesIn(x)...)
		}
	}
	return out
}

package smart_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The web UI's cells of the authorization matrix: each user of the matrix signs
// in to the web UI (a session, not a token: the web UI reads as the user, with
// every type) and asks for the patient search, each fixture patient's chart and
// each one's trend of the fixture code, and a chart of a patient that does not
// exist; then each patient's note (written for these cells) under each
// patient's chart, and the operations pages. The patients a user sees are those
// of the matrix's rules (own organization's sources, a Consent to the
// organization, the user's own break-the-glass). A chart or trend of a patient
// out of reach answers exactly as one of a patient that does not exist; a note
// answers only under its own patient's chart, and otherwise exactly as a note
// that does not exist; the operations pages answer 403 to users who are not
// operators; no page names a record out of reach (its id, its identifier, the
// patient's given name).

// webVisible are the fixture patients each user sees in the web UI.
var webVisible = map[string][]string{
	"alice": {"mxPatA"},
	"carol": {"mxPatB"},
	"erin":  {"mxPatA", "mxPatB2"},
	"dave":  {"mxPatA"},
}

// webRecordsOf are the fixture records of each patient a chart may show, with
// the note the web cells add (webNotes).
var webRecordsOf = map[string][]string{
	"mxPatA":  {"mxPatA", "mxObsA", "mxEncA", "mxDocA"},
	"mxPatB":  {"mxPatB", "mxObsB", "mxEncB", "mxConB", "mxDocB"},
	"mxPatB2": {"mxPatB2", "mxObsB2", "mxDocB2"},
}

// webNotes are the notes the web cells write, one about each fixture patient,
// by the patient's source; each one's text names its patient's given name.
var webNotes = []struct{ id, patient, source string }{
	{"mxDocA", "mxPatA", sourceA},
	{"mxDocB", "mxPatB", sourceB},
	{"mxDocB2", "mxPatB2", sourceB},
}

// webOpsPages are the operations pages, which none of the matrix's users may
// see: none is an operator.
var webOpsPages = []string{"/ops/sources", "/ops/review", "/ops/quarantine", "/ops/audit"}

// seedWebNotes writes webNotes. The web cells run last, so the records the
// other cells expect are unchanged while they run.
func seedWebNotes(t *testing.T, h *harness) {
	t.Helper()
	for _, n := range webNotes {
		text := "Clinic note about " + matrixPeople[n.patient].given + "."
		matrixWrite(t, h, n.source, "DocumentReference", n.id, map[string]any{"status": "current",
			"subject": map[string]any{"reference": "Patient/" + n.patient},
			"type":    map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "11506-3"}}, "text": "Progress note"},
			"content": []any{map[string]any{"attachment": map[string]any{"contentType": "text/plain",
				"data": base64.StdEncoding.EncodeToString([]byte(text))}}}})
	}
}

// webForbidden are the strings that name the fixture records of patients out of
// a user's reach.
func webForbidden(visible []string) []string {
	var out []string
	for _, p := range []string{"mxPatA", "mxPatB", "mxPatB2"} {
		if slices.Contains(visible, p) {
			continue
		}
		out = append(out, matrixPeople[p].given)
		for _, id := range webRecordsOf[p] {
			out = append(out, id, matrixIdentifier(id))
		}
	}
	return out
}

// webSignIn signs user in to the web UI and returns a client holding the session.
func webSignIn(t *testing.T, h *harness, user string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	must(t, err)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	_, page := webGet(t, c, h.url+"/signin")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field on the sign-in page")
	}
	resp, err := c.PostForm(h.url+"/signin", url.Values{"csrf": {m[1]}, "username": {user}, "password": {password}, "next": {"/"}})
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("web sign-in of %s = %d, want 303", user, resp.StatusCode)
	}
	return c
}

func webGet(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	must(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp.StatusCode, string(body)
}

// webRequestID matches the request id an error page quotes, which differs
// between any two requests.
var webRequestID = regexp.MustCompile(`[0-9a-f]{16,}|[0-9A-Za-z_-]{20,}`)

// webMain is the part of a page after its header, with the page's own path and
// the request ids taken out: what two answers that must not differ must share.
func webMain(body, id string) string {
	if i := strings.Index(body, "<main"); i >= 0 {
		body = body[i:]
	}
	return webRequestID.ReplaceAllString(strings.ReplaceAll(body, id, "{id}"), "{request}")
}

// checkWebCells runs the web UI's cells and returns how many ran.
func checkWebCells(t *testing.T, h *harness) int {
	t.Helper()
	seedWebNotes(t, h)
	cells := 0
	code := url.QueryEscape(matrixCode)
	for _, user := range []string{"alice", "carol", "erin", "dave"} {
		visible := webVisible[user]
		forbidden := webForbidden(visible)
		c := webSignIn(t, h, user)
		// leak fails on a forbidden name in body other than asked, the ids a
		// request for a page names itself.
		leak := func(what, body string, asked ...string) {
			t.Helper()
			for _, f := range forbidden {
				if slices.Contains(asked, f) {
					continue
				}
				// Whole words: mxPatB2 does not name mxPatB.
				if regexp.MustCompile(`\b` + regexp.QuoteMeta(f) + `\b`).MatchString(body) {
					t.Errorf("web, %s: %s names %q, out of the user's reach", user, what, f)
				}
			}
		}
		status, body := webGet(t, c, h.url+"/?name=Matrixson")
		cells++
		if status != http.StatusOK {
			t.Errorf("web, %s: search = %d, want 200", user, status)
		}
		for _, p := range visible {
			if !strings.Contains(body, "/patients/"+p) || !strings.Contains(body, matrixPeople[p].given) {
				t.Errorf("web, %s: the search does not list %s (%s)", user, p, matrixPeople[p].given)
			}
		}
		leak("the search", body)

		missingChart := func(path string) string {
			_, b := webGet(t, c, h.url+strings.ReplaceAll(path, "{id}", "mxNoSuchPatient"))
			return webMain(b, "mxNoSuchPatient")
		}
		for _, page := range []struct{ name, path string }{
			{"chart", "/patients/{id}"},
			{"trend", "/patients/{id}/trend?code=" + code},
		} {
			missing := missingChart(page.path)
			cells++
			for _, p := range []string{"mxPatA", "mxPatB", "mxPatB2"} {
				cells++
				status, body := webGet(t, c, h.url+strings.ReplaceAll(page.path, "{id}", p))
				what := page.name + " of " + p
				if slices.Contains(visible, p) {
					if status != http.StatusOK || !strings.Contains(body, matrixPeople[p].given) {
						t.Errorf("web, %s: %s = %d, want 200 naming %s", user, what, status, matrixPeople[p].given)
					}
					if note := webRecordsOf[p][len(webRecordsOf[p])-1]; page.name == "chart" && !strings.Contains(body, "/notes/DocumentReference/"+note) {
						t.Errorf("web, %s: %s links no note %s", user, what, note)
					}
				} else {
					if status != http.StatusNotFound {
						t.Errorf("web, %s: %s = %d, want 404 (as if it did not exist)", user, what, status)
					}
					if got := webMain(body, p); got != missing {
						t.Errorf("web, %s: %s differs from the answer for a patient that does not exist:\n%s\nwant\n%s", user, what, got, missing)
					}
				}
				leak(what, body, p)
			}
		}
		// Each note under each patient's chart: shown only under its own
		// patient's, to a user who sees that patient; otherwise exactly as a
		// note that does not exist under that chart.
		for _, chart := range []string{"mxPatA", "mxPatB", "mxPatB2"} {
			path := "/patients/" + chart + "/notes/DocumentReference/"
			_, b := webGet(t, c, h.url+path+"mxNoSuchNote")
			missing := webMain(b, "mxNoSuchNote")
			for _, n := range webNotes {
				cells++
				status, body := webGet(t, c, h.url+path+n.id)
				what := "note " + n.id + " under the chart of " + chart
				if n.patient == chart && slices.Contains(visible, chart) {
					if status != http.StatusOK || !strings.Contains(body, "Clinic note about "+matrixPeople[chart].given) {
						t.Errorf("web, %s: %s = %d, want 200 with its text", user, what, status)
					}
				} else {
					if status != http.StatusNotFound {
						t.Errorf("web, %s: %s = %d, want 404 (as if it did not exist)", user, what, status)
					}
					if got := webMain(body, n.id); got != missing {
						t.Errorf("web, %s: %s differs from the answer for a note that does not exist:\n%s\nwant\n%s", user, what, got, missing)
					}
					if strings.Contains(body, "Clinic note about") {
						t.Errorf("web, %s: %s shows the note's text", user, what)
					}
				}
				leak(what, body, n.id, chart)
			}
		}
		for _, page := range webOpsPages {
			cells++
			status, body := webGet(t, c, h.url+page)
			if status != http.StatusForbidden {
				t.Errorf("web, %s: %s = %d, want 403 (not an operator)", user, page, status)
			}
			leak(page, body)
		}
	}
	return cells
}

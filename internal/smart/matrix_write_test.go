package smart_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/smart"
)

// The write half of the authorization matrix: callers whose tokens may write
// (and one that may only read) × create, update, conditional create, conditional
// update, JSON Patch, conditional patch, delete and conditional delete × the fixture records of
// both sources. The expected answer of every cell comes from the rules of
// docs/security.md and docs/records-and-access.md (writeCaller.expect), never
// from the server: a scope without the interaction is 403; a record is changed
// only by the source that owns it, inside the caller's compartment (403
// otherwise); a patch must read the record first, so one the caller may not see
// is 404; conditional criteria match only records the caller may see, and of
// its own source. What a cell changed is read straight from the database.

// writeCaller is a caller of the write matrix and what the rules let it do.
type writeCaller struct {
	name  string
	token string
	perms string   // the SMART v2 letters its resource scopes grant
	types []string // the types its scopes name; nil: all
	// source is the source it writes for ("" for none: a user of an
	// organization without sources of its own).
	source string
	// patient is the launch patient of a patient-context app.
	patient string
	visible []string
}

func (c writeCaller) may(letter byte, typ string) bool {
	return strings.IndexByte(c.perms, letter) >= 0 && (c.types == nil || slices.Contains(c.types, typ))
}

// mayHold reports whether c may write a record of its own into compartment.
func (c writeCaller) mayHold(compartment string) bool {
	return c.source != "" && (c.patient == "" || compartment == "Patient/"+c.patient)
}

// owns reports whether c may change the fixture record id.
func (c writeCaller) owns(id string) bool {
	return fixtureSource(id) == c.source && c.mayHold(fixtureCompartment(id))
}

// matches reports whether conditional criteria naming the fixture record id
// find it for c: only among what c sees, and of c's own source when it has one.
func (c writeCaller) matches(id string) bool {
	return slices.Contains(c.visible, id) && (c.source == "" || fixtureSource(id) == c.source)
}

func fixtureSource(id string) string {
	if strings.HasSuffix(id, "A") {
		return sourceA
	}
	return sourceB
}

func fixtureType(id string) string {
	if len(id) < 5 {
		return ""
	}
	return map[string]string{"Pat": "Patient", "Obs": "Observation", "Enc": "Encounter", "Con": "Consent"}[id[2:5]]
}

// fixtureCompartment is the patient compartment of a fixture record.
func fixtureCompartment(id string) string {
	return "Patient/mxPat" + id[5:]
}

type writeKind int

const (
	opUpdate writeKind = iota
	opPatch
	opDelete
	opCreate
	opCreateIfNoneExist
	opConditionalUpdate
	opConditionalDelete
	opConditionalPatch
	// opCreateConditionalRef creates an Observation whose subject is a
	// conditional reference to the fixture Patient subject (in transactions only).
	opCreateConditionalRef
)

var writeKindNames = []string{"update", "patch", "delete", "create", "conditional create", "conditional update", "conditional delete", "conditional patch",
	"create with a conditional reference"}

// writeCell is one write: of kind, about the fixture record target (by id, or
// by its identifier for conditional kinds), a created Observation being about
// Patient subject.
type writeCell struct {
	kind            writeKind
	target, subject string
}

func (w writeCell) String() string {
	switch w.kind {
	case opCreate:
		return "create an Observation of " + w.subject
	case opCreateConditionalRef:
		return "create an Observation of Patient?" + patientCriteria(w.subject) + " (" + w.subject + ")"
	}
	return writeKindNames[w.kind] + " " + w.target
}

// writeWant is the answer the rules give a write.
type writeWant struct {
	status  int
	changed string // the fixture record it writes a version of
	deleted bool   // changed is deleted
	created bool   // it creates a record
	returns string // the fixture record a conditional create found
}

// expect is the answer c gets for w, from the rules.
func (c writeCaller) expect(w writeCell) writeWant {
	forbidden := writeWant{status: http.StatusForbidden}
	typ := "Observation"
	if w.kind <= opDelete {
		typ = fixtureType(w.target)
	}
	create := func() writeWant {
		if !c.mayHold("Patient/" + w.subject) {
			return forbidden
		}
		return writeWant{status: http.StatusCreated, created: true}
	}
	switch w.kind {
	case opUpdate:
		if !c.may('u', typ) || !c.owns(w.target) {
			return forbidden
		}
		return writeWant{status: http.StatusOK, changed: w.target}
	case opPatch:
		switch {
		case !c.may('u', typ):
			return forbidden
		case !slices.Contains(c.visible, w.target):
			return writeWant{status: http.StatusNotFound}
		case !c.owns(w.target):
			return forbidden
		}
		return writeWant{status: http.StatusOK, changed: w.target}
	case opDelete:
		if !c.may('d', typ) || !c.owns(w.target) {
			return forbidden
		}
		return writeWant{status: http.StatusNoContent, changed: w.target, deleted: true}
	case opCreate:
		if !c.may('c', typ) {
			return forbidden
		}
		return create()
	case opCreateIfNoneExist:
		switch {
		case !c.may('c', typ):
			return forbidden
		case c.matches(w.target):
			return writeWant{status: http.StatusOK, returns: w.target}
		}
		return create()
	case opConditionalUpdate:
		switch {
		case !c.may('c', typ) && !c.may('u', typ):
			return forbidden
		case c.matches(w.target) && c.may('u', typ) && c.owns(w.target):
			return writeWant{status: http.StatusOK, changed: w.target}
		case c.matches(w.target):
			return forbidden
		case !c.may('c', typ):
			return forbidden
		}
		return create()
	case opConditionalDelete:
		switch {
		case !c.may('d', typ):
			return forbidden
		case c.matches(w.target) && c.owns(w.target):
			return writeWant{status: http.StatusNoContent, changed: w.target, deleted: true}
		case c.matches(w.target):
			return forbidden
		}
		return writeWant{status: http.StatusNoContent}
	case opConditionalPatch:
		switch {
		case !c.may('u', typ):
			return forbidden
		case c.matches(w.target) && c.owns(w.target):
			return writeWant{status: http.StatusOK, changed: w.target}
		case c.matches(w.target):
			return forbidden
		}
		// A patch needs a record: criteria that match none are 404.
		return writeWant{status: http.StatusNotFound}
	case opCreateConditionalRef:
		switch {
		case !c.may('c', typ):
			return forbidden
		case !c.matches(w.subject):
			// Criteria find only what c may see, of its own source: a Patient
			// out of reach is one that does not exist.
			return writeWant{status: http.StatusPreconditionFailed}
		}
		return create()
	}
	panic("unknown write kind")
}

// ownSubject is the Patient c's new Observations are about: one it may see.
func (c writeCaller) ownSubject() string {
	if c.source == sourceB || c.source == "" {
		return "mxPatB"
	}
	return "mxPatA"
}

// otherRecord is an Observation of the other enterprise, which c may not change.
func (c writeCaller) otherRecord() string {
	if c.source == sourceB {
		return "mxObsA"
	}
	return "mxObsB"
}

func matrixWriteCells(c writeCaller) []writeCell {
	var out []writeCell
	for _, id := range []string{"mxPatA", "mxObsA", "mxPatB", "mxObsB", "mxPatB2", "mxObsB2"} {
		for _, k := range []writeKind{opUpdate, opPatch, opDelete} {
			out = append(out, writeCell{kind: k, target: id})
		}
	}
	for _, id := range []string{"mxObsA", "mxObsB", "mxObsB2"} {
		for _, k := range []writeKind{opCreateIfNoneExist, opConditionalUpdate, opConditionalDelete, opConditionalPatch} {
			out = append(out, writeCell{kind: k, target: id, subject: c.ownSubject()})
		}
	}
	return append(out, writeCell{kind: opCreate, subject: "mxPatA"}, writeCell{kind: opCreate, subject: "mxPatB"})
}

func writeCallers(t *testing.T, h *harness, readers []matrixCaller) []writeCaller {
	t.Helper()
	ctx := context.Background()
	issue := func(scope, user, patient string) string {
		tok, err := h.auth.IssueToken(ctx, scope, user, patient, 8*time.Hour)
		must(t, err)
		return tok
	}
	ownA := []string{"mxPatA", "mxObsA", "mxEncA"}
	return []writeCaller{
		{name: "alice, a user of org-a with read scopes only", token: readers[0].token, perms: "rs", source: sourceA, visible: ownA},
		{name: "alice, a user of org-a", token: issue("user/*.cruds", "alice", ""), perms: "cruds", source: sourceA, visible: ownA},
		{name: "carol, a user of org-c (no source of its own), which mxPatB's Consent permits", token: issue("user/*.cruds", "carol", ""),
			perms: "cruds", visible: []string{"mxPatB", "mxObsB", "mxEncB", "mxConB"}},
		{name: "erin, a user of org-a who broke the glass for mxPatB2", token: issue("user/*.cruds", "erin", ""), perms: "cruds", source: sourceA,
			visible: append(slices.Clone(ownA), "mxPatB2", "mxObsB2")},
		{name: "an app launched for patient mxPatA", token: issue("patient/*.cruds", "alice", "mxPatA"), perms: "cruds", source: sourceA,
			patient: "mxPatA", visible: ownA},
		{name: "a backend client of source b", token: clientToken(t, h, "system/*.cruds", sourceB), perms: "cruds", source: sourceB,
			visible: []string{"mxPatB", "mxObsB", "mxEncB", "mxConB", "mxPatB2", "mxObsB2"}},
		{name: "dave, a user of org-a with Observation scopes only", token: issue("user/Observation.cruds", "dave", ""), perms: "cruds",
			types: []string{"Observation"}, source: sourceA, visible: []string{"mxObsA"}},
	}
}

// clientToken registers a confidential backend client of sources granted
// scope and returns the access token of its client-credentials grant.
func clientToken(t *testing.T, h *harness, scope string, sources ...string) string {
	t.Helper()
	id, secret, err := h.auth.AddClient(context.Background(), smart.Client{Kind: smart.ClientSymmetric, Scopes: scope, Sources: sources})
	must(t, err)
	_, tok := h.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}, id, secret)
	out, _ := tok["access_token"].(string)
	if out == "" {
		t.Fatalf("no token for a client of %v: %v", sources, tok)
	}
	return out
}

// storeState is what the database holds, read without any scope: the version
// and deletion of every fixture record, and how many versions each source has
// written (the patient index's own bookkeeping left out).
type storeState struct {
	fixture  map[string]string
	versions map[string]int
	// byType counts versions by source and type ("<source> <type>").
	byType map[string]int
}

func readState(t *testing.T, h *harness) storeState {
	t.Helper()
	st := storeState{fixture: map[string]string{}, versions: map[string]int{}, byType: map[string]int{}}
	rows, err := h.db.Query(`SELECT res_id, version, deleted FROM resources WHERE res_id IN ('` + strings.Join(matrixIDs, "','") + `')`)
	must(t, err)
	for rows.Next() {
		var id string
		var version int64
		var deleted bool
		must(t, rows.Scan(&id, &version, &deleted))
		st.fixture[id] = fmt.Sprintf("v%d deleted=%t", version, deleted)
	}
	must(t, rows.Err())
	rows.Close()
	rows, err = h.db.Query(`SELECT source, res_type, count(*) FROM resource_versions GROUP BY source, res_type`)
	must(t, err)
	defer rows.Close()
	for rows.Next() {
		var src, typ string
		var n int
		must(t, rows.Scan(&src, &typ, &n))
		if src != smart.IndexSource {
			st.versions[src] += n
			st.byType[src+" "+typ] = n
		}
	}
	must(t, rows.Err())
	return st
}

// typesSince lists the types source wrote versions of since before.
func (s storeState) typesSince(before storeState, source string) []string {
	var out []string
	for k, n := range s.byType {
		if typ, ok := strings.CutPrefix(k, source+" "); ok && n != before.byType[k] {
			out = append(out, typ)
		}
	}
	slices.Sort(out)
	return out
}

// changedSince lists what differs from before: fixture records, and sources
// with a different number of versions.
func (s storeState) changedSince(before storeState) []string {
	var out []string
	for _, id := range matrixIDs {
		if s.fixture[id] != before.fixture[id] {
			out = append(out, id)
		}
	}
	for src, n := range s.versions {
		if n != before.versions[src] {
			out = append(out, fmt.Sprintf("%s(+%d)", src, n-before.versions[src]))
		}
	}
	for src := range before.versions {
		if _, ok := s.versions[src]; !ok {
			out = append(out, src+"(gone)")
		}
	}
	slices.Sort(out)
	return out
}

// matrixOriginals reads the fixture records as seeded, to write them back after
// a cell that changed one.
func matrixOriginals(t *testing.T, h *harness) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	ctx := ehr.WithPrincipal(context.Background(), ehr.SystemPrincipal)
	for _, id := range matrixIDs {
		rec, err := h.svc.Read(ctx, fixtureType(id), id)
		must(t, err)
		var res map[string]any
		must(t, json.Unmarshal(rec.Resource, &res))
		delete(res, "meta")
		out[id] = res
	}
	return out
}

func cloneResource(res map[string]any) map[string]any {
	b, _ := json.Marshal(res)
	var out map[string]any
	json.Unmarshal(b, &out)
	return out
}

// restore writes back the fixture record id as seeded, as its source.
func restore(t *testing.T, h *harness, originals map[string]map[string]any, id string) {
	t.Helper()
	ctx := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "source/test", Source: fixtureSource(id), System: true})
	_, _, err := h.svc.Update(ctx, fixtureType(id), id, cloneResource(originals[id]), 0)
	must(t, err)
}

// discard deletes a record a cell created, as the source that owns it.
func discard(t *testing.T, h *harness, typ, id, source string) {
	t.Helper()
	ctx := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "source/test", Source: source, System: true})
	_, err := h.svc.Delete(ctx, typ, id, 0)
	must(t, err)
}

// newObservation is the body of an Observation about subject with the
// identifier value; amended marks it as a change.
func newObservation(subject, identifier string) map[string]any {
	return map[string]any{"resourceType": "Observation", "status": "amended", "subject": map[string]any{"reference": "Patient/" + subject},
		"code":       map[string]any{"coding": []any{map[string]any{"system": "http://example.org/matrix", "code": "m2"}}},
		"identifier": []any{map[string]any{"system": matrixIdentifierSystem, "value": identifier}}}
}

// writeRequest is the HTTP request of a write cell.
type writeRequest struct {
	method, path, body string
	header             map[string]string
}

// request builds w's request: a change marks the record (an Observation
// "amended", a Patient "active"), which the caller must see afterwards. A
// created Observation carries a fresh identifier unless the criteria name one.
func (w writeCell) request(originals map[string]map[string]any, fresh string) writeRequest {
	typ := fixtureType(w.target)
	criteria := "identifier=" + url.QueryEscape(matrixIdentifierSystem+"|"+matrixIdentifier(w.target))
	body := func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	switch w.kind {
	case opUpdate:
		res := cloneResource(originals[w.target])
		if typ == "Patient" {
			res["active"] = true
		} else {
			res["status"] = "amended"
		}
		return writeRequest{method: "PUT", path: "/fhir/" + typ + "/" + w.target, body: body(res)}
	case opPatch:
		patch := `[{"op":"replace","path":"/status","value":"amended"}]`
		if typ == "Patient" {
			patch = `[{"op":"add","path":"/active","value":true}]`
		}
		return writeRequest{method: "PATCH", path: "/fhir/" + typ + "/" + w.target, body: patch}
	case opDelete:
		return writeRequest{method: "DELETE", path: "/fhir/" + typ + "/" + w.target}
	case opCreate:
		return writeRequest{method: "POST", path: "/fhir/Observation", body: body(newObservation(w.subject, fresh))}
	case opCreateIfNoneExist:
		return writeRequest{method: "POST", path: "/fhir/Observation", body: body(newObservation(w.subject, matrixIdentifier(w.target))),
			header: map[string]string{"If-None-Exist": criteria}}
	case opConditionalUpdate:
		return writeRequest{method: "PUT", path: "/fhir/Observation?" + criteria, body: body(newObservation(w.subject, matrixIdentifier(w.target)))}
	case opConditionalDelete:
		return writeRequest{method: "DELETE", path: "/fhir/Observation?" + criteria}
	case opConditionalPatch:
		return writeRequest{method: "PATCH", path: "/fhir/Observation?" + criteria, body: `[{"op":"replace","path":"/status","value":"amended"}]`}
	case opCreateConditionalRef:
		obs := newObservation(w.subject, fresh)
		obs["subject"] = map[string]any{"reference": "Patient?" + patientCriteria(w.subject)}
		return writeRequest{method: "POST", path: "/fhir/Observation", body: body(obs)}
	}
	panic("unknown write kind")
}

// patientCriteria are search criteria that find the fixture Patient id alone.
func patientCriteria(id string) string {
	p := matrixPeople[id]
	return "given=" + p.given + "&birthdate=" + p.birthDate
}

// send makes an HTTP request with a bearer token and extra headers.
func (h *harness) send(r writeRequest, token string) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(r.method, h.url+r.path, strings.NewReader(r.body))
	must(h.t, err)
	switch r.method {
	case "PATCH":
		req.Header.Set("Content-Type", "application/json-patch+json")
	case "POST", "PUT":
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	return h.do(req)
}

// checkWriteCell sends w as c and checks the answer, what changed in the
// database and what c reads afterwards; then it undoes the change.
func checkWriteCell(t *testing.T, h *harness, c writeCaller, w writeCell, originals map[string]map[string]any, serial int) {
	t.Helper()
	want := c.expect(w)
	fresh := "idf-new-" + strconv.Itoa(serial)
	req := w.request(originals, fresh)
	before := readState(t, h)
	resp, body := h.send(req, c.token)
	after := readState(t, h)
	what := c.name + ": " + w.String()
	if resp.StatusCode != want.status {
		t.Errorf("%s: %d, want %d: %s", what, resp.StatusCode, want.status, body)
	}
	var res struct {
		ID   string         `json:"id"`
		Meta map[string]any `json:"meta"`
	}
	json.Unmarshal(body, &res)
	// What the database says was written, against what the rules allow.
	var wantChanged []string
	if want.changed != "" {
		wantChanged = append(wantChanged, want.changed)
	}
	if want.changed != "" || want.created {
		wantChanged = append(wantChanged, c.source+"(+1)")
	}
	slices.Sort(wantChanged)
	if got := after.changedSince(before); !slices.Equal(got, wantChanged) {
		t.Errorf("%s: changed %v, want %v", what, got, wantChanged)
	}
	if want.status >= 400 {
		for _, hdr := range []string{"ETag", "Location", "Content-Location", "Last-Modified"} {
			if v := resp.Header.Get(hdr); v != "" {
				t.Errorf("%s: a refusal with %s %q", what, hdr, v)
			}
		}
	}
	leaks(t, matrixCaller{name: c.name, visible: c.visible}, matrixEndpoint{name: w.String(), path: req.path, body: req.body + req.header["If-None-Exist"]}, resp, body)
	if hidden := w.kind <= opDelete && !slices.Contains(c.visible, w.target); hidden && resp.StatusCode >= 400 {
		// A refusal about a record the caller may not see says nothing of it
		// beyond the id the request named: not its source, not its version,
		// and a patch of it answers as one of a record that does not exist.
		if src := fixtureSource(w.target); src != c.source && strings.Contains(string(body), src) {
			t.Errorf("%s: the refusal names the record's source %s: %s", what, src, body)
		}
		if strings.Contains(string(body), "version") {
			t.Errorf("%s: the refusal speaks of a version: %s", what, body)
		}
		if w.kind == opPatch {
			missing := req
			missing.path = strings.Replace(req.path, "/"+w.target, "/mxNoSuchRecord", 1)
			_, other := h.send(missing, c.token)
			if strings.ReplaceAll(string(body), w.target, "") != strings.ReplaceAll(string(other), "mxNoSuchRecord", "") {
				t.Errorf("%s: the answer differs from that of a record that does not exist:\n%s\n%s", what, body, other)
			}
		}
	}
	switch {
	case want.returns != "" && res.ID != want.returns:
		t.Errorf("%s: answered %q, want the match %s", what, res.ID, want.returns)
	case want.created && resp.StatusCode == http.StatusCreated:
		// The new record is the caller's source's, and the caller reads it.
		if src, _ := res.Meta["source"].(string); src != c.source {
			t.Errorf("%s: the created record's source is %q, want %q", what, src, c.source)
		}
		if r, b := h.get("/fhir/Observation/"+res.ID, c.token); r.StatusCode != http.StatusOK || !strings.Contains(string(b), `"amended"`) {
			t.Errorf("%s: reading what it created: %d %s", what, r.StatusCode, b)
		}
		discard(t, h, "Observation", res.ID, c.source)
	}
	if want.changed != "" && resp.StatusCode == want.status {
		r, b := h.get("/fhir/"+fixtureType(want.changed)+"/"+want.changed, c.token)
		switch {
		case want.deleted && r.StatusCode != http.StatusGone:
			t.Errorf("%s: reading what it deleted: %d, want 410", what, r.StatusCode)
		case !want.deleted && (r.StatusCode != http.StatusOK || !strings.Contains(string(b), `"amended"`) && !strings.Contains(string(b), `"active":true`)):
			t.Errorf("%s: reading what it changed: %d %s", what, r.StatusCode, b)
		}
	}
	if len(after.changedSince(before)) > 0 {
		for _, id := range matrixIDs {
			if after.fixture[id] != before.fixture[id] {
				restore(t, h, originals, id)
			}
		}
	}
	if want.created && resp.StatusCode != http.StatusCreated && resp.StatusCode < 300 && res.ID != "" && res.ID != want.returns {
		discard(t, h, "Observation", res.ID, c.source)
	}
}

package smart_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Transactions and batches of writes in the authorization matrix. Each entry
// is a write cell, whose answer on its own the rules give (writeCaller.expect):
// a transaction is all or nothing, so it answers with the first entry that
// fails (naming that entry) and writes nothing, or with every entry written; a
// batch answers each entry on its own and writes exactly the entries allowed.

type bundleCell struct {
	name    string
	kind    string // transaction or batch
	entries []writeCell
}

// hiddenRecord is an Observation c may not see.
func (c writeCaller) hiddenRecord() string {
	for _, id := range []string{"mxObsB2", "mxObsB", "mxObsA"} {
		if !slices.Contains(c.visible, id) {
			return id
		}
	}
	panic(c.name + " sees every Observation")
}

// ownRecord is the Observation of c's own source that c's writes change.
func (c writeCaller) ownRecord() string {
	if c.source == sourceB || c.source == "" {
		return "mxObsB"
	}
	return "mxObsA"
}

func matrixBundles(c writeCaller) []bundleCell {
	create := writeCell{kind: opCreate, subject: c.ownSubject()}
	var cells []bundleCell
	for _, id := range []string{"mxPatA", "mxPatB", "mxPatB2"} {
		cells = append(cells, bundleCell{name: "a transaction of a create whose conditional reference names " + id, kind: "transaction",
			entries: []writeCell{{kind: opCreateConditionalRef, subject: id}}})
	}
	return append(cells, []bundleCell{
		{name: "a transaction of a create and an update of the other enterprise's record", kind: "transaction",
			entries: []writeCell{create, {kind: opUpdate, target: c.otherRecord()}}},
		{name: "a transaction of a create and a patch of a hidden record", kind: "transaction",
			entries: []writeCell{create, {kind: opPatch, target: c.hiddenRecord()}}},
		{name: "a transaction of a create and a conditional update whose criteria match a hidden record", kind: "transaction",
			entries: []writeCell{create, {kind: opConditionalUpdate, target: c.hiddenRecord(), subject: c.ownSubject()}}},
		{name: "a transaction of a create and an update of its own record", kind: "transaction",
			entries: []writeCell{create, {kind: opUpdate, target: c.ownRecord()}}},
		{name: "a batch of a create, an update and a delete of the other enterprise's records, a patch of a hidden one and an update of its own", kind: "batch",
			entries: []writeCell{create, {kind: opUpdate, target: c.otherRecord()}, {kind: opDelete, target: "mxPat" + c.otherRecord()[5:]},
				{kind: opPatch, target: c.hiddenRecord()}, {kind: opUpdate, target: c.ownRecord()}}},
	}...)
}

// entry is w as an entry of a transaction or batch Bundle.
func (w writeCell) entry(originals map[string]map[string]any, fresh string) map[string]any {
	r := w.request(originals, fresh)
	u := strings.TrimPrefix(r.path, "/fhir/")
	req := map[string]any{"method": r.method, "url": u}
	out := map[string]any{"request": req}
	if v := r.header["If-None-Exist"]; v != "" {
		req["ifNoneExist"] = v
	}
	switch r.method {
	case "PATCH":
		out["resource"] = map[string]any{"resourceType": "Binary", "contentType": "application/json-patch+json",
			"data": base64.StdEncoding.EncodeToString([]byte(r.body))}
	case "POST", "PUT":
		var res map[string]any
		json.Unmarshal([]byte(r.body), &res)
		out["resource"] = res
	}
	return out
}

// checkBundleCell posts b as c and checks the answer and what it wrote against
// the entries' answers on their own.
func checkBundleCell(t *testing.T, h *harness, c writeCaller, b bundleCell, originals map[string]map[string]any, serial int) {
	t.Helper()
	what := c.name + ": " + b.name
	var entries []any
	var wants []writeWant
	for i, w := range b.entries {
		entries = append(entries, w.entry(originals, "idf-new-"+strconv.Itoa(serial)+"-"+strconv.Itoa(i)))
		wants = append(wants, c.expect(w))
	}
	raw, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": b.kind, "entry": entries})
	req := writeRequest{method: "POST", path: "/fhir", body: string(raw)}
	before := readState(t, h)
	resp, body := h.send(req, c.token)
	after := readState(t, h)

	failed := slices.IndexFunc(wants, func(w writeWant) bool { return w.status >= 400 })
	written := wants
	if b.kind == "transaction" && failed >= 0 {
		written = nil
		if resp.StatusCode != wants[failed].status {
			t.Errorf("%s: %d, want %d (entry %d): %s", what, resp.StatusCode, wants[failed].status, failed, body)
		}
		if !strings.Contains(string(body), fmt.Sprintf("Bundle.entry[%d]", failed)) {
			t.Errorf("%s: the answer does not name Bundle.entry[%d]: %s", what, failed, body)
		}
	} else if resp.StatusCode != http.StatusOK {
		t.Errorf("%s: %d, want 200: %s", what, resp.StatusCode, body)
	}
	var answer struct {
		Entry []struct {
			Response struct {
				Status, Location string
			}
		}
	}
	json.Unmarshal(body, &answer)
	if written != nil && len(answer.Entry) != len(wants) {
		t.Errorf("%s: %d entries answered, want %d: %s", what, len(answer.Entry), len(wants), body)
	}
	// What the database says was written, against the entries allowed.
	var wantChanged []string
	n := 0
	for _, w := range written {
		if w.status >= 400 {
			continue
		}
		if w.changed != "" {
			wantChanged = append(wantChanged, w.changed)
		}
		if w.changed != "" || w.created {
			n++
		}
	}
	if n > 0 {
		wantChanged = append(wantChanged, fmt.Sprintf("%s(+%d)", c.source, n))
	}
	slices.Sort(wantChanged)
	if got := after.changedSince(before); !slices.Equal(got, wantChanged) {
		t.Errorf("%s: changed %v, want %v", what, got, wantChanged)
	}
	for i, e := range answer.Entry {
		if i >= len(wants) {
			break
		}
		if got := strings.Fields(e.Response.Status); written != nil && (len(got) == 0 || got[0] != strconv.Itoa(wants[i].status)) {
			t.Errorf("%s: entry %d answered %q, want %d", what, i, e.Response.Status, wants[i].status)
		}
		if wants[i].created && strings.HasPrefix(e.Response.Location, "Observation/") {
			id, _, _ := strings.Cut(strings.TrimPrefix(e.Response.Location, "Observation/"), "/")
			discard(t, h, "Observation", id, c.source)
		}
	}
	leaks(t, matrixCaller{name: c.name, visible: c.visible}, matrixEndpoint{name: b.name, path: req.path, body: req.body}, resp, body)
	for _, id := range matrixIDs {
		if after.fixture[id] != before.fixture[id] {
			restore(t, h, originals, id)
		}
	}
}

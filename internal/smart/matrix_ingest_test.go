package smart_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"omnichart/internal/ingest"
	"omnichart/internal/ingest/hl7v2"
	"omnichart/internal/ingest/mllp"
)

// Patient/$match, imports over HTTP and MLLP in the authorization matrix.

// matchProbe is the $match request for a Patient like the fixture Patient id.
func matchProbe(id string) string {
	p := matrixPeople[id]
	return `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient",` +
		`"name":[{"family":"Matrixson","given":["` + p.given + `"]}],"gender":"` + p.gender + `","birthDate":"` + p.birthDate + `"}}]}`
}

// matchedIDs lists the Patients of a $match answer in its order, and its total.
func matchedIDs(t *testing.T, body []byte) ([]string, int) {
	t.Helper()
	var b struct {
		Total int
		Entry []struct {
			Resource struct{ ID string }
		}
	}
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("$match answered no Bundle: %s", body)
	}
	out := []string{}
	for _, e := range b.Entry {
		out = append(out, e.Resource.ID)
	}
	return out, b.Total
}

// checkMatchCells asks $match for each fixture Patient as a caller that sees
// every source, then as each caller: a caller gets the candidates it may see,
// in the same order, and nothing of the others (no entry, score or count).
func checkMatchCells(t *testing.T, h *harness, callers []matrixCaller) int {
	t.Helper()
	everyone := clientToken(t, h, "system/*.rs", "*")
	cells := 0
	for _, probe := range []string{"mxPatA", "mxPatB", "mxPatB2"} {
		e := matrixEndpoint{name: "$match of a Patient like " + probe, method: "POST", path: "/fhir/Patient/$match", body: matchProbe(probe)}
		resp, body := h.fhirPost(e.path, everyone, e.body)
		all, _ := matchedIDs(t, body)
		if resp.StatusCode != http.StatusOK || !slices.Contains(all, probe) {
			t.Fatalf("%s for a caller who sees everything: %d, candidates %v, want %s among them: %s", e.name, resp.StatusCode, all, probe, body)
		}
		for _, c := range callers {
			cells++
			resp, body := h.fhirPost(e.path, c.token, e.body)
			if !c.mayUse([]string{"Patient"}) {
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s: %s: %d, want 403 (the scopes do not name Patient)", c.name, e.name, resp.StatusCode)
				}
				leaks(t, c, e, resp, body)
				continue
			}
			want := []string{}
			for _, id := range all {
				if slices.Contains(c.visible, id) {
					want = append(want, id)
				}
			}
			got, total := matchedIDs(t, body)
			if resp.StatusCode != http.StatusOK || !slices.Equal(got, want) || total != len(want) {
				t.Errorf("%s: %s: %d, candidates %v (total %d), want %v: %s", c.name, e.name, resp.StatusCode, got, total, want, body)
			}
			leaks(t, c, e, resp, body)
		}
	}
	return cells
}

// admission is an HL7 v2 ADT^A04 of one person (the same identifier every time),
// each message with its own control id and address so that none is a
// re-delivery of another.
func admission(n int) []byte {
	return []byte("MSH|^~\\&|A|F|B|G|20240101120000+0000||ADT^A04^ADT_A01|MX-" + strconv.Itoa(n) + "|P|2.5.1\r" +
		"PID|1||MXMRN-1^^^MYEHR&2.16.840.1.113883.19.5&ISO^MR||Matrixsen^Quentin||19791212|M|||" + strconv.Itoa(n) + " Main Street^^Springfield\r" +
		"PV1|1|O\r")
}

// mayImport reports whether the rules let c write what an admission becomes: a
// Patient and an Encounter of its own source, and the shared records they name.
func (c writeCaller) mayImport() bool {
	return c.may('c', "Patient") && c.may('u', "Patient") && c.may('c', "Encounter") && c.source != "" && c.patient == ""
}

// checkImportCells imports an admission of the same person over HTTP with
// each caller's token, the file claiming a source of its own: what an import
// writes is the caller's source's (never the claimed one, never a record of
// another source, even one with the same identifier), and a caller that may
// not write it writes nothing.
func checkImportCells(t *testing.T, h *harness, callers []writeCaller, serial int) int {
	t.Helper()
	cells := 0
	claimed := ingest.Source{URI: "urn:omnichart:source:claimed-by-the-file"}
	for _, c := range callers {
		cells++
		im := ingest.New(ingest.NewRemoteTarget(h.url+"/fhir", c.token), ingest.Options{})
		before := readState(t, h)
		rep, err := im.Import(context.Background(), claimed, ingest.Input{Name: "admission.hl7", Data: admission(serial + cells)})
		after := readState(t, h)
		what := c.name + ": an import over HTTP"
		got := after.changedSince(before)
		if !c.mayImport() {
			// Refused, the message is quarantined for replay: a Task and a
			// Binary of the original, records outside every patient
			// compartment of the caller's source (a patient-context app may
			// write those too), when its scopes let it; else nothing is written.
			switch {
			case c.source != "" && c.may('c', "Task") && c.may('c', "Binary"):
				if types := after.typesSince(before, c.source); len(got) != 1 || !strings.HasPrefix(got[0], c.source+"(+") ||
					!slices.Equal(types, []string{"Binary", "Task"}) {
					t.Errorf("%s changed %v (%v of %s), want its quarantine only: Binary and Task of %s", what, got, types, c.source, c.source)
				}
			case len(got) > 0:
				t.Errorf("%s changed %v, want nothing", what, got)
			}
			continue
		}
		if err != nil || len(rep.Units) != 1 || rep.Units[0].Err != nil {
			t.Errorf("%s: %v %+v", what, err, rep)
			continue
		}
		if len(got) != 1 || !strings.HasPrefix(got[0], c.source+"(+") {
			t.Errorf("%s changed %v, want versions of %s only", what, got, c.source)
		}
	}
	return cells
}

// checkMLLPCells sends admissions of one person to the MLLP listeners of
// sources a and b in turn. A listener is bound to its source (omnichart serve
// --mllp-source); there is no caller to authorize, and what a message writes
// is that source's: the other source's record of the same person (same
// identifier) is never changed.
func checkMLLPCells(t *testing.T, h *harness, serial int) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	listen := func(source string) net.Conn {
		im := ingest.New(ingest.ServiceTarget{Service: h.svc}, ingest.Options{})
		src := ingest.Source{URI: source}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		must(t, err)
		srv := &mllp.Server{Handler: mllp.HandlerFunc(func(ctx context.Context, raw []byte) []byte {
			ack, _ := im.HandleHL7v2(ctx, src, raw)
			return ack
		})}
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.Serve(ctx, ln)
		}()
		t.Cleanup(func() { cancel(); <-done })
		conn, err := net.Dial("tcp", ln.Addr().String())
		must(t, err)
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	listeners := map[string]net.Conn{sourceA: listen(sourceA), sourceB: listen(sourceB)}
	readers := map[string]*bufio.Reader{sourceA: bufio.NewReader(listeners[sourceA]), sourceB: bufio.NewReader(listeners[sourceB])}
	cells := 0
	for _, source := range []string{sourceA, sourceB, sourceA, sourceB} {
		cells++
		what := fmt.Sprintf("an admission on the MLLP listener of %s (message %d)", source, cells)
		before := readState(t, h)
		conn := listeners[source]
		conn.SetDeadline(time.Now().Add(time.Minute))
		must(t, hl7v2.WriteFrame(conn, admission(serial+cells)))
		ack, err := hl7v2.ReadFrame(readers[source], 1<<20)
		must(t, err)
		if !strings.Contains(string(ack), "MSA|AA|") {
			t.Errorf("%s: ACK %q, want AA", what, ack)
		}
		got := readState(t, h).changedSince(before)
		if len(got) != 1 || !strings.HasPrefix(got[0], source+"(+") {
			t.Errorf("%s changed %v, want versions of %s only", what, got, source)
		}
	}
	return cells
}

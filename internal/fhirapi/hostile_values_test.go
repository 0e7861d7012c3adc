package fhirapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"omnichart/internal/ehrtest"
	"omnichart/internal/fhirapi"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

// Hostile and careless request bodies and values (docs/limits.md, "Request bodies
// and values"): each is refused with its status and an OperationOutcome naming the
// element or the limit, and none of them changes a resource or a version.

// hostileMaxBody is the body limit of the test server: above the 1 MB of
// characters a FHIR string may hold, so that limit can be reached first.
const hostileMaxBody = 2 << 20

// valuesServer is a real server over loopback whose log is kept, to check what a
// refused request is logged as.
type valuesServer struct {
	base string
	addr string
	logs *lockedBuffer
}

func newValuesServer(t *testing.T, engine string) *valuesServer {
	t.Helper()
	st := ehrtest.MustOpen(t, engine, store.Options{})
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	api := fhirapi.New(service.New(st, service.Options{Log: log}), fhirapi.Config{MaxBodyBytes: hostileMaxBody, Version: "test"}, log)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &valuesServer{base: srv.URL + "/fhir", addr: srv.Listener.Addr().String(), logs: logs}
}

// client returns a client of the server that reports to t.
func (s *valuesServer) client(t *testing.T) *client { return &client{t: t, base: s.base} }

// forValuesEngines runs fn against a fresh hostile server on each engine.
func forValuesEngines(t *testing.T, fn func(t *testing.T, s *valuesServer)) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				ehrtest.PostgresURL(t)
			}
			fn(t, newValuesServer(t, engine))
		})
	}
}

// lockedBuffer is a log destination that handlers on many goroutines share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// stored counts the current resources and all versions, to show that a refused
// request changed nothing.
type stored struct{ resources, versions int }

func storedCounts(c *client) stored {
	c.t.Helper()
	r := c.must(200, "GET", "?_summary=count", "")
	total, _ := r.json["total"].(float64)
	return stored{resources: int(total), versions: c.versions()}
}

// checkOutcome fails unless r is an OperationOutcome with status and, when where is
// not empty, an issue whose expression is where; diagnostics must contain diag.
func checkOutcome(t *testing.T, what string, r response, status int, where, diag string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s = %d, want %d; body %.400s", what, r.status, status, r.body)
	}
	if r.json["resourceType"] != "OperationOutcome" {
		t.Fatalf("%s answered %.300s, want an OperationOutcome", what, r.body)
	}
	var exprs []string
	text := ""
	issues, _ := r.json["issue"].([]any)
	for _, is := range issues {
		m, _ := is.(map[string]any)
		d, _ := m["diagnostics"].(string)
		text += d + "\n"
		ex, _ := m["expression"].([]any)
		for _, e := range ex {
			s, _ := e.(string)
			exprs = append(exprs, s)
		}
	}
	if where != "" && !contains(exprs, where) {
		t.Errorf("%s: the outcome names %q, want %q; body %.400s", what, exprs, where, r.body)
	}
	if diag != "" && !strings.Contains(text, diag) {
		t.Errorf("%s: the outcome says %q, want it to mention %q", what, text, diag)
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// hostileCase is one refused request.
type hostileCase struct {
	name    string
	method  string
	path    string
	body    string
	headers []string
	status  int
	where   string // the expression the outcome must name; "" when it names no element
	diag    string // a part of the diagnostics
}

func TestHostileValuesAreRefusedAndChangeNothing(t *testing.T) {
	const (
		enc   = `{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"subject":{"reference":"%s"}}`
		uuid1 = "urn:uuid:0b3a7b3e-6a0c-4b6e-9d5c-6f0b7e6c2a11"
		uuid2 = "urn:uuid:0b3a7b3e-6a0c-4b6e-9d5c-6f0b7e6c2a12"
		obs   = `{"resourceType":"Observation","status":"final","code":{"text":"x"},%s}`
	)
	forValuesEngines(t, func(t *testing.T, s *valuesServer) {
		setup := s.client(t)
		id := setup.must(201, "POST", "/Patient", fmt.Sprintf(patientJSON, "p1")).json["id"].(string)
		put := func(extra string) string {
			return `{"resourceType":"Patient","id":"` + id + `"` + extra + `}`
		}
		tx := func(entries ...string) string {
			return `{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Join(entries, ",") + `]}`
		}
		postEntry := func(fullURL, resource string) string {
			return `{"fullUrl":"` + fullURL + `","resource":` + resource + `,"request":{"method":"POST","url":"` + typeOf(resource) + `"}}`
		}
		patient := `{"resourceType":"Patient","name":[{"family":"Chalmers"}]}`
		deep := `{"resourceType":"Patient","extension":` + strings.Repeat(`[{"url":"http://x","extension":`, 60) + `[]` + strings.Repeat(`}]`, 60) + `}`
		patch := []string{"Content-Type", "application/json-patch+json"}
		strict := []string{"Prefer", "handling=strict"}
		tests := []hostileCase{
			// JSON that encoding/json would have accepted with a guess.
			{"a property repeated in a resource is 400 at its path", "POST", "/Patient", `{"resourceType":"Patient","gender":"male","gender":"female"}`, nil, 400, "Patient.gender", "more than once"},
			{"a property repeated through an escape is 400", "POST", "/Patient", `{"resourceType":"Patient","gender":"male","gend\u0065r":"female"}`, nil, 400, "Patient.gender", "more than once"},
			{"a property repeated in an update is 400", "PUT", "/Patient/" + id, put(`,"active":true,"active":false`), nil, 400, "Patient.active", "more than once"},
			{"a property repeated inside a transaction entry is 400 at its path", "POST", "", tx(postEntry(uuid1, `{"resourceType":"Patient","gender":"male","gender":"female"}`)), nil, 400, "Bundle.entry[0].resource.gender", "more than once"},
			{"a property repeated in a JSON Patch is 400", "PATCH", "/Patient/" + id, `[{"op":"add","op":"remove","path":"/active","value":true}]`, patch, 400, "", "more than once"},
			{"a byte that is not UTF-8 is 400 at its element", "POST", "/Patient", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Chalmers\xff\"}]}", nil, 400, "Patient.name[0].family", "not valid UTF-8"},
			{"a UTF-8 encoded surrogate is 400", "POST", "/Patient", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"a\xed\xb0\x80\"}]}", nil, 400, "Patient.name[0].family", "not valid UTF-8"},
			{"a lone first half of a surrogate pair is 400", "POST", "/Patient", `{"resourceType":"Patient","name":[{"given":["Peter","P\ud800"]}]}`, nil, 400, "Patient.name[0].given[1]", "surrogate"},
			{"a lone second half of a surrogate pair is 400", "POST", "/Patient", `{"resourceType":"Patient","name":[{"family":"\udfffa"}]}`, nil, 400, "Patient.name[0].family", "surrogate"},
			{"a byte that is not UTF-8 in a JSON Patch value is 400", "PATCH", "/Patient/" + id, "[{\"op\":\"add\",\"path\":\"/gender\",\"value\":\"m\xe9le\"}]", patch, 400, "", "not valid UTF-8"},
			{"nesting deeper than 100 levels is 400", "POST", "/Patient", deep, nil, 400, "", "nest more than 100"},

			// Values outside their FHIR type.
			{"an integer beyond 32 bits is 400", "POST", "/Patient", `{"resourceType":"Patient","multipleBirthInteger":3000000000}`, nil, 400, "Patient.multipleBirthInteger", "32-bit"},
			{"a positiveInt beyond 32 bits is 400", "POST", "/Appointment", `{"resourceType":"Appointment","status":"booked","participant":[{"status":"accepted"}],"minutesDuration":4294967297}`, nil, 400, "Appointment.minutesDuration", "32-bit"},
			{"a decimal of 1e400 is 400", "POST", "/Observation", fmt.Sprintf(obs, `"valueQuantity":{"value":1e400}`), nil, 400, "Observation.valueQuantity.value", "finite"},
			{"a decimal too small to tell from zero is 400", "POST", "/Observation", fmt.Sprintf(obs, `"valueQuantity":{"value":1e-400}`), nil, 400, "Observation.valueQuantity.value", "zero"},
			{"the 30th of February is 400", "POST", "/Patient", `{"resourceType":"Patient","birthDate":"2020-02-30"}`, nil, 400, "Patient.birthDate", "not a real date"},
			{"an hour of 25 is 400", "POST", "/Patient", `{"resourceType":"Patient","deceasedDateTime":"2020-02-01T25:61:61Z"}`, nil, 400, "Patient.deceasedDateTime", ""},
			{"an offset of +99:99 is 400", "POST", "/Patient", `{"resourceType":"Patient","deceasedDateTime":"2020-02-01T10:00:00+99:99"}`, nil, 400, "Patient.deceasedDateTime", ""},
			{"an instant on a day that does not exist is 400", "POST", "/Observation", fmt.Sprintf(obs, `"issued":"2021-04-31T10:00:00Z"`), nil, 400, "Observation.issued", "not a real date"},
			{"a value out of range in a JSON Patch is 400", "PATCH", "/Patient/" + id, `[{"op":"add","path":"/birthDate","value":"2021-02-29"}]`, patch, 400, "Patient.birthDate", "not a real date"},

			// NUL and other control characters.
			{"a NUL in a string on create is 400", "POST", "/Patient", `{"resourceType":"Patient","name":[{"family":"Chal\u0000mers"}]}`, nil, 400, "Patient.name[0].family", "control character"},
			{"a NUL in a string on update is 400", "PUT", "/Patient/" + id, put(`,"name":[{"family":"Chal\u0000mers"}]`), nil, 400, "Patient.name[0].family", "control character"},
			{"a NUL added by a JSON Patch is 400", "PATCH", "/Patient/" + id, `[{"op":"add","path":"/name/0/family","value":"a\u0000"}]`, patch, 400, "Patient.name[0].family", "control character"},
			{"a NUL in an identifier of a transaction entry is 400", "POST", "", tx(postEntry(uuid1, `{"resourceType":"Patient","identifier":[{"value":"\u0000"}]}`)), nil, 400, "Bundle.entry[0].resource.identifier[0].value", "control character"},
			{"an escape character in a narrative is 400", "POST", "/Patient", `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">\u001b[2J</div>"}}`, nil, 400, "Patient.text.div", "control character"},
			{"a string longer than 1 MB of characters is 400", "POST", "/Patient", `{"resourceType":"Patient","name":[{"text":"` + strings.Repeat("x", 1<<20+1) + `"}]}`, nil, 400, "Patient.name[0].text", "1048576 characters"},
			{"a NUL in a string search value is 400", "GET", "/Patient?name=Chal%00mers", "", nil, 400, "", "control character"},
			{"a NUL in a token search value is 400", "GET", "/Patient?identifier=http://mrn.example|%00", "", nil, 400, "", "control character"},
			{"a NUL in a search posted as a form is 400", "POST", "/Patient/_search", "name=%00", []string{"Content-Type", "application/x-www-form-urlencoded"}, 400, "", "control character"},
			{"a search value that is not UTF-8 is 400", "GET", "/Patient?name=%FF", "", nil, 400, "", "UTF-8"},
			{"a NUL in the criteria of a conditional create is 400", "POST", "/Patient", fmt.Sprintf(patientJSON, "p2"), []string{"If-None-Exist", "identifier=%00"}, 400, "", "control character"},
			{"a NUL in the criteria of a conditional update is 400", "PUT", "/Patient?identifier=%00", fmt.Sprintf(patientJSON, "p2"), nil, 400, "", "control character"},
			{"a NUL in the criteria of a conditional delete is 400", "DELETE", "/Patient?identifier=%00", "", nil, 400, "", "control character"},
			{"a NUL in a read id is 400", "GET", "/Patient/%00", "", nil, 400, "", "not a valid resource id"},
			{"an id that is not UTF-8 is 400", "GET", "/Patient/%FF", "", nil, 400, "", "not a valid resource id"},
			{"a NUL in a vread id is 400", "GET", "/Patient/%00/_history/1", "", nil, 400, "", "not a valid resource id"},
			{"a NUL in a history id is 400", "GET", "/Patient/%00/_history", "", nil, 400, "", "not a valid resource id"},
			{"a NUL in a compartment id is 400", "GET", "/Patient/%00/Observation", "", nil, 400, "", "not a valid resource id"},
			{"a NUL in a delete id is 400", "DELETE", "/Patient/%00", "", nil, 400, "", "not a valid resource id"},
			{"a NUL in a patch id is 400", "PATCH", "/Patient/%00", `[{"op":"add","path":"/active","value":true}]`, patch, 400, "", "not a valid resource id"},
			{"a NUL in the id of a transaction entry's url is 400", "POST", "", tx(`{"request":{"method":"GET","url":"Patient/\u0000"}}`), nil, 400, "Bundle.entry[0]", "not a valid resource id"},

			// Dates in searches under strict handling.
			{"a search for the 30th of February is 400 under strict handling", "GET", "/Patient?birthdate=2020-02-30", "", strict, 400, "", "not a valid date"},
			{"a search for an hour of 25 is 400 under strict handling", "GET", "/Patient?birthdate=2020-02-01T25:61:61Z", "", strict, 400, "", "not a valid time"},
			{"a search with an offset of +99:99 is 400 under strict handling", "GET", "/Patient?birthdate=2020-02-01T10:00:00%2B99:99", "", strict, 400, "", "offset"},

			// References that cannot be resolved.
			{"a transaction entry referring to a urn:uuid no entry has is 400", "POST", "", tx(postEntry(uuid1, patient), postEntry(uuid2, fmt.Sprintf(enc, "urn:uuid:0b3a7b3e-6a0c-4b6e-9d5c-000000000000"))), nil, 400, "Bundle.entry[1].resource.subject.reference", "not the fullUrl"},
			{"a transaction entry referring to a urn:oid no entry has is 400", "POST", "", tx(postEntry(uuid1, patient), postEntry(uuid2, fmt.Sprintf(enc, "urn:oid:1.2.3.4"))), nil, 400, "Bundle.entry[1].resource.subject.reference", "not the fullUrl"},
			{"a reference differing from a fullUrl only in case is 400", "POST", "", tx(postEntry(uuid1, patient), postEntry(uuid2, fmt.Sprintf(enc, strings.ToUpper(uuid1)))), nil, 400, "Bundle.entry[1].resource.subject.reference", "not the fullUrl"},
			{"a contained resource referring to a urn:uuid no entry has is 400", "POST", "", tx(postEntry(uuid1, `{"resourceType":"Observation","status":"final","code":{"text":"x"},"contained":[{"resourceType":"Specimen","id":"s","subject":{"reference":"urn:uuid:0b3a7b3e-6a0c-4b6e-9d5c-000000000000"}}],"specimen":{"reference":"#s"}}`)), nil, 400, "Bundle.entry[0].resource.contained[0].subject.reference", "not the fullUrl"},
			{"two entries with the same fullUrl are 400", "POST", "", tx(postEntry(uuid1, patient), postEntry(uuid1, patient)), nil, 400, "Bundle.entry[1].fullUrl", "same fullUrl"},
			{"two batch entries with the same fullUrl are 400", "POST", "", strings.Replace(tx(postEntry(uuid1, patient), postEntry(uuid1, patient)), `"transaction"`, `"batch"`, 1), nil, 400, "Bundle.entry[1].fullUrl", "same fullUrl"},
			{"a urn:uuid reference in a plain create is 400", "POST", "/Encounter", fmt.Sprintf(enc, uuid1), nil, 400, "Encounter.subject.reference", "not the fullUrl"},
			{"a urn:uuid reference in a plain update is 400", "PUT", "/Encounter/e1", strings.Replace(fmt.Sprintf(enc, uuid1), `{"resourceType":"Encounter"`, `{"resourceType":"Encounter","id":"e1"`, 1), nil, 400, "Encounter.subject.reference", "not the fullUrl"},
			{"a urn:uuid reference added by a JSON Patch is 400", "PATCH", "/Patient/" + id, `[{"op":"add","path":"/managingOrganization","value":{"reference":"` + uuid1 + `"}}]`, patch, 400, "Patient.managingOrganization.reference", "not the fullUrl"},
			{"a conditional reference in a plain create that matches nothing is 412", "POST", "/Encounter", fmt.Sprintf(enc, "Patient?identifier=http://mrn.example|nobody"), nil, 412, "", "matches 0 resources"},
			{"a conditional reference in a JSON Patch that matches nothing is 412", "PATCH", "/Patient/" + id, `[{"op":"add","path":"/generalPractitioner","value":[{"reference":"Practitioner?identifier=nobody"}]}]`, patch, 412, "", "matches 0 resources"},
			{"a transaction whose conditional reference matches nothing is 412", "POST", "", tx(postEntry(uuid1, patient), postEntry(uuid2, fmt.Sprintf(enc, "Patient?identifier=http://mrn.example|nobody"))), nil, 412, "", "matches 0 resources"},

			// Bodies over the limit.
			{"a body over the limit is 413", "POST", "/Patient", `{"resourceType":"Patient","name":[{"text":"` + strings.Repeat("x", hostileMaxBody) + `"}]}`, nil, 413, "", "larger than the limit"},
			{"a transaction of more entries than max-bundle-entries is 413", "POST", "", tx(manyDeletes(service.DefaultMaxBundleEntries + 1)...), nil, 413, "", "max-bundle-entries"},
			{"a batch of more entries than max-bundle-entries is 413", "POST", "", strings.Replace(tx(manyDeletes(service.DefaultMaxBundleEntries+1)...), `"transaction"`, `"batch"`, 1), nil, 413, "", "max-bundle-entries"},
			{"a form body over the limit is 413", "POST", "/Patient/_search", "name=" + strings.Repeat("x", hostileMaxBody), []string{"Content-Type", "application/x-www-form-urlencoded"}, 413, "", "larger than the limit"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := s.client(t)
				before := storedCounts(c)
				r := c.do(tt.method, tt.path, tt.body, tt.headers...)
				checkOutcome(t, tt.method+" "+shortPath(tt.path), r, tt.status, tt.where, tt.diag)
				if after := storedCounts(c); after != before {
					t.Errorf("the refused request changed the store: %+v before, %+v after", before, after)
				}
			})
		}
		if logs := s.logs.String(); strings.Contains(logs, "level=ERROR") {
			t.Errorf("refused requests were logged as errors:\n%s", logs)
		}
	})
}

// manyDeletes returns n small transaction entries, each deleting a Patient.
func manyDeletes(n int) []string {
	entries := make([]string, n)
	for i := range entries {
		entries[i] = fmt.Sprintf(`{"request":{"method":"DELETE","url":"Patient/gone-%d"}}`, i)
	}
	return entries
}

func typeOf(resource string) string {
	var m struct{ ResourceType string }
	json.Unmarshal([]byte(resource), &m)
	return m.ResourceType
}

func shortPath(p string) string {
	if len(p) > 80 {
		return p[:80] + "…"
	}
	return p
}

// rawExchange sends raw bytes on a new connection, then half-closes it, and reads
// the response.
func rawExchange(t *testing.T, addr, request string) response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read the response: %v", err)
	}
	defer resp.Body.Close()
	out := response{status: resp.StatusCode, header: resp.Header}
	out.body, _ = io.ReadAll(resp.Body)
	json.Unmarshal(out.body, &out.json)
	return out
}

func TestBrokenBodiesAreClientErrors(t *testing.T) {
	head := func(method, path string, lines ...string) string {
		return method + " /fhir" + path + " HTTP/1.1\r\nHost: test\r\n" + strings.Join(lines, "\r\n") + "\r\n\r\n"
	}
	body := fmt.Sprintf(patientJSON, "cut")
	forValuesEngines(t, func(t *testing.T, s *valuesServer) {
		tests := []struct {
			name    string
			request string
			status  int
			diag    string
			warning string // what the log must hold at level WARN; "" for nothing
		}{
			{"a body that ends before its Content-Length is 400",
				head("POST", "/Patient", "Content-Type: application/fhir+json", fmt.Sprintf("Content-Length: %d", len(body)+100)) + body,
				400, "could not be read to its end", "request body cut short"},
			{"a transaction that ends before its Content-Length is 400",
				head("POST", "", "Content-Type: application/fhir+json", "Content-Length: 5000") + `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + body,
				400, "could not be read to its end", "request body cut short"},
			{"a JSON Patch that ends before its Content-Length is 400",
				head("PATCH", "/Patient/x", "Content-Type: application/json-patch+json", "Content-Length: 500") + `[{"op":"add"`,
				400, "could not be read to its end", "request body cut short"},
			{"a malformed chunked body is 400",
				head("POST", "/Patient", "Content-Type: application/fhir+json", "Transfer-Encoding: chunked") + "zz\r\n" + body + "\r\n0\r\n\r\n",
				400, "could not be read to its end", "request body cut short"},
			{"a chunked body that stops before its last chunk is 400",
				head("POST", "/Patient", "Content-Type: application/fhir+json", "Transfer-Encoding: chunked") + fmt.Sprintf("%x\r\n%s\r\n", len(body), body),
				400, "could not be read to its end", "request body cut short"},
			{"a Content-Length over the limit is 413 before the body is sent",
				head("POST", "/Patient", "Content-Type: application/fhir+json", fmt.Sprintf("Content-Length: %d", hostileMaxBody+1)),
				413, "larger than the limit", ""},
			{"a chunked body growing over the limit is 413",
				head("POST", "/Patient", "Content-Type: application/fhir+json", "Transfer-Encoding: chunked") + fmt.Sprintf("%x\r\n%s\r\n", hostileMaxBody+1, strings.Repeat(" ", hostileMaxBody+1)),
				413, "larger than the limit", ""},
			{"a chunked search form growing over the limit is 413",
				head("POST", "/Patient/_search", "Content-Type: application/x-www-form-urlencoded", "Transfer-Encoding: chunked") + fmt.Sprintf("%x\r\nname=%s\r\n", hostileMaxBody+6, strings.Repeat("x", hostileMaxBody+1)),
				413, "larger than the limit", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := storedCounts(s.client(t))
				mark := len(s.logs.String())
				r := rawExchange(t, s.addr, tt.request)
				checkOutcome(t, tt.name, r, tt.status, "", tt.diag)
				if after := storedCounts(s.client(t)); after != before {
					t.Errorf("the refused request changed the store: %+v before, %+v after", before, after)
				}
				logs := s.logs.String()[mark:]
				if strings.Contains(logs, "level=ERROR") {
					t.Errorf("the refused request was logged as an error:\n%s", logs)
				}
				if tt.warning != "" && !strings.Contains(logs, "level=WARN msg=\""+tt.warning+"\"") {
					t.Errorf("the log lacks the warning %q:\n%s", tt.warning, logs)
				}
			})
		}
	})
}

func TestConditionalReferencesInPlainWritesAreResolved(t *testing.T) {
	forValuesEngines(t, func(t *testing.T, s *valuesServer) {
		c := s.client(t)
		pid := c.must(201, "POST", "/Patient", fmt.Sprintf(patientJSON, "cr1")).json["id"].(string)
		org := c.must(201, "POST", "/Organization", `{"resourceType":"Organization","identifier":[{"system":"http://npi","value":"7"}],"name":"Clinic"}`).json["id"].(string)
		cond := "Patient?identifier=http://mrn.example|cr1"
		enc := `{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"subject":{"reference":"` + cond + `"}}`
		tests := []struct {
			name   string
			method string
			path   string
			body   string
			ctype  string
			field  func(map[string]any) any
			want   string
		}{
			{"a conditional reference in a create becomes the matched resource", "POST", "/Encounter", enc, "", subjectRef, "Patient/" + pid},
			{"a conditional reference in an update becomes the matched resource", "PUT", "/Encounter/e2", strings.Replace(enc, `"Encounter",`, `"Encounter","id":"e2",`, 1), "", subjectRef, "Patient/" + pid},
			{"a conditional reference in a conditional update becomes the matched resource", "PUT", "/Encounter?identifier=http://enc|3", strings.Replace(enc, `"Encounter",`, `"Encounter","identifier":[{"system":"http://enc","value":"3"}],`, 1), "", subjectRef, "Patient/" + pid},
			{"a conditional reference added by a JSON Patch becomes the matched resource", "PATCH", "/Patient/" + pid, `[{"op":"add","path":"/managingOrganization","value":{"reference":"Organization?identifier=http://npi|7"}}]`, "application/json-patch+json",
				func(m map[string]any) any { return m["managingOrganization"].(map[string]any)["reference"] }, "Organization/" + org},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := s.client(t)
				var headers []string
				if tt.ctype != "" {
					headers = []string{"Content-Type", tt.ctype}
				}
				r := c.do(tt.method, tt.path, tt.body, headers...)
				if r.status != 200 && r.status != 201 {
					t.Fatalf("%s %s = %d, want 200 or 201; body %.300s", tt.method, tt.path, r.status, r.body)
				}
				if got := tt.field(r.json); got != tt.want {
					t.Errorf("%s %s stored the reference %v, want %s", tt.method, tt.path, got, tt.want)
				}
			})
		}
	})
}

func subjectRef(m map[string]any) any {
	s, _ := m["subject"].(map[string]any)
	return s["reference"]
}

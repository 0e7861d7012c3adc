package fhirapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
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

// client drives a real server over loopback.
type client struct {
	t    *testing.T
	base string
}

type response struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func newServer(t *testing.T, engine string) *client {
	t.Helper()
	st := ehrtest.MustOpen(t, engine, store.Options{})
	api := fhirapi.New(service.New(st, service.Options{}), fhirapi.Config{MaxBodyBytes: 1 << 20, Version: "test"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &client{t: t, base: srv.URL + "/fhir"}
}

func (c *client) do(method, path, body string, headers ...string) response {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out := response{status: resp.StatusCode, header: resp.Header}
	out.body, _ = io.ReadAll(resp.Body)
	if len(out.body) > 0 {
		json.Unmarshal(out.body, &out.json)
	}
	return out
}

// must checks the status and returns the response.
func (c *client) must(status int, method, path, body string, headers ...string) response {
	c.t.Helper()
	r := c.do(method, path, body, headers...)
	if r.status != status {
		c.t.Fatalf("%s %s = %d, want %d; body %s", method, path, r.status, status, r.body)
	}
	return r
}

// versions counts every stored version in the system, to show that a refused
// request wrote nothing.
func (c *client) versions() int {
	c.t.Helper()
	n := 0
	next := "/_history?_count=1000"
	for next != "" {
		r := c.must(200, "GET", next, "")
		entries, _ := r.json["entry"].([]any)
		n += len(entries)
		next = ""
		for _, l := range r.json["link"].([]any) {
			if l.(map[string]any)["relation"] == "next" {
				next = strings.TrimPrefix(l.(map[string]any)["url"].(string), c.base)
			}
		}
	}
	return n
}

const patientJSON = `{"resourceType":"Patient","identifier":[{"system":"http://mrn.example","value":"%s"}],"name":[{"family":"Chalmers","given":["Peter"]}],"birthDate":"1974-12-25"}`

// forEngines runs fn against a server on every engine, Citus included where it is
// configured.
func forEngines(t *testing.T, fn func(t *testing.T, c *client)) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				ehrtest.PostgresURL(t)
			}
			fn(t, newServer(t, engine))
		})
	}
}

func TestBadInputIsRefusedWithAnOutcomeAndWritesNothing(t *testing.T) {
	forEngines(t, func(t *testing.T, c *client) {
		created := c.must(201, "POST", "/Patient", fmt.Sprintf(patientJSON, "1"))
		id := created.json["id"].(string)
		big := `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">` + strings.Repeat("x", 1<<20) + `</div>"}}`
		tests := []struct {
			name    string
			method  string
			path    string
			body    string
			headers []string
			status  int
			where   string // an expression the outcome must name, if any
		}{
			{"invalid JSON is 400 with its line and column", "POST", "/Patient", `{"resourceType":"Patient",}`, nil, 400, ""},
			{"a body that is not an object is 400", "POST", "/Patient", `[1,2]`, nil, 400, ""},
			{"an XML body is 415", "POST", "/Patient", `<Patient xmlns="http://hl7.org/fhir"/>`, []string{"Content-Type", "application/fhir+xml"}, 415, ""},
			{"a form body on create is 415", "POST", "/Patient", `a=b`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, ""},
			{"a body over the size limit is 413", "POST", "/Patient", big, nil, 413, ""},
			{"an unknown resource type is 400", "POST", "/Patientx", `{"resourceType":"Patientx"}`, nil, 400, ""},
			{"a body of another type than the URL is 400", "POST", "/Observation", fmt.Sprintf(patientJSON, "2"), nil, 400, ""},
			{"an unknown element is 400 and named", "POST", "/Patient", `{"resourceType":"Patient","nmae":[{"family":"X"}]}`, nil, 400, "Patient.nmae"},
			{"a malformed date is 400 and named", "POST", "/Patient", `{"resourceType":"Patient","birthDate":"25/12/1974"}`, nil, 400, "Patient.birthDate"},
			{"an update whose body id differs from the URL is 400", "PUT", "/Patient/" + id, `{"resourceType":"Patient","id":"other"}`, nil, 400, "Patient.id"},
			{"an update without an id in the body is 400", "PUT", "/Patient/" + id, `{"resourceType":"Patient"}`, nil, 400, "Patient.id"},
			{"an id with invalid characters is 400", "PUT", "/Patient/bad_id!", `{"resourceType":"Patient","id":"bad_id!"}`, nil, 400, ""},
			{"an unknown type in a read is 400", "GET", "/Patientx/1", "", nil, 400, ""},
			{"a malformed If-Match is 400", "PUT", "/Patient/" + id, `{"resourceType":"Patient","id":"` + id + `"}`, []string{"If-Match", "yesterday"}, 400, ""},
			{"a JSON Patch with the wrong content type is 415", "PATCH", "/Patient/" + id, `[]`, []string{"Content-Type", "application/fhir+json"}, 415, ""},
			{"a JSON Patch changing the id is 400", "PATCH", "/Patient/" + id, `[{"op":"replace","path":"/id","value":"x"}]`, []string{"Content-Type", "application/json-patch+json"}, 400, ""},
			{"a JSON Patch producing an invalid resource is 400", "PATCH", "/Patient/" + id, `[{"op":"add","path":"/gender","value":7}]`, []string{"Content-Type", "application/json-patch+json"}, 400, "Patient.gender"},
			{"a transaction with a broken entry is 400", "POST", "", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},{"resource":{"resourceType":"Patient","x":1},"request":{"method":"POST","url":"Patient"}}]}`, nil, 400, "Bundle.entry[1].resource.x"},
			{"a Bundle that is not a transaction or batch is 400", "POST", "", `{"resourceType":"Bundle","type":"collection"}`, nil, 400, ""},
			{"XML requested with _format is 406", "GET", "/Patient/" + id + "?_format=xml", "", nil, 406, ""},
			{"an unsupported route is 501", "GET", "/Patient/" + id + "/$everything-else", "", nil, 501, ""},
			{"POST to an instance is 405", "POST", "/Patient/" + id, `{"resourceType":"Patient"}`, nil, 405, ""},
			{"DELETE on history is 405", "DELETE", "/Patient/" + id + "/_history", "", nil, 405, ""},
		}
		before := c.versions()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := c.do(tt.method, tt.path, tt.body, tt.headers...)
				if r.status != tt.status {
					t.Fatalf("%s %s = %d, want %d; body %.300s", tt.method, tt.path, r.status, tt.status, r.body)
				}
				if r.json["resourceType"] != "OperationOutcome" {
					t.Fatalf("%s %s answered %.200s, want an OperationOutcome", tt.method, tt.path, r.body)
				}
				if !strings.HasPrefix(r.header.Get("Content-Type"), "application/fhir+json") {
					t.Errorf("Content-Type = %q, want application/fhir+json", r.header.Get("Content-Type"))
				}
				if tt.where != "" && !strings.Contains(string(r.body), `"`+tt.where+`"`) {
					t.Errorf("outcome %s does not name %s", r.body, tt.where)
				}
			})
		}
		if after := c.versions(); after != before {
			t.Errorf("refused requests changed the store: %d versions before, %d after", before, after)
		}
	})
}

func TestReadUpdateDeleteFollowTheHTTPRules(t *testing.T) {
	forEngines(t, func(t *testing.T, c *client) {
		r := c.must(201, "POST", "/Patient", fmt.Sprintf(patientJSON, "1"))
		id := r.json["id"].(string)
		if loc := r.header.Get("Location"); !strings.HasSuffix(loc, "/Patient/"+id+"/_history/1") {
			t.Errorf("Location = %q, want .../Patient/%s/_history/1", loc, id)
		}
		if r.header.Get("ETag") != `W/"1"` || r.header.Get("Last-Modified") == "" {
			t.Errorf("ETag %q Last-Modified %q, want W/\"1\" and a date", r.header.Get("ETag"), r.header.Get("Last-Modified"))
		}
		meta := r.json["meta"].(map[string]any)
		if meta["versionId"] != "1" || meta["lastUpdated"] == nil {
			t.Errorf("meta = %v, want versionId 1 and lastUpdated", meta)
		}

		read := c.must(200, "GET", "/Patient/"+id, "")
		c.must(304, "GET", "/Patient/"+id, "", "If-None-Match", `W/"1"`)
		c.must(200, "GET", "/Patient/"+id, "", "If-None-Match", `W/"0"`)
		c.must(304, "GET", "/Patient/"+id, "", "If-Modified-Since", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
		c.must(200, "GET", "/Patient/"+id, "", "If-Modified-Since", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat))
		if pretty := c.must(200, "GET", "/Patient/"+id+"?_pretty=true", ""); !strings.Contains(string(pretty.body), "\n  ") {
			t.Errorf("_pretty=true answered unindented JSON")
		}
		if string(read.body) == "" {
			t.Fatal("read returned an empty body")
		}

		body := fmt.Sprintf(`{"resourceType":"Patient","id":"%s","active":true}`, id)
		up := c.must(200, "PUT", "/Patient/"+id, body, "If-Match", `W/"1"`)
		if up.header.Get("ETag") != `W/"2"` {
			t.Errorf("update ETag = %q, want W/\"2\"", up.header.Get("ETag"))
		}
		c.must(412, "PUT", "/Patient/"+id, body, "If-Match", `W/"1"`)
		min := c.must(200, "PUT", "/Patient/"+id, body, "Prefer", "return=minimal")
		if len(min.body) != 0 {
			t.Errorf("Prefer return=minimal answered a body: %s", min.body)
		}
		oo := c.must(200, "PUT", "/Patient/"+id, body, "Prefer", "return=OperationOutcome")
		if oo.json["resourceType"] != "OperationOutcome" {
			t.Errorf("Prefer return=OperationOutcome answered %s", oo.body)
		}
		c.must(201, "PUT", "/Patient/client-id-1", `{"resourceType":"Patient","id":"client-id-1"}`)

		p := c.must(200, "PATCH", "/Patient/"+id, `[{"op":"replace","path":"/active","value":false}]`, "Content-Type", "application/json-patch+json")
		if p.json["active"] != false || p.header.Get("ETag") != `W/"5"` {
			t.Errorf("PATCH = active %v ETag %s, want false and W/\"5\"", p.json["active"], p.header.Get("ETag"))
		}
		v1 := c.must(200, "GET", "/Patient/"+id+"/_history/1", "")
		if v1.json["active"] != nil {
			t.Errorf("vread 1 shows active = %v, want the original version", v1.json["active"])
		}
		c.must(404, "GET", "/Patient/"+id+"/_history/99", "")

		c.must(204, "DELETE", "/Patient/"+id, "")
		c.must(410, "GET", "/Patient/"+id, "")
		c.must(410, "GET", "/Patient/"+id+"/_history/6", "")
		c.must(200, "GET", "/Patient/"+id+"/_history/5", "")
		c.must(204, "DELETE", "/Patient/"+id, "")
		c.must(404, "GET", "/Patient/never-existed", "")
	})
}

func TestConditionalInteractions(t *testing.T) {
	forEngines(t, func(t *testing.T, c *client) {
		first := c.must(201, "POST", "/Patient", fmt.Sprintf(patientJSON, "c1"), "If-None-Exist", "identifier=http://mrn.example|c1")
		again := c.must(200, "POST", "/Patient", fmt.Sprintf(patientJSON, "c1"), "If-None-Exist", "identifier=http://mrn.example|c1")
		if first.json["id"] != again.json["id"] {
			t.Errorf("conditional create made %v and %v, want one patient", first.json["id"], again.json["id"])
		}
		// Conditional update creates when nothing matches, then updates the match.
		cu := c.must(201, "PUT", "/Patient?identifier=http://mrn.example|c2", fmt.Sprintf(patientJSON, "c2"))
		cu2 := c.must(200, "PUT", "/Patient?identifier=http://mrn.example|c2", fmt.Sprintf(patientJSON, "c2"))
		if cu.json["id"] != cu2.json["id"] || cu2.header.Get("ETag") != `W/"2"` {
			t.Errorf("conditional update wrote %v then %v (ETag %s), want the same patient at version 2", cu.json["id"], cu2.json["id"], cu2.header.Get("ETag"))
		}
		c.must(201, "POST", "/Patient", fmt.Sprintf(patientJSON, "dup"))
		c.must(201, "POST", "/Patient", fmt.Sprintf(patientJSON, "dup"))
		c.must(412, "POST", "/Patient", fmt.Sprintf(patientJSON, "dup"), "If-None-Exist", "identifier=http://mrn.example|dup")
		c.must(412, "PUT", "/Patient?identifier=dup", fmt.Sprintf(patientJSON, "dup"))
		c.must(412, "DELETE", "/Patient?identifier=dup", "")
		c.must(204, "DELETE", "/Patient?identifier=http://mrn.example|c2", "")
		c.must(410, "GET", "/Patient/"+cu.json["id"].(string), "")
		c.must(204, "DELETE", "/Patient?identifier=nothing-matches", "")
		c.must(200, "PATCH", "/Patient?identifier=http://mrn.example|c1", `[{"op":"add","path":"/active","value":true}]`, "Content-Type", "application/json-patch+json")
		c.must(400, "POST", "/Patient", fmt.Sprintf(patientJSON, "c3"), "If-None-Exist", "unknownparam=1")
	})
}

func TestHistoryPagesThroughEveryVersion(t *testing.T) {
	forEngines(t, func(t *testing.T, c *client) {
		for i := 0; i < 7; i++ {
			c.must(201, "POST", "/Patient", fmt.Sprintf(patientJSON, fmt.Sprint(i)))
		}
		c.must(201, "POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`)
		since := time.Now().UTC()
		time.Sleep(10 * time.Millisecond)
		last := c.must(201, "POST", "/Patient", fmt.Sprintf(patientJSON, "late"))

		seen := 0
		next := "/Patient/_history?_count=3"
		pages := 0
		for next != "" {
			r := c.must(200, "GET", next, "")
			if r.json["type"] != "history" {
				t.Fatalf("history Bundle type = %v", r.json["type"])
			}
			entries, _ := r.json["entry"].([]any)
			seen += len(entries)
			pages++
			next = ""
			for _, l := range r.json["link"].([]any) {
				if l.(map[string]any)["relation"] == "next" {
					next = strings.TrimPrefix(l.(map[string]any)["url"].(string), c.base)
				}
			}
		}
		if seen != 8 || pages != 3 {
			t.Errorf("type history = %d entries in %d pages, want 8 in 3", seen, pages)
		}
		if n := c.versions(); n != 9 {
			t.Errorf("system history = %d versions, want 9", n)
		}
		r := c.must(200, "GET", "/_history?_since="+since.Format(time.RFC3339Nano), "")
		if entries, _ := r.json["entry"].([]any); len(entries) != 1 {
			t.Errorf("_history?_since = %d entries, want 1", len(entries))
		}
		inst := c.must(200, "GET", "/Patient/"+last.json["id"].(string)+"/_history", "")
		if inst.json["total"] != 1.0 {
			t.Errorf("instance history total = %v, want 1", inst.json["total"])
		}
		c.must(400, "GET", "/_history?_since=yesterday", "")
		c.must(404, "GET", "/Patient/unknown/_history", "")
	})
}

func TestTransactionAndBatch(t *testing.T) {
	forEngines(t, func(t *testing.T, c *client) {
		c.must(201, "POST", "/Organization", `{"resourceType":"Organization","identifier":[{"system":"http://npi","value":"9"}],"name":"Clinic"}`)
		tx := `{"resourceType":"Bundle","type":"transaction","entry":[
		 {"fullUrl":"urn:uuid:0b3a7b3e-6a0c-4b6e-9d5c-6f0b7e6c2a11","resource":{"resourceType":"Patient","managingOrganization":{"reference":"Organization?identifier=http://npi|9"}},"request":{"method":"POST","url":"Patient"}},
		 {"fullUrl":"urn:uuid:0b3a7b3e-6a0c-4b6e-9d5c-6f0b7e6c2a12","resource":{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"subject":{"reference":"urn:uuid:0b3a7b3e-6a0c-4b6e-9d5c-6f0b7e6c2a11"}},"request":{"method":"POST","url":"Encounter"}},
		 {"request":{"method":"GET","url":"Organization?identifier=http://npi|9"}}]}`
		r := c.must(200, "POST", "", tx)
		if r.json["type"] != "transaction-response" {
			t.Fatalf("type = %v, want transaction-response", r.json["type"])
		}
		entries := r.json["entry"].([]any)
		enc := entries[1].(map[string]any)["resource"].(map[string]any)
		pat := entries[0].(map[string]any)["resource"].(map[string]any)
		if got := enc["subject"].(map[string]any)["reference"]; got != "Patient/"+pat["id"].(string) {
			t.Errorf("Encounter.subject = %v, want Patient/%v", got, pat["id"])
		}
		if got := pat["managingOrganization"].(map[string]any)["reference"].(string); !strings.HasPrefix(got, "Organization/") {
			t.Errorf("conditional reference became %q, want Organization/<id>", got)
		}
		search := entries[2].(map[string]any)["resource"].(map[string]any)
		if search["type"] != "searchset" || len(search["entry"].([]any)) != 1 {
			t.Errorf("GET entry answered %v, want a searchset with one Organization", search)
		}

		before := c.versions()
		bad := strings.Replace(tx, "Organization?identifier=http://npi|9\"}}", "Organization?identifier=http://npi|404\"}}", 1)
		c.must(412, "POST", "", bad)
		if after := c.versions(); after != before {
			t.Errorf("a failed transaction wrote %d versions", after-before)
		}

		batch := `{"resourceType":"Bundle","type":"batch","entry":[
		 {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
		 {"resource":{"resourceType":"Patient","bogus":1},"request":{"method":"POST","url":"Patient"}},
		 {"request":{"method":"GET","url":"Patient/does-not-exist"}}]}`
		b := c.must(200, "POST", "", batch)
		statuses := []string{}
		for _, e := range b.json["entry"].([]any) {
			statuses = append(statuses, e.(map[string]any)["response"].(map[string]any)["status"].(string))
		}
		if strings.Join(statuses, ",") != "201 Created,400 Bad Request,404 Not Found" {
			t.Errorf("batch statuses = %v, want 201, 400, 404", statuses)
		}
	})
}

func TestConcurrentRequests(t *testing.T) {
	forEngines(t, func(t *testing.T, c *client) {
		id := c.must(201, "POST", "/Patient", fmt.Sprintf(patientJSON, "x")).json["id"].(string)
		const n = 10
		var wg sync.WaitGroup
		statuses := make([]int, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				body := fmt.Sprintf(`{"resourceType":"Patient","id":"%s","gender":"other","name":[{"text":"v%d"}]}`, id, i)
				statuses[i] = c.do("PUT", "/Patient/"+id, body, "If-Match", `W/"1"`).status
			}(i)
		}
		wg.Wait()
		ok, refused := 0, 0
		for _, s := range statuses {
			switch s {
			case 200:
				ok++
			case 409, 412:
				refused++
			}
		}
		if ok != 1 || refused != n-1 {
			t.Errorf("concurrent If-Match updates: %d succeeded, %d refused (%v); want 1 and %d", ok, refused, statuses, n-1)
		}

		created := make([]int, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				created[i] = c.do("POST", "/Patient", fmt.Sprintf(patientJSON, "par"), "If-None-Exist", "identifier=http://mrn.example|par").status
			}(i)
		}
		wg.Wait()
		r := c.must(200, "GET", "/Patient?identifier=http://mrn.example|par", "")
		if entries := r.json["entry"].([]any); len(entries) != 1 {
			t.Errorf("parallel conditional creates made %d patients (statuses %v), want 1", len(entries), created)
		}
	})
}

func TestCapabilityStatementDescribesTheServer(t *testing.T) {
	c := newServer(t, "sqlite")
	r := c.must(200, "GET", "/metadata", "")
	if r.json["resourceType"] != "CapabilityStatement" || r.json["fhirVersion"] != "4.0.1" {
		t.Fatalf("metadata = %.200s", r.body)
	}
	rest := r.json["rest"].([]any)[0].(map[string]any)
	resources := rest["resource"].([]any)
	if len(resources) != 146 {
		t.Errorf("CapabilityStatement lists %d resource types, want the 146 of R4", len(resources))
	}
	for _, res := range resources {
		m := res.(map[string]any)
		if m["type"] == "AuditEvent" {
			// The audit log is read-only (auditevent.go): read and search only.
			var codes []string
			for _, i := range m["interaction"].([]any) {
				codes = append(codes, i.(map[string]any)["code"].(string))
			}
			if strings.Join(codes, ",") != "read,search-type" {
				t.Errorf("AuditEvent interactions = %v, want read and search-type only", codes)
			}
			continue
		}
		if m["type"] != "Patient" {
			continue
		}
		var params []string
		for _, p := range m["searchParam"].([]any) {
			params = append(params, p.(map[string]any)["name"].(string))
		}
		got := "," + strings.Join(params, ",") + ","
		for _, want := range []string{"_id", "_lastUpdated", "identifier", "name", "birthdate", "general-practitioner"} {
			if !strings.Contains(got, ","+want+",") {
				t.Errorf("Patient search parameters %v lack %s", params, want)
			}
		}
		if strings.Contains(got, ",_text,") || strings.Contains(got, ",_content,") {
			t.Errorf("Patient search parameters %v list _text/_content, which are not implemented", params)
		}
	}
}

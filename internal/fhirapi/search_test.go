package fhirapi_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func entryIDs(r response) []string {
	var out []string
	entries, _ := r.json["entry"].([]any)
	for _, e := range entries {
		em := e.(map[string]any)
		res := em["resource"].(map[string]any)
		out = append(out, fmt.Sprintf("%s:%s", em["search"].(map[string]any)["mode"], res["id"]))
	}
	return out
}

// matches lists the match entries of a searchset, as entryIDs does.
func matches(r response) []string {
	var out []string
	for _, id := range entryIDs(r) {
		if strings.HasPrefix(id, "match:") {
			out = append(out, id)
		}
	}
	return out
}

// outcomeIssues returns the issues of the outcome entries of a searchset.
func outcomeIssues(r response) []map[string]any {
	var out []map[string]any
	entries, _ := r.json["entry"].([]any)
	for _, e := range entries {
		em := e.(map[string]any)
		if em["search"].(map[string]any)["mode"] != "outcome" {
			continue
		}
		for _, is := range em["resource"].(map[string]any)["issue"].([]any) {
			out = append(out, is.(map[string]any))
		}
	}
	return out
}

func link(r response, rel string) string {
	for _, l := range r.json["link"].([]any) {
		if l.(map[string]any)["relation"] == rel {
			return l.(map[string]any)["url"].(string)
		}
	}
	return ""
}

func TestSearchOverHTTP(t *testing.T) {
	forEngines(t, func(t *testing.T, c *client) {
		c.must(201, "PUT", "/Patient/a", `{"resourceType":"Patient","id":"a","name":[{"family":"Alpha"}],"gender":"female","birthDate":"1970","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Alpha</div>"}}`)
		c.must(201, "PUT", "/Patient/b", `{"resourceType":"Patient","id":"b","name":[{"family":"Beta"}],"gender":"female","birthDate":"1980"}`)
		c.must(201, "PUT", "/Observation/o", `{"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/a"}}`)

		r := c.must(200, "GET", "/Patient?gender=female&_sort=-birthdate", "")
		if got := strings.Join(entryIDs(r), ","); got != "match:b,match:a" {
			t.Errorf("sorted search = %s, want match:b,match:a", got)
		}
		post := c.must(200, "POST", "/Patient/_search", "gender=female&_sort=birthdate", "Content-Type", "application/x-www-form-urlencoded")
		if got := strings.Join(entryIDs(post), ","); got != "match:a,match:b" {
			t.Errorf("POST _search = %s, want match:a,match:b", got)
		}

		p1 := c.must(200, "GET", "/Patient?_sort=birthdate&_count=1", "")
		next := link(p1, "next")
		if next == "" {
			t.Fatal("first page has no next link")
		}
		p2 := c.must(200, "GET", strings.TrimPrefix(next, c.base), "")
		if got := strings.Join(entryIDs(p2), ","); got != "match:b" {
			t.Errorf("page 2 = %s, want match:b", got)
		}
		prev := link(p2, "previous")
		if prev == "" {
			t.Fatal("page 2 has no previous link")
		}
		if got := strings.Join(entryIDs(c.must(200, "GET", strings.TrimPrefix(prev, c.base), "")), ","); got != "match:a" {
			t.Errorf("previous of page 2 = %s, want match:a", got)
		}

		inc := c.must(200, "GET", "/Observation?_id=o&_include=Observation:subject", "")
		if got := strings.Join(entryIDs(inc), ","); got != "match:o,include:a" {
			t.Errorf("_include = %s, want match:o,include:a", got)
		}
		comp := c.must(200, "GET", "/Patient/a/Observation", "")
		if got := strings.Join(entryIDs(comp), ","); got != "match:o" {
			t.Errorf("Patient/a/Observation = %s, want match:o", got)
		}
		if c.must(200, "GET", "/Patient/b/Observation", "").json["entry"] != nil {
			t.Errorf("Patient/b/Observation found resources, want none")
		}

		lenient := c.must(200, "GET", "/Patient?gender=female&colour=red", "")
		if self := link(lenient, "self"); strings.Contains(self, "colour") || len(matches(lenient)) != 2 {
			t.Errorf("lenient search: self %s, %d results; want colour dropped from self and 2 results", self, len(matches(lenient)))
		}
		c.must(400, "GET", "/Patient?gender=female&colour=red", "", "Prefer", "handling=strict")

		count := c.must(200, "GET", "/Patient?_summary=count", "")
		if count.json["total"] != 2.0 || count.json["entry"] != nil {
			t.Errorf("_summary=count = total %v entries %v, want 2 and none", count.json["total"], count.json["entry"])
		}
		sum := c.must(200, "GET", "/Patient?_id=a&_summary=true", "")
		res := sum.json["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
		if res["text"] != nil || res["birthDate"] != "1970" || !strings.Contains(fmt.Sprint(res["meta"]), "SUBSETTED") {
			t.Errorf("_summary=true resource = %v, want text dropped, birthDate kept, SUBSETTED tag", res)
		}
		el := c.must(200, "GET", "/Patient?_id=a&_elements=gender", "")
		res = el.json["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
		if res["gender"] != "female" || res["name"] != nil || res["birthDate"] != nil {
			t.Errorf("_elements=gender resource = %v, want only gender (with id and meta)", res)
		}
		total := c.must(200, "GET", "/Patient?_total=accurate&_count=1", "")
		if total.json["total"] != 2.0 {
			t.Errorf("_total=accurate = %v, want 2", total.json["total"])
		}
		c.must(400, "GET", "/Patient?birthdate=not-a-date", "", "Prefer", "handling=strict")
		if got := len(matches(c.must(200, "GET", "/Patient?birthdate=not-a-date&gender=female", ""))); got != 2 {
			t.Errorf("lenient search with a malformed date = %d results, want the parameter ignored and 2", got)
		}
		c.must(400, "GET", "/Patient?_sort=colour", "")
		c.must(400, "GET", "/Observation?code:in="+url.QueryEscape("http://example.org/vs"), "")
	})
}

func TestLenientSearchSaysWhatItIgnored(t *testing.T) {
	forEngines(t, func(t *testing.T, c *client) {
		c.must(201, "PUT", "/Patient/a", `{"resourceType":"Patient","id":"a","gender":"female","birthDate":"1970"}`)
		c.must(201, "PUT", "/Patient/b", `{"resourceType":"Patient","id":"b","gender":"male","birthDate":"1980"}`)
		type ignored struct{ code, expression, names string }
		tests := []struct {
			name    string
			query   string
			matches int
			want    []ignored
		}{
			{"a clean search has no outcome entry", "gender=female", 1, nil},
			{"a search without parameters has no outcome entry", "", 2, nil},
			{"an unknown parameter is named in a not-supported warning", "gender=female&colour=red", 1,
				[]ignored{{"not-supported", "colour", `"colour"`}}},
			{"a malformed value is named in an invalid warning", "birthdate=not-a-date", 2,
				[]ignored{{"invalid", "birthdate", `"birthdate"`}}},
			{"an unknown modifier is named with its modifier", "gender:sounds-like=female", 2,
				[]ignored{{"not-supported", "gender", `"gender:sounds-like"`}}},
			{"each ignored parameter gets its own issue, once", "colour=red&colour=blue&birthdate=soon&gender=male", 1,
				[]ignored{{"not-supported", "colour", `"colour"`}, {"invalid", "birthdate", `"birthdate"`}}},
			{"a count-only search still says what it ignored", "colour=red&_summary=count", 0,
				[]ignored{{"not-supported", "colour", `"colour"`}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := c.must(200, "GET", "/Patient?"+tt.query, "")
				if got := len(matches(r)); got != tt.matches {
					t.Errorf("GET /Patient?%s = %d matches, want %d", tt.query, got, tt.matches)
				}
				issues := outcomeIssues(r)
				if len(issues) != len(tt.want) {
					t.Fatalf("GET /Patient?%s outcome issues = %v, want %d", tt.query, issues, len(tt.want))
				}
				for i, w := range tt.want {
					is := issues[i]
					if is["severity"] != "warning" || is["code"] != w.code || fmt.Sprint(is["expression"]) != "["+w.expression+"]" ||
						!strings.Contains(is["diagnostics"].(string), w.names) {
						t.Errorf("GET /Patient?%s issue %d = %v, want a %s warning at %s naming %s", tt.query, i, is, w.code, w.expression, w.names)
					}
				}
			})
		}
	})
}

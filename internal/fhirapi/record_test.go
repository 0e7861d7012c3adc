package fhirapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhirapi"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

// The tests of the integrated record act as sources and as readers of limited
// scope. A test request names them in headers, which recordServer turns into the
// principal: X-Test-Source writes for that source, X-Test-Sees limits the reader
// to records of the listed sources (comma-separated).
const (
	srcA   = "urn:omnichart:source:a"
	srcB   = "urn:omnichart:source:b"
	srcC   = "urn:omnichart:source:c"
	srcMPI = "urn:omnichart:source:mpi"
)

type seesPolicy struct{}

func (seesPolicy) Authorize(context.Context, ehr.Principal, ehr.Action, string) error { return nil }

func (seesPolicy) Scope(_ context.Context, p ehr.Principal) (ehr.Scope, error) {
	if sees, ok := strings.CutPrefix(p.Subject, "sees:"); ok {
		return ehr.Scope{Sources: strings.Split(sees, ",")}, nil
	}
	return ehr.Unrestricted(), nil
}

func newRecordServer(t *testing.T, engine string) *client {
	t.Helper()
	st := ehrtest.MustOpen(t, engine, store.Options{})
	api := fhirapi.New(service.New(st, service.Options{Policy: seesPolicy{}}), fhirapi.Config{MaxBodyBytes: 1 << 20, Version: "test"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := ehr.Principal{Subject: "test", Source: r.Header.Get("X-Test-Source")}
		if sees := r.Header.Get("X-Test-Sees"); sees != "" {
			p.Subject = "sees:" + sees
		}
		api.ServeHTTP(w, r.WithContext(ehr.WithPrincipal(r.Context(), p)))
	}))
	t.Cleanup(srv.Close)
	return &client{t: t, base: srv.URL + "/fhir"}
}

func forRecordEngines(t *testing.T, fn func(t *testing.T, c *client)) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				ehrtest.PostgresURL(t)
			}
			fn(t, newRecordServer(t, engine))
		})
	}
}

// put writes body as typ/id owned by source.
func (c *client) put(source, ref, body string) {
	c.t.Helper()
	typ, id, _ := strings.Cut(ref, "/")
	body = strings.Replace(body, "{", fmt.Sprintf(`{"resourceType":%q,"id":%q,`, typ, id), 1)
	r := c.do("PUT", "/"+ref, body, "X-Test-Source", source)
	if r.status != 200 && r.status != 201 {
		c.t.Fatalf("PUT %s as %s = %d: %s", ref, source, r.status, r.body)
	}
}

// person writes Person/id owned by the MPI, linking each "Patient/x=level" given.
func (c *client) person(id string, links ...string) {
	c.t.Helper()
	var ls []string
	for _, l := range links {
		ref, level, _ := strings.Cut(l, "=")
		ls = append(ls, fmt.Sprintf(`{"target":{"reference":%q},"assurance":%q}`, ref, level))
	}
	c.put(srcMPI, "Person/"+id, `{"active":true,"link":[`+strings.Join(ls, ",")+`]}`)
}

// pages follows a Bundle's next links from path and returns every entry's
// "Type/id" with its search mode, and the number of pages.
func (c *client) pages(path string, headers ...string) (refs []string, modes map[string]string, n int) {
	c.t.Helper()
	modes = map[string]string{}
	for path != "" {
		n++
		if n > 100 {
			c.t.Fatalf("more than 100 pages from %s", path)
		}
		r := c.must(200, "GET", path, "", headers...)
		entries, _ := r.json["entry"].([]any)
		for _, e := range entries {
			em := e.(map[string]any)
			res := em["resource"].(map[string]any)
			ref := res["resourceType"].(string) + "/" + res["id"].(string)
			refs = append(refs, ref)
			mode, _ := em["search"].(map[string]any)["mode"].(string)
			modes[ref] = mode
		}
		path = ""
		for _, l := range r.json["link"].([]any) {
			if l.(map[string]any)["relation"] == "next" {
				path = strings.TrimPrefix(l.(map[string]any)["url"].(string), c.base)
			}
		}
	}
	return refs, modes, n
}

// sameSet fails unless got holds exactly want, each once.
func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("%s:\n got  %v\n want %v", what, g, w)
	}
}

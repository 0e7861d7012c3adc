package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/ingest"
)

// remoteTarget writes to a running Omnichart (or any FHIR R4 server) through its
// REST API; it implements ingest.Target.
type remoteTarget struct {
	base   string
	client *http.Client
	// token is the bearer access token sent with every request, if any.
	token string
}

func newRemoteTarget(base, token string) *remoteTarget {
	return &remoteTarget{base: strings.TrimSuffix(base, "/"), client: &http.Client{Timeout: 10 * time.Minute}, token: token}
}

// tokenFlag adds --token (also OMNICHART_TOKEN) to a command that can talk to a
// running server.
func tokenFlag(fs *flag.FlagSet) *string {
	return fs.String("token", "", "bearer access token for --server (see \"omnichart admin token\")")
}

func (t *remoteTarget) do(ctx context.Context, method, u string, body []byte) (fhir.Resource, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/fhir+json")
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
		req.Header.Set("Prefer", "return=minimal")
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, t.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, t.base, err)
	}
	var res fhir.Resource
	if len(bytes.TrimSpace(data)) > 0 {
		res, err = fhir.Decode(data)
		if err != nil && resp.StatusCode < 300 {
			return nil, fmt.Errorf("%s %s: response: %w", method, t.base, err)
		}
	}
	if resp.StatusCode >= 300 {
		return nil, remoteError(resp.StatusCode, res)
	}
	return res, nil
}

// remoteError turns an error response into an *ehr.Error with the code of its status.
func remoteError(status int, oo fhir.Resource) error {
	e := &ehr.Error{Code: ingest.CodeOfStatus(status), Message: "HTTP " + strconv.Itoa(status)}
	var msgs []string
	for _, v := range fhir.Array(oo, "issue") {
		m, _ := v.(map[string]any)
		is := fhir.Issue{Severity: fhir.String(m, "severity"), Code: fhir.String(m, "code"), Diagnostics: fhir.String(m, "diagnostics")}
		if is.Diagnostics != "" {
			msgs = append(msgs, is.Diagnostics)
		}
		e.Issues = append(e.Issues, is)
	}
	if len(msgs) > 0 {
		e.Message = strings.Join(msgs, "; ")
	}
	return e
}

// Apply implements ingest.Target: the changes travel as a Bundle, and the
// response Bundle's entries come back as outcomes. A conditional transaction
// (opts.IfNoneExist) cannot be asked of the FHIR API; the pipeline checks for an
// earlier import before it writes.
func (t *remoteTarget) Apply(ctx context.Context, kind string, changes []ehr.Change, opts ehr.ApplyOptions) ([]ehr.Outcome, error) {
	body, err := json.Marshal(ingest.ChangesBundle(kind, changes))
	if err != nil {
		return nil, err
	}
	resp, err := t.do(ctx, http.MethodPost, t.base, body)
	if err != nil {
		return nil, err
	}
	outs := ingest.ResponseOutcomes(resp)
	if len(outs) != len(changes) {
		return nil, fmt.Errorf("POST %s: the response has %d entries for %d requests", t.base, len(outs), len(changes))
	}
	return outs, nil
}

// Search implements ingest.Target, following next links.
func (t *remoteTarget) Search(ctx context.Context, typ, query string, limit int) ([]fhir.Resource, error) {
	u := t.base + "/" + typ + "?" + query + "&_count=" + strconv.Itoa(min(limit, 1000))
	var out []fhir.Resource
	for u != "" && len(out) < limit {
		page, err := t.do(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		for _, e := range fhir.Array(page, "entry") {
			m, _ := e.(map[string]any)
			if res := fhir.Object(m, "resource"); res != nil && fhir.String(fhir.Object(m, "search"), "mode") != "include" {
				out = append(out, res)
			}
		}
		u = ""
		for _, l := range fhir.Array(page, "link") {
			m, _ := l.(map[string]any)
			if fhir.String(m, "relation") == "next" {
				u = fhir.String(m, "url")
			}
		}
		if u != "" {
			// Follow the server's link, but on the host we were given.
			if nu, err := url.Parse(u); err == nil {
				if bu, err := url.Parse(t.base); err == nil {
					nu.Scheme, nu.Host = bu.Scheme, bu.Host
					u = nu.String()
				}
			}
		}
	}
	return out[:min(len(out), limit)], nil
}

// Read implements ingest.Target.
func (t *remoteTarget) Read(ctx context.Context, typ, id string) (fhir.Resource, error) {
	return t.do(ctx, http.MethodGet, t.base+"/"+typ+"/"+url.PathEscape(id), nil)
}

package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
)

// RemoteTarget writes to a running Omnichart (or any FHIR R4 server) through its
// REST API (omnichart import --server); it implements Target.
type RemoteTarget struct {
	base   string
	client *http.Client
	// token is the bearer access token sent with every request, if any.
	token string
}

// NewRemoteTarget is a RemoteTarget for the FHIR base URL base, sending token
// (when not empty) as the bearer access token of every request.
func NewRemoteTarget(base, token string) *RemoteTarget {
	return &RemoteTarget{base: strings.TrimSuffix(base, "/"), client: &http.Client{Timeout: 10 * time.Minute}, token: token}
}

func (t *RemoteTarget) do(ctx context.Context, method, u string, body []byte) (fhir.Resource, error) {
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
	e := &ehr.Error{Code: CodeOfStatus(status), Message: "HTTP " + strconv.Itoa(status)}
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

// Apply implements Target: the changes travel as a Bundle, and the
// response Bundle's entries come back as outcomes. A conditional transaction
// (opts.IfNoneExist) cannot be asked of the FHIR API; the pipeline checks for an
// earlier import before it writes.
func (t *RemoteTarget) Apply(ctx context.Context, kind string, changes []ehr.Change, opts ehr.ApplyOptions) ([]ehr.Outcome, error) {
	body, err := json.Marshal(ChangesBundle(kind, changes))
	if err != nil {
		return nil, err
	}
	resp, err := t.do(ctx, http.MethodPost, t.base, body)
	if err != nil {
		return nil, err
	}
	outs := ResponseOutcomes(resp)
	if len(outs) != len(changes) {
		return nil, fmt.Errorf("POST %s: the response has %d entries for %d requests", t.base, len(outs), len(changes))
	}
	return outs, nil
}

// Search implements Target, following next links.
func (t *RemoteTarget) Search(ctx context.Context, typ, query string, limit int) ([]fhir.Resource, error) {
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

// Read implements Target.
func (t *RemoteTarget) Read(ctx context.Context, typ, id string) (fhir.Resource, error) {
	return t.do(ctx, http.MethodGet, t.base+"/"+typ+"/"+url.PathEscape(id), nil)
}

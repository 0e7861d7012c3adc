package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// Target is where the pipeline writes: the interaction engine in this process, or
// a remote Omnichart through its FHIR API. Errors are *ehr.Error values where the
// cause is known.
type Target interface {
	// Apply runs changes as a transaction (all or nothing) or a batch (each on
	// its own, failures in Outcome.Err), with outcomes in the order of changes.
	Apply(ctx context.Context, kind string, changes []ehr.Change, opts ehr.ApplyOptions) ([]ehr.Outcome, error)
	// Search returns up to limit current resources of typ matching query, a search
	// query string such as "identifier=urn:x|1".
	Search(ctx context.Context, typ, query string, limit int) ([]fhir.Resource, error)
	// Read returns the current version of typ/id.
	Read(ctx context.Context, typ, id string) (fhir.Resource, error)
}

// Engine is the interaction engine as the pipeline uses it in this process.
type Engine interface {
	Apply(ctx context.Context, kind string, changes []ehr.Change, opts ehr.ApplyOptions) ([]ehr.Outcome, error)
	Search(ctx context.Context, q *search.Query) (*ehr.Page, error)
	Read(ctx context.Context, typ, id string) (*ehr.Record, error)
}

// ServiceTarget writes through the interaction engine in this process: typed
// changes in, typed outcomes out, no Bundle on the way. The principal is the one
// of each call's context.
type ServiceTarget struct {
	Service Engine
}

// onlyOnceKey carries the condition under which a transaction may be written.
type onlyOnceKey struct{}

// onlyOnce makes the transactions written with ctx conditional: nothing is written
// when a resource matches condition ("Type?criteria"). The local target checks it
// atomically with the write; a remote one cannot, and relies on the check before.
func onlyOnce(ctx context.Context, condition string) context.Context {
	return context.WithValue(ctx, onlyOnceKey{}, condition)
}

// applyBundle runs a transaction or batch Bundle built by the pipeline.
func applyBundle(ctx context.Context, t Target, bundle fhir.Resource) ([]ehr.Change, []ehr.Outcome, error) {
	return applyBundleWith(ctx, t, bundle, 0)
}

// applyBundleWith runs a Bundle whose last book entries are the pipeline's own
// bookkeeping, not counted against the limit on entries.
func applyBundleWith(ctx context.Context, t Target, bundle fhir.Resource, book int) ([]ehr.Change, []ehr.Outcome, error) {
	kind, changes, err := ehr.ParseBundle(bundle, "")
	if err != nil {
		return nil, nil, err
	}
	opts := ehr.ApplyOptions{Bookkeeping: book}
	if kind == "transaction" {
		opts.IfNoneExist, _ = ctx.Value(onlyOnceKey{}).(string)
	}
	outs, err := t.Apply(ctx, kind, changes, opts)
	return changes, outs, err
}

// Apply implements Target.
func (t ServiceTarget) Apply(ctx context.Context, kind string, changes []ehr.Change, opts ehr.ApplyOptions) ([]ehr.Outcome, error) {
	return t.Service.Apply(ctx, kind, changes, opts)
}

// Search implements Target, following pages until limit results are found.
func (t ServiceTarget) Search(ctx context.Context, typ, query string, limit int) ([]fhir.Resource, error) {
	q, err := search.ParseString(typ, query)
	if err != nil {
		return nil, ehr.Errorf(ehr.Invalid, "%v", err)
	}
	var out []fhir.Resource
	for {
		q.Count = min(search.MaxCount, limit-len(out))
		page, err := t.Service.Search(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, rec := range page.Records {
			res, err := fhir.Decode(rec.Resource)
			if err != nil {
				return nil, err
			}
			out = append(out, res)
		}
		if page.Next == "" || len(out) >= limit {
			return out, nil
		}
		q.Cursor = page.Next
	}
}

// Read implements Target.
func (t ServiceTarget) Read(ctx context.Context, typ, id string) (fhir.Resource, error) {
	rec, err := t.Service.Read(ctx, typ, id)
	if err != nil {
		return nil, err
	}
	return fhir.Decode(rec.Resource)
}

// ChangesBundle renders changes as a transaction or batch Bundle, for a target
// that speaks the FHIR API.
func ChangesBundle(kind string, changes []ehr.Change) fhir.Resource {
	entries := make([]any, len(changes))
	for i, c := range changes {
		u := c.Type
		switch {
		case c.ID != "" && c.Version != 0:
			u += "/" + c.ID + "/_history/" + strconv.FormatInt(c.Version, 10)
		case c.ID != "":
			u += "/" + c.ID
		}
		if c.Query != "" {
			u += "?" + c.Query
		}
		req := map[string]any{"method": c.Method, "url": u}
		if c.IfNoneExist != "" {
			req["ifNoneExist"] = c.IfNoneExist
		}
		if c.IfMatch != 0 {
			req["ifMatch"] = fmt.Sprintf(`W/"%d"`, c.IfMatch)
		}
		e := map[string]any{"request": req}
		if c.FullURL != "" {
			e["fullUrl"] = c.FullURL
		}
		if c.Resource != nil {
			e["resource"] = c.Resource
		}
		entries[i] = e
	}
	return fhir.Resource{"resourceType": "Bundle", "type": kind, "entry": entries}
}

// ResponseOutcomes reads a transaction- or batch-response Bundle into outcomes:
// the record each entry's location names (type, id and version; no body), whether
// it was created, and the error of a failed batch entry with its issues.
func ResponseOutcomes(resp fhir.Resource) []ehr.Outcome {
	var out []ehr.Outcome
	for _, e := range fhir.Array(resp, "entry") {
		m, _ := e.(map[string]any)
		r := fhir.Object(m, "response")
		status := fhir.String(r, "status")
		var o ehr.Outcome
		code, _ := strconv.Atoi(strings.Fields(status + " 0")[0])
		if code >= 300 {
			o.Err = &ehr.Error{Code: CodeOfStatus(code), Message: "entry failed with " + status, Issues: outcomeIssues(r)}
		} else if loc := fhir.String(r, "location"); loc != "" {
			path, version, _ := strings.Cut(loc, "/_history/")
			typ, id, _, ok := fhir.ParseReference(path)
			if ok {
				v, _ := strconv.ParseInt(version, 10, 64)
				o.Record = &ehr.Record{Type: typ, ID: id, Version: v}
				o.Created = code == http.StatusCreated
			}
		}
		out = append(out, o)
	}
	return out
}

// CodeOfStatus maps an HTTP status back to the error code a FHIR server answers it
// for, for targets that speak the FHIR API.
func CodeOfStatus(status int) ehr.Code {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return ehr.Invalid
	case http.StatusNotFound:
		return ehr.NotFound
	case http.StatusGone:
		return ehr.Gone
	case http.StatusConflict:
		return ehr.Conflict
	case http.StatusPreconditionFailed:
		return ehr.PreconditionFailed
	case http.StatusUnauthorized:
		return ehr.Unauthorized
	case http.StatusForbidden:
		return ehr.Forbidden
	case http.StatusNotImplemented, http.StatusMethodNotAllowed:
		return ehr.NotSupported
	case http.StatusRequestEntityTooLarge:
		return ehr.TooLarge
	}
	return ehr.Internal
}

// outcomeIssues reads the issues of an OperationOutcome in a batch response entry.
func outcomeIssues(resp map[string]any) []fhir.Issue {
	var oo map[string]any
	switch v := resp["outcome"].(type) {
	case map[string]any:
		oo = v
	case json.RawMessage:
		oo, _ = fhir.Decode(v)
	}
	var out []fhir.Issue
	for _, i := range fhir.Array(oo, "issue") {
		m, _ := i.(map[string]any)
		is := fhir.Issue{Severity: fhir.String(m, "severity"), Code: fhir.String(m, "code"), Diagnostics: fhir.String(m, "diagnostics")}
		for _, ex := range fhir.Array(m, "expression") {
			if s, ok := ex.(string); ok {
				is.Expression = append(is.Expression, s)
			}
		}
		out = append(out, is)
	}
	return out
}

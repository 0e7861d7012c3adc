package ingest

import (
	"context"
	"encoding/json"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// Target is where the pipeline writes: the local Service, or a remote Omnichart
// through its FHIR API. Errors are *ehr.Error values where the cause is known.
type Target interface {
	// Bundle processes a transaction or batch Bundle and returns the response Bundle.
	Bundle(ctx context.Context, bundle fhir.Resource) (fhir.Resource, error)
	// Search returns up to limit current resources of typ matching query, a search
	// query string such as "identifier=urn:x|1".
	Search(ctx context.Context, typ, query string, limit int) ([]fhir.Resource, error)
	// Read returns the current version of typ/id.
	Read(ctx context.Context, typ, id string) (fhir.Resource, error)
}

// ServiceTarget writes through an ehr.Service in this process. The principal is the
// one of each call's context.
type ServiceTarget struct {
	Service *ehr.Service
}

// onlyOnceKey carries the condition under which a transaction may be written.
type onlyOnceKey struct{}

// onlyOnce makes the transactions written with ctx conditional: nothing is written
// when a resource matches condition ("Type?criteria"). The local target checks it
// atomically with the write; a remote one cannot, and relies on the check before.
func onlyOnce(ctx context.Context, condition string) context.Context {
	return context.WithValue(ctx, onlyOnceKey{}, condition)
}

// Bundle implements Target.
func (t ServiceTarget) Bundle(ctx context.Context, bundle fhir.Resource) (fhir.Resource, error) {
	opts := ehr.BundleOptions{ReturnMinimal: true}
	if fhir.String(bundle, "type") == "transaction" {
		opts.IfNoneExist, _ = ctx.Value(onlyOnceKey{}).(string)
	}
	resp, err := t.Service.Bundle(ctx, bundle, opts)
	if err != nil {
		return nil, err
	}
	// Entries may hold raw JSON; callers only read the response parts.
	return resp, nil
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

// responseEntries returns the response parts of a transaction- or batch-response
// Bundle in entry order.
func responseEntries(resp fhir.Resource) []map[string]any {
	var out []map[string]any
	for _, e := range fhir.Array(resp, "entry") {
		m, _ := e.(map[string]any)
		r := fhir.Object(m, "response")
		if r == nil {
			r = map[string]any{}
		}
		out = append(out, r)
	}
	return out
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

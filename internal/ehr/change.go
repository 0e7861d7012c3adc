package ehr

import (
	"fmt"
	"strconv"
	"strings"

	"omnichart/internal/fhir"
)

// changeMethods are the methods a Change may have.
var changeMethods = map[string]bool{"DELETE": true, "POST": true, "PUT": true, "PATCH": true, "GET": true, "HEAD": true}

// Change is one entry of a transaction or batch: what a Bundle entry's request asks
// for, as typed values. The interaction engine parses Bundles into Changes, and
// in-process callers (the import pipeline) hand Changes to it directly.
type Change struct {
	// Method is POST, PUT, PATCH, DELETE, GET or HEAD.
	Method string
	// FullURL is the entry's fullUrl; references to it in other entries are
	// rewritten to the resource's "Type/id".
	FullURL string
	// Type is the resource type of the request URL.
	Type string
	// ID and Version name an instance ("Type/id", "Type/id/_history/v").
	ID      string
	Version int64
	// Query holds the search criteria of a conditional request ("Type?query").
	Query string
	// Resource is the body of a POST or PUT, or the Binary of a PATCH.
	Resource map[string]any
	// IfNoneExist makes a POST a conditional create; IfMatch makes a write
	// conditional on the current version.
	IfNoneExist string
	IfMatch     int64
}

// Outcome is the result of one Change.
type Outcome struct {
	// Record is what was written, found or read; nil for a delete of nothing and
	// for searches.
	Record *Record
	// Created is true when the change created the resource.
	Created bool
	// Page and Query are the result of a GET search entry.
	Page  *Page
	Query any
	// Err is why the change failed (batch entries only; a failed transaction
	// fails as a whole).
	Err error
	// Conflicts name the identity-conflict review tasks ("Task/<id>") the change
	// raised: a source's identifier matched records of that source that describe
	// another person, so a new record was made instead (see the engine's identity
	// rule).
	Conflicts []string
}

// ApplyOptions qualify a transaction or batch.
type ApplyOptions struct {
	// Base is the server's FHIR base URL; references under it are treated as local.
	Base string
	// IfNoneExist ("Type?criteria") makes a transaction conditional as a whole:
	// when a resource the caller may see matches, nothing is written and the error
	// is a Conflict. The check holds the criteria's lock, so of two concurrent
	// transactions with the same condition exactly one writes. Importers use it to
	// apply one original document or message once.
	IfNoneExist string
	// Bookkeeping is how many of the entries the writer added on its own behalf
	// (an importer's original, its DocumentReference and Provenance): the limit on
	// entries bounds what a client sends, and does not count them.
	Bookkeeping int
}

// ParseBundle reads a transaction or batch Bundle into its kind and its changes.
// Entry URLs under base are made relative. Errors are Invalid and name the entry.
func ParseBundle(bundle map[string]any, base string) (kind string, changes []Change, err error) {
	if bundle["resourceType"] != "Bundle" {
		return "", nil, Errorf(Invalid, "a transaction or batch must be a Bundle")
	}
	kind, _ = bundle["type"].(string)
	if kind != "transaction" && kind != "batch" {
		return "", nil, Errorf(Invalid, "Bundle.type must be transaction or batch to be processed, not %q", kind)
	}
	raw := fhir.Array(bundle, "entry")
	changes = make([]Change, 0, len(raw))
	for i, r := range raw {
		e, _ := r.(map[string]any)
		req := fhir.Object(e, "request")
		if req == nil {
			return "", nil, bundleEntryError(i, "request is missing")
		}
		c := Change{FullURL: fhir.String(e, "fullUrl"), Method: fhir.String(req, "method"), Resource: fhir.Object(e, "resource")}
		u := strings.TrimPrefix(fhir.String(req, "url"), strings.TrimSuffix(base, "/")+"/")
		if u == "" {
			return "", nil, bundleEntryError(i, "request.url is missing")
		}
		path, query := splitURL(u)
		c.Query = query
		if len(path) == 0 || !fhir.R4().IsResourceType(path[0]) {
			return "", nil, bundleEntryError(i, "request.url %q does not name an R4 resource type", u)
		}
		c.Type = path[0]
		switch {
		case len(path) == 2:
			c.ID = path[1]
		case len(path) == 4 && path[2] == "_history":
			c.ID = path[1]
			v, err := strconv.ParseInt(path[3], 10, 64)
			if err != nil {
				return "", nil, bundleEntryError(i, "request.url %q has a malformed version", u)
			}
			c.Version = v
		case len(path) != 1:
			return "", nil, bundleEntryError(i, "request.url %q is not a supported form", u)
		}
		c.IfNoneExist = fhir.String(req, "ifNoneExist")
		if m := fhir.String(req, "ifMatch"); m != "" {
			v, err := ParseETag(m)
			if err != nil {
				return "", nil, bundleEntryError(i, "request.ifMatch: %v", err)
			}
			c.IfMatch = v
		}
		if err := c.Check(); err != nil {
			return "", nil, bundleEntryError(i, "%s", ErrorMessage(err))
		}
		changes = append(changes, c)
	}
	return kind, changes, nil
}

// Check reports an Invalid error unless the change is of a form the engine runs.
func (c Change) Check() error {
	if !changeMethods[c.Method] {
		return Errorf(Invalid, "request.method %q is not supported", c.Method)
	}
	if !fhir.R4().IsResourceType(c.Type) {
		return Errorf(Invalid, "%q is not an R4 resource type", c.Type)
	}
	if c.ID != "" {
		if err := CheckID(c.ID); err != nil {
			return err
		}
	}
	switch c.Method {
	case "POST", "PUT":
		if c.Resource == nil {
			return Errorf(Invalid, "a %s entry needs a resource", c.Method)
		}
		if rt, _ := c.Resource["resourceType"].(string); rt != c.Type {
			return Errorf(Invalid, "the resource is a %q but request.url is for %s", rt, c.Type)
		}
	case "PATCH":
		if c.Resource == nil || c.Resource["resourceType"] != "Binary" {
			return Errorf(Invalid, "a PATCH entry needs a Binary resource holding a JSON Patch")
		}
	}
	if c.Method == "POST" && (c.ID != "" || c.Query != "") {
		return Errorf(Invalid, "a POST entry's url must be the resource type alone")
	}
	if (c.Method == "PUT" || c.Method == "DELETE" || c.Method == "PATCH") && c.ID == "" && c.Query == "" {
		return Errorf(Invalid, "a %s entry needs an id or search criteria in its url", c.Method)
	}
	return nil
}

// ParseETag reads a version from an ETag or If-Match value: W/"3", "3" or 3.
func ParseETag(v string) (int64, error) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
	v = strings.Trim(v, `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not a version ETag such as W/\"1\"", v)
	}
	return n, nil
}

// bundleEntryError is an Invalid error about entry i of a Bundle.
func bundleEntryError(i int, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Code: Invalid, Message: fmt.Sprintf("Bundle.entry[%d]: %s", i, msg),
		Issues: []fhir.Issue{fhir.ErrorIssue(IssueType(Invalid), fmt.Sprintf("Bundle.entry[%d]", i), msg)}}
}

// splitURL splits a bundle entry or request URL "Type/id/_history/v" or "Type?query"
// into its parts.
func splitURL(u string) (path []string, query string) {
	p, q, _ := strings.Cut(u, "?")
	p = strings.Trim(p, "/")
	if p == "" {
		return nil, q
	}
	return strings.Split(p, "/"), q
}

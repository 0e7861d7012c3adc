package ehr

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// BundleOptions shape how a Bundle is processed.
type BundleOptions struct {
	// Base is the server's FHIR base URL; entry URLs and references under it are
	// treated as local.
	Base string
	// ReturnMinimal leaves resources out of the response entries.
	ReturnMinimal bool
	// IfNoneExist ("Type?criteria") makes a transaction conditional as a whole:
	// when a resource matches, nothing is written and the error is a Conflict. The
	// check holds the criteria's lock, so of two concurrent transactions with the
	// same condition exactly one writes. Importers use it to apply one original
	// document or message once.
	IfNoneExist string
}

// bundleEntry is one request of a transaction or batch.
type bundleEntry struct {
	index       int
	fullURL     string
	method      string
	url         string
	typ, id     string // for "Type/id" URLs
	version     int64  // for "Type/id/_history/v"
	query       string // for "Type?query" URLs
	resource    map[string]any
	ifNoneExist string
	ifMatch     int64
	// result
	response map[string]any
	resBody  json.RawMessage
	existing *Record // a conditional create that matched
}

// processing order of methods in a transaction. See
// https://hl7.org/fhir/R4/http.html#trules.
var methodOrder = map[string]int{"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}

// Bundle processes a transaction or batch Bundle and returns the response Bundle.
// A transaction is all or nothing: the first failing entry fails it with an error
// naming the entry, and nothing is written. A batch runs each entry on its own and
// reports each entry's outcome in the response.
func (s *Service) Bundle(ctx context.Context, bundle map[string]any, opts BundleOptions) (map[string]any, error) {
	if bundle["resourceType"] != "Bundle" {
		return nil, Errorf(Invalid, "a transaction or batch must be a Bundle")
	}
	kind, _ := bundle["type"].(string)
	if kind != "transaction" && kind != "batch" {
		return nil, Errorf(Invalid, "Bundle.type must be transaction or batch to be processed, not %q", kind)
	}
	// A transaction is valid as a whole or not at all; a batch judges each entry.
	if kind == "transaction" {
		if issues := s.model.Validate(bundle); len(issues) > 0 {
			return nil, InvalidIssues("the Bundle is not valid R4", issues)
		}
	}
	entries, err := parseEntries(bundle, opts.Base)
	if err != nil {
		return nil, err
	}
	if kind == "batch" {
		return s.batch(ctx, entries, opts), nil
	}
	if err := s.transaction(ctx, entries, opts); err != nil {
		return nil, err
	}
	return responseBundle("transaction-response", entries), nil
}

func parseEntries(bundle map[string]any, base string) ([]*bundleEntry, error) {
	raw := fhir.Array(bundle, "entry")
	entries := make([]*bundleEntry, 0, len(raw))
	for i, r := range raw {
		e, _ := r.(map[string]any)
		req := fhir.Object(e, "request")
		if req == nil {
			return nil, entryError(i, Invalid, "request is missing")
		}
		be := &bundleEntry{index: i, fullURL: fhir.String(e, "fullUrl"), method: fhir.String(req, "method"), resource: fhir.Object(e, "resource")}
		if _, ok := methodOrder[be.method]; !ok {
			return nil, entryError(i, Invalid, "request.method %q is not supported", be.method)
		}
		be.url = strings.TrimPrefix(fhir.String(req, "url"), strings.TrimSuffix(base, "/")+"/")
		if be.url == "" {
			return nil, entryError(i, Invalid, "request.url is missing")
		}
		path, query := splitURL(be.url)
		be.query = query
		if len(path) == 0 || !fhir.R4().IsResourceType(path[0]) {
			return nil, entryError(i, Invalid, "request.url %q does not name an R4 resource type", be.url)
		}
		be.typ = path[0]
		switch {
		case len(path) == 2:
			be.id = path[1]
		case len(path) == 4 && path[2] == "_history":
			be.id = path[1]
			v, err := strconv.ParseInt(path[3], 10, 64)
			if err != nil {
				return nil, entryError(i, Invalid, "request.url %q has a malformed version", be.url)
			}
			be.version = v
		case len(path) != 1:
			return nil, entryError(i, Invalid, "request.url %q is not a supported form", be.url)
		}
		be.ifNoneExist = fhir.String(req, "ifNoneExist")
		if m := fhir.String(req, "ifMatch"); m != "" {
			v, err := ParseETag(m)
			if err != nil {
				return nil, entryError(i, Invalid, "request.ifMatch: %v", err)
			}
			be.ifMatch = v
		}
		switch be.method {
		case "POST", "PUT":
			if be.resource == nil {
				return nil, entryError(i, Invalid, "a %s entry needs a resource", be.method)
			}
			if rt, _ := be.resource["resourceType"].(string); rt != be.typ {
				return nil, entryError(i, Invalid, "the resource is a %q but request.url is for %s", rt, be.typ)
			}
		case "PATCH":
			if be.resource == nil || be.resource["resourceType"] != "Binary" {
				return nil, entryError(i, Invalid, "a PATCH entry needs a Binary resource holding a JSON Patch")
			}
		}
		if be.method == "POST" && (be.id != "" || be.query != "") {
			return nil, entryError(i, Invalid, "a POST entry's url must be the resource type alone")
		}
		if (be.method == "PUT" || be.method == "DELETE" || be.method == "PATCH") && be.id == "" && be.query == "" {
			return nil, entryError(i, Invalid, "a %s entry needs an id or search criteria in its url", be.method)
		}
		entries = append(entries, be)
	}
	return entries, nil
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

func entryError(i int, code Code, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Code: code, Message: fmt.Sprintf("Bundle.entry[%d]: %s", i, msg),
		Issues: []fhir.Issue{fhir.ErrorIssue(issueType(code), fmt.Sprintf("Bundle.entry[%d]", i), msg)}}
}

func issueType(c Code) string {
	switch c {
	case NotFound:
		return "not-found"
	case Conflict, PreconditionFailed:
		return "conflict"
	case NotSupported:
		return "not-supported"
	case Forbidden, Unauthorized:
		return "forbidden"
	}
	return "invalid"
}

// wrapEntry adds the entry index to an error from processing it.
func wrapEntry(e *bundleEntry, err error) error {
	code := ErrorCode(err)
	if code == Internal {
		return fmt.Errorf("Bundle.entry[%d]: %w", e.index, err)
	}
	out := &Error{Code: code, Message: fmt.Sprintf("Bundle.entry[%d]: %s", e.index, ErrorMessage(err))}
	prefix := fmt.Sprintf("Bundle.entry[%d]", e.index)
	for _, is := range ErrorIssues(err) {
		exprs := make([]string, len(is.Expression))
		for i, ex := range is.Expression {
			exprs[i] = prefix
			if _, rest, ok := strings.Cut(ex, "."); ok && !strings.HasPrefix(ex, "Bundle.") {
				exprs[i] = prefix + ".resource." + rest
			} else if ok {
				exprs[i] = ex
			}
		}
		is.Expression = exprs
		out.Issues = append(out.Issues, is)
	}
	return out
}

func (s *Service) transaction(ctx context.Context, entries []*bundleEntry, opts BundleOptions) error {
	for _, e := range entries {
		action := map[string]Action{"DELETE": ActionDelete, "GET": ActionRead, "HEAD": ActionRead}[e.method]
		if action == "" {
			action = ActionWrite
		}
		if err := s.authorize(ctx, action, e.typ); err != nil {
			return wrapEntry(e, err)
		}
		if e.method == "POST" || e.method == "PUT" {
			// The whole Bundle was validated already.
			if err := stampSource(ctx, e.typ, e.resource); err != nil {
				return wrapEntry(e, err)
			}
		}
	}
	ordered := append([]*bundleEntry(nil), entries...)
	sort.SliceStable(ordered, func(i, j int) bool { return methodOrder[ordered[i].method] < methodOrder[ordered[j].method] })

	return s.store.Transaction(ctx, func(tx Tx) error {
		if opts.IfNoneExist != "" {
			typ, criteria, _ := strings.Cut(opts.IfNoneExist, "?")
			found, err := match(ctx, tx, typ, criteria, 1)
			if err != nil {
				return err
			}
			if len(found) > 0 {
				return Errorf(Conflict, "the transaction's condition matches %s; nothing was written", found[0].Reference())
			}
		}
		ids := map[string]string{} // fullUrl -> "Type/id"
		written := map[string]int{}
		for _, e := range ordered {
			e.response, e.resBody, e.existing = nil, nil, nil
		}
		// Deletes first, then decide the identity of every created or updated
		// resource, so references can be rewritten before anything is written.
		for _, e := range ordered {
			switch e.method {
			case "DELETE":
				if err := s.entryDelete(ctx, tx, e); err != nil {
					return wrapEntry(e, err)
				}
			case "POST", "PUT":
				if err := s.resolveIdentity(ctx, tx, e, ids); err != nil {
					return wrapEntry(e, err)
				}
			}
			if e.method != "GET" && e.method != "HEAD" && e.id != "" {
				key := e.typ + "/" + e.id
				if prev, dup := written[key]; dup {
					return entryError(e.index, Invalid, "%s is also changed by entry %d; a transaction may change a resource once", key, prev)
				}
				written[key] = e.index
			}
		}
		for _, e := range ordered {
			if e.method != "POST" && e.method != "PUT" {
				continue
			}
			if err := rewriteReferences(ctx, tx, e.resource, ids, opts.Base); err != nil {
				return wrapEntry(e, err)
			}
		}
		for _, e := range ordered {
			var err error
			switch e.method {
			case "POST":
				err = s.entryCreate(ctx, tx, e)
			case "PUT":
				err = s.entryUpdate(ctx, tx, e)
			case "PATCH":
				err = s.entryPatch(ctx, tx, e)
			case "GET", "HEAD":
				err = s.entryRead(ctx, tx, e, opts)
			}
			if err != nil {
				return wrapEntry(e, err)
			}
			if opts.ReturnMinimal && e.method != "GET" {
				e.resBody = nil
			}
		}
		return nil
	})
}

// resolveIdentity fixes the id a POST or PUT entry will have.
func (s *Service) resolveIdentity(ctx context.Context, tx Tx, e *bundleEntry, ids map[string]string) error {
	switch {
	case e.method == "POST" && e.ifNoneExist != "":
		found, err := match(ctx, tx, e.typ, e.ifNoneExist, 2)
		if err != nil {
			return err
		}
		switch len(found) {
		case 0:
			e.id = tx.NewID()
		case 1:
			e.existing = found[0]
			e.id = found[0].ID
		default:
			return Errorf(PreconditionFailed, "ifNoneExist criteria match more than one %s", e.typ)
		}
	case e.method == "POST":
		e.id = tx.NewID()
	case e.query != "":
		found, err := match(ctx, tx, e.typ, e.query, 2)
		if err != nil {
			return err
		}
		switch len(found) {
		case 0:
			if bodyID, _ := e.resource["id"].(string); bodyID != "" {
				e.id = bodyID
			} else {
				e.id = tx.NewID()
			}
		case 1:
			e.id = found[0].ID
		default:
			return Errorf(PreconditionFailed, "the criteria match more than one %s", e.typ)
		}
		e.resource["id"] = e.id
	default:
		if bodyID, _ := e.resource["id"].(string); bodyID != e.id {
			return Errorf(Invalid, "the resource's id differs from the id in request.url")
		}
	}
	if e.fullURL != "" {
		ids[e.fullURL] = e.typ + "/" + e.id
	}
	return nil
}

// rewriteReferences replaces, everywhere in res, references to other entries'
// fullUrls (urn:uuid:, urn:oid: or absolute) with "Type/id", and conditional
// references "Type?criteria" with the one resource they match.
func rewriteReferences(ctx context.Context, tx Tx, node any, ids map[string]string, base string) error {
	switch x := node.(type) {
	case []any:
		for _, e := range x {
			if err := rewriteReferences(ctx, tx, e, ids, base); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, v := range x {
			if k == "reference" {
				ref, ok := v.(string)
				if !ok {
					continue
				}
				if target, ok := ids[ref]; ok {
					x[k] = target
					continue
				}
				local := strings.TrimPrefix(ref, strings.TrimSuffix(base, "/")+"/")
				if path, query, isCond := strings.Cut(local, "?"); isCond && fhir.R4().IsResourceType(path) {
					found, err := match(ctx, tx, path, query, 2)
					if err != nil {
						return err
					}
					if len(found) != 1 {
						return Errorf(PreconditionFailed, "the conditional reference %s?%s matches %d resources, not one", path, strings.Split(query, "=")[0]+"=…", len(found))
					}
					x[k] = found[0].Reference()
				}
				continue
			}
			if err := rewriteReferences(ctx, tx, v, ids, base); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Service) entryDelete(ctx context.Context, tx Tx, e *bundleEntry) error {
	var err error
	if e.query != "" {
		_, err = conditionalDelete(ctx, tx, e.typ, e.query)
	} else {
		_, err = tx.Delete(ctx, e.typ, e.id, e.ifMatch)
	}
	if err != nil {
		return err
	}
	e.response = map[string]any{"status": "204 No Content"}
	return nil
}

func (s *Service) entryCreate(ctx context.Context, tx Tx, e *bundleEntry) error {
	if e.existing != nil {
		e.response = recordResponse(e.existing, "200 OK")
		e.resBody = e.existing.Resource
		return nil
	}
	rec, err := tx.Create(ctx, e.id, e.resource)
	if err != nil {
		return err
	}
	e.response = recordResponse(rec, "201 Created")
	e.resBody = rec.Resource
	return nil
}

func (s *Service) entryUpdate(ctx context.Context, tx Tx, e *bundleEntry) error {
	rec, created, err := tx.Update(ctx, e.typ, e.id, e.resource, WriteOptions{IfMatch: e.ifMatch})
	if err != nil {
		return err
	}
	status := "200 OK"
	if created {
		status = "201 Created"
	}
	e.response = recordResponse(rec, status)
	e.resBody = rec.Resource
	return nil
}

func (s *Service) entryPatch(ctx context.Context, tx Tx, e *bundleEntry) error {
	data, err := base64.StdEncoding.DecodeString(fhir.String(e.resource, "data"))
	if err != nil {
		return Errorf(Invalid, "the Binary's data is not base64")
	}
	id := e.id
	if e.query != "" {
		found, err := match(ctx, tx, e.typ, e.query, 2)
		if err != nil {
			return err
		}
		if len(found) != 1 {
			return Errorf(PreconditionFailed, "the criteria match %d resources, not one", len(found))
		}
		id = found[0].ID
	}
	rec, err := s.patch(ctx, tx, e.typ, id, data, e.ifMatch)
	if err != nil {
		return err
	}
	e.response = recordResponse(rec, "200 OK")
	e.resBody = rec.Resource
	return nil
}

func (s *Service) entryRead(ctx context.Context, tx Tx, e *bundleEntry, opts BundleOptions) error {
	var rec *Record
	var err error
	switch {
	case e.id != "" && e.version != 0:
		rec, err = tx.VRead(ctx, e.typ, e.id, e.version)
	case e.id != "":
		rec, err = tx.Read(ctx, e.typ, e.id)
	default:
		values, perr := url.ParseQuery(e.query)
		if perr != nil {
			return Errorf(Invalid, "malformed query in request.url")
		}
		q, perr := search.Parse(e.typ, values)
		if perr != nil {
			return Errorf(Invalid, "%v", perr)
		}
		page, serr := tx.Search(ctx, q)
		if serr != nil {
			return serr
		}
		if page.Records, serr = s.visible(ctx, page.Records); serr != nil {
			return serr
		}
		b, serr := fhir.Marshal(SearchSet(opts.Base, q, page))
		if serr != nil {
			return serr
		}
		e.response = map[string]any{"status": "200 OK"}
		e.resBody = b
		return nil
	}
	if err != nil {
		return err
	}
	if vis, verr := s.visible(ctx, []*Record{rec}); verr != nil || len(vis) == 0 {
		return Errorf(NotFound, "%s/%s is not known", e.typ, e.id)
	}
	e.response = recordResponse(rec, "200 OK")
	if e.method == "GET" {
		e.resBody = rec.Resource
	}
	return nil
}

// batch runs each entry in a transaction of its own; a failure is that entry's
// response, not the Bundle's.
func (s *Service) batch(ctx context.Context, entries []*bundleEntry, opts BundleOptions) map[string]any {
	for _, e := range entries {
		var err error
		if e.resource != nil {
			if issues := s.model.Validate(e.resource); len(issues) > 0 {
				err = wrapEntry(e, InvalidIssues("the resource is not valid R4", issues))
			}
		}
		if err == nil {
			err = s.transaction(ctx, []*bundleEntry{e}, opts)
		}
		if err != nil {
			code := ErrorCode(err)
			issues := ErrorIssues(err)
			if len(issues) == 0 {
				issues = []fhir.Issue{fhir.ErrorIssue(issueType(code), "", ErrorMessage(err))}
			}
			e.response = map[string]any{"status": StatusLine(code), "outcome": fhir.OperationOutcome(issues)}
			e.resBody = nil
		}
	}
	return responseBundle("batch-response", entries)
}

// StatusLine is the HTTP status line of an error code, as Bundle responses carry it.
func StatusLine(code Code) string {
	st := HTTPStatus(code)
	return strconv.Itoa(st) + " " + http.StatusText(st)
}

// HTTPStatus maps an error code to its HTTP status.
func HTTPStatus(code Code) int {
	switch code {
	case Invalid:
		return http.StatusBadRequest
	case NotFound:
		return http.StatusNotFound
	case Gone:
		return http.StatusGone
	case Conflict:
		return http.StatusConflict
	case PreconditionFailed:
		return http.StatusPreconditionFailed
	case Unauthorized:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case NotSupported:
		return http.StatusNotImplemented
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

func recordResponse(rec *Record, status string) map[string]any {
	return map[string]any{
		"status":       status,
		"location":     fmt.Sprintf("%s/%s/_history/%d", rec.Type, rec.ID, rec.Version),
		"etag":         fmt.Sprintf(`W/"%d"`, rec.Version),
		"lastModified": rec.LastUpdated.UTC().Format("2006-01-02T15:04:05.000000Z"),
	}
}

func responseBundle(kind string, entries []*bundleEntry) map[string]any {
	out := make([]any, len(entries))
	for i, e := range entries {
		entry := map[string]any{"response": e.response}
		if e.resBody != nil {
			entry["resource"] = e.resBody
		}
		if e.fullURL != "" {
			entry["fullUrl"] = e.fullURL
		}
		out[i] = entry
	}
	return map[string]any{"resourceType": "Bundle", "type": kind, "entry": out}
}

// SearchSet builds a searchset Bundle for a page of search results, with self and
// next links under base.
func SearchSet(base string, q *search.Query, page *Page) map[string]any {
	base = strings.TrimSuffix(base, "/")
	entries := make([]any, 0, len(page.Records)+len(page.Included))
	add := func(recs []*Record, mode string) {
		for _, r := range recs {
			entries = append(entries, map[string]any{
				"fullUrl":  base + "/" + r.Type + "/" + r.ID,
				"resource": json.RawMessage(r.Resource),
				"search":   map[string]any{"mode": mode},
			})
		}
	}
	add(page.Records, "match")
	add(page.Included, "include")
	link := func(rel string, values url.Values) map[string]any {
		u := base
		if q.Type != "" {
			u += "/" + q.Type
		}
		if enc := values.Encode(); enc != "" {
			u += "?" + enc
		}
		return map[string]any{"relation": rel, "url": u}
	}
	self := q.Encode()
	if q.Cursor != "" {
		self.Set("_page", q.Cursor)
	}
	links := []any{link("self", self)}
	if page.Next != "" {
		next := q.Encode()
		next.Set("_page", page.Next)
		links = append(links, link("next", next))
	}
	if page.Prev != "" {
		prev := q.Encode()
		prev.Set("_page", page.Prev)
		links = append(links, link("previous", prev))
	}
	b := map[string]any{"resourceType": "Bundle", "type": "searchset", "link": links}
	if page.Total >= 0 {
		b["total"] = page.Total
	}
	if len(entries) > 0 {
		b["entry"] = entries
	}
	return b
}

package ccda

import (
	"strconv"
	"strings"
	"time"

	"omnichart/internal/fhir"
)

// Options control a conversion.
type Options struct {
	// NewID returns a fresh unique ID for each resource; the Bundle entry's fullUrl
	// is urn:uuid:<ID>. Nil means random UUIDs.
	NewID func() string
	// Now is the current time, used where the document gives none (Composition.date).
	// Nil means time.Now.
	Now func() time.Time
	// MaxDocumentBytes bounds the document; a larger one is refused before it is
	// read. 0 means 64 MiB.
	MaxDocumentBytes int64
}

func (o Options) withDefaults() Options {
	if o.NewID == nil {
		o.NewID = fhir.NewUUID
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Result is what Convert produces for one document.
type Result struct {
	// Bundle is a FHIR transaction Bundle; see the package comment for its shape.
	Bundle fhir.Resource
	// Issues are the problems found in the document that did not stop conversion.
	Issues []fhir.Issue
	// DocumentType is the LOINC code of ClinicalDocument/code ("34133-9").
	DocumentType string
	// DocumentID is ClinicalDocument/id as "root" or "root^extension".
	DocumentID string
}

// maxIssues keeps a pathological document from producing an unbounded outcome.
const maxIssues = 500

// Convert turns one C-CDA document into a FHIR transaction Bundle. It returns an
// error (a *ReadError with line and byte offset) only when the bytes cannot be read
// as a ClinicalDocument at all; every other problem becomes an issue and the
// conversion goes on with the rest of the document.
func Convert(data []byte, opts Options) (Result, error) {
	root, ids, err := parse(data, opts.MaxDocumentBytes)
	if err != nil {
		return Result{}, err
	}
	c := &converter{
		opts:       opts.withDefaults(),
		doc:        root,
		ids:        ids,
		known:      map[string]string{},
		encounters: map[string]map[string]any{},
	}
	c.docZone = docZone(root)
	if root.space == "" {
		// Stubbed examples and some hand-made exports leave the namespace out;
		// the element names are still CDA's, so reading goes on.
		c.warn("structure", root, "ClinicalDocument has no urn:hl7-org:v3 namespace")
	}
	comp := c.document()
	bundle := c.bundle(comp)
	return Result{
		Bundle:       bundle,
		Issues:       c.issues,
		DocumentType: codeValue(root.child("code")),
		DocumentID:   documentID(root.child("id")),
	}, nil
}

func documentID(n *node) string {
	if n == nil {
		return ""
	}
	r, e := strings.TrimSpace(n.attr("root")), strings.TrimSpace(n.attr("extension"))
	if e != "" {
		return r + "^" + e
	}
	return r
}

// docZone is the UTC offset of the document's effectiveTime, used for times the
// sender wrote without one.
func docZone(root *node) string {
	t, ok := parseTS(root.child("effectiveTime").attr("value"))
	if !ok {
		return ""
	}
	return t.zone
}

type entry struct {
	fullURL string
	res     map[string]any
	req     map[string]any
}

type converter struct {
	opts       Options
	doc        *node
	ids        map[string]*node
	issues     []fhir.Issue
	entries    []entry
	docZone    string
	warnedZone bool

	patientURL string                    // fullUrl of the Patient
	patientRes map[string]any            // the Patient, for facts found later (birth sex)
	planned    []string                  // fullUrls of plan-of-care resources, for a CarePlan
	goals      []string                  // fullUrls of Goals, for a CarePlan
	known      map[string]string         // "Type|system|value" -> fullUrl, so one person is one resource
	encounters map[string]map[string]any // the encompassing encounter by fullUrl, for merging
}

func (c *converter) issue(severity, code string, n *node, msg string) {
	if len(c.issues) >= maxIssues {
		return
	}
	if n != nil && n.line > 0 {
		msg += " (line " + strconv.Itoa(n.line) + ")"
	}
	is := fhir.Issue{Severity: severity, Code: code, Diagnostics: msg}
	if p := n.xpath(); p != "" {
		is.Expression = []string{p}
	}
	c.issues = append(c.issues, is)
}

func (c *converter) warn(code string, n *node, msg string)   { c.issue("warning", code, n, msg) }
func (c *converter) inform(code string, n *node, msg string) { c.issue("information", code, n, msg) }

// add appends a resource created with POST and returns its fullUrl.
func (c *converter) add(res map[string]any) string {
	return c.addRequest(res, map[string]any{"method": "POST", "url": res["resourceType"]})
}

// addConditional creates res unless a resource with its first identifier exists,
// so that importing the same person twice does not duplicate them.
func (c *converter) addConditional(res map[string]any) string {
	req := map[string]any{"method": "POST", "url": res["resourceType"]}
	if ids := fhir.Array(res, "identifier"); len(ids) > 0 {
		id, _ := ids[0].(map[string]any)
		sys, val := fhir.String(id, "system"), fhir.String(id, "value")
		if sys != "" && val != "" {
			req["ifNoneExist"] = fhir.IdentifierQuery(sys, val)
		}
	}
	return c.addRequest(res, req)
}

func (c *converter) addRequest(res, req map[string]any) string {
	url := "urn:uuid:" + c.opts.NewID()
	c.entries = append(c.entries, entry{fullURL: url, res: res, req: req})
	return url
}

func (c *converter) bundle(comp map[string]any) fhir.Resource {
	list := make([]any, 0, len(c.entries)+1)
	if comp != nil {
		url := "urn:uuid:" + c.opts.NewID()
		list = append(list, map[string]any{
			"fullUrl":  url,
			"resource": comp,
			"request":  map[string]any{"method": "POST", "url": "Composition"},
		})
	}
	for _, e := range c.entries {
		list = append(list, map[string]any{"fullUrl": e.fullURL, "resource": e.res, "request": e.req})
	}
	b := fhir.Resource{"resourceType": "Bundle", "type": "transaction", "entry": list}
	// An element that could not be filled is left out with a warning rather
	// than making its resource, and so the whole document, invalid.
	for _, is := range fhir.PruneEmpty(b) {
		if len(c.issues) < maxIssues {
			c.issues = append(c.issues, is)
		}
	}
	return b
}

// identityKey is how a Practitioner or Organization is recognised again inside
// one document: by its first identifier, or failing that by its name.
func identityKey(typ string, res map[string]any) string {
	if ids := fhir.Array(res, "identifier"); len(ids) > 0 {
		id, _ := ids[0].(map[string]any)
		return typ + "|" + fhir.String(id, "system") + "|" + fhir.String(id, "value")
	}
	return ""
}

// addParty adds a Practitioner or Organization once per document.
func (c *converter) addParty(res map[string]any) string {
	key := identityKey(fhir.String(res, "resourceType"), res)
	if key != "" {
		if u, ok := c.known[key]; ok {
			return u
		}
	}
	u := c.addConditional(res)
	if key != "" {
		c.known[key] = u
	}
	return u
}

package hl7v2

import (
	"fmt"
	"strings"
	"time"

	"omnichart/internal/fhir"
)

// Options are the outside dependencies of Convert and NewACK, injected so that
// output is reproducible.
type Options struct {
	// NewID returns a fresh unique ID for each resource (the Bundle entry's fullUrl
	// is urn:uuid:<ID>). Nil means random UUIDs.
	NewID func() string
	// Now is the current time. Nil means time.Now.
	Now func() time.Time
	// TimeZone is the zone of times the sender writes without a UTC offset. Nil
	// means such times are reduced to their date, since FHIR requires an offset.
	TimeZone *time.Location
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

// Result is what Convert produces for one message.
type Result struct {
	// Bundle is a FHIR transaction Bundle; see the package comment for its shape.
	Bundle fhir.Resource
	// Issues are the problems found in the message that did not stop conversion,
	// including those Parse found.
	Issues []fhir.Issue
	// MessageType is MSH-9 as "ADT^A01".
	MessageType string
	// ControlID is MSH-10.
	ControlID string
	// SendingFacility and SendingApplication are MSH-4 and MSH-3: the namespace ID,
	// or the universal ID when the namespace is empty.
	SendingFacility, SendingApplication string
}

// Convert turns a parsed message into a FHIR transaction Bundle, following the
// HL7 v2-to-FHIR implementation guide (see the package comment for the table of
// what maps to what). Errors wrap ErrUnsupportedType when the message type or
// trigger event is not converted, and ErrMissingSegment when a segment the message
// type needs is absent; both leave Result.Bundle nil but fill the MSH fields of
// Result. Anything else wrong in the content becomes an issue in Result.Issues.
func Convert(msg *Message, opts Options) (Result, error) {
	if msg == nil || msg.Header() == nil {
		return Result{}, &Error{Err: ErrNoMSH, Detail: "no message"}
	}
	h := msg.Header()
	res := Result{
		MessageType:        msg.Type(),
		ControlID:          msg.ControlID(),
		SendingApplication: hdName(h.Field(3).Rep(0)),
		SendingFacility:    hdName(h.Field(4).Rep(0)),
	}
	c := &converter{msg: msg, opts: opts.withDefaults(), practitioners: map[string]string{}, orgs: map[string]string{}}
	c.issues = append(c.issues, msg.Issues...)
	code, event := val(h.Field(9).Comp(1)), val(h.Field(9).Comp(2))
	var required []string
	var run func() error
	switch code + "^" + event {
	case "ADT^A01", "ADT^A03", "ADT^A04", "ADT^A08":
		required, run = []string{"PID", "PV1"}, c.adt
	case "ADT^A28", "ADT^A31":
		required, run = []string{"PID"}, c.adt
	case "ADT^A40":
		required, run = []string{"PID", "MRG"}, c.merge
	case "ORU^R01":
		required, run = []string{"PID", "OBR"}, c.oru
	case "REF^I12", "RRI^I12":
		required, run = []string{"PID", "PRD"}, c.referral
	case "MDM^T02":
		required, run = []string{"PID", "TXA"}, c.mdm
	case "VXU^V04":
		required, run = []string{"PID"}, c.vxu
	case "SIU^S12":
		required, run = []string{"SCH"}, c.siu
	default:
		return res, &Error{Err: ErrUnsupportedType, Segment: "MSH", Seq: 1, Field: 9, Detail: fmt.Sprintf("message type %s^%s is not supported", safeCode(code), safeCode(event))}
	}
	for _, name := range required {
		if msg.Segment(name) == nil {
			return res, &Error{Err: ErrMissingSegment, Segment: name, Detail: fmt.Sprintf("%s^%s requires a %s segment", code, event, name)}
		}
	}
	if err := run(); err != nil {
		return res, err
	}
	res.Bundle = c.bundle()
	res.Issues = c.issues
	return res, nil
}

// safeCode keeps a message type code short and printable for an error message.
func safeCode(s string) string {
	if len(s) > 8 {
		s = s[:8]
	}
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '?'
	}, s)
}

func hdName(r Rep) string {
	if v := val(r.Comp(1)); v != "" {
		return v
	}
	return val(r.Comp(2))
}

type entry struct {
	fullURL string
	res     map[string]any
	req     map[string]any
}

// converter holds the state of one conversion.
type converter struct {
	msg           *Message
	opts          Options
	entries       []entry
	issues        []fhir.Issue
	warnedTZ      bool
	practitioners map[string]string // identity key -> fullUrl
	orgs          map[string]string
}

func (c *converter) warn(code, diag string) {
	c.issues = append(c.issues, fhir.WarningIssue(code, "", diag))
}

func infoIssue(diag string) fhir.Issue {
	return fhir.Issue{Severity: "information", Code: "informational", Diagnostics: diag}
}

func (c *converter) facilityKey() string {
	r := c.msg.Header().Field(4).Rep(0)
	if u := val(r.Comp(2)); u != "" {
		return strings.ReplaceAll(u, ":", "%3A")
	}
	return strings.ReplaceAll(strings.ReplaceAll(val(r.Comp(1)), ":", "%3A"), " ", "%20")
}

// add appends a resource created with POST and returns its fullUrl.
func (c *converter) add(res map[string]any) string {
	return c.addRequest(res, map[string]any{"method": "POST", "url": res["resourceType"]})
}

// addConditional creates res only if no resource with identifier id exists yet.
// Without a usable identifier (value and system) it is a plain create.
func (c *converter) addConditional(res map[string]any, id map[string]any) string {
	req := map[string]any{"method": "POST", "url": res["resourceType"]}
	if q := identifierQuery(id); q != "" {
		req["ifNoneExist"] = q
	}
	return c.addRequest(res, req)
}

func (c *converter) addRequest(res, req map[string]any) string {
	url := "urn:uuid:" + c.opts.NewID()
	c.entries = append(c.entries, entry{fullURL: url, res: res, req: req})
	return url
}

func identifierQuery(id map[string]any) string {
	if id == nil {
		return ""
	}
	sys, _ := id["system"].(string)
	v, _ := id["value"].(string)
	if sys == "" || v == "" {
		return ""
	}
	return fhir.IdentifierQuery(sys, v)
}

func (c *converter) bundle() fhir.Resource {
	entries := make([]any, 0, len(c.entries))
	for _, e := range c.entries {
		entries = append(entries, map[string]any{"fullUrl": e.fullURL, "resource": e.res, "request": e.req})
	}
	b := fhir.Resource{"resourceType": "Bundle", "type": "transaction", "entry": entries}
	// An element that could not be filled is left out with a warning rather
	// than making its resource, and so the whole message, invalid.
	c.issues = append(c.issues, fhir.PruneEmpty(b)...)
	return b
}

func ref(url string) map[string]any {
	if url == "" {
		return nil
	}
	return map[string]any{"reference": url}
}

func timeInZone(s string, loc *time.Location) (string, error) {
	layout := "2006-01-02T15:04:05"
	if i := strings.IndexByte(s, '.'); i >= 0 {
		layout += "." + strings.Repeat("0", len(s)-i-1)
	}
	t, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		return "", err
	}
	return t.Format(layout + "Z07:00"), nil
}

// practitioner adds (once per message) a Practitioner for an XCN: ID (1), family
// (2.1), given (3), middle (4), suffix (5), prefix (6), degree (7), assigning
// authority (9), identifier type (13). It returns its fullUrl, or "" when empty.
func (c *converter) practitioner(r Rep) string {
	p := map[string]any{"resourceType": "Practitioner"}
	var id map[string]any
	if v := val(r.Comp(1)); v != "" {
		id = map[string]any{"value": v}
		aa := r.Component(9)
		sys := hdSystem(aa.Sub(1), aa.Sub(2), aa.Sub(3))
		typ := val(r.Comp(13))
		if typ == "NPI" && sys == "" {
			sys = "http://hl7.org/fhir/sid/us-npi"
		}
		if sys == "" {
			sys = c.facilitySystem("PRN")
		}
		fhir.SetIf(id, "system", sys)
		if typ != "" {
			id["type"] = tableConcept(typ, "0203", "")
		}
		p["identifier"] = []any{id}
	}
	name := map[string]any{}
	fhir.SetIf(name, "family", val(r.Component(2).Sub(1)))
	var given []any
	for _, g := range []string{r.Comp(3), r.Comp(4)} {
		if g = val(g); g != "" {
			given = append(given, g)
		}
	}
	fhir.SetIf(name, "given", given)
	if v := val(r.Comp(6)); v != "" {
		name["prefix"] = []any{v}
	}
	var suffix []any
	for _, s := range []string{r.Comp(5), r.Comp(7)} {
		if s = val(s); s != "" {
			suffix = append(suffix, s)
		}
	}
	fhir.SetIf(name, "suffix", suffix)
	if len(name) > 0 {
		p["name"] = []any{name}
	}
	if len(p) == 1 {
		return ""
	}
	key := identifierQuery(id)
	if key == "" {
		key = fmt.Sprint(p)
	}
	if url, ok := c.practitioners[key]; ok {
		return url
	}
	url := c.addConditional(p, id)
	c.practitioners[key] = url
	return url
}

// organization adds (once per message) an Organization for an XON: name (1),
// assigning authority (6), identifier (10, or 3 before v2.5).
func (c *converter) organization(r Rep) string {
	o := map[string]any{"resourceType": "Organization"}
	fhir.SetIf(o, "name", val(r.Comp(1)))
	var id map[string]any
	v := val(r.Comp(10))
	if v == "" {
		v = val(r.Comp(3))
	}
	if v != "" {
		id = map[string]any{"value": v}
		aa := r.Component(6)
		sys := hdSystem(aa.Sub(1), aa.Sub(2), aa.Sub(3))
		if sys == "" {
			sys = c.facilitySystem("XX")
		}
		fhir.SetIf(id, "system", sys)
		o["identifier"] = []any{id}
	}
	if len(o) == 1 {
		return ""
	}
	return c.addOrganization(o, id)
}

func (c *converter) addOrganization(o, id map[string]any) string {
	key := identifierQuery(id)
	if key == "" {
		key = fmt.Sprint(o)
	}
	if url, ok := c.orgs[key]; ok {
		return url
	}
	url := c.addConditional(o, id)
	c.orgs[key] = url
	return url
}

// note maps the comment of an NTE (NTE-3, repetitions joined by line breaks).
func note(nte *Segment) map[string]any {
	var lines []string
	for _, r := range nte.Field(3).Reps() {
		lines = append(lines, val(r.String()))
	}
	text := strings.TrimSpace(strings.Join(lines, "\n"))
	if text == "" {
		return nil
	}
	return map[string]any{"text": text}
}

// otherIdentifier builds an identifier under the system of a related business
// identifier, for facts the message identifies only by position (an OBX within a
// report): system of base, value base value + suffix.
func otherIdentifier(base map[string]any, suffix string) map[string]any {
	if base == nil {
		return nil
	}
	id := map[string]any{"value": base["value"].(string) + suffix}
	if s, ok := base["system"]; ok {
		id["system"] = s
	}
	return id
}

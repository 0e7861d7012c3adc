package docview

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"strings"
	"unicode/utf8"
)

// Document is a C-CDA document as the chart shows it: its header and its
// sections in document order. Plain strings are escaped when rendered; Text of
// each section is already sanitised HTML.
//
// See CDA R2 (https://hl7.org/cda) and C-CDA R2.1 for the header elements.
type Document struct {
	// ID prefixes every id in the rendered fragment ("dv" unless SetID changed
	// it), so that several documents can share a page.
	ID        string
	Title     string
	Type      Code   // ClinicalDocument/code, e.g. LOINC 34133-9 (Summary of episode note)
	Date      string // effectiveTime as sent, at its precision ("2020-03-01 10:20 -0500")
	Authors   []Author
	Custodian string // the organization that keeps the original
	Patient   Patient
	Sections  []*Section
	// Body is set instead of Sections for a document with a nonXMLBody.
	Body *Body
}

// Code is a coded value: code, code system and the sender's display text.
type Code struct {
	Code, System, Display string
}

// String is the display text, else the code.
func (c Code) String() string {
	if c.Display != "" {
		return c.Display
	}
	return c.Code
}

// Author is one author of the document.
type Author struct {
	Time         string
	Person       string
	Organization string
	Device       string // the software that authored it, when no person did
}

// String names the author: person, organization and device, those present.
func (a Author) String() string {
	var parts []string
	for _, p := range []string{a.Person, a.Organization, a.Device} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}

// Patient is the document's patient header (recordTarget/patientRole).
type Patient struct {
	Name        string
	Sex         string
	BirthDate   string
	Identifiers []Identifier
}

// Identifier is an II: the value (extension) and the namespace (root OID or URI).
type Identifier struct {
	Value, System string
}

// Section is one section with its narrative block and nested sections.
type Section struct {
	// Anchor is an id for the section's heading, unique in the document
	// ("dv-s1-2" is the second section in the first; SetID changes the "dv").
	Anchor   string
	Title    string
	Code     Code // the section's LOINC code
	Text     template.HTML
	Sections []*Section
	// Level is the heading level, 3 for top-level sections and at most 6.
	Level int
}

// Body is a nonXMLBody: a document sent as one attachment. Plain text is kept
// for display; any other media type (a PDF, an image) is only named.
type Body struct {
	MediaType string
	Text      string
}

// SetID sets the prefix of the fragment's ids and the sections' anchors. Use a
// different one for each document rendered on the same page; it must be a valid
// HTML id (letters, digits, "-" and "_").
func (d *Document) SetID(id string) {
	d.ID = id
	var walk func([]*Section, string)
	walk = func(ss []*Section, prefix string) {
		for i, s := range ss {
			s.Anchor = fmt.Sprintf("%s%d", prefix, i+1)
			walk(s.Sections, s.Anchor+"-")
		}
	}
	walk(d.Sections, id+"-s")
}

// NumSections is the number of sections at every depth.
func (d *Document) NumSections() int {
	var count func([]*Section) int
	count = func(ss []*Section) int {
		n := len(ss)
		for _, s := range ss {
			n += count(s.Sections)
		}
		return n
	}
	return count(d.Sections)
}

// CCDA reads a C-CDA (or any CDA R2) document into a Document. It fails only
// when the XML cannot be read, with a *ParseError that gives the line; missing
// or unexpected header elements leave fields empty, and narrative elements it
// does not know keep their text.
func CCDA(doc []byte) (*Document, error) {
	root, err := parseXML(doc)
	if err != nil {
		return nil, err
	}
	d := &Document{
		ID:        "dv",
		Title:     root.child("title").textContent(),
		Type:      code(root.child("code")),
		Date:      formatTS(root.child("effectiveTime").attr("value")),
		Custodian: root.path("custodian", "assignedCustodian", "representedCustodianOrganization", "name").textContent(),
		Patient:   patient(root.path("recordTarget", "patientRole")),
	}
	for _, a := range root.children("author") {
		aa := a.child("assignedAuthor")
		au := Author{
			Time:         formatTS(a.child("time").attr("value")),
			Person:       personName(aa.path("assignedPerson", "name")),
			Organization: aa.path("representedOrganization", "name").textContent(),
			Device:       strings.TrimSpace(aa.path("assignedAuthoringDevice", "softwareName").textContent() + " " + aa.path("assignedAuthoringDevice", "manufacturerModelName").textContent()),
		}
		if au != (Author{Time: au.Time}) {
			d.Authors = append(d.Authors, au)
		}
	}
	comp := root.child("component")
	if body := comp.child("structuredBody"); body != nil {
		d.Sections = sections(body.children("component"), "dv-s", 3)
	} else if nx := comp.child("nonXMLBody"); nx != nil {
		d.Body = nonXMLBody(nx.child("text"))
	}
	if d.Title == "" {
		d.Title = d.Type.String()
	}
	return d, nil
}

// sections reads the section of each component, in order.
func sections(comps []*xnode, prefix string, level int) []*Section {
	var out []*Section
	for _, c := range comps {
		s := c.child("section")
		if s == nil {
			continue
		}
		anchor := fmt.Sprintf("%s%d", prefix, len(out)+1)
		sec := &Section{
			Anchor: anchor,
			Title:  s.child("title").textContent(),
			Code:   code(s.child("code")),
			Text:   cdaNarrative(s.child("text")),
			Level:  min(level, 6),
		}
		if sec.Title == "" {
			sec.Title = sec.Code.String()
		}
		if sec.Title == "" {
			sec.Title = "Untitled section"
		}
		sec.Sections = sections(s.children("component"), anchor+"-", level+1)
		out = append(out, sec)
	}
	return out
}

func code(n *xnode) Code {
	c := Code{Code: n.attr("code"), System: n.attr("codeSystemName"), Display: n.attr("displayName")}
	if c.System == "" {
		c.System = systemName(n.attr("codeSystem"))
	}
	if c.Display == "" {
		c.Display = n.child("originalText").textContent()
	}
	return c
}

// systemName names the code systems a C-CDA header uses; others stay as OIDs.
func systemName(oid string) string {
	switch oid {
	case "2.16.840.1.113883.6.1":
		return "LOINC"
	case "2.16.840.1.113883.5.1":
		return "AdministrativeGender"
	case "2.16.840.1.113883.6.96":
		return "SNOMED CT"
	}
	return oid
}

func patient(role *xnode) Patient {
	p := role.child("patient")
	pt := Patient{
		Name:      personName(p.child("name")),
		BirthDate: formatTS(p.child("birthTime").attr("value")),
	}
	if g := p.child("administrativeGenderCode"); g != nil {
		pt.Sex = g.attr("displayName")
		if pt.Sex == "" {
			pt.Sex = genderName(g.attr("code"))
		}
	}
	for _, id := range role.children("id") {
		ident := Identifier{Value: id.attr("extension"), System: id.attr("root")}
		if ident.Value == "" {
			ident.Value, ident.System = ident.System, ""
		}
		if ident.Value != "" {
			pt.Identifiers = append(pt.Identifiers, ident)
		}
	}
	return pt
}

func genderName(c string) string {
	switch c {
	case "F":
		return "Female"
	case "M":
		return "Male"
	case "UN":
		return "Undifferentiated"
	}
	return c
}

// personName writes a PN as prefix, given names, family name, suffix; a name
// sent as plain text is kept as it is.
func personName(n *xnode) string {
	if n == nil {
		return ""
	}
	var parts []string
	for _, part := range []string{"prefix", "given", "family", "suffix"} {
		for _, k := range n.children(part) {
			if t := k.textContent(); t != "" {
				parts = append(parts, t)
			}
		}
	}
	if len(parts) == 0 {
		return n.textContent()
	}
	return strings.Join(parts, " ")
}

// nonXMLBody keeps a plain-text body, inline or in base64, and names any other
// (a PDF, an image, a reference to a file elsewhere); nil when the body has no
// text element at all.
func nonXMLBody(text *xnode) *Body {
	if text == nil {
		return nil
	}
	b := &Body{MediaType: strings.TrimSpace(text.attr("mediaType"))}
	if b.MediaType == "" {
		b.MediaType = "text/plain"
	}
	if !strings.HasPrefix(strings.ToLower(b.MediaType), "text/plain") || text.child("reference") != nil {
		return b
	}
	var s strings.Builder
	for _, k := range text.kids {
		if k.name == "" {
			s.WriteString(k.text)
		}
	}
	raw := s.String()
	if text.attr("representation") == "B64" {
		dec, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(raw), ""))
		if err != nil || !utf8.Valid(dec) {
			return b
		}
		raw = string(dec)
	}
	b.Text = strings.TrimSpace(raw)
	return b
}

// formatTS writes an HL7 TS value (YYYYMMDDHHMMSS.UUUU±ZZZZ) readably, at the
// precision it was sent: "2020", "2020-03", "2020-03-01 10:20 -0500". A value
// that is not a TS is returned as it is.
func formatTS(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	tz := ""
	if i := strings.IndexAny(v, "+-"); i >= 0 {
		v, tz = v[:i], v[i:]
	}
	if i := strings.IndexByte(v, '.'); i >= 0 {
		v = v[:i]
	}
	for _, r := range v {
		if r < '0' || r > '9' {
			return v + tz
		}
	}
	var out string
	switch {
	case len(v) >= 14:
		out = v[:4] + "-" + v[4:6] + "-" + v[6:8] + " " + v[8:10] + ":" + v[10:12] + ":" + v[12:14]
	case len(v) >= 12:
		out = v[:4] + "-" + v[4:6] + "-" + v[6:8] + " " + v[8:10] + ":" + v[10:12]
	case len(v) >= 10:
		out = v[:4] + "-" + v[4:6] + "-" + v[6:8] + " " + v[8:10] + ":00"
	case len(v) >= 8:
		out = v[:4] + "-" + v[4:6] + "-" + v[6:8]
	case len(v) >= 6:
		out = v[:4] + "-" + v[4:6]
	default:
		out = v
	}
	if tz != "" {
		out += " " + tz
	}
	return out
}

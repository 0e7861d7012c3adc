package ccda

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits that keep a hostile or broken document from exhausting memory. Real C-CDA
// documents nest about 30 levels deep and rarely exceed a few megabytes (embedded
// PDFs push some towards 20 MB, but as one text node); the largest vendor samples
// have tens of thousands of nodes. Each node costs a few hundred bytes, so the node
// limit caps the tree at roughly 150 MB.
const (
	maxDocumentSize = 64 << 20
	maxDepth        = 256
	maxNodes        = 1 << 19
)

const (
	nsV3   = "urn:hl7-org:v3"
	nsSDTC = "urn:hl7-org:sdtc"
	nsXSI  = "http://www.w3.org/2001/XMLSchema-instance"
)

// node is one element or text run of the document. Text runs have an empty name.
type node struct {
	name   string // local name
	space  string // namespace URI
	attrs  []xml.Attr
	kids   []*node
	text   string // for text runs only
	parent *node
	pos    int // 1-based position among same-named siblings, for paths
	line   int
}

// attr returns the value of the attribute with the local name, in no namespace.
func (n *node) attr(local string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.attrs {
		if a.Name.Local == local && (a.Name.Space == "" || a.Name.Space == n.space) {
			return a.Value
		}
	}
	return ""
}

// xsiType returns the xsi:type without any namespace prefix ("v3:PQ" is "PQ").
func (n *node) xsiType() string {
	if n == nil {
		return ""
	}
	for _, a := range n.attrs {
		if a.Name.Local == "type" && a.Name.Space == nsXSI {
			v := strings.TrimSpace(a.Value)
			if i := strings.LastIndexByte(v, ':'); i >= 0 {
				v = v[i+1:]
			}
			return v
		}
	}
	return ""
}

// child returns the first element child with the local name, or nil. Elements of the
// sdtc extension namespace are only found when asked for with an "sdtc:" prefix, so
// that sdtc:raceCode never stands in for raceCode.
func (n *node) child(name string) *node {
	if n == nil {
		return nil
	}
	want, space := splitName(name)
	for _, k := range n.kids {
		if k.name == want && k.inSpace(space) {
			return k
		}
	}
	return nil
}

// children returns every element child with the local name.
func (n *node) children(name string) []*node {
	if n == nil {
		return nil
	}
	want, space := splitName(name)
	var out []*node
	for _, k := range n.kids {
		if k.name == want && k.inSpace(space) {
			out = append(out, k)
		}
	}
	return out
}

// elements returns every element child.
func (n *node) elements() []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, k := range n.kids {
		if k.name != "" {
			out = append(out, k)
		}
	}
	return out
}

func splitName(name string) (local string, sdtc bool) {
	if l, ok := strings.CutPrefix(name, "sdtc:"); ok {
		return l, true
	}
	return name, false
}

func (n *node) inSpace(sdtc bool) bool {
	if sdtc {
		return n.space == nsSDTC
	}
	return n.space != nsSDTC
}

// path follows child names, e.g. n.path("patientRole", "patient", "name").
func (n *node) path(names ...string) *node {
	for _, name := range names {
		n = n.child(name)
		if n == nil {
			return nil
		}
	}
	return n
}

// textContent is the concatenated text of the node and its descendants with
// whitespace collapsed.
func (n *node) textContent() string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	n.appendText(&b)
	return strings.Join(strings.Fields(b.String()), " ")
}

func (n *node) appendText(b *strings.Builder) {
	if n.name == "" {
		b.WriteString(n.text)
		return
	}
	for _, k := range n.kids {
		k.appendText(b)
		if k.name == "br" || k.name == "paragraph" || k.name == "item" || k.name == "td" || k.name == "th" || k.name == "tr" {
			b.WriteByte(' ')
		}
	}
}

// nullFlavor returns the nullFlavor attribute.
func (n *node) nullFlavor() string { return n.attr("nullFlavor") }

// templateIDs lists the roots of the templateId children.
func (n *node) templateIDs() []string {
	var out []string
	for _, t := range n.children("templateId") {
		if r := strings.TrimSpace(t.attr("root")); r != "" {
			out = append(out, r)
		}
	}
	return out
}

// hasTemplate reports whether n declares any of the template roots.
func (n *node) hasTemplate(roots ...string) bool {
	for _, t := range n.templateIDs() {
		for _, r := range roots {
			if t == r {
				return true
			}
		}
	}
	return false
}

// xpath is the location of the node as an XPath with positions, without any value
// from the document, so it is safe to put in issues.
func (n *node) xpath() string {
	if n == nil {
		return ""
	}
	var parts []string
	for m := n; m != nil; m = m.parent {
		if m.parent == nil {
			parts = append(parts, m.name)
			continue
		}
		parts = append(parts, m.name+"["+strconv.Itoa(m.pos)+"]")
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(parts[i])
	}
	return b.String()
}

// ReadError says why a document could not be read and where.
type ReadError struct {
	Line   int   // 1-based line, 0 when unknown
	Offset int64 // byte offset into the input
	Reason string
}

func (e *ReadError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("read C-CDA at line %d (byte %d): %s", e.Line, e.Offset, e.Reason)
	}
	return fmt.Sprintf("read C-CDA at byte %d: %s", e.Offset, e.Reason)
}

// parse reads the whole document into a tree and indexes narrative IDs. A document
// over maxSize bytes (0: maxDocumentSize) is refused before it is read; the node
// and depth limits are checked as the tree grows, so reading stops at the first
// element past them.
func parse(data []byte, maxSize int64) (*node, map[string]*node, error) {
	if maxSize <= 0 {
		maxSize = maxDocumentSize
	}
	if int64(len(data)) > maxSize {
		return nil, nil, &ReadError{Reason: fmt.Sprintf("document is %d bytes, larger than the limit of %d bytes (max-document-bytes)", len(data), maxSize)}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if bytes.HasPrefix(data, []byte("\xfe\xff")) || bytes.HasPrefix(data, []byte("\xff\xfe")) {
		return nil, nil, &ReadError{Reason: "UTF-16 documents are not supported; send UTF-8"}
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, nil, &ReadError{Reason: "document is empty"}
	}
	if trimmed[0] != '<' {
		return nil, nil, &ReadError{Line: 1 + bytes.Count(data[:len(data)-len(trimmed)], []byte("\n")),
			Offset: int64(len(data) - len(trimmed)), Reason: "not XML: the document does not start with '<'"}
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.CharsetReader = charsetReader
	d.Strict = true
	d.Entity = nil

	var root *node
	var stack []*node
	var seen []map[string]int // per open element: children seen by name, for positions
	count := 0
	ids := map[string]*node{}
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, readErr(d, data, off, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			if bytes.Contains(bytes.ToUpper(t), []byte("ENTITY")) {
				return nil, nil, readErr(d, data, off, errors.New("entity declarations are not allowed"))
			}
		case xml.StartElement:
			count++
			if count > maxNodes {
				return nil, nil, readErr(d, data, off, fmt.Errorf("more than %d nodes", maxNodes))
			}
			if len(stack) >= maxDepth {
				return nil, nil, readErr(d, data, off, fmt.Errorf("elements nest deeper than %d levels", maxDepth))
			}
			line, _ := d.InputPos()
			n := &node{name: t.Name.Local, space: t.Name.Space, attrs: t.Attr, line: line}
			if len(stack) == 0 {
				if root != nil {
					return nil, nil, readErr(d, data, off, errors.New("more than one root element"))
				}
				if n.name != "ClinicalDocument" {
					return nil, nil, &ReadError{Line: line, Offset: off, Reason: fmt.Sprintf("root element is <%s>, want <ClinicalDocument>", n.name)}
				}
				if n.space != nsV3 && n.space != "" {
					return nil, nil, &ReadError{Line: line, Offset: off, Reason: "root element is in namespace " + strconv.Quote(n.space) + ", want urn:hl7-org:v3"}
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				n.parent = p
				counts := seen[len(seen)-1]
				if counts == nil {
					counts = map[string]int{}
					seen[len(seen)-1] = counts
				}
				counts[n.name]++
				n.pos = counts[n.name]
				p.kids = append(p.kids, n)
			}
			if id := n.attr("ID"); id != "" {
				if _, dup := ids[id]; !dup {
					ids[id] = n
				}
			}
			stack = append(stack, n)
			seen = append(seen, nil)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
			seen = seen[:len(seen)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, nil, readErr(d, data, off, errors.New("text outside the root element"))
				}
				continue
			}
			// Adjacent runs (split by comments) stay separate nodes: merging them
			// would copy the text again for every comment.
			count++
			if count > maxNodes {
				return nil, nil, readErr(d, data, off, fmt.Errorf("more than %d nodes", maxNodes))
			}
			p := stack[len(stack)-1]
			p.kids = append(p.kids, &node{text: string(t), parent: p})
		}
	}
	if root == nil {
		return nil, nil, &ReadError{Offset: int64(len(data)), Reason: "no root element"}
	}
	if len(stack) != 0 {
		return nil, nil, &ReadError{Offset: int64(len(data)), Reason: "document ends before its elements are closed (truncated?)"}
	}
	return root, ids, nil
}

func readErr(d *xml.Decoder, data []byte, off int64, err error) error {
	var syn *xml.SyntaxError
	reason := err.Error()
	line := 0
	if errors.As(err, &syn) {
		line = syn.Line
		reason = syn.Msg
	} else {
		line, _ = d.InputPos()
	}
	if cur := d.InputOffset(); cur > off {
		off = cur
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(reason, "unexpected EOF") {
		reason = "document ends early (truncated?)"
	}
	if !utf8.Valid(data) && strings.Contains(reason, "UTF-8") {
		reason = "invalid UTF-8; declare the encoding in the XML declaration"
	}
	return &ReadError{Line: line, Offset: off, Reason: reason}
}

package docview

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/htmlindex"
)

// Limits that keep a hostile document from exhausting memory or the stack.
// Vendor C-CDA documents nest about 30 levels and hold tens of thousands of
// nodes; an embedded PDF makes some 20 MB, as one text node.
const (
	// MaxDocumentSize is the largest C-CDA document CCDA reads.
	MaxDocumentSize = 64 << 20
	maxXMLDepth     = 256
	maxXMLNodes     = 1 << 20
)

const (
	nsV3    = "urn:hl7-org:v3"
	nsXHTML = "http://www.w3.org/1999/xhtml"
)

// xnode is an element or, with an empty name, a run of text.
type xnode struct {
	name  string // local name
	space string // namespace URI
	attrs []xml.Attr
	kids  []*xnode
	text  string
}

// attr is the value of the attribute with the local name and no namespace.
func (n *xnode) attr(local string) string {
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

// child is the first child element named name in the CDA namespace, or nil.
func (n *xnode) child(name string) *xnode {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if k.name == name && k.inV3() {
			return k
		}
	}
	return nil
}

// children are the child elements named name in the CDA namespace.
func (n *xnode) children(name string) []*xnode {
	if n == nil {
		return nil
	}
	var out []*xnode
	for _, k := range n.kids {
		if k.name == name && k.inV3() {
			out = append(out, k)
		}
	}
	return out
}

// path follows child elements by name.
func (n *xnode) path(names ...string) *xnode {
	for _, name := range names {
		n = n.child(name)
	}
	return n
}

// inV3 reports whether the element is in the CDA namespace (or none, as in
// documents that forget to declare it).
func (n *xnode) inV3() bool { return n.space == nsV3 || n.space == "" }

// textContent is all text below n, with runs of white space collapsed.
func (n *xnode) textContent() string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	var walk func(*xnode)
	walk = func(n *xnode) {
		if n.name == "" {
			b.WriteString(n.text)
			b.WriteByte(' ')
			return
		}
		for _, k := range n.kids {
			walk(k)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// ParseError says why a C-CDA document could not be read, and where. It never
// quotes the document: the bytes around a fault may be PHI.
type ParseError struct {
	Line   int // 1-based; 0 when the fault has no line (an empty document)
	Reason string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("read C-CDA: line %d: %s", e.Line, e.Reason)
	}
	return "read C-CDA: " + e.Reason
}

// parseXML reads data into a tree. It refuses entity declarations (no entity
// expansion attacks), documents over the size, depth and node limits, and any
// encoding but UTF-8 and the single-byte ones named in the WHATWG Encoding
// Standard.
func parseXML(data []byte) (*xnode, error) {
	if len(data) > MaxDocumentSize {
		return nil, &ParseError{Reason: fmt.Sprintf("document is %d bytes, the limit is %d", len(data), MaxDocumentSize)}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &ParseError{Reason: "document is empty"}
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = charsetReader
	var root *xnode
	var stack []*xnode
	count := 0
	fail := func(reason string) error {
		line, _ := d.InputPos()
		return &ParseError{Line: line, Reason: reason}
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var syn *xml.SyntaxError
			if errors.As(err, &syn) {
				return nil, &ParseError{Line: syn.Line, Reason: syn.Msg}
			}
			return nil, fail(err.Error())
		}
		switch t := tok.(type) {
		case xml.Directive:
			if bytes.Contains(bytes.ToUpper(t), []byte("ENTITY")) {
				return nil, fail("entity declarations are not allowed")
			}
		case xml.StartElement:
			count++
			if count > maxXMLNodes {
				return nil, fail(fmt.Sprintf("more than %d nodes", maxXMLNodes))
			}
			if len(stack) >= maxXMLDepth {
				return nil, fail(fmt.Sprintf("elements nest deeper than %d levels", maxXMLDepth))
			}
			n := &xnode{name: t.Name.Local, space: t.Name.Space, attrs: t.Attr}
			if len(stack) == 0 {
				if root != nil {
					return nil, fail("more than one root element")
				}
				if n.name != "ClinicalDocument" || !n.inV3() {
					return nil, fail(fmt.Sprintf("root element is <%s>, want <ClinicalDocument> in urn:hl7-org:v3", n.name))
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, fail("text outside the root element")
				}
				continue
			}
			count++
			if count > maxXMLNodes {
				return nil, fail(fmt.Sprintf("more than %d nodes", maxXMLNodes))
			}
			p := stack[len(stack)-1]
			p.kids = append(p.kids, &xnode{text: string(t)})
		}
	}
	if root == nil {
		return nil, &ParseError{Reason: "no root element"}
	}
	return root, nil
}

// charsetReader decodes the encodings a document may declare besides UTF-8, by
// their WHATWG labels (so "ISO-8859-1" reads as windows-1252, as browsers and
// the vendors that send it mean it).
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(label)
	if err != nil {
		return nil, fmt.Errorf("unsupported encoding %q", label)
	}
	name, _ := htmlindex.Name(enc)
	if name == "utf-8" {
		return input, nil
	}
	if strings.HasPrefix(name, "utf-16") {
		return nil, fmt.Errorf("unsupported encoding %q: send UTF-8", label)
	}
	return enc.NewDecoder().Reader(input), nil
}

package fhir

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

const (
	xmlNamespace   = "http://hl7.org/fhir"
	xhtmlNamespace = "http://www.w3.org/1999/xhtml"
)

// xmlElement is one element of a FHIR XML document before the model gives it shape.
type xmlElement struct {
	name     string
	attrs    map[string]string
	children []*xmlElement
	raw      string // the whole element, for XHTML narrative
}

// DecodeXML parses one resource in FHIR XML into the same tree Decode gives for
// its JSON form: the model decides which elements repeat (arrays), which values are
// booleans or numbers, and where a primitive's id and extensions go ("_name").
// The XHTML narrative is kept as its markup. Elements the model does not know are
// kept as strings or objects so that nothing is lost.
//
// See https://hl7.org/fhir/R4/xml.html.
func DecodeXML(data []byte) (Resource, error) {
	root, err := parseXML(data)
	if err != nil {
		return nil, err
	}
	m := R4()
	if !m.IsResourceType(root.name) {
		return nil, fmt.Errorf("invalid XML: %q is not a resource type", root.name)
	}
	return m.xmlResource(root), nil
}

func parseXML(data []byte) (*xmlElement, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*xmlElement
	var root *xmlElement
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("invalid XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			el := &xmlElement{name: t.Name.Local, attrs: map[string]string{}}
			for _, a := range t.Attr {
				if a.Name.Space == "" {
					el.attrs[a.Name.Local] = a.Value
				}
			}
			if t.Name.Space == xhtmlNamespace {
				if err := dec.Skip(); err != nil {
					return nil, fmt.Errorf("invalid XML: %w", err)
				}
				el.raw = string(data[start:dec.InputOffset()])
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, errors.New("invalid XML: more than one root element")
				}
				if t.Name.Space != xmlNamespace {
					return nil, fmt.Errorf("invalid XML: the root element is not in the %s namespace", xmlNamespace)
				}
				root = el
			} else {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, el)
			}
			if el.raw == "" {
				stack = append(stack, el)
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if root == nil {
		return nil, errors.New("invalid XML: no root element")
	}
	return root, nil
}

func (m *Model) xmlResource(el *xmlElement) map[string]any {
	obj := m.xmlObject(el, TypeContext(el.name))
	obj["resourceType"] = el.name
	return obj
}

// xmlObject converts the children of a complex element in context ctx.
func (m *Model) xmlObject(el *xmlElement, ctx Context) map[string]any {
	obj := map[string]any{}
	if id, ok := el.attrs["id"]; ok {
		obj["id"] = id
	}
	if url, ok := el.attrs["url"]; ok {
		obj["url"] = url
	}
	type prim struct {
		values, exts []any
		hasExt       bool
		many         bool
	}
	prims := map[string]*prim{}
	var order []string
	for _, c := range el.children {
		e, typ, ok := m.Child(ctx, c.name)
		if !ok {
			appendXML(obj, c.name, m.xmlUnknown(c), false)
			continue
		}
		if e.Ref != "" {
			appendXML(obj, c.name, m.xmlObject(c, m.ChildContext(ctx, e, typ)), e.Many)
			continue
		}
		switch {
		case typ == "xhtml":
			appendXML(obj, c.name, c.raw, e.Many)
		case m.IsPrimitive(typ) || strings.HasPrefix(typ, "System."):
			p := prims[c.name]
			if p == nil {
				p = &prim{many: e.Many}
				prims[c.name] = p
				order = append(order, c.name)
			}
			var v any
			if s, ok := c.attrs["value"]; ok {
				v = xmlPrimitive(s, typ)
			}
			var ext any
			if _, ok := c.attrs["id"]; ok || len(c.children) > 0 {
				x := m.xmlObject(&xmlElement{name: c.name, attrs: map[string]string{"id": c.attrs["id"]}, children: c.children}, TypeContext(primitiveContext(m, typ)))
				if c.attrs["id"] == "" {
					delete(x, "id")
				}
				ext = x
				p.hasExt = true
			}
			p.values = append(p.values, v)
			p.exts = append(p.exts, ext)
		case typ == "Resource" || typ == "DomainResource" || m.IsResourceType(typ):
			for _, r := range c.children {
				appendXML(obj, c.name, m.xmlResource(r), e.Many)
			}
		default:
			appendXML(obj, c.name, m.xmlObject(c, m.ChildContext(ctx, e, typ)), e.Many)
		}
	}
	for _, name := range order {
		p := prims[name]
		if p.many {
			hasValue := false
			for _, v := range p.values {
				if v != nil {
					hasValue = true
				}
			}
			if hasValue {
				obj[name] = p.values
			}
			if p.hasExt {
				obj["_"+name] = p.exts
			}
			continue
		}
		if p.values[0] != nil {
			obj[name] = p.values[0]
		}
		if p.exts[0] != nil {
			obj["_"+name] = p.exts[0]
		}
	}
	return obj
}

// primitiveContext is the type whose "extension" element describes a primitive's
// extensions; the System types of ids and URLs have none, so Element stands in.
func primitiveContext(m *Model, typ string) string {
	if _, ok := m.types[typ]; ok {
		return typ
	}
	return "Element"
}

func appendXML(obj map[string]any, name string, v any, many bool) {
	if !many {
		if old, ok := obj[name]; ok {
			// The model says single but the document repeats it: keep both.
			if a, ok := old.([]any); ok {
				obj[name] = append(a, v)
			} else {
				obj[name] = []any{old, v}
			}
			return
		}
		obj[name] = v
		return
	}
	a, _ := obj[name].([]any)
	obj[name] = append(a, v)
}

// xmlUnknown keeps an element the model does not define.
func (m *Model) xmlUnknown(el *xmlElement) any {
	if v, ok := el.attrs["value"]; ok && len(el.children) == 0 {
		return v
	}
	if m.IsResourceType(el.name) {
		return m.xmlResource(el)
	}
	obj := map[string]any{}
	for k, v := range el.attrs {
		obj[k] = v
	}
	for _, c := range el.children {
		appendXML(obj, c.name, m.xmlUnknown(c), false)
	}
	return obj
}

// xmlPrimitive gives a value attribute the JSON kind of its type; a value that
// does not parse stays a string rather than being dropped.
func xmlPrimitive(s, typ string) any {
	switch typ {
	case "boolean":
		switch s {
		case "true":
			return true
		case "false":
			return false
		}
	case "integer", "positiveInt", "unsignedInt", "decimal", "integer64":
		var n json.Number
		if err := json.Unmarshal([]byte(s), &n); err == nil {
			return n
		}
	}
	return s
}

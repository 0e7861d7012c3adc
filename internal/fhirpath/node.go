package fhirpath

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"omnichart/internal/fhir"
)

// System type names.
const (
	TypeString   = "System.String"
	TypeInteger  = "System.Integer"
	TypeDecimal  = "System.Decimal"
	TypeBoolean  = "System.Boolean"
	TypeDate     = "System.Date"
	TypeDateTime = "System.DateTime"
	TypeTime     = "System.Time"
	TypeQuantity = "System.Quantity"
	typeTypeInfo = "System.TypeInfo"
)

// Node is one item of a collection: a value with its type.
//
// For FHIR content, Value is the JSON tree value (map[string]any, string, bool or
// json.Number) and Type is the FHIR type name ("HumanName", "dateTime", "Patient").
// For values FHIRPath computes, Value is a Go string, bool, int64, Decimal,
// Temporal or Quantity and Type is a System type name ("System.Integer").
type Node struct {
	Value any
	Type  string

	// Ext is the "_name" half of a FHIR primitive: its id and extensions.
	Ext map[string]any

	ctx fhir.Context   // where the children of Value are defined; zero when untyped
	res map[string]any // nearest enclosing resource, for "#id" references
}

// Collection is an ordered FHIRPath collection.
type Collection []Node

// TypeInfo is what type() answers.
type TypeInfo struct {
	Namespace string
	Name      string
}

// NewNode wraps a decoded resource (or any tree value) as a node. A map with a
// resourceType is typed as that resource; other values are typed by their Go type.
func NewNode(v any) Node {
	if m, ok := v.(map[string]any); ok {
		if rt, ok := m["resourceType"].(string); ok && fhir.R4().IsResourceType(rt) {
			return Node{Value: m, Type: rt, ctx: fhir.TypeContext(rt), res: m}
		}
		return Node{Value: m}
	}
	return untypedNode(v)
}

// NewTypedNode wraps a tree value of a named FHIR type, such as a HumanName taken
// out of a resource.
func NewTypedNode(v any, typ string) Node {
	n := Node{Value: v, Type: typ}
	if _, ok := fhir.R4().Type(typ); ok {
		n.ctx = fhir.TypeContext(typ)
	}
	if m, ok := v.(map[string]any); ok && fhir.R4().IsResourceType(typ) {
		n.res = m
	}
	return n
}

func untypedNode(v any) Node {
	switch x := v.(type) {
	case string:
		return Node{Value: x, Type: TypeString}
	case bool:
		return Node{Value: x, Type: TypeBoolean}
	case json.Number:
		if strings.ContainsAny(string(x), ".eE") {
			return Node{Value: x, Type: TypeDecimal}
		}
		return Node{Value: x, Type: TypeInteger}
	case int:
		return Node{Value: int64(x), Type: TypeInteger}
	case int64:
		return Node{Value: x, Type: TypeInteger}
	case float64:
		d, err := ParseDecimal(fmt.Sprint(x))
		if err != nil {
			return Node{Value: x}
		}
		return Node{Value: d, Type: TypeDecimal}
	case Decimal:
		return Node{Value: x, Type: TypeDecimal}
	case Quantity:
		return Node{Value: x, Type: TypeQuantity}
	case Temporal:
		switch x.Kind {
		case KindDate:
			return Node{Value: x, Type: TypeDate}
		case KindTime:
			return Node{Value: x, Type: TypeTime}
		}
		return Node{Value: x, Type: TypeDateTime}
	case Node:
		return x
	}
	return Node{Value: v}
}

func sysString(s string) Node     { return Node{Value: s, Type: TypeString} }
func sysBool(b bool) Node         { return Node{Value: b, Type: TypeBoolean} }
func sysInt(i int64) Node         { return Node{Value: i, Type: TypeInteger} }
func sysDecimal(d Decimal) Node   { return Node{Value: d, Type: TypeDecimal} }
func sysQuantity(q Quantity) Node { return Node{Value: q, Type: TypeQuantity} }
func sysTemporal(t Temporal) Node { return untypedNode(t) }

// primitiveSystem maps each FHIR primitive type to the System type its value has.
var primitiveSystem = map[string]string{
	"boolean": TypeBoolean, "integer": TypeInteger, "positiveInt": TypeInteger, "unsignedInt": TypeInteger,
	"decimal": TypeDecimal, "date": TypeDate, "dateTime": TypeDateTime, "instant": TypeDateTime, "time": TypeTime,
	"string": TypeString, "code": TypeString, "id": TypeString, "markdown": TypeString, "uri": TypeString,
	"url": TypeString, "canonical": TypeString, "oid": TypeString, "uuid": TypeString, "base64Binary": TypeString,
	"xhtml": TypeString,
}

// IsSystem reports whether the node holds a computed System value.
func (n Node) IsSystem() bool { return strings.HasPrefix(n.Type, "System.") }

// System returns the node's value as a System value: string, bool, int64, Decimal,
// Temporal or Quantity. FHIR primitives convert by their type; a FHIR Quantity
// converts to a Quantity (its UCUM code, else its unit). ok is false for other
// complex values and for primitives that carry only extensions.
func (n Node) System() (any, bool) {
	st := n.Type
	if !n.IsSystem() {
		if s, ok := primitiveSystem[n.Type]; ok {
			st = s
		} else if n.Type != "" && fhir.R4().IsSubtype(n.Type, "Quantity") {
			return fhirQuantity(n.Value)
		} else {
			return nil, false
		}
	}
	switch v := n.Value.(type) {
	case nil:
		return nil, false
	case string:
		switch st {
		case TypeString:
			return v, true
		case TypeDate:
			t, err := ParseDate(v)
			return t, err == nil
		case TypeDateTime:
			t, err := ParseDateTime(v)
			return t, err == nil
		case TypeTime:
			t, err := ParseTime(v)
			return t, err == nil
		case TypeDecimal:
			d, err := ParseDecimal(v)
			return d, err == nil
		}
		return v, true
	case json.Number:
		if st == TypeInteger {
			if i, err := v.Int64(); err == nil {
				return i, true
			}
		}
		d, err := ParseDecimal(string(v))
		return d, err == nil
	case bool, int64, Decimal, Temporal, Quantity, TypeInfo:
		return v, true
	}
	return nil, false
}

func fhirQuantity(v any) (any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	num, ok := m["value"].(json.Number)
	if !ok {
		return nil, false
	}
	d, err := ParseDecimal(string(num))
	if err != nil {
		return nil, false
	}
	unit := fhir.String(m, "unit")
	if code := fhir.String(m, "code"); code != "" && (fhir.String(m, "system") == "http://unitsofmeasure.org" || unit == "") {
		unit = code
	}
	return Quantity{Value: d, Unit: unit}, true
}

// systemType is the System type of the node's value, or "" for complex values.
func (n Node) systemType() string {
	if n.IsSystem() {
		return n.Type
	}
	if s, ok := primitiveSystem[n.Type]; ok {
		return s
	}
	return ""
}

// String renders a node's value for messages and for the test suite.
func (n Node) String() string {
	if v, ok := n.System(); ok {
		switch x := v.(type) {
		case string:
			return x
		case bool:
			if x {
				return "true"
			}
			return "false"
		case int64:
			return fmt.Sprint(x)
		case fmt.Stringer:
			return x.String()
		}
	}
	b, _ := json.Marshal(n.Value)
	return string(b)
}

// children lists the child nodes called name, or every child when name is "".
// strict makes a name the model does not know an error.
func (n Node) children(name string, strict bool) (Collection, error) {
	switch v := n.Value.(type) {
	case TypeInfo:
		switch name {
		case "namespace":
			return Collection{sysString(v.Namespace)}, nil
		case "name":
			return Collection{sysString(v.Name)}, nil
		}
		return nil, nil
	case map[string]any:
		return n.mapChildren(v, name, strict)
	}
	// A FHIR primitive's children are its id and extensions, kept beside it.
	if n.Ext != nil && n.ctx.Type != "" {
		holder := Node{Value: n.Ext, Type: n.Type, ctx: n.ctx, res: n.res}
		return holder.mapChildren(n.Ext, name, false)
	}
	if strict && name != "" && !n.IsSystem() && n.Type != "" {
		return nil, fmt.Errorf("%s has no element %q", n.Type, name)
	}
	return nil, nil
}

func (n Node) mapChildren(m map[string]any, name string, strict bool) (Collection, error) {
	model := fhir.R4()
	if name == "" {
		seen := map[string]bool{}
		keys := make([]string, 0, len(m))
		for k := range m {
			if k == "resourceType" || k == "fhir_comments" {
				continue
			}
			k = strings.TrimPrefix(k, "_")
			if n.ctx.Type != "" {
				// Choice elements are stored under typed names (valueQuantity) but
				// navigated by element name (value).
				e, _, ok := model.Child(n.ctx, k)
				if !ok {
					continue
				}
				k = e.Name()
			}
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		var out Collection
		for _, k := range keys {
			c, err := n.mapChildren(m, k, false)
			if err != nil {
				return nil, err
			}
			out = append(out, c...)
		}
		return out, nil
	}
	if n.ctx.Type == "" {
		return n.untypedChildren(m, name), nil
	}
	td, ok := model.Type(n.ctx.Type)
	if !ok {
		return n.untypedChildren(m, name), nil
	}
	if e, ok := td.Elements[n.ctx.Path+"."+name]; ok {
		typ := ""
		if len(e.Types) > 0 {
			typ = e.Types[0]
		}
		return n.build(m[name], m["_"+name], e, typ), nil
	}
	if e, ok := td.Elements[n.ctx.Path+"."+name+"[x]"]; ok {
		var out Collection
		for _, t := range e.Types {
			key := name + strings.ToUpper(t[:1]) + t[1:]
			if v, ok := m[key]; ok || m["_"+key] != nil {
				out = append(out, n.build(v, m["_"+key], e, t)...)
			}
		}
		return out, nil
	}
	if _, typ, ok := model.Child(n.ctx, name); ok {
		return nil, fmt.Errorf("%q is not a FHIRPath name: use %s.ofType(%s)", name, name[:len(name)-len(typ)], typ)
	}
	if strict {
		return nil, fmt.Errorf("%s has no element %q", n.ctx.Path, name)
	}
	return nil, nil
}

// build makes the nodes of one element from its JSON value and primitive extension half.
func (n Node) build(v, ext any, e *fhir.ElementDef, typ string) Collection {
	model := fhir.R4()
	if e.Ref != "" {
		typ = "BackboneElement"
	}
	one := func(v any, x any) (Node, bool) {
		xm, _ := x.(map[string]any)
		if v == nil && xm == nil {
			return Node{}, false
		}
		t := typ
		ctx := model.ChildContext(n.ctx, e, typ)
		res := n.res
		if m, ok := v.(map[string]any); ok && (typ == "Resource" || typ == "DomainResource" || model.IsResourceType(typ)) {
			if rt, ok := m["resourceType"].(string); ok {
				t, ctx, res = rt, fhir.TypeContext(rt), m
			}
		}
		if strings.HasPrefix(t, "System.") {
			t = systemElementType(n.ctx, e)
		}
		return Node{Value: v, Type: t, Ext: xm, ctx: ctx, res: res}, true
	}
	va, vIsArr := v.([]any)
	xa, xIsArr := ext.([]any)
	if !vIsArr && !xIsArr {
		if node, ok := one(v, ext); ok {
			return Collection{node}
		}
		return nil
	}
	size := max(len(va), len(xa))
	out := make(Collection, 0, size)
	for i := 0; i < size; i++ {
		var vi, xi any
		if i < len(va) {
			vi = va[i]
		}
		if i < len(xa) {
			xi = xa[i]
		}
		if node, ok := one(vi, xi); ok {
			out = append(out, node)
		}
	}
	return out
}

// systemElementType is the FHIR type of the few elements the R4 definitions type
// with a bare System type: resource ids are "id", extension URLs are "uri", and
// element ids are "string", as the definitions' fhir-type extensions say.
func systemElementType(ctx fhir.Context, e *fhir.ElementDef) string {
	switch {
	case e.Name() == "id" && ctx.Path == ctx.Type && fhir.R4().IsSubtype(ctx.Type, "Resource"):
		return "id"
	case e.Path == "Extension.url":
		return "uri"
	}
	return "string"
}

func (n Node) untypedChildren(m map[string]any, name string) Collection {
	v, ok := m[name]
	if !ok {
		return nil
	}
	wrap := func(x any) Node {
		if mm, ok := x.(map[string]any); ok {
			nn := NewNode(mm)
			if nn.res == nil {
				nn.res = n.res
			}
			return nn
		}
		return untypedNode(x)
	}
	if a, ok := v.([]any); ok {
		out := make(Collection, 0, len(a))
		for _, x := range a {
			if x != nil {
				out = append(out, wrap(x))
			}
		}
		return out
	}
	if v == nil {
		return nil
	}
	return Collection{wrap(v)}
}

// isType reports whether the node is of the named type or derives from it. A
// qualified name ("System.Integer", "FHIR.boolean") matches only its namespace; an
// unqualified one matches a System value by System name and FHIR content by model
// name, so "string" is FHIR.string and "String" is System.String.
func (n Node) isType(typ string) bool {
	if n.Type == "" {
		return false
	}
	switch {
	case strings.HasPrefix(typ, "System."):
		return n.IsSystem() && n.Type == typ
	case strings.HasPrefix(typ, "FHIR."):
		return !n.IsSystem() && fhir.R4().IsSubtype(n.Type, typ[len("FHIR."):])
	case n.IsSystem():
		return n.Type == "System."+typ
	}
	return fhir.R4().IsSubtype(n.Type, typ)
}

// typeInfo is the answer of type() for a node.
func (n Node) typeInfo() TypeInfo {
	if n.IsSystem() {
		return TypeInfo{Namespace: "System", Name: strings.TrimPrefix(n.Type, "System.")}
	}
	return TypeInfo{Namespace: "FHIR", Name: n.Type}
}

package fhir

import (
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	"omnichart/internal/fhir/r4"
)

// Model is the FHIR R4 type system: every resource, complex and primitive type with
// its element paths, as the official StructureDefinitions give them. It is read-only
// once built and safe for concurrent use.
type Model struct {
	types         map[string]*TypeDef
	resourceTypes []string
}

// TypeDef is one type of the model.
type TypeDef struct {
	Name     string
	Kind     string // primitive-type, complex-type, resource, logical
	Abstract bool
	Base     string
	Elements map[string]*ElementDef // by full path, e.g. "Observation.referenceRange.low"
}

// ElementDef is one element of a type.
type ElementDef struct {
	Path  string
	Min   int
	Many  bool
	Types []string // type codes; several for a choice element "value[x]"
	Ref   string   // contentReference target path, e.g. "Questionnaire.item"
	// Summary marks elements that are part of the summary view (_summary=true).
	Summary bool
	// Binding is the value set of a required binding that Validate checks, or nil
	// when the element has none or its value set cannot be expanded from the
	// definitions (see package r4).
	Binding *ValueSet
}

// ValueSet is a value set expanded from the R4 definitions. It is read-only.
type ValueSet struct {
	URL string
	// Codes lists the allowed codes by code system, in definition order.
	Codes map[string][]string
	all   map[string]bool
}

// Contains reports whether code of system is in the value set; an empty system
// matches a code of any system, as for a code element.
func (vs *ValueSet) Contains(system, code string) bool {
	if system == "" {
		return vs.all[code]
	}
	return slices.Contains(vs.Codes[system], code)
}

// HasSystem reports whether the value set draws codes from system.
func (vs *ValueSet) HasSystem(system string) bool {
	_, ok := vs.Codes[system]
	return ok
}

// List returns the allowed codes of every system, systems in URL order.
func (vs *ValueSet) List() []string {
	systems := slices.Sorted(maps.Keys(vs.Codes))
	var out []string
	for _, s := range systems {
		out = append(out, vs.Codes[s]...)
	}
	return out
}

// IsChoice reports whether the element is a choice element ("value[x]").
func (e *ElementDef) IsChoice() bool { return strings.HasSuffix(e.Path, "[x]") }

// Name is the last segment of the element path without "[x]".
func (e *ElementDef) Name() string {
	n := e.Path[strings.LastIndexByte(e.Path, '.')+1:]
	return strings.TrimSuffix(n, "[x]")
}

var r4Model = sync.OnceValue(func() *Model {
	var raw map[string]struct {
		Kind     string `json:"kind"`
		Abstract bool   `json:"abstract"`
		Base     string `json:"base"`
		Elements map[string]struct {
			Min   int      `json:"min"`
			Many  bool     `json:"many"`
			Types []string `json:"types"`
			Ref   string   `json:"ref"`
			Sum   bool     `json:"summary"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(r4.TypesJSON, &raw); err != nil {
		panic("fhir: embedded R4 model is corrupt: " + err.Error())
	}
	m := &Model{types: make(map[string]*TypeDef, len(raw))}
	for name, t := range raw {
		td := &TypeDef{Name: name, Kind: t.Kind, Abstract: t.Abstract, Base: t.Base, Elements: make(map[string]*ElementDef, len(t.Elements))}
		for p, e := range t.Elements {
			td.Elements[p] = &ElementDef{Path: p, Min: e.Min, Many: e.Many, Types: e.Types, Ref: e.Ref, Summary: e.Sum}
		}
		m.types[name] = td
		if t.Kind == "resource" && !t.Abstract {
			m.resourceTypes = append(m.resourceTypes, name)
		}
	}
	sort.Strings(m.resourceTypes)
	var bindings struct {
		Elements  map[string]string              `json:"elements"`
		ValueSets map[string]map[string][]string `json:"valueSets"`
	}
	if err := json.Unmarshal(r4.BindingsJSON, &bindings); err != nil {
		panic("fhir: embedded R4 bindings are corrupt: " + err.Error())
	}
	valueSets := make(map[string]*ValueSet, len(bindings.ValueSets))
	for url, codes := range bindings.ValueSets {
		vs := &ValueSet{URL: url, Codes: codes, all: map[string]bool{}}
		for _, list := range codes {
			for _, c := range list {
				vs.all[c] = true
			}
		}
		valueSets[url] = vs
	}
	for path, url := range bindings.Elements {
		typ, _, _ := strings.Cut(path, ".")
		if t, ok := m.types[typ]; ok && t.Elements[path] != nil {
			t.Elements[path].Binding = valueSets[url]
		}
	}
	return m
})

// R4 returns the FHIR R4 (4.0.1) model embedded in the binary.
func R4() *Model { return r4Model() }

// Type returns the named type.
func (m *Model) Type(name string) (*TypeDef, bool) {
	t, ok := m.types[name]
	return t, ok
}

// IsResourceType reports whether name is a concrete R4 resource type.
func (m *Model) IsResourceType(name string) bool {
	t, ok := m.types[name]
	return ok && t.Kind == "resource" && !t.Abstract
}

// ResourceTypes lists every concrete R4 resource type, sorted.
func (m *Model) ResourceTypes() []string { return m.resourceTypes }

// IsSubtype reports whether typ is base or derives from it (Age is a Quantity,
// Patient is a DomainResource and a Resource).
func (m *Model) IsSubtype(typ, base string) bool {
	for typ != "" {
		if typ == base {
			return true
		}
		t, ok := m.types[typ]
		if !ok {
			return false
		}
		typ = t.Base
	}
	return false
}

// Context says where the children of an element are defined: in type Type under
// Path. For a data type, Path equals the type name; for a backbone element it is the
// element's path inside its resource.
type Context struct {
	Type string
	Path string
}

// TypeContext is the context of a whole type (a resource root or a data type).
func TypeContext(name string) Context { return Context{Type: name, Path: name} }

// Child resolves the JSON property name under ctx. It returns the element, the concrete
// type of the value (for a choice element, the type named by the suffix) and whether it
// exists. Property names starting with "_" are the extension halves of primitives and
// resolve to the element of the primitive.
func (m *Model) Child(ctx Context, name string) (*ElementDef, string, bool) {
	t, ok := m.types[ctx.Type]
	if !ok {
		return nil, "", false
	}
	name = strings.TrimPrefix(name, "_")
	if e, ok := t.Elements[ctx.Path+"."+name]; ok {
		typ := ""
		if len(e.Types) > 0 {
			typ = e.Types[0]
		}
		return e, typ, true
	}
	// Choice element: valueQuantity -> value[x] of type Quantity.
	for i := len(name) - 1; i > 0; i-- {
		if name[i] < 'A' || name[i] > 'Z' {
			continue
		}
		e, ok := t.Elements[ctx.Path+"."+name[:i]+"[x]"]
		if !ok {
			continue
		}
		suffix := name[i:]
		for _, ty := range e.Types {
			if strings.EqualFold(ty[:1], suffix[:1]) && ty[1:] == suffix[1:] {
				return e, ty, true
			}
		}
	}
	return nil, "", false
}

// ChildContext is the context in which the children of element e, holding a value of
// type typ, are defined.
func (m *Model) ChildContext(ctx Context, e *ElementDef, typ string) Context {
	if e.Ref != "" {
		return Context{Type: ctx.Type, Path: e.Ref}
	}
	if typ == "BackboneElement" || typ == "Element" {
		return Context{Type: ctx.Type, Path: e.Path}
	}
	return TypeContext(typ)
}

// IsPrimitive reports whether typ is a FHIR primitive type (string, dateTime, ...).
func (m *Model) IsPrimitive(typ string) bool {
	t, ok := m.types[typ]
	return ok && t.Kind == "primitive-type"
}

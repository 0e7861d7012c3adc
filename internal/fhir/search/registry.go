package search

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"omnichart/internal/fhir"
	"omnichart/internal/fhir/r4"
)

// Definition is one search parameter as it applies to one resource type.
type Definition struct {
	URL  string
	Code string
	// Type is number, date, string, token, reference, composite, quantity, uri or
	// special.
	Type string
	// Expression is the FHIRPath that extracts the parameter's values from a
	// resource of this type (the branches of a multi-type expression that do not
	// apply to the type removed). Empty for parameters without one (_text).
	Expression string
	// Targets are the resource types a reference parameter may point to.
	Targets []string
	// Components of a composite parameter, in order.
	Components []Component
	// Custom marks a parameter defined by a SearchParameter resource on this server.
	Custom bool
}

// Component is one part of a composite parameter: the definition it takes its type
// from and the expression evaluated on each value of the composite's expression.
type Component struct {
	Definition string
	Expression string
	// Type is resolved from Definition when the registry is built.
	Type string
}

// Registry holds the search parameters of every resource type. The R4 parameters are
// built in; custom ones are added with Add. It is safe for concurrent use.
type Registry struct {
	mu     sync.RWMutex
	byType map[string]map[string]*Definition
	byURL  map[string]*Definition
	// sorted caches ForType, which index extraction calls on every write; any
	// change to the registry clears it.
	sorted map[string][]*Definition
	// generation counts the changes to the registry.
	generation uint64
}

type rawParameter struct {
	URL        string   `json:"url"`
	Code       string   `json:"code"`
	Base       []string `json:"base"`
	Type       string   `json:"type"`
	Expression string   `json:"expression"`
	Target     []string `json:"target"`
	Component  []struct {
		Definition string `json:"definition"`
		Expression string `json:"expression"`
	} `json:"component"`
}

var r4Params = sync.OnceValue(func() []rawParameter {
	var ps []rawParameter
	if err := json.Unmarshal(r4.SearchParametersJSON, &ps); err != nil {
		panic("search: embedded search parameters are corrupt: " + err.Error())
	}
	return ps
})

// NewRegistry returns a registry holding the official R4 search parameters.
func NewRegistry() *Registry {
	r := &Registry{byType: map[string]map[string]*Definition{}, byURL: map[string]*Definition{}}
	for _, p := range r4Params() {
		r.add(p, false)
	}
	r.resolveComponents()
	return r
}

func (r *Registry) add(p rawParameter, custom bool) {
	r.sorted = nil
	r.generation++
	bases := p.Base
	for _, b := range p.Base {
		if b == "Resource" || b == "DomainResource" {
			bases = fhir.R4().ResourceTypes()
			break
		}
	}
	var first *Definition
	for _, typ := range bases {
		d := &Definition{URL: p.URL, Code: p.Code, Type: p.Type, Targets: p.Target, Custom: custom,
			Expression: ExpressionFor(typ, p.Expression)}
		for _, c := range p.Component {
			d.Components = append(d.Components, Component{Definition: c.Definition, Expression: c.Expression})
		}
		if r.byType[typ] == nil {
			r.byType[typ] = map[string]*Definition{}
		}
		r.byType[typ][p.Code] = d
		if first == nil {
			first = d
		}
	}
	if first != nil {
		r.byURL[p.URL] = first
	}
}

func (r *Registry) resolveComponents() {
	for _, defs := range r.byType {
		for _, d := range defs {
			for i, c := range d.Components {
				if cd, ok := r.byURL[c.Definition]; ok {
					d.Components[i].Type = cd.Type
				}
			}
		}
	}
}

// Lookup returns the parameter code of resource type typ.
func (r *Registry) Lookup(typ, code string) (*Definition, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.byType[typ][code]
	return d, ok
}

// ForType returns every parameter of typ, sorted by code.
// The returned slice is shared: callers must not modify it.
func (r *Registry) ForType(typ string) []*Definition {
	r.mu.RLock()
	out, ok := r.sorted[typ]
	r.mu.RUnlock()
	if ok {
		return out
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out = make([]*Definition, 0, len(r.byType[typ]))
	for _, d := range r.byType[typ] {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	if r.sorted == nil {
		r.sorted = map[string][]*Definition{}
	}
	r.sorted[typ] = out
	return out
}

// CheckResource reports whether a SearchParameter resource has what search needs,
// without adding it.
func (r *Registry) CheckResource(sp map[string]any) error {
	_, err := parseResource(sp)
	return err
}

// AddResource adds (or replaces) a parameter defined by a SearchParameter resource.
// It returns an error when the resource lacks what search needs.
func (r *Registry) AddResource(sp map[string]any) error {
	p, err := parseResource(sp)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.add(p, true)
	r.resolveComponents()
	return nil
}

func parseResource(sp map[string]any) (rawParameter, error) {
	p := rawParameter{URL: fhir.String(sp, "url"), Code: fhir.String(sp, "code"), Type: fhir.String(sp, "type"), Expression: fhir.String(sp, "expression")}
	for _, b := range fhir.Array(sp, "base") {
		if s, ok := b.(string); ok {
			p.Base = append(p.Base, s)
		}
	}
	for _, t := range fhir.Array(sp, "target") {
		if s, ok := t.(string); ok {
			p.Target = append(p.Target, s)
		}
	}
	for _, c := range fhir.Array(sp, "component") {
		cm, _ := c.(map[string]any)
		p.Component = append(p.Component, struct {
			Definition string `json:"definition"`
			Expression string `json:"expression"`
		}{fhir.String(cm, "definition"), fhir.String(cm, "expression")})
	}
	switch {
	case p.Code == "" || len(p.Base) == 0 || p.Type == "":
		return p, fmt.Errorf("a SearchParameter needs code, base and type to be searchable")
	case p.Expression == "" && p.Type != "composite":
		return p, fmt.Errorf("SearchParameter %s has no expression to extract values with", p.Code)
	case p.URL == "":
		return p, fmt.Errorf("SearchParameter %s has no url", p.Code)
	}
	for _, b := range p.Base {
		if !fhir.R4().IsResourceType(b) && b != "Resource" && b != "DomainResource" {
			return p, fmt.Errorf("SearchParameter %s has base %q, which is not a resource type", p.Code, b)
		}
	}
	return p, nil
}

// ExpressionFor keeps the branches of a union expression ("A.x | B.y") that apply to
// resource type typ: those starting with typ, with a base type of all resources, or
// with no type at all. Evaluating only these avoids dozens of branches that could
// never match, for parameters shared by many types.
func ExpressionFor(typ, expr string) string {
	if expr == "" {
		return ""
	}
	var keep []string
	for _, branch := range splitUnion(expr) {
		b := strings.TrimSpace(branch)
		head := strings.TrimLeft(b, "(")
		first := head
		if i := strings.IndexAny(head, ".( "); i >= 0 {
			first = head[:i]
		}
		if first == typ || first == "Resource" || first == "DomainResource" || !fhir.R4().IsResourceType(first) {
			keep = append(keep, b)
		}
	}
	return strings.Join(keep, " | ")
}

// splitUnion splits expr at top-level "|" operators.
func splitUnion(expr string) []string {
	var out []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '`':
			quote = c
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case c == '|' && depth == 0:
			out = append(out, expr[start:i])
			start = i + 1
		}
	}
	return append(out, expr[start:])
}

// Remove drops the custom parameter with canonical url; built-in parameters stay.
func (r *Registry) Remove(url string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for typ, defs := range r.byType {
		for code, d := range defs {
			if d.URL == url && d.Custom {
				delete(defs, code)
				if builtin, ok := builtinFor(typ, code); ok {
					defs[code] = builtin
				}
			}
		}
	}
	delete(r.byURL, url)
	r.sorted = nil
	r.generation++
	r.resolveComponents()
}

// Generation returns a number that changes whenever a parameter is added or
// removed: index rows extracted while it stays the same are what extracting them
// again would give.
func (r *Registry) Generation() uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.generation
}

// builtinFor rebuilds the official definition of code for typ, if there is one.
func builtinFor(typ, code string) (*Definition, bool) {
	tmp := &Registry{byType: map[string]map[string]*Definition{}, byURL: map[string]*Definition{}}
	for _, p := range r4Params() {
		if p.Code == code {
			tmp.add(p, false)
		}
	}
	tmp.resolveComponents()
	d, ok := tmp.byType[typ][code]
	return d, ok
}

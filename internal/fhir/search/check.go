package search

import (
	"fmt"
	"strings"
)

// modifiers lists the modifiers each parameter type accepts.
// See https://hl7.org/fhir/R4/search.html#modifiers.
var modifiers = map[string]map[string]bool{
	"string":    {"exact": true, "contains": true, "missing": true},
	"token":     {"text": true, "not": true, "above": true, "below": true, "in": true, "not-in": true, "of-type": true, "missing": true},
	"reference": {"identifier": true, "missing": true, ModifierMDM: true},
	"date":      {"missing": true},
	"number":    {"missing": true},
	"quantity":  {"missing": true},
	"uri":       {"below": true, "above": true, "missing": true},
	"composite": {"missing": true},
	"special":   {"missing": true},
}

// ModifierMDM is the :mdm modifier of reference parameters (after HAPI FHIR's
// MDM expansion): subject:mdm=Patient/X matches what refers to X or to any source
// Patient the master patient index links with X. The parameter is resolved into a
// plain reference parameter by the interaction engine, under the caller's scope,
// before a store sees it; only Patient references can be expanded.
const ModifierMDM = "mdm"

// Key is the parameter as written in the query ("subject:Patient.name").
func (p Param) Key() string {
	if p.Modifier == "" {
		return p.Name
	}
	return p.Name + ":" + p.Modifier
}

// Check resolves every parameter of q against the registry. Unknown parameters and
// modifiers are an error under strict handling; otherwise they are removed from q and
// recorded with q.Ignore, as https://hl7.org/fhir/R4/search.html#errors asks.
func (r *Registry) Check(q *Query) error {
	kept := q.Params[:0]
	for _, p := range q.Params {
		err := r.checkParam(q.Type, p)
		if err == nil {
			kept = append(kept, p)
			continue
		}
		if q.Strict {
			return err
		}
		q.Ignore(p.Key(), err.Error())
	}
	q.Params = kept
	for _, k := range q.Sort {
		if k.Name == "_id" || k.Name == "_lastUpdated" {
			continue
		}
		if q.Type == "" {
			return fmt.Errorf("_sort by %q needs a resource type", k.Name)
		}
		if d, ok := r.Lookup(q.Type, k.Name); !ok || d.Type == "composite" || d.Type == "special" {
			return fmt.Errorf("_sort: %q is not a search parameter of %s that can be sorted by", k.Name, q.Type)
		}
	}
	return nil
}

func (r *Registry) checkParam(typ string, p Param) error {
	switch p.Name {
	case "_id", "_lastUpdated":
		if p.Modifier != "" && p.Modifier != "missing" && !(p.Name == "_id" && p.Modifier == "not") {
			return fmt.Errorf("modifier :%s is not supported on %s", p.Modifier, p.Name)
		}
		return nil
	case "_type":
		if typ != "" {
			return fmt.Errorf("_type is a system-level parameter")
		}
		return nil
	case "_has":
		parts := strings.Split(p.Modifier, ":")
		if len(parts) < 3 {
			return fmt.Errorf("_has needs the form _has:Type:reference:parameter")
		}
		d, ok := r.Lookup(parts[0], parts[1])
		if !ok || d.Type != "reference" {
			return fmt.Errorf("_has: %s has no reference parameter %q", parts[0], parts[1])
		}
		inner := Param{Name: parts[2], Values: p.Values}
		if len(parts) > 3 {
			inner.Modifier = strings.Join(parts[3:], ":")
		}
		return r.checkParam(parts[0], inner)
	}
	if typ == "" {
		if d, ok := r.Lookup("Patient", p.Name); ok && strings.HasPrefix(d.URL, "http://hl7.org/fhir/SearchParameter/Resource-") {
			return nil
		}
		return fmt.Errorf("unknown search parameter %q for a search across all types", p.Name)
	}
	key := p.Key()
	if head, rest, chained := strings.Cut(key, "."); chained {
		name, mod, _ := strings.Cut(head, ":")
		d, ok := r.Lookup(typ, name)
		if !ok || d.Type != "reference" {
			return fmt.Errorf("%q is not a reference parameter of %s, so it cannot be chained", name, typ)
		}
		targets := d.Targets
		if mod != "" {
			targets = []string{mod}
		}
		restName, restMod, _ := strings.Cut(rest, ":")
		for _, t := range targets {
			if r.checkParam(t, Param{Name: restName, Modifier: restMod, Values: p.Values}) == nil {
				return nil
			}
		}
		return fmt.Errorf("no target of %s.%s has a search parameter %q", typ, name, restName)
	}
	d, ok := r.Lookup(typ, p.Name)
	if !ok {
		return fmt.Errorf("unknown search parameter %q for %s", p.Name, typ)
	}
	if d.Expression == "" && d.Type != "composite" {
		return fmt.Errorf("search parameter %q is not supported (it has no expression)", p.Name)
	}
	if p.Modifier == "" {
		return nil
	}
	if d.Type == "reference" && isTypeName(p.Modifier) {
		return nil
	}
	if !modifiers[d.Type][p.Modifier] {
		return fmt.Errorf("modifier :%s is not valid on %s parameter %q", p.Modifier, d.Type, p.Name)
	}
	if p.Modifier == "of-type" && p.Name != "identifier" {
		return fmt.Errorf(":of-type applies to identifier only")
	}
	return nil
}

func isTypeName(s string) bool {
	return s != "" && s[0] >= 'A' && s[0] <= 'Z'
}

package fhir

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// maxIssues keeps a pathological document from producing an unbounded outcome.
const maxIssues = 100

// Validate checks the structure of a resource against the R4 model: a known
// resourceType, only elements the type defines (choice elements with a valid type
// suffix), arrays exactly where an element repeats, JSON kinds and formats of
// primitives, required elements, and codes of required value-set bindings (code
// elements, and the codings of Coding and CodeableConcept elements whose system the
// value set draws from). Contained and nested resources (Bundle entries, Parameters)
// are checked the same way. It returns no issues for a valid resource.
//
// It does not check invariants, profiles, or bindings that are not required or whose
// value set the R4 definitions cannot expand (see package r4).
func (m *Model) Validate(res Resource) []Issue {
	v := &validator{m: m}
	v.resource(res, "")
	return v.issues
}

type validator struct {
	m      *Model
	issues []Issue
}

func (v *validator) add(code, path, format string, args ...any) {
	if len(v.issues) < maxIssues {
		v.issues = append(v.issues, ErrorIssue(code, path, fmt.Sprintf(format, args...)))
	}
}

// resource checks a resource root; prefix is the path of the element holding it.
func (v *validator) resource(res map[string]any, prefix string) {
	typ, ok := res["resourceType"].(string)
	if !ok {
		v.add("required", prefix, "resourceType is missing or not a string")
		return
	}
	if !v.m.IsResourceType(typ) {
		v.add("not-supported", prefix, "%q is not an R4 resource type", typ)
		return
	}
	path := typ
	if prefix != "" {
		path = prefix
	}
	v.object(res, TypeContext(typ), path, true)
}

func (v *validator) object(obj map[string]any, ctx Context, path string, isResource bool) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if isResource && k == "resourceType" {
			continue
		}
		val := obj[k]
		el, typ, ok := v.m.Child(ctx, k)
		if !ok {
			v.add("structure", path+"."+k, "unknown element %q in %s", k, ctx.Path)
			continue
		}
		name := strings.TrimPrefix(k, "_")
		if strings.HasPrefix(k, "_") && !v.m.IsPrimitive(typ) {
			v.add("structure", path+"."+k, "%q is not a primitive element, so it has no %q extension half", name, k)
			continue
		}
		arr, isArr := val.([]any)
		if el.Many != isArr {
			if el.Many {
				v.add("structure", path+"."+k, "%s repeats, so it must be a JSON array", name)
			} else {
				v.add("structure", path+"."+k, "%s does not repeat, so it must not be an array", name)
			}
			continue
		}
		if !isArr {
			v.value(val, el, typ, ctx, path+"."+name, strings.HasPrefix(k, "_"))
			continue
		}
		if len(arr) == 0 {
			v.add("structure", path+"."+k, "arrays must not be empty")
			continue
		}
		for i, e := range arr {
			ep := fmt.Sprintf("%s.%s[%d]", path, name, i)
			if e == nil {
				// A null in a primitive array is allowed when the other half
				// (value or extension) carries the item.
				if v.m.IsPrimitive(typ) {
					continue
				}
				v.add("structure", ep, "null is not allowed here")
				continue
			}
			v.value(e, el, typ, ctx, ep, strings.HasPrefix(k, "_"))
		}
	}
	v.required(obj, ctx, path)
}

// required reports missing mandatory children of an object.
func (v *validator) required(obj map[string]any, ctx Context, path string) {
	t, ok := v.m.Type(ctx.Type)
	if !ok {
		return
	}
	prefix := ctx.Path + "."
	for p, el := range t.Elements {
		if el.Min == 0 || !strings.HasPrefix(p, prefix) || strings.Contains(p[len(prefix):], ".") {
			continue
		}
		name := el.Name()
		if el.IsChoice() {
			if !hasChoice(obj, name, el.Types) {
				v.add("required", path+"."+name+"[x]", "required element %s[x] is missing", name)
			}
			continue
		}
		if _, ok := obj[name]; !ok {
			if _, ok := obj["_"+name]; !ok {
				v.add("required", path+"."+name, "required element %s is missing", name)
			}
		}
	}
}

func hasChoice(obj map[string]any, name string, types []string) bool {
	for _, t := range types {
		suffix := strings.ToUpper(t[:1]) + t[1:]
		if _, ok := obj[name+suffix]; ok {
			return true
		}
		if _, ok := obj["_"+name+suffix]; ok {
			return true
		}
	}
	return false
}

func (v *validator) value(val any, el *ElementDef, typ string, ctx Context, path string, extensionHalf bool) {
	if val == nil {
		v.add("structure", path, "null is not allowed here")
		return
	}
	if extensionHalf {
		obj, ok := val.(map[string]any)
		if !ok {
			v.add("structure", path, "the extension half of a primitive must be an object")
			return
		}
		v.object(obj, TypeContext("Element"), path, false)
		return
	}
	if typ == "Resource" || v.m.IsResourceType(typ) {
		obj, ok := val.(map[string]any)
		if !ok {
			v.add("structure", path, "a resource must be a JSON object")
			return
		}
		v.resource(obj, path)
		return
	}
	if v.m.IsPrimitive(typ) || strings.HasPrefix(typ, "System.") {
		if v.primitive(val, typ, path) && el.Binding != nil && typ == "code" {
			v.code(el.Binding, "", val.(string), path)
		}
		return
	}
	obj, ok := val.(map[string]any)
	if !ok {
		v.add("structure", path, "%s must be a JSON object (a %s)", el.Name(), typ)
		return
	}
	if len(obj) == 0 {
		v.add("structure", path, "objects must not be empty")
		return
	}
	v.object(obj, v.m.ChildContext(ctx, el, typ), path, false)
	if el.Binding == nil {
		return
	}
	switch typ {
	case "Coding":
		v.coding(el.Binding, obj, path)
	case "CodeableConcept":
		codings, _ := obj["coding"].([]any)
		for i, c := range codings {
			if c, ok := c.(map[string]any); ok {
				v.coding(el.Binding, c, fmt.Sprintf("%s.coding[%d]", path, i))
			}
		}
	}
}

// coding checks the code of a Coding whose system the value set draws from; codings
// of other systems are left alone.
func (v *validator) coding(vs *ValueSet, c map[string]any, path string) {
	system, _ := c["system"].(string)
	code, ok := c["code"].(string)
	if !ok || system == "" || !vs.HasSystem(system) {
		return
	}
	v.code(vs, system, code, path+".code")
}

// maxListedCodes bounds how many allowed codes a message lists.
const maxListedCodes = 30

// code reports a code that a required binding does not allow, naming the allowed
// ones. See https://hl7.org/fhir/R4/terminologies.html#required.
func (v *validator) code(vs *ValueSet, system, code, path string) {
	if vs.Contains(system, code) {
		return
	}
	allowed := vs.List()
	if system != "" {
		allowed = vs.Codes[system]
	}
	list := strings.Join(allowed, ", ")
	if len(allowed) > maxListedCodes {
		list = strings.Join(allowed[:maxListedCodes], ", ") + fmt.Sprintf(", … (%d codes in all)", len(allowed))
	}
	v.add("code-invalid", path, "%s: %q is not in the required value set %s; allowed codes: %s", path, code, vs.URL, list)
}

// primitive checks a primitive value and reports whether it is valid.
func (v *validator) primitive(val any, typ, path string) bool {
	switch typ {
	case "boolean", "System.Boolean":
		if _, ok := val.(bool); !ok {
			v.add("value", path, "a boolean must be JSON true or false")
			return false
		}
		return true
	case "integer", "positiveInt", "unsignedInt", "decimal", "System.Integer", "System.Decimal":
		var n json.Number
		switch x := val.(type) {
		case json.Number:
			n = x
		case int, int64, int32:
			// Trees built in Go rather than decoded carry plain integers.
			n = json.Number(fmt.Sprint(x))
		case float64:
			n = json.Number(strconv.FormatFloat(x, 'f', -1, 64))
		default:
			v.add("value", path, "a %s must be a JSON number", typ)
			return false
		}
		if valid := primitiveFormats[typ]; valid != nil && !valid(n.String()) {
			v.add("value", path, "%s is not a valid %s", n.String(), typ)
			return false
		}
		if msg := numberProblem(typ, n.String()); msg != "" {
			v.add("value", path, "%s", msg)
			return false
		}
		return true
	}
	s, ok := val.(string)
	if !ok {
		v.add("value", path, "a %s must be a JSON string", typ)
		return false
	}
	if s == "" {
		v.add("value", path, "strings must not be empty")
		return false
	}
	if msg := textProblem(typ, s); msg != "" {
		v.add("value", path, "%s", msg)
		return false
	}
	if valid := primitiveFormats[typ]; valid != nil && !valid(s) {
		v.add("value", path, "the value is not a valid %s", typ)
		return false
	}
	if msg := calendarProblem(typ, s); msg != "" {
		v.add("value", path, "%s", msg)
		return false
	}
	return true
}

package fhirapi

import (
	"encoding/json"
	"strings"

	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// subsettedTag marks a resource that is not complete because of _summary or
// _elements. See https://hl7.org/fhir/R4/search.html#summary.
var subsettedTag = map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}

// shapeEntries applies _summary and _elements to the match entries of a searchset.
func shapeEntries(bundle map[string]any, q *search.Query) error {
	if (q.Summary == "" || q.Summary == "false") && len(q.Elements) == 0 {
		return nil
	}
	entries, _ := bundle["entry"].([]any)
	// A set, made once: a client may list any number of elements, and every
	// entry is shaped by them.
	elements := nameSet(q.Elements)
	for _, e := range entries {
		em := e.(map[string]any)
		if mode, _ := fhir.Object(em, "search")["mode"].(string); mode != "match" {
			continue
		}
		raw, ok := em["resource"].(json.RawMessage)
		if !ok {
			continue
		}
		res, err := fhir.Decode(raw)
		if err != nil {
			return err
		}
		em["resource"] = subset(res, q.Summary, elements)
	}
	return nil
}

// Subset returns res reduced as _summary (true, text, data) or _elements ask, with
// the SUBSETTED tag. Mandatory elements, id and meta always stay.
func Subset(res map[string]any, summary string, elements []string) map[string]any {
	return subset(res, summary, nameSet(elements))
}

func subset(res map[string]any, summary string, elements map[string]bool) map[string]any {
	typ, _ := res["resourceType"].(string)
	td, ok := fhir.R4().Type(typ)
	if !ok {
		return res
	}
	keep := func(name string) bool {
		switch name {
		case "resourceType", "id", "meta":
			return true
		}
		el := topElement(td, typ, name)
		if el == nil {
			return false
		}
		switch {
		case len(elements) > 0:
			return el.Min > 0 || elements[el.Name()]
		case summary == "true":
			return el.Summary || el.Min > 0
		case summary == "text":
			return name == "text" || el.Min > 0
		case summary == "data":
			return name != "text"
		}
		return true
	}
	out := map[string]any{}
	for k, v := range res {
		if keep(strings.TrimPrefix(k, "_")) {
			out[k] = v
		}
	}
	if summary != "data" {
		meta, _ := out["meta"].(map[string]any)
		meta = fhir.Clone(meta).(map[string]any)
		if meta == nil {
			meta = map[string]any{}
		}
		tags, _ := meta["tag"].([]any)
		meta["tag"] = append(tags, subsettedTag)
		out["meta"] = meta
	}
	return out
}

func topElement(td *fhir.TypeDef, typ, name string) *fhir.ElementDef {
	if el, ok := td.Elements[typ+"."+name]; ok {
		return el
	}
	el, _, ok := fhir.R4().Child(fhir.TypeContext(typ), name)
	if ok {
		return el
	}
	return nil
}

func nameSet(names []string) map[string]bool {
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return set
}

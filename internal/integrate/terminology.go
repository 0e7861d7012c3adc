package integrate

import (
	"fmt"
	"slices"

	"omnichart/internal/fhir"
)

// Terminology maps codes of one code system to codes of another that mean the
// same: a laboratory's local test code to its LOINC code, a pharmacy's drug code
// to RxNorm. It is read from FHIR R4 ConceptMaps
// (https://hl7.org/fhir/R4/conceptmap.html), keeping only the mappings whose
// equivalence is "equivalent" or "equal": a wider, narrower, inexact or merely
// related code is not the same fact, and the rules never join on a guess.
//
// With a Terminology, two records are compared as if each coded concept also
// carried the codes its codes map to; the records themselves are not changed.
type Terminology struct {
	// to maps "system|code" to the codings it is equivalent to.
	to map[string][]coding
}

type coding struct{ system, code string }

// NewTerminology reads the mappings of maps. A ConceptMap that is not active
// adds nothing. Problems name what was left out of a map that was read (a group
// without source or target system, an element without code).
func NewTerminology(maps []fhir.Resource) (*Terminology, []string) {
	t := &Terminology{to: map[string][]coding{}}
	var problems []string
	for _, cm := range maps {
		name := "ConceptMap/" + fhir.String(cm, "id")
		if fhir.String(cm, "status") != "active" {
			continue
		}
		for gi, g := range fhir.Array(cm, "group") {
			gm, _ := g.(map[string]any)
			src, tgt := fhir.String(gm, "source"), fhir.String(gm, "target")
			if src == "" || tgt == "" {
				problems = append(problems, fmt.Sprintf("%s group[%d]: no source or target code system; left out", name, gi))
				continue
			}
			for ei, e := range fhir.Array(gm, "element") {
				em, _ := e.(map[string]any)
				code := fhir.String(em, "code")
				if code == "" {
					problems = append(problems, fmt.Sprintf("%s group[%d].element[%d]: no code; left out", name, gi, ei))
					continue
				}
				for _, tg := range fhir.Array(em, "target") {
					tm, _ := tg.(map[string]any)
					eq, to := fhir.String(tm, "equivalence"), fhir.String(tm, "code")
					if to == "" || (eq != "equivalent" && eq != "equal") {
						continue
					}
					t.add(coding{src, code}, coding{tgt, to})
				}
			}
		}
	}
	return t, problems
}

// add records a and b as the same concept, both ways: "equivalent" is symmetric.
func (t *Terminology) add(a, b coding) {
	ka, kb := a.system+"|"+a.code, b.system+"|"+b.code
	if !slices.Contains(t.to[ka], b) {
		t.to[ka] = append(t.to[ka], b)
	}
	if !slices.Contains(t.to[kb], a) {
		t.to[kb] = append(t.to[kb], a)
	}
}

// Len is the number of codes that map to another.
func (t *Terminology) Len() int {
	if t == nil {
		return 0
	}
	return len(t.to)
}

// expand returns res for comparison: when a coded concept in it (any object
// with a "coding" array, at any depth) holds a code the terminology maps, a copy
// of res in which that concept also holds the codings it maps to. res itself is
// never changed; it is returned as it is when nothing maps.
func (t *Terminology) expand(res fhir.Resource) fhir.Resource {
	if t.Len() == 0 {
		return res
	}
	out, changed := t.expandNode(map[string]any(res))
	if !changed {
		return res
	}
	return fhir.Resource(out.(map[string]any))
}

func (t *Terminology) expandNode(node any) (any, bool) {
	switch v := node.(type) {
	case map[string]any:
		var out map[string]any
		for k, child := range v {
			nc, changed := t.expandNode(child)
			if k == "coding" {
				if extra := t.mapped(child); len(extra) > 0 {
					list, _ := nc.([]any)
					nc, changed = append(slices.Clone(list), extra...), true
				}
			}
			if changed {
				if out == nil {
					out = make(map[string]any, len(v))
					for k2, c2 := range v {
						out[k2] = c2
					}
				}
				out[k] = nc
			}
		}
		if out == nil {
			return v, false
		}
		return out, true
	case []any:
		var out []any
		for i, child := range v {
			nc, changed := t.expandNode(child)
			if changed {
				if out == nil {
					out = slices.Clone(v)
				}
				out[i] = nc
			}
		}
		if out == nil {
			return v, false
		}
		return out, true
	}
	return node, false
}

// mapped returns the codings a coding array does not hold and the terminology
// maps its codings to.
func (t *Terminology) mapped(list any) []any {
	items, _ := list.([]any)
	have := map[coding]bool{}
	for _, c := range items {
		cm, _ := c.(map[string]any)
		have[coding{fhir.String(cm, "system"), fhir.String(cm, "code")}] = true
	}
	var extra []any
	for _, c := range items {
		cm, _ := c.(map[string]any)
		for _, to := range t.to[fhir.String(cm, "system")+"|"+fhir.String(cm, "code")] {
			if !have[to] {
				have[to] = true
				extra = append(extra, map[string]any{"system": to.system, "code": to.code})
			}
		}
	}
	return extra
}

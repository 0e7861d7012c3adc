package store

import (
	"encoding/json"
	"strings"
	"sync"

	"omnichart/internal/fhir"
	"omnichart/internal/fhir/r4"
	"omnichart/internal/fhir/search"
)

// patientCompartmentParams maps each resource type in the Patient compartment to
// the search parameters that place it there.
var patientCompartmentParams = sync.OnceValue(func() map[string][]string {
	var comp map[string][]string
	if err := json.Unmarshal(r4.CompartmentPatientJSON, &comp); err != nil {
		panic("store: embedded compartment definition is corrupt: " + err.Error())
	}
	return comp
})

// compartmentPaths maps a resource type to the element paths (relative to the
// resource root) whose Patient references place it in a Patient compartment, in the
// order of the R4 Patient CompartmentDefinition's parameters.
var compartmentPaths = sync.OnceValue(func() map[string][][]string {
	comp := patientCompartmentParams()
	var params []struct {
		Code       string   `json:"code"`
		Base       []string `json:"base"`
		Expression string   `json:"expression"`
	}
	if err := json.Unmarshal(r4.SearchParametersJSON, &params); err != nil {
		panic("store: embedded search parameters are corrupt: " + err.Error())
	}
	out := map[string][][]string{}
	for typ, codes := range comp {
		for _, code := range codes {
			for _, p := range params {
				if p.Code != code || !contains(p.Base, typ) {
					continue
				}
				for _, alt := range strings.Split(p.Expression, "|") {
					if path, ok := simplePath(typ, alt); ok {
						out[typ] = append(out[typ], path)
					}
				}
			}
		}
	}
	return out
})

// simplePath reduces a search expression alternative such as
// "Observation.subject.where(resolve() is Patient)" or "(Claim.patient)" to the plain
// element path it follows. The reference's type is checked on the value itself.
func simplePath(typ, expr string) ([]string, bool) {
	const isPatient = ".where(resolve() is Patient)"
	expr = strings.TrimPrefix(strings.TrimSpace(expr), "(")
	// The closing parenthesis of where() is not one of a group: cutting it first
	// would leave the where() unrecognised and drop the path.
	if strings.HasSuffix(expr, isPatient+")") {
		expr = strings.TrimSuffix(expr, ")")
	}
	if e, ok := strings.CutSuffix(expr, isPatient); ok {
		expr = e
	} else {
		expr = strings.TrimSuffix(expr, ")")
	}
	if i := strings.Index(expr, " as "); i > 0 {
		expr = expr[:i]
	}
	if !strings.HasPrefix(expr, typ+".") {
		return nil, false
	}
	parts := strings.Split(strings.TrimPrefix(expr, typ+"."), ".")
	for _, p := range parts {
		if p == "" || strings.ContainsAny(p, "()[] ") {
			return nil, false
		}
	}
	return parts, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Compartment returns the patient-compartment key of a resource: "Patient/<id>" for a
// Patient and for a resource that refers to a Patient through one of its compartment
// parameters (the first such reference wins), and "<Type>/<id>" for a resource outside
// every Patient compartment.
func Compartment(typ, id string, res fhir.Resource) string {
	if typ == "Patient" {
		return "Patient/" + id
	}
	for _, path := range compartmentPaths()[typ] {
		if pid := findPatientReference(res, path); pid != "" {
			return "Patient/" + pid
		}
	}
	return typ + "/" + id
}

func findPatientReference(node any, path []string) string {
	switch x := node.(type) {
	case []any:
		for _, e := range x {
			if id := findPatientReference(e, path); id != "" {
				return id
			}
		}
	case map[string]any:
		if len(path) == 0 {
			ref, _ := x["reference"].(string)
			if typ, id, _, ok := fhir.ParseReference(ref); ok && typ == "Patient" {
				return id
			}
			return ""
		}
		return findPatientReference(x[path[0]], path[1:])
	}
	return ""
}

// primaryCompartmentParam reports whether a reference to Patient/X through search
// parameter code of typ always puts the resource in compartment Patient/X: the
// parameter follows only the first path Compartment checks, and no element on that
// path repeats (so the first Patient reference is the only one). Searches on such a
// parameter may then filter on the compartment column, which leads every primary
// key, as a necessary condition.
func primaryCompartmentParam(d *search.Definition, typ string) bool {
	paths := compartmentPaths()[typ]
	if len(paths) == 0 || d.Type != "reference" || d.Expression == "" {
		return false
	}
	first := paths[0]
	for _, alt := range strings.Split(d.Expression, "|") {
		path, ok := simplePath(typ, alt)
		if !ok || strings.Join(path, ".") != strings.Join(first, ".") {
			return false
		}
	}
	ctx := fhir.TypeContext(typ)
	for _, name := range first {
		el, elType, ok := fhir.R4().Child(ctx, name)
		if !ok || el.Many {
			return false
		}
		ctx = fhir.R4().ChildContext(ctx, el, elType)
	}
	return true
}

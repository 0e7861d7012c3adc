package fhir

import (
	"fmt"
	"sort"
	"strings"
)

// PruneEmpty removes from res, in place and at any depth, every element FHIR JSON
// does not allow to be empty: empty strings, empty objects, empty arrays and nulls.
// An object or array that only held such elements is removed too. It returns one
// warning Issue per removed element, with the element's FHIRPath from the root of
// res (as "Immunization.education[1]"); when an element is removed whole, its
// removed children are not reported separately.
//
// Converters run it over what they built, so that one element they could not fill
// is left out with a warning instead of making the whole resource invalid.
//
// A null inside a primitive array stays when the other half of the pair (the
// "_name" array of extensions, or the value array) has content at that index, as
// FHIR JSON requires. The resourceType of a resource (a non-empty string) is never
// removed; a "resourceType" member that is anything else is pruned like any other. See
// https://hl7.org/fhir/R4/json.html.
func PruneEmpty(res Resource) []Issue {
	root, _ := res["resourceType"].(string)
	if root == "" {
		root = "Resource"
	}
	var issues []Issue
	pruneObject(res, root, &issues)
	return issues
}

// pruneObject prunes the members of obj and reports whether obj is left empty.
func pruneObject(obj map[string]any, path string, issues *[]Issue) bool {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := map[string]bool{} // names whose value and extension arrays are done
	for _, k := range keys {
		v, ok := obj[k]
		if typ, _ := v.(string); !ok || k == "resourceType" && typ != "" {
			continue // removed already, or the type of a resource
		}
		name := strings.TrimPrefix(k, "_")
		valueArr, isArr := obj[name].([]any)
		extArr, isExtArr := obj["_"+name].([]any)
		if (isArr || isExtArr) && (isArr || obj[name] == nil) && (isExtArr || obj["_"+name] == nil) {
			// A primitive array and its extension half are pruned index by index
			// together, so the two stay aligned; a null in place of either half
			// goes.
			if pairs[name] {
				continue
			}
			pairs[name] = true
			kept, keptExt, empty := pruneArray(valueArr, extArr, path+"."+name, issues)
			if empty {
				delete(obj, name)
				delete(obj, "_"+name)
				key := name
				if !isArr {
					key = "_" + name
				}
				*issues = append(*issues, emptyIssue([]any{}, path+"."+key))
				continue
			}
			for _, half := range []struct {
				key   string
				isArr bool
				kept  []any
			}{{name, isArr, kept}, {"_" + name, isExtArr, keptExt}} {
				_, present := obj[half.key]
				switch {
				case half.isArr && half.kept != nil:
					obj[half.key] = half.kept
				case half.isArr:
					delete(obj, half.key) // only nulls were left of it
				case present:
					delete(obj, half.key)
					*issues = append(*issues, emptyIssue(nil, path+"."+half.key))
				}
			}
			continue
		}
		nv, empty := pruneValue(v, path+"."+k, issues)
		if empty {
			delete(obj, k)
			*issues = append(*issues, emptyIssue(v, path+"."+k))
			continue
		}
		obj[k] = nv
	}
	return len(obj) == 0
}

// pruneArray prunes the items of a value array and, for a primitive with
// extensions, of its "_name" array alongside (either may be nil). It returns what
// is kept of both (keptExt is nil when no extension is left) and whether nothing
// is; in that case the caller reports the array and its items are not reported.
func pruneArray(arr, ext []any, path string, issues *[]Issue) (kept, keptExt []any, empty bool) {
	var local []Issue
	hasExt := false
	for i := range max(len(arr), len(ext)) {
		var v, e any
		if i < len(arr) {
			v = arr[i]
		}
		if i < len(ext) {
			e = ext[i]
		}
		item := fmt.Sprintf("%s[%d]", path, i)
		var sub []Issue
		nv, vEmpty := pruneValue(v, item, &sub)
		ne, eEmpty := pruneValue(e, item, &sub)
		if vEmpty && eEmpty {
			if len(arr) > 0 {
				local = append(local, emptyIssue(v, item))
			} else {
				local = append(local, emptyIssue(e, item))
			}
			continue
		}
		local = append(local, sub...)
		if vEmpty {
			nv = nil
		}
		if eEmpty {
			ne = nil
		} else {
			hasExt = true
		}
		kept = append(kept, nv)
		keptExt = append(keptExt, ne)
	}
	if len(kept) == 0 {
		return nil, nil, true
	}
	*issues = append(*issues, local...)
	if !hasExt {
		keptExt = nil
	}
	return kept, keptExt, false
}

// pruneValue prunes v and returns what is left of it and whether that is
// nothing. It does not report v itself: the caller does, so that only the
// outermost removed element is reported.
func pruneValue(v any, path string, issues *[]Issue) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, true
	case string:
		return x, x == ""
	case map[string]any:
		var sub []Issue
		if pruneObject(x, path, &sub) {
			return x, true
		}
		*issues = append(*issues, sub...)
		return x, false
	case []any:
		// Arrays inside arrays do not occur in FHIR JSON, but are pruned alike.
		kept, _, empty := pruneArray(x, nil, path, issues)
		return kept, empty
	}
	return v, false
}

func emptyIssue(v any, path string) Issue {
	switch v.(type) {
	case string:
		return WarningIssue("value", path, "an empty string was left out")
	case map[string]any:
		return WarningIssue("structure", path, "an element with no content was left out")
	case []any:
		return WarningIssue("structure", path, "a list with no content was left out")
	}
	return WarningIssue("structure", path, "a null was left out")
}

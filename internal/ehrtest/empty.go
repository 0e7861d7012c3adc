package ehrtest

import "fmt"

// EmptyElements lists the paths (under path) of the empty strings, objects and
// arrays in v, and of nulls that are object members: FHIR JSON allows none of
// them. A null inside an array is allowed (it is half of a primitive array whose
// other half carries the item). Converter tests use it as an oracle that does not
// share code with the converters' own pruning.
func EmptyElements(v any, path string) []string {
	var out []string
	switch x := v.(type) {
	case string:
		if x == "" {
			out = append(out, path)
		}
	case map[string]any:
		if len(x) == 0 {
			return []string{path}
		}
		for k, c := range x {
			if c == nil {
				out = append(out, path+"."+k)
				continue
			}
			out = append(out, EmptyElements(c, path+"."+k)...)
		}
	case []any:
		if len(x) == 0 {
			return []string{path}
		}
		for i, c := range x {
			if c != nil {
				out = append(out, EmptyElements(c, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	}
	return out
}

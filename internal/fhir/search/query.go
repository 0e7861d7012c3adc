// Package search turns FHIR search query strings into typed queries: parameters with
// modifiers and OR-lists, result parameters, and opaque paging cursors.
//
// See https://hl7.org/fhir/R4/search.html.
package search

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DefaultCount and MaxCount bound page sizes.
const (
	DefaultCount = 20
	MaxCount     = 1000
)

// Query is one parsed search.
type Query struct {
	Type string
	// Params are ANDed; the values of one Param are ORed.
	Params []Param
	// Count is the page size; 0 is the server's default (DefaultCount).
	Count int
	// CountZero is set by _count=0, which asks for the number of matches only:
	// see TotalOnly.
	CountZero bool
	// Cursor continues a previous page (the _page parameter of next links).
	Cursor string
	Total  string // none, estimate, accurate; "" is the server default
	Sort   []SortKey
	// Summary and Elements shape the returned resources.
	Summary  string
	Elements []string
	// Include and RevInclude hold the raw values of _include and _revinclude
	// (":iterate" variants included, with the suffix kept in the key).
	Include    []string
	RevInclude []string
	// IncludeIterate and RevIncludeIterate hold the ":iterate" ones.
	IncludeIterate    []string
	RevIncludeIterate []string
	// Strict is set under "Prefer: handling=strict": unknown parameters are errors
	// instead of being ignored.
	Strict bool
	// Ignored lists the parameters dropped under lenient handling, as written
	// ("name" or "name:modifier").
	Ignored []string
	// IgnoredReasons says why each parameter in Ignored was dropped (see Ignore
	// and IgnoreMalformed).
	IgnoredReasons map[string]string
	// Malformed marks the parameters in Ignored that were dropped because their
	// value could not be used, rather than because the parameter is unknown or
	// unsupported as written.
	Malformed map[string]bool
	// Compartment restricts a search to one compartment ("Patient/123").
	Compartment string
}

// TotalOnly reports a search that asks for the number of matches and no
// resources: _summary=count, or _count=0. See
// https://hl7.org/fhir/R4/search.html#count and #summary.
func (q *Query) TotalOnly() bool { return q.Summary == "count" || q.CountZero }

// Ignore drops the parameter key under lenient handling: it is listed in Ignored
// and reason in IgnoredReasons.
func (q *Query) Ignore(key, reason string) {
	q.Ignored = append(q.Ignored, key)
	if q.IgnoredReasons == nil {
		q.IgnoredReasons = map[string]string{}
	}
	q.IgnoredReasons[key] = reason
}

// IgnoreMalformed drops the parameter key, whose value could not be used, under
// lenient handling, saying why.
func (q *Query) IgnoreMalformed(key, reason string) {
	q.Ignore(key, reason)
	if q.Malformed == nil {
		q.Malformed = map[string]bool{}
	}
	q.Malformed[key] = true
}

// Param is one search parameter occurrence: name, optional modifier (after ":"),
// and its comma-separated values, unescaped.
type Param struct {
	Name     string
	Modifier string
	Values   []string
}

// SortKey is one _sort key.
type SortKey struct {
	Name       string
	Descending bool
}

// resultParams are the parameters that shape results rather than select resources,
// and the HTTP-level ones that fhirapi handles.
var resultParams = map[string]bool{
	"_count": true, "_page": true, "_total": true, "_sort": true, "_summary": true, "_elements": true,
	"_include": true, "_revinclude": true, "_format": true, "_pretty": true, "_contained": true, "_containedType": true,
}

// Parse reads a query string's values for resource type typ (empty for a system-level
// search). It checks only the syntax of result parameters, and that names and
// values are UTF-8 text without control characters; whether a parameter name
// exists is the registry's question.
func Parse(typ string, values url.Values) (*Query, error) {
	if err := checkText(values); err != nil {
		return nil, err
	}
	q := &Query{Type: typ}
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, key := range names {
		vals := values[key]
		switch key {
		case "_count":
			n, err := strconv.Atoi(vals[len(vals)-1])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("_count must be a non-negative integer, got %q", vals[len(vals)-1])
			}
			q.Count = min(n, MaxCount)
			q.CountZero = n == 0
		case "_page":
			q.Cursor = vals[len(vals)-1]
		case "_total":
			t := vals[len(vals)-1]
			if t != "none" && t != "estimate" && t != "accurate" {
				return nil, fmt.Errorf("_total must be none, estimate or accurate, got %q", t)
			}
			q.Total = t
		case "_sort":
			for _, v := range vals {
				for _, k := range strings.Split(v, ",") {
					if k == "" {
						continue
					}
					desc := strings.HasPrefix(k, "-")
					q.Sort = append(q.Sort, SortKey{Name: strings.TrimPrefix(k, "-"), Descending: desc})
				}
			}
		case "_summary":
			s := vals[len(vals)-1]
			switch s {
			case "true", "false", "count", "data", "text":
				q.Summary = s
			default:
				return nil, fmt.Errorf("_summary must be true, false, count, data or text, got %q", s)
			}
		case "_elements":
			for _, v := range vals {
				for _, e := range strings.Split(v, ",") {
					if e = strings.TrimSpace(e); e != "" {
						q.Elements = append(q.Elements, e)
					}
				}
			}
		case "_include", "_include:recurse":
			q.Include = append(q.Include, vals...)
		case "_include:iterate":
			q.IncludeIterate = append(q.IncludeIterate, vals...)
		case "_revinclude", "_revinclude:recurse":
			q.RevInclude = append(q.RevInclude, vals...)
		case "_revinclude:iterate":
			q.RevIncludeIterate = append(q.RevIncludeIterate, vals...)
		default:
			if resultParams[key] {
				continue
			}
			name, modifier, _ := strings.Cut(key, ":")
			if resultParams[name] {
				// A result parameter with a modifier it does not have ("_include:",
				// "_count:x") is no search parameter either: searching for it
				// would be a guess.
				return nil, fmt.Errorf("parameter %q: %s takes no modifier %q", shorten(key), name, modifier)
			}
			for _, v := range vals {
				// What no resource can hold cannot match, and PostgreSQL
				// refuses it outright, so it is refused here for both engines.
				if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
					return nil, fmt.Errorf("a value of parameter %q is not text: it is not UTF-8 or holds a NUL", shorten(key))
				}
				q.Params = append(q.Params, Param{Name: name, Modifier: modifier, Values: SplitValues(v)})
			}
		}
	}
	return q, nil
}

// ParseString parses a query string such as "identifier=http://x|1&_count=1".
func ParseString(typ, query string) (*Query, error) {
	values, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("malformed query string: %v", err)
	}
	return Parse(typ, values)
}

// SplitValues splits a parameter value on unescaped commas and removes the escapes
// of "\,", "\|", "\$" and "\\" as the spec defines them.
func SplitValues(v string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) {
			cur.WriteByte(c)
			cur.WriteByte(v[i+1])
			i++
			continue
		}
		if c == ',' {
			out = append(out, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(c)
	}
	return append(out, cur.String())
}

// SplitToken splits a token value "system|code" at its first unescaped "|". hasSystem
// tells "|code" (explicitly no system) and "code" (any system) apart.
func SplitToken(v string) (system, code string, hasSystem bool) {
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' {
			i++
			continue
		}
		if v[i] == '|' {
			return Unescape(v[:i]), Unescape(v[i+1:]), true
		}
	}
	return "", Unescape(v), false
}

// Unescape removes search escapes ("\,", "\|", "\$", "\\").
func Unescape(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// Encode renders the selecting parameters back into a query string, in a stable order,
// for self links.
func (q *Query) Encode() url.Values {
	out := url.Values{}
	for _, p := range q.Params {
		key := p.Name
		if p.Modifier != "" {
			key += ":" + p.Modifier
		}
		out.Add(key, strings.Join(p.Values, ","))
	}
	if q.Count > 0 || q.CountZero {
		out.Set("_count", strconv.Itoa(q.Count))
	}
	if q.Total != "" {
		out.Set("_total", q.Total)
	}
	if len(q.Sort) > 0 {
		keys := make([]string, len(q.Sort))
		for i, k := range q.Sort {
			keys[i] = k.Name
			if k.Descending {
				keys[i] = "-" + k.Name
			}
		}
		out.Set("_sort", strings.Join(keys, ","))
	}
	if q.Summary != "" {
		out.Set("_summary", q.Summary)
	}
	if len(q.Elements) > 0 {
		out.Set("_elements", strings.Join(q.Elements, ","))
	}
	for _, v := range q.Include {
		out.Add("_include", v)
	}
	for _, v := range q.RevInclude {
		out.Add("_revinclude", v)
	}
	for _, v := range q.IncludeIterate {
		out.Add("_include:iterate", v)
	}
	for _, v := range q.RevIncludeIterate {
		out.Add("_revinclude:iterate", v)
	}
	return out
}

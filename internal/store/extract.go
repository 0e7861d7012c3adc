package store

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
	"omnichart/internal/fhirpath"
)

// Index rows, one type per index table. Grp ties the component rows of one value of
// a composite parameter together; it is 0 for ordinary parameters.
type (
	stringRow struct {
		param       string
		grp         int
		norm, exact string
	}
	tokenRow struct {
		param              string
		grp                int
		system, code, text string
	}
	dateRow struct {
		param     string
		grp       int
		low, high int64
	}
	numberRow struct {
		param string
		grp   int
		value float64
	}
	quantityRow struct {
		param              string
		grp                int
		value              float64
		system, code, unit string
		canonValue         float64
		canonCode          string
		hasCanon           bool
	}
	referenceRow struct {
		param                   string
		grp                     int
		refType, refID, version string
		url                     string
		idSystem, idValue       string
	}
	uriRow struct {
		param string
		grp   int
		value string
	}
)

// indexRows are all index rows of one resource.
type indexRows struct {
	strings    []stringRow
	tokens     []tokenRow
	dates      []dateRow
	numbers    []numberRow
	quantities []quantityRow
	references []referenceRow
	uris       []uriRow
	nextGrp    int
}

// extractor turns resources into index rows with the compiled FHIRPath of every
// search parameter of their type.
type extractor struct {
	registry *search.Registry
	mu       sync.Mutex
	compiled map[string]*fhirpath.Expression // by expression text
	broken   map[string]error
}

func newExtractor(r *search.Registry) *extractor {
	return &extractor{registry: r, compiled: map[string]*fhirpath.Expression{}, broken: map[string]error{}}
}

func (x *extractor) compile(expr string) (*fhirpath.Expression, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if e, ok := x.compiled[expr]; ok {
		return e, nil
	}
	if err, ok := x.broken[expr]; ok {
		return nil, err
	}
	e, err := fhirpath.Compile(expr)
	if err != nil {
		x.broken[expr] = err
		return nil, err
	}
	x.compiled[expr] = e
	return e, nil
}

// extract computes the index rows of res. _id and _lastUpdated live in columns of
// resources and are not extracted. A parameter whose expression fails to evaluate
// on this resource is skipped: one odd value must not make a resource unstorable.
func (x *extractor) extract(typ string, res map[string]any) *indexRows {
	rows := &indexRows{}
	for _, d := range x.registry.ForType(typ) {
		if d.Expression == "" || d.Code == "_id" || d.Code == "_lastUpdated" {
			continue
		}
		e, err := x.compile(d.Expression)
		if err != nil {
			continue
		}
		nodes, err := e.Evaluate(res, fhirpath.WithResource(res))
		if err != nil {
			continue
		}
		if d.Type == "composite" {
			x.composite(rows, d, nodes, res)
			continue
		}
		for _, n := range nodes {
			rows.add(d.Code, 0, d.Type, n)
		}
	}
	return rows
}

// composite indexes each value of a composite parameter as one group of component
// rows. A group is kept only when every component has a value: a search names a
// value for every component, so an incomplete group can never match, and
// Observation's code-value-* composites would otherwise copy every Observation's
// code rows four times over. Component token rows keep no display text, which
// only :text reads and a composite search cannot ask for.
func (x *extractor) composite(rows *indexRows, d *search.Definition, nodes fhirpath.Collection, res map[string]any) {
	for _, n := range nodes {
		before := rows.mark()
		rows.nextGrp++
		grp := rows.nextGrp
		complete := true
		for i, c := range d.Components {
			e, err := x.compile(c.Expression)
			if err != nil || c.Type == "" {
				continue
			}
			vals, err := e.Evaluate(n, fhirpath.WithResource(res))
			if err != nil {
				continue
			}
			start := rows.mark()
			for _, v := range vals {
				rows.add(CompositeParam(d.Code, i), grp, c.Type, v)
			}
			if rows.mark() == start {
				complete = false
				break
			}
		}
		if !complete {
			rows.truncate(before)
			continue
		}
		for k := before.tokens; k < len(rows.tokens); k++ {
			rows.tokens[k].text = ""
		}
	}
}

// rowMark is the number of rows of each index table at one moment of an
// extraction, for taking back the rows added since.
type rowMark struct {
	strings, tokens, dates, numbers, quantities, references, uris, grp int
}

func (r *indexRows) mark() rowMark {
	return rowMark{len(r.strings), len(r.tokens), len(r.dates), len(r.numbers), len(r.quantities), len(r.references), len(r.uris), r.nextGrp}
}

func (r *indexRows) truncate(m rowMark) {
	r.strings, r.tokens, r.dates, r.numbers = r.strings[:m.strings], r.tokens[:m.tokens], r.dates[:m.dates], r.numbers[:m.numbers]
	r.quantities, r.references, r.uris = r.quantities[:m.quantities], r.references[:m.references], r.uris[:m.uris]
	r.nextGrp = m.grp
}

// CompositeParam is the index parameter name of component i of composite code.
func CompositeParam(code string, i int) string { return code + "$" + strconv.Itoa(i) }

// add turns one FHIRPath result into rows of the parameter's type.
func (r *indexRows) add(param string, grp int, typ string, n fhirpath.Node) {
	switch typ {
	case "string":
		for _, s := range stringsOf(n) {
			r.strings = append(r.strings, stringRow{param: param, grp: grp, norm: NormalizeString(s), exact: s})
		}
	case "token":
		r.addToken(param, grp, n)
	case "date":
		if low, high, ok := dateRangeOf(n); ok {
			r.dates = append(r.dates, dateRow{param: param, grp: grp, low: low, high: high})
		}
	case "number":
		if f, ok := numberOf(n.Value); ok {
			r.numbers = append(r.numbers, numberRow{param: param, grp: grp, value: f})
		}
	case "quantity":
		r.addQuantity(param, grp, n)
	case "reference":
		r.addReference(param, grp, n)
	case "uri":
		if s, ok := n.Value.(string); ok && s != "" {
			r.uris = append(r.uris, uriRow{param: param, grp: grp, value: s})
		}
	}
}

func stringsOf(n fhirpath.Node) []string {
	switch v := n.Value.(type) {
	case string:
		return []string{v}
	case map[string]any:
		var out []string
		var keys []string
		switch n.Type {
		case "HumanName":
			keys = []string{"text", "family", "given", "prefix", "suffix"}
		case "Address":
			keys = []string{"text", "line", "city", "district", "state", "postalCode", "country"}
		default:
			collectStrings(v, &out)
			return out
		}
		for _, k := range keys {
			switch x := v[k].(type) {
			case string:
				out = append(out, x)
			case []any:
				for _, e := range x {
					if s, ok := e.(string); ok {
						out = append(out, s)
					}
				}
			}
		}
		return out
	}
	return nil
}

func collectStrings(v any, out *[]string) {
	switch x := v.(type) {
	case string:
		*out = append(*out, x)
	case []any:
		for _, e := range x {
			collectStrings(e, out)
		}
	case map[string]any:
		for k, e := range x {
			if k != "extension" && k != "id" && k != "url" && k != "system" {
				collectStrings(e, out)
			}
		}
	}
}

func (r *indexRows) addToken(param string, grp int, n fhirpath.Node) {
	switch v := n.Value.(type) {
	case string:
		r.tokens = append(r.tokens, tokenRow{param: param, grp: grp, code: v})
	case bool:
		r.tokens = append(r.tokens, tokenRow{param: param, grp: grp, code: strconv.FormatBool(v)})
	case map[string]any:
		switch n.Type {
		case "Coding":
			r.addCoding(param, grp, v)
		case "CodeableConcept":
			for _, c := range fhir.Array(v, "coding") {
				if cm, ok := c.(map[string]any); ok {
					r.addCoding(param, grp, cm)
				}
			}
			if t := fhir.String(v, "text"); t != "" {
				r.tokens = append(r.tokens, tokenRow{param: param, grp: grp, text: NormalizeString(t)})
			}
		case "Identifier":
			value := fhir.String(v, "value")
			typeText := ""
			if ty := fhir.Object(v, "type"); ty != nil {
				typeText = fhir.String(ty, "text")
				for _, c := range fhir.Array(ty, "coding") {
					cm, _ := c.(map[string]any)
					if tc := fhir.String(cm, "code"); tc != "" && value != "" {
						r.tokens = append(r.tokens, tokenRow{param: param + ":of-type", grp: grp,
							system: fhir.String(cm, "system") + "|" + tc, code: value})
					}
					if typeText == "" {
						typeText = fhir.String(cm, "display")
					}
				}
			}
			if value != "" || fhir.String(v, "system") != "" {
				r.tokens = append(r.tokens, tokenRow{param: param, grp: grp, system: fhir.String(v, "system"), code: value, text: NormalizeString(typeText)})
			}
		case "ContactPoint":
			if value := fhir.String(v, "value"); value != "" {
				r.tokens = append(r.tokens, tokenRow{param: param, grp: grp, system: fhir.String(v, "system"), code: value})
			}
		case "Quantity", "Age", "Duration", "Distance", "Count", "SimpleQuantity":
			if code := fhir.String(v, "code"); code != "" {
				r.tokens = append(r.tokens, tokenRow{param: param, grp: grp, system: fhir.String(v, "system"), code: code})
			}
		}
	default:
		if s, ok := n.System(); ok {
			r.tokens = append(r.tokens, tokenRow{param: param, grp: grp, code: fmt.Sprint(s)})
		}
	}
}

func (r *indexRows) addCoding(param string, grp int, c map[string]any) {
	code, system := fhir.String(c, "code"), fhir.String(c, "system")
	if code == "" && system == "" {
		if d := fhir.String(c, "display"); d != "" {
			r.tokens = append(r.tokens, tokenRow{param: param, grp: grp, text: NormalizeString(d)})
		}
		return
	}
	r.tokens = append(r.tokens, tokenRow{param: param, grp: grp, system: system, code: code, text: NormalizeString(fhir.String(c, "display"))})
}

// relativeURL is what an index_reference row keeps in url for a reference that
// parsed as typ/id(/_history/ver): nothing when the reference is exactly that
// relative form, which the row's other columns spell out (and referenceText
// spells again for sorting), and the reference itself otherwise (an absolute URL
// keeps its base). Most references are relative, and keeping them twice cost a
// sixth of the reference index's bytes.
func relativeURL(ref, typ, id, ver string) string {
	rel := typ + "/" + id
	if ver != "" {
		rel += "/_history/" + ver
	}
	if ref == rel {
		return ""
	}
	return ref
}

func dateRangeOf(n fhirpath.Node) (low, high int64, ok bool) {
	switch v := n.Value.(type) {
	case string:
		l, h, err := DateRange(v)
		return l, h, err == nil
	case map[string]any:
		switch n.Type {
		case "Period":
			low, high = MinRange, MaxRange
			if s := fhir.String(v, "start"); s != "" {
				l, _, err := DateRange(s)
				if err != nil {
					return 0, 0, false
				}
				low = l
			}
			if s := fhir.String(v, "end"); s != "" {
				_, h, err := DateRange(s)
				if err != nil {
					return 0, 0, false
				}
				high = h
			}
			return low, high, low != MinRange || high != MaxRange
		case "Timing":
			low, high = MaxRange, MinRange
			for _, e := range fhir.Array(v, "event") {
				if s, isStr := e.(string); isStr {
					if l, h, err := DateRange(s); err == nil {
						low, high = min(low, l), max(high, h)
					}
				}
			}
			if rep := fhir.Object(v, "repeat"); rep != nil {
				if bp := fhir.Object(rep, "boundsPeriod"); bp != nil {
					if l, h, ok := dateRangeOf(fhirpath.NewTypedNode(bp, "Period")); ok {
						low, high = min(low, l), max(high, h)
					}
				}
			}
			return low, high, low <= high
		}
	default:
		if t, isT := n.Value.(fhirpath.Temporal); isT {
			l, h, err := DateRange(t.String())
			return l, h, err == nil
		}
	}
	return 0, 0, false
}

func numberOf(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case int64:
		return float64(x), true
	case fhirpath.Decimal:
		f, err := strconv.ParseFloat(x.String(), 64)
		return f, err == nil
	}
	return 0, false
}

func (r *indexRows) addQuantity(param string, grp int, n fhirpath.Node) {
	v, ok := n.Value.(map[string]any)
	if !ok {
		if q, isQ := n.Value.(fhirpath.Quantity); isQ {
			f, _ := numberOf(q.Value)
			row := quantityRow{param: param, grp: grp, value: f, system: UCUMSystem, code: q.Unit, unit: q.Unit}
			row.canonValue, row.canonCode, row.hasCanon = Canonicalize(f, q.Unit)
			r.quantities = append(r.quantities, row)
		}
		return
	}
	if n.Type == "Money" {
		f, ok := numberOf(v["value"])
		if ok {
			cur := fhir.String(v, "currency")
			r.quantities = append(r.quantities, quantityRow{param: param, grp: grp, value: f, system: "urn:iso:std:iso:4217", code: cur, unit: cur})
		}
		return
	}
	f, ok := numberOf(v["value"])
	if !ok {
		return
	}
	row := quantityRow{param: param, grp: grp, value: f, system: fhir.String(v, "system"), code: fhir.String(v, "code"), unit: fhir.String(v, "unit")}
	if row.system == UCUMSystem || row.system == "" {
		row.canonValue, row.canonCode, row.hasCanon = Canonicalize(f, row.code)
	}
	r.quantities = append(r.quantities, row)
}

func (r *indexRows) addReference(param string, grp int, n fhirpath.Node) {
	switch v := n.Value.(type) {
	case string: // canonical or uri used as a reference
		url, _, _ := strings.Cut(v, "|")
		row := referenceRow{param: param, grp: grp, url: url}
		if typ, id, ver, ok := fhir.ParseReference(url); ok {
			row.refType, row.refID, row.version = typ, id, ver
			row.url = relativeURL(url, typ, id, ver)
		}
		r.references = append(r.references, row)
	case map[string]any:
		if n.Type != "Reference" {
			return
		}
		ref := fhir.String(v, "reference")
		row := referenceRow{param: param, grp: grp, url: ref}
		if typ, id, ver, ok := fhir.ParseReference(ref); ok {
			row.refType, row.refID, row.version = typ, id, ver
			row.url = relativeURL(ref, typ, id, ver)
		}
		if ident := fhir.Object(v, "identifier"); ident != nil {
			row.idSystem, row.idValue = fhir.String(ident, "system"), fhir.String(ident, "value")
		}
		if ref == "" && row.idValue == "" {
			return
		}
		r.references = append(r.references, row)
	}
}

package web

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/integrate"
)

// labRow is one result of the labs table.
type labRow struct {
	factView
	Value string
	// Unit is the unit as sent; UnitMissing marks a numeric value sent without
	// one, which is shown as "no unit sent".
	Unit        string
	UnitMissing bool
	Range       string
	Flag        flagView
	// TrendURL opens the trend plot of the result's code (numeric results).
	TrendURL string
}

type panelView struct {
	Name string
	Rows []labRow
}

// LOINC codes of the vital signs plotted on the chart.
const (
	loincWeight = "29463-7"
	loincBMI    = "39156-5"
	loincBP     = "85354-9"
)

var vitalCodes = []struct{ code, title string }{
	{loincWeight, "Body weight"}, {loincBMI, "Body mass index"}, {loincBP, "Blood pressure"},
}

// category reads an Observation's category codes.
func isCategory(o map[string]any, code string) bool {
	for _, c := range fhir.Array(o, "category") {
		if m, ok := c.(map[string]any); ok && hasCode(m, code) {
			return true
		}
	}
	return false
}

// codeKey is the "system|code" a trend is asked for by: the Observation's first
// coding.
func codeKey(o map[string]any) string {
	if c := codings(fhir.Object(o, "code")); len(c) > 0 {
		return c[0]
	}
	return ""
}

// labPanels groups the laboratory results: by the DiagnosticReport that lists
// them, else under their category.
func (cc *chartContext) labPanels(obs []*integrate.Fact, reports map[string]string) []panelView {
	var panels []panelView
	index := map[string]int{}
	for _, f := range obs {
		o := f.Record.Resource
		panel := ""
		for _, rr := range append([]integrate.Record{f.Record}, f.Also...) {
			if p := reports[rr.Ref]; p != "" {
				panel = p
				break
			}
		}
		if panel == "" {
			if isCategory(o, "vital-signs") || isCategory(o, "social-history") || isCategory(o, "survey") {
				continue
			}
			panel = "Other results"
			if isCategory(o, "laboratory") {
				panel = "Laboratory results (no panel sent)"
			}
		}
		row := labRow{factView: cc.fact(f, conceptText(fhir.Object(o, "code")), firstDate(o, "effectiveDateTime", "effectivePeriod", "issued"))}
		row.Status = fhir.String(o, "status")
		row.Value, row.Unit, row.UnitMissing = observationValue(o)
		row.Range = refRange(o)
		row.Flag = interpretation(o)
		if q := fhir.Object(o, "valueQuantity"); q != nil {
			if _, _, ok := quantityValue(q); ok {
				if key := codeKey(o); key != "" {
					row.TrendURL = "/patients/" + cc.patient + "/trend?code=" + url.QueryEscape(key)
				}
			}
		}
		i, ok := index[panel]
		if !ok {
			i = len(panels)
			index[panel] = i
			panels = append(panels, panelView{Name: panel})
		}
		panels[i].Rows = append(panels[i].Rows, row)
	}
	for _, p := range panels {
		sort.SliceStable(p.Rows, func(i, j int) bool { return p.Rows[i].Date.Time().After(p.Rows[j].Date.Time()) })
	}
	return panels
}

// observationValue formats an Observation's value and unit.
func observationValue(o map[string]any) (value, unit string, unitMissing bool) {
	if q := fhir.Object(o, "valueQuantity"); q != nil {
		v, _, _ := quantityValue(q)
		unit = unitOf(q)
		return v, unit, unit == ""
	}
	if s := fhir.String(o, "valueString"); s != "" {
		return s, "", false
	}
	if cc := fhir.Object(o, "valueCodeableConcept"); cc != nil {
		return conceptText(cc), "", false
	}
	var parts []string
	for _, c := range fhir.Array(o, "component") {
		m, _ := c.(map[string]any)
		q := fhir.Object(m, "valueQuantity")
		if q == nil {
			continue
		}
		v, _, _ := quantityValue(q)
		u := unitOf(q)
		if u == "" {
			u, unitMissing = "no unit sent", true
		}
		parts = append(parts, conceptText(fhir.Object(m, "code"))+" "+v+" "+u)
	}
	if len(parts) > 0 {
		return strings.Join(parts, "; "), "", unitMissing
	}
	if da := fhir.Object(o, "dataAbsentReason"); da != nil {
		return "not sent: " + conceptText(da), "", false
	}
	return "", "", false
}

// point is one source record's value in a trend.
type point struct {
	Date   dateView
	Value  float64
	Text   string
	Unit   string
	Source sourceView
	Ref    string
	// Also are the other sources of the same fact.
	Also []sourceView
}

// series is one line of a plot: the values of one code (or one component).
type series struct {
	Name   string
	Points []point
}

// trend collects, for code ("system|code" or a bare code), every source record
// whose code or component has it: one point per source record, so that each
// point shows the source that sent it.
func (cc *chartContext) trend(code string) []series {
	system, c, hasSystem := strings.Cut(code, "|")
	if !hasSystem {
		c, system = code, ""
	}
	matches := func(cc map[string]any) bool {
		for _, k := range codings(cc) {
			s, kc, _ := strings.Cut(k, "|")
			if kc == c && (system == "" || s == system) {
				return true
			}
		}
		return false
	}
	var out []series
	add := func(name string, p point) {
		i := slices.IndexFunc(out, func(s series) bool { return s.Name == name })
		if i < 0 {
			i = len(out)
			out = append(out, series{Name: name})
		}
		out[i].Points = append(out[i].Points, p)
	}
	for i := range cc.rec.Facts {
		f := &cc.rec.Facts[i]
		if fhir.String(f.Record.Resource, "resourceType") != "Observation" {
			continue
		}
		members := append([]integrate.Record{f.Record}, f.Also...)
		for _, m := range members {
			o := m.Resource
			date := firstDate(o, "effectiveDateTime", "effectivePeriod", "issued")
			var also []sourceView
			for _, x := range members {
				if x.Ref != m.Ref {
					also = append(also, sourceOf(cc.names, x.Source))
				}
			}
			mk := func(q map[string]any) (point, bool) {
				text, v, ok := quantityValue(q)
				if !ok || date.Time().IsZero() {
					return point{}, false
				}
				return point{Date: date, Value: v, Text: text, Unit: unitOf(q), Source: sourceOf(cc.names, m.Source), Ref: m.Ref, Also: also}, true
			}
			if matches(fhir.Object(o, "code")) {
				if p, ok := mk(fhir.Object(o, "valueQuantity")); ok {
					add(conceptText(fhir.Object(o, "code")), p)
				}
				for _, comp := range fhir.Array(o, "component") {
					cm, _ := comp.(map[string]any)
					if p, ok := mk(fhir.Object(cm, "valueQuantity")); ok {
						add(conceptText(fhir.Object(cm, "code")), p)
					}
				}
				continue
			}
			for _, comp := range fhir.Array(o, "component") {
				cm, _ := comp.(map[string]any)
				if matches(fhir.Object(cm, "code")) {
					if p, ok := mk(fhir.Object(cm, "valueQuantity")); ok {
						add(conceptText(fhir.Object(cm, "code")), p)
					}
				}
			}
		}
	}
	for _, s := range out {
		sort.SliceStable(s.Points, func(i, j int) bool { return s.Points[i].Date.Time().Before(s.Points[j].Date.Time()) })
	}
	return out
}

// vitalPlots are the small plots of weight, BMI and blood pressure.
func (cc *chartContext) vitalPlots(obs []*integrate.Fact) []plotView {
	var out []plotView
	for _, v := range vitalCodes {
		s := cc.trend(v.code)
		if len(s) == 0 {
			continue
		}
		p := newPlot(v.title, s, cc.patient, v.code)
		p.TrendURL = "/patients/" + cc.patient + "/trend?code=" + url.QueryEscape(v.code)
		out = append(out, p)
	}
	return out
}

type trendData struct {
	ID, Name, Code string
	Plot           plotView
}

func (h *Handler) trendPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	code := strings.TrimSpace(r.URL.Query().Get("code"))
	if code == "" {
		h.fail(w, r, ehr.Errorf(ehr.Invalid, "say which result to plot (code=system|code)"))
		return
	}
	cc, patients, err := h.loadPerson(r, id, []string{"Patient", "Observation"})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := fhir.Decode(patients[0].Resource)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	s := cc.trend(code)
	title := code
	if len(s) > 0 {
		title = s[0].Name
		if len(s) > 1 {
			title = strings.Join(seriesNames(s), " and ")
		}
	}
	d := trendData{ID: id, Name: humanName(res), Code: code, Plot: newPlot(title, s, id, code)}
	d.Plot.Open = true
	h.render(w, r, http.StatusOK, "trend", title+": "+d.Name, viewerFrom(r.Context()), d)
}

func seriesNames(s []series) []string {
	out := make([]string, len(s))
	for i := range s {
		out[i] = s[i].Name
	}
	return out
}

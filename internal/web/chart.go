package web

import (
	"net/http"
	"slices"
	"sort"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/ingest"
	"omnichart/internal/integrate"
	"omnichart/internal/service"
	"omnichart/internal/smart"
)

// chartData is the chart of one person: the Patient asked for and the records
// of the same person at other sources that the caller may see.
type chartData struct {
	ID, CSRF       string
	Banner         bannerView
	Allergies      allergySection
	Problems       []factView
	Medications    []factView
	Immunizations  []factView
	Labs           []panelView
	Vitals         []plotView
	Encounters     []factView
	Referrals      []factView
	Notes          []factView
	Originals      []factView
	Conflicts      []conflictView
	Reconciliation *reconcileView
	ReconcileNote  string
	// Apps are the SMART apps the user can start for this patient.
	Apps []smart.App
}

type bannerView struct {
	Name, Age, Sex, BirthDate string
	Records                   []linkedView
}

// linkedView is one source record of the person.
type linkedView struct {
	ID          string
	Source      sourceView
	Identifiers []identifierView
}

// factView is one fact of the integrated record.
type factView struct {
	Ref, Text, Status, Detail string
	Date                      dateView
	// Sources are every source that states the fact, the shown record's first.
	Sources []sourceView
	// Conflict says what the sources disagree about, when they do.
	Conflict string
	// URL opens the fact's own page (notes and originals).
	URL string
}

type allergySection struct {
	Items []factView
	// NoKnown are the sources that assert "no known allergies".
	NoKnown []sourceView
}

// Recorded reports whether any source sent anything about allergies.
func (a allergySection) Recorded() bool { return len(a.Items) > 0 || len(a.NoKnown) > 0 }

type conflictView struct {
	Element string
	Sides   [2]string
}

// chartTypes are the resource types the chart shows. Asking for these alone,
// not the whole Patient compartment, spares the queries of every other type.
var chartTypes = []string{"Patient", "AllergyIntolerance", "Composition", "Condition", "DiagnosticReport", "DocumentReference",
	"Encounter", "Immunization", "MedicationRequest", "MedicationStatement", "Observation", "ServiceRequest"}

// chartContext is what building one chart needs.
type chartContext struct {
	rec     *service.Integrated
	names   map[string]sourceView
	facts   map[string]*integrate.Fact // by the reference of any of its records
	clash   map[string]string          // record reference -> conflict text
	patient string
}

func (h *Handler) chartPage(w http.ResponseWriter, r *http.Request) {
	d, err := h.buildChart(r, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d.CSRF = viewerFrom(r.Context()).CSRF
	h.render(w, r, http.StatusOK, "chart", "Chart: "+d.Banner.Name, viewerFrom(r.Context()), d)
}

// loadPerson reads the linked records of Patient/id and their integrated record.
func (h *Handler) loadPerson(r *http.Request, id string, types []string) (*chartContext, []*ehr.Record, error) {
	ctx := r.Context()
	if err := ehr.CheckID(id); err != nil {
		return nil, nil, err
	}
	patients, err := h.linkedRecords(r, id)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(patients))
	for i, p := range patients {
		ids[i] = p.ID
	}
	rec, err := h.cfg.Service.Integrated(ctx, service.EverythingQuery{Patients: ids, Types: types})
	if err != nil {
		return nil, nil, err
	}
	names, err := h.sourceNames(ctx)
	if err != nil {
		return nil, nil, err
	}
	cc := &chartContext{rec: rec, names: names, facts: map[string]*integrate.Fact{}, clash: map[string]string{}, patient: id}
	for i := range rec.Facts {
		f := &rec.Facts[i]
		cc.facts[f.Record.Ref] = f
		for _, o := range f.Also {
			cc.facts[o.Ref] = f
		}
	}
	for _, c := range rec.Conflicts {
		text := c.Element + ": " + sourceOf(names, c.Records[0].Source).Name + " says " + c.Values[0] + "; " +
			sourceOf(names, c.Records[1].Source).Name + " says " + c.Values[1]
		for _, rr := range c.Records {
			if cc.clash[rr.Ref] == "" {
				cc.clash[rr.Ref] = text
			} else if !strings.Contains(cc.clash[rr.Ref], text) {
				cc.clash[rr.Ref] += " — " + text
			}
		}
	}
	return cc, patients, nil
}

func (h *Handler) buildChart(r *http.Request, id string) (*chartData, error) {
	cc, patients, err := h.loadPerson(r, id, chartTypes)
	if err != nil {
		return nil, err
	}
	d := &chartData{ID: id}
	if d.Apps, err = h.launchApps(r); err != nil {
		return nil, err
	}
	for i, p := range patients {
		res, err := fhir.Decode(p.Resource)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			d.Banner.Name = humanName(res)
			d.Banner.Sex = fhir.String(res, "gender")
			d.Banner.BirthDate = parseDate(fhir.String(res, "birthDate")).Text
			d.Banner.Age = age(fhir.String(res, "birthDate"), h.cfg.Now())
		}
		d.Banner.Records = append(d.Banner.Records, linkedView{ID: p.ID, Source: sourceOf(cc.names, p.Source), Identifiers: identifiers(res)})
	}
	var observations []*integrate.Fact
	reports := map[string]string{} // Observation reference -> panel name
	for i := range cc.rec.Facts {
		f := &cc.rec.Facts[i]
		res := f.Record.Resource
		typ := fhir.String(res, "resourceType")
		switch typ {
		case "AllergyIntolerance":
			if noKnownAllergy(res) {
				for _, s := range cc.sources(f) {
					if !slices.Contains(d.Allergies.NoKnown, s) {
						d.Allergies.NoKnown = append(d.Allergies.NoKnown, s)
					}
				}
				continue
			}
			v := cc.fact(f, conceptText(fhir.Object(res, "code")), firstDate(res, "onsetDateTime", "recordedDate"))
			v.Status = conceptText(fhir.Object(res, "clinicalStatus"))
			var reactions []string
			for _, rx := range fhir.Array(res, "reaction") {
				m, _ := rx.(map[string]any)
				for _, mf := range fhir.Array(m, "manifestation") {
					mm, _ := mf.(map[string]any)
					reactions = append(reactions, conceptText(mm))
				}
				if s := fhir.String(m, "severity"); s != "" {
					reactions = append(reactions, s)
				}
			}
			v.Detail = strings.Join(reactions, ", ")
			d.Allergies.Items = append(d.Allergies.Items, v)
		case "Condition":
			status := conceptText(fhir.Object(res, "clinicalStatus"))
			if status != "" && !hasCode(fhir.Object(res, "clinicalStatus"), "active", "recurrence", "relapse") {
				continue
			}
			v := cc.fact(f, conceptText(fhir.Object(res, "code")), firstDate(res, "onsetDateTime", "onsetPeriod", "recordedDate"))
			v.Status = status
			d.Problems = append(d.Problems, v)
		case "MedicationRequest", "MedicationStatement":
			med := conceptText(fhir.Object(res, "medicationCodeableConcept"))
			if med == "" {
				med = fhir.String(fhir.Object(res, "medicationReference"), "display")
			}
			v := cc.fact(f, med, firstDate(res, "authoredOn", "effectiveDateTime", "effectivePeriod", "dateAsserted"))
			v.Status = fhir.String(res, "status")
			var dose []string
			for _, di := range fhir.Array(res, "dosageInstruction") {
				m, _ := di.(map[string]any)
				dose = append(dose, fhir.String(m, "text"))
			}
			for _, di := range fhir.Array(res, "dosage") {
				m, _ := di.(map[string]any)
				dose = append(dose, fhir.String(m, "text"))
			}
			v.Detail = strings.Join(slices.DeleteFunc(dose, func(s string) bool { return s == "" }), "; ")
			d.Medications = append(d.Medications, v)
		case "Immunization":
			v := cc.fact(f, conceptText(fhir.Object(res, "vaccineCode")), firstDate(res, "occurrenceDateTime", "recorded"))
			v.Status = fhir.String(res, "status")
			d.Immunizations = append(d.Immunizations, v)
		case "Encounter":
			what := conceptText(firstObject(res, "type"))
			if what == "" {
				what = fhir.String(fhir.Object(res, "class"), "display")
			}
			if what == "" {
				what = fhir.String(fhir.Object(res, "class"), "code")
			}
			v := cc.fact(f, what, firstDate(res, "period"))
			v.Status = fhir.String(res, "status")
			v.Detail = conceptText(firstObject(res, "reasonCode"))
			d.Encounters = append(d.Encounters, v)
		case "ServiceRequest":
			v := cc.fact(f, conceptText(fhir.Object(res, "code")), firstDate(res, "authoredOn", "occurrenceDateTime"))
			v.Status = fhir.String(res, "status")
			parts := []string{fhir.String(res, "intent")}
			if p := fhir.String(fhir.Object(res, "requester"), "display"); p != "" {
				parts = append(parts, "by "+p)
			}
			for _, p := range fhir.Array(res, "performer") {
				m, _ := p.(map[string]any)
				if s := fhir.String(m, "display"); s != "" {
					parts = append(parts, "to "+s)
				}
			}
			v.Detail = strings.Join(parts, " ")
			d.Referrals = append(d.Referrals, v)
		case "DocumentReference", "Composition":
			title := fhir.String(res, "title")
			if title == "" {
				title = fhir.String(res, "description")
			}
			if title == "" {
				title = conceptText(fhir.Object(res, "type"))
			}
			v := cc.fact(f, title, firstDate(res, "date"))
			v.Status = fhir.String(res, "status")
			v.Detail = conceptText(fhir.Object(res, "type"))
			v.URL = "/patients/" + id + "/notes/" + typ + "/" + refID(f.Record.Ref)
			if isOriginal(res) {
				d.Originals = append(d.Originals, v)
			} else {
				d.Notes = append(d.Notes, v)
			}
		case "DiagnosticReport":
			name := conceptText(fhir.Object(res, "code"))
			for _, rr := range fhir.Array(res, "result") {
				m, _ := rr.(map[string]any)
				if ref := fhir.String(m, "reference"); ref != "" && name != "" {
					reports[ref] = name
				}
			}
		case "Observation":
			observations = append(observations, f)
		}
	}
	d.Labs = cc.labPanels(observations, reports)
	d.Vitals = cc.vitalPlots(observations)
	for _, c := range cc.rec.Conflicts {
		d.Conflicts = append(d.Conflicts, conflictView{Element: c.Element,
			Sides: [2]string{sourceOf(cc.names, c.Records[0].Source).Name + ": " + c.Values[0], sourceOf(cc.names, c.Records[1].Source).Name + ": " + c.Values[1]}})
	}
	byDateDesc := func(s []factView) {
		sort.SliceStable(s, func(i, j int) bool { return s[i].Date.Time().After(s[j].Date.Time()) })
	}
	for _, s := range [][]factView{d.Encounters, d.Referrals, d.Notes, d.Originals, d.Immunizations} {
		byDateDesc(s)
	}
	if err := h.reconciliation(r, patients, d); err != nil {
		return nil, err
	}
	return d, nil
}

// fact makes the view of fact f.
func (cc *chartContext) fact(f *integrate.Fact, text string, date dateView) factView {
	if text == "" {
		text = "(not named by the source)"
	}
	v := factView{Ref: f.Record.Ref, Text: text, Date: date, Sources: cc.sources(f)}
	var clashes []string
	for _, rr := range append([]integrate.Record{f.Record}, f.Also...) {
		if c := cc.clash[rr.Ref]; c != "" && !slices.Contains(clashes, c) {
			clashes = append(clashes, c)
		}
	}
	v.Conflict = strings.Join(clashes, " — ")
	return v
}

// sources lists every source of a fact, each once, the shown record's first.
func (cc *chartContext) sources(f *integrate.Fact) []sourceView {
	out := []sourceView{sourceOf(cc.names, f.Record.Source)}
	for _, o := range f.Also {
		s := sourceOf(cc.names, o.Source)
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// noKnownAllergy reports whether an AllergyIntolerance asserts that the patient
// has no known allergies (SNOMED CT 716186003 and its kin), as opposed to
// naming an allergy.
func noKnownAllergy(res map[string]any) bool {
	code := fhir.Object(res, "code")
	if hasCode(code, "716186003", "409137002", "428607008", "429625007", "428197003") {
		return true
	}
	t := strings.ToLower(conceptText(code))
	return t == "no known allergies" || t == "nka" || t == "nkda" || t == "no known drug allergies"
}

// isOriginal reports whether a DocumentReference is the record of an original
// document or message as a source sent it (ingest keeps one per import).
func isOriginal(res map[string]any) bool {
	for _, v := range fhir.Array(res, "identifier") {
		if m, ok := v.(map[string]any); ok && fhir.String(m, "system") == ingest.HashSystem {
			return true
		}
	}
	return false
}

func firstObject(res map[string]any, key string) map[string]any {
	if a := fhir.Array(res, key); len(a) > 0 {
		m, _ := a[0].(map[string]any)
		return m
	}
	return nil
}

func refID(ref string) string { return ref[strings.IndexByte(ref, '/')+1:] }

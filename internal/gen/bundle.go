package gen

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"omnichart/internal/fhir"
)

// Code systems of FHIR sources.
const (
	v2IDType      = "http://terminology.hl7.org/CodeSystem/v2-0203"
	actCode       = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	obsCategory   = "http://terminology.hl7.org/CodeSystem/observation-category"
	condClinical  = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	condVerify    = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
	condCategory  = "http://terminology.hl7.org/CodeSystem/condition-category"
	allergyClin   = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
	allergyVerify = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
	interpSystem  = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
	immOrigin     = "http://terminology.hl7.org/CodeSystem/immunization-origin"
	routeSystem   = "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration"
	diagService   = "http://terminology.hl7.org/CodeSystem/v2-0074"
)

// bundle is a FHIR transaction Bundle being built.
type bundle struct {
	w       *writer
	entries []any
	pracs   map[string]string // NPI -> fullUrl
	patient string
}

func coding(system, code, display string) map[string]any {
	c := map[string]any{"system": system, "code": code}
	fhir.SetIf(c, "display", display)
	return c
}

func concept(system, code, display string) map[string]any {
	c := map[string]any{"coding": []any{coding(system, code, display)}}
	fhir.SetIf(c, "text", display)
	return c
}

func ref(url string) map[string]any { return map[string]any{"reference": url} }

func dateTime(t time.Time) string { return t.In(zone).Format("2006-01-02T15:04:05-07:00") }

func num(v float64, decimals int) json.Number {
	return json.Number(strconv.FormatFloat(v, 'f', decimals, 64))
}

func quantity(v float64, decimals int, unit string) map[string]any {
	return map[string]any{"value": num(v, decimals), "unit": unit, "system": UCUM, "code": unit}
}

// add appends a plain create and returns its fullUrl.
func (b *bundle) add(res map[string]any) string {
	url := "urn:uuid:" + b.w.uuid()
	b.entries = append(b.entries, map[string]any{
		"fullUrl": url, "resource": res,
		"request": map[string]any{"method": "POST", "url": res["resourceType"]},
	})
	return url
}

// addConditional appends a create that leaves an existing resource with the same
// identifier alone, so that a patient or clinician sent again is created once.
func (b *bundle) addConditional(res map[string]any, system, value string) string {
	url := b.add(res)
	b.entries[len(b.entries)-1].(map[string]any)["request"].(map[string]any)["ifNoneExist"] = fhir.IdentifierQuery(system, value)
	return url
}

func (b *bundle) practitioner(p practitioner) string {
	if u, ok := b.pracs[p.npi]; ok {
		return u
	}
	u := b.addConditional(map[string]any{
		"resourceType": "Practitioner",
		"identifier":   []any{map[string]any{"system": NPI, "value": p.npi}},
		"name":         []any{map[string]any{"family": p.family, "given": []any{p.given}, "suffix": []any{"MD"}}},
	}, NPI, p.npi)
	b.pracs[p.npi] = u
	return u
}

// identifier is the business identifier of a record at the source, which the
// truth file refers to.
func (b *bundle) identifier(f *fact, v *view) []any {
	return []any{map[string]any{"system": b.w.src.RecordSystem, "value": b.w.recordID(f, v)}}
}

// fhirFile writes what a FHIR source sends about one person: one transaction
// Bundle with the Patient and every record the source holds of them.
func (w *writer) fhirFile(h *history, d *demographics) ([]byte, error) {
	b := &bundle{w: w, pracs: map[string]string{}}
	b.patient = b.addConditional(w.patient(d, h), w.src.MRNSystem, d.mrn)
	encs := map[*encounter]string{}
	for _, e := range h.encs[w.si] {
		encs[e] = b.encounter(e)
	}
	encRef := func(v *view) map[string]any {
		if v.enc == nil {
			return nil
		}
		return ref(encs[v.enc])
	}
	for _, f := range h.facts {
		v := w.viewOf(f)
		if v == nil || f.kind == FactLabResult {
			continue
		}
		switch f.kind {
		case FactCondition:
			b.condition(d, f, v, encRef(v))
		case FactAllergy:
			b.allergy(d, f, v)
		case FactMedication:
			if w.src.Kind == KindPharmacy {
				b.medicationStatement(d, f, v)
			} else {
				b.medicationRequest(d, f, v, encRef(v))
			}
		case FactImmunization:
			b.immunization(d, h, f, v, encRef(v))
		}
	}
	for _, pn := range h.panels {
		for i, pv := range pn.views {
			if pv.src == w.si {
				var enc map[string]any
				if pv.enc != nil {
					enc = ref(encs[pv.enc])
				}
				b.report(d, pn, i, enc)
			}
		}
	}
	for _, e := range h.encs[w.si] {
		b.vitalSigns(e, encs[e])
		if e.referral != nil {
			b.referral(e, encs[e])
		}
		if e.note {
			b.note(d, e, encs[e])
		}
	}
	out, err := fhir.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": b.entries})
	if err != nil {
		return nil, fmt.Errorf("encode bundle: %w", err)
	}
	return append(out, '\n'), nil
}

// patient is the Patient as the source records them.
func (w *writer) patient(d *demographics, h *history) map[string]any {
	ids := []any{map[string]any{
		"type":   map[string]any{"coding": []any{coding(v2IDType, "MR", "Medical record number")}},
		"system": w.src.MRNSystem, "value": d.mrn,
	}}
	if d.ssn != "" {
		ids = append(ids, map[string]any{
			"type":   map[string]any{"coding": []any{coding(v2IDType, "SS", "Social Security number")}},
			"system": SSNSystem, "value": d.ssn,
		})
	}
	given := []any{d.text(d.given)}
	if d.middle != "" {
		given = append(given, d.text(d.middle))
	}
	name := map[string]any{"use": "official", "family": d.text(d.family), "given": given}
	if d.suffix != "" {
		name["suffix"] = []any{d.suffix}
	}
	names := []any{name}
	if d.p.maiden != "" && d.family != d.p.maiden && w.r.IntN(3) == 0 {
		names = append(names, map[string]any{"use": "maiden", "family": d.text(d.p.maiden), "given": []any{d.text(d.given)}})
	}
	var telecom []any
	if d.home != "" {
		telecom = append(telecom, map[string]any{"system": "phone", "value": d.home, "use": "home"})
	}
	if d.mobile != "" {
		telecom = append(telecom, map[string]any{"system": "phone", "value": d.mobile, "use": "mobile"})
	}
	if d.email != "" && w.r.IntN(2) == 0 {
		telecom = append(telecom, map[string]any{"system": "email", "value": d.email})
	}
	addr := func(a address, use string) map[string]any {
		var lines []any
		for _, l := range a.lines(w.src.style) {
			lines = append(lines, d.text(l))
		}
		return map[string]any{"use": use, "type": "physical", "line": lines, "city": d.text(a.town.city),
			"state": state, "postalCode": a.zip(w.src.style), "country": "US"}
	}
	addresses := []any{addr(d.current(), "home")}
	if d.knewOld() {
		old := addr(*d.p.prev, "old")
		old["period"] = map[string]any{"end": d.p.movedAt.Format("2006-01-02")}
		addresses = append(addresses, old)
	}
	p := map[string]any{
		"resourceType": "Patient",
		"identifier":   ids,
		"active":       true,
		"name":         names,
		"gender":       d.p.sex,
		"birthDate":    d.birthDate(),
		"address":      addresses,
	}
	fhir.SetIf(p, "telecom", telecom)
	if d.multipleBirth > 0 {
		p["multipleBirthInteger"] = json.Number(strconv.Itoa(d.multipleBirth))
	}
	if w.src.Kind == KindClinic {
		if es := h.encs[w.si]; len(es) > 0 {
			// The clinician of the latest visit stands for the person's doctor.
			p["generalPractitioner"] = []any{map[string]any{"display": "Dr. " + es[len(es)-1].prac.family}}
		}
	}
	return p
}

func (b *bundle) encounter(e *encounter) string {
	if e.visit == "" {
		e.visit = "E" + b.w.next()
	}
	return b.add(map[string]any{
		"resourceType": "Encounter",
		"identifier":   []any{map[string]any{"system": b.w.src.VisitSystem, "value": e.visit}},
		"status":       "finished",
		"class":        coding(actCode, e.typ.class, ""),
		"type":         []any{concept(SNOMED, e.typ.snomed, e.typ.display)},
		"subject":      ref(b.patient),
		"participant":  []any{map[string]any{"individual": ref(b.practitioner(e.prac))}},
		"period":       map[string]any{"start": dateTime(e.at), "end": dateTime(e.end)},
	})
}

func (b *bundle) condition(d *demographics, f *fact, v *view, enc map[string]any) {
	c := f.cond
	status := v.statusOf(f)
	cat := "problem-list-item"
	if !c.chronic {
		cat = "encounter-diagnosis"
	}
	res := map[string]any{
		"resourceType":       "Condition",
		"identifier":         b.identifier(f, v),
		"clinicalStatus":     concept(condClinical, status, ""),
		"verificationStatus": concept(condVerify, "confirmed", ""),
		"category":           []any{concept(condCategory, cat, "")},
		"code": map[string]any{"coding": []any{coding(SNOMED, c.snomed, c.display), coding(ICD10CM, c.icd10, c.icdText)},
			"text": c.display},
		"subject":       ref(b.patient),
		"onsetDateTime": dateTime(f.at),
		"recordedDate":  dateTime(maxTime(f.at, d.from)),
	}
	fhir.SetIf(res, "encounter", enc)
	if status == "resolved" && !f.end.IsZero() {
		res["abatementDateTime"] = dateTime(f.end)
	}
	b.add(res)
	b.w.ref(v, d, "Condition", b.w.recordRef(f, v), SNOMED+"|"+c.snomed, f.at, status, "")
}

func (b *bundle) allergy(d *demographics, f *fact, v *view) {
	a := f.allergy
	status := v.statusOf(f)
	crit := "low"
	if f.severe {
		crit = "high"
	}
	res := map[string]any{
		"resourceType":       "AllergyIntolerance",
		"identifier":         b.identifier(f, v),
		"clinicalStatus":     concept(allergyClin, status, ""),
		"verificationStatus": concept(allergyVerify, "confirmed", ""),
		"type":               "allergy",
		"category":           []any{a.category},
		"criticality":        crit,
		"code":               concept(a.system, a.code, a.display),
		"patient":            ref(b.patient),
		"onsetDateTime":      f.at.Format("2006-01-02"),
		"reaction":           []any{map[string]any{"manifestation": []any{concept(SNOMED, f.reaction[0], f.reaction[1])}}},
	}
	if status == "resolved" {
		res["note"] = []any{map[string]any{"text": "Tolerated a challenge dose; no longer considered allergic."}}
	}
	b.add(res)
	b.w.ref(v, d, "AllergyIntolerance", b.w.recordRef(f, v), a.system+"|"+a.code, f.at, status, "")
}

// bounds is the period a medication is taken as a source records it.
func bounds(f *fact, v *view) map[string]any {
	p := map[string]any{"start": f.at.Format("2006-01-02")}
	if e := v.endOf(f); !e.IsZero() && v.statusOf(f) != "active" {
		p["end"] = e.Format("2006-01-02")
	}
	return p
}

func (b *bundle) medicationRequest(d *demographics, f *fact, v *view, enc map[string]any) {
	m := f.med
	status := v.statusOf(f)
	authored := f.at
	if v.enc != nil {
		authored = v.enc.at
	}
	res := map[string]any{
		"resourceType":              "MedicationRequest",
		"identifier":                b.identifier(f, v),
		"status":                    status,
		"intent":                    "order",
		"medicationCodeableConcept": concept(RxNorm, m.rxnorm, m.display),
		"subject":                   ref(b.patient),
		"authoredOn":                dateTime(authored),
		"dosageInstruction": []any{map[string]any{"text": m.dosage,
			"timing": map[string]any{"repeat": map[string]any{"boundsPeriod": bounds(f, v)}}}},
	}
	fhir.SetIf(res, "encounter", enc)
	if v.enc != nil {
		res["requester"] = ref(b.practitioner(v.enc.prac))
	}
	b.add(res)
	b.w.ref(v, d, "MedicationRequest", b.w.recordRef(f, v), RxNorm+"|"+m.rxnorm, authored, status, "")
}

// medicationStatement is a pharmacy's profile entry for a medication, with a
// MedicationDispense per fill.
func (b *bundle) medicationStatement(d *demographics, f *fact, v *view) {
	m := f.med
	status := v.statusOf(f)
	res := map[string]any{
		"resourceType":              "MedicationStatement",
		"identifier":                b.identifier(f, v),
		"status":                    status,
		"medicationCodeableConcept": concept(RxNorm, m.rxnorm, m.display),
		"subject":                   ref(b.patient),
		"effectivePeriod":           bounds(f, v),
		"dosage":                    []any{map[string]any{"text": m.dosage}},
	}
	if len(v.fills) > 0 {
		res["dateAsserted"] = dateTime(v.fills[len(v.fills)-1])
	}
	b.add(res)
	b.w.ref(v, d, "MedicationStatement", b.w.recordRef(f, v), RxNorm+"|"+m.rxnorm, f.at, status, "")
	for k, t := range v.fills {
		b.add(map[string]any{
			"resourceType":              "MedicationDispense",
			"identifier":                []any{map[string]any{"system": b.w.src.RecordSystem, "value": b.w.recordID(f, v) + "-" + strconv.Itoa(k+1)}},
			"status":                    "completed",
			"medicationCodeableConcept": concept(RxNorm, m.rxnorm, m.display),
			"subject":                   ref(b.patient),
			"quantity":                  map[string]any{"value": json.Number(strconv.Itoa(m.days)), "unit": "each"},
			"daysSupply":                map[string]any{"value": json.Number(strconv.Itoa(m.days)), "unit": "day", "system": UCUM, "code": "d"},
			"whenHandedOver":            dateTime(t),
			"dosageInstruction":         []any{map[string]any{"text": m.dosage}},
		})
	}
}

// lot is the vaccine lot of an immunization, the same at every source that
// records it.
func lot(h *history, f *fact) string {
	return fmt.Sprintf("%c%c%04d", 'A'+(h.p.index+f.seq)%26, 'A'+(h.p.index*7+f.seq*3)%26, (h.p.index*7919+f.seq*104729)%10000)
}

func (b *bundle) immunization(d *demographics, h *history, f *fact, v *view, enc map[string]any) {
	res := map[string]any{
		"resourceType":       "Immunization",
		"identifier":         b.identifier(f, v),
		"status":             "completed",
		"vaccineCode":        concept(CVX, f.vaccine.cvx, f.vaccine.display),
		"patient":            ref(b.patient),
		"occurrenceDateTime": dateTime(f.at),
		"primarySource":      !v.secondary,
		"lotNumber":          lot(h, f),
		"route":              concept(routeSystem, "IM", "Injection, intramuscular"),
	}
	fhir.SetIf(res, "encounter", enc)
	if v.secondary {
		res["reportOrigin"] = concept(immOrigin, "record", "Written Record")
	}
	b.add(res)
	b.w.ref(v, d, "Immunization", b.w.recordRef(f, v), CVX+"|"+f.vaccine.cvx, f.at, "completed", "")
}

// report writes a lab panel as a DiagnosticReport with an Observation per test.
func (b *bundle) report(d *demographics, pn *panel, i int, enc map[string]any) {
	issued := pn.at.Add(6 * time.Hour).UTC().Format("2006-01-02T15:04:05Z")
	var results []any
	for _, f := range pn.results {
		v := f.views[i]
		value := v.valueOf(f)
		t := f.test
		obs := map[string]any{
			"resourceType":      "Observation",
			"identifier":        b.identifier(f, v),
			"status":            "final",
			"category":          []any{concept(obsCategory, "laboratory", "Laboratory")},
			"code":              concept(LOINC, t.loinc, t.display),
			"subject":           ref(b.patient),
			"effectiveDateTime": dateTime(pn.at),
			"issued":            issued,
			"valueQuantity":     quantity(value, t.decimals, t.unit),
			"interpretation":    []any{concept(interpSystem, flag(t, value), "")},
		}
		rr := map[string]any{}
		if t.low > 0 {
			rr["low"] = quantity(t.low, t.decimals, t.unit)
		}
		if t.high > 0 {
			rr["high"] = quantity(t.high, t.decimals, t.unit)
		}
		obs["referenceRange"] = []any{rr}
		fhir.SetIf(obs, "encounter", enc)
		results = append(results, ref(b.add(obs)))
		b.w.ref(v, d, "Observation", b.w.recordRef(f, v), LOINC+"|"+t.loinc, pn.at, "",
			strconv.FormatFloat(value, 'f', t.decimals, 64)+" "+t.unit)
	}
	dr := map[string]any{
		"resourceType":      "DiagnosticReport",
		"identifier":        []any{map[string]any{"system": b.w.src.RecordSystem, "value": "R" + b.w.next()}},
		"status":            "final",
		"category":          []any{concept(diagService, "LAB", "Laboratory")},
		"code":              concept(LOINC, pn.def.loinc, pn.def.display),
		"subject":           ref(b.patient),
		"effectiveDateTime": dateTime(pn.at),
		"issued":            issued,
		"result":            results,
	}
	fhir.SetIf(dr, "encounter", enc)
	b.add(dr)
}

// vitalSigns writes a visit's vital signs, blood pressure as one panel.
func (b *bundle) vitalSigns(e *encounter, enc string) {
	obs := func(def vitalDef) map[string]any {
		return map[string]any{
			"resourceType":      "Observation",
			"status":            "final",
			"category":          []any{concept(obsCategory, "vital-signs", "Vital Signs")},
			"code":              concept(LOINC, def.loinc, def.display),
			"subject":           ref(b.patient),
			"encounter":         ref(enc),
			"effectiveDateTime": dateTime(e.at.Add(5 * time.Minute)),
		}
	}
	bp := obs(vitalBP)
	bp["component"] = []any{
		map[string]any{"code": concept(LOINC, vitalSys.loinc, vitalSys.display), "valueQuantity": quantity(float64(e.vitals.sys), 0, vitalSys.unit)},
		map[string]any{"code": concept(LOINC, vitalDia.loinc, vitalDia.display), "valueQuantity": quantity(float64(e.vitals.dia), 0, vitalDia.unit)},
	}
	b.add(bp)
	for _, vs := range vitalList(e.vitals)[2:] {
		o := obs(vs.def)
		o["valueQuantity"] = quantity(vs.value, vs.def.decimals, vs.def.unit)
		b.add(o)
	}
}

func (b *bundle) referral(e *encounter, enc string) {
	c := e.referral
	status := "completed"
	if b.w.g.o.End.Sub(e.at) < 120*24*time.Hour {
		status = "active"
	}
	b.add(map[string]any{
		"resourceType":  "ServiceRequest",
		"identifier":    []any{map[string]any{"system": b.w.src.RecordSystem, "value": "S" + b.w.next()}},
		"status":        status,
		"intent":        "order",
		"category":      []any{concept(SNOMED, "3457005", "Patient referral")},
		"code":          map[string]any{"text": "Referral to " + strings.ToLower(c.referral)},
		"subject":       ref(b.patient),
		"encounter":     ref(enc),
		"authoredOn":    dateTime(e.at),
		"requester":     ref(b.practitioner(e.prac)),
		"performerType": map[string]any{"text": c.referral},
		"reasonCode":    []any{concept(SNOMED, c.snomed, c.display)},
	})
}

// note writes the clinician's note of a visit as a DocumentReference with the
// text inline.
func (b *bundle) note(d *demographics, e *encounter, enc string) {
	typ := map[string][2]string{
		"AMB":  {"11506-3", "Progress note"},
		"EMER": {"34111-5", "Emergency department note"},
		"IMP":  {"18842-5", "Discharge summary"},
	}[e.typ.class]
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s\n%s, %s %s\nSeen by Dr. %s %s on %s.\n", typ[1], e.typ.display, d.given, d.family,
		e.prac.given, e.prac.family, e.at.In(zone).Format("January 2, 2006"))
	fmt.Fprintf(&sb, "Vitals: BP %d/%d, HR %d, T %.1f C, Wt %.1f kg.\n", e.vitals.sys, e.vitals.dia, e.vitals.hr, e.vitals.temp, e.vitals.weight)
	if e.reason != nil {
		fmt.Fprintf(&sb, "Assessment: %s.\n", e.reason.cond.display)
	}
	if e.referral != nil {
		fmt.Fprintf(&sb, "Plan: refer to %s.\n", strings.ToLower(e.referral.referral))
	} else {
		sb.WriteString("Plan: follow up as needed.\n")
	}
	b.add(map[string]any{
		"resourceType": "DocumentReference",
		"identifier":   []any{map[string]any{"system": b.w.src.RecordSystem, "value": "N" + b.w.next()}},
		"status":       "current",
		"type":         concept(LOINC, typ[0], typ[1]),
		"subject":      ref(b.patient),
		"date":         e.end.UTC().Format("2006-01-02T15:04:05Z"),
		"author":       []any{ref(b.practitioner(e.prac))},
		"content": []any{map[string]any{"attachment": map[string]any{
			"contentType": "text/plain", "title": typ[1],
			"data": base64.StdEncoding.EncodeToString([]byte(sb.String())),
		}}},
		"context": map[string]any{"encounter": []any{ref(enc)}, "period": map[string]any{"start": dateTime(e.at), "end": dateTime(e.end)}},
	})
}

package hl7v2

import (
	"omnichart/internal/fhir"
	"strings"
)

// patientMode says how a Patient entry is written.
type patientMode int

const (
	patientCreate patientMode = iota // conditional create: ifNoneExist on the identifier
	patientUpdate                    // conditional update: PUT Patient?identifier=...
)

// patient adds the Patient of a PID (with PD1 and NK1 when given) and returns its
// fullUrl and the identifier used to recognise it again.
//
// See mappings/segments "PID[Patient]", "PD1[Patient]" and "NK1[Patient]" of the IG.
func (c *converter) patient(pid, pd1 *Segment, nk1s []*Segment, mode patientMode, links []any) (string, map[string]any) {
	p := map[string]any{"resourceType": "Patient"}
	var ids []any
	var key map[string]any
	for _, fn := range []int{3, 2, 4} {
		for _, r := range pid.Field(fn).Reps() {
			if id := c.identifierCX(r, ""); id != nil {
				ids = append(ids, id)
				if key == nil && fn == 3 && id["system"] != nil {
					key = id
				}
			}
		}
	}
	if ssn := val(pid.Field(19).String()); ssn != "" {
		ids = append(ids, map[string]any{"system": "http://hl7.org/fhir/sid/us-ssn", "value": ssn, "type": tableConcept("SS", "0203", "")})
	}
	if key == nil {
		for _, id := range ids {
			if m := id.(map[string]any); m["system"] != nil {
				key = m
				break
			}
		}
	}
	fhir.SetIf(p, "identifier", ids)
	fhir.SetIf(p, "name", humanNames(pid.Field(5)))
	if mm := val(pid.Field(6).Rep(0).Component(1).Sub(1)); mm != "" {
		p["extension"] = []any{map[string]any{"url": "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName", "valueString": mm}}
	}
	fhir.SetIf(p, "birthDate", c.date(pid.Field(7).String()))
	switch val(pid.Field(8).String()) {
	case "":
	case "M":
		p["gender"] = "male"
	case "F":
		p["gender"] = "female"
	case "O", "A":
		p["gender"] = "other"
	default:
		p["gender"] = "unknown"
	}
	fhir.SetIf(p, "address", addresses(pid.Field(11)))
	telecom := append(contactPoints(pid.Field(13), "home"), contactPoints(pid.Field(14), "work")...)
	fhir.SetIf(p, "telecom", telecom)
	if lang := codeableConcept(pid.Field(15).Rep(0)); lang != nil {
		p["communication"] = []any{map[string]any{"language": lang}}
	}
	fhir.SetIf(p, "maritalStatus", codeableConcept(pid.Field(16).Rep(0)))
	switch mb := val(pid.Field(24).String()); mb {
	case "Y":
		if n := val(pid.Field(25).String()); isDigits(n) {
			p["multipleBirthInteger"] = jsonInt(n)
		} else {
			p["multipleBirthBoolean"] = true
		}
	case "N":
		p["multipleBirthBoolean"] = false
	}
	if d := c.dateTime(pid.Field(29).String()); d != "" {
		p["deceasedDateTime"] = d
	} else if v := val(pid.Field(30).String()); v == "Y" || v == "N" {
		p["deceasedBoolean"] = v == "Y"
	}
	if pd1 != nil {
		var gps []any
		for _, r := range pd1.Field(4).Reps() {
			if u := c.practitioner(r); u != "" {
				gps = append(gps, ref(u))
			}
		}
		fhir.SetIf(p, "generalPractitioner", gps)
	}
	var contacts []any
	for _, nk := range nk1s {
		if ct := contact(nk); ct != nil {
			contacts = append(contacts, ct)
		}
	}
	fhir.SetIf(p, "contact", contacts)
	fhir.SetIf(p, "link", links)
	var url string
	if mode == patientUpdate && key != nil {
		url = c.addRequest(p, map[string]any{"method": "PUT", "url": "Patient?" + identifierQuery(key)})
	} else {
		url = c.addConditional(p, key)
	}
	if key == nil {
		c.warn("incomplete", c.msg.Position(pid)+"-3: the patient has no identifier with an assigning authority, so a new Patient is created each time")
	}
	return url, key
}

func jsonInt(s string) any {
	n, ok := decimal(s)
	if !ok {
		return nil
	}
	return n
}

// contact maps an NK1 to Patient.contact: role (7, table 0131), relationship (3),
// name (2), address (4), phones (5, 6), gender (15), period (8, 9).
func contact(nk *Segment) map[string]any {
	ct := map[string]any{}
	var rel []any
	if cc := codeableConcept(nk.Field(7).Rep(0)); cc != nil {
		rel = append(rel, cc)
	}
	if cc := codeableConcept(nk.Field(3).Rep(0)); cc != nil {
		rel = append(rel, cc)
	}
	fhir.SetIf(ct, "relationship", rel)
	if n := humanName(nk.Field(2).Rep(0)); n != nil {
		ct["name"] = n
	}
	if a := address(nk.Field(4).Rep(0)); a != nil {
		ct["address"] = a
	}
	fhir.SetIf(ct, "telecom", append(contactPoints(nk.Field(5), "home"), contactPoints(nk.Field(6), "work")...))
	fhir.SetIf(ct, "gender", genderCode(nk.Field(15).String()))
	if len(ct) == 0 {
		return nil
	}
	return ct
}

func genderCode(s string) string {
	switch val(s) {
	case "":
		return ""
	case "M":
		return "male"
	case "F":
		return "female"
	case "O", "A":
		return "other"
	}
	return "unknown"
}

// relatedPerson maps an NK1 to a RelatedPerson of the patient.
//
// See mappings/segments "NK1[RelatedPerson]" of the IG.
func (c *converter) relatedPerson(nk *Segment, patient string) {
	rp := map[string]any{"resourceType": "RelatedPerson", "patient": ref(patient)}
	fhir.SetIf(rp, "relationship", codeableConcepts(nk.Field(3)))
	fhir.SetIf(rp, "name", humanNames(nk.Field(2)))
	fhir.SetIf(rp, "address", addresses(nk.Field(4)))
	fhir.SetIf(rp, "telecom", append(contactPoints(nk.Field(5), "home"), contactPoints(nk.Field(6), "work")...))
	fhir.SetIf(rp, "gender", genderCode(nk.Field(15).String()))
	fhir.SetIf(rp, "birthDate", c.date(nk.Field(16).String()))
	fhir.SetIf(rp, "period", period(c.date(nk.Field(8).String()), c.date(nk.Field(9).String())))
	var ids []any
	for _, r := range nk.Field(33).Reps() {
		if id := c.identifierCX(r, ""); id != nil {
			ids = append(ids, id)
		}
	}
	fhir.SetIf(rp, "identifier", ids)
	if len(rp) > 2 {
		c.add(rp)
	}
}

// encounter adds the Encounter of a PV1 (and PV2) and returns its fullUrl, or ""
// when the PV1 describes no visit (patient class N and no visit number).
//
// See mappings/segments "PV1[Encounter]" and "PV2[Encounter]" of the IG.
func (c *converter) encounter(pv1, pv2 *Segment, patient, event string) string {
	if pv1 == nil {
		return ""
	}
	class := val(pv1.Field(2).String())
	visit := c.identifierCX(pv1.Field(19).Rep(0), "")
	if (class == "" || class == "N") && visit == nil && pv1.Field(44).IsEmpty() {
		return ""
	}
	e := map[string]any{"resourceType": "Encounter", "subject": ref(patient)}
	if visit != nil {
		if visit["type"] == nil {
			visit["type"] = tableConcept("VN", "0203", "")
		}
		e["identifier"] = []any{visit}
	}
	start, end := c.dateTime(pv1.Field(44).String()), c.dateTime(pv1.Field(45).String())
	switch {
	case event == "A01":
		e["status"] = "in-progress"
	case event == "A03", end != "":
		e["status"] = "finished"
	case event == "A04":
		e["status"] = "arrived"
	case start != "":
		e["status"] = "in-progress"
	default:
		e["status"] = "unknown"
	}
	if event == "A03" && end == "" {
		c.warn("incomplete", c.msg.Position(pv1)+"-45: discharge date/time is empty")
	}
	actCode := map[string]string{"E": "EMER", "I": "IMP", "O": "AMB", "P": "PRENC", "R": "AMB", "B": "IMP"}[class]
	switch {
	case actCode != "":
		e["class"] = map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": actCode}
	case class != "":
		e["class"] = map[string]any{"system": v2Table("0004"), "code": class}
	default:
		e["class"] = map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "code": "UNK"}
	}
	if t := tableConcept(pv1.Field(4).String(), "0007", ""); t != nil {
		e["type"] = []any{t}
	}
	fhir.SetIf(e, "serviceType", tableConcept(pv1.Field(10).String(), "0069", ""))
	fhir.SetIf(e, "period", period(start, end))
	var parts []any
	for _, p := range []struct {
		field int
		code  string
	}{{7, "ATND"}, {8, "REF"}, {9, "CON"}, {17, "ADM"}} {
		for _, r := range pv1.Field(p.field).Reps() {
			if u := c.practitioner(r); u != "" {
				parts = append(parts, map[string]any{
					"type":       []any{map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": p.code}}}},
					"individual": ref(u),
				})
			}
		}
	}
	fhir.SetIf(e, "participant", parts)
	if loc := locationText(pv1.Field(3).Rep(0)); loc != "" {
		e["location"] = []any{map[string]any{"location": map[string]any{"display": loc}}}
	}
	hosp := map[string]any{}
	fhir.SetIf(hosp, "admitSource", tableConcept(pv1.Field(14).String(), "0023", ""))
	fhir.SetIf(hosp, "reAdmission", tableConcept(pv1.Field(13).String(), "0092", ""))
	fhir.SetIf(hosp, "dischargeDisposition", tableConcept(pv1.Field(36).String(), "0112", ""))
	fhir.SetIf(e, "hospitalization", hosp)
	if pv2 != nil {
		if cc := codeableConcept(pv2.Field(3).Rep(0)); cc != nil {
			e["reasonCode"] = []any{cc}
		}
	}
	return c.add(e)
}

// allergy maps an AL1 to an AllergyIntolerance.
//
// See mappings/segments "AL1[AllergyIntolerance]" of the IG.
func (c *converter) allergy(al1 *Segment, patient string) {
	a := map[string]any{
		"resourceType": "AllergyIntolerance",
		"patient":      ref(patient),
		"clinicalStatus": map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}}},
	}
	code := codeableConcept(al1.Field(3).Rep(0))
	if code == nil {
		c.warn("required", c.msg.Position(al1)+"-3: allergen is empty; the segment was skipped")
		return
	}
	a["code"] = code
	switch strings.ToUpper(val(al1.Field(2).Comp(1))) {
	case "DA", "MA":
		a["category"] = []any{"medication"}
	case "FA":
		a["category"] = []any{"food"}
	case "EA", "AA", "PA", "LA":
		a["category"] = []any{"environment"}
	}
	switch strings.ToUpper(val(al1.Field(4).Comp(1))) {
	case "SV":
		a["criticality"] = "high"
	case "MO", "MI":
		a["criticality"] = "low"
	case "U":
		a["criticality"] = "unable-to-assess"
	}
	var manif []any
	for _, r := range al1.Field(5).Reps() {
		if t := val(r.String()); t != "" {
			manif = append(manif, map[string]any{"text": t})
		}
	}
	if len(manif) > 0 {
		a["reaction"] = []any{map[string]any{"manifestation": manif}}
	}
	fhir.SetIf(a, "onsetDateTime", c.date(al1.Field(6).String()))
	c.add(a)
}

// condition maps a DG1 to a Condition of category encounter-diagnosis and returns
// its fullUrl.
//
// See mappings/segments "DG1[Condition]" of the IG.
func (c *converter) condition(dg1 *Segment, patient, encounter string) string {
	code := codeableConcept(dg1.Field(3).Rep(0))
	if code == nil {
		if t := val(dg1.Field(4).String()); t != "" {
			code = map[string]any{"text": t}
		}
	}
	if code == nil {
		c.warn("required", c.msg.Position(dg1)+"-3: diagnosis code is empty; the segment was skipped")
		return ""
	}
	cond := map[string]any{
		"resourceType": "Condition",
		"subject":      ref(patient),
		"code":         code,
		"category": []any{map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis"}}}},
	}
	fhir.SetIf(cond, "encounter", ref(encounter))
	fhir.SetIf(cond, "onsetDateTime", c.dateTime(dg1.Field(5).String()))
	if id := identifierEI(dg1.Field(20).Rep(0), ""); id != nil {
		cond["identifier"] = []any{id}
	}
	return c.add(cond)
}

// adt converts ADT A01, A03, A04, A08, A28 and A31.
//
// See the IG's message maps "ADT_A01" (A01, A04, A08, A13), "ADT_A03" and "ADT_A05"
// (A28, A31).
func (c *converter) adt() error {
	m := c.msg
	event := val(m.Header().Field(9).Comp(2))
	mode := patientCreate
	if event == "A08" || event == "A31" {
		mode = patientUpdate
	}
	patient, _ := c.patient(m.Segment("PID"), m.Segment("PD1"), m.Segments("NK1"), mode, nil)
	for _, nk := range m.Segments("NK1") {
		c.relatedPerson(nk, patient)
	}
	enc := c.encounter(m.Segment("PV1"), m.Segment("PV2"), patient, event)
	for _, al := range m.Segments("AL1") {
		c.allergy(al, patient)
	}
	var diags []any
	for _, dg := range m.Segments("DG1") {
		if u := c.condition(dg, patient, enc); u != "" {
			diags = append(diags, map[string]any{"condition": ref(u)})
		}
	}
	if enc != "" && len(diags) > 0 {
		for i := range c.entries {
			if c.entries[i].fullURL == enc {
				c.entries[i].res["diagnosis"] = diags
			}
		}
	}
	return nil
}

// merge converts ADT^A40: the surviving Patient (PID) is updated with a link of
// type "replaces" to the Patient the MRG identifies, which gets a link of type
// "replaced-by" back and active false.
//
// See the IG's message map "ADT_A39" (A40) and mappings/segments "MRG".
func (c *converter) merge() error {
	m := c.msg
	pids := m.Segments("PID")
	mrgs := m.Segments("MRG")
	for i, pid := range pids {
		if i >= len(mrgs) {
			c.warn("required", m.Position(pid)+": no MRG follows this PID; nothing was merged into it")
			break
		}
		mrg := mrgs[i]
		old := map[string]any{"resourceType": "Patient", "active": false}
		var ids []any
		var key map[string]any
		for _, r := range mrg.Field(1).Reps() {
			if id := c.identifierCX(r, ""); id != nil {
				ids = append(ids, id)
				if key == nil && id["system"] != nil {
					key = id
				}
			}
		}
		if len(ids) == 0 {
			return &Error{Err: ErrRequiredField, Segment: "MRG", Seq: i + 1, Field: 1, Detail: "prior patient identifier list is empty"}
		}
		old["identifier"] = ids
		// The surviving Patient's entry is added first so both fullUrls exist
		// before the links between them are written.
		survivor, _ := c.patient(pid, nil, nil, patientUpdate, nil)
		oldURL := c.addConditional(old, key)
		old["link"] = []any{map[string]any{"other": ref(survivor), "type": "replaced-by"}}
		for j := range c.entries {
			if c.entries[j].fullURL == survivor {
				c.entries[j].res["link"] = []any{map[string]any{"other": ref(oldURL), "type": "replaces"}}
			}
		}
	}
	return nil
}

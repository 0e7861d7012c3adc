package hl7v2

import (
	"omnichart/internal/fhir"
	"strings"
)

// referral converts REF^I12 and RRI^I12: a ServiceRequest from RF1, its requester
// and performer from PRD (role RP referring, RT referred to), and its reasons from
// DG1, each also kept as a Condition.
//
// See the IG's message maps "REF_I12" and "RRI_I12", mappings/segments
// "RF1[ServiceRequest]" and "PRD[Practitioner]".
func (c *converter) referral() error {
	m := c.msg
	patient, _ := c.patient(m.Segment("PID"), nil, m.Segments("NK1"), patientCreate, nil)
	enc := c.encounter(m.Segment("PV1"), m.Segment("PV2"), patient, "")
	sr := map[string]any{"resourceType": "ServiceRequest", "intent": "order", "subject": ref(patient), "status": "active"}
	fhir.SetIf(sr, "encounter", ref(enc))
	if rf1 := m.Segment("RF1"); rf1 != nil {
		switch val(rf1.Field(1).Comp(1)) {
		case "P":
			sr["status"] = "draft"
		case "R":
			sr["status"] = "revoked"
		case "E":
			sr["status"] = "completed"
		case "H":
			sr["status"] = "on-hold"
		}
		switch val(rf1.Field(2).Comp(1)) {
		case "S":
			sr["priority"] = "stat"
		case "A":
			sr["priority"] = "asap"
		case "R":
			sr["priority"] = "routine"
		}
		if cat := codeableConcept(rf1.Field(3).Rep(0)); cat != nil {
			sr["category"] = []any{cat}
		}
		var ids []any
		if id := identifierEI(rf1.Field(6).Rep(0), "PLAC"); id != nil {
			ids = append(ids, id)
		}
		for _, r := range rf1.Field(11).Reps() {
			if id := identifierEI(r, ""); id != nil {
				ids = append(ids, id)
			}
		}
		fhir.SetIf(sr, "identifier", ids)
		fhir.SetIf(sr, "authoredOn", c.dateTime(rf1.Field(7).String()))
		fhir.SetIf(sr, "reasonCode", codeableConcepts(rf1.Field(10)))
	} else {
		c.warn("incomplete", "no RF1 segment: the referral has no status, identifier or reason from the sender")
	}
	var performers []any
	for _, prd := range m.Segments("PRD") {
		u := c.providerPRD(prd)
		if u == "" {
			continue
		}
		switch strings.ToUpper(val(prd.Field(1).Comp(1))) {
		case "RP":
			if sr["requester"] == nil {
				sr["requester"] = ref(u)
			} else {
				performers = append(performers, ref(u))
			}
		default:
			performers = append(performers, ref(u))
		}
	}
	fhir.SetIf(sr, "performer", performers)
	var reasons []any
	for _, dg := range m.Segments("DG1") {
		if u := c.condition(dg, patient, enc); u != "" {
			reasons = append(reasons, ref(u))
		}
	}
	fhir.SetIf(sr, "reasonReference", reasons)
	c.add(sr)
	return nil
}

// providerPRD adds the Practitioner of a PRD: name (2), address (3), phone (5),
// identifiers (7: ID, type, ...).
func (c *converter) providerPRD(prd *Segment) string {
	p := map[string]any{"resourceType": "Practitioner"}
	fhir.SetIf(p, "name", humanNames(prd.Field(2)))
	fhir.SetIf(p, "address", addresses(prd.Field(3)))
	fhir.SetIf(p, "telecom", contactPoints(prd.Field(5), "work"))
	var ids []any
	var key map[string]any
	for _, r := range prd.Field(7).Reps() {
		v := val(r.Comp(1))
		if v == "" {
			continue
		}
		typ := val(r.Comp(2))
		id := map[string]any{"value": v}
		sys := c.facilitySystem(typ)
		if strings.EqualFold(typ, "NPI") {
			sys = "http://hl7.org/fhir/sid/us-npi"
		}
		fhir.SetIf(id, "system", sys)
		if typ != "" {
			id["type"] = tableConcept(typ, "0203", "")
		}
		ids = append(ids, id)
		if key == nil && sys != "" {
			key = id
		}
	}
	fhir.SetIf(p, "identifier", ids)
	if len(p) == 1 {
		return ""
	}
	if k := identifierQuery(key); k != "" {
		if u, ok := c.practitioners[k]; ok {
			return u
		}
		u := c.addConditional(p, key)
		c.practitioners[k] = u
		return u
	}
	return c.add(p)
}

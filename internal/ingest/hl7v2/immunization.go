package hl7v2

import (
	"omnichart/internal/fhir"
	"strings"
)

// vxu converts VXU^V04: the Patient (with NK1 as RelatedPerson), and per RXA an
// Immunization with its route and site from RXR and its order identifiers from the
// ORC before it. OBX after an RXA that the IG maps onto the Immunization (funding
// program eligibility, funding source, VIS documents) fill those elements; other
// OBX become Observations that are partOf the Immunization.
//
// See the IG's message map "VXU_V04", mappings/segments "RXA[Immunization]",
// "RXR[Immunization]" and "ORC[Immunization]".
func (c *converter) vxu() error {
	m := c.msg
	patient, _ := c.patient(m.Segment("PID"), m.Segment("PD1"), m.Segments("NK1"), patientCreate, nil)
	for _, nk := range m.Segments("NK1") {
		c.relatedPerson(nk, patient)
	}
	enc := c.encounter(m.Segment("PV1"), m.Segment("PV2"), patient, "")
	var orc *Segment
	var imm map[string]any
	var immURL string
	education := map[string]map[string]any{}
	var eduOrder []string
	flushEducation := func() {
		if imm == nil || len(eduOrder) == 0 {
			return
		}
		var list []any
		for _, k := range eduOrder {
			list = append(list, education[k])
		}
		imm["education"] = list
		education, eduOrder = map[string]map[string]any{}, nil
	}
	for i, s := range m.All() {
		switch s.Name {
		case "ORC":
			flushEducation()
			orc, imm = s, nil
		case "RXA":
			flushEducation()
			var rxr *Segment
			if next := m.All(); i+1 < len(next) && next[i+1].Name == "RXR" {
				rxr = next[i+1]
			}
			imm, immURL = c.immunization(s, rxr, orc, patient, enc)
		case "OBX":
			if imm == nil {
				if m.Segment("RXA") != nil {
					c.warn("structure", m.Position(s)+": OBX outside an RXA group was skipped")
				}
				continue
			}
			loinc := ""
			if codeSystemURI(s.Field(3).Rep(0).Comp(3)) == "http://loinc.org" {
				loinc = val(s.Field(3).Rep(0).Comp(1))
			}
			value := s.Field(5).Rep(0)
			switch loinc {
			case "64994-7":
				if cc := codeableConcept(value); cc != nil {
					imm["programEligibility"] = append(anySlice(imm["programEligibility"]), cc)
				}
			case "30963-3":
				fhir.SetIf(imm, "fundingSource", codeableConcept(value))
			case "69764-9", "29768-9", "29769-7", "30956-7":
				group := val(s.Field(4).String())
				e, ok := education[group]
				if !ok {
					e = map[string]any{}
					education[group] = e
					eduOrder = append(eduOrder, group)
				}
				switch loinc {
				case "69764-9", "30956-7":
					fhir.SetIf(e, "documentType", val(value.Comp(1)))
				case "29768-9":
					fhir.SetIf(e, "publicationDate", c.dateTime(value.String()))
				case "29769-7":
					fhir.SetIf(e, "presentationDate", c.dateTime(value.String()))
				}
			default:
				c.observation(s, nil, patient, enc, immURL)
			}
		}
	}
	flushEducation()
	return nil
}

func anySlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// immunization adds the Immunization of an RXA and returns it with its fullUrl.
func (c *converter) immunization(rxa, rxr, orc *Segment, patient, enc string) (map[string]any, string) {
	pos := c.msg.Position(rxa)
	im := map[string]any{"resourceType": "Immunization", "patient": ref(patient)}
	code := codeableConcept(rxa.Field(5).Rep(0))
	if code == nil {
		c.warn("required", pos+"-5: administered code is empty")
		code = map[string]any{"text": "unknown"}
	}
	im["vaccineCode"] = code
	status := "completed"
	switch strings.ToUpper(val(rxa.Field(20).String())) {
	case "RE", "NA":
		status = "not-done"
	case "PA":
		im["isSubpotent"] = true
	}
	if val(rxa.Field(5).Rep(0).Comp(1)) == "998" {
		status = "not-done"
	}
	if strings.ToUpper(val(rxa.Field(21).String())) == "D" {
		status = "entered-in-error"
	}
	im["status"] = status
	if status == "not-done" {
		fhir.SetIf(im, "statusReason", codeableConcept(rxa.Field(18).Rep(0)))
	}
	if d := c.dateTime(rxa.Field(3).String()); d != "" {
		im["occurrenceDateTime"] = d
	} else {
		c.warn("required", pos+"-3: administration date is empty")
		im["occurrenceString"] = "unknown"
	}
	fhir.SetIf(im, "encounter", ref(enc))
	if amt := val(rxa.Field(6).String()); amt != "" && amt != "999" {
		fhir.SetIf(im, "doseQuantity", c.quantity(amt, rxa.Field(7).Rep(0)))
	}
	info := rxa.Field(9).Rep(0)
	switch val(info.Comp(1)) {
	case "":
	case "00":
		im["primarySource"] = true
	default:
		im["primarySource"] = false
		fhir.SetIf(im, "reportOrigin", codeableConcept(info))
	}
	fhir.SetIf(im, "lotNumber", val(rxa.Field(15).String()))
	fhir.SetIf(im, "expirationDate", c.date(rxa.Field(16).String()))
	if mvx := rxa.Field(17).Rep(0); val(mvx.Comp(1)) != "" || val(mvx.Comp(2)) != "" {
		org := map[string]any{"resourceType": "Organization"}
		fhir.SetIf(org, "name", val(mvx.Comp(2)))
		var id map[string]any
		if v := val(mvx.Comp(1)); v != "" {
			id = map[string]any{"value": v}
			sys := codeSystemURI(mvx.Comp(3))
			if sys == "" {
				sys = "http://hl7.org/fhir/sid/mvx"
			}
			id["system"] = sys
			org["identifier"] = []any{id}
		}
		im["manufacturer"] = ref(c.addOrganization(org, id))
	}
	var perf []any
	for _, r := range rxa.Field(10).Reps() {
		if u := c.practitioner(r); u != "" {
			perf = append(perf, map[string]any{"function": tableConcept("AP", "0443", "Administering Provider"), "actor": ref(u)})
		}
	}
	var ids []any
	if orc != nil {
		if u := c.practitioner(orc.Field(12).Rep(0)); u != "" {
			perf = append(perf, map[string]any{"function": tableConcept("OP", "0443", "Ordering Provider"), "actor": ref(u)})
		}
		if id := identifierEI(orc.Field(2).Rep(0), "PLAC"); id != nil {
			ids = append(ids, id)
		}
		if id := identifierEI(orc.Field(3).Rep(0), "FILL"); id != nil {
			ids = append(ids, id)
		}
	}
	fhir.SetIf(im, "performer", perf)
	fhir.SetIf(im, "identifier", ids)
	if loc := rxa.Field(11).Rep(0); !loc.IsEmpty() {
		var parts []string
		for i := 1; i <= loc.NumComps(); i++ {
			if v := val(loc.Comp(i)); v != "" {
				parts = append(parts, v)
			}
		}
		if len(parts) > 0 {
			im["location"] = map[string]any{"display": strings.Join(parts, ", ")}
		}
	}
	if cc := codeableConcepts(rxa.Field(19)); len(cc) > 0 {
		im["reasonCode"] = cc
	}
	if rxr != nil {
		fhir.SetIf(im, "route", codeableConcept(rxr.Field(1).Rep(0)))
		fhir.SetIf(im, "site", codeableConcept(rxr.Field(2).Rep(0)))
	}
	return im, c.add(im)
}

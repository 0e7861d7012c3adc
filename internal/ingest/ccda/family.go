package ccda

import "omnichart/internal/fhir"

// familyHistory converts a Family History Organizer: the relative is the subject,
// each Family History Observation one condition.
// See https://hl7.org/fhir/R4/familymemberhistory.html and C-CDA template
// 2.16.840.1.113883.10.20.22.4.45.
func (c *converter) familyHistory(org *node) string {
	rs := org.path("subject", "relatedSubject")
	rel := c.concept(rs.child("code"))
	if rel == nil {
		c.warn("required", org, "family history organizer names no relationship")
		rel = dataAbsentConcept("unknown")
	}
	f := map[string]any{"resourceType": "FamilyMemberHistory", "status": "completed",
		"patient": ref(c.patientURL), "relationship": rel}
	fhir.SetIf(f, "identifier", c.identifiers(org))
	if codeValue(org.child("statusCode")) == "nullified" {
		f["status"] = "entered-in-error"
	}
	subj := rs.child("subject")
	switch codeValue(subj.child("administrativeGenderCode")) {
	case "M":
		f["sex"] = cc("http://hl7.org/fhir/administrative-gender", "male", "Male")
	case "F":
		f["sex"] = cc("http://hl7.org/fhir/administrative-gender", "female", "Female")
	}
	fhir.SetIf(f, "bornDate", c.date(subj.child("birthTime")))
	var conds []any
	deceased := false
	for _, comp := range org.children("component") {
		obs := comp.child("observation")
		if obs == nil || negated(obs) {
			continue
		}
		code := c.concept(obs.child("value"))
		if code == nil {
			continue
		}
		cond := map[string]any{"code": code}
		for _, st := range relationships(obs, "") {
			switch {
			case st.hasTemplate(tplAgeObs):
				if q := c.quantity(st.child("value")); q != nil {
					q["system"], q["code"] = "http://unitsofmeasure.org", ageUnit(q)
					cond["onsetAge"] = q
				}
			case st.hasTemplate(tplDeathObs):
				cond["contributedToDeath"] = true
				deceased = true
			}
		}
		conds = append(conds, cond)
	}
	if deceased {
		f["deceasedBoolean"] = true
	}
	fhir.SetIf(f, "condition", conds)
	return c.add(f)
}

// ageUnit is the UCUM code of an age, "a" (years) unless the document says otherwise.
func ageUnit(q map[string]any) string {
	if u, _ := q["unit"].(string); u != "" {
		return u
	}
	q["unit"] = "a"
	return "a"
}

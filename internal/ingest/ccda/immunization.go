package ccda

import "omnichart/internal/fhir"

// immunizationStatus maps statusCode. See
// http://hl7.org/fhir/us/ccda/ConceptMap/CF-ImmunizationStatus.
var immunizationStatus = map[string]string{
	"completed": "completed", "active": "completed", "nullified": "entered-in-error",
	"aborted": "not-done", "cancelled": "not-done",
}

// immunization converts an Immunization Activity (moodCode EVN). Negation means the
// vaccine was not given: status not-done, with the refusal reason.
// See https://build.fhir.org/ig/HL7/ccda-on-fhir/CF-immunizations.html.
func (c *converter) immunization(sa *node) string {
	if isPlanMood(sa) {
		c.inform("not-supported", sa, "planned immunization is not converted; the section narrative keeps it")
		return ""
	}
	im := map[string]any{"resourceType": "Immunization"}
	fhir.SetIf(im, "identifier", c.identifiers(sa))
	status := immunizationStatus[codeValue(sa.child("statusCode"))]
	if status == "" {
		status = "completed"
	}
	if negated(sa) {
		status = "not-done"
	}
	im["status"] = status
	for _, st := range relationships(sa, "") {
		if st.hasTemplate(tplRefusalReason) && status == "not-done" {
			fhir.SetIf(im, "statusReason", c.concept(st.child("code")))
		}
	}
	mp := sa.path("consumable", "manufacturedProduct")
	mat := mp.child("manufacturedMaterial")
	vaccine := c.concept(mat.child("code"))
	if vaccine == nil {
		if n := mat.child("name").textContent(); n != "" {
			vaccine = map[string]any{"text": n}
		}
	}
	if vaccine == nil && negated(sa) {
		// "No immunizations": a negated activity about no vaccine in particular.
		c.inform("informational", sa, "negated immunization activity without a vaccine is a statement of none; not converted")
		return ""
	}
	if vaccine == nil {
		c.warn("required", sa, "immunization activity names no vaccine")
		vaccine = dataAbsentConcept(absentReason(mat.child("code").nullFlavor()))
	}
	im["vaccineCode"] = vaccine
	im["patient"] = ref(c.patientURL)
	et := sa.child("effectiveTime")
	when := c.dateTime(et)
	if when == "" {
		when = c.dateTime(et.child("low"))
	}
	if when == "" {
		when = c.dateTime(et.child("center"))
	}
	if when != "" {
		im["occurrenceDateTime"] = when
	} else {
		im["_occurrenceDateTime"] = map[string]any{"extension": []any{dataAbsentExtension("unknown")}}
	}
	fhir.SetIf(im, "recorded", c.authorTime(sa))
	fhir.SetIf(im, "lotNumber", mat.child("lotNumberText").textContent())
	if org := mp.child("manufacturerOrganization"); org != nil {
		fhir.SetIf(im, "manufacturer", ref(c.organization(org)))
	}
	fhir.SetIf(im, "route", c.concept(sa.child("routeCode")))
	fhir.SetIf(im, "site", c.concept(sa.child("approachSiteCode")))
	if dq := c.quantity(sa.child("doseQuantity")); dq != nil {
		im["doseQuantity"] = dq
	}
	var perf []any
	for _, p := range sa.children("performer") {
		if u := c.practitioner(p.child("assignedEntity")); u != "" {
			perf = append(perf, map[string]any{"actor": ref(u)})
		}
	}
	fhir.SetIf(im, "performer", perf)
	u := c.add(im)
	return u
}

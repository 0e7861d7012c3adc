package ccda

import (
	"omnichart/internal/fhir"
	"strings"
)

// medicationStatementStatus and medicationRequestStatus map statusCode.
// See http://hl7.org/fhir/us/ccda/ConceptMap/CF-MedicationStatus.
var medicationStatementStatus = map[string]string{
	"active": "active", "completed": "completed", "aborted": "stopped", "suspended": "on-hold",
	"nullified": "entered-in-error", "cancelled": "not-taken", "held": "on-hold", "new": "intended",
}

var medicationRequestStatus = map[string]string{
	"active": "active", "completed": "completed", "aborted": "stopped", "suspended": "on-hold",
	"nullified": "entered-in-error", "cancelled": "cancelled", "held": "on-hold", "new": "draft",
}

// requestIntent maps a moodCode to MedicationRequest/ServiceRequest.intent.
// See http://hl7.org/fhir/us/ccda/ConceptMap/CF-MedActivityMood.
func requestIntent(mood string, planned bool) string {
	switch mood {
	case "RQO":
		return "order"
	case "PRP":
		return "proposal"
	case "INT":
		if planned {
			return "plan"
		}
		return "order"
	}
	return "plan"
}

// medication converts a Medication Activity: moodCode EVN (taken) becomes a
// MedicationStatement, an intent mood a MedicationRequest. Planned Medication
// Activities (plan of care) are MedicationRequests with intent plan.
// See https://build.fhir.org/ig/HL7/ccda-on-fhir/CF-medications.html.
func (c *converter) medication(sa *node, planned bool) string {
	mood := sa.attr("moodCode")
	request := planned || isPlanMood(sa)
	r := map[string]any{}
	if request {
		r["resourceType"] = "MedicationRequest"
	} else {
		r["resourceType"] = "MedicationStatement"
	}
	fhir.SetIf(r, "identifier", c.identifiers(sa))
	status := codeValue(sa.child("statusCode"))
	if request {
		s := medicationRequestStatus[status]
		if s == "" {
			s = "active"
			if !planned && status == "" {
				s = "unknown"
			}
		}
		r["status"] = s
		r["intent"] = requestIntent(mood, planned)
		if negated(sa) {
			r["doNotPerform"] = true
		}
	} else {
		s := medicationStatementStatus[status]
		if s == "" {
			s = "unknown"
		}
		if negated(sa) {
			s = "not-taken"
		}
		r["status"] = s
	}
	mat := sa.path("consumable", "manufacturedProduct", "manufacturedMaterial")
	med := c.concept(mat.child("code"))
	if med == nil {
		if n := mat.child("name").textContent(); n != "" {
			med = map[string]any{"text": n}
		}
	}
	if med == nil && negated(sa) {
		c.inform("informational", sa, "negated medication activity without a drug is a statement of none; not converted")
		return ""
	}
	if med == nil {
		c.warn("required", sa, "medication activity names no drug")
		med = dataAbsentConcept(absentReason(mat.child("code").nullFlavor()))
	}
	r["medicationCodeableConcept"] = med
	r["subject"] = ref(c.patientURL)

	dosage := map[string]any{}
	var bounds map[string]any
	repeat := map[string]any{}
	for _, et := range sa.children("effectiveTime") {
		switch strings.TrimPrefix(et.xsiType(), "SXPR_") {
		case "PIVL_TS":
			c.pivl(et, repeat)
		case "EIVL_TS":
			if ev := codeValue(et.child("event")); ev != "" {
				repeat["when"] = []any{ev}
			}
		case "TS":
			if v := c.dateTime(et); v != "" {
				bounds = map[string]any{"start": v, "end": v}
			}
		default:
			if p := c.period(et); p != nil && bounds == nil {
				bounds = p
			}
		}
	}
	if bounds != nil {
		if request {
			repeat["boundsPeriod"] = bounds
		} else if bounds["start"] != nil && bounds["start"] == bounds["end"] {
			r["effectiveDateTime"] = bounds["start"]
		} else {
			r["effectivePeriod"] = bounds
		}
	}
	if len(repeat) > 0 {
		dosage["timing"] = map[string]any{"repeat": repeat}
	}
	if t := c.entryText(sa); t != "" {
		dosage["text"] = t
	}
	fhir.SetIf(dosage, "route", c.concept(sa.child("routeCode")))
	fhir.SetIf(dosage, "site", c.concept(sa.child("approachSiteCode")))
	if dq := sa.child("doseQuantity"); dq != nil {
		dose := c.quantity(dq)
		if dose == nil {
			if low := c.quantity(dq.child("low")); low != nil {
				high := c.quantity(dq.child("high"))
				if high != nil {
					dosage["doseAndRate"] = []any{map[string]any{"doseRange": map[string]any{"low": low, "high": high}}}
				} else {
					dose = low
				}
			}
		}
		if dose != nil {
			if dose["unit"] == nil {
				if u := codeValue(sa.child("administrationUnitCode")); u != "" {
					dose["unit"] = sa.child("administrationUnitCode").attr("displayName")
					if dose["unit"] == "" {
						delete(dose, "unit")
					}
				}
			}
			dosage["doseAndRate"] = []any{map[string]any{"doseQuantity": dose}}
		}
	}
	if rq := c.quantity(sa.child("rateQuantity")); rq != nil {
		dr, _ := dosage["doseAndRate"].([]any)
		if len(dr) == 0 {
			dr = []any{map[string]any{}}
			dosage["doseAndRate"] = dr
		}
		dr[0].(map[string]any)["rateQuantity"] = rq
	}
	if mx := sa.child("maxDoseQuantity"); mx != nil {
		num, den := c.quantity(mx.child("numerator")), c.quantity(mx.child("denominator"))
		if num != nil && den != nil {
			dosage["maxDosePerPeriod"] = map[string]any{"numerator": num, "denominator": den}
		}
	}
	for _, st := range relationships(sa, "") {
		if st.hasTemplate(tplIndication) {
			if rc := c.concept(st.child("value")); rc != nil {
				rcs, _ := r["reasonCode"].([]any)
				r["reasonCode"] = append(rcs, rc)
			}
		}
	}
	if request {
		c.dispenseRequest(sa, r)
	}
	if len(dosage) > 0 {
		if request {
			r["dosageInstruction"] = []any{dosage}
		} else {
			r["dosage"] = []any{dosage}
		}
	}
	if at := c.authorTime(sa); at != "" {
		if request {
			r["authoredOn"] = at
		} else {
			r["dateAsserted"] = at
		}
	}
	u := c.add(r)
	if planned {
		c.planned = append(c.planned, u)
	}
	return u
}

// pivlUnits are the UCUM units that Timing.repeat.periodUnit allows.
var pivlUnits = map[string]string{"s": "s", "min": "min", "h": "h", "hr": "h", "d": "d", "wk": "wk", "mo": "mo", "a": "a"}

// pivl reads a PIVL_TS period ("every 8 h") into Timing.repeat.
func (c *converter) pivl(et *node, repeat map[string]any) {
	p := et.child("period")
	if p == nil {
		return
	}
	v, ok := decimal(p.attr("value"))
	unit, known := pivlUnits[strings.TrimSpace(p.attr("unit"))]
	if !ok || !known {
		if p.attr("value") != "" {
			c.inform("value", p, "dosing period is not in a unit FHIR Timing supports; kept in the text only")
		}
		return
	}
	if et.attr("institutionSpecified") == "true" && unit == "h" {
		// "every 8 h, institution specified" means three times a day.
		if f, err := v.Float64(); err == nil && f > 0 && 24/f == float64(int(24/f)) {
			repeat["frequency"] = jsonInt(int(24 / f))
			repeat["period"] = jsonInt(1)
			repeat["periodUnit"] = "d"
			return
		}
	}
	repeat["period"] = v
	repeat["periodUnit"] = unit
}

// dispenseRequest reads the Medication Supply Order (4.17) of a prescription:
// C-CDA repeatNumber counts every fill, FHIR numberOfRepeatsAllowed only refills.
func (c *converter) dispenseRequest(sa *node, r map[string]any) {
	for _, st := range relationships(sa, "REFR") {
		if st.name != "supply" || !st.hasTemplate(tplSupplyOrder) && st.attr("moodCode") != "INT" {
			continue
		}
		d := map[string]any{}
		if rn, ok := decimal(st.child("repeatNumber").attr("value")); ok && !strings.Contains(string(rn), ".") {
			if n, err := rn.Int64(); err == nil && n >= 1 {
				d["numberOfRepeatsAllowed"] = jsonInt(int(n - 1))
			}
		}
		if q := c.quantity(st.child("quantity")); q != nil {
			d["quantity"] = q
		}
		fhir.SetIf(d, "validityPeriod", c.period(st.child("effectiveTime")))
		if len(d) > 0 {
			r["dispenseRequest"] = d
		}
		return
	}
}

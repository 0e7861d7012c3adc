package ccda

import (
	"omnichart/internal/fhir"
	"strings"
)

const observationCategory = "http://terminology.hl7.org/CodeSystem/observation-category"

// observationStatus maps statusCode of result and vital sign observations.
// See http://hl7.org/fhir/us/ccda/ConceptMap/CF-ResultStatus.
var observationStatus = map[string]string{
	"completed": "final", "active": "preliminary", "aborted": "cancelled", "cancelled": "cancelled",
	"nullified": "entered-in-error", "held": "registered", "suspended": "registered", "new": "registered",
}

// reportStatus maps statusCode of a Result Organizer.
// See http://hl7.org/fhir/us/ccda/ConceptMap/CF-ResultReportStatus.
var reportStatus = map[string]string{
	"completed": "final", "active": "partial", "aborted": "cancelled", "cancelled": "cancelled",
	"nullified": "entered-in-error", "held": "registered", "suspended": "registered", "new": "registered",
}

// resultOrganizer converts a Result Organizer to a DiagnosticReport whose results
// are the component observations.
// See https://build.fhir.org/ig/HL7/ccda-on-fhir/CF-results.html.
func (c *converter) resultOrganizer(org *node) []string {
	var results []any
	var out []string
	for _, comp := range org.children("component") {
		for _, o := range comp.children("observation") {
			if u := c.observation(o, "laboratory"); u != "" {
				results = append(results, ref(u))
				out = append(out, u)
			}
		}
		for _, nested := range comp.children("organizer") {
			out = append(out, c.resultOrganizer(nested)...)
		}
	}
	dr := map[string]any{"resourceType": "DiagnosticReport"}
	fhir.SetIf(dr, "identifier", c.identifiers(org))
	status := reportStatus[codeValue(org.child("statusCode"))]
	if status == "" {
		status = "final"
	}
	dr["status"] = status
	dr["category"] = []any{cc("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB", "Laboratory")}
	code := c.concept(org.child("code"))
	if code == nil {
		code = dataAbsentConcept(absentReason(org.child("code").nullFlavor()))
	}
	dr["subject"] = ref(c.patientURL)
	c.effective(dr, "effective", org.child("effectiveTime"))
	if dr["effectiveDateTime"] == nil && dr["effectivePeriod"] == nil {
		if first := org.path("component", "observation", "effectiveTime"); first != nil {
			c.effective(dr, "effective", first)
		}
	}
	fhir.SetIf(dr, "result", results)
	dr["code"] = code
	for _, p := range org.children("performer") {
		if u := c.organization(p.path("assignedEntity", "representedOrganization")); u != "" {
			dr["performer"] = []any{ref(u)}
			break
		}
	}
	return append([]string{c.add(dr)}, out...)
}

// vitalSigns converts a Vital Signs Organizer: each component observation is an
// Observation in category vital-signs.
func (c *converter) vitalSigns(org *node) []string {
	var out []string
	for _, comp := range org.children("component") {
		for _, o := range comp.children("observation") {
			if u := c.observation(o, "vital-signs"); u != "" {
				out = append(out, u)
			}
		}
	}
	return out
}

// observation converts a Result, Vital Sign, Social History or other observation.
func (c *converter) observation(obs *node, category string) string {
	o := map[string]any{"resourceType": "Observation"}
	fhir.SetIf(o, "identifier", c.identifiers(obs))
	status := observationStatus[codeValue(obs.child("statusCode"))]
	if status == "" {
		status = "final"
	}
	o["status"] = status
	if category != "" {
		o["category"] = []any{cc(observationCategory, category, "")}
	}
	code := c.concept(obs.child("code"))
	if code == nil {
		if t := c.entryText(obs); t != "" {
			code = map[string]any{"text": t}
		} else {
			c.warn("required", obs, "observation has no code")
			code = dataAbsentConcept(absentReason(obs.child("code").nullFlavor()))
		}
	}
	o["code"] = code
	o["subject"] = ref(c.patientURL)
	c.effective(o, "effective", obs.child("effectiveTime"))
	if negated(obs) {
		c.inform("not-supported", obs, "negated observation converted without its negation; check the narrative")
	}
	values := obs.children("value")
	if len(values) > 0 {
		c.value(o, values[0])
		if len(values) > 1 {
			c.inform("not-supported", values[1], "only the first observation value is converted")
		}
	}
	var interp []any
	for _, ic := range obs.children("interpretationCode") {
		interp = appendAll(interp, c.concept(ic))
	}
	fhir.SetIf(o, "interpretation", interp)
	fhir.SetIf(o, "method", c.concept(obs.child("methodCode")))
	fhir.SetIf(o, "bodySite", c.concept(obs.child("targetSiteCode")))
	var ranges []any
	for _, rr := range obs.children("referenceRange") {
		ranges = appendAll(ranges, c.referenceRange(rr.child("observationRange")))
	}
	fhir.SetIf(o, "referenceRange", ranges)
	if t := c.entryText(obs); t != "" && code["text"] != t {
		o["note"] = []any{map[string]any{"text": t}}
	}
	return c.add(o)
}

// value sets value[x] (or dataAbsentReason) from an ANY-typed value by its xsi:type.
func (c *converter) value(o map[string]any, v *node) {
	typ := v.xsiType()
	if typ == "" {
		switch {
		case v.attr("code") != "" || v.child("originalText") != nil:
			typ = "CD"
		case v.attr("value") != "":
			typ = "PQ"
		case v.child("low") != nil || v.child("high") != nil:
			typ = "IVL_PQ"
		default:
			typ = "ST"
		}
	}
	if nf := v.nullFlavor(); nf != "" && v.attr("value") == "" && v.attr("code") == "" && len(v.children("translation")) == 0 && v.child("originalText") == nil && v.textContent() == "" {
		o["dataAbsentReason"] = cc("http://terminology.hl7.org/CodeSystem/data-absent-reason", absentReason(nf), "")
		return
	}
	switch typ {
	case "PQ":
		if q := c.quantity(v); q != nil {
			o["valueQuantity"] = q
		} else if s := strings.TrimSpace(v.attr("value")); s != "" {
			o["valueString"] = strings.TrimSpace(s + " " + v.attr("unit"))
		}
	case "REAL", "MO":
		if d, ok := decimal(v.attr("value")); ok {
			o["valueQuantity"] = map[string]any{"value": d}
		}
	case "INT":
		if d, ok := decimal(v.attr("value")); ok && !strings.Contains(string(d), ".") {
			o["valueInteger"] = d
		}
	case "CD", "CE", "CV", "CO", "CS":
		if cc := c.concept(v); cc != nil {
			o["valueCodeableConcept"] = cc
		}
	case "BL":
		switch v.attr("value") {
		case "true":
			o["valueBoolean"] = true
		case "false":
			o["valueBoolean"] = false
		}
	case "TS":
		fhir.SetIf(o, "valueDateTime", c.dateTime(v))
	case "IVL_TS":
		fhir.SetIf(o, "valuePeriod", c.period(v))
	case "IVL_PQ", "IVL_REAL", "IVL_INT":
		r := map[string]any{}
		fhir.SetIf(r, "low", c.simpleQuantity(v.child("low")))
		fhir.SetIf(r, "high", c.simpleQuantity(v.child("high")))
		if len(r) > 0 {
			o["valueRange"] = r
		} else if q := c.quantity(v.child("center")); q != nil {
			o["valueQuantity"] = q
		}
	case "RTO", "RTO_PQ_PQ", "RTO_INT_INT", "RTO_MO_PQ":
		num, den := c.quantity(v.child("numerator")), c.quantity(v.child("denominator"))
		if num != nil && den != nil {
			o["valueRatio"] = map[string]any{"numerator": num, "denominator": den}
		}
	default: // ST, ED, SC and vendor oddities keep their text
		if s := v.textContent(); s != "" {
			o["valueString"] = s
		} else if ref := v.child("reference"); ref != nil {
			fhir.SetIf(o, "valueString", c.narrativeText(ref.attr("value")))
		}
	}
	if o["valueQuantity"] == nil && o["valueString"] == nil && o["valueCodeableConcept"] == nil && o["valueRange"] == nil &&
		o["valueBoolean"] == nil && o["valueInteger"] == nil && o["valueDateTime"] == nil && o["valuePeriod"] == nil && o["valueRatio"] == nil {
		c.warn("value", v, "observation value of type "+typ+" could not be read")
	}
}

// simpleQuantity is a Quantity without a comparator, for ranges.
func (c *converter) simpleQuantity(n *node) map[string]any {
	if n == nil || n.attr("value") == "" {
		return nil
	}
	return c.quantity(n)
}

// referenceRange converts an observationRange; nil unless it has bounds or text.
func (c *converter) referenceRange(or *node) map[string]any {
	if or == nil {
		return nil
	}
	r := map[string]any{}
	if v := or.child("value"); v != nil {
		fhir.SetIf(r, "low", c.simpleQuantity(v.child("low")))
		fhir.SetIf(r, "high", c.simpleQuantity(v.child("high")))
	}
	text := c.entryText(or)
	if text == "" && r["low"] == nil && r["high"] == nil {
		if v := or.child("value"); v != nil && (v.xsiType() == "ST" || v.xsiType() == "") {
			text = v.textContent()
		}
	}
	fhir.SetIf(r, "text", text)
	if len(r) == 0 {
		return nil
	}
	return r
}

// birthSex puts the Birth Sex Observation on the Patient as the US Core extension.
// See https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-birthsex.html.
func (c *converter) birthSex(obs *node) {
	v := obs.child("value")
	code := codeValue(v)
	if code == "" && v.nullFlavor() == "UNK" {
		code = "UNK"
	}
	if code != "F" && code != "M" && code != "UNK" || c.patientRes == nil {
		c.warn("value", obs, "birth sex observation has no F, M or UNK value")
		return
	}
	ext, _ := c.patientRes["extension"].([]any)
	c.patientRes["extension"] = append(ext, map[string]any{"url": usCoreBirthSex, "valueCode": code})
}

package ccda

import (
	"omnichart/internal/fhir"
	"strings"
)

const conditionCategory = "http://terminology.hl7.org/CodeSystem/condition-category"

// problemConcern converts a Problem Concern Act (or Health Concern Act): each
// Problem Observation inside becomes a Condition; the act only lends its status
// and dates. See https://build.fhir.org/ig/HL7/ccda-on-fhir/CF-problems.html.
func (c *converter) problemConcern(act *node, category string) []string {
	var out []string
	for _, st := range relationships(act, "") {
		if st.name != "observation" {
			continue
		}
		if st.hasTemplate(tplProblemObs) || isProblemLike(st) {
			if u := c.condition(st, act, category); u != "" {
				out = append(out, u)
			}
		}
	}
	if len(out) == 0 {
		c.inform("not-found", act, "concern act has no problem observation")
	}
	return out
}

// problemStatus maps the Problem Status observation value (SNOMED CT) to
// Condition.clinicalStatus. See http://hl7.org/fhir/us/ccda/ConceptMap/CF-ProblemStatus.
var problemStatus = map[string]string{
	"55561003": "active", "73425007": "inactive", "413322009": "resolved",
	"246455001": "recurrence", "263855007": "relapse", "277022003": "remission",
}

// condition converts a Problem Observation.
func (c *converter) condition(obs, concern *node, category string) string {
	cond := map[string]any{"resourceType": "Condition"}
	fhir.SetIf(cond, "identifier", c.identifiers(obs))
	catSystem := conditionCategory
	if category == "health-concern" {
		catSystem = "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
	}
	cond["category"] = []any{cc(catSystem, category, "")}
	code := c.concept(obs.child("value"))
	if code == nil {
		if t := c.entryText(obs); t != "" {
			code = map[string]any{"text": t}
		}
	}
	if code == nil {
		c.warn("required", obs, "problem observation has no value; Condition.code is absent")
		code = dataAbsentConcept(absentReason(obs.child("value").nullFlavor()))
	}
	cond["code"] = code
	cond["subject"] = ref(c.patientURL)
	et := obs.child("effectiveTime")
	onset := c.dateTime(et.child("low"))
	if onset == "" {
		onset = c.dateTime(et)
	}
	fhir.SetIf(cond, "onsetDateTime", onset)
	abatement := c.dateTime(et.child("high"))

	status := ""
	for _, st := range relationships(obs, "REFR") {
		if st.hasTemplate(tplProblemStatus) {
			status = problemStatus[codeValue(st.child("value"))]
		}
	}
	if status == "" {
		switch {
		case abatement != "":
			status = "resolved"
		case concern != nil && codeValue(concern.child("statusCode")) == "completed" && concern.path("effectiveTime", "high") != nil:
			status = "resolved"
		case concern != nil && codeValue(concern.child("statusCode")) == "suspended":
			status = "inactive"
		default:
			status = "active"
		}
	}
	switch status {
	case "inactive", "resolved", "remission":
		fhir.SetIf(cond, "abatementDateTime", abatement)
	}
	verification := "confirmed"
	if negated(obs) {
		verification = "refuted"
	}
	cond["clinicalStatus"] = cc("http://terminology.hl7.org/CodeSystem/condition-clinical", status, "")
	cond["verificationStatus"] = cc("http://terminology.hl7.org/CodeSystem/condition-ver-status", verification, "")
	var sites []any
	for _, t := range obs.children("targetSiteCode") {
		sites = appendAll(sites, c.concept(t))
	}
	fhir.SetIf(cond, "bodySite", sites)
	recorded := c.authorTime(obs)
	if recorded == "" && concern != nil {
		recorded = c.authorTime(concern)
	}
	fhir.SetIf(cond, "recordedDate", recorded)
	return c.add(cond)
}

// isProblemLike recognises problem observations of documents that use older (IHE,
// C32) templates: an observation with a value that is not one of the helpers a
// Problem Observation carries (status, health status, age, severity).
func isProblemLike(st *node) bool {
	if st.child("value") == nil || st.hasTemplate(
		"2.16.840.1.113883.10.20.1.50", "2.16.840.1.113883.10.20.1.51", "2.16.840.1.113883.10.20.1.38") {
		return false
	}
	// Any other C-CDA entry template (status, severity, age, priority, ...) is a
	// helper of the problem, not a problem.
	for _, t := range st.templateIDs() {
		if strings.HasPrefix(t, "2.16.840.1.113883.10.20.22.4.") {
			return false
		}
	}
	switch codeValue(st.child("code")) {
	case "33999-4", "11323-3", "445518008", "SEV", "30954-2":
		return false
	}
	return true
}

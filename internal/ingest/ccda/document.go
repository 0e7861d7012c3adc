package ccda

import (
	"omnichart/internal/fhir"
	"strings"
)

// listEmptyReason is the code system of Composition.section.emptyReason.
const listEmptyReason = "http://terminology.hl7.org/CodeSystem/list-empty-reason"

// document converts the header and body and returns the Composition.
// See https://build.fhir.org/ig/HL7/ccda-on-fhir/CF-index.html.
func (c *converter) document() map[string]any {
	c.patient()
	authors := c.authors()
	var custodian string
	if org := c.doc.path("custodian", "assignedCustodian", "representedCustodianOrganization"); org != nil {
		custodian = c.organization(org)
	}
	encounter := c.encompassingEncounter()

	comp := map[string]any{"resourceType": "Composition", "status": "final"}
	if id := c.identifier(c.doc.child("id")); id != nil {
		comp["identifier"] = id
	}
	docCode := c.doc.child("code")
	typ := c.concept(docCode)
	if typ == nil {
		c.warn("required", c.doc, "document has no code; Composition.type is unknown")
		typ = dataAbsentConcept("unknown")
	}
	comp["type"] = typ
	comp["subject"] = ref(c.patientURL)
	fhir.SetIf(comp, "encounter", ref(encounter))
	date := c.dateTime(c.doc.child("effectiveTime"))
	if date == "" {
		date = c.formatNow()
		c.warn("required", c.doc, "document has no usable effectiveTime; Composition.date is the import time")
	}
	comp["date"] = date
	if len(authors) == 0 {
		if custodian != "" {
			authors = []any{ref(custodian)}
		} else {
			authors = []any{map[string]any{"display": "Unknown author"}}
		}
		c.warn("required", c.doc, "document has no usable author")
	}
	comp["author"] = authors
	title := c.doc.child("title").textContent()
	if title == "" {
		title = docCode.attr("displayName")
	}
	if title == "" {
		title = "Clinical document"
	}
	comp["title"] = title
	if conf := codeValue(c.doc.child("confidentialityCode")); conf != "" && strings.Contains("U L M N R V", conf) && len(conf) == 1 {
		comp["confidentiality"] = conf
	}
	if la := c.doc.child("legalAuthenticator"); la != nil {
		if u := c.practitioner(la.child("assignedEntity")); u != "" {
			att := map[string]any{"mode": "legal", "party": ref(u)}
			fhir.SetIf(att, "time", c.dateTime(la.child("time")))
			comp["attester"] = []any{att}
		}
	}
	fhir.SetIf(comp, "custodian", ref(custodian))
	var events []any
	for _, d := range c.doc.children("documentationOf") {
		se := d.child("serviceEvent")
		if se == nil {
			continue
		}
		ev := map[string]any{}
		if code := c.concept(se.child("code")); code != nil {
			ev["code"] = []any{code}
		}
		fhir.SetIf(ev, "period", c.period(se.child("effectiveTime")))
		var who []any
		for _, p := range se.children("performer") {
			if u := c.practitioner(p.child("assignedEntity")); u != "" {
				who = append(who, ref(u))
			}
		}
		fhir.SetIf(ev, "detail", who)
		if len(ev) > 0 {
			events = append(events, ev)
		}
	}
	fhir.SetIf(comp, "event", events)

	var relates []any
	for _, rd := range c.doc.children("relatedDocument") {
		code := map[string]string{"RPLC": "replaces", "APND": "appends", "XFRM": "transforms"}[rd.attr("typeCode")]
		if id := c.identifier(rd.path("parentDocument", "id")); code != "" && id != nil {
			relates = append(relates, map[string]any{"code": code, "targetIdentifier": id})
		}
	}
	fhir.SetIf(comp, "relatesTo", relates)

	body := c.doc.path("component", "structuredBody")
	var sections []any
	if body != nil {
		for _, sc := range body.children("component") {
			if s := c.section(sc.child("section"), 0); s != nil {
				sections = append(sections, s)
			}
		}
	} else if nx := c.doc.path("component", "nonXMLBody"); nx != nil {
		sections = appendAll(sections, c.nonXMLBody(nx, typ))
	} else {
		c.warn("structure", c.doc, "document has neither a structuredBody nor a nonXMLBody")
	}
	fhir.SetIf(comp, "section", sections)
	if isCarePlan(c.doc) {
		c.carePlan(encounter)
	}
	return comp
}

func (c *converter) formatNow() string {
	return c.opts.Now().Format("2006-01-02T15:04:05-07:00")
}

// section converts one section, its entries and its subsections.
func (c *converter) section(sec *node, depth int) map[string]any {
	if sec == nil || depth > 8 {
		return nil
	}
	kind := kindOf(sec)
	s := map[string]any{}
	fhir.SetIf(s, "title", sec.child("title").textContent())
	fhir.SetIf(s, "code", c.concept(sec.child("code")))
	var refs []any
	for _, e := range sec.children("entry") {
		for _, u := range c.entry(e, kind, sec) {
			refs = append(refs, ref(u))
		}
	}
	if div := narrative(sec.child("text")); div != "" {
		s["text"] = map[string]any{"status": "generated", "div": div}
	}
	fhir.SetIf(s, "entry", refs)
	var subs []any
	for _, sc := range sec.children("component") {
		subs = appendAll(subs, c.section(sc.child("section"), depth+1))
	}
	fhir.SetIf(s, "section", subs)
	if s["text"] == nil && len(refs) == 0 && len(subs) == 0 {
		reason := "unavailable"
		if sec.nullFlavor() == "NI" || sec.nullFlavor() == "NASK" {
			reason = "notasked"
		}
		s["emptyReason"] = cc(listEmptyReason, reason, "")
		s["text"] = map[string]any{"status": "empty", "div": `<div xmlns="http://www.w3.org/1999/xhtml">No information</div>`}
	}
	return s
}

// nonXMLBody turns an unstructured document's body into a DocumentReference,
// keeping embedded content (base64) or the reference to it.
func (c *converter) nonXMLBody(nx *node, typ map[string]any) map[string]any {
	t := nx.child("text")
	att := map[string]any{}
	fhir.SetIf(att, "contentType", strings.TrimSpace(t.attr("mediaType")))
	if ref := t.child("reference"); ref != nil {
		fhir.SetIf(att, "url", strings.TrimSpace(ref.attr("value")))
	} else if t.attr("representation") == "B64" {
		data := strings.Join(strings.Fields(t.textContent()), "")
		fhir.SetIf(att, "data", data)
	} else if s := t.textContent(); s != "" {
		if att["contentType"] == nil {
			att["contentType"] = "text/plain"
		}
		att["data"] = base64Std(s)
	}
	if len(att) == 0 {
		c.warn("required", nx, "nonXMLBody has no content")
		return nil
	}
	dr := map[string]any{
		"resourceType": "DocumentReference",
		"status":       "current",
		"type":         typ,
		"subject":      ref(c.patientURL),
		"content":      []any{map[string]any{"attachment": att}},
	}
	u := c.add(dr)
	return map[string]any{
		"title": "Document content",
		"text": map[string]any{"status": "generated",
			"div": `<div xmlns="http://www.w3.org/1999/xhtml">The document body is attached to the referenced DocumentReference.</div>`},
		"entry": []any{ref(u)},
	}
}

// clinicalStatements returns the act, observation, ... under an entry or
// entryRelationship.
func clinicalStatements(n *node) []*node {
	var out []*node
	for _, k := range n.elements() {
		switch k.name {
		case "act", "observation", "substanceAdministration", "supply", "procedure", "encounter", "organizer", "regionOfInterest", "observationMedia":
			out = append(out, k)
		}
	}
	return out
}

// entry converts one section entry and returns the fullUrls of the resources the
// section should list.
func (c *converter) entry(e *node, kind sectionKind, sec *node) []string {
	var out []string
	for _, st := range clinicalStatements(e) {
		out = append(out, c.statement(st, kind)...)
	}
	return out
}

// statement dispatches by entry template first, then by section kind and element
// name for documents that leave templates out.
func (c *converter) statement(st *node, kind sectionKind) []string {
	one := func(u string) []string {
		if u == "" {
			return nil
		}
		return []string{u}
	}
	switch {
	case st.attr("moodCode") == "GOL" && st.name == "observation":
		return one(c.goal(st))
	case st.hasTemplate(tplEncounterDiagnosis, tplDischargeDiagnosis, tplAdmissionDiagnosis, tplPreopDiagnosis, tplPostprocDiagnosis):
		return c.problemConcern(st, "encounter-diagnosis")
	case st.hasTemplate(tplFamilyHistory):
		return one(c.familyHistory(st))
	case st.hasTemplate(tplProblemConcern):
		return c.problemConcern(st, problemCategory(kind))
	case st.hasTemplate(tplHealthConcern):
		return c.problemConcern(st, "health-concern")
	case st.hasTemplate(tplProblemObs):
		return one(c.condition(st, nil, problemCategory(kind)))
	case st.hasTemplate(tplAllergyConcern):
		return c.allergyConcern(st)
	case st.hasTemplate(tplAllergyObs):
		return one(c.allergy(st, nil))
	case st.hasTemplate(tplDischargeMed, tplAdmissionMed) || kind == medicationSection && st.name == "act":
		// Discharge and admission medication acts only wrap Medication Activities.
		var out []string
		for _, sa := range relationships(st, "") {
			if sa.name == "substanceAdministration" {
				out = append(out, one(c.medication(sa, false))...)
			}
		}
		return out
	case st.hasTemplate(tplImmunization):
		return one(c.immunization(st))
	case st.hasTemplate(tplPlannedMed):
		return one(c.medication(st, true))
	case st.hasTemplate(tplMedActivity):
		if kind == immunizationSection {
			return one(c.immunization(st))
		}
		return one(c.medication(st, false))
	case st.hasTemplate(tplResultOrganizer):
		if kind == vitalSignSection {
			return c.vitalSigns(st)
		}
		return c.resultOrganizer(st)
	case st.hasTemplate(tplVitalOrganizer):
		return c.vitalSigns(st)
	case st.hasTemplate(tplVitalObs):
		return one(c.observation(st, "vital-signs"))
	case st.hasTemplate(tplResultObs):
		if kind == vitalSignSection {
			return one(c.observation(st, "vital-signs"))
		}
		return one(c.observation(st, "laboratory"))
	case st.hasTemplate(tplBirthSex):
		c.birthSex(st)
		return nil
	case st.hasTemplate(tplSmoking, tplTobaccoUse, tplSocialObs, tplPregnancy):
		return one(c.observation(st, "social-history"))
	case st.hasTemplate(tplEncounter):
		return c.encounter(st)
	case st.hasTemplate(tplPlannedEncounter, tplPlannedAct, tplPlannedProcedure, tplPlannedObs, tplReferralAct):
		return one(c.serviceRequest(st))
	case st.hasTemplate(tplProcedureProc, tplProcedureObs, tplProcedureAct):
		if isPlanMood(st) {
			return one(c.serviceRequest(st))
		}
		return one(c.procedure(st))
	case st.hasTemplate(tplGoal):
		return one(c.goal(st))
	case st.hasTemplate(tplInstruction, tplPlannedImmunize):
		return nil
	case st.hasTemplate(tplFunctionalObs, tplMentalObs, tplAssessmentScale):
		return one(c.observation(st, "survey"))
	}
	switch kind {
	case problemSection, healthConcernSection:
		if st.name == "act" {
			return c.problemConcern(st, problemCategory(kind))
		}
		if st.name == "observation" {
			return one(c.condition(st, nil, problemCategory(kind)))
		}
	case allergySection:
		if st.name == "act" {
			return c.allergyConcern(st)
		}
		if st.name == "observation" {
			return one(c.allergy(st, nil))
		}
	case medicationSection:
		if st.name == "substanceAdministration" {
			return one(c.medication(st, false))
		}
	case immunizationSection:
		if st.name == "substanceAdministration" {
			return one(c.immunization(st))
		}
	case resultSection:
		if st.name == "organizer" {
			return c.resultOrganizer(st)
		}
		if st.name == "observation" {
			return one(c.observation(st, "laboratory"))
		}
	case vitalSignSection:
		if st.name == "organizer" {
			return c.vitalSigns(st)
		}
		if st.name == "observation" {
			return one(c.observation(st, "vital-signs"))
		}
	case socialHistorySection:
		if st.name == "observation" {
			return one(c.observation(st, "social-history"))
		}
	case procedureSection:
		switch st.name {
		case "procedure", "act", "observation":
			if isPlanMood(st) {
				return one(c.serviceRequest(st))
			}
			return one(c.procedure(st))
		}
	case encounterSection:
		if st.name == "encounter" {
			return c.encounter(st)
		}
	case planSection:
		switch st.name {
		case "act", "procedure", "observation", "encounter":
			if isPlanMood(st) {
				return one(c.serviceRequest(st))
			}
		case "substanceAdministration":
			return one(c.medication(st, true))
		}
	case familyHistorySection:
		if st.name == "organizer" {
			return one(c.familyHistory(st))
		}
	case goalSection:
		if st.name == "observation" {
			return one(c.goal(st))
		}
	case functionalStatusSection:
		if st.name == "observation" {
			return one(c.observation(st, "survey"))
		}
		if st.name == "organizer" {
			var out []string
			for _, comp := range st.children("component") {
				for _, o := range comp.children("observation") {
					out = append(out, one(c.observation(o, "survey"))...)
				}
			}
			return out
		}
	}
	// Outside a known section, an element whose class says what it is still converts.
	switch st.name {
	case "encounter":
		return c.encounter(st)
	case "procedure":
		if isPlanMood(st) {
			return one(c.serviceRequest(st))
		}
		return one(c.procedure(st))
	case "substanceAdministration":
		if st.path("consumable", "manufacturedProduct", "manufacturedMaterial", "code").attr("codeSystem") == "2.16.840.1.113883.12.292" {
			return one(c.immunization(st))
		}
		return one(c.medication(st, false))
	case "observation":
		if st.child("value") != nil && !isPlanMood(st) && st.child("code") != nil {
			return one(c.observation(st, ""))
		}
	}
	c.inform("not-supported", st, "entry "+describeStatement(st)+" is not converted; the section narrative keeps it")
	return nil
}

// describeStatement names an entry by element and template ids only.
func describeStatement(st *node) string {
	s := st.name
	if ids := st.templateIDs(); len(ids) > 0 {
		s += " (templateId " + strings.Join(ids, ", ") + ")"
	}
	return s
}

func isPlanMood(st *node) bool {
	switch st.attr("moodCode") {
	case "INT", "RQO", "PRP", "PRMS", "ARQ", "APT":
		return true
	}
	return false
}

func problemCategory(kind sectionKind) string {
	if kind == healthConcernSection {
		return "health-concern"
	}
	return "problem-list-item"
}

// relationships returns the clinical statements under n's entryRelationships,
// optionally only those of one typeCode.
func relationships(n *node, typeCode string) []*node {
	var out []*node
	for _, er := range n.children("entryRelationship") {
		if typeCode != "" && er.attr("typeCode") != typeCode {
			continue
		}
		out = append(out, clinicalStatements(er)...)
	}
	return out
}

// negated reports negationInd="true".
func negated(n *node) bool {
	return strings.EqualFold(strings.TrimSpace(n.attr("negationInd")), "true")
}

// authorTime is the time of the first author of an entry.
func (c *converter) authorTime(n *node) string {
	for _, a := range n.children("author") {
		if t := c.dateTime(a.child("time")); t != "" {
			return t
		}
	}
	return ""
}

// dataAbsentConcept is a CodeableConcept that says why it is empty.
// See http://hl7.org/fhir/StructureDefinition/data-absent-reason.
func dataAbsentConcept(reason string) map[string]any {
	return map[string]any{"extension": []any{dataAbsentExtension(reason)}}
}

func dataAbsentExtension(reason string) map[string]any {
	return map[string]any{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": reason}
}

// nullFlavorReasons maps nullFlavor to data-absent-reason.
// See http://hl7.org/fhir/us/ccda/ConceptMap/CF-NullFlavorDataAbsentReason.
var nullFlavorReasons = map[string]string{
	"NI": "unknown", "OTH": "unsupported", "NINF": "negative-infinity", "PINF": "positive-infinity",
	"MSK": "masked", "NA": "not-applicable", "UNK": "unknown", "ASKU": "asked-unknown",
	"NAV": "temp-unknown", "NASK": "not-asked", "TRC": "unsupported", "NP": "unknown",
}

func absentReason(nullFlavor string) string {
	if r, ok := nullFlavorReasons[nullFlavor]; ok {
		return r
	}
	return "unknown"
}

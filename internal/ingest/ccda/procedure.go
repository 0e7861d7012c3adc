package ccda

import "omnichart/internal/fhir"

// procedureStatus maps statusCode. See
// http://hl7.org/fhir/us/ccda/ConceptMap/CF-ProcedureStatus.
var procedureStatus = map[string]string{
	"completed": "completed", "active": "in-progress", "aborted": "stopped", "cancelled": "not-done",
	"held": "on-hold", "suspended": "on-hold", "new": "preparation", "nullified": "entered-in-error",
}

// procedure converts a Procedure Activity Procedure, Observation or Act in event mood.
// See https://build.fhir.org/ig/HL7/ccda-on-fhir/CF-procedures.html.
func (c *converter) procedure(p *node) string {
	r := map[string]any{"resourceType": "Procedure"}
	fhir.SetIf(r, "identifier", c.identifiers(p))
	status := procedureStatus[codeValue(p.child("statusCode"))]
	if status == "" {
		status = "completed"
		if p.child("statusCode") == nil {
			status = "unknown"
		}
	}
	if negated(p) {
		status = "not-done"
	}
	r["status"] = status
	code := c.concept(p.child("code"))
	if code == nil {
		if t := c.entryText(p); t != "" {
			code = map[string]any{"text": t}
		}
	}
	fhir.SetIf(r, "code", code)
	r["subject"] = ref(c.patientURL)
	c.effective(r, "performed", p.child("effectiveTime"))
	var sites []any
	for _, t := range p.children("targetSiteCode") {
		sites = appendAll(sites, c.concept(t))
	}
	fhir.SetIf(r, "bodySite", sites)
	var perf []any
	for _, pf := range p.children("performer") {
		role := pf.child("assignedEntity")
		if u := c.practitioner(role); u != "" {
			perf = append(perf, map[string]any{"actor": ref(u)})
		} else if u := c.organization(role.child("representedOrganization")); u != "" {
			perf = append(perf, map[string]any{"actor": ref(u)})
		}
	}
	fhir.SetIf(r, "performer", perf)
	var reasons []any
	for _, st := range relationships(p, "RSON") {
		if st.hasTemplate(tplIndication) || st.name == "observation" {
			reasons = appendAll(reasons, c.concept(st.child("value")))
		}
	}
	fhir.SetIf(r, "reasonCode", reasons)
	return c.add(r)
}

// serviceRequest converts a planned act, procedure, observation or encounter, or a
// Patient Referral Act. See https://build.fhir.org/ig/HL7/ccda-on-fhir/CF-index.html.
func (c *converter) serviceRequest(n *node) string {
	r := map[string]any{"resourceType": "ServiceRequest"}
	fhir.SetIf(r, "identifier", c.identifiers(n))
	status := "active"
	switch codeValue(n.child("statusCode")) {
	case "completed":
		status = "completed"
	case "cancelled", "aborted":
		status = "revoked"
	case "nullified":
		status = "entered-in-error"
	case "held", "suspended":
		status = "on-hold"
	}
	r["status"] = status
	r["intent"] = requestIntent(n.attr("moodCode"), true)
	if n.hasTemplate(tplReferralAct) {
		r["intent"] = "order"
	}
	if negated(n) {
		r["doNotPerform"] = true
	}
	code := c.concept(n.child("code"))
	if code == nil {
		if t := c.entryText(n); t != "" {
			code = map[string]any{"text": t}
		}
	}
	fhir.SetIf(r, "code", code)
	r["subject"] = ref(c.patientURL)
	c.effective(r, "occurrence", n.child("effectiveTime"))
	fhir.SetIf(r, "authoredOn", c.authorTime(n))
	var reasons []any
	for _, st := range relationships(n, "RSON") {
		reasons = appendAll(reasons, c.concept(st.child("value")))
	}
	fhir.SetIf(r, "reasonCode", reasons)
	u := c.add(r)
	c.planned = append(c.planned, u)
	return u
}

// encounterStatus maps statusCode. See
// http://hl7.org/fhir/us/ccda/ConceptMap/CF-EncounterStatus.
var encounterStatus = map[string]string{
	"completed": "finished", "active": "in-progress", "aborted": "cancelled", "cancelled": "cancelled",
	"held": "planned", "new": "planned", "suspended": "onleave", "nullified": "entered-in-error",
}

// encounter converts an Encounter Activity; its Encounter Diagnoses become
// Conditions in category encounter-diagnosis.
// See https://build.fhir.org/ig/HL7/ccda-on-fhir/CF-encounters.html.
func (c *converter) encounter(n *node) []string {
	if isPlanMood(n) {
		if u := c.serviceRequest(n); u != "" {
			return []string{u}
		}
		return nil
	}
	e := map[string]any{"resourceType": "Encounter"}
	fhir.SetIf(e, "identifier", c.identifiers(n))
	et := n.child("effectiveTime")
	period := c.period(et)
	status := encounterStatus[codeValue(n.child("statusCode"))]
	if status == "" {
		status = "unknown"
		if period != nil && (period["end"] != nil || et.attr("value") != "") {
			status = "finished"
		}
	}
	e["status"] = status
	e["class"] = encounterClass(n.child("code"))
	if t := c.concept(n.child("code")); t != nil {
		e["type"] = []any{t}
	}
	e["subject"] = ref(c.patientURL)
	fhir.SetIf(e, "period", period)
	var parts []any
	for _, pf := range n.children("performer") {
		if u := c.practitioner(pf.child("assignedEntity")); u != "" {
			part := map[string]any{"individual": ref(u)}
			if t := c.concept(pf.child("functionCode")); t != nil {
				part["type"] = []any{t}
			}
			parts = append(parts, part)
		}
	}
	fhir.SetIf(e, "participant", parts)
	var locs []any
	for _, p := range n.children("participant") {
		if p.attr("typeCode") == "LOC" {
			if u := c.location(p.child("participantRole")); u != "" {
				locs = append(locs, map[string]any{"location": ref(u)})
			}
		}
	}
	fhir.SetIf(e, "location", locs)
	var out []string
	var diags, reasons []any
	for _, st := range relationships(n, "") {
		switch {
		case st.hasTemplate(tplEncounterDiagnosis) || st.name == "act" && codeValue(st.child("code")) == "29308-4":
			for _, po := range relationships(st, "") {
				if po.name == "observation" && (po.hasTemplate(tplProblemObs) || isProblemLike(po)) {
					if u := c.condition(po, nil, "encounter-diagnosis"); u != "" {
						out = append(out, u)
						diags = append(diags, map[string]any{"condition": ref(u)})
					}
				}
			}
		case st.hasTemplate(tplIndication):
			reasons = appendAll(reasons, c.concept(st.child("value")))
		}
	}
	// The encounter the document is about is often listed again as an Encounter
	// Activity with the same id; it stays one Encounter with the details merged.
	if u, ok := c.known[identityKey("Encounter", e)]; ok && c.encounters[u] != nil {
		prev := c.encounters[u]
		for _, k := range []string{"diagnosis", "reasonCode", "participant", "type", "period", "location"} {
			if prev[k] == nil && e[k] != nil {
				prev[k] = e[k]
			} else if pa, ok := prev[k].([]any); ok && k == "diagnosis" {
				prev[k] = append(pa, diags...)
			}
		}
		return append([]string{u}, out...)
	}
	fhir.SetIf(e, "diagnosis", diags)
	fhir.SetIf(e, "reasonCode", reasons)
	return append([]string{c.add(e)}, out...)
}

// goal converts a Goal Observation. C-CDA puts what is aimed at in code and the
// target in value. See https://build.fhir.org/ig/HL7/ccda-on-fhir/CF-index.html.
func (c *converter) goal(obs *node) string {
	g := map[string]any{"resourceType": "Goal"}
	fhir.SetIf(g, "identifier", c.identifiers(obs))
	status := "active"
	switch codeValue(obs.child("statusCode")) {
	case "completed":
		status = "completed"
	case "cancelled", "aborted":
		status = "cancelled"
	case "nullified":
		status = "entered-in-error"
	}
	g["lifecycleStatus"] = status
	code := c.concept(obs.child("code"))
	desc := code
	if t := c.entryText(obs); t != "" {
		desc = map[string]any{"text": t}
	} else if desc == nil {
		if v := c.concept(obs.child("value")); v != nil {
			desc = v
		}
	}
	if desc == nil {
		desc = dataAbsentConcept("unknown")
	}
	g["description"] = desc
	g["subject"] = ref(c.patientURL)
	et := obs.child("effectiveTime")
	start := c.date(et.child("low"))
	if start == "" {
		start = c.date(et)
	}
	fhir.SetIf(g, "startDate", start)
	if v := obs.child("value"); v != nil && code != nil {
		t := map[string]any{"measure": code}
		tmp := map[string]any{}
		c.value(tmp, v)
		for k, val := range tmp {
			switch k {
			case "valueQuantity":
				t["detailQuantity"] = val
			case "valueRange":
				t["detailRange"] = val
			case "valueCodeableConcept":
				t["detailCodeableConcept"] = val
			case "valueString":
				t["detailString"] = val
			case "valueBoolean":
				t["detailBoolean"] = val
			case "valueInteger":
				t["detailInteger"] = val
			case "valueRatio":
				t["detailRatio"] = val
			}
		}
		if due := c.date(et.child("high")); due != "" {
			t["dueDate"] = due
		}
		if len(t) > 1 {
			g["target"] = []any{t}
		}
	}
	u := c.add(g)
	c.goals = append(c.goals, u)
	return u
}

// isCarePlan reports a C-CDA Care Plan document (template 2.16.840.1.113883.10.20.22.1.15,
// LOINC 52521-2), whose plan becomes one CarePlan.
func isCarePlan(doc *node) bool {
	return doc.hasTemplate("2.16.840.1.113883.10.20.22.1.15") || codeValue(doc.child("code")) == "52521-2"
}

// carePlan gathers the document's goals and planned activities into a CarePlan.
func (c *converter) carePlan(encounter string) {
	if len(c.goals) == 0 && len(c.planned) == 0 {
		return
	}
	cp := map[string]any{"resourceType": "CarePlan", "status": "active", "intent": "plan",
		"category": []any{cc("http://hl7.org/fhir/us/core/CodeSystem/careplan-category", "assess-plan", "")},
		"subject":  ref(c.patientURL)}
	fhir.SetIf(cp, "encounter", ref(encounter))
	var goals, acts []any
	for _, g := range c.goals {
		goals = append(goals, ref(g))
	}
	for _, p := range c.planned {
		acts = append(acts, map[string]any{"reference": ref(p)})
	}
	fhir.SetIf(cp, "goal", goals)
	fhir.SetIf(cp, "activity", acts)
	c.add(cp)
}

// location converts a Service Delivery Location (2.16.840.1.113883.10.20.22.4.32)
// or a healthCareFacility; one place is one Location per document.
func (c *converter) location(role *node) string {
	if role == nil {
		return ""
	}
	l := map[string]any{"resourceType": "Location"}
	fhir.SetIf(l, "identifier", c.identifiers(role))
	name := role.path("playingEntity", "name").textContent()
	if name == "" {
		name = role.path("location", "name").textContent()
	}
	fhir.SetIf(l, "name", name)
	if t := c.concept(role.child("code")); t != nil {
		l["type"] = []any{t}
	}
	var tel []any
	for _, t := range role.children("telecom") {
		tel = appendAll(tel, contactPoint(t))
	}
	fhir.SetIf(l, "telecom", tel)
	addr := role.child("addr")
	if addr == nil {
		addr = role.path("location", "addr")
	}
	fhir.SetIf(l, "address", c.address(addr))
	if len(l) == 1 {
		return ""
	}
	key := identityKey("Location", l)
	if key == "" {
		key = "Location|name|" + name
	}
	if u, ok := c.known[key]; ok {
		return u
	}
	u := c.add(l)
	c.known[key] = u
	return u
}

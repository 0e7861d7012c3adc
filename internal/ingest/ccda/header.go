package ccda

import (
	"strings"

	"omnichart/internal/fhir"
)

const (
	usCoreRace      = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
	usCoreEthnicity = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
	usCoreBirthSex  = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"
	raceSystem      = "urn:oid:2.16.840.1.113883.6.238"
)

// patient converts recordTarget/patientRole.
// See https://build.fhir.org/ig/HL7/ccda-on-fhir/CF-patient.html.
func (c *converter) patient() {
	rts := c.doc.children("recordTarget")
	if len(rts) == 0 {
		c.warn("required", c.doc, "document has no recordTarget; an empty Patient is created")
	}
	if len(rts) > 1 {
		c.warn("not-supported", rts[1], "only the first recordTarget is converted")
	}
	var role *node
	if len(rts) > 0 {
		role = rts[0].child("patientRole")
	}
	p := map[string]any{"resourceType": "Patient"}
	fhir.SetIf(p, "identifier", c.identifiers(role))
	pt := role.child("patient")
	var names []any
	for _, n := range pt.children("name") {
		names = appendAll(names, humanName(n))
	}
	fhir.SetIf(p, "name", names)
	var tel []any
	for _, t := range role.children("telecom") {
		tel = appendAll(tel, contactPoint(t))
	}
	fhir.SetIf(p, "telecom", tel)
	if g := pt.child("administrativeGenderCode"); g != nil {
		switch codeValue(g) {
		case "M":
			p["gender"] = "male"
		case "F":
			p["gender"] = "female"
		case "UN":
			p["gender"] = "other"
		default:
			if g.nullFlavor() != "" || codeValue(g) == "UNK" {
				p["gender"] = "unknown"
			}
		}
	}
	if bt := pt.child("birthTime"); bt != nil {
		fhir.SetIf(p, "birthDate", c.date(bt))
	}
	if d := pt.child("sdtc:deceasedInd"); d != nil {
		switch d.attr("value") {
		case "true":
			p["deceasedBoolean"] = true
			if t := c.dateTime(pt.child("sdtc:deceasedTime")); t != "" {
				delete(p, "deceasedBoolean")
				p["deceasedDateTime"] = t
			}
		case "false":
			p["deceasedBoolean"] = false
		}
	}
	var addrs []any
	for _, a := range role.children("addr") {
		addrs = appendAll(addrs, c.address(a))
	}
	fhir.SetIf(p, "address", addrs)
	fhir.SetIf(p, "maritalStatus", c.concept(pt.child("maritalStatusCode")))
	var ext []any
	ext = appendAll(ext, c.ombExtension(usCoreRace, append(pt.children("raceCode"), pt.children("sdtc:raceCode")...)))
	ext = appendAll(ext, c.ombExtension(usCoreEthnicity, append(pt.children("ethnicGroupCode"), pt.children("sdtc:ethnicGroupCode")...)))
	fhir.SetIf(p, "extension", ext)
	var comms []any
	for _, lc := range pt.children("languageCommunication") {
		lang := c.concept(lc.child("languageCode"))
		if lang == nil {
			continue
		}
		for _, cd := range fhir.Array(lang, "coding") {
			cd.(map[string]any)["system"] = "urn:ietf:bcp:47"
		}
		com := map[string]any{"language": lang}
		if pi := lc.child("preferenceInd"); pi != nil && (pi.attr("value") == "true" || pi.attr("value") == "false") {
			com["preferred"] = pi.attr("value") == "true"
		}
		comms = append(comms, com)
	}
	fhir.SetIf(p, "communication", comms)
	var contacts []any
	for _, g := range pt.children("guardian") {
		contacts = appendAll(contacts, c.contact(g, g.child("guardianPerson"), "GUARD"))
	}
	for _, part := range c.doc.children("participant") {
		if part.attr("typeCode") != "IND" {
			continue
		}
		ae := part.child("associatedEntity")
		contacts = appendAll(contacts, c.contact(ae, ae.child("associatedPerson"), ae.attr("classCode")))
	}
	fhir.SetIf(p, "contact", contacts)
	if org := role.child("providerOrganization"); org != nil {
		if u := c.organization(org); u != "" {
			p["managingOrganization"] = ref(u)
		}
	}
	c.patientRes = p
	c.patientURL = c.addConditional(p)
}

// ombExtension builds the US Core race or ethnicity extension: OMB categories go in
// ombCategory, anything finer in detailed, and text summarises them.
// See https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-race.html.
func (c *converter) ombExtension(url string, codes []*node) map[string]any {
	var parts []any
	var texts []string
	for _, n := range codes {
		code := codeValue(n)
		if code == "" {
			if nf := n.nullFlavor(); nf == "UNK" || nf == "ASKU" {
				parts = append(parts, map[string]any{"url": "ombCategory", "valueCoding": map[string]any{
					"system": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "code": nf}})
				texts = append(texts, map[string]string{"UNK": "Unknown", "ASKU": "Asked but no answer"}[nf])
			}
			continue
		}
		cd := map[string]any{"system": raceSystem, "code": code}
		d := strings.TrimSpace(n.attr("displayName"))
		if d != "" {
			cd["display"] = d
			texts = append(texts, d)
		} else {
			texts = append(texts, code)
		}
		kind := "detailed"
		if ombCategories[code] {
			kind = "ombCategory"
		}
		parts = append(parts, map[string]any{"url": kind, "valueCoding": cd})
	}
	if len(parts) == 0 {
		return nil
	}
	parts = append(parts, map[string]any{"url": "text", "valueString": strings.Join(texts, ", ")})
	return map[string]any{"url": url, "extension": parts}
}

// ombCategories are the OMB minimum race and ethnicity categories.
var ombCategories = map[string]bool{
	"1002-5": true, "2028-9": true, "2054-5": true, "2076-8": true, "2106-3": true,
	"2135-2": true, "2186-5": true,
}

// practitioner converts an assignedAuthor, assignedEntity or performer role with a
// person; it returns "" when there is no person to speak of.
func (c *converter) practitioner(role *node) string {
	if role == nil || role.child("assignedAuthoringDevice") != nil {
		return ""
	}
	person := role.child("assignedPerson")
	if person == nil {
		person = role.child("associatedPerson")
	}
	ids := c.identifiers(role)
	var names []any
	for _, n := range person.children("name") {
		names = appendAll(names, humanName(n))
	}
	if len(names) == 0 && len(ids) == 0 {
		return ""
	}
	p := map[string]any{"resourceType": "Practitioner"}
	fhir.SetIf(p, "identifier", ids)
	fhir.SetIf(p, "name", names)
	var tel []any
	for _, t := range role.children("telecom") {
		tel = appendAll(tel, contactPoint(t))
	}
	fhir.SetIf(p, "telecom", tel)
	var addrs []any
	for _, a := range role.children("addr") {
		addrs = appendAll(addrs, c.address(a))
	}
	fhir.SetIf(p, "address", addrs)
	if q := c.concept(role.child("code")); q != nil {
		p["qualification"] = []any{map[string]any{"code": q}}
	}
	return c.addParty(p)
}

// organization converts an organization element (representedOrganization,
// providerOrganization, representedCustodianOrganization, ...).
func (c *converter) organization(org *node) string {
	if org == nil || org.nullFlavor() != "" && len(org.elements()) == 0 {
		return ""
	}
	o := map[string]any{"resourceType": "Organization"}
	fhir.SetIf(o, "identifier", c.identifiers(org))
	var name string
	for _, n := range org.children("name") {
		if name = n.textContent(); name != "" {
			break
		}
	}
	fhir.SetIf(o, "name", name)
	if name == "" && o["identifier"] == nil {
		return ""
	}
	var tel []any
	for _, t := range org.children("telecom") {
		tel = appendAll(tel, contactPoint(t))
	}
	fhir.SetIf(o, "telecom", tel)
	var addrs []any
	for _, a := range org.children("addr") {
		addrs = appendAll(addrs, c.address(a))
	}
	fhir.SetIf(o, "address", addrs)
	if key := "Organization|name|" + name; o["identifier"] == nil {
		if u, ok := c.known[key]; ok {
			return u
		}
		u := c.add(o)
		c.known[key] = u
		return u
	}
	return c.addParty(o)
}

// device converts an assignedAuthoringDevice: the EHR system that wrote the document.
func (c *converter) device(role *node) string {
	dev := role.child("assignedAuthoringDevice")
	if dev == nil {
		return ""
	}
	d := map[string]any{"resourceType": "Device"}
	fhir.SetIf(d, "identifier", c.identifiers(role))
	var names []any
	if m := dev.child("manufacturerModelName").textContent(); m != "" {
		names = append(names, map[string]any{"name": m, "type": "model-name"})
	}
	if s := dev.child("softwareName").textContent(); s != "" {
		names = append(names, map[string]any{"name": s, "type": "other"})
	}
	fhir.SetIf(d, "deviceName", names)
	if org := role.child("representedOrganization"); org != nil {
		fhir.SetIf(d, "owner", ref(c.organization(org)))
	}
	return c.add(d)
}

// authors converts the document authors and returns references to them.
func (c *converter) authors() []any {
	var out []any
	for _, a := range c.doc.children("author") {
		role := a.child("assignedAuthor")
		if role == nil {
			continue
		}
		if u := c.practitioner(role); u != "" {
			out = append(out, ref(u))
			if org := role.child("representedOrganization"); org != nil {
				c.organization(org)
			}
			continue
		}
		if u := c.device(role); u != "" {
			out = append(out, ref(u))
			continue
		}
		if org := role.child("representedOrganization"); org != nil {
			if u := c.organization(org); u != "" {
				out = append(out, ref(u))
			}
		}
	}
	return out
}

// encompassingEncounter converts componentOf/encompassingEncounter.
func (c *converter) encompassingEncounter() string {
	ee := c.doc.path("componentOf", "encompassingEncounter")
	if ee == nil {
		return ""
	}
	e := map[string]any{"resourceType": "Encounter", "status": "finished"}
	fhir.SetIf(e, "identifier", c.identifiers(ee))
	e["class"] = encounterClass(ee.child("code"))
	if t := c.concept(ee.child("code")); t != nil {
		e["type"] = []any{t}
	}
	e["subject"] = ref(c.patientURL)
	if p := c.period(ee.child("effectiveTime")); p != nil {
		e["period"] = p
		if p["end"] == nil {
			e["status"] = "in-progress"
		}
	}
	var parts []any
	for _, r := range ee.path("responsibleParty").children("assignedEntity") {
		if u := c.practitioner(r); u != "" {
			parts = append(parts, map[string]any{"individual": ref(u),
				"type": []any{cc("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "PPRF", "primary performer")}})
		}
	}
	for _, ep := range ee.children("encounterParticipant") {
		if u := c.practitioner(ep.child("assignedEntity")); u != "" {
			part := map[string]any{"individual": ref(u)}
			if tc := ep.attr("typeCode"); tc != "" {
				part["type"] = []any{cc("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", tc, "")}
			}
			parts = append(parts, part)
		}
	}
	fhir.SetIf(e, "participant", parts)
	if dd := ee.child("dischargeDispositionCode"); dd != nil {
		if d := c.concept(dd); d != nil {
			e["hospitalization"] = map[string]any{"dischargeDisposition": d}
		}
	}
	if hcf := ee.path("location", "healthCareFacility"); hcf != nil {
		if u := c.location(hcf); u != "" {
			e["location"] = []any{map[string]any{"location": ref(u)}}
		}
		if org := hcf.child("serviceProviderOrganization"); org != nil {
			fhir.SetIf(e, "serviceProvider", ref(c.organization(org)))
		}
	}
	u := c.add(e)
	if key := identityKey("Encounter", e); key != "" {
		c.known[key] = u
		c.encounters[u] = e
	}
	return u
}

// encounterClass maps an encounter code to the v3 ActCode class FHIR requires;
// C-CDA codes are often CPT, so unknown ones become ambulatory.
func encounterClass(code *node) map[string]any {
	const sys = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	switch c := codeValue(code); c {
	case "AMB", "EMER", "FLD", "HH", "IMP", "ACUTE", "NONAC", "OBSENC", "PRENC", "SS", "VR":
		if code.attr("codeSystem") == "2.16.840.1.113883.5.4" {
			return map[string]any{"system": sys, "code": c}
		}
	}
	return map[string]any{"system": sys, "code": "AMB", "display": "ambulatory"}
}

// contact converts a guardian or a document participant (emergency contact, next
// of kin) to Patient.contact; nil when it gives no name, address or telecom, since
// a contact without them is invalid (pat-1). The role class says what kind of
// contact it is; the family relationship code is kept beside it as given.
func (c *converter) contact(role, person *node, class string) map[string]any {
	if role == nil {
		return nil
	}
	ct := map[string]any{}
	var rels []any
	switch class {
	case "ECON":
		rels = append(rels, cc("http://terminology.hl7.org/CodeSystem/v2-0131", "C", "Emergency Contact"))
	case "NOK":
		rels = append(rels, cc("http://terminology.hl7.org/CodeSystem/v2-0131", "N", "Next-of-Kin"))
	case "GUARD":
		rels = append(rels, cc("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "GUARD", "guardian"))
	}
	rels = appendAll(rels, c.concept(role.child("code")))
	fhir.SetIf(ct, "relationship", rels)
	for _, n := range person.children("name") {
		if hn := humanName(n); hn != nil {
			ct["name"] = hn
			break
		}
	}
	var tel []any
	for _, t := range role.children("telecom") {
		tel = appendAll(tel, contactPoint(t))
	}
	fhir.SetIf(ct, "telecom", tel)
	for _, a := range role.children("addr") {
		if ad := c.address(a); ad != nil {
			ct["address"] = ad
			break
		}
	}
	if ct["name"] == nil && ct["telecom"] == nil && ct["address"] == nil {
		return nil
	}
	return ct
}

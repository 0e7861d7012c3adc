package ccda

import "omnichart/internal/fhir"

// allergyConcern converts an Allergy Concern Act: each Allergy - Intolerance
// Observation inside becomes an AllergyIntolerance.
// See https://build.fhir.org/ig/HL7/ccda-on-fhir/CF-allergies.html.
func (c *converter) allergyConcern(act *node) []string {
	var out []string
	for _, st := range relationships(act, "") {
		if st.name != "observation" {
			continue
		}
		if st.hasTemplate(tplAllergyObs) || len(st.templateIDs()) == 0 || st.path("participant", "participantRole", "playingEntity") != nil {
			if u := c.allergy(st, act); u != "" {
				out = append(out, u)
			}
		}
	}
	if len(out) == 0 {
		c.inform("not-found", act, "allergy concern act has no allergy observation")
	}
	return out
}

// noKnownAllergy maps the value of a negated allergy observation to the SNOMED CT
// "no known ..." concept. See http://hl7.org/fhir/us/ccda/ConceptMap/CF-NoKnownAllergies.
var noKnownAllergy = map[string][2]string{
	"419199007": {"716186003", "No known allergy"},
	"418038007": {"716186003", "No known allergy"},
	"416098002": {"409137002", "No known drug allergy"},
	"419511003": {"409137002", "No known drug allergy"},
	"414285001": {"429625007", "No known food allergy"},
	"418471000": {"429625007", "No known food allergy"},
	"426232007": {"428607008", "No known environmental allergy"},
	"232347008": {"428607008", "No known environmental allergy"},
}

// allergyKind maps the allergy observation value (SNOMED CT) to type and category.
// See http://hl7.org/fhir/us/ccda/ConceptMap/CF-AllergyIntoleranceType and
// CF-AllergyIntoleranceCategory.
var allergyKind = map[string][2]string{
	"419199007": {"allergy", ""},
	"416098002": {"allergy", "medication"},
	"414285001": {"allergy", "food"},
	"426232007": {"allergy", "environment"},
	"232347008": {"allergy", "environment"},
	"59037007":  {"intolerance", "medication"},
	"235719002": {"intolerance", "food"},
	"420134006": {"", ""},
	"418038007": {"", ""},
	"419511003": {"", "medication"},
	"418471000": {"", "food"},
}

var allergyStatus = map[string]string{
	"55561003": "active", "73425007": "inactive", "413322009": "resolved",
}

var severityCodes = map[string]string{
	"255604002": "mild", "6736007": "moderate", "24484000": "severe",
	"371923003": "mild", "371924009": "moderate", "399166001": "severe", "442452003": "severe",
}

var criticalityCodes = map[string]string{"CRITL": "low", "CRITH": "high", "CRITU": "unable-to-assess"}

// allergy converts an Allergy - Intolerance Observation.
func (c *converter) allergy(obs, concern *node) string {
	a := map[string]any{"resourceType": "AllergyIntolerance"}
	fhir.SetIf(a, "identifier", c.identifiers(obs))
	value := obs.child("value")
	kind := allergyKind[codeValue(value)]
	fhir.SetIf(a, "type", kind[0])
	if kind[1] != "" {
		a["category"] = []any{kind[1]}
	}
	subst := obs.path("participant", "participantRole", "playingEntity", "code")
	code := c.concept(subst)
	if code == nil {
		if n := obs.path("participant", "participantRole", "playingEntity", "name").textContent(); n != "" {
			code = map[string]any{"text": n}
		}
	}
	verification := "confirmed"
	clinical := ""
	if negated(obs) {
		if nk, ok := noKnownAllergy[codeValue(value)]; ok && code == nil {
			code = cc("http://snomed.info/sct", nk[0], nk[1])
			clinical = "active"
		} else {
			verification = "refuted"
		}
	}
	fhir.SetIf(a, "code", code)
	if code == nil {
		c.warn("required", obs, "allergy observation names no substance")
	}
	a["patient"] = ref(c.patientURL)
	et := obs.child("effectiveTime")
	onset := c.dateTime(et.child("low"))
	if onset == "" {
		onset = c.dateTime(et)
	}
	fhir.SetIf(a, "onsetDateTime", onset)
	recorded := c.authorTime(obs)
	if recorded == "" && concern != nil {
		recorded = c.authorTime(concern)
	}
	fhir.SetIf(a, "recordedDate", recorded)

	var topSeverity string
	var reactions []any
	for _, st := range relationships(obs, "") {
		switch {
		case st.hasTemplate(tplAllergyStatus):
			if s := allergyStatus[codeValue(st.child("value"))]; s != "" && clinical == "" {
				clinical = s
			}
		case st.hasTemplate(tplCriticality):
			fhir.SetIf(a, "criticality", criticalityCodes[codeValue(st.child("value"))])
		case st.hasTemplate(tplSeverity):
			topSeverity = severityCodes[codeValue(st.child("value"))]
		case st.hasTemplate(tplReaction) || st.parent.attr("typeCode") == "MFST" && st.name == "observation":
			if r := c.reaction(st); r != nil {
				reactions = append(reactions, r)
			}
		}
	}
	if topSeverity != "" {
		for _, r := range reactions {
			rm := r.(map[string]any)
			if rm["severity"] == nil {
				rm["severity"] = topSeverity
			}
		}
	}
	fhir.SetIf(a, "reaction", reactions)
	if clinical == "" {
		switch {
		case c.dateTime(et.child("high")) != "":
			clinical = "resolved"
		case concern != nil && codeValue(concern.child("statusCode")) == "completed" && concern.path("effectiveTime", "high") != nil:
			clinical = "resolved"
		default:
			clinical = "active"
		}
	}
	a["clinicalStatus"] = cc("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", clinical, "")
	a["verificationStatus"] = cc("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", verification, "")
	return c.add(a)
}

// reaction converts a Reaction Observation; nil when it names no manifestation.
func (c *converter) reaction(obs *node) map[string]any {
	m := c.concept(obs.child("value"))
	if m == nil {
		if t := c.entryText(obs); t != "" {
			m = map[string]any{"text": t}
		}
	}
	if m == nil {
		return nil
	}
	r := map[string]any{"manifestation": []any{m}}
	et := obs.child("effectiveTime")
	onset := c.dateTime(et.child("low"))
	if onset == "" {
		onset = c.dateTime(et)
	}
	fhir.SetIf(r, "onset", onset)
	for _, st := range relationships(obs, "") {
		if st.hasTemplate(tplSeverity) {
			fhir.SetIf(r, "severity", severityCodes[codeValue(st.child("value"))])
		}
	}
	return r
}

package directory

import (
	"regexp"
	"sort"
)

// Term is one abbreviation the directory pages use, with its expansion and what it
// means for someone choosing or connecting an EMR.
type Term struct {
	Abbreviation string
	Expansion    string
	Meaning      string
}

// Glossary lists every abbreviation of the directory pages, in alphabetical
// order. Pages explain an abbreviation where it appears (an <abbr> title from
// Expand) and link the glossary page, which lists them all.
var Glossary = sortedTerms([]Term{
	{"ADT", "Admission, Discharge and Transfer", "HL7 v2 messages an EMR sends when a patient is registered, admitted, moved or discharged; they carry the patient's demographics."},
	{"API", "Application Programming Interface", "A way for other software to read or write the EMR's data directly."},
	{"C-CDA", "Consolidated Clinical Document Architecture", "The XML document standard for clinical summaries (CCD, discharge summary, referral note) that certified EMRs exchange."},
	{"CCD", "Continuity of Care Document", "The C-CDA document that summarises a patient's record: problems, medications, allergies, results, encounters."},
	{"CDA", "Clinical Document Architecture", "HL7's XML standard for clinical documents, of which C-CDA is a profile."},
	{"CHPL", "Certified Health IT Product List", "The ONC's public list of certified EMR products and versions, each with a CHPL product number."},
	{"CMS", "Centers for Medicare & Medicaid Services", "The US agency whose programs require certified EMRs and quality reporting."},
	{"CPOE", "Computerized Provider Order Entry", "Clinicians place medication, laboratory and imaging orders in the EMR."},
	{"CQM", "Clinical Quality Measure", "A measure of care quality computed from the record and reported to CMS."},
	{"EHR", "Electronic Health Record", "The record that integrates what every system that treated a patient recorded; Omnichart is one."},
	{"EMR", "Electronic Medical Record", "The record one enterprise (a hospital, a clinic) keeps of its patients; the certified products listed here are EMRs."},
	{"FHIR", "Fast Healthcare Interoperability Resources", "HL7's standard for exchanging health data over a web API (Omnichart speaks FHIR R4)."},
	{"HL7", "Health Level Seven", "The standards organisation behind HL7 v2, CDA and FHIR."},
	{"HL7 v2", "Health Level Seven version 2", "The pipe-delimited message standard most hospital interfaces use (ADT, ORU, VXU), sent over MLLP."},
	{"MLLP", "Minimal Lower Layer Protocol", "How HL7 v2 messages are framed over a TCP connection; Omnichart listens for it."},
	{"ONC", "Office of the National Coordinator for Health IT", "The US office that certifies EMR products against the 45 CFR 170.315 criteria."},
	{"ORU", "Observation Result (Unsolicited)", "HL7 v2 messages that carry laboratory and other results."},
	{"SMART", "SMART on FHIR (Substitutable Medical Applications, Reusable Technologies)", "The standard way apps are authorized to use a FHIR API (OAuth 2.0 with launch context and scopes)."},
	{"UDI", "Unique Device Identifier", "The identifier of an implanted or medical device."},
	{"USCDI", "United States Core Data for Interoperability", "The set of data classes (problems, medications, allergies, results...) certified APIs must offer."},
	{"VXU", "Vaccination Record Update", "HL7 v2 messages that report immunizations, for example to a public health registry."},
	{"ZIP", "Zone Improvement Plan code", "The US postal code, used here to find organizations near a place."},
})

func sortedTerms(ts []Term) []Term {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Abbreviation < ts[j].Abbreviation })
	return ts
}

// Lookup returns the term of an abbreviation.
func Lookup(abbreviation string) (Term, bool) {
	for _, t := range Glossary {
		if t.Abbreviation == abbreviation {
			return t, true
		}
	}
	return Term{}, false
}

// abbreviations matches, in a text, the glossary's abbreviations as whole words
// (longest first, so "HL7 v2" wins over "HL7").
var abbreviations = func() *regexp.Regexp {
	terms := make([]string, len(Glossary))
	for i, t := range Glossary {
		terms[i] = regexp.QuoteMeta(t.Abbreviation)
	}
	sort.Slice(terms, func(i, j int) bool { return len(terms[i]) > len(terms[j]) })
	expr := `\b(`
	for i, t := range terms {
		if i > 0 {
			expr += "|"
		}
		expr += t
	}
	return regexp.MustCompile(expr + `)\b`)
}()

// Abbreviations returns the glossary abbreviations a text uses, each once, in
// the order they first appear: what a page must explain where the text is shown.
func Abbreviations(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range abbreviations.FindAllString(text, -1) {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

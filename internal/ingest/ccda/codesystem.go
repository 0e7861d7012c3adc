package ccda

import (
	"regexp"
	"strings"
)

// codeSystems maps code system OIDs to their FHIR URIs, from the HL7 terminology
// (https://terminology.hl7.org/) and the C-CDA on FHIR IG's OID table.
var codeSystems = map[string]string{
	"2.16.840.1.113883.6.1":              "http://loinc.org",
	"2.16.840.1.113883.6.96":             "http://snomed.info/sct",
	"2.16.840.1.113883.6.88":             "http://www.nlm.nih.gov/research/umls/rxnorm",
	"2.16.840.1.113883.6.90":             "http://hl7.org/fhir/sid/icd-10-cm",
	"2.16.840.1.113883.6.3":              "http://hl7.org/fhir/sid/icd-10",
	"2.16.840.1.113883.6.103":            "http://hl7.org/fhir/sid/icd-9-cm",
	"2.16.840.1.113883.6.104":            "http://hl7.org/fhir/sid/icd-9-cm",
	"2.16.840.1.113883.6.4":              "http://www.cms.gov/Medicare/Coding/ICD10",
	"2.16.840.1.113883.12.292":           "http://hl7.org/fhir/sid/cvx",
	"2.16.840.1.113883.12.227":           "http://hl7.org/fhir/sid/mvx",
	"2.16.840.1.113883.6.8":              "http://unitsofmeasure.org",
	"2.16.840.1.113883.6.69":             "http://hl7.org/fhir/sid/ndc",
	"2.16.840.1.113883.6.12":             "http://www.ama-assn.org/go/cpt",
	"2.16.840.1.113883.6.285":            "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
	"2.16.840.1.113883.6.14":             "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
	"2.16.840.1.113883.6.13":             "http://ada.org/cdt",
	"2.16.840.1.113883.4.9":              "http://fdasis.nlm.nih.gov",
	"2.16.840.1.113883.3.26.1.1":         "http://ncimeta.nci.nih.gov",
	"2.16.840.1.113883.3.26.1.5":         "http://ncimeta.nci.nih.gov",
	"2.16.840.1.113883.6.101":            "http://nucc.org/provider-taxonomy",
	"2.16.840.1.113883.6.238":            "urn:oid:2.16.840.1.113883.6.238",
	"2.16.840.1.113883.6.59":             "http://hl7.org/fhir/sid/cvx",
	"2.16.840.1.113883.6.121":            "urn:ietf:bcp:47",
	"2.16.840.1.113883.6.73":             "http://www.whocc.no/atc",
	"2.16.840.1.113883.3.88.12.3221.8.9": "http://hl7.org/fhir/sid/ndc",
	"2.16.840.1.113883.4.1":              "http://hl7.org/fhir/sid/us-ssn",
	"2.16.840.1.113883.4.6":              "http://hl7.org/fhir/sid/us-npi",
	"2.16.840.1.113883.5.1":              "http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender",
	"2.16.840.1.113883.5.2":              "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
	"2.16.840.1.113883.5.4":              "http://terminology.hl7.org/CodeSystem/v3-ActCode",
	"2.16.840.1.113883.5.6":              "http://terminology.hl7.org/CodeSystem/v3-ActClass",
	"2.16.840.1.113883.5.7":              "http://terminology.hl7.org/CodeSystem/v3-ActPriority",
	"2.16.840.1.113883.5.8":              "http://terminology.hl7.org/CodeSystem/v3-ActReason",
	"2.16.840.1.113883.5.14":             "http://terminology.hl7.org/CodeSystem/v3-ActStatus",
	"2.16.840.1.113883.5.25":             "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
	"2.16.840.1.113883.5.45":             "http://terminology.hl7.org/CodeSystem/v3-EntityNamePartQualifier",
	"2.16.840.1.113883.5.60":             "http://terminology.hl7.org/CodeSystem/v3-LanguageAbilityMode",
	"2.16.840.1.113883.5.61":             "http://terminology.hl7.org/CodeSystem/v3-LanguageAbilityProficiency",
	"2.16.840.1.113883.5.83":             "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
	"2.16.840.1.113883.5.88":             "http://terminology.hl7.org/CodeSystem/v3-ParticipationFunction",
	"2.16.840.1.113883.5.90":             "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
	"2.16.840.1.113883.5.104":            "http://terminology.hl7.org/CodeSystem/v3-Race",
	"2.16.840.1.113883.5.110":            "http://terminology.hl7.org/CodeSystem/v3-RoleClass",
	"2.16.840.1.113883.5.111":            "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
	"2.16.840.1.113883.5.112":            "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration",
	"2.16.840.1.113883.5.1001":           "http://terminology.hl7.org/CodeSystem/v3-ActMood",
	"2.16.840.1.113883.5.1008":           "http://terminology.hl7.org/CodeSystem/v3-NullFlavor",
	"2.16.840.1.113883.5.1063":           "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
	"2.16.840.1.113883.5.1076":           "http://terminology.hl7.org/CodeSystem/v3-ReligiousAffiliation",
	"2.16.840.1.113883.5.1119":           "http://terminology.hl7.org/CodeSystem/v3-AddressUse",
	"2.16.840.1.113883.5.129":            "http://terminology.hl7.org/CodeSystem/v3-SpecimenType",
	"2.16.840.1.113883.5.139":            "http://terminology.hl7.org/CodeSystem/v3-TimingEvent",
	"2.16.840.1.113883.5.143":            "http://terminology.hl7.org/CodeSystem/v3-PurposeOfUse",
	"2.16.840.1.113883.5.1052":           "http://terminology.hl7.org/CodeSystem/v3-ActSite",
	"2.16.840.1.113883.5.85":             "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm",
	"2.16.840.1.113883.12.112":           "http://terminology.hl7.org/CodeSystem/v2-0112",
	"2.16.840.1.113883.12.4":             "http://terminology.hl7.org/CodeSystem/v2-0004",
	"2.16.840.1.113883.12.443":           "http://terminology.hl7.org/CodeSystem/v2-0443",
	"2.16.840.1.113883.18.2":             "http://terminology.hl7.org/CodeSystem/v2-0001",
	"2.16.840.1.113883.6.259":            "https://www.cdc.gov/nhsn/cdaportal/terminology/codesystem/hsloc.html",
	"1.0.639.1":                          "urn:ietf:bcp:47",
	"1.0.639.2":                          "urn:ietf:bcp:47",
}

var (
	oidPattern  = regexp.MustCompile(`^[0-2](\.(0|[1-9][0-9]*))+$`)
	uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// systemURI maps a codeSystem attribute to a FHIR system URI. Unknown OIDs keep
// their identity as urn:oid:, which the C-CDA on FHIR IG allows.
func systemURI(oid string) string {
	oid = strings.TrimSpace(oid)
	if oid == "" {
		return ""
	}
	if u, ok := codeSystems[oid]; ok {
		return u
	}
	if oidPattern.MatchString(oid) {
		return "urn:oid:" + oid
	}
	if uuidPattern.MatchString(oid) {
		return "urn:uuid:" + strings.ToLower(oid)
	}
	return ""
}

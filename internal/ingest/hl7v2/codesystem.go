package hl7v2

import (
	"net/url"
	"strings"
)

// codeSystemURI maps an HL7 v2 coding system name (table 0396, as found in CWE-3,
// CWE-6 and the like) to its FHIR URI, following the v2-to-FHIR IG's CodeSystem
// concept map. Names of the form HL7nnnn are HL7 tables. An unknown name gives "".
//
// See https://build.fhir.org/ig/HL7/v2-to-fhir/ and table 0396 in HL7 v2.5.1 chapter 2.
func codeSystemURI(name string) string {
	n := strings.ToUpper(strings.TrimSpace(name))
	switch n {
	case "":
		return ""
	case "LN", "LOINC":
		return "http://loinc.org"
	case "SCT", "SNM", "SNM3", "SNOMED", "SNOMEDCT", "SNOMED-CT", "SNOMED CT":
		return "http://snomed.info/sct"
	case "CVX":
		return "http://hl7.org/fhir/sid/cvx"
	case "MVX":
		return "http://hl7.org/fhir/sid/mvx"
	case "I10", "I10C", "ICD10CM", "ICD-10-CM":
		return "http://hl7.org/fhir/sid/icd-10-cm"
	case "I10P", "ICD10PCS":
		return "http://www.cms.gov/Medicare/Coding/ICD10"
	case "ICD10", "I10-WHO":
		return "http://hl7.org/fhir/sid/icd-10"
	case "I9", "I9C", "ICD9", "ICD9CM":
		return "http://hl7.org/fhir/sid/icd-9-cm"
	case "RXNORM", "RXN":
		return "http://www.nlm.nih.gov/research/umls/rxnorm"
	case "NDC":
		return "http://hl7.org/fhir/sid/ndc"
	case "UCUM", "UCUM2":
		return "http://unitsofmeasure.org"
	case "C4", "CPT", "CPT4", "CPT-4":
		return "http://www.ama-assn.org/go/cpt"
	case "HCPCS", "HPC":
		return "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
	case "NCIT", "NCI":
		return "http://ncithesaurus-stage.nci.nih.gov"
	case "CDCREC":
		return "urn:oid:2.16.840.1.113883.6.238"
	case "CDCPHINVS", "PHINVS":
		return "urn:oid:2.16.840.1.114222.4.5.274"
	case "NUCC", "HCPTNUCC":
		return "http://nucc.org/provider-taxonomy"
	case "ISO3166_1", "ISO3166-1":
		return "urn:iso:std:iso:3166"
	case "ISO+", "ANSI+":
		return ""
	case "NPI":
		return "http://hl7.org/fhir/sid/us-npi"
	case "FDDC":
		return "http://hl7.org/fhir/sid/ndc"
	}
	if strings.HasPrefix(n, "HL7") && len(n) == 7 && isDigits(n[3:]) {
		return "http://terminology.hl7.org/CodeSystem/v2-" + n[3:]
	}
	if isOID(name) {
		return "urn:oid:" + name
	}
	return ""
}

// v2Table is the FHIR URI of HL7 v2 table id ("0203").
func v2Table(id string) string { return "http://terminology.hl7.org/CodeSystem/v2-" + id }

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isOID reports whether s looks like an ISO object identifier: digits separated by dots.
func isOID(s string) bool {
	if len(s) < 3 || !strings.Contains(s, ".") {
		return false
	}
	for _, p := range strings.Split(s, ".") {
		if !isDigits(p) {
			return false
		}
	}
	return true
}

// hdSystem turns an HD (assigning authority or facility) into an identifier system.
// ISO OIDs become urn:oid:, UUIDs urn:uuid:, URIs stay as they are. A bare
// namespace (the common case: "MR", "HOSP_A") becomes
// urn:omnichart:hl7v2:aa:<namespace, percent-encoded>, which is stable for the same
// namespace, so a patient sent twice gets the same identifier system.
func hdSystem(ns, uid, typ string) string {
	ns, uid, typ = val(ns), val(uid), strings.ToUpper(val(typ))
	switch {
	case uid != "" && (typ == "ISO" || isOID(uid)):
		return "urn:oid:" + uid
	case uid != "" && (typ == "UUID" || typ == "GUID"):
		return "urn:uuid:" + strings.ToLower(uid)
	case uid != "" && (typ == "URI" || typ == "URL" || strings.HasPrefix(uid, "http://") || strings.HasPrefix(uid, "https://") || strings.HasPrefix(uid, "urn:")):
		return uid
	}
	if isOID(ns) {
		return "urn:oid:" + ns
	}
	if strings.HasPrefix(ns, "http://") || strings.HasPrefix(ns, "https://") || strings.HasPrefix(ns, "urn:") {
		return ns
	}
	if ns != "" {
		return "urn:omnichart:hl7v2:aa:" + url.PathEscape(ns)
	}
	if uid != "" {
		return "urn:omnichart:hl7v2:aa:" + url.PathEscape(uid)
	}
	return ""
}

// val is a field value with HL7's explicit null ("", two double quotes) and
// surrounding spaces removed.
func val(s string) string {
	s = strings.TrimSpace(s)
	if s == `""` {
		return ""
	}
	return s
}

package ccda

// sectionKind says what a C-CDA section holds, and so how its entries convert.
type sectionKind int

const (
	otherSection sectionKind = iota
	allergySection
	medicationSection
	problemSection
	procedureSection
	resultSection
	vitalSignSection
	immunizationSection
	encounterSection
	socialHistorySection
	planSection
	goalSection
	healthConcernSection
	referralSection
	functionalStatusSection
	familyHistorySection
)

// sectionTemplates maps section template roots to kinds. The R1.1 and R2.1 ids share
// their roots (R2.1 adds extension="2015-08-01"), and the ".1" ids are the
// "entries required" variants.
// See https://hl7.org/cda/us/ccda/ (Section templates).
var sectionTemplates = map[string]sectionKind{
	"2.16.840.1.113883.10.20.22.2.6":    allergySection,
	"2.16.840.1.113883.10.20.22.2.6.1":  allergySection,
	"2.16.840.1.113883.10.20.22.2.1":    medicationSection,
	"2.16.840.1.113883.10.20.22.2.1.1":  medicationSection,
	"2.16.840.1.113883.10.20.22.2.11":   medicationSection, // discharge medications
	"2.16.840.1.113883.10.20.22.2.11.1": medicationSection,
	"2.16.840.1.113883.10.20.22.2.44":   medicationSection, // admission medications
	"2.16.840.1.113883.10.20.22.2.38":   medicationSection, // medications administered
	"2.16.840.1.113883.10.20.22.2.5":    problemSection,
	"2.16.840.1.113883.10.20.22.2.5.1":  problemSection,
	"2.16.840.1.113883.10.20.22.2.20":   problemSection, // past medical history
	"2.16.840.1.113883.10.20.22.2.24":   problemSection, // discharge diagnosis
	"2.16.840.1.113883.10.20.22.2.43":   problemSection, // admission diagnosis
	"2.16.840.1.113883.10.20.22.2.7":    procedureSection,
	"2.16.840.1.113883.10.20.22.2.7.1":  procedureSection,
	"2.16.840.1.113883.10.20.22.2.3":    resultSection,
	"2.16.840.1.113883.10.20.22.2.3.1":  resultSection,
	"2.16.840.1.113883.10.20.22.2.4":    vitalSignSection,
	"2.16.840.1.113883.10.20.22.2.4.1":  vitalSignSection,
	"2.16.840.1.113883.10.20.22.2.2":    immunizationSection,
	"2.16.840.1.113883.10.20.22.2.2.1":  immunizationSection,
	"2.16.840.1.113883.10.20.22.2.22":   encounterSection,
	"2.16.840.1.113883.10.20.22.2.22.1": encounterSection,
	"2.16.840.1.113883.10.20.22.2.17":   socialHistorySection,
	"2.16.840.1.113883.10.20.22.2.10":   planSection,
	"2.16.840.1.113883.10.20.21.2.3":    planSection, // IHE-era plan of care
	"2.16.840.1.113883.10.20.22.2.60":   goalSection,
	"2.16.840.1.113883.10.20.22.2.58":   healthConcernSection,
	"1.3.6.1.4.1.19376.1.5.3.1.3.1":     referralSection,
	"2.16.840.1.113883.10.20.22.2.14":   functionalStatusSection,
	"2.16.840.1.113883.10.20.22.2.56":   functionalStatusSection, // mental status
	"2.16.840.1.113883.10.20.22.2.15":   familyHistorySection,
}

// sectionCodes is the fallback by section LOINC code, for documents that leave out
// templateIds or use templates of their own.
var sectionCodes = map[string]sectionKind{
	"48765-2": allergySection,
	"10160-0": medicationSection,
	"10183-2": medicationSection,
	"42346-7": medicationSection,
	"29549-3": medicationSection,
	"11450-4": problemSection,
	"11348-0": problemSection,
	"11535-2": problemSection,
	"46241-6": problemSection,
	"47519-4": procedureSection,
	"30954-2": resultSection,
	"8716-3":  vitalSignSection,
	"11369-6": immunizationSection,
	"46240-8": encounterSection,
	"29762-2": socialHistorySection,
	"18776-5": planSection,
	"61146-7": goalSection,
	"75310-3": healthConcernSection,
	"42349-1": referralSection,
	"47420-5": functionalStatusSection,
	"10190-7": functionalStatusSection,
	"10157-6": familyHistorySection,
}

func kindOf(sec *node) sectionKind {
	for _, t := range sec.templateIDs() {
		if k, ok := sectionTemplates[t]; ok {
			return k
		}
	}
	if sc := sec.child("code"); sc != nil {
		if k, ok := sectionCodes[codeValue(sc)]; ok {
			return k
		}
		for _, t := range sc.children("translation") {
			if k, ok := sectionCodes[codeValue(t)]; ok {
				return k
			}
		}
	}
	return otherSection
}

// Entry templates. See https://hl7.org/cda/us/ccda/ (Entry templates).
const (
	tplProblemConcern     = "2.16.840.1.113883.10.20.22.4.3"
	tplProblemObs         = "2.16.840.1.113883.10.20.22.4.4"
	tplProblemStatus      = "2.16.840.1.113883.10.20.22.4.6"
	tplAllergyConcern     = "2.16.840.1.113883.10.20.22.4.30"
	tplAllergyObs         = "2.16.840.1.113883.10.20.22.4.7"
	tplSeverity           = "2.16.840.1.113883.10.20.22.4.8"
	tplReaction           = "2.16.840.1.113883.10.20.22.4.9"
	tplAllergyStatus      = "2.16.840.1.113883.10.20.22.4.28"
	tplCriticality        = "2.16.840.1.113883.10.20.22.4.145"
	tplMedActivity        = "2.16.840.1.113883.10.20.22.4.16"
	tplDischargeMed       = "2.16.840.1.113883.10.20.22.4.35"
	tplAdmissionMed       = "2.16.840.1.113883.10.20.22.4.36"
	tplSupplyOrder        = "2.16.840.1.113883.10.20.22.4.17"
	tplPlannedMed         = "2.16.840.1.113883.10.20.22.4.42"
	tplImmunization       = "2.16.840.1.113883.10.20.22.4.52"
	tplRefusalReason      = "2.16.840.1.113883.10.20.22.4.53"
	tplResultOrganizer    = "2.16.840.1.113883.10.20.22.4.1"
	tplResultObs          = "2.16.840.1.113883.10.20.22.4.2"
	tplVitalOrganizer     = "2.16.840.1.113883.10.20.22.4.26"
	tplVitalObs           = "2.16.840.1.113883.10.20.22.4.27"
	tplProcedureProc      = "2.16.840.1.113883.10.20.22.4.14"
	tplProcedureObs       = "2.16.840.1.113883.10.20.22.4.13"
	tplProcedureAct       = "2.16.840.1.113883.10.20.22.4.12"
	tplEncounter          = "2.16.840.1.113883.10.20.22.4.49"
	tplEncounterDiagnosis = "2.16.840.1.113883.10.20.22.4.80"
	tplDischargeDiagnosis = "2.16.840.1.113883.10.20.22.4.33"
	tplAdmissionDiagnosis = "2.16.840.1.113883.10.20.22.4.34"
	tplPreopDiagnosis     = "2.16.840.1.113883.10.20.22.4.65"
	tplPostprocDiagnosis  = "2.16.840.1.113883.10.20.22.4.51"
	tplFamilyHistory      = "2.16.840.1.113883.10.20.22.4.45"
	tplFamilyHistoryObs   = "2.16.840.1.113883.10.20.22.4.46"
	tplAgeObs             = "2.16.840.1.113883.10.20.22.4.31"
	tplDeathObs           = "2.16.840.1.113883.10.20.22.4.47"
	tplIndication         = "2.16.840.1.113883.10.20.22.4.19"
	tplSmoking            = "2.16.840.1.113883.10.20.22.4.78"
	tplTobaccoUse         = "2.16.840.1.113883.10.20.22.4.85"
	tplSocialObs          = "2.16.840.1.113883.10.20.22.4.38"
	tplBirthSex           = "2.16.840.1.113883.10.20.22.4.200"
	tplPregnancy          = "2.16.840.1.113883.10.20.15.3.8"
	tplGoal               = "2.16.840.1.113883.10.20.22.4.121"
	tplPlannedAct         = "2.16.840.1.113883.10.20.22.4.39"
	tplPlannedEncounter   = "2.16.840.1.113883.10.20.22.4.40"
	tplPlannedProcedure   = "2.16.840.1.113883.10.20.22.4.41"
	tplPlannedObs         = "2.16.840.1.113883.10.20.22.4.44"
	tplPlannedImmunize    = "2.16.840.1.113883.10.20.22.4.120"
	tplInstruction        = "2.16.840.1.113883.10.20.22.4.20"
	tplHealthConcern      = "2.16.840.1.113883.10.20.22.4.132"
	tplReferralAct        = "2.16.840.1.113883.10.20.22.4.140"
	tplFunctionalObs      = "2.16.840.1.113883.10.20.22.4.67"
	tplMentalObs          = "2.16.840.1.113883.10.20.22.4.74"
	tplAssessmentScale    = "2.16.840.1.113883.10.20.22.4.69"
)

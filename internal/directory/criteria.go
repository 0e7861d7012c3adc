package directory

// criterionWords says in plain words what each 45 CFR 170.315 criterion certifies,
// for the side-by-side comparison. See https://www.healthit.gov/topic/certification-ehrs/2015-edition-test-method.
var criterionWords = map[string]string{
	"170.315 (a)(1)":  "Clinicians order medications electronically (CPOE).",
	"170.315 (a)(2)":  "Clinicians order laboratory tests electronically (CPOE).",
	"170.315 (a)(3)":  "Clinicians order imaging electronically (CPOE).",
	"170.315 (a)(4)":  "Checks orders for drug-drug and drug-allergy interactions.",
	"170.315 (a)(5)":  "Records patient demographics: sex, race, ethnicity, language, birth date.",
	"170.315 (a)(9)":  "Offers clinical decision support rules at the point of care.",
	"170.315 (a)(10)": "Checks prescriptions against the patient's insurer's formulary.",
	"170.315 (a)(12)": "Records the family health history.",
	"170.315 (a)(14)": "Keeps the list of the patient's implanted devices (UDI).",
	"170.315 (b)(1)":  "Sends and receives transition-of-care summaries as C-CDA documents.",
	"170.315 (b)(2)":  "Reconciles problems, medications and allergies received from others into the patient's own lists.",
	"170.315 (b)(3)":  "Sends prescriptions to pharmacies electronically (NCPDP SCRIPT).",
	"170.315 (b)(6)":  "Exports patient summaries as C-CDA documents in bulk.",
	"170.315 (b)(10)": "Exports all of a patient's, or all patients', electronic health information.",
	"170.315 (c)(1)":  "Records and exports clinical quality measure data.",
	"170.315 (c)(2)":  "Imports and calculates clinical quality measures.",
	"170.315 (c)(3)":  "Reports clinical quality measures to CMS.",
	"170.315 (c)(4)":  "Filters clinical quality measure results by patient group.",
	"170.315 (d)(1)":  "Authenticates users and controls what each may access.",
	"170.315 (d)(2)":  "Keeps an audit log of who accessed and changed what.",
	"170.315 (d)(3)":  "Produces audit reports.",
	"170.315 (d)(4)":  "Lets patients ask for amendments to their record.",
	"170.315 (d)(5)":  "Ends idle sessions automatically.",
	"170.315 (d)(6)":  "Offers emergency (break-the-glass) access.",
	"170.315 (d)(7)":  "Encrypts data stored on end-user devices.",
	"170.315 (d)(8)":  "Verifies the integrity of exchanged data (hashing).",
	"170.315 (d)(9)":  "Exchanges data over trusted, encrypted connections.",
	"170.315 (d)(10)": "Protects the integrity of its audit log.",
	"170.315 (d)(11)": "Records disclosures of health information.",
	"170.315 (d)(12)": "Encrypts authentication credentials.",
	"170.315 (d)(13)": "Supports multi-factor authentication.",
	"170.315 (e)(1)":  "Lets patients view, download and send their record (patient portal).",
	"170.315 (e)(2)":  "Offers secure messaging between patients and clinicians.",
	"170.315 (e)(3)":  "Captures health information patients provide.",
	"170.315 (f)(1)":  "Reports immunizations to public health registries (HL7 v2 VXU).",
	"170.315 (f)(2)":  "Sends syndromic surveillance data to public health (HL7 v2 ADT).",
	"170.315 (f)(3)":  "Sends reportable laboratory results to public health (HL7 v2 ORU).",
	"170.315 (f)(4)":  "Reports cancer cases to registries (CDA).",
	"170.315 (f)(5)":  "Sends electronic case reports to public health (eCR).",
	"170.315 (f)(6)":  "Reports antimicrobial use and resistance to CDC.",
	"170.315 (f)(7)":  "Sends health care survey data to CDC.",
	"170.315 (g)(1)":  "Reports automated numerator counts for measures.",
	"170.315 (g)(2)":  "Reports automated measure percentages.",
	"170.315 (g)(3)":  "Was designed following user-centered safety methods.",
	"170.315 (g)(4)":  "Is developed under a quality management system.",
	"170.315 (g)(5)":  "Was designed with accessibility in mind.",
	"170.315 (g)(6)":  "Creates C-CDA documents that conform to the standard.",
	"170.315 (g)(7)":  "Offers an API to find a patient (application access).",
	"170.315 (g)(8)":  "Offers an API for one category of a patient's data.",
	"170.315 (g)(9)":  "Offers an API for all of a patient's data as a C-CDA document.",
	"170.315 (g)(10)": "Offers the standardized FHIR R4 API with SMART on FHIR authorization, for one patient and for populations (bulk).",
	"170.315 (h)(1)":  "Sends and receives health information by Direct secure messaging.",
	"170.315 (h)(2)":  "Sends and receives by Direct, with edge protocols and XDR/XDM.",
}

// CriterionWords returns what criterion number certifies, in plain words, or "".
func CriterionWords(number string) string { return criterionWords[number] }

// Interface is a way to connect a product to Omnichart.
type Interface struct {
	Code    string // the code in the interface property of a product's DeviceDefinition
	Display string
	// Criteria are the criteria any one of which shows the product offers it.
	Criteria []string
}

// Interfaces are the ways a certified product can feed Omnichart, each derived
// from the criteria that require it.
var Interfaces = []Interface{
	{"fhir-api", "FHIR R4 API with SMART on FHIR (bulk and per patient)", []string{"170.315 (g)(10)"}},
	{"ccda", "C-CDA documents (transitions of care, exports, patient portal, document API)", []string{"170.315 (b)(1)", "170.315 (b)(6)", "170.315 (e)(1)", "170.315 (g)(9)"}},
	{"hl7v2-vxu", "HL7 v2 immunization messages (VXU)", []string{"170.315 (f)(1)"}},
	{"hl7v2-adt", "HL7 v2 admission, discharge and transfer messages (ADT)", []string{"170.315 (f)(2)"}},
	{"hl7v2-oru", "HL7 v2 laboratory result messages (ORU)", []string{"170.315 (f)(3)"}},
	{"direct", "Direct secure messaging", []string{"170.315 (h)(1)", "170.315 (h)(2)"}},
}

// InterfacesOf returns the interfaces the product's criteria show it offers.
func InterfacesOf(p Product) []Interface {
	met := map[string]bool{}
	for _, c := range p.Criteria {
		met[c.Number] = true
	}
	var out []Interface
	for _, in := range Interfaces {
		for _, c := range in.Criteria {
			if met[c] {
				out = append(out, in)
				break
			}
		}
	}
	return out
}

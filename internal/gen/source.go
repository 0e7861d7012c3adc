package gen

import (
	"fmt"
	"strconv"
)

// Kinds of source: what sort of organization runs the EMR, which decides what it
// knows about a person and sends.
const (
	KindHospital = "hospital" // emergency visits and admissions, their labs and diagnoses
	KindClinic   = "clinic"   // primary care: visits, problems, medications, immunizations, referrals, notes
	KindLab      = "lab"      // reference laboratory: results only
	KindPharmacy = "pharmacy" // dispensing, medication profile, immunizations given at the counter
)

// Interfaces a source sends through, as ingest names them.
const (
	InterfaceFHIR  = "fhir"
	InterfaceHL7v2 = "hl7v2"
)

// Source describes one generated source system, as DIR/sources.json lists it.
type Source struct {
	// Slug names the source on the command line (omnichart import --source SLUG)
	// and its folder, DIR/sources/<slug>.
	Slug string `json:"slug"`
	// URI is the source URI the importer records as meta.source.
	URI  string `json:"uri"`
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Vendor and Product name the EMR software.
	Vendor  string `json:"vendor"`
	Product string `json:"product"`
	// Interfaces is fhir (one transaction Bundle per patient) or hl7v2 (one file
	// of ER7 messages per patient).
	Interfaces []string `json:"interfaces"`
	// Messages lists the HL7 v2 message types an hl7v2 source sends.
	Messages []string `json:"messages,omitempty"`
	// Facility is the sending facility (MSH-4) of HL7 v2 messages.
	Facility string `json:"facility,omitempty"`
	// MRNSystem is the identifier system of the source's medical record numbers;
	// each source has its own. RecordSystem identifies the other records it sends
	// (conditions, results, orders), VisitSystem its encounters.
	MRNSystem    string `json:"mrnSystem"`
	RecordSystem string `json:"recordSystem"`
	VisitSystem  string `json:"visitSystem"`
	// Patients is how many patients the source sends.
	Patients int `json:"patients"`

	oid   string
	style style
	pracs []practitioner
}

// SSNSystem is the identifier system of US Social Security numbers.
const SSNSystem = "http://hl7.org/fhir/sid/us-ssn"

// SourceURIPrefix is the prefix of the URIs of sources, as the importer makes them
// from a registered slug.
const SourceURIPrefix = "urn:omnichart:source:"

// oidRoot is the arc under which every generated identifier system lies: 2.999
// is the ISO/ITU-T arc reserved for examples, so no generated OID is a real one.
const oidRoot = "2.999.1"

type sourceTemplate struct {
	slug, name, kind, vendor, product, iface, facility string
	messages                                           []string
}

// templates are the first sources, in the order Generate adds them: with three
// sources there is a hospital (HL7 v2), a practice (FHIR) and a laboratory (HL7
// v2); a fourth is a pharmacy (FHIR).
var templates = []sourceTemplate{
	{"st-marys", "St. Mary's Hospital", KindHospital, "Epic", "EpicCare Inpatient", InterfaceHL7v2, "STMARYS", []string{"ADT^A04", "ADT^A08", "ORU^R01"}},
	{"riverside-family", "Riverside Family Practice", KindClinic, "athenahealth", "athenaOne", InterfaceFHIR, "", nil},
	{"northside-lab", "Northside Reference Laboratory", KindLab, "Sunquest", "Sunquest Laboratory", InterfaceHL7v2, "NORTHSIDE LAB", []string{"ORU^R01"}},
	{"main-street-pharmacy", "Main Street Pharmacy", KindPharmacy, "PioneerRx", "PioneerRx", InterfaceFHIR, "", nil},
	{"valley-medical", "Valley Medical Center", KindHospital, "Oracle Health", "Millennium", InterfaceFHIR, "", nil},
	{"hillside-pediatrics", "Hillside Pediatrics & Family Care", KindClinic, "eClinicalWorks", "eClinicalWorks 12", InterfaceHL7v2, "HILLSIDE", []string{"ADT^A04", "ADT^A08", "ORU^R01"}},
	{"pioneer-valley-health", "Pioneer Valley Community Health", KindClinic, "NextGen", "NextGen Enterprise", InterfaceFHIR, "", nil},
	{"mercy-regional", "Mercy Regional Hospital", KindHospital, "MEDITECH", "Expanse", InterfaceHL7v2, "MERCY", []string{"ADT^A04", "ADT^A08", "ORU^R01"}},
	{"quadrant-diagnostics", "Quadrant Diagnostics", KindLab, "Orchard", "Orchard Harvest", InterfaceHL7v2, "QUADRANT", []string{"ORU^R01"}},
	{"campus-pharmacy", "Campus Pharmacy", KindPharmacy, "McKesson", "EnterpriseRx", InterfaceFHIR, "", nil},
	{"lakeside-internal", "Lakeside Internal Medicine", KindClinic, "Epic", "EpicCare Ambulatory", InterfaceFHIR, "", nil},
	{"baystate-urgent", "Bay State Urgent Care", KindHospital, "Cerner", "PowerChart", InterfaceHL7v2, "BSUC", []string{"ADT^A04", "ADT^A08", "ORU^R01"}},
}

// practitioner is a clinician of a source.
type practitioner struct {
	npi, family, given string
}

// makeSources returns the first n sources, each with its own identifier systems,
// formatting style and clinicians.
func makeSources(n int, seed int64) []*Source {
	out := make([]*Source, n)
	for i := range out {
		t := templates[i]
		oid := oidRoot + "." + strconv.Itoa(i+1)
		s := &Source{
			Slug: t.slug, URI: SourceURIPrefix + t.slug, Name: t.name, Kind: t.kind,
			Vendor: t.vendor, Product: t.product, Interfaces: []string{t.iface},
			Messages: t.messages, Facility: t.facility,
			MRNSystem:    "urn:oid:" + oid + ".1",
			RecordSystem: "urn:oid:" + oid + ".2",
			VisitSystem:  "urn:oid:" + oid + ".3",
			oid:          oid,
			style: style{
				abbreviate: i%2 == 0,
				unitWord:   []string{"Apt", "Unit", "#"}[i%3],
				zipPlus4:   i%4 == 3,
				phone:      i % 3,
			},
		}
		r := stream(seed, streamSources, uint64(i))
		for k := 0; k < 6; k++ {
			sex := []string{"female", "male"}[r.IntN(2)]
			s.pracs = append(s.pracs, practitioner{
				npi:    npi(100_000_000 + r.IntN(200_000_000)),
				family: pickWeighted(r, families[:80]),
				given:  givenName(r, sex),
			})
		}
		out[i] = s
	}
	return out
}

// hl7 reports whether the source sends HL7 v2.
func (s *Source) hl7() bool { return s.Interfaces[0] == InterfaceHL7v2 }

// clinical reports whether the source sees patients (a hospital or a practice).
func (s *Source) clinical() bool { return s.Kind == KindHospital || s.Kind == KindClinic }

// orderSystem identifies the lab orders (filler order numbers) of the source.
func (s *Source) orderSystem() string { return "urn:oid:" + s.oid + ".4" }

func (s *Source) String() string { return fmt.Sprintf("%s (%s, %s)", s.Slug, s.Kind, s.Interfaces[0]) }

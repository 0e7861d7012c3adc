package ehr

import "time"

// Assurance is how certain a person link is.
type Assurance string

// The assurance levels of a person link, after FHIR's IdentityAssuranceLevel
// (https://hl7.org/fhir/R4/valueset-identityAssuranceLevel.html).
const (
	AssuranceLevel1 Assurance = "level1" // little confidence: a possible match
	AssuranceLevel2 Assurance = "level2" // some confidence: a probable match
	AssuranceLevel3 Assurance = "level3" // high confidence: an automatic certain match
	AssuranceLevel4 Assurance = "level4" // very high: confirmed by a person
)

// PersonLink is the decision that a source's Patient record is, or is not, one
// human known as Person. Only the patient matcher and the people who review its
// work make links: a converter or an identifier lookup never does.
type PersonLink struct {
	// Person is the "Person/<id>" the link belongs to.
	Person string
	// Patient is the source record ("Patient/<id>").
	Patient string
	// Source owns Patient.
	Source string
	// Assurance is how certain the link is.
	Assurance Assurance
	// Score is the matcher's score; Reviewer is set when a person decided.
	Score    float64
	Reviewer string
	Decided  time.Time
	// Reason says why, in words a reviewer reads.
	Reason string
}

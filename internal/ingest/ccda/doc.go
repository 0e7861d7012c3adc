// Package ccda converts HL7 C-CDA documents (R1.1 and R2.1: CCD, Discharge Summary,
// Referral Note, Progress Note, Consultation Note, Care Plan, unstructured documents
// and any other CDA document) into a FHIR R4 transaction Bundle, following the HL7
// C-CDA on FHIR mapping.
//
// See https://build.fhir.org/ig/HL7/ccda-on-fhir/ (mapping pages and the CF-*
// concept maps in https://github.com/HL7/ccda-on-fhir/tree/master/input/fsh/instances)
// and https://hl7.org/cda/us/ccda/ for the templates.
//
// # Input
//
// Convert reads the bytes with encoding/xml: a UTF-8 byte order mark is skipped,
// ISO-8859-1 and windows-1252 declarations are decoded (both as windows-1252), any
// other encoding is refused. Entity declarations, documents over 64 MiB, more than
// 524,288 nodes and nesting deeper than 256 elements are refused. Only a document
// that cannot be read as a ClinicalDocument at all is an error (a *ReadError with
// line and byte offset); everything else becomes a fhir.Issue whose Expression is
// an XPath with positions, such as
// /ClinicalDocument/component[1]/structuredBody[1]/component[3]/section[1]/entry[2],
// and whose message names template ids and lines, never a value from the document.
//
// Sections are recognised by their templateId root (R1.1 and R2.1 share roots; the
// extension is ignored; the ".1" "entries required" ids count too), or failing that by
// their LOINC code. Entries are recognised by their own templateId first, then by
// section and element name, so documents without templates still convert.
//
// # Output
//
// The Bundle has type transaction. Each entry has fullUrl urn:uuid:<Options.NewID()>,
// the resource without id, and request POST <type>; references between resources
// use those fullUrls. The Patient, and each Practitioner and Organization with an
// identifier, is a conditional create (request.ifNoneExist
// "identifier=<system>|<value>" on its first identifier) so that importing the same
// person again does not duplicate them; inside one document the same person or
// organization is one resource. Every C-CDA entry id is kept as an identifier
// (urn:oid:<root> with the extension as value, or urn:ietf:rfc:3986 with
// urn:oid:/urn:uuid: when there is no extension) so that the same fact from two
// documents can be recognised. The caller adds meta.source and Provenance.
//
// The criteria are built by fhir.IdentifierQuery, so a ",", "|", "$" or "\" in a
// system or value is escaped and cannot turn into an OR or a separator. An element
// left with no content (an empty string, object or list) is removed by
// fhir.PruneEmpty with a warning naming its path, so one element that could not
// be filled never makes the Bundle invalid.
//
// # Mapping
//
//	C-CDA                                              FHIR R4
//	recordTarget/patientRole                           Patient (US Core race, ethnicity, birth sex extensions)
//	guardian, participant typeCode IND                 Patient.contact
//	author (person) / legalAuthenticator / performers  Practitioner
//	author (assignedAuthoringDevice)                   Device
//	custodian, providerOrganization, represented...    Organization
//	componentOf/encompassingEncounter                  Encounter (Composition.encounter)
//	the document                                       Composition, one section per C-CDA section, narrative as XHTML
//	nonXMLBody                                         DocumentReference with the attachment
//	Problem Concern Act 4.3 / Problem Observation 4.4  Condition (problem-list-item)
//	Health Concern Act 4.132                           Condition (health-concern)
//	Encounter Diagnosis 4.80                           Condition (encounter-diagnosis), Encounter.diagnosis
//	Admission/Discharge/Pre-/Postoperative Diagnosis   Condition (encounter-diagnosis) (4.34, 4.33, 4.65, 4.51)
//	Allergy Concern Act 4.30 / Allergy Obs. 4.7        AllergyIntolerance (reactions 4.9, severity 4.8, criticality 4.145, status 4.28)
//	Medication Activity 4.16, moodCode EVN             MedicationStatement
//	Medication Activity 4.16, moodCode INT/RQO/...     MedicationRequest (intent order; supply order 4.17 as dispenseRequest)
//	Planned Medication Activity 4.42                   MedicationRequest (intent plan)
//	Discharge/Admission Medication 4.35/4.36           the Medication Activities inside
//	Immunization Activity 4.52                         Immunization (negationInd: not-done with statusReason 4.53)
//	Result Organizer 4.1                               DiagnosticReport (LAB) with its Observations
//	Result Observation 4.2                             Observation (laboratory)
//	Vital Signs Organizer 4.26 / Vital Sign Obs. 4.27  Observation (vital-signs), one per measurement
//	Smoking Status 4.78, Tobacco Use 4.85, Social 4.38 Observation (social-history)
//	Birth Sex Observation 4.200                        Patient us-core-birthsex extension
//	Functional/Mental Status observations              Observation (survey)
//	Procedure Activity 4.14/4.13/4.12, EVN             Procedure
//	Procedure Activity in an intent mood               ServiceRequest
//	Encounter Activity 4.49                            Encounter (merged with the encompassing encounter when ids match)
//	Service Delivery Location 4.32, healthCareFacility Location (Encounter.location)
//	Family History Organizer 4.45 / Observation 4.46   FamilyMemberHistory with one condition per observation
//	Planned Act/Encounter/Procedure/Observation        ServiceRequest (4.39, 4.40, 4.41, 4.44; intent from moodCode)
//	Patient Referral Act 4.140                         ServiceRequest (intent order)
//	Goal Observation 4.121 (or moodCode GOL)           Goal (code as description/measure, value as target)
//	Care Plan document (1.15 / 52521-2)                CarePlan linking its Goals and planned activities
//	Reason for Referral and any other section          Composition section with its narrative
//
// Data types: CD/CE become CodeableConcepts (code and each translation a coding,
// code system OIDs mapped to FHIR URIs such as http://loinc.org, unknown OIDs kept as
// urn:oid:, originalText followed into the narrative as text); PQ becomes Quantity
// with UCUM; IVL_PQ Range; ST/ED string; TS keeps its precision as date or dateTime
// (a time of day needs a UTC offset in FHIR: one without takes the offset of the
// document's effectiveTime, or is cut to its date with one warning); IVL_TS becomes
// Period. A null value becomes dataAbsentReason where the element allows one (CF-
// NullFlavorDataAbsentReason), and is otherwise left out; "null" strings are never
// written. Status codes follow the CF-* concept maps.
//
// Narrative: CDA narrative elements become XHTML (content→span, paragraph→p,
// list→ul/ol, item→li, linkHtml→a, table elements as is, styleCode→style). Only the
// elements and attributes FHIR allows survive: script, style, iframe, object and
// form elements are dropped with their content, event handlers are dropped, links
// other than http, https, mailto and #fragment lose their href, and images other
// than #fragment or data: ones are dropped.
package ccda

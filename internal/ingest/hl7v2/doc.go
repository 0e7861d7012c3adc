// Package hl7v2 reads HL7 v2 messages (v2.3 to v2.8), frames them for MLLP,
// acknowledges them, and converts them to FHIR R4 transaction Bundles following
// the HL7 v2-to-FHIR implementation guide
// (https://build.fhir.org/ig/HL7/v2-to-fhir/, mapping tables in
// https://github.com/HL7/v2-to-fhir/tree/master/mappings). It is a pure converter:
// bytes in, resources and issues out, no storage and no network.
//
// # Parser model
//
// Parse returns a Message: a list of Segments, each a list of Fields numbered as
// in the standard (MSH-1 is the field separator, MSH-2 the encoding characters),
// each field a list of repetitions (Rep), each repetition a list of components
// (Comp), each component a list of sub-components (strings). The delimiters are
// the ones the message declares in MSH-1/MSH-2, including the v2.7 truncation
// character. Values are stored unescaped (\F\ \S\ \T\ \R\ \E\, \Xhh..\ hex,
// \.br\ as a line break; highlighting and other layout commands are dropped) and
// in UTF-8: MSH-18 8859/1 is decoded from Latin-1, undeclared non-UTF-8 input is
// read as Latin-1, and invalid UTF-8 in a UTF-8 message is replaced; each case adds
// an issue. Read values with the accessors
//
//	msg.Segments("OBX")[0].Field(5).Rep(0).Comp(1)
//
// or a terser path, msg.Get("OBX(2)-5(1)-1-2"). SplitMessages cuts a file into
// messages. Encode writes a message back.
//
// Parse fails only when the message cannot be read at all; its errors are *Error
// values that wrap a sentinel (ErrEmpty, ErrNoMSH, ErrDelimiters, ErrTruncated,
// ErrTooLarge, ErrRequiredField, ErrBatch) and carry a position, never a value.
//
// # MLLP and acknowledgements
//
// ReadFrame and WriteFrame handle <VT> message <FS><CR> framing. NewACK builds the
// original-mode ACK: AA on success, AR when the message could not be read or its
// type is not supported, AE otherwise, with an ERR segment in the layout of the
// message's version (ERR-2/3/4/8 from v2.5, ERR-1 before).
//
// # Conversion
//
// Convert returns a transaction Bundle. Every entry has fullUrl urn:uuid:<NewID()>,
// a resource without id, and a request; references between entries use the
// fullUrls. Patient, Practitioner and Organization entries are conditional creates
// (request.ifNoneExist "identifier=<system>|<value>") on their first identifier
// with a system, so the same person sent twice is created once; ADT^A08, ADT^A31
// and the surviving patient of ADT^A40 are conditional updates
// (PUT Patient?identifier=<system>|<value>). Other resources are plain creates that
// carry the business identifiers of the message (placer and filler order numbers,
// visit number, OBX position within its report) so later de-duplication can
// recognise them. No meta.source and no Provenance are added; the caller does that.
// The identifier criteria are built by fhir.IdentifierQuery, so a ",", "|", "$" or
// "\" in a system or value is escaped and cannot turn into an OR or a separator.
// An element left with no content (an empty string, object or list, such as the
// VIS of an OBX whose value cannot be read) is removed by fhir.PruneEmpty with a
// warning naming its path, so one such element never refuses the whole message.
//
// Identifier systems come from the assigning authority (CX-4, EI-2..4, XCN-9):
// an ISO OID becomes urn:oid:<oid>, a UUID urn:uuid:<uuid>, a URI stays as it is,
// and a bare namespace becomes urn:omnichart:hl7v2:aa:<namespace>. An identifier
// without assigning authority is scoped to the sending facility (MSH-4) and the
// identifier type: urn:omnichart:hl7v2:facility:<facility>:<type>. Coding systems
// are mapped from HL7 table 0396 names (LN → http://loinc.org, SCT →
// http://snomed.info/sct, CVX → http://hl7.org/fhir/sid/cvx, I10 →
// http://hl7.org/fhir/sid/icd-10-cm, UCUM → http://unitsofmeasure.org, HL7nnnn →
// http://terminology.hl7.org/CodeSystem/v2-nnnn, ...); an unknown local system
// leaves Coding.system empty. Times without a UTC offset are read in
// Options.TimeZone, or reduced to their date when it is nil.
//
//	message            segments            resources
//	ADT^A01/A03/A04    PID PD1 NK1 PV1     Patient (+contact), RelatedPerson per NK1,
//	ADT^A08 (update)   PV2 AL1 DG1         Encounter, AllergyIntolerance per AL1,
//	ADT^A28/A31                            Condition per DG1 (Encounter.diagnosis)
//	ADT^A40            PID MRG             Patient (PUT, link replaces) and the merged
//	                                       Patient (active false, link replaced-by)
//	ORU^R01            PID PV1 ORC OBR     Patient, Encounter, per OBR a ServiceRequest
//	                   OBX NTE SPM         and DiagnosticReport, per OBX an Observation
//	                                       (value by OBX-2: NM/SN Quantity, Ratio or
//	                                       Range; ST/TX/FT string; CWE/CE CodeableConcept;
//	                                       DT/DTM/TS dateTime; TM time; DR Period), OBX-7
//	                                       referenceRange, OBX-8 interpretation, OBX-11
//	                                       status, per SPM a Specimen
//	REF^I12, RRI^I12   PID RF1 PRD DG1     Patient, ServiceRequest (requester PRD role
//	                                       RP, performer others), Condition per DG1 as
//	                                       reasonReference, Practitioner per PRD
//	MDM^T02            PID PV1 TXA OBX     Patient, Encounter, DocumentReference with
//	                                       the OBX text (or ED document) as attachment
//	VXU^V04            PID NK1 ORC RXA     Patient, Immunization per RXA (CVX/NDC code,
//	                   RXR OBX             lot, MVX manufacturer Organization, status
//	                                       from RXA-20/21, route and site from RXR,
//	                                       eligibility, funding and VIS from OBX; other
//	                                       OBX become Observations partOf it)
//	SIU^S12            SCH PID AIP AIL     Appointment, Patient, Practitioner per AIP,
//	                   NTE                 Location per AIL
//
// Any other message type is refused with ErrUnsupportedType (ACK AR). A message
// that lacks a segment its type needs is refused with ErrMissingSegment (ACK AE).
// Everything else that is wrong or unmapped becomes a fhir.Issue in Result.Issues
// and conversion carries on. Not mapped yet: race and ethnicity (PID-10, PID-22),
// insurance (IN1/IN2, GT1), procedures (PR1), Observation value types ED, RP, NR
// and NA, and OBX-4 sub-ID grouping into hasMember.
package hl7v2

// Package ingest is the import pipeline: it detects what a source system sent,
// converts it to FHIR, and writes each document or message atomically with its
// original and its provenance, or quarantines it.
//
// # Units and atomicity
//
// An input is cut into units, each written in one transaction through a Target
// (the local interaction engine, service.Service, or a remote server's FHIR API):
//
//	format         detected by                         unit
//	hl7v2          MSH/FHS/BHS at the start            each message (exact bytes, MSH to next MSH)
//	ccda           root element ClinicalDocument       the document
//	fhir-bundle    JSON with resourceType Bundle       the Bundle
//	fhir-resource  JSON with another resourceType      the resource
//	ndjson         several lines of complete JSON      runs of ChunkLines lines (ChunkBytes at most)
//
// Content decides, not the file name; a UTF-8 or UTF-16 BOM is skipped and bzip2
// ("BZh" magic) is decompressed first. Transaction Bundles run as they are; batch
// Bundles run as batches (entry by entry, as the spec defines them), with the
// original and provenance written right after. Collection, document, message,
// searchset and history Bundles become transactions of creates, with fresh
// urn:uuid fullUrls and every reference to an entry rewritten. NDJSON resources
// get the stable id UUIDv5(source URI + "/Type/id") and are written with
// update-as-create, so references between lines hold across chunks and re-imports.
//
// # Originals and provenance
//
// Into each unit's transaction the pipeline adds:
//
//   - a Binary holding the exact bytes of the unit (after transport decompression),
//   - a DocumentReference describing it (format, LOINC type of a C-CDA, date,
//     author and custodian = the source's Organization, attachment url → the
//     Binary, size, SHA-1), with identifiers urn:omnichart:original:sha256|<hex>
//     and, for HL7 v2, urn:omnichart:hl7v2:message|<MSH-4>|<MSH-10>,
//   - a Provenance whose targets are every resource of the unit, whose agent is
//     the source's Organization (or its URI when unregistered), and whose entity
//     (role source) is that DocumentReference,
//
// and sets meta.source of every resource to the source's URI. If anything fails,
// nothing of the unit is written.
//
// # Idempotency
//
// Originals are de-duplicated per source: before converting, the pipeline looks for
// a DocumentReference of the same source (meta.source) with the unit's SHA-256.
//
//	same source, same bytes                  duplicate: nothing written,
//	                                         Reason "already imported"
//	same source, same MSH-4|MSH-10, the      duplicate: nothing written,
//	  same segments apart from MSH-7 and     Reason "re-delivered (same message, …)"
//	  line ends
//	same source, same MSH-4|MSH-10, other    imported; Reason "reused message control
//	  content                                id", SameKey names the earlier originals
//	another source, same bytes               imported: that source's own import
//
// The sending facility and control id alone do not identify a message: senders
// reset their counters and test systems reuse ids (58 messages of the sample data
// share GHHSFacility|MSG00001). MSH-7 is the only field ignored, because it is the
// sender's time stamp on the envelope, which some interface engines renew when
// they send a message again. To keep this cheap, a message is compared with at most
// the 20 most recent earlier messages of its key whose size allows it; beyond them
// a re-delivery is imported and reported as reusing the key. An MLLP re-delivery
// is answered AA again.
//
// Nothing is held for review when a key is reused: HL7 v2 has no message-level
// signal that a message replaces an earlier one. Corrections are said inside the
// content (OBR-25 and OBX-11 result status C, ADT^A08 updates, order control
// codes), and the converter maps those as what they are.
//
// The unit's transaction is conditional on "no DocumentReference with this hash and
// _source", and so is the DocumentReference in it, so two imports of the same bytes
// from one source racing each other still record one original. The lookups search
// by identifier and compare meta.source themselves, so they also hold during a bulk
// load with deferred indexing, which indexes only identifiers at first; the
// conditions, which use _source, do not guard against such races there until the
// indexes are built.
//
// # Quarantine
//
// A unit that cannot be converted or written is kept as a Binary (its bytes) and a
// Task, in a transaction of its own, so the failure is never lost. Task fits
// better than a DocumentReference marked entered-in-error: the original was not
// entered in error, it is work that has not been done yet, and Task carries that
// lifecycle (failed → completed after a successful replay or re-import), who asked
// (requester = the source), when (authoredOn, executionPeriod, lastModified), the
// inputs needed to do it again, and the outcome:
//
//	Task.identifier      urn:omnichart:quarantine|<sha256 of the bytes>; one Task
//	                     per source (meta.source and the source input)
//	Task.status          failed, then completed
//	Task.businessStatus  the ehr error code (invalid, precondition-failed, …)
//	Task.description     the error message (never resource content)
//	Task.focus, input    the Binary; format, source URI, file name
//	Task.output          attempts (unsignedInt); #outcome, a contained OperationOutcome
//	                     with the issues; the DocumentReference once imported
//
// A unit failing again updates its Task (attempts + 1). Replay imports the Binary
// again from the recorded source and format. The Task is completed only when that
// very original is in: written now, or found imported before from the same source
// with the same bytes (or re-delivered with only MSH-7 changed). Another message
// that reused its MSH-4|MSH-10 never closes it.
//
// An empty original (an empty MLLP frame) is a Binary without data. A unit over
// Limits.MaxDocumentBytes is quarantined with its reason and hash but without its
// bytes (no Binary, no focus): keeping them would cost the memory the limit is
// there to save. Such an entry cannot be replayed; import the file again.
//
// # Limits
//
// Limits bound what one import may hold, and every reader checks them as it goes:
// ReadInput stops decompressing or reading at the content or document limit (a
// bzip2 bomb costs the limit, not its size, and a file that starts as a single
// document larger than the document limit is refused after its first 64 KiB),
// hl7v2.ParseWithLimits counts segments and separators before it builds anything,
// and the C-CDA reader stops at its node and depth limits. docs/limits.md lists
// them with their defaults, settings and the memory they bound.
package ingest

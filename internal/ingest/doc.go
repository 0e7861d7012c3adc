// Package ingest is the import pipeline: it detects what a source system sent,
// converts it to FHIR, and writes each document or message atomically with its
// original and its provenance, or quarantines it.
//
// # Units and atomicity
//
// An input is cut into units, each written in one transaction through a Target
// (the local ehr.Service, or a remote server's FHIR API):
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
// Before converting, the pipeline looks for a DocumentReference with the unit's
// SHA-256, or, for an HL7 v2 message, its MSH-4|MSH-10. If one exists the unit is a
// duplicate: nothing is written and the earlier DocumentReference is reported (an
// MLLP re-delivery is answered AA again). The DocumentReference is also a
// conditional create on the hash, so two imports of the same bytes racing each
// other still record one original.
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
//	Task.identifier      urn:omnichart:quarantine|<sha256 of the bytes>
//	Task.status          failed, then completed
//	Task.businessStatus  the ehr error code (invalid, precondition-failed, …)
//	Task.description     the error message (never resource content)
//	Task.focus, input    the Binary; format, source URI, file name
//	Task.output          attempts (unsignedInt); #outcome, a contained OperationOutcome
//	                     with the issues; the DocumentReference once imported
//
// A unit failing again updates its Task (attempts + 1). Replay imports the Binary
// again from the recorded source and format.
package ingest

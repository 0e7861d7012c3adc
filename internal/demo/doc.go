// Package demo builds the data set of "omnichart demo": a small multi-source
// population with known truth, made by the generator (internal/gen), plus a few
// C-CDA documents and HL7 v2 messages shipped in this package, all imported
// through the real import pipeline (internal/ingest) with provenance and
// originals, and matched as they commit by the master patient index the caller
// attaches to the service (the same hook as "omnichart import").
//
// # What Build makes
//
//   - The four generated enterprises (Enterprises), each registered as a source
//     with its organization and interfaces; the two whose products the EMR
//     software directory lists are connected to them (Source.DirectoryProduct),
//     after the directory's products are loaded from the snapshot built into the
//     binary.
//   - What each enterprise sent, generated with Options.People and Options.Seed
//     at the "hard" difficulty (typos, nicknames, married names, twins, Jr and Sr,
//     shared facts and conflicts).
//   - The shipped files (Shipped): a discharge summary and a CCD (C-CDA) and an
//     ADT^A04 from St. Mary's; an ORU^R01 from the laboratory and a FHIR Bundle
//     from the pharmacy for two people the hospital also knows under slightly
//     different demographics (pairs the matcher sends to review); and two
//     malformed messages that land in the import quarantine.
//   - One organization per enterprise, named by its slug: it sees the records of
//     every demo enterprise, the master patient index and the EMR software
//     directory (the demo is one health information exchange) and writes for
//     its own source.
//   - The demo clinician (ClinicianUser) of St. Mary's Hospital.
//   - Last, the manifest (Basic/omnichart-demo): its presence says the data set
//     is complete, so a later start reuses it (Manifest).
//
// Every step can run again without changing what is there: sources and users
// that exist are kept, originals imported before are recognised and skipped,
// and the directory load writes only what differs. A build cut short is
// completed by the next one.
package demo

// Package match decides which source records of patients are one person: the
// matching core of the master patient index. It is pure: records in,
// decisions out, no storage and no I/O. The storage-backed index persists its
// persons as ehr.PersonLink values and its review pairs as Tasks.
//
// # Model
//
// A Record is one source's Patient (source URI, id, decoded resource). The
// matcher normalises each record (names folded and coded by Double
// Metaphone, nicknames resolved, birth dates at their precision, addresses
// and phones in one form, identifiers in their namespace by the Registry),
// gives it blocking keys, and compares every pair of records that share a
// key, field by field. Each field lands on an agreement level ("exact",
// "nickname", "typo", "different", or missing when a record lacks it).
//
// The pair's score is the Fellegi-Sunter match weight: the sum over fields of
// log2(m/u), where m is the chance of the level among pairs of one person and
// u among pairs of two people. EM estimates m and u from the compared pairs
// themselves (Config.Overrides fixes some; Config.Model fixes all), and exact
// agreement on a given or family name is adjusted by how common the name is.
//
// # Decisions
//
// A pair scoring at or above Config.Upper is linked; between Config.Lower and
// Upper it is sent to review; below it stays distinct. A critical conflict
// (given names, birth dates, sexes, Jr and Sr, multiple birth order, two
// values of one strong or local identifier system) keeps a pair from being
// linked automatically, whatever its score: it goes to review when the score
// reaches Upper, and stays distinct otherwise.
//
// Linked pairs form persons highest score first, and two persons are joined
// only when no record of one conflicts with a record of the other; a link that
// would join conflicting records goes to review (RuleSplit). So A~B and B~C do
// not make one person of A and C when A and C are twins.
//
// # Guarantees
//
// The result depends on the set of records, not their order: records are
// sorted by source and id, EM sums over sorted patterns, and clustering takes
// pairs in score order with ties broken by record. An Index changed record by
// record (Upsert, Remove) holds what Batch makes of the final records with
// the same model. Every pair explains itself (Pair.Explain): its score, the
// weight of every field, the thresholds and the rule that decided. An
// explanation names fields and levels, never values, so it may be logged; the
// Model, which holds name frequencies, may not.
//
// # Example
//
//	r, err := match.Batch(records, match.DefaultConfig())
//	links := r.PersonLinks(personID, now) // one ehr.PersonLink per record
//	for _, p := range r.Reviews() {
//		task := p.ReviewTask() // a FHIR Task for a person to decide
//	}
//
// docs/matching.md describes the fields, levels, blocking keys, EM,
// thresholds and clustering with a worked example.
package match

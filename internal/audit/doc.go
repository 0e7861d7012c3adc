// Package audit keeps the tamper-evident audit log: one AuditEvent, following the
// IHE Basic Audit Log Patterns (BALP), for every sign-in, read, search, write,
// export, consent change, person link and privilege change, in one global order.
//
// # The chain
//
// Each record is stored as canonical JSON (Body) with its sequence number, time
// and agent, and sealed with
//
//	MAC(n) = HMAC-SHA-256(key, MAC(n-1) || seq || recorded || agent || body)
//
// where MAC(0) is empty. The key is a 32-byte secret kept outside the database
// (a key file in the data directory, or a flag or environment variable), so an
// attacker who can change the database but not read the key cannot forge a MAC:
// an edited, removed, inserted or reordered record breaks the chain at its place,
// and Verify names the sequence number and the reason. Removing records from the
// end is found against an anchor (the head that an earlier Verify printed and
// was kept elsewhere).
//
// # Durability
//
// Log implements ehr.Auditor. A data change's record is appended in the change's
// own transaction (RecordTx), so a change never commits without it. Reads and
// searches are recorded before their response is sent (Record); concurrent calls
// are committed together in one transaction (group commit), so the cost per
// request is a share of one commit. When the record cannot be written, the call
// fails and the request with it.
//
// A server (omnichart serve, --audit-flush-delay, 200 ms by default) gives its
// Log a spool (Options.SpoolDir): Record then writes the read's record to a
// spool file of its own process (one write(2) of a frame sealed with the key)
// and returns, and the spooled records are committed into the chain, a file per
// durable transaction, within the delay. Once Record has returned, the record
// survives the server process being killed: the next process that opens the
// log (Recover) commits the files left behind, which it recognises because no
// running process holds their lock. What the spool gives up is the commit's
// disk flush at the moment of the read: a crash of the machine or its power
// within the delay can lose the newest read records (a frame torn by it is
// reported, as is one changed on disk); and a kill between a file's commit and
// its removal records its reads twice, never not at all. In exchange a read
// pays a write(2) instead of a transaction and a disk sync (BENCHMARKS.md, "Cost
// of authorization and the audit log"). A delay of 0 turns the spool off.
// Records wait at most Options.MaxSpooled deep: when the database does not take
// them, requests fail rather than go unrecorded.
package audit

package ehr

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Auditor keeps the audit log: one record per access event, in one global order,
// that nothing may change or remove afterwards. An access is never served without
// its record, so both methods return an error when the record could not be made
// durable, and the caller must then fail the request without returning data.
//
// Every part of the server that grants or makes an access (the engine, the
// authorization server, the web UI, the command line) records through this one
// interface; internal/audit implements it.
type Auditor interface {
	// Record appends ev to the log and returns once it is committed.
	Record(ctx context.Context, ev AccessEvent) error
	// RecordTx appends ev inside tx, the write transaction of the data change ev
	// describes, so that the change and its record commit or roll back together.
	RecordTx(ctx context.Context, tx Tx, ev AccessEvent) error
}

// AuditEntry is one record of the audit log as it is stored: the event, its place
// in the log and the MAC that chains it to the record before it.
type AuditEntry struct {
	// Seq is the record's position in the log, 1 for the first, without gaps.
	Seq int64
	// Recorded is when the record was made (microsecond precision, UTC).
	Recorded time.Time
	// Agent is the acting principal's subject ("user/jdoe", "client/app").
	Agent string
	// Patients are the patients the event concerns ("Patient/<id>"), sorted.
	Patients []string
	// Body is the event as canonical JSON (internal/audit encodes it).
	Body []byte
	// MAC is HMAC-SHA-256 over the previous record's MAC and this record.
	MAC []byte
}

// AuditSealer computes the MAC of e, given the MAC of the record before it (nil
// for the first record). The store calls it while it holds the end of the log.
type AuditSealer func(prev []byte, e *AuditEntry) []byte

// AuditQuery selects audit records, newest first.
type AuditQuery struct {
	// Patient and Agent, when set, select records of that patient ("Patient/<id>")
	// or that principal subject.
	Patient string
	Agent   string
	// Since and Until, when non-zero, bound Recorded: Since <= Recorded < Until.
	Since, Until time.Time
	// Before, when non-zero, continues a listing: only records with Seq < Before.
	Before int64
	// Count bounds the number of records returned (0: no bound).
	Count int
}

// AuditStore is the storage of the audit log. Entries are only ever appended:
// there is no method that changes or removes one.
type AuditStore interface {
	// AppendAudit appends entries after the last record, in one transaction of
	// its own, numbering and sealing them while it holds the end of the log.
	AppendAudit(ctx context.Context, entries []*AuditEntry, seal AuditSealer) error
	// AuditEntries returns the records q selects, newest first.
	AuditEntries(ctx context.Context, q AuditQuery) ([]*AuditEntry, error)
	// ScanAudit calls fn with every record in Seq order, then returns the head of
	// the log (the Seq and MAC the store will chain the next record to).
	ScanAudit(ctx context.Context, fn func(*AuditEntry) error) (headSeq int64, headMAC []byte, err error)
}

// AuditAppender is implemented by a write transaction (Tx) of a store that keeps
// the audit log in the same database, so a data change and its record commit
// together.
type AuditAppender interface {
	AppendAudit(ctx context.Context, entries []*AuditEntry, seal AuditSealer) error
}

type originKey struct{}

// WithOrigin returns a context that carries the network address the request came
// from, for the audit record of what it does.
func WithOrigin(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, originKey{}, addr)
}

// Origin returns the network address of ctx's request, or "".
func Origin(ctx context.Context) string {
	a, _ := ctx.Value(originKey{}).(string)
	return a
}

// PatientsOf returns the patients of recs' compartments, sorted and without
// duplicates; a resource outside every Patient compartment adds none.
func PatientsOf(recs []*Record) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range recs {
		if r == nil || !strings.HasPrefix(r.Compartment, "Patient/") || seen[r.Compartment] {
			continue
		}
		seen[r.Compartment] = true
		out = append(out, r.Compartment)
	}
	slices.Sort(out)
	return out
}

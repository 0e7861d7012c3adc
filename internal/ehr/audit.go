package ehr

import (
	"context"
	"encoding/json"
	"fmt"
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

// AuditSealer seals entries with one key. The store calls MAC while it holds the
// end of the log.
type AuditSealer struct {
	// KeyID names the key without revealing it. The log remembers the KeyID of
	// its first append and refuses entries sealed with another key, which would
	// break the chain for every later verification.
	KeyID string
	// MAC computes the MAC of e, given the MAC of the record before it (nil for
	// the first record).
	MAC func(prev []byte, e *AuditEntry) []byte
}

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

// auditBody is the stored form of an event. Its fields are in a fixed order and
// encoding/json writes them so, which makes the encoding canonical.
type auditBody struct {
	Interaction  string   `json:"interaction"`
	Outcome      string   `json:"outcome"`
	Agent        string   `json:"agent"`
	Client       string   `json:"client,omitempty"`
	Organization string   `json:"organization,omitempty"`
	Source       string   `json:"source,omitempty"`
	Address      string   `json:"address,omitempty"`
	RequestID    string   `json:"requestId,omitempty"`
	Type         string   `json:"type,omitempty"`
	ID           string   `json:"id,omitempty"`
	Params       []string `json:"params,omitempty"`
	Records      []string `json:"records,omitempty"`
	Patients     []string `json:"patients,omitempty"`
	Detail       string   `json:"detail,omitempty"`
}

// NewAuditEntry turns ev into an unsealed audit entry: its patients sorted and
// without duplicates, its time ev.Time or, when that is zero, now().
func NewAuditEntry(ev AccessEvent, now func() time.Time) (*AuditEntry, error) {
	patients := slices.Clone(ev.Patients)
	slices.Sort(patients)
	patients = slices.Compact(patients)
	if ev.Outcome == "" {
		ev.Outcome = "ok"
	}
	b, err := json.Marshal(auditBody{Interaction: ev.Interaction, Outcome: ev.Outcome, Agent: ev.Subject,
		Client: ev.Client, Organization: ev.Organization, Source: ev.Source, Address: ev.Address,
		RequestID: ev.RequestID, Type: ev.Type, ID: ev.ID, Params: ev.Params, Records: ev.Records,
		Patients: patients, Detail: ev.Detail})
	if err != nil {
		return nil, fmt.Errorf("audit encode: %w", err)
	}
	t := ev.Time
	if t.IsZero() {
		t = now()
	}
	return &AuditEntry{Recorded: t.UTC().Truncate(time.Microsecond), Agent: ev.Subject, Patients: patients, Body: b}, nil
}

// AuditEvent decodes the event of a stored audit entry; its Time is the entry's
// Recorded.
func AuditEvent(e *AuditEntry) (AccessEvent, error) {
	var b auditBody
	if err := json.Unmarshal(e.Body, &b); err != nil {
		return AccessEvent{}, fmt.Errorf("audit record %d: %w", e.Seq, err)
	}
	return AccessEvent{Time: e.Recorded, Subject: b.Agent, Source: b.Source, Client: b.Client,
		Organization: b.Organization, Address: b.Address, RequestID: b.RequestID, Interaction: b.Interaction,
		Type: b.Type, ID: b.ID, Params: b.Params, Records: b.Records, Patients: b.Patients,
		Detail: b.Detail, Outcome: b.Outcome}, nil
}

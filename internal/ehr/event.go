package ehr

import (
	"context"
	"log/slog"
	"time"
)

// AccessEvent is one read or write that a request made or tried: who, what and the
// outcome. It names resources by type and id only, never by content, so it holds no
// PHI beyond the identifiers an audit trail needs.
type AccessEvent struct {
	Time time.Time
	// Subject and Source are the principal's; Client and Organization the
	// application it acts through and the user's organization, where known.
	Subject      string
	Source       string
	Client       string
	Organization string
	// Address is the network address the request came from; RequestID its id.
	Address   string
	RequestID string
	// Interaction is the FHIR interaction: read, vread, history, search, create,
	// update, patch, delete, transaction, batch, or an operation
	// ("operation-everything"); outside the FHIR API: login, token, link, unlink,
	// user-change, break-the-glass, consent, export.
	Interaction string
	// Type and ID name the resource type and instance, where there is one.
	Type string
	ID   string
	// Params are the names of the search parameters (never their values).
	Params []string
	// Records are the resources read or written ("Type/id"), versions included
	// for writes ("Type/id/_history/n").
	Records []string
	// Patients are the patients concerned ("Patient/<id>").
	Patients []string
	// Detail says more where the interaction needs it: the reason of a
	// break-the-glass access, the privilege a user change granted.
	Detail string
	// Outcome is "ok" or the error code.
	Outcome string
}

// EventSink receives access events. Record must not block for long and must not
// fail the request: a sink that cannot keep an event reports it itself.
type EventSink interface {
	Record(ctx context.Context, ev AccessEvent)
}

// DiscardEvents is the sink of a server that keeps no access events.
type DiscardEvents struct{}

// Record drops ev.
func (DiscardEvents) Record(context.Context, AccessEvent) {}

// LogEvents writes each event as a structured log record at debug level.
type LogEvents struct{ Log *slog.Logger }

// Record logs ev.
func (l LogEvents) Record(ctx context.Context, ev AccessEvent) {
	l.Log.DebugContext(ctx, "access", "subject", ev.Subject, "interaction", ev.Interaction, "type", ev.Type,
		"id", ev.ID, "records", len(ev.Records), "outcome", ev.Outcome)
}

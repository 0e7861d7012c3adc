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
	// Subject and Source are the principal's.
	Subject string
	Source  string
	// Interaction is the FHIR interaction: read, vread, history, search, create,
	// update, patch, delete, transaction, batch.
	Interaction string
	// Type and ID name the resource type and instance, where there is one.
	Type string
	ID   string
	// Params are the names of the search parameters (never their values).
	Params []string
	// Records are the resources read or written ("Type/id").
	Records []string
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

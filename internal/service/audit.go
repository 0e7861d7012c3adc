package service

import (
	"context"
	"slices"

	"omnichart/internal/ehr"
)

// checkNotAudit refuses a change of an AuditEvent: the audit log is kept apart
// from the resources, append-only, and nothing written through the API, an
// import or a Bundle may add to, change or remove it.
func checkNotAudit(c ehr.Change) error {
	if c.Type == "AuditEvent" && c.Method != "GET" && c.Method != "HEAD" {
		return ehr.Errorf(ehr.Forbidden, "the audit log is append-only and written by the server alone: AuditEvents cannot be created, updated, patched or deleted")
	}
	return nil
}

// AuditEvents lists the audit records q selects, newest first, as their events
// with their sequence numbers. Reading the audit log is an access like any other:
// the policy must allow searching AuditEvent, and the search is itself recorded.
// A caller whose scope is limited to patients' compartments sees only the
// records of those patients and must name one of them; any other limited scope
// (to sources, to resource types) is Forbidden, because a record of the log
// belongs to no source. NotSupported when the store keeps no audit log.
func (s *Service) AuditEvents(ctx context.Context, q ehr.AuditQuery) (seqs []int64, events []ehr.AccessEvent, err error) {
	defer func() {
		params := auditParams(q)
		if aerr := s.read(ctx, "search", "AuditEvent", "", params, nil, err); aerr != nil {
			seqs, events, err = nil, nil, aerr
		}
	}()
	st, ok := s.store.(ehr.AuditStore)
	if !ok {
		return nil, nil, ehr.Errorf(ehr.NotSupported, "this server keeps no audit log")
	}
	sctx, err := s.begin(ctx, ehr.ActionSearch, "AuditEvent")
	if err != nil {
		return nil, nil, err
	}
	scope := ehr.ScopeFrom(sctx)
	switch {
	case scope.All:
	case len(scope.Compartments) > 0 && scope.Sources == nil:
		if q.Patient == "" || !slices.Contains(scope.Compartments, q.Patient) {
			return nil, nil, ehr.Errorf(ehr.Forbidden, "this grant reads the audit records of its patient only: name the patient (patient=Patient/<id>)")
		}
	default:
		return nil, nil, ehr.Errorf(ehr.Forbidden, "reading the audit log needs a grant that reaches every record")
	}
	entries, err := st.AuditEntries(sctx, q)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		ev, err := ehr.AuditEvent(e)
		if err != nil {
			return nil, nil, err
		}
		seqs = append(seqs, e.Seq)
		events = append(events, ev)
	}
	return seqs, events, nil
}

// auditParams names the criteria of an audit search for its own record.
func auditParams(q ehr.AuditQuery) []string {
	var out []string
	add := func(set bool, name string) {
		if set {
			out = append(out, name)
		}
	}
	add(q.Patient != "", "patient")
	add(q.Agent != "", "agent")
	add(!q.Since.IsZero() || !q.Until.IsZero(), "date")
	add(q.Before > 0, "_page")
	return out
}

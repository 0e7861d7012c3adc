package service

import (
	"context"
	"strings"
	"time"

	"omnichart/internal/ehr"
)

// The length of a break-the-glass access: DefaultBreakGlass when none is asked
// for, at most MaxBreakGlass.
const (
	DefaultBreakGlass = time.Hour
	MaxBreakGlass     = 4 * time.Hour
)

// BreakGlass opens to the calling user, for d (DefaultBreakGlass when 0, at most
// MaxBreakGlass), the records at every source of the human Patient/id is: the
// compartments of Patient/id and of every Patient linked to it through the master
// patient index, whatever their Consents say. Only a principal the policy allows
// ehr.ActionBreakGlass may (Forbidden otherwise); the reason is required
// (Invalid). The access is recorded for good in the store's report of emergency
// accesses and in the audit log, before it opens. Patient/id need not be visible to the
// caller, since an emergency may bring a patient the caller's enterprise never
// saw; NotFound when it does not exist.
func (s *Service) BreakGlass(ctx context.Context, id, reason string, d time.Duration) (b ehr.BreakGlass, err error) {
	recorded := false
	defer func() {
		// A refusal is recorded too; a granted access was recorded before it
		// was granted.
		if err != nil && !recorded {
			s.wrote(ctx, "break-the-glass", "Patient", id, nil, err)
		}
	}()
	if err := ehr.CheckID(id); err != nil {
		return b, err
	}
	p := ehr.PrincipalFrom(ctx)
	if err := s.policy.Authorize(ctx, p, ehr.ActionBreakGlass, "Patient"); err != nil {
		return b, err
	}
	user, ok := strings.CutPrefix(p.Subject, "user/")
	if !ok || user == "" {
		return b, ehr.Errorf(ehr.Forbidden, "only a signed-in user may break the glass")
	}
	if strings.TrimSpace(reason) == "" {
		return b, ehr.Errorf(ehr.Invalid, "breaking the glass needs a reason")
	}
	switch {
	case d == 0:
		d = DefaultBreakGlass
	case d < 0 || d > MaxBreakGlass:
		return b, ehr.Errorf(ehr.Invalid, "a break-the-glass access lasts at most %s", MaxBreakGlass)
	}
	access, ok := s.store.(ehr.EmergencyAccess)
	if !ok {
		return b, ehr.Errorf(ehr.NotSupported, "this store keeps no emergency accesses")
	}
	sys := ehr.WithScope(ctx, ehr.Unrestricted())
	if _, err := s.store.Read(sys, "Patient", id); err != nil {
		return b, err
	}
	linked, err := s.linkedPatients(sys, id)
	if err != nil {
		return b, err
	}
	now := s.now().UTC()
	b = ehr.BreakGlass{User: user, Patient: "Patient/" + id, Reason: strings.TrimSpace(reason), Opens: now, Closes: now.Add(d)}
	for _, l := range linked {
		b.Compartments = append(b.Compartments, "Patient/"+l)
	}
	// The audit record comes first, so that no emergency access is ever open
	// without it; it names every patient opened, the reason and the end.
	ev := s.event(ctx, "break-the-glass", "Patient", id, nil, nil, nil)
	ev.Patients = b.Compartments
	ev.Detail = "reason: " + b.Reason + "; until " + b.Closes.Format(time.RFC3339)
	if err := s.Audit(ctx, ev); err != nil {
		return ehr.BreakGlass{}, err
	}
	recorded = true
	out, err := access.BreakGlass(ctx, b)
	if err != nil {
		ev.Outcome = string(ehr.ErrorCode(err))
		s.Audit(ctx, ev)
	}
	return out, err
}

// BreakGlassReport lists the emergency accesses opened at or after since. Only
// the trusted in-process principal may read it (the command line's report).
func (s *Service) BreakGlassReport(ctx context.Context, since time.Time) ([]ehr.BreakGlass, error) {
	if !ehr.PrincipalFrom(ctx).System {
		return nil, ehr.Errorf(ehr.Forbidden, "the report of emergency accesses is for administrators")
	}
	access, ok := s.store.(ehr.EmergencyAccess)
	if !ok {
		return nil, ehr.Errorf(ehr.NotSupported, "this store keeps no emergency accesses")
	}
	return access.BreakGlassReport(ctx, since)
}

package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"omnichart/internal/ehr"
)

var _ ehr.EmergencyAccess = (*Store)(nil)

// BreakGlass implements ehr.EmergencyAccess: one access_openings row per opened
// compartment, for "user:<name>", kind break-glass, with the reason. The rows
// are never deleted; they are the report.
func (s *Store) BreakGlass(ctx context.Context, b ehr.BreakGlass) (ehr.BreakGlass, error) {
	if b.User == "" || strings.TrimSpace(b.Reason) == "" || len(b.Compartments) == 0 {
		return b, ehr.Errorf(ehr.Invalid, "a break-the-glass access needs a user, a reason and a patient")
	}
	if !b.Closes.After(b.Opens) {
		return b, ehr.Errorf(ehr.Invalid, "a break-the-glass access must close after it opens")
	}
	if b.ID == "" {
		b.ID = s.newID()
	}
	err := s.runTx(ctx, func(t *tx) error {
		for i, c := range b.Compartments {
			if err := t.exec(ctx, `INSERT INTO access_openings (id, compartment, grantee, kind, opens, closes, origin, reason, granted_by, granted_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, fmt.Sprintf("break-glass/%s#%d", b.ID, i), c, "user:"+b.User, openingBreakGlass,
				b.Opens.UnixMicro(), b.Closes.UnixMicro(), "break-glass/"+b.ID, b.Reason, b.Patient, t.now.UnixMicro()); err != nil {
				return fmt.Errorf("record break-the-glass access: %w", err)
			}
		}
		return nil
	})
	return b, err
}

// BreakGlassReport implements ehr.EmergencyAccess.
func (s *Store) BreakGlassReport(ctx context.Context, since time.Time) ([]ehr.BreakGlass, error) {
	t := s.reader()
	rows, err := t.query(ctx, `SELECT origin, grantee, compartment, reason, granted_by, opens, closes FROM access_openings
		WHERE kind = ? AND opens >= ? ORDER BY opens, origin, id`, openingBreakGlass, since.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("list break-the-glass accesses: %w", err)
	}
	defer rows.Close()
	var out []ehr.BreakGlass
	for rows.Next() {
		var origin, grantee, compartment, reason, patient string
		var opens, closes int64
		if err := rows.Scan(&origin, &grantee, &compartment, &reason, &patient, &opens, &closes); err != nil {
			return nil, err
		}
		id := strings.TrimPrefix(origin, "break-glass/")
		if n := len(out); n > 0 && out[n-1].ID == id {
			out[n-1].Compartments = append(out[n-1].Compartments, compartment)
			continue
		}
		out = append(out, ehr.BreakGlass{ID: id, User: strings.TrimPrefix(grantee, "user:"), Patient: patient,
			Compartments: []string{compartment}, Reason: reason, Opens: time.UnixMicro(opens).UTC(), Closes: time.UnixMicro(closes).UTC()})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"omnichart/internal/ehr"
)

var _ ehr.MatchModelStore = (*Store)(nil)

// SaveMatchModel implements ehr.MatchModelStore: one row of match_models,
// never changed afterwards. A zero Estimated is the store's clock.
func (s *Store) SaveMatchModel(ctx context.Context, m ehr.MatchModel) (ehr.MatchModel, error) {
	if strings.TrimSpace(m.EstimatedBy) == "" {
		return m, ehr.Errorf(ehr.Invalid, "a matcher model needs who estimated it")
	}
	if len(m.Body) == 0 {
		return m, ehr.Errorf(ehr.Invalid, "a matcher model needs its levels")
	}
	if m.Records < 0 || m.Pairs < 0 {
		return m, ehr.Errorf(ehr.Invalid, "a matcher model cannot come from %d records and %d pairs", m.Records, m.Pairs)
	}
	m.ID = s.newID()
	err := s.runTx(ctx, func(t *tx) error {
		if m.Estimated.IsZero() {
			m.Estimated = t.now
		}
		m.Estimated = m.Estimated.UTC().Truncate(time.Microsecond)
		if err := t.exec(ctx, `INSERT INTO match_models (id, estimated, estimated_by, records, pairs, body) VALUES (?, ?, ?, ?, ?, ?)`,
			m.ID, m.Estimated.UnixMicro(), m.EstimatedBy, m.Records, m.Pairs, string(m.Body)); err != nil {
			return fmt.Errorf("save matcher model: %w", err)
		}
		return nil
	})
	return m, err
}

// CurrentMatchModel implements ehr.MatchModelStore.
func (s *Store) CurrentMatchModel(ctx context.Context) (ehr.MatchModel, error) {
	var m ehr.MatchModel
	var estimated, records, pairs int64
	var body string
	err := s.reader().queryRow(ctx, `SELECT id, estimated, estimated_by, records, pairs, body FROM match_models
		ORDER BY estimated DESC, id DESC LIMIT 1`).Scan(&m.ID, &estimated, &m.EstimatedBy, &records, &pairs, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return m, ehr.Errorf(ehr.NotFound, "no matcher model is saved")
	}
	if err != nil {
		return m, fmt.Errorf("read matcher model: %w", err)
	}
	m.Estimated, m.Records, m.Pairs, m.Body = time.UnixMicro(estimated).UTC(), int(records), int(pairs), []byte(body)
	return m, nil
}

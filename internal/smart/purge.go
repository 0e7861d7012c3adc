package smart

import (
	"context"
	"time"
)

// purgeEvery is how often a server process deletes rows that can no longer matter.
const purgeEvery = time.Minute

// purgeExpired deletes expired codes, refresh tokens, launches, revocations and
// assertion ids, at most once per purgeEvery per process. An expired row can no
// longer be used or matter: codes, refresh tokens and launches are checked for
// expiry before use, and a revoked token or family whose last possible token has
// expired is refused by its expiry anyway. Failures are logged, not returned: the
// request that triggered the purge does not depend on it.
func (s *Server) purgeExpired(ctx context.Context) {
	now := s.cfg.Now()
	s.purgeMu.Lock()
	if now.Sub(s.lastPurge) < purgeEvery {
		s.purgeMu.Unlock()
		return
	}
	s.lastPurge = now
	s.purgeMu.Unlock()
	for _, table := range []string{"auth_codes", "auth_refresh_tokens", "auth_launches", "auth_revoked", "auth_assertions"} {
		if _, err := s.repo.exec(ctx, `DELETE FROM `+table+` WHERE expires < ?`, micros(now)); err != nil {
			s.cfg.Log.WarnContext(ctx, "purge expired rows", "table", table, "error", err)
		}
	}
}

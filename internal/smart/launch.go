package smart

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// launchTTL is how long an EHR launch may wait for the app's authorization request.
const launchTTL = 5 * time.Minute

// launchContext is what an EHR launch hands to the app through its token response.
type launchContext struct{ patient, encounter string }

// NewLaunch records the context of an EHR launch (the patient and encounter open
// in the EHR) and returns the opaque launch value the EHR passes to the app's
// launch URL; the app sends it back as the launch parameter of its authorization
// request (SMART App Launch, EHR launch). It is valid for five minutes.
func (s *Server) NewLaunch(ctx context.Context, patient, encounter string) (string, error) {
	if !idSyntax.MatchString(patient) || encounter != "" && !idSyntax.MatchString(encounter) {
		return "", errors.New("a launch needs a valid patient id (and encounter id, if any)")
	}
	launch := randomToken()
	_, err := s.repo.exec(ctx, `INSERT INTO auth_launches (launch_hash, patient, encounter, expires) VALUES (?, ?, ?, ?)`,
		tokenHash(launch), patient, encounter, micros(s.cfg.Now().Add(launchTTL)))
	return launch, err
}

// launch returns the context of a launch value, or false when it is unknown or expired.
func (s *Server) launch(ctx context.Context, launch string) (launchContext, bool, error) {
	var lc launchContext
	var expires int64
	err := s.repo.row(ctx, `SELECT patient, encounter, expires FROM auth_launches WHERE launch_hash = ?`, tokenHash(launch)).
		Scan(&lc.patient, &lc.encounter, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return lc, false, nil
	}
	if err != nil {
		return lc, false, err
	}
	return lc, s.cfg.Now().UnixMicro() <= expires, nil
}

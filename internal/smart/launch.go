package smart

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/url"
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

// ErrNoApp is EHRLaunch's answer for a client that is unknown, disabled or has
// no launch URL.
var ErrNoApp = errors.New("no app to launch")

// App is a SMART app the chart can launch: a client with a launch URL.
type App struct {
	ClientID  string
	Name      string
	LaunchURL string
}

// LaunchApps lists the enabled clients that have a launch URL, by name.
func (s *Server) LaunchApps(ctx context.Context) ([]App, error) {
	rows, err := s.repo.db.QueryContext(ctx, s.repo.q(`SELECT client_id, name, launch_url FROM auth_clients
		WHERE launch_url <> '' AND disabled = 0 ORDER BY name, client_id`))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var apps []App
	for rows.Next() {
		var a App
		if err := rows.Scan(&a.ClientID, &a.Name, &a.LaunchURL); err != nil {
			return nil, err
		}
		apps = append(apps, a)
	}
	return apps, rows.Err()
}

// EHRLaunch starts an EHR launch of the app clientID for patient (and encounter,
// if any) and returns the URL to send the browser to: the app's launch URL with
// iss (the FHIR base URL as r reaches this server) and launch (SMART App Launch,
// "EHR launch"). The caller has already checked that its user may see patient;
// the app still asks the user to sign in and approve, and gets the patient as
// its launch context only through this server's token response.
func (s *Server) EHRLaunch(r *http.Request, clientID, patient, encounter string) (string, error) {
	ctx := r.Context()
	c, err := s.repo.client(ctx, clientID)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (c.Disabled || c.LaunchURL == "") {
		return "", fmt.Errorf("%w: %q", ErrNoApp, clientID)
	}
	if err != nil {
		return "", err
	}
	u, err := url.Parse(c.LaunchURL)
	if err != nil {
		return "", fmt.Errorf("app %q: launch URL: %w", clientID, err)
	}
	launch, err := s.NewLaunch(ctx, patient, encounter)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("iss", s.FHIRBase(r))
	q.Set("launch", launch)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// checkLaunchURL refuses a launch URL that is not an absolute http(s) URL.
func checkLaunchURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("launch URL %q: want an absolute http or https URL without a fragment", raw)
	}
	return nil
}

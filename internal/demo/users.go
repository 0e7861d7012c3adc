package demo

import (
	"context"
	"fmt"

	"omnichart/internal/directory"
	"omnichart/internal/mpi"
	"omnichart/internal/smart"
)

// The demo clinician signs in with ClinicianUser and the password Build was
// given; ClinicianOrg is the enterprise the clinician works for.
const (
	ClinicianUser = "clinician"
	ClinicianOrg  = "st-marys"
)

// Users is what Build needs of the authorization server (a *smart.Server).
type Users interface {
	AddOrgSource(ctx context.Context, org, source string) error
	AddUser(ctx context.Context, u smart.User, password string) error
	ResetPassword(ctx context.Context, username, password string) error
}

// setUpUsers makes one organization per enterprise, named by its slug, which
// sees every enterprise's records, the master patient index's Persons and
// review tasks and the EMR software directory, and writes for its own source (smart: the source named like the
// organization comes first); then the demo clinician of ClinicianOrg.
func setUpUsers(ctx context.Context, auth Users, ents []Enterprise, password string) error {
	for _, org := range ents {
		sources := []string{mpi.SourceURI, directory.Source}
		for _, e := range ents {
			sources = append(sources, e.URI)
		}
		for _, s := range sources {
			if err := auth.AddOrgSource(ctx, org.Slug, s); err != nil {
				return fmt.Errorf("organization %s: %w", org.Slug, err)
			}
		}
	}
	return SetPassword(ctx, auth, password)
}

// SetPassword makes the demo clinician, or gives the existing one password.
func SetPassword(ctx context.Context, auth Users, password string) error {
	err := auth.AddUser(ctx, smart.User{Username: ClinicianUser, Org: ClinicianOrg}, password)
	if err == nil {
		return nil
	}
	if reset := auth.ResetPassword(ctx, ClinicianUser, password); reset != nil {
		return fmt.Errorf("demo user %s: %w", ClinicianUser, err)
	}
	return nil
}

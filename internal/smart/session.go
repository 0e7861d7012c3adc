package smart

import (
	"context"
	"database/sql"
	"errors"

	"omnichart/internal/ehr"
)

// ErrSignIn is the one answer SignIn gives to every refused sign-in: a wrong
// password or code, an unknown, disabled or locked-out user.
var ErrSignIn = errSignIn

// WebScope is what a user signed in to the clinician's web pages may do: the same
// as a user/*.cruds token of that user, which Policy still limits to the records
// of the user's organization.
const WebScope = "user/*.cruds"

// SignIn checks a user's password and, for a user with TOTP, the one-time code,
// for a first-party sign-in such as the web pages. It applies the same lockout
// and gives the same answer for unknown and known users as the authorization
// endpoint: every refusal is ErrSignIn; other errors are the store's.
//
// Every attempt is recorded in the audit log (interaction login, client "web"),
// failed ones with their outcome; a sign-in whose record cannot be written is
// refused.
func (s *Server) SignIn(ctx context.Context, username, password, code string) (User, error) {
	u, err := s.signIn(ctx, username, password, code)
	login := ehr.AccessEvent{Interaction: "login", Subject: "user/" + username, Client: "web"}
	switch {
	case errors.Is(err, errSignIn):
		login.Outcome = string(ehr.Unauthorized)
	case err != nil:
		login.Outcome = string(ehr.Internal)
	default:
		login.Organization = u.Org
	}
	if aerr := s.audit(ctx, login); aerr != nil && err == nil {
		return User{}, aerr
	}
	if err != nil {
		return User{}, err
	}
	return u.User, nil
}

// UserGrant returns the grant of a signed-in user for the web pages: WebScope,
// limited to the sources of the user's organization as they are now. A user
// disabled or removed since signing in gets ErrSignIn.
func (s *Server) UserGrant(ctx context.Context, username string) (Grant, error) {
	u, err := s.repo.user(ctx, username)
	if errors.Is(err, sql.ErrNoRows) {
		return Grant{}, ErrSignIn
	}
	if err != nil {
		return Grant{}, err
	}
	if u.Disabled {
		return Grant{}, ErrSignIn
	}
	sc, err := ParseScopes(WebScope)
	if err != nil {
		return Grant{}, err
	}
	sources, err := s.repo.orgSources(ctx, u.Org)
	if err != nil {
		return Grant{}, err
	}
	return Grant{Scopes: sc, ClientID: "omnichart-web", Username: u.Username, UserSources: sources, Org: u.Org}, nil
}

// PrincipalOf names the actor of a grant, as the bearer middleware does: a user
// writes for the first source of the user's organization.
func PrincipalOf(g Grant) ehr.Principal { return principalOf(g) }

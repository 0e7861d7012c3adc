package smart_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"omnichart/internal/smart"
)

// TestFirstPartySignInAndGrant checks the sign-in and grant of the web pages:
// the same refusals as the authorization endpoint, and a user/*.cruds grant over
// the sources of the user's organization that ends when the user is disabled.
func TestFirstPartySignInAndGrant(t *testing.T) {
	h := newHarness(t, "sqlite")
	ctx := context.Background()
	cases := []struct {
		name, user, pw string
		ok             bool
	}{
		{"the right password signs in", "alice", password, true},
		{"a wrong password is ErrSignIn", "alice", "wrong password 1", false},
		{"an unknown user is ErrSignIn", "nobody", password, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, err := h.auth.SignIn(ctx, c.user, c.pw, "")
			switch {
			case c.ok && (err != nil || u.Username != c.user || u.Org != "org-a"):
				t.Errorf("SignIn(%s) = %+v, %v; want the user of org-a", c.user, u, err)
			case !c.ok && !errors.Is(err, smart.ErrSignIn):
				t.Errorf("SignIn(%s) = %v, want ErrSignIn", c.user, err)
			}
		})
	}
	g, err := h.auth.UserGrant(ctx, "alice")
	if err != nil {
		t.Fatalf("UserGrant(alice) = %v", err)
	}
	if g.Scopes.String() != smart.WebScope || !slices.Equal(g.UserSources, []string{sourceA}) || g.Username != "alice" {
		t.Errorf("UserGrant(alice) = scopes %q, sources %v, user %q; want %q over [%s]", g.Scopes.String(), g.UserSources, g.Username, smart.WebScope, sourceA)
	}
	if p := smart.PrincipalOf(g); p.Subject != "user/alice" || p.Source != sourceA || p.System {
		t.Errorf("PrincipalOf = %+v, want user/alice writing for %s", p, sourceA)
	}
	must(t, h.auth.DisableUser(ctx, "alice"))
	if _, err := h.auth.UserGrant(ctx, "alice"); !errors.Is(err, smart.ErrSignIn) {
		t.Errorf("UserGrant of a disabled user = %v, want ErrSignIn", err)
	}
	if _, err := h.auth.UserGrant(ctx, "nobody"); !errors.Is(err, smart.ErrSignIn) {
		t.Errorf("UserGrant of an unknown user = %v, want ErrSignIn", err)
	}
}

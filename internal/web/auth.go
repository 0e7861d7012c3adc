package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/mpi"
	"omnichart/internal/smart"
)

const (
	sessionCookie = "omnichart_session"
	// preCookie carries the CSRF token of the sign-in form, before any session.
	preCookie = "omnichart_signin"
	// maxFormBytes bounds a form body.
	maxFormBytes = 64 << 10
)

// viewer is who is looking at a page.
type viewer struct {
	User     string
	CSRF     string
	Operator bool
}

type viewerKey struct{}

func viewerFrom(ctx context.Context) viewer {
	v, _ := ctx.Value(viewerKey{}).(viewer)
	return v
}

// localPrincipal is the user of a server without authorization.
var localPrincipal = ehr.Principal{Subject: "user/local"}

// authed serves next to a signed-in user, with the user's grant and principal
// in the request context; anyone else is sent to the sign-in page. Every POST
// must carry the session's CSRF token.
func (h *Handler) authed(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if h.cfg.InsecureNoAuth {
			ctx = context.WithValue(ctx, viewerKey{}, viewer{User: "local user", Operator: true, CSRF: h.localCSRF})
			ctx = ehr.WithPrincipal(ctx, localPrincipal)
			if r.Method == http.MethodPost && !h.formCSRF(w, r, h.localCSRF) {
				return
			}
			next(w, r.WithContext(ctx))
			return
		}
		c, err := r.Cookie(sessionCookie)
		var sess session
		ok := err == nil
		if ok {
			sess, ok = h.sessions.get(c.Value)
		}
		if !ok {
			if r.Method != http.MethodGet {
				h.fail(w, r, ehr.Errorf(ehr.Unauthorized, "your session has ended; sign in again"))
				return
			}
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		g, err := h.cfg.Auth.UserGrant(ctx, sess.user)
		if err != nil {
			if errors.Is(err, smart.ErrSignIn) {
				h.sessions.end(c.Value)
				http.Redirect(w, r, "/signin", http.StatusSeeOther)
				return
			}
			h.fail(w, r, err)
			return
		}
		if r.Method == http.MethodPost && !h.formCSRF(w, r, sess.csrf) {
			return
		}
		ctx = smart.WithGrant(ctx, g)
		ctx = ehr.WithPrincipal(ctx, principalOf(g))
		ctx = context.WithValue(ctx, viewerKey{}, viewer{User: sess.user, CSRF: sess.csrf, Operator: h.isOperator(sess.user)})
		next(w, r.WithContext(ctx))
	})
}

// principalOf is the principal of a signed-in user: as for a token of the
// user, but writing for the first source of the user's organization that is not
// the patient index's. An organization may be given the index's source so that
// its users see the links between records; its users still never write as the
// index (reconciliation decisions are their enterprise's own records).
func principalOf(g smart.Grant) ehr.Principal {
	p := smart.PrincipalOf(g)
	if p.Source == mpi.SourceURI {
		p.Source = ""
		for _, s := range g.UserSources {
			if s != mpi.SourceURI {
				p.Source = s
				break
			}
		}
	}
	return p
}

// operator is authed for the operations pages: a signed-in user who is not an
// operator gets 403.
func (h *Handler) operator(next http.HandlerFunc) http.Handler {
	return h.authed(func(w http.ResponseWriter, r *http.Request) {
		if !viewerFrom(r.Context()).Operator {
			h.fail(w, r, ehr.Errorf(ehr.Forbidden, "the operations pages are for operators; ask an administrator"))
			return
		}
		next(w, r)
	})
}

// opsContext is the context operations work runs in: the connected sources and
// the quarantine span every source, so an operator works on them as the
// trusted in-process principal, named after the operator.
func opsContext(ctx context.Context) context.Context {
	return ehr.WithPrincipal(ctx, ehr.Principal{Subject: "user/" + viewerFrom(ctx).User, System: true})
}

// formCSRF parses the form and checks its csrf field against want; on a
// mismatch it answers 403 and returns false.
func (h *Handler) formCSRF(w http.ResponseWriter, r *http.Request, want string) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, ehr.Errorf(ehr.Invalid, "the form cannot be read"))
		return false
	}
	got := r.PostForm.Get("csrf")
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		h.fail(w, r, ehr.Errorf(ehr.Forbidden, "the form is out of date or did not come from this site; reload the page and try again"))
		return false
	}
	return true
}

func (h *Handler) secure(r *http.Request) bool { return h.cfg.SecureCookies || r.TLS != nil }

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: h.secure(r),
		SameSite: http.SameSiteStrictMode, MaxAge: maxAge})
}

type signInData struct {
	Error, Next, CSRF string
}

func (h *Handler) signInPage(w http.ResponseWriter, r *http.Request) {
	if h.cfg.InsecureNoAuth {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	h.renderSignIn(w, r, http.StatusOK, signInData{Next: safeNext(r.URL.Query().Get("next"))})
}

func (h *Handler) renderSignIn(w http.ResponseWriter, r *http.Request, status int, d signInData) {
	d.CSRF = newID(32)
	h.setCookie(w, r, preCookie, d.CSRF, 0)
	h.render(w, r, status, "signin", "Sign in", viewer{}, d)
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	if h.cfg.InsecureNoAuth {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	c, err := r.Cookie(preCookie)
	want := ""
	if err == nil {
		want = c.Value
	}
	if !h.formCSRF(w, r, want) {
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	u, err := h.cfg.Auth.SignIn(r.Context(), strings.TrimSpace(r.PostForm.Get("username")), r.PostForm.Get("password"), strings.TrimSpace(r.PostForm.Get("otp")))
	if err != nil {
		if errors.Is(err, smart.ErrSignIn) {
			h.renderSignIn(w, r, http.StatusUnauthorized, signInData{Error: "The user name, password or code is not right, or the account is locked.", Next: next})
			return
		}
		h.fail(w, r, err)
		return
	}
	id, _ := h.sessions.create(u.Username)
	h.setCookie(w, r, preCookie, "", -1)
	h.setCookie(w, r, sessionCookie, id, 0)
	h.cfg.Log.InfoContext(r.Context(), "web sign-in", "user", u.Username, "request", requestID(r.Context()))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		h.sessions.end(c.Value)
	}
	h.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// safeNext keeps a post-sign-in destination on this site: a path, never
// another host ("//evil", "/\evil").
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

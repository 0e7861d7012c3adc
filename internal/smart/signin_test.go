package smart_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// signInForm posts credentials to the authorization endpoint as the sign-in page does.
func (h *harness) signInForm(client, user, pw string) (*http.Response, string) {
	return h.signInFormOTP(client, user, pw, "")
}

func (h *harness) signInFormOTP(client, user, pw, otp string) (*http.Response, string) {
	form := url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {redirect}, "scope": {"user/*.rs"},
		"aud": {h.url + "/fhir"}, "code_challenge": {challengeOf(goodVerifier)}, "code_challenge_method": {"S256"},
		"username": {user}, "password": {pw}, "otp": {otp}}
	form = h.withSignInCSRF(form)
	req, err := http.NewRequest(http.MethodPost, h.url+"/oauth/authorize", strings.NewReader(form.Encode()))
	must(h.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body := h.do(req)
	return resp, string(body)
}

func TestSignInLockoutWithoutEnumeration(t *testing.T) {
	h := newHarness(t, "sqlite")
	client := h.publicClient("user/*.rs")
	// Known user with a wrong password and an unknown user get the same page.
	known, knownBody := h.signInForm(client, "alice", "wrong password 1")
	unknown, unknownBody := h.signInForm(client, "nobody", "wrong password 1")
	if known.StatusCode != http.StatusUnauthorized || unknown.StatusCode != known.StatusCode || knownBody != unknownBody ||
		!strings.Contains(knownBody, "Invalid username or password.") {
		t.Fatalf("wrong password: %d, unknown user: %d; the pages differ or say the wrong thing:\n%s\n---\n%s",
			known.StatusCode, unknown.StatusCode, knownBody, unknownBody)
	}
	// Nine more failures (ten in all) lock the account: the right password is
	// then refused with the same answer.
	for i := 0; i < 9; i++ {
		h.signInForm(client, "alice", "wrong password 2")
	}
	resp, body := h.signInForm(client, "alice", password)
	if resp.StatusCode != http.StatusUnauthorized || body != unknownBody {
		t.Fatalf("the right password after 10 failures: %d, want the same 401 page as a wrong one", resp.StatusCode)
	}
	// The lock ends after its time.
	h.clock.t = h.clock.t.Add(16 * 60e9)
	if resp, _ := h.signInForm(client, "alice", password); resp.StatusCode != http.StatusFound {
		t.Fatalf("after the lockout: %d, want a redirect with a code", resp.StatusCode)
	}
}

func TestSignInLockoutNeedsTenFailures(t *testing.T) {
	h := newHarness(t, "sqlite")
	client := h.publicClient("user/*.rs")
	for i := 0; i < 9; i++ {
		h.signInForm(client, "alice", "wrong password")
	}
	if resp, _ := h.signInForm(client, "alice", password); resp.StatusCode != http.StatusFound {
		t.Fatalf("the right password after 9 failures: %d, want 302", resp.StatusCode)
	}
}

func TestAuthorizeShowsTheSignInForm(t *testing.T) {
	h := newHarness(t, "sqlite")
	client := h.publicClient("patient/*.rs")
	q := url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {redirect}, "scope": {"launch/patient patient/*.rs"},
		"state": {"s<b>"}, "aud": {h.url + "/fhir"}, "code_challenge": {challengeOf(goodVerifier)}, "code_challenge_method": {"S256"}}
	check := func(how string, resp *http.Response, body []byte) {
		page := string(body)
		if resp.StatusCode != 200 || !strings.Contains(page, `name="username"`) || !strings.Contains(page, `name="patient"`) ||
			!strings.Contains(page, `value="s&lt;b&gt;"`) || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: %d, want the sign-in form with a patient field, the state escaped, no framing:\n%s", how, resp.StatusCode, page)
		}
	}
	resp, body := h.get("/oauth/authorize?"+q.Encode(), "")
	check("GET", resp, body)
	req, err := http.NewRequest(http.MethodPost, h.url+"/oauth/authorize", strings.NewReader(q.Encode()))
	must(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body = h.do(req)
	check("POST (authorize-post)", resp, body)
	// Errors the client cannot be told through its redirect URI stay on the server.
	for name, change := range map[string][2]string{"unknown client": {"client_id", "nobody"}, "unregistered redirect": {"redirect_uri", "https://evil.example/cb"}} {
		bad := url.Values{}
		for k, v := range q {
			bad[k] = v
		}
		bad.Set(change[0], change[1])
		if resp, _ := h.get("/oauth/authorize?"+bad.Encode(), ""); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("%s: %d %q, want 400 without a redirect", name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// A wrong aud is told to the client.
	bad := url.Values{}
	for k, v := range q {
		bad[k] = v
	}
	bad.Set("aud", "https://other.example/fhir")
	resp, _ = h.get("/oauth/authorize?"+bad.Encode(), "")
	if loc, _ := url.Parse(resp.Header.Get("Location")); resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("state") != "s<b>" {
		t.Errorf("wrong aud: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestPatientPickerOffersOnlyVisiblePatients(t *testing.T) {
	h := newHarness(t, "sqlite")
	client := h.publicClient("patient/*.rs")
	for _, c := range []struct {
		patient string
		want    int
	}{{"pa", http.StatusFound}, {"pb", http.StatusBadRequest}, {"missing", http.StatusBadRequest}, {"bad id!", http.StatusBadRequest}} {
		form := url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {redirect}, "scope": {"launch/patient patient/*.rs"},
			"aud": {h.url + "/fhir"}, "code_challenge": {challengeOf(goodVerifier)}, "code_challenge_method": {"S256"},
			"username": {"alice"}, "password": {password}, "patient": {c.patient}}
		resp, _ := h.post("/oauth/authorize", form, "", "")
		if resp.StatusCode != c.want {
			t.Errorf("patient %q picked: %d, want %d", c.patient, resp.StatusCode, c.want)
		}
	}
}

// TestSignInNeedsTheFormsToken: credentials posted without the csrf value of a
// form this server gave the browser (a page of another site posting them, or a
// form whose cookie expired), or with another browser's, are refused with 403
// before they are checked: no code is issued and no failure is counted.
func TestSignInNeedsTheFormsToken(t *testing.T) {
	h := newHarness(t, "sqlite")
	client := h.publicClient("user/*.rs")
	base := url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {redirect}, "scope": {"user/*.rs"},
		"aud": {h.url + "/fhir"}, "code_challenge": {challengeOf(goodVerifier)}, "code_challenge_method": {"S256"},
		"username": {"alice"}, "password": {"wrong password"}}
	good := h.withSignInCSRF(base)
	forged := func(name string, form url.Values, withCookie bool) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, h.url+"/oauth/authorize", strings.NewReader(form.Encode()))
		must(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		if withCookie {
			c.Jar = h.client.Jar
		}
		resp, err := c.Do(req)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, resp.StatusCode)
		}
	}
	noToken := url.Values{}
	for k, v := range good {
		noToken[k] = v
	}
	noToken.Del("csrf")
	otherToken := url.Values{}
	for k, v := range good {
		otherToken[k] = v
	}
	otherToken.Set("csrf", strings.Repeat("A", 43))
	// Eleven forged posts with the wrong password: were they counted, alice
	// would be locked out (at ten failures).
	for range 11 {
		forged("no csrf field, the browser's cookie", noToken, true)
		forged("another csrf value, the browser's cookie", otherToken, true)
		forged("the form's csrf value, no cookie", good, false)
	}
	right := h.withSignInCSRF(base)
	right.Set("password", password)
	resp, _ := h.post("/oauth/authorize", right, "", "")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("alice's real sign-in after the forged posts: %d, want 302 (forged posts must not count as failures)", resp.StatusCode)
	}
}

package smart_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"omnichart/internal/smart"
)

func TestPKCECodeFlow(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			h := newHarness(t, engine)
			client := h.publicClient("patient/*.rs user/*.rs")
			scope := "launch/patient openid fhirUser patient/Observation.rs patient/Patient.read"
			cases := []struct {
				name, verifier string
				ok             bool
			}{
				{"right verifier", goodVerifier, true},
				{"another verifier", strings.Repeat("a", 43), false},
				{"no verifier", "", false},
				{"too short", goodVerifier[:42], false},
				{"too long", strings.Repeat("b", 129), false},
				{"forbidden characters", goodVerifier[:42] + "+", false},
				{"the challenge itself (plain)", challengeOf(goodVerifier), false},
			}
			for _, c := range cases {
				code := h.authorizeCode(client, scope, goodVerifier, "pa")
				form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "client_id": {client}}
				if c.verifier != "" {
					form.Set("code_verifier", c.verifier)
				}
				resp, body := h.post("/oauth/token", form, "", "")
				if !c.ok {
					if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
						t.Errorf("%s: status %d %v, want 400 invalid_grant", c.name, resp.StatusCode, body)
					}
					continue
				}
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: status %d %v", c.name, resp.StatusCode, body)
				}
				if body["patient"] != "pa" || body["token_type"] != "Bearer" || body["id_token"] == nil {
					t.Errorf("token response %v: want patient pa, Bearer and an id_token", body)
				}
				checkIDToken(t, h, body["id_token"].(string), client)
				// The patient's compartment only: oa, not ob.
				_, search := h.get("/fhir/Observation", body["access_token"].(string))
				if !strings.Contains(string(search), `"id":"oa"`) || strings.Contains(string(search), `"id":"ob"`) {
					t.Errorf("patient-scoped search returned %s; want oa and not ob", search)
				}
				// A code works once; a second use revokes what the first gave.
				access := body["access_token"].(string)
				resp, body = h.post("/oauth/token", form, "", "")
				if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
					t.Errorf("second use of a code: %d %v, want invalid_grant", resp.StatusCode, body)
				}
				if r, _ := h.get("/fhir/Observation", access); r.StatusCode != http.StatusUnauthorized {
					t.Errorf("the access token of a code used twice answers %d, want 401", r.StatusCode)
				}
			}
			// The authorization endpoint refuses plain PKCE, no PKCE and a malformed challenge.
			for name, q := range map[string]url.Values{
				"plain":     {"code_challenge": {goodVerifier}, "code_challenge_method": {"plain"}},
				"no PKCE":   {},
				"malformed": {"code_challenge": {"short"}, "code_challenge_method": {"S256"}},
			} {
				q.Set("response_type", "code")
				q.Set("client_id", client)
				q.Set("redirect_uri", redirect)
				q.Set("scope", scope)
				q.Set("aud", h.url+"/fhir")
				resp, _ := h.get("/oauth/authorize?"+q.Encode(), "")
				loc, _ := url.Parse(resp.Header.Get("Location"))
				if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "invalid_request" {
					t.Errorf("%s: status %d location %s, want a redirect with invalid_request", name, resp.StatusCode, loc)
				}
			}
		})
	}
}

func checkIDToken(t *testing.T, h *harness, raw, client string) {
	t.Helper()
	resp, body := h.get("/oauth/jwks", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("jwks: %d", resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	must(t, json.Unmarshal(body, &set))
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	must(t, err)
	var claims struct {
		jwt.Claims
		FHIRUser string `json:"fhirUser"`
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("the id_token's kid %q is not in the JWKS", tok.Headers[0].KeyID)
	}
	must(t, tok.Claims(keys[0].Key, &claims))
	if claims.FHIRUser != h.url+"/fhir/Practitioner/alice" || claims.Issuer != h.url+"/fhir" || !claims.Audience.Contains(client) {
		t.Errorf("id_token claims %+v", claims)
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			h := newHarness(t, engine)
			client := h.publicClient("user/*.rs")
			code := h.authorizeCode(client, "user/Observation.rs offline_access", goodVerifier, "")
			resp, first := h.post("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
				"client_id": {client}, "code_verifier": {goodVerifier}}, "", "")
			if resp.StatusCode != http.StatusOK || first["refresh_token"] == nil {
				t.Fatalf("code exchange: %d %v", resp.StatusCode, first)
			}
			refresh := func(tok string) (*http.Response, map[string]any) {
				return h.post("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}, "client_id": {client}}, "", "")
			}
			resp, second := refresh(first["refresh_token"].(string))
			if resp.StatusCode != http.StatusOK || second["refresh_token"] == first["refresh_token"] || second["scope"] != first["scope"] {
				t.Fatalf("rotation: %d %v", resp.StatusCode, second)
			}
			if r, _ := h.get("/fhir/Observation", second["access_token"].(string)); r.StatusCode != http.StatusOK {
				t.Fatalf("the rotated access token is refused: %d", r.StatusCode)
			}
			// Reuse of the spent token revokes the family: the current refresh
			// token and the access tokens issued under it stop working.
			resp, body := refresh(first["refresh_token"].(string))
			if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
				t.Fatalf("reuse: %d %v, want invalid_grant", resp.StatusCode, body)
			}
			if resp, body := refresh(second["refresh_token"].(string)); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("the family's newest refresh token after reuse: %d %v, want 400", resp.StatusCode, body)
			}
			for _, tok := range []any{first["access_token"], second["access_token"]} {
				if r, _ := h.get("/fhir/Observation", tok.(string)); r.StatusCode != http.StatusUnauthorized {
					t.Errorf("an access token of the revoked family answers %d, want 401", r.StatusCode)
				}
			}
		})
	}
}

// backendClient registers an asymmetric client with an inline JWKS of one key.
func backendClient(t *testing.T, h *harness, key any, alg jose.SignatureAlgorithm, sources []string) (string, jose.Signer) {
	pub := jose.JSONWebKey{Key: publicOf(key), KeyID: "k1", Algorithm: string(alg), Use: "sig"}
	set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	must(t, err)
	id, _, err := h.auth.AddClient(context.Background(), smart.Client{Kind: smart.ClientAsymmetric, JWKS: string(set), Scopes: "system/*.rs", Sources: sources})
	must(t, err)
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k1").WithType("JWT"))
	must(t, err)
	return id, sig
}

func publicOf(key any) any {
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		return &k.PublicKey
	case *rsa.PrivateKey:
		return &k.PublicKey
	}
	return nil
}

func assertion(t *testing.T, sig jose.Signer, client, aud, jti string, now time.Time, ttl time.Duration) string {
	raw, err := jwt.Signed(sig).Claims(jwt.Claims{Issuer: client, Subject: client, Audience: jwt.Audience{aud}, ID: jti,
		Expiry: jwt.NewNumericDate(now.Add(ttl))}).Serialize()
	must(t, err)
	return raw
}

func TestBackendServicesAssertions(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	must(t, err)
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	must(t, err)
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			h := newHarness(t, engine)
			for _, k := range []struct {
				key any
				alg jose.SignatureAlgorithm
			}{{ec, jose.ES384}, {rs, jose.RS384}} {
				client, sig := backendClient(t, h, k.key, k.alg, []string{sourceB})
				tokenURL := h.url + "/oauth/token"
				ask := func(a string) (*http.Response, map[string]any) {
					return h.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"system/Observation.rs"},
						"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}, "", "")
				}
				good := assertion(t, sig, client, tokenURL, "jti-1", h.clock.now(), 4*time.Minute)
				resp, body := ask(good)
				if resp.StatusCode != http.StatusOK || body["scope"] != "system/Observation.rs" {
					t.Fatalf("%s: %d %v", k.alg, resp.StatusCode, body)
				}
				_, search := h.get("/fhir/Observation", body["access_token"].(string))
				if !strings.Contains(string(search), `"id":"ob"`) || strings.Contains(string(search), `"id":"oa"`) {
					t.Errorf("%s: a client of source b searched %s; want ob and not oa", k.alg, search)
				}
				bad := map[string]string{
					"replayed jti":         good,
					"wrong aud":            assertion(t, sig, client, h.url+"/oauth/authorize", "jti-2", h.clock.now(), time.Minute),
					"expired":              assertion(t, sig, client, tokenURL, "jti-3", h.clock.now().Add(-2*time.Minute), time.Minute),
					"lifetime over 5 min":  assertion(t, sig, client, tokenURL, "jti-4", h.clock.now(), time.Hour),
					"unregistered key":     assertion(t, otherSigner(t, k.alg), client, tokenURL, "jti-5", h.clock.now(), time.Minute),
					"not a JWT":            "abc.def",
					"signed, no signature": strings.Join(strings.Split(good, ".")[:2], ".") + ".",
				}
				for name, a := range bad {
					resp, body := ask(a)
					if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" {
						t.Errorf("%s %s: %d %v, want 401 invalid_client", k.alg, name, resp.StatusCode, body)
					}
				}
			}
		})
	}
}

// TestBackendServicesJWKSURL registers a client by the URL of its key set, which
// the server fetches over HTTP.
func TestBackendServicesJWKSURL(t *testing.T) {
	h := newHarness(t, "sqlite")
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	must(t, err)
	set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "url-key", Algorithm: "ES384", Use: "sig"}}})
	must(t, err)
	var fetched atomic.Int32
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(set)
	}))
	defer jwks.Close()
	client, _, err := h.auth.AddClient(context.Background(), smart.Client{Kind: smart.ClientAsymmetric, JWKSURL: jwks.URL, Scopes: "system/*.rs", Sources: []string{"*"}})
	must(t, err)
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES384, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "url-key"))
	must(t, err)
	for i, jti := range []string{"u1", "u2"} {
		a := assertion(t, sig, client, h.url+"/oauth/token", jti, h.clock.now(), time.Minute)
		resp, body := h.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"system/Patient.rs"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}, "", "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("assertion %d with a key from the JWKS URL: %d %v", i, resp.StatusCode, body)
		}
	}
	if fetched.Load() != 1 {
		t.Errorf("the JWKS URL was fetched %d times for two assertions, want 1 (cached)", fetched.Load())
	}
}

func otherSigner(t *testing.T, alg jose.SignatureAlgorithm) jose.Signer {
	var key any
	var err error
	if alg == jose.ES384 {
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	} else {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	must(t, err)
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
	must(t, err)
	return sig
}

func TestIntrospectionAndRevocation(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			h := newHarness(t, engine)
			ctx := context.Background()
			id, secret, err := h.auth.AddClient(ctx, smart.Client{Kind: smart.ClientSymmetric, RedirectURIs: []string{redirect}, Scopes: "patient/*.rs"})
			must(t, err)
			code := h.authorizeCode(id, "launch/patient patient/Observation.rs", goodVerifier, "pa")
			resp, tok := h.post("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
				"code_verifier": {goodVerifier}}, id, secret)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("code exchange: %d %v", resp.StatusCode, tok)
			}
			access := tok["access_token"].(string)
			introspect := func() map[string]any {
				resp, body := h.post("/oauth/introspect", url.Values{"token": {access}}, id, secret)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("introspect: %d %v", resp.StatusCode, body)
				}
				return body
			}
			got := introspect()
			if got["active"] != true || got["patient"] != "pa" || got["scope"] != "patient/Observation.rs launch/patient" || got["client_id"] != id {
				t.Errorf("introspection %v", got)
			}
			if resp, _ := h.post("/oauth/introspect", url.Values{"token": {access}}, id, "wrong"); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("introspection with a wrong secret: %d, want 401", resp.StatusCode)
			}
			if resp, _ := h.post("/oauth/revoke", url.Values{"token": {access}}, id, secret); resp.StatusCode != http.StatusOK {
				t.Fatalf("revoke: %d", resp.StatusCode)
			}
			if got := introspect(); got["active"] != false || len(got) != 1 {
				t.Errorf("introspection after revocation: %v, want only active=false", got)
			}
			if r, _ := h.get("/fhir/Observation", access); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("a revoked token answers %d, want 401", r.StatusCode)
			}
		})
	}
}

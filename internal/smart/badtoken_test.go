package smart_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"omnichart/internal/smart"
)

// serverKey reads the server's signing key from the database, so the test can
// forge tokens that differ from good ones in one claim only.
func serverKey(t *testing.T, h *harness) *jose.JSONWebKey {
	t.Helper()
	var raw string
	must(t, h.db.QueryRow(`SELECT private_jwk FROM auth_keys`).Scan(&raw))
	var k jose.JSONWebKey
	must(t, k.UnmarshalJSON([]byte(raw)))
	return &k
}

// claimsOf decodes a token's payload without checking it.
func claimsOf(t *testing.T, tok string) map[string]any {
	parts := strings.Split(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	must(t, err)
	var c map[string]any
	must(t, json.Unmarshal(raw, &c))
	return c
}

func signWith(t *testing.T, key *jose.JSONWebKey, claims map[string]any) string {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key.Key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", key.KeyID))
	must(t, err)
	raw, err := jwt.Signed(sig).Claims(claims).Serialize()
	must(t, err)
	return raw
}

func with(c map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for a, b := range c {
		out[a] = b
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

func unsignedJWT(header, claims map[string]any, sig []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// badTokens makes every kind of token the API must refuse, keyed by kind.
func badTokens(t *testing.T, h *harness) map[string]string {
	ctx := context.Background()
	scope := "user/*.cruds"
	good, err := h.auth.IssueToken(ctx, scope, "alice", "", time.Hour)
	must(t, err)
	key := serverKey(t, h)
	claims := claimsOf(t, good)
	now := h.clock.now()
	bad := map[string]string{}

	bad["alg none"] = unsignedJWT(map[string]any{"alg": "none", "typ": "JWT"}, claims, nil)
	// HS256 keyed with the server's public key, the classic confusion.
	pub, err := json.Marshal(key.Public())
	must(t, err)
	header := map[string]any{"alg": "HS256", "typ": "JWT", "kid": key.KeyID}
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	mac := hmac.New(sha256.New, pub)
	mac.Write([]byte(input))
	bad["HS256 keyed with the public key"] = input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	bad["RS256 header on an ES256 signature"] = strings.Replace(good, strings.Split(good, ".")[0],
		base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"`+key.KeyID+`","typ":"JWT"}`)), 1)
	parts := strings.Split(good, ".")
	sig := []byte(parts[2])
	sig[5] ^= 0x01
	bad["bad signature"] = parts[0] + "." + parts[1] + "." + string(sig)
	bad["payload changed after signing"] = parts[0] + "." + strings.Split(signWith(t, key, with(claims, "scope", "system/*.cruds")), ".")[1] + "." + parts[2]
	bad["expired by a second"] = signWith(t, key, with(with(claims, "exp", now.Add(-time.Second).Unix()), "nbf", now.Add(-time.Hour).Unix()))
	bad["nbf in the future"] = signWith(t, key, with(claims, "nbf", now.Add(2*time.Second).Unix()))
	bad["no exp"] = signWith(t, key, with(claims, "exp", nil))
	bad["no jti"] = signWith(t, key, with(claims, "jti", nil))
	bad["wrong aud"] = signWith(t, key, with(claims, "aud", "https://other.example/fhir"))
	bad["wrong iss"] = signWith(t, key, with(claims, "iss", "https://other.example"))
	bad["unknown client"] = signWith(t, key, with(claims, "client_id", "nobody"))
	bad["unknown user"] = signWith(t, key, with(claims, "username", "mallory"))
	bad["truncated"] = good[:len(good)-12]
	bad["garbage"] = "not-a-token"
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	bad["another server's key, same kid"] = signWith(t, &jose.JSONWebKey{Key: other, KeyID: key.KeyID}, claims)
	bad["another server's key, its own kid"] = signWith(t, &jose.JSONWebKey{Key: other, KeyID: "other"}, claims)

	// Tokens that were good and were then revoked or lost their user.
	revoked, err := h.auth.IssueToken(ctx, scope, "alice", "", time.Hour)
	must(t, err)
	id, secret, err := h.auth.AddClient(ctx, smart.Client{Kind: smart.ClientSymmetric, Scopes: "system/*.rs", Sources: []string{"*"}})
	must(t, err)
	_, cc := h.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"system/*.rs"}}, id, secret)
	if cc["access_token"] == nil {
		t.Fatalf("client credentials: %v", cc)
	}
	if resp, _ := h.post("/oauth/revoke", url.Values{"token": {cc["access_token"].(string)}}, id, secret); resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	bad["revoked"] = cc["access_token"].(string)
	_ = revoked

	// A token whose refresh family was revoked by reuse: introspection says
	// inactive although the token itself is unchanged.
	public := h.publicClient("user/*.rs")
	code := h.authorizeCode(public, "user/*.rs offline_access", goodVerifier, "")
	_, first := h.post("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"client_id": {public}, "code_verifier": {goodVerifier}}, "", "")
	for range 2 {
		h.post("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first["refresh_token"].(string)}, "client_id": {public}}, "", "")
	}
	bad["introspected inactive (family revoked)"] = first["access_token"].(string)

	must(t, h.auth.AddUser(ctx, smart.User{Username: "bob", Org: "org-a"}, password))
	bobs, err := h.auth.IssueToken(ctx, scope, "bob", "", time.Hour)
	must(t, err)
	must(t, h.auth.DisableUser(ctx, "bob"))
	bad["disabled user"] = bobs
	return bad
}

// protectedRequests are requests over every kind of FHIR interaction.
var protectedRequests = []struct{ method, path, body string }{
	{"GET", "/fhir/Patient", ""},
	{"GET", "/fhir/Patient/pa", ""},
	{"GET", "/fhir/Patient/pa/_history", ""},
	{"GET", "/fhir/Patient/pa/_history/1", ""},
	{"GET", "/fhir/Patient/_history", ""},
	{"GET", "/fhir/_history", ""},
	{"GET", "/fhir?_type=Patient", ""},
	{"GET", "/fhir/Patient/pa/Observation", ""},
	{"POST", "/fhir/Patient/_search", ""},
	{"POST", "/fhir/Patient", `{"resourceType":"Patient"}`},
	{"PUT", "/fhir/Patient/pa", `{"resourceType":"Patient","id":"pa"}`},
	{"PATCH", "/fhir/Patient/pa", `[{"op":"add","path":"/active","value":true}]`},
	{"DELETE", "/fhir/Patient/pa", ""},
	{"POST", "/fhir", `{"resourceType":"Bundle","type":"batch","entry":[]}`},
	{"GET", "/fhir/Nonsense", ""},
}

func (h *harness) request(method, path, body, token string) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, strings.NewReader(body))
	must(h.t, err)
	switch method {
	case "PATCH":
		req.Header.Set("Content-Type", "application/json-patch+json")
	case "POST":
		if strings.HasSuffix(path, "_search") {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req.Header.Set("Content-Type", "application/fhir+json")
		}
	case "PUT":
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	return h.do(req)
}

func TestBadTokensAreRefusedEverywhere(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			h := newHarness(t, engine)
			ctx := context.Background()
			bad := badTokens(t, h)
			if len(bad) < 12 {
				t.Fatalf("only %d kinds of bad token", len(bad))
			}
			headers := map[string]string{"no Authorization header": "", "Basic scheme": "Basic YWxpY2U6cGFzc3dvcmQ=", "empty bearer": "Bearer "}
			for kind, tok := range bad {
				headers[kind] = "Bearer " + tok
			}
			// The oracle that the requests can succeed at all: a good token
			// passes the gate on every one of them.
			good, err := h.auth.IssueToken(ctx, "user/*.cruds", "alice", "", time.Hour)
			must(t, err)
			for _, r := range protectedRequests {
				if resp, body := h.request(r.method, r.path, r.body, "Bearer "+good); resp.StatusCode == http.StatusUnauthorized {
					t.Errorf("good token: %s %s answered 401: %s", r.method, r.path, body)
				}
			}
			n := 0
			for kind, header := range headers {
				for _, r := range protectedRequests {
					resp, body := h.request(r.method, r.path, r.body, header)
					n++
					if resp.StatusCode != http.StatusUnauthorized {
						t.Errorf("%s: %s %s answered %d, want 401", kind, r.method, r.path, resp.StatusCode)
						continue
					}
					if resp.Header.Get("X-Request-ID") == "" {
						t.Errorf("%s: %s %s: 401 without X-Request-ID", kind, r.method, r.path)
					}
					if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") {
						t.Errorf("%s: %s %s: WWW-Authenticate %q", kind, r.method, r.path, resp.Header.Get("WWW-Authenticate"))
					}
					if !strings.Contains(string(body), `"resourceType":"OperationOutcome"`) {
						t.Errorf("%s: %s %s: body %s is no OperationOutcome", kind, r.method, r.path, body)
					}
				}
			}
			if n < 12*len(protectedRequests) {
				t.Fatalf("only %d requests checked", n)
			}
			// Introspection agrees: none of them is active.
			id, secret, err := h.auth.AddClient(ctx, smart.Client{Kind: smart.ClientSymmetric, Scopes: "system/*.rs"})
			must(t, err)
			for kind, tok := range bad {
				_, got := h.post("/oauth/introspect", url.Values{"token": {tok}}, id, secret)
				if got["active"] != false {
					t.Errorf("%s: introspection says %v", kind, got)
				}
			}
			_, got := h.post("/oauth/introspect", url.Values{"token": {good}}, id, secret)
			if got["active"] != true {
				t.Errorf("good token: introspection says %v", got)
			}
			// The open paths stay open.
			for _, p := range []string{"/fhir/metadata", "/fhir/.well-known/smart-configuration"} {
				if resp, _ := h.get(p, ""); resp.StatusCode != http.StatusOK {
					t.Errorf("%s without a token: %d, want 200", p, resp.StatusCode)
				}
			}
		})
	}
}

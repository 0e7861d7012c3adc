package main_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// adminToken runs "omnichart admin token" and returns the last line it printed.
func adminToken(t *testing.T, db string, args ...string) string {
	t.Helper()
	out, code := omnichart(t, t.TempDir(), append([]string{"admin", "token", "--db", db}, args...)...)
	if code != 0 {
		t.Fatalf("admin token %v exited %d: %s", args, code, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

func fetch(t *testing.T, method, url, token, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestServeIsSecureByDefault(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "o.db")
	s := startSecure(t, nil, "--db", db)
	resp, body := fetch(t, "GET", s.base+"/Patient", "", "")
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") ||
		!strings.Contains(body, "OperationOutcome") {
		t.Fatalf("GET /Patient without a token: %d %q %s; want 401 with WWW-Authenticate and an OperationOutcome",
			resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	resp, body = fetch(t, "GET", s.base+"/metadata", "", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "SMART-on-FHIR") || !strings.Contains(body, "/oauth/token") {
		t.Errorf("metadata: %d, want 200 declaring SMART-on-FHIR and its OAuth endpoints: %.300s", resp.StatusCode, body)
	}
	resp, body = fetch(t, "GET", s.base+"/.well-known/smart-configuration", "", "")
	var conf struct {
		TokenEndpoint string   `json:"token_endpoint"`
		Capabilities  []string `json:"capabilities"`
		PKCE          []string `json:"code_challenge_methods_supported"`
	}
	if err := json.Unmarshal([]byte(body), &conf); err != nil || resp.StatusCode != 200 || conf.TokenEndpoint == "" ||
		len(conf.Capabilities) < 10 || strings.Join(conf.PKCE, ",") != "S256" {
		t.Errorf("smart-configuration: %d %s", resp.StatusCode, body)
	}

	// Two organizations' records; alice of org-a sees only hers.
	system := adminToken(t, db, "--scope", "system/*.cruds")
	for _, p := range []struct{ id, source string }{{"pa", "urn:omnichart:source:a"}, {"pb", "urn:omnichart:source:b"}} {
		resp, body := fetch(t, "PUT", s.base+"/Patient/"+p.id, system, `{"resourceType":"Patient","id":"`+p.id+`","meta":{"source":"`+p.source+`"}}`)
		if resp.StatusCode >= 300 {
			t.Fatalf("PUT Patient/%s with a system token: %d %s", p.id, resp.StatusCode, body)
		}
	}
	if out, code := omnichart(t, t.TempDir(), "admin", "org", "add", "org-a", "--db", db, "--source", "urn:omnichart:source:a"); code != 0 {
		t.Fatalf("admin org add: %s", out)
	}
	cmd := exec.Command(binary, "admin", "user", "add", "alice", "--db", db, "--org", "org-a", "--fhir-user", "Practitioner/alice")
	cmd.Stdin = strings.NewReader("a long enough password\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("admin user add: %v %s", err, out)
	}
	alice := adminToken(t, db, "--scope", "user/*.rs", "--user", "alice")
	resp, body = fetch(t, "GET", s.base+"/Patient", alice, "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"id":"pa"`) || strings.Contains(body, `"id":"pb"`) {
		t.Errorf("alice's search: %d %s; want pa and not pb", resp.StatusCode, body)
	}
	if resp, _ := fetch(t, "DELETE", s.base+"/Patient/pa", alice, ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("alice's delete with a read scope: %d, want 403", resp.StatusCode)
	}
	if out, code := omnichart(t, t.TempDir(), "admin", "user", "disable", "alice", "--db", db); code != 0 {
		t.Fatalf("admin user disable: %s", out)
	}
	if resp, _ := fetch(t, "GET", s.base+"/Patient", alice, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a disabled user's token: %d, want 401", resp.StatusCode)
	}
	out, code := omnichart(t, t.TempDir(), "admin", "launch", "--db", db, "--patient", "pa", "--encounter", "e1")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines[len(lines)-1]) != 43 {
		t.Errorf("admin launch: %d %q, want a launch value on the last line", code, out)
	}
	out, code = omnichart(t, t.TempDir(), "admin", "client", "add", "--db", db, "--kind", "symmetric", "--scope", "system/*.rs", "--source", "*")
	if code != 0 || !strings.Contains(out, "client_id: ") || !strings.Contains(out, "client_secret: ") {
		t.Fatalf("admin client add: %d %s", code, out)
	}
	clientID := strings.TrimSpace(strings.SplitN(strings.SplitN(out, "client_id: ", 2)[1], "\n", 2)[0])
	secret := strings.TrimSpace(strings.SplitN(strings.SplitN(out, "client_secret: ", 2)[1], "\n", 2)[0])
	tokenURL := strings.TrimSuffix(s.base, "/fhir") + "/oauth/token"
	askToken := func() (*http.Response, map[string]any) {
		req, err := http.NewRequest("POST", tokenURL, strings.NewReader("grant_type=client_credentials&scope=system%2F*.rs"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(clientID, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp, m
	}
	resp, tok := askToken()
	clientToken, _ := tok["access_token"].(string)
	if resp.StatusCode != 200 || clientToken == "" {
		t.Fatalf("client credentials of the new client: %d %v", resp.StatusCode, tok)
	}
	if resp, _ := fetch(t, "GET", s.base+"/Patient", clientToken, ""); resp.StatusCode != 200 {
		t.Fatalf("the new client's token: %d, want 200", resp.StatusCode)
	}
	if out, code := omnichart(t, t.TempDir(), "admin", "client", "disable", clientID, "--db", db); code != 0 {
		t.Fatalf("admin client disable: %s", out)
	}
	if resp, _ := fetch(t, "GET", s.base+"/Patient", clientToken, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a disabled client's token: %d, want 401", resp.StatusCode)
	}
	if resp, tok := askToken(); resp.StatusCode == 200 {
		t.Errorf("a disabled client got a token: %v", tok)
	}
	if out, code := omnichart(t, t.TempDir(), "admin", "client", "disable", "no-such-client", "--db", db); code == 0 {
		t.Errorf("admin client disable of an unknown client exited 0: %s", out)
	}
}

func TestInsecureServerSaysSo(t *testing.T) {
	s := start(t, nil, "--db", "sqlite:"+filepath.Join(t.TempDir(), "o.db"))
	resp, body := fetch(t, "GET", s.base+"/metadata", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, "AUTHORIZATION IS OFF") {
		t.Errorf("metadata of an insecure server: %d %.300s", resp.StatusCode, body)
	}
	if resp, _ := fetch(t, "GET", s.base+"/Patient", "", ""); resp.StatusCode != 200 {
		t.Errorf("an insecure server answers %d without a token", resp.StatusCode)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns their
// paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestServeHTTPS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	s := startSecure(t, nil, "--db", "sqlite:"+filepath.Join(t.TempDir(), "o.db"), "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(s.base, "https://") {
		t.Fatalf("serve with TLS prints %s, want an https URL", s.base)
	}
	client := func(max uint16) *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: max}}}
	}
	resp, err := client(tls.VersionTLS12).Get(s.base + "/.well-known/smart-configuration")
	if err != nil {
		t.Fatalf("TLS 1.2: %v", err)
	}
	var conf map[string]any
	json.NewDecoder(resp.Body).Decode(&conf)
	resp.Body.Close()
	if !strings.HasPrefix(conf["token_endpoint"].(string), "https://") {
		t.Errorf("the token endpoint over TLS is %v, want https", conf["token_endpoint"])
	}
	if resp, err := client(tls.VersionTLS11).Get(s.base + "/metadata"); err == nil {
		resp.Body.Close()
		t.Errorf("a TLS 1.1 client was served")
	}
	if out, code := omnichart(t, t.TempDir(), "serve", "--addr", "127.0.0.1:0", "--tls-cert", certFile); code == 0 || !strings.Contains(out, "--tls-key") {
		t.Errorf("--tls-cert without --tls-key: %d %s", code, out)
	}
}

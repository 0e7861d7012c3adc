package main_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
		t.Errorf("admin client add: %d %s", code, out)
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

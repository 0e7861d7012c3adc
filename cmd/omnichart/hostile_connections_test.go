package main_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"omnichart/internal/ehrtest"
)

// TestServeAppliesItsConnectionLimits starts the real binary with the connection
// flags set low (one of them through the environment) and checks that each one
// reaches its listener: a trickling body gets 408, a second request in progress
// of one client 429, and a trickling MLLP frame loses its connection.
func TestServeAppliesItsConnectionLimits(t *testing.T) {
	srv := start(t, []string{"OMNICHART_MAX_REQUESTS_PER_CLIENT=1"}, "--db", "sqlite:"+ehrtest.SQLitePath(t),
		"--read-timeout", "700ms", "--mllp", "127.0.0.1:0", "--mllp-read-timeout", "300ms")
	u, err := url.Parse(srv.base)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"resourceType":"Patient","gender":"female"}`
	held, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	start := time.Now()
	fmt.Fprintf(held, "POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nContent-Length: %d\r\n\r\n{", len(body))
	time.Sleep(200 * time.Millisecond)

	resp, err := http.Get(srv.base + "/metadata")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a second request in progress with OMNICHART_MAX_REQUESTS_PER_CLIENT=1 = %d (Retry-After %q), want 429 with Retry-After",
			resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	held.SetReadDeadline(time.Now().Add(10 * time.Second))
	r, err := http.ReadResponse(bufio.NewReader(held), &http.Request{Method: "POST"})
	if err != nil {
		t.Fatalf("reading the answer to a body that never came: %v", err)
	}
	r.Body.Close()
	if took := time.Since(start); r.StatusCode != http.StatusRequestTimeout || took > 5*time.Second {
		t.Errorf("a body that never came = %d after %v, want 408 after about --read-timeout 700ms", r.StatusCode, took)
	}

	mllp, err := net.Dial("tcp", srv.mllp)
	if err != nil {
		t.Fatal(err)
	}
	defer mllp.Close()
	mllp.Write([]byte("\x0bMSH|^~\\&|"))
	start = time.Now()
	mllp.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, mllp); err != nil || time.Since(start) > 5*time.Second {
		t.Errorf("an MLLP frame that never ends: connection closed after %v (%v), want after about --mllp-read-timeout 300ms", time.Since(start), err)
	}
}

func TestServeRefusesConnectionLimitsThatMakeNoSense(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"a write timeout shorter than the read timeout", []string{"--read-timeout", "2m", "--write-timeout", "1m"}, "--write-timeout"},
		{"a zero limit of connections", []string{"--max-connections", "0"}, "--max-connections"},
		{"a negative idle timeout", []string{"--idle-timeout", "-1s"}, "--idle-timeout"},
		{"a zero document limit", []string{"--max-document-bytes", "0"}, "--max-document-bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, code := omnichart(t, t.TempDir(), append([]string{"serve", "--addr", "127.0.0.1:0", "--db", "sqlite:" + ehrtest.SQLitePath(t)}, c.args...)...)
			if code == 0 || !strings.Contains(out, c.want) {
				t.Errorf("omnichart serve %v exited %d with %q, want a failure naming %s", c.args, code, out, c.want)
			}
		})
	}
}

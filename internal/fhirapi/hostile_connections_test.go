package fhirapi_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"omnichart/internal/ehrtest"
	"omnichart/internal/fhirapi"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

// connServer is the API on a real store behind the HTTP server and listener that
// "omnichart serve" uses, with the given connection limits.
type connServer struct {
	*client
	addr string
}

func newConnServer(t *testing.T, engine string, conns fhirapi.Connections, perClient int) *connServer {
	t.Helper()
	if engine == "postgres" {
		ehrtest.PostgresURL(t)
	}
	st := ehrtest.MustOpen(t, engine, store.Options{})
	api := fhirapi.New(service.New(st, service.Options{}), fhirapi.Config{MaxBodyBytes: 1 << 20, Version: "test", MaxRequestsPerClient: perClient},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := fhirapi.NewHTTPServer(api, conns)
	go srv.Serve(fhirapi.Listen(ln, conns, nil))
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()
	return &connServer{client: &client{t: t, base: "http://" + addr + "/fhir"}, addr: addr}
}

// dialFrom opens a connection to the server from the loopback address ip, which
// stands for another client.
func (s *connServer) dialFrom(t *testing.T, ip string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", s.addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// startPost sends the headers of a create and the first byte of its body, and
// leaves the request in progress.
func startPost(t *testing.T, c net.Conn, body string) {
	t.Helper()
	fmt.Fprintf(c, "POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:1])
}

// readResponse reads one response from c and decodes its OperationOutcome.
func readResponse(t *testing.T, c net.Conn, method string) (*http.Response, map[string]any) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var oo map[string]any
	json.Unmarshal(data, &oo)
	return resp, oo
}

// issue returns the code and diagnostics of an OperationOutcome's first issue.
func issue(oo map[string]any) (code, diagnostics string) {
	if oo["resourceType"] != "OperationOutcome" {
		return "", ""
	}
	issues, _ := oo["issue"].([]any)
	if len(issues) == 0 {
		return "", ""
	}
	is, _ := issues[0].(map[string]any)
	code, _ = is["code"].(string)
	diagnostics, _ = is["diagnostics"].(string)
	return code, diagnostics
}

// waitClosed waits for the server to close c and returns how long it took.
func waitClosed(t *testing.T, c net.Conn, max time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(max))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the connection is still open after %v, want it closed", max)
	}
	return time.Since(start)
}

// TestHostileConnectionsAreCutOff drives the server over real sockets with clients
// that hold connections or send too much at once. Each gets the answer its limit
// promises, with an OperationOutcome that names the limit, and writes nothing.
func TestHostileConnectionsAreCutOff(t *testing.T) {
	body := fmt.Sprintf(patientJSON, "slow")
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			t.Run("a body that trickles in is cut off at the read timeout with 408", func(t *testing.T) {
				s := newConnServer(t, engine, fhirapi.Connections{ReadTimeout: 500 * time.Millisecond}, 0)
				before := s.versions()
				c := s.dialFrom(t, "127.0.0.1")
				start := time.Now()
				startPost(t, c, body)
				stop := make(chan struct{})
				defer close(stop)
				go func() {
					for i := 1; i < len(body); i++ {
						select {
						case <-stop:
							return
						case <-time.After(100 * time.Millisecond):
						}
						if _, err := c.Write([]byte{body[i]}); err != nil {
							return
						}
					}
				}()
				resp, oo := readResponse(t, c, "POST")
				took := time.Since(start)
				code, diag := issue(oo)
				if resp.StatusCode != http.StatusRequestTimeout || code != "timeout" || !strings.Contains(diag, "read-timeout") {
					t.Errorf("a trickling body = %d %s %q, want 408 timeout naming read-timeout", resp.StatusCode, code, diag)
				}
				if took > 3*time.Second {
					t.Errorf("the trickling body was answered after %v, want about the read timeout of 500ms", took)
				}
				waitClosed(t, c, 5*time.Second)
				if after := s.versions(); after != before {
					t.Errorf("the store holds %d versions, want %d as before", after, before)
				}
			})
			t.Run("an idle keep-alive connection is closed at the idle timeout", func(t *testing.T) {
				s := newConnServer(t, engine, fhirapi.Connections{IdleTimeout: 300 * time.Millisecond}, 0)
				c := s.dialFrom(t, "127.0.0.1")
				// The idle time starts when the server has written its response,
				// which is after the request was sent: measured from the request,
				// the connection closes no sooner than the idle timeout.
				start := time.Now()
				fmt.Fprint(c, "GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n\r\n")
				if resp, _ := readResponse(t, c, "GET"); resp.StatusCode != 200 || resp.Close {
					t.Fatalf("GET /metadata = %d (close %v), want 200 on a kept-alive connection", resp.StatusCode, resp.Close)
				}
				waitClosed(t, c, 5*time.Second)
				if took := time.Since(start); took < 300*time.Millisecond || took > 3*time.Second {
					t.Errorf("the idle connection was closed %v after its request, want about the idle timeout of 300ms", took)
				}
			})
			t.Run("a client past its requests in progress gets 429 while another client is served", func(t *testing.T) {
				s := newConnServer(t, engine, fhirapi.Connections{}, 2)
				before := s.versions()
				held := []net.Conn{s.dialFrom(t, "127.0.0.1"), s.dialFrom(t, "127.0.0.1")}
				for _, c := range held {
					startPost(t, c, body)
				}
				time.Sleep(200 * time.Millisecond) // both requests are in their handlers
				third := s.dialFrom(t, "127.0.0.1")
				fmt.Fprintf(third, "POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
				resp, oo := readResponse(t, third, "POST")
				code, diag := issue(oo)
				if resp.StatusCode != http.StatusTooManyRequests || code != "throttled" || !strings.Contains(diag, "max-requests-per-client") || resp.Header.Get("Retry-After") == "" {
					t.Errorf("the third request = %d %s %q Retry-After %q, want 429 throttled naming max-requests-per-client with Retry-After",
						resp.StatusCode, code, diag, resp.Header.Get("Retry-After"))
				}
				other := s.dialFrom(t, "127.0.0.2")
				fmt.Fprint(other, "GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n\r\n")
				if resp, _ := readResponse(t, other, "GET"); resp.StatusCode != 200 {
					t.Errorf("another client's request = %d, want 200", resp.StatusCode)
				}
				for _, c := range held {
					io.WriteString(c, body[1:])
					if resp, _ := readResponse(t, c, "POST"); resp.StatusCode != http.StatusCreated {
						t.Errorf("a held request, once its body came = %d, want 201", resp.StatusCode)
					}
				}
				fmt.Fprintf(third, "POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
				if resp, _ := readResponse(t, third, "POST"); resp.StatusCode != http.StatusCreated {
					t.Errorf("the refused client, once its requests were answered = %d, want 201", resp.StatusCode)
				}
				// The three creates answered 201 wrote a version each; the 429 none.
				if after := s.versions(); after != before+3 {
					t.Errorf("the store holds %d versions, want %d: %d before and the 3 creates", after, before+3, before)
				}
			})
			t.Run("a connection past the cap gets 503 and a later one is served", func(t *testing.T) {
				s := newConnServer(t, engine, fhirapi.Connections{MaxConnections: 2}, 0)
				before := s.versions() // its connection is idle now and counts
				first, second := s.dialFrom(t, "127.0.0.1"), s.dialFrom(t, "127.0.0.2")
				time.Sleep(100 * time.Millisecond)
				third := s.dialFrom(t, "127.0.0.3")
				fmt.Fprintf(third, "POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
				resp, oo := readResponse(t, third, "POST")
				code, diag := issue(oo)
				if resp.StatusCode != http.StatusServiceUnavailable || code != "transient" || !strings.Contains(diag, "max-connections") || resp.Header.Get("Retry-After") == "" {
					t.Errorf("a connection past the cap = %d %s %q Retry-After %q, want 503 transient naming max-connections with Retry-After",
						resp.StatusCode, code, diag, resp.Header.Get("Retry-After"))
				}
				first.Close()
				second.Close()
				http.DefaultClient.CloseIdleConnections()
				time.Sleep(100 * time.Millisecond)
				if after := s.versions(); after != before {
					t.Errorf("the store holds %d versions, want %d as before", after, before)
				}
			})
		})
	}
}

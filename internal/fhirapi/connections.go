package fhirapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"omnichart/internal/fhir"
)

// Defaults of the connection limits.
const (
	// DefaultReadTimeout bounds reading one request, headers and body.
	DefaultReadTimeout = time.Minute
	// DefaultWriteTimeout bounds one request from the end of its headers to the
	// end of its response: body, processing and answer.
	DefaultWriteTimeout = 5 * time.Minute
	// DefaultIdleTimeout closes a keep-alive connection that sends no request.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultMaxConnections bounds the open connections, idle ones included.
	DefaultMaxConnections = 1024
	// DefaultMaxRequestsPerClient bounds the requests of one client in flight.
	DefaultMaxRequestsPerClient = 32

	// ReadHeaderTimeout bounds reading the request line and headers.
	ReadHeaderTimeout = 10 * time.Second
	// MaxHeaderBytes bounds the request line and headers; larger ones get 431.
	MaxHeaderBytes = 1 << 20
	// retryAfter is what a refused client is told to wait, in seconds.
	retryAfter = 1
)

// Connections are the limits on the HTTP connections of a server. Zero fields take
// their defaults.
type Connections struct {
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxConnections bounds the open connections; negative means no limit.
	MaxConnections int
}

// WithDefaults returns c with every zero field set to its default.
func (c Connections) WithDefaults() Connections {
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	return c
}

// NewHTTPServer returns a server of h with the timeouts of c: a request whose
// headers or body do not arrive in time is cut off (the API answers a body that
// stops coming 408), a response not written in time is abandoned, and an idle
// keep-alive connection is closed. Serve it on Listen(ln, c) to cap connections.
func NewHTTPServer(h http.Handler, c Connections) *http.Server {
	c = c.WithDefaults()
	return &http.Server{
		Handler:           writeDeadline{h: h, d: c.WriteTimeout},
		ReadHeaderTimeout: min(ReadHeaderTimeout, c.ReadTimeout),
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}

// errWriteTimeout is the cause of a request context that outlived the write
// timeout.
var errWriteTimeout = errors.New("write timeout")

// writeDeadline gives each request's context the write timeout as its deadline.
// The server abandons a response not written in time, but only the context stops
// the work behind it: a write still waiting for a lock, or a transaction still
// running, is rolled back instead of committing after its client was given up on.
type writeDeadline struct {
	h http.Handler
	d time.Duration
}

func (w writeDeadline) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeoutCause(r.Context(), w.d, errWriteTimeout)
	defer cancel()
	w.h.ServeHTTP(rw, r.WithContext(ctx))
}

// pastWriteTimeout answers a request whose work was stopped at the write timeout:
// logged as a warning, with 503 and an OperationOutcome that names the limit for
// a client that still reads.
func (a *API) pastWriteTimeout(w http.ResponseWriter, r *http.Request, err error) bool {
	if context.Cause(r.Context()) != errWriteTimeout {
		return false
	}
	a.log.WarnContext(r.Context(), "request stopped at the write timeout", "request_id", requestID(r), "method", r.Method, "path", r.URL.Path, "error", err)
	w.Header().Set("Connection", "close")
	a.writeResource(w, r, http.StatusServiceUnavailable, fhir.OperationOutcome([]fhir.Issue{{Severity: "error", Code: "timeout",
		Diagnostics: "the request was not done within the write timeout (write-timeout) and was stopped; a write still in progress was rolled back"}}))
	return true
}

// Listen returns ln with at most c.MaxConnections connections open at once. A
// connection past the cap is answered 503 Service Unavailable with Retry-After and
// an OperationOutcome that names the limit, and closed; log (nil discards) gets one
// warning at most every 10 seconds while connections are refused.
func Listen(ln net.Listener, c Connections, log *slog.Logger) net.Listener {
	c = c.WithDefaults()
	if c.MaxConnections < 0 {
		return ln
	}
	return &limitListener{Listener: ln, max: c.MaxConnections, log: log, refusing: make(chan struct{}, maxRefusing)}
}

// maxRefusing bounds the connections being answered 503 at once; past it a
// connection is closed without an answer, so a flood of connections cannot
// exhaust file descriptors through the refusals themselves.
const maxRefusing = 64

type limitListener struct {
	net.Listener
	max      int
	log      *slog.Logger
	refusing chan struct{}

	mu       sync.Mutex
	open     int
	refused  int
	lastWarn time.Time
}

// Accept returns the next connection within the cap, answering those past it.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if l.open < l.max {
			l.open++
			l.mu.Unlock()
			return &limitConn{Conn: c, l: l}, nil
		}
		l.refused++
		if l.log != nil && time.Since(l.lastWarn) >= 10*time.Second {
			l.log.Warn("HTTP connections refused: too many connections", "limit", l.max, "refused", l.refused)
			l.lastWarn, l.refused = time.Now(), 0
		}
		l.mu.Unlock()
		select {
		case l.refusing <- struct{}{}:
			go func() {
				defer func() { <-l.refusing }()
				refuseConn(c, l.max)
			}()
		default:
			c.Close()
		}
	}
}

func (l *limitListener) release() {
	l.mu.Lock()
	l.open--
	l.mu.Unlock()
}

type limitConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.l.release)
	return err
}

// refuseConn answers a connection past the cap with 503 and closes it. It reads
// what the client has sent (briefly) before closing, so that the close does not
// reset the connection and lose the answer.
func refuseConn(c net.Conn, max int) {
	defer c.Close()
	body, _ := fhir.Marshal(fhir.OperationOutcome([]fhir.Issue{{Severity: "error", Code: "transient",
		Diagnostics: fmt.Sprintf("the server has %d connections open, its limit (max-connections); retry in a moment", max)}}))
	resp := "HTTP/1.1 503 Service Unavailable\r\n" +
		"Content-Type: " + fhirJSON + "; charset=utf-8\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		"Retry-After: " + strconv.Itoa(retryAfter) + "\r\n" +
		"Connection: close\r\n\r\n" + string(body)
	c.SetDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	c.Read(buf) // the request line, when it has come
	c.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(resp)); err != nil {
		return
	}
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		for n := 0; n < 64<<10; {
			m, err := c.Read(buf)
			n += m
			if err != nil {
				break
			}
		}
	}
}

// clientLimiter counts each client's requests in flight.
type clientLimiter struct {
	max      int
	mu       sync.Mutex
	inFlight map[string]int
}

// acquire counts one more request of client, or reports false when the client
// has max in flight already.
func (l *clientLimiter) acquire(client string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight[client] >= l.max {
		return false
	}
	l.inFlight[client]++
	return true
}

func (l *clientLimiter) release(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight[client] <= 1 {
		delete(l.inFlight, client)
		return
	}
	l.inFlight[client]--
}

// remoteHost is the network address r came from, without its port, for the
// audit record.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// clientOf names the client of r by its remote IP address; IPv6 addresses count by
// their /64 network, the least a single host is given.
func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() != nil {
		return ip.To4().String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// admit counts r against its client's limit of requests in flight. Past the limit
// it answers 429 Too Many Requests with Retry-After and an OperationOutcome, and
// returns false; otherwise the caller must call done when r is answered.
func (a *API) admit(w http.ResponseWriter, r *http.Request) (done func(), ok bool) {
	if a.clients == nil {
		return func() {}, true
	}
	client := clientOf(r)
	if !a.clients.acquire(client) {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		a.writeResource(w, r, http.StatusTooManyRequests, fhir.OperationOutcome([]fhir.Issue{{Severity: "error", Code: "throttled",
			Diagnostics: fmt.Sprintf("this client has %d requests in progress, its limit (max-requests-per-client); retry when one is answered", a.clients.max)}}))
		return nil, false
	}
	return func() { a.clients.release(client) }, true
}

// timedBody marks the errors of a request body that did not arrive within the
// read timeout, so that only those (not a timeout of the database, say) become 408.
type timedBody struct {
	io.ReadCloser
}

func (b timedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		err = bodyTimeoutError{err}
	}
	return n, err
}

// bodyTimeoutError is the error of a body read past the read timeout.
type bodyTimeoutError struct{ err error }

func (e bodyTimeoutError) Error() string { return "read request body: " + e.err.Error() }
func (e bodyTimeoutError) Unwrap() error { return e.err }

// writeTimeoutError answers a request whose body stopped coming before the read
// timeout: 408 Request Timeout with an OperationOutcome, and the connection is
// closed. It reports whether err was such a timeout.
func (a *API) writeTimeoutError(w http.ResponseWriter, r *http.Request, err error) bool {
	var timeout bodyTimeoutError
	if !errors.As(err, &timeout) {
		return false
	}
	w.Header().Set("Connection", "close")
	a.writeResource(w, r, http.StatusRequestTimeout, fhir.OperationOutcome([]fhir.Issue{{Severity: "error", Code: "timeout",
		Diagnostics: "the request body did not arrive within the read timeout (read-timeout)"}}))
	return true
}

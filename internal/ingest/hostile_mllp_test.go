package ingest_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/ehrtest"
	"omnichart/internal/ingest"
	"omnichart/internal/ingest/hl7v2"
	"omnichart/internal/ingest/mllp"
)

// mllpEnv is an MLLP listener importing into a fresh store.
type mllpEnv struct {
	*env
	addr string
}

func newMLLPEnv(t *testing.T, engine string, srv *mllp.Server) *mllpEnv {
	t.Helper()
	e := newEnv(t, engine)
	src := ingest.Source{URI: "urn:omnichart:source:lab"}
	srv.Handler = mllp.HandlerFunc(func(ctx context.Context, raw []byte) []byte {
		ack, _ := e.im.HandleHL7v2(ctx, src, raw)
		return ack
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve = %v after shutdown, want nil", err)
		}
	})
	return &mllpEnv{env: e, addr: ln.Addr().String()}
}

func (m *mllpEnv) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", m.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin waits for the server to close c and returns how long that took; it
// fails the test when c stays open for max. Whatever the server sends first is
// returned too.
func closedWithin(t *testing.T, c net.Conn, max time.Duration) (time.Duration, []byte) {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(max))
	got, err := io.ReadAll(c)
	took := time.Since(start)
	if isTimeout(err) {
		t.Fatalf("the connection is still open after %v, want it closed", max)
	}
	return took, got
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestHostileMLLPSendersAreCutOff drives the MLLP listener over real sockets with
// senders that misbehave; each is cut off at its limit, answered where a message
// can be answered, and leaves the store as it was (or holding only the quarantine
// entry of the refused message).
func TestHostileMLLPSendersAreCutOff(t *testing.T) {
	oru := mustRead(t, "hl7v2/testdata/oru_r01_cbc.hl7")
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			t.Run("a slowloris frame is cut off at the read timeout", func(t *testing.T) {
				m := newMLLPEnv(t, engine, &mllp.Server{ReadTimeout: 300 * time.Millisecond, IdleTimeout: 10 * time.Second})
				before := m.counts(t)
				c := m.dial(t)
				// One byte every 50 ms: each would reset a per-read deadline.
				stop := make(chan struct{})
				go func() {
					for _, b := range append([]byte{0x0b}, oru...) {
						select {
						case <-stop:
							return
						case <-time.After(50 * time.Millisecond):
						}
						if _, err := c.Write([]byte{b}); err != nil {
							return
						}
					}
				}()
				took, got := closedWithin(t, c, 5*time.Second)
				close(stop)
				if took < 250*time.Millisecond || took > 3*time.Second {
					t.Errorf("the trickling connection was closed after %v, want about the read timeout of 300ms", took)
				}
				if len(got) != 0 {
					t.Errorf("the server answered %q to a frame it never received, want nothing", got)
				}
				if after := m.counts(t); !cmp.Equal(after, before) {
					t.Errorf("the store holds %v, want %v as before", after, before)
				}
			})
			t.Run("an idle connection is closed at the idle timeout", func(t *testing.T) {
				m := newMLLPEnv(t, engine, &mllp.Server{IdleTimeout: 300 * time.Millisecond})
				c := m.dial(t)
				took, _ := closedWithin(t, c, 5*time.Second)
				if took < 250*time.Millisecond || took > 3*time.Second {
					t.Errorf("the idle connection was closed after %v, want about the idle timeout of 300ms", took)
				}
			})
			t.Run("an oversized frame is answered AR naming the limit and not held", func(t *testing.T) {
				m := newMLLPEnv(t, engine, &mllp.Server{MaxMessageBytes: 64 << 10})
				before := m.counts(t)
				c := m.dial(t)
				c.SetDeadline(time.Now().Add(30 * time.Second))
				big := []byte("MSH|^~\\&|A|F|B|G|20240101||ADT^A01|BIG|P|2.5.1\rNTE|1||" + strings.Repeat("x", 4<<20) + "\r")
				go hl7v2.WriteFrame(c, big)
				ack, err := hl7v2.ReadFrame(bufio.NewReader(c), 1<<20)
				if err != nil {
					t.Fatalf("ReadFrame(ACK) = %v", err)
				}
				if code, _ := msa(ack); code != "AR" || !strings.Contains(string(ack), "65536") || !strings.Contains(string(ack), "mllp-max-frame-bytes") {
					t.Errorf("ACK of a 4 MB frame = %q, want AR naming mllp-max-frame-bytes, 65536 bytes", ack)
				}
				if after := m.counts(t); !cmp.Equal(after, before) {
					t.Errorf("the store holds %v, want %v as before", after, before)
				}
			})
			t.Run("an oversized frame that never ends is cut off at the read timeout", func(t *testing.T) {
				m := newMLLPEnv(t, engine, &mllp.Server{MaxMessageBytes: 64 << 10, ReadTimeout: 500 * time.Millisecond})
				before := m.counts(t)
				c := m.dial(t)
				stop := make(chan struct{})
				go func() {
					c.Write([]byte{0x0b})
					chunk := []byte(strings.Repeat("x", 64<<10))
					for {
						select {
						case <-stop:
							return
						default:
						}
						if _, err := c.Write(chunk); err != nil {
							return
						}
					}
				}()
				took, got := closedWithin(t, c, 10*time.Second)
				close(stop)
				if took > 5*time.Second {
					t.Errorf("the endless frame was cut off after %v, want about the read timeout of 500ms", took)
				}
				if len(got) != 0 {
					t.Errorf("the server answered %q to a frame that never ended, want nothing", got)
				}
				if after := m.counts(t); !cmp.Equal(after, before) {
					t.Errorf("the store holds %v, want %v as before", after, before)
				}
			})
			t.Run("connections past the limit are closed while the others are served", func(t *testing.T) {
				m := newMLLPEnv(t, engine, &mllp.Server{MaxConnections: 2})
				first, second := m.dial(t), m.dial(t)
				time.Sleep(100 * time.Millisecond) // both accepted
				third := m.dial(t)
				if took, _ := closedWithin(t, third, 5*time.Second); took > 2*time.Second {
					t.Errorf("the third connection was closed after %v, want at once", took)
				}
				for i, c := range []net.Conn{first, second} {
					c.SetDeadline(time.Now().Add(30 * time.Second))
					if err := hl7v2.WriteFrame(c, oru); err != nil {
						t.Fatal(err)
					}
					ack, err := hl7v2.ReadFrame(bufio.NewReader(c), 1<<20)
					if code, _ := msa(ack); err != nil || code != "AA" {
						t.Errorf("connection %d: ACK = %q, %v; want AA", i+1, ack, err)
					}
				}
				first.Close()
				time.Sleep(100 * time.Millisecond)
				fourth := m.dial(t)
				fourth.SetDeadline(time.Now().Add(30 * time.Second))
				hl7v2.WriteFrame(fourth, oru)
				if ack, err := hl7v2.ReadFrame(bufio.NewReader(fourth), 1<<20); err != nil || !strings.Contains(string(ack), "MSA|AA") {
					t.Errorf("a connection after one closed: ACK = %q, %v; want AA", ack, err)
				}
			})
			t.Run("an empty frame is refused and quarantined", func(t *testing.T) {
				m := newMLLPEnv(t, engine, &mllp.Server{})
				c := m.dial(t)
				c.SetDeadline(time.Now().Add(30 * time.Second))
				if err := hl7v2.WriteFrame(c, nil); err != nil {
					t.Fatal(err)
				}
				ack, err := hl7v2.ReadFrame(bufio.NewReader(c), 1<<20)
				if err != nil {
					t.Fatalf("ReadFrame(ACK) = %v", err)
				}
				if code, _ := msa(ack); code != "AR" {
					t.Errorf("ACK of an empty frame = %q, want AR", ack)
				}
				if got, want := m.counts(t), map[string]int{"Binary": 1, "Task": 1}; !cmp.Equal(got, want) {
					t.Fatalf("the store holds %v, want the quarantine entry %v", got, want)
				}
				list, err := m.im.Quarantined(m.ctx, false)
				if err != nil || len(list) != 1 {
					t.Fatalf("Quarantined = %v, %v; want one entry", list, err)
				}
				entry, data, err := m.im.QuarantinedEntry(m.ctx, list[0].ID)
				if err != nil {
					t.Fatalf("QuarantinedEntry = %v", err)
				}
				if len(data) != 0 || entry.Format != ingest.FormatHL7v2 || !strings.Contains(entry.Error, "empty") {
					t.Errorf("quarantine entry = %d bytes, %s, %q; want 0 bytes, hl7v2, an empty message", len(data), entry.Format, entry.Error)
				}
			})
		})
	}
}

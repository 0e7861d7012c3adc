// Package mllp is the HL7 v2 listener: it accepts TCP connections, reads messages
// in MLLP frames, hands each to a Handler and writes back the acknowledgement the
// Handler returns. It knows nothing of storage; the import pipeline is wired in
// as a Handler by the command line.
//
// See HL7 v2.5.1 Appendix C (MLLP release 1) for the framing.
package mllp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"omnichart/internal/ingest/hl7v2"
)

// Handler processes one received message and returns the ACK to send back. It is
// called for one message of a connection at a time, and from many connections at
// once. The context is not cancelled by shutdown: a message being processed is
// finished and acknowledged.
type Handler interface {
	HandleMessage(ctx context.Context, raw []byte) (ack []byte)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, raw []byte) []byte

// HandleMessage calls f.
func (f HandlerFunc) HandleMessage(ctx context.Context, raw []byte) []byte { return f(ctx, raw) }

// Server is an MLLP listener. Its zero value (with a Handler) is usable.
type Server struct {
	Handler Handler
	// MaxMessageBytes bounds one frame; larger frames are answered with AR and
	// discarded. 0 means 16 MiB.
	MaxMessageBytes int
	// IdleTimeout closes a connection that sends nothing for this long; 0 means
	// 10 minutes.
	IdleTimeout time.Duration
	// Log receives connection-level events (never message content); nil discards.
	Log *slog.Logger
}

// Serve accepts connections on ln until ctx is done, one goroutine per connection.
// On shutdown it stops accepting, lets every connection finish the message it is
// processing (ACK included), closes the connections and returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	log := s.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
	)
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			// Wakes a connection blocked in a read; one handling a message
			// finishes and answers first.
			c.SetReadDeadline(time.Now())
		}
		mu.Unlock()
	})
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				wg.Wait()
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			wg.Wait()
			return err
		}
		mu.Lock()
		conns[c] = true
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(ctx, c, log)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
		}()
	}
}

func (s *Server) serveConn(ctx context.Context, c net.Conn, log *slog.Logger) {
	defer c.Close()
	max := s.MaxMessageBytes
	if max <= 0 {
		max = 16 << 20
	}
	idle := s.IdleTimeout
	if idle <= 0 {
		idle = 10 * time.Minute
	}
	remote := c.RemoteAddr().String()
	r := bufio.NewReader(c)
	work := context.WithoutCancel(ctx)
	for {
		if ctx.Err() != nil {
			return
		}
		c.SetReadDeadline(time.Now().Add(idle))
		raw, err := hl7v2.ReadFrame(r, max)
		var ack []byte
		switch {
		case err == nil:
			ack = s.Handler.HandleMessage(work, raw)
		case errors.Is(err, hl7v2.ErrTooLarge):
			log.Warn("MLLP frame too large", "remote", remote, "limit", max)
			ack = hl7v2.NewACK(nil, nil, err, hl7v2.Options{})
		case errors.Is(err, io.EOF):
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			if ctx.Err() == nil {
				log.Info("MLLP connection idle, closing", "remote", remote)
			}
			return
		default:
			log.Warn("MLLP read", "remote", remote, "err", err)
			return
		}
		c.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if err := hl7v2.WriteFrame(c, ack); err != nil {
			log.Warn("MLLP write ACK", "remote", remote, "err", err)
			return
		}
	}
}

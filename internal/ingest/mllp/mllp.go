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

// Defaults of the Server limits.
const (
	DefaultMaxMessageBytes = 16 << 20
	DefaultIdleTimeout     = 10 * time.Minute
	DefaultReadTimeout     = time.Minute
	DefaultMaxConnections  = 100
	// ackWriteTimeout bounds the write of one ACK: a sender that does not read
	// its ACKs loses the connection.
	ackWriteTimeout = 30 * time.Second
)

// Server is an MLLP listener. Its zero value (with a Handler) is usable.
type Server struct {
	Handler Handler
	// MaxMessageBytes bounds one frame; larger frames are answered with AR and
	// discarded as they arrive, so at most this much of a frame is held. 0 means
	// DefaultMaxMessageBytes.
	MaxMessageBytes int
	// IdleTimeout closes a connection that sends nothing for this long between
	// frames; 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// ReadTimeout bounds one frame, from its first byte to its end: a sender that
	// trickles a frame (slowloris) loses the connection. 0 means
	// DefaultReadTimeout.
	ReadTimeout time.Duration
	// MaxConnections bounds the connections served at once; one more is closed
	// as soon as it is accepted. 0 means DefaultMaxConnections, a negative value
	// no limit.
	MaxConnections int
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
		if max := s.maxConnections(); max > 0 && len(conns) >= max {
			mu.Unlock()
			log.Warn("MLLP connection refused: too many connections", "remote", c.RemoteAddr().String(), "limit", max)
			c.Close()
			continue
		}
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

func (s *Server) maxConnections() int {
	if s.MaxConnections == 0 {
		return DefaultMaxConnections
	}
	return s.MaxConnections
}

func (s *Server) serveConn(ctx context.Context, c net.Conn, log *slog.Logger) {
	defer c.Close()
	max := s.MaxMessageBytes
	if max <= 0 {
		max = DefaultMaxMessageBytes
	}
	idle := s.IdleTimeout
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	readTimeout := s.ReadTimeout
	if readTimeout <= 0 {
		readTimeout = DefaultReadTimeout
	}
	remote := c.RemoteAddr().String()
	r := bufio.NewReader(c)
	work := context.WithoutCancel(ctx)
	for {
		if ctx.Err() != nil {
			return
		}
		// Between frames the connection may stay quiet for the idle timeout; once
		// a byte arrives, the whole frame must follow within the read timeout.
		c.SetReadDeadline(time.Now().Add(idle))
		if _, err := r.Peek(1); err != nil {
			switch {
			case errors.Is(err, io.EOF):
			case errors.Is(err, os.ErrDeadlineExceeded):
				if ctx.Err() == nil {
					log.Info("MLLP connection idle, closing", "remote", remote)
				}
			default:
				log.Warn("MLLP read", "remote", remote, "err", err)
			}
			return
		}
		c.SetReadDeadline(time.Now().Add(readTimeout))
		if ctx.Err() != nil {
			return
		}
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
				log.Warn("MLLP frame not complete within the read timeout, closing", "remote", remote, "timeout", readTimeout)
			}
			return
		default:
			log.Warn("MLLP read", "remote", remote, "err", err)
			return
		}
		c.SetWriteDeadline(time.Now().Add(ackWriteTimeout))
		if err := hl7v2.WriteFrame(c, ack); err != nil {
			log.Warn("MLLP write ACK", "remote", remote, "err", err)
			return
		}
	}
}

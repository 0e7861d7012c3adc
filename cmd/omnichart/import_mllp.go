package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"

	"omnichart/internal/ingest"
	"omnichart/internal/ingest/mllp"
	"omnichart/internal/service"
)

// startMLLP listens for HL7 v2 over MLLP at addr and imports each message through
// the pipeline. The returned channel is closed once the listener has shut down
// (when ctx is done) and every connection has answered its last message.
func startMLLP(ctx context.Context, svc *service.Service, addr, source string, limits *serveLimits, stdout io.Writer, log *slog.Logger) (<-chan struct{}, error) {
	im := ingest.New(ingest.ServiceTarget{Service: svc}, ingest.Options{Limits: limits.importLimits()})
	src, err := resolveSource(adminContext(ctx), ingest.NewDirectory(im.Target()), source)
	if err != nil {
		return nil, fmt.Errorf("--mllp-source: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--mllp: %w", err)
	}
	srv := &mllp.Server{
		MaxMessageBytes: limits.mllp.MaxMessageBytes,
		IdleTimeout:     limits.mllp.IdleTimeout,
		ReadTimeout:     limits.mllp.ReadTimeout,
		MaxConnections:  limits.mllp.MaxConnections,
		Log:             log,
		Handler: mllp.HandlerFunc(func(ctx context.Context, raw []byte) []byte {
			ack, u := im.HandleHL7v2(ctx, src, raw)
			switch {
			case u.Err != nil:
				log.Warn("HL7 v2 message not imported", "type", u.MessageType, "control_id", u.ControlID, "quarantine", u.Quarantine, "err", ingest.ErrorText(u.Err))
			case u.Reason == ingest.ReasonReusedKey:
				log.Warn("HL7 v2 message imported, but earlier messages used its control id", "type", u.MessageType,
					"facility", u.Facility, "control_id", u.ControlID, "original", u.Original, "earlier", u.SameKey)
			}
			return ack
		}),
	}
	fmt.Fprintf(stdout, "omnichart receiving HL7 v2 over MLLP at %s\n", ln.Addr())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ctx, ln); err != nil {
			log.Error("MLLP listener stopped", "err", err)
		}
	}()
	return done, nil
}

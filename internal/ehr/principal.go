package ehr

import "context"

// Principal is who is asking: a user, a client application or a source system. Every
// request carries one, so that access rules, consent and audit can be applied where
// records are read or written.
type Principal struct {
	// Subject identifies the actor, e.g. "user/jdoe", "client/app-1", "source/st-marys".
	Subject string
	// Source is the URI of the source system the actor writes for, if any; it becomes
	// meta.source of what the actor writes.
	Source string
	// Client is the OAuth client the actor acts through; Organization the
	// user's organization. Both are for the audit record and may be empty.
	Client       string
	Organization string
	// Scopes are the granted SMART scopes; empty for the system principal.
	Scopes []string
	// System marks the trusted in-process principal (command line, importer).
	System bool
}

// SystemPrincipal is the principal of trusted in-process work such as the command line.
var SystemPrincipal = Principal{Subject: "system", System: true}

type principalKey struct{}

// WithPrincipal returns a context that carries p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal of ctx. A context without one carries an
// anonymous principal, which access rules treat as the least privileged.
func PrincipalFrom(ctx context.Context) Principal {
	if p, ok := ctx.Value(principalKey{}).(Principal); ok {
		return p
	}
	return Principal{Subject: "anonymous"}
}

type deferIndexingKey struct{}

// WithDeferredIndexing marks ctx as part of a bulk load: the store may write only the
// index rows conditional interactions need (identifiers) and leave the rest to a
// later re-index, which gives the same search results.
func WithDeferredIndexing(ctx context.Context) context.Context {
	return context.WithValue(ctx, deferIndexingKey{}, true)
}

// DeferredIndexing reports whether ctx asks for deferred indexing.
func DeferredIndexing(ctx context.Context) bool {
	v, _ := ctx.Value(deferIndexingKey{}).(bool)
	return v
}

type requestIDKey struct{}

// WithRequestID returns a context that carries the id of the request it serves, so
// that errors logged deep in the engine can be found from what the caller was told.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id of ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

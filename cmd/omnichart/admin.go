package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/ingest"
	"omnichart/internal/service"
	"omnichart/internal/smart"
	"omnichart/internal/store"
)

const adminUsage = `usage: omnichart admin <command> [flags]

commands:
  source add|list|show|disable       the directory of source systems
  quarantine list|show|replay        documents and messages that failed to import
  reindex [--pending] [--restart]    rebuild search indexes (resumable)
  storage                            the bytes of each table and index, per resource
  identity list [--all]              identity conflicts waiting for review
  mpi rematch|review|decide          the master patient index: persons and review tasks
  terminology load|list              code mappings (ConceptMaps) the integrated record uses
  org add ORG --source SLUG|URI...   the sources an organization's users see
  user add|reset|disable|break-glass users who sign in (clinicians, administrators)
  break-glass report [--since D]     every emergency access, with who, whom, why
  client add                         applications that ask for tokens
  key rotate|retire                  the signing keys of access and id tokens
  token --scope S [--user U] [--patient ID]
                                     print a bearer token (last line) for scripts
  launch --patient ID [--encounter ID]
                                     record an EHR launch context, print its launch value
  audit list|verify                  the audit log: list records, verify the chain

Run "omnichart admin <command> -h" for the flags of a command.
`

// admin dispatches the maintenance subcommands.
func admin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, adminUsage)
		return fmt.Errorf("admin: no command given")
	}
	switch args[0] {
	case "source":
		return adminSource(ctx, args[1:], stdout, stderr)
	case "break-glass":
		return adminBreakGlass(ctx, args[1:], stdout, stderr)
	case "quarantine":
		return adminQuarantine(ctx, args[1:], stdout, stderr)
	case "reindex":
		return adminReindex(ctx, args[1:], stdout, stderr)
	case "storage":
		return adminStorage(ctx, args[1:], stdout, stderr)
	case "identity":
		return adminIdentity(ctx, args[1:], stdout, stderr)
	case "mpi":
		return adminMPI(ctx, args[1:], stdout, stderr)
	case "audit":
		return adminAudit(ctx, args[1:], stdout, stderr)
	case "terminology":
		return adminTerminology(ctx, args[1:], stdout, stderr)
	case "org", "user", "client", "token", "launch", "key":
		return adminSecurity(ctx, args[0], args[1:], stdout, stderr)
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, adminUsage)
		return nil
	}
	fmt.Fprint(stderr, adminUsage)
	return fmt.Errorf("admin: unknown command %q", args[0])
}

// pipeline is the import pipeline over a local store or a remote server.
type pipeline struct {
	importer *ingest.Importer
	dir      *ingest.Directory
	close    func() error
	// store is the local store, nil when writing to a remote server.
	store *store.Store
	// svc and hook are the local interaction engine and its patient index
	// hook (see match); nil when writing to a remote server.
	svc  *service.Service
	hook *mpiHook
	// audit is the local store's audit log; nil when writing to a remote server.
	audit ehr.Auditor
	// secretsKey seals the users' TOTP secrets (smart.Config.SecretsKey); nil
	// when writing to a remote server.
	secretsKey []byte
}

// match attaches the master patient index to a local pipeline, so that what
// it imports is matched; a remote server matches what it receives itself.
func (p *pipeline) match(ctx context.Context) error {
	if p.svc == nil {
		return nil
	}
	_, _, err := p.hook.attach(ctx, p.svc, nil)
	return err
}

// openPipeline opens the store named by db, or, when server is set, targets the
// FHIR API at that base URL instead.
//
// A local pipeline keeps the audit log with the key of auditKeyFile, when given,
// else of OMNICHART_AUDIT_KEY_FILE or the data directory's audit.key.
func openPipeline(ctx context.Context, db, server, token string, opts service.Options, auditKeyFile ...string) (*pipeline, error) {
	var target ingest.Target
	closeFn := func() error { return nil }
	var local *store.Store
	var svc *service.Service
	var hook *mpiHook
	var auditor ehr.Auditor
	var auditKey []byte
	if server != "" {
		if !strings.HasPrefix(server, "http://") && !strings.HasPrefix(server, "https://") {
			return nil, fmt.Errorf("--server %q: give the FHIR base URL, e.g. http://127.0.0.1:8080/fhir", server)
		}
		target = ingest.NewRemoteTarget(server, token)
	} else {
		st, err := openStore(ctx, db)
		if err != nil {
			return nil, err
		}
		hook = &mpiHook{models: st}
		opts.AfterCommit = hook.committed
		// What a command writes or reads is audited like what the server does.
		keyFile := os.Getenv("OMNICHART_AUDIT_KEY_FILE")
		if len(auditKeyFile) > 0 && auditKeyFile[0] != "" {
			keyFile = auditKeyFile[0]
		}
		l, key, err := openAudit(st, db, keyFile, true)
		if err != nil {
			st.Close()
			return nil, err
		}
		opts.Auditor, auditor, auditKey = l, l, key
		svc = service.New(st, opts)
		target = ingest.ServiceTarget{Service: svc}
		closeFn = st.Close
		local = st
	}
	return &pipeline{importer: ingest.New(target, ingest.Options{}), dir: ingest.NewDirectory(target), close: closeFn, store: local,
		svc: svc, hook: hook, audit: auditor, secretsKey: authSecretsKey(auditKey)}, nil
}

// adminContext is the context of maintenance work run from the command line.
func adminContext(ctx context.Context) context.Context {
	ctx = ehr.WithOrigin(ctx, "command line")
	return ehr.WithPrincipal(ctx, ehr.Principal{Subject: "admin", System: true})
}

// isHelp reports whether arg asks for help in place of a command.
func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "-help" || arg == "--help"
}

// splitPositional moves leading positional arguments out of args, so that
// "show st-marys --db x" parses like "show --db x st-marys".
func splitPositional(args []string) (pos, flags []string) {
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		pos = append(pos, args[0])
		args = args[1:]
	}
	return pos, args
}

// authSecretsKey derives the key that seals the users' TOTP secrets
// (smart.Config.SecretsKey) from the audit key: one key file outside the
// database keeps both, and the HKDF label keeps the two keys apart. Nil for
// no audit key.
func authSecretsKey(auditKey []byte) []byte {
	if len(auditKey) == 0 {
		return nil
	}
	key, err := hkdf.Key(sha256.New, auditKey, nil, "omnichart auth secrets", smart.SecretsKeySize)
	if err != nil {
		panic(err) // only for a length HKDF-SHA-256 cannot give
	}
	return key
}

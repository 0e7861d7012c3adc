package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"omnichart/internal/audit"
	"omnichart/internal/directory"
	"omnichart/internal/ehr"
	"omnichart/internal/fhirapi"
	"omnichart/internal/ingest"
	"omnichart/internal/service"
	"omnichart/internal/smart"
	"omnichart/internal/store"
	"omnichart/internal/web"
)

// splitList reads a comma-separated flag value.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// insecureWarning is printed on start by a server without authorization.
const insecureWarning = `
************************************************************************
*  WARNING: AUTHORIZATION IS OFF (--insecure-no-auth).                 *
*  Anyone who can reach this port can read and change every record.    *
*  Never use this with real patient data.                              *
************************************************************************`

const serveUsage = `usage: omnichart serve [flags]

Serves the FHIR R4 API under /fhir and /healthz, optionally with an HL7 v2 MLLP
listener. Every flag can also be set as OMNICHART_<FLAG>, e.g. OMNICHART_DB.

flags:
`

// serveFlags are the flags of serve, which demo shares: registered on a FlagSet
// by addServeFlags, checked and resolved by resolve once it is parsed.
type serveFlags struct {
	addr, db, baseURL    *string
	maxBody              *int64
	mllpAddr, mllpSource *string
	limits               *serveLimits
	maxEntries           *int
	storeOptions         func() (store.Options, error)
	tlsCert, tlsKey      *string
	insecure             *bool
	idle                 *time.Duration
	operators            *string
	auditKeyFile         *string
	auditFlushDelay      *time.Duration

	// Set by resolve.
	tls   *tls.Config
	store store.Options
}

// addServeFlags registers the flags of serve on fs, with db as the default of --db.
func addServeFlags(fs *flag.FlagSet, db string) *serveFlags {
	f := &serveFlags{}
	f.addr = fs.String("addr", "127.0.0.1:8080", "address to listen on")
	f.db = fs.String("db", db, "store: sqlite:PATH or postgres://user:pass@host/db")
	f.baseURL = fs.String("base-url", "", "public FHIR base URL (default: derived from each request)")
	f.maxBody = fs.Int64("max-body-bytes", 64<<20, "largest request body accepted")
	f.mllpAddr = fs.String("mllp", "", "also receive HL7 v2 messages over MLLP at this address, e.g. 127.0.0.1:2575")
	f.mllpSource = fs.String("mllp-source", "", "source system of MLLP messages: a registered slug, or a URI")
	f.limits = serveLimitFlags(fs)
	f.maxEntries = bundleEntriesFlag(fs)
	f.storeOptions = searchFlags(fs)
	f.tlsCert = fs.String("tls-cert", "", "serve HTTPS (TLS 1.2 or newer) with this PEM certificate chain; needs --tls-key")
	f.tlsKey = fs.String("tls-key", "", "PEM private key of --tls-cert")
	f.idle = fs.Duration("session-idle-timeout", 15*time.Minute, "end a web session not used for this long")
	f.operators = fs.String("web-operators", "", "comma-separated users who may open the web operations pages (sources, matching review, quarantine, audit log)")
	f.auditKeyFile = auditKeyFileFlag(fs)
	f.auditFlushDelay = fs.Duration("audit-flush-delay", 200*time.Millisecond, "a read's audit record is written to a spool file before the response and committed into the log within this delay; 0 makes every read wait for its durable commit")
	f.insecure = fs.Bool("insecure-no-auth", false, "serve without authorization: anyone who reaches the port reads and changes every record (local experiments only)")
	return f
}

// resolve checks the parsed flags and reads what they name (the TLS key pair),
// before anything is opened or listened on.
func (f *serveFlags) resolve() error {
	if *f.auditFlushDelay < 0 {
		return fmt.Errorf("--audit-flush-delay must not be negative (0 makes every read wait for its durable commit)")
	}
	if err := f.limits.resolve(); err != nil {
		return err
	}
	if (*f.tlsCert == "") != (*f.tlsKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if *f.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(*f.tlsCert, *f.tlsKey)
		if err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		f.tls = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	if *f.maxEntries <= 0 {
		return fmt.Errorf("--max-bundle-entries must be positive")
	}
	if *f.idle <= 0 {
		return fmt.Errorf("--session-idle-timeout must be positive")
	}
	opts, err := f.storeOptions()
	if err != nil {
		return err
	}
	f.store = opts
	return nil
}

// scheme is the URL scheme the server is reached by.
func (f *serveFlags) scheme() string {
	if f.tls != nil {
		return "https"
	}
	return "http"
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), serveUsage); fs.PrintDefaults() }
	f := addServeFlags(fs, defaultDB)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := f.resolve(); err != nil {
		return err
	}
	return runServer(ctx, f, stdout, stderr, nil)
}

// runServer serves the FHIR API with resolved flags until ctx ends. It prints
// "omnichart VERSION serving FHIR R4 at URL/fhir" once it listens, then calls
// listening (when set) with the address it listens on, so that a command built
// on serve can say more.
func runServer(ctx context.Context, f *serveFlags, stdout, stderr io.Writer, listening func(addr net.Addr)) error {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	st, err := openStoreWith(ctx, *f.db, f.store)
	if err != nil {
		return err
	}
	defer st.Close()
	var policy ehr.Policy = smart.Policy{Public: []string{directory.Source}}
	if *f.insecure {
		policy = ehr.AllowAll{}
	}
	auditOpts := audit.Options{FlushDelay: *f.auditFlushDelay,
		OnMoveError: func(err error) { log.Error("committing spooled audit records failed; retried", "err", err) }}
	if *f.auditFlushDelay > 0 {
		auditOpts.SpoolDir = auditSpoolDir(auditKeyPath(*f.db, *f.auditKeyFile))
	}
	auditLog, auditKey, err := openAudit(st, *f.db, *f.auditKeyFile, true, auditOpts)
	if err != nil {
		return err
	}
	// When the server stops, the spooled read records join the chain (after a
	// kill, the next start's openAudit commits them).
	defer func() {
		if err := auditLog.Sync(context.Background()); err != nil {
			log.Error("spooled audit records not committed; the next start commits them", "err", err)
		}
	}()
	hook := &mpiHook{models: st}
	svc := service.New(st, service.Options{Policy: policy, Events: ehr.LogEvents{Log: log}, Auditor: auditLog, Log: log,
		AfterCommit: hook.committed, MaxBundleEntries: *f.maxEntries})
	index, indexReport, err := hook.attach(ctx, svc, log)
	if err != nil {
		return err
	}
	log.Info("patient index loaded", "patients", indexReport.Patients, "persons", indexReport.Persons, "reviews", indexReport.Reviews, "writes", len(indexReport.Changes),
		"model", indexReport.Model.String())
	api := fhirapi.New(svc, fhirapi.Config{BaseURL: *f.baseURL, MaxBodyBytes: *f.maxBody, Version: version, MaxRequestsPerClient: f.limits.perClient,
		PatientIndex: index, InsecureNoAuth: *f.insecure, SMART: !*f.insecure}, log)

	im := ingest.New(ingest.ServiceTarget{Service: svc}, ingest.Options{Limits: f.limits.importLimits()})
	webCfg := web.Config{Service: svc, InsecureNoAuth: *f.insecure, Operators: splitList(*f.operators), Reviews: index,
		Quarantine: web.ImporterQuarantine{Importer: im, Directory: ingest.NewDirectory(im.Target())},
		Documents:  web.DocumentViewer(svc), Audit: st,
		IdleTimeout: *f.idle, SecureCookies: f.tls != nil, Log: log}
	mux := http.NewServeMux()
	if *f.insecure {
		fmt.Fprintln(stderr, insecureWarning)
		log.Warn("authorization is off (--insecure-no-auth): every caller reads and changes every record")
		mux.Handle("/fhir", api)
		mux.Handle("/fhir/", api)
	} else {
		auth := smart.New(smart.Config{DB: st.DB(), Postgres: isPostgres(*f.db), BaseURL: *f.baseURL, Log: log, Auditor: auditLog, SecretsKey: authSecretsKey(auditKey),
			PatientVisible: func(ctx context.Context, id string) (bool, error) {
				_, err := svc.Read(ctx, "Patient", id)
				if code := ehr.ErrorCode(err); code == ehr.NotFound || code == ehr.Gone {
					return false, nil
				}
				return err == nil, err
			}})
		protected := fhirapi.RequestIDs(auth.RequireBearer(api))
		mux.Handle("/fhir", protected)
		mux.Handle("/fhir/", protected)
		mux.Handle("/fhir/.well-known/", auth.Handler())
		mux.Handle("/oauth/", auth.Handler())
		webCfg.Auth = auth
		webCfg.Launcher = auth
	}
	mux.Handle("/", web.New(webCfg))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := st.DB().PingContext(r.Context()); err != nil {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})

	ln, err := net.Listen("tcp", *f.addr)
	if err != nil {
		return err
	}
	srv := fhirapi.NewHTTPServer(mux, f.limits.http)
	served := fhirapi.Listen(ln, f.limits.http, log)
	if f.tls != nil {
		srv.TLSConfig = f.tls
		served = tls.NewListener(served, f.tls)
	}
	fmt.Fprintf(stdout, "omnichart %s serving FHIR R4 at %s://%s/fhir\n", version, f.scheme(), ln.Addr())
	if listening != nil {
		listening(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(served) }()
	if *f.mllpAddr != "" {
		mllpDone, err := startMLLP(ctx, svc, *f.mllpAddr, *f.mllpSource, f.limits, stdout, log)
		if err != nil {
			srv.Close()
			return err
		}
		defer func() { <-mllpDone }()
	}
	// After the lines scripts read the FHIR base and the MLLP address from.
	fmt.Fprintf(stdout, "clinician web UI at %s://%s/\n", f.scheme(), ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// In-flight requests finish (and commit) before the store closes; nothing
	// acknowledged is lost.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(stdout, "omnichart stopped")
	return nil
}

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
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhirapi"
	"omnichart/internal/service"
	"omnichart/internal/smart"
)

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

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), serveUsage); fs.PrintDefaults() }
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	db := fs.String("db", defaultDB, "store: sqlite:PATH or postgres://user:pass@host/db")
	baseURL := fs.String("base-url", "", "public FHIR base URL (default: derived from each request)")
	maxBody := fs.Int64("max-body-bytes", 64<<20, "largest request body accepted")
	mllpAddr := fs.String("mllp", "", "also receive HL7 v2 messages over MLLP at this address, e.g. 127.0.0.1:2575")
	mllpSource := fs.String("mllp-source", "", "source system of MLLP messages: a registered slug, or a URI")
	limits := serveLimitFlags(fs)
	maxEntries := bundleEntriesFlag(fs)
	storeOptions := searchFlags(fs)
	tlsCert := fs.String("tls-cert", "", "serve HTTPS (TLS 1.2 or newer) with this PEM certificate chain; needs --tls-key")
	tlsKey := fs.String("tls-key", "", "PEM private key of --tls-cert")
	auditKeyFile := auditKeyFileFlag(fs)
	insecure := fs.Bool("insecure-no-auth", false, "serve without authorization: anyone who reaches the port reads and changes every record (local experiments only)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := limits.resolve(); err != nil {
		return err
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	var tlsConfig *tls.Config
	if *tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	if *maxEntries <= 0 {
		return fmt.Errorf("--max-bundle-entries must be positive")
	}
	opts, err := storeOptions()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	st, err := openStoreWith(ctx, *db, opts)
	if err != nil {
		return err
	}
	defer st.Close()
	var policy ehr.Policy = smart.Policy{}
	if *insecure {
		policy = ehr.AllowAll{}
	}
	auditLog, _, err := openAudit(st, *db, *auditKeyFile, true)
	if err != nil {
		return err
	}
	hook := &mpiHook{}
	svc := service.New(st, service.Options{Policy: policy, Events: ehr.LogEvents{Log: log}, Auditor: auditLog, Log: log,
		AfterCommit: hook.committed, MaxBundleEntries: *maxEntries})
	index, indexReport, err := hook.attach(ctx, svc, log)
	if err != nil {
		return err
	}
	log.Info("patient index loaded", "patients", indexReport.Patients, "persons", indexReport.Persons, "reviews", indexReport.Reviews, "writes", len(indexReport.Changes))
	api := fhirapi.New(svc, fhirapi.Config{BaseURL: *baseURL, MaxBodyBytes: *maxBody, Version: version, MaxRequestsPerClient: limits.perClient,
		PatientIndex: index, InsecureNoAuth: *insecure, SMART: !*insecure}, log)

	mux := http.NewServeMux()
	if *insecure {
		fmt.Fprintln(stderr, insecureWarning)
		log.Warn("authorization is off (--insecure-no-auth): every caller reads and changes every record")
		mux.Handle("/fhir", api)
		mux.Handle("/fhir/", api)
	} else {
		auth := smart.New(smart.Config{DB: st.DB(), Postgres: isPostgres(*db), BaseURL: *baseURL, Log: log, Auditor: auditLog,
			PatientVisible: func(ctx context.Context, id string) (bool, error) {
				_, err := svc.Read(ctx, "Patient", id)
				if code := ehr.ErrorCode(err); code == ehr.NotFound || code == ehr.Gone {
					return false, nil
				}
				return err == nil, err
			}})
		protected := auth.RequireBearer(api)
		mux.Handle("/fhir", protected)
		mux.Handle("/fhir/", protected)
		mux.Handle("/fhir/.well-known/", auth.Handler())
		mux.Handle("/oauth/", auth.Handler())
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := st.DB().PingContext(r.Context()); err != nil {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := fhirapi.NewHTTPServer(mux, limits.http)
	scheme := "http"
	served := fhirapi.Listen(ln, limits.http, log)
	if tlsConfig != nil {
		scheme = "https"
		srv.TLSConfig = tlsConfig
		served = tls.NewListener(served, tlsConfig)
	}
	fmt.Fprintf(stdout, "omnichart %s serving FHIR R4 at %s://%s/fhir\n", version, scheme, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(served) }()
	if *mllpAddr != "" {
		mllpDone, err := startMLLP(ctx, svc, *mllpAddr, *mllpSource, limits, stdout, log)
		if err != nil {
			srv.Close()
			return err
		}
		defer func() { <-mllpDone }()
	}
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

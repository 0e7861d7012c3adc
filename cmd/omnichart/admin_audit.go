package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"omnichart/internal/audit"
	"omnichart/internal/ehr"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

const auditUsage = `usage: omnichart admin audit list|verify [flags]

  list    audit records, newest first: --patient ID, --user NAME (or --agent
          user/NAME, client/ID), --since and --until (2026-01-31 or an RFC 3339
          time), --count N
  verify  check every record of the audit log against the key: exits non-zero
          and names each record that was changed, removed, inserted or moved;
          --anchor SEQ:MAC (printed by an earlier verify) also finds records
          removed from the end
`

// auditKeyFileFlag registers --audit-key-file.
func auditKeyFileFlag(fs *flag.FlagSet) *string {
	return fs.String("audit-key-file", "", "file of the audit log's HMAC key (default: audit.key beside the SQLite file, omnichart-data/audit.key for PostgreSQL); made on first start; keep it outside the database and back it up")
}

// auditKeyPath is the key file of the store db: the flag's value, or audit.key
// in the data directory.
func auditKeyPath(db, flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if isPostgres(db) {
		return filepath.Join("omnichart-data", "audit.key")
	}
	return filepath.Join(filepath.Dir(strings.TrimPrefix(db, "sqlite:")), "audit.key")
}

// auditSpoolDir is the folder of the read records' spool, beside the key file.
func auditSpoolDir(keyPath string) string {
	return filepath.Join(filepath.Dir(keyPath), "audit-spool")
}

// openAudit returns the audit log of st, keyed by the key file of db (made
// when create is set and there is none).
// opts gives the options beside the store and the key (none: every record waits
// for its durable commit). It first commits what a stopped server left in the
// spool beside the key file.
func openAudit(st *store.Store, db, keyFile string, create bool, opts ...audit.Options) (*audit.Log, []byte, error) {
	path := auditKeyPath(db, keyFile)
	var key []byte
	var err error
	if create {
		key, err = audit.LoadOrCreateKey(path)
	} else {
		key, err = audit.LoadKey(path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("audit key %s: %w", path, err)
	}
	var o audit.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	o.Store, o.Key = st, key
	l, err := audit.New(o)
	if err != nil {
		return nil, nil, err
	}
	// Records a stopped server left in its spool join the chain before anything
	// reads or appends to it.
	n, problems, err := l.Recover(context.Background(), auditSpoolDir(path))
	if err != nil {
		return nil, nil, err
	}
	if n > 0 || len(problems) > 0 {
		slog.Warn("audit records recovered from the spool of a server that stopped before committing them", "records", n, "left out", problems)
	}
	return l, key, nil
}

// adminAudit lists and verifies the audit log.
func adminAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "verify") {
		if len(args) > 0 && isHelp(args[0]) {
			fmt.Fprint(stdout, auditUsage)
			return nil
		}
		fmt.Fprint(stderr, auditUsage)
		return fmt.Errorf("admin audit: give the command list or verify")
	}
	cmd := args[0]
	fs := flag.NewFlagSet("admin audit "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), auditUsage); fs.PrintDefaults() }
	db := fs.String("db", defaultDB, "store: sqlite:PATH or postgres://user:pass@host/db")
	keyFile := auditKeyFileFlag(fs)
	patient := fs.String("patient", "", "list: records of this patient (id or Patient/id)")
	user := fs.String("user", "", "list: records of this user")
	agent := fs.String("agent", "", "list: records of this principal (user/NAME, client/ID, admin, system)")
	since := fs.String("since", "", "list: records at or after this date or time")
	until := fs.String("until", "", "list: records before this date or time (a date: before its end)")
	count := fs.Int("count", 100, "list: at most this many records")
	anchor := fs.String("anchor", "", "verify: SEQ:MAC of a record an earlier verify printed, which must still be in the log")
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	if cmd == "verify" {
		var anchors []audit.Anchor
		if *anchor != "" {
			a, err := audit.ParseAnchor(*anchor)
			if err != nil {
				return fmt.Errorf("--anchor: %w", err)
			}
			anchors = append(anchors, a)
		}
		key, err := audit.LoadKey(auditKeyPath(*db, *keyFile))
		if err != nil {
			return err
		}
		return auditVerify(ctx, st, key, anchors, stdout)
	}
	q := ehr.AuditQuery{Count: *count}
	if *patient != "" {
		q.Patient = "Patient/" + strings.TrimPrefix(*patient, "Patient/")
	}
	switch {
	case *user != "" && *agent != "":
		return fmt.Errorf("give --user or --agent, not both")
	case *user != "":
		q.Agent = "user/" + *user
	case *agent != "":
		q.Agent = *agent
	}
	if q.Since, err = parseAuditTime(*since, false); err != nil {
		return fmt.Errorf("--since: %w", err)
	}
	if q.Until, err = parseAuditTime(*until, true); err != nil {
		return fmt.Errorf("--until: %w", err)
	}
	l, _, err := openAudit(st, *db, *keyFile, true)
	if err != nil {
		return err
	}
	// Through the engine, so that reading the log is itself recorded.
	svc := service.New(st, service.Options{Auditor: l})
	seqs, events, err := svc.AuditEvents(adminContext(ctx), q)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tRECORDED\tINTERACTION\tOUTCOME\tAGENT\tCLIENT\tADDRESS\tPATIENTS\tRECORDS")
	for i, ev := range events {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", seqs[i], ev.Time.UTC().Format(time.RFC3339Nano), ev.Interaction,
			ev.Outcome, ev.Subject, dash(ev.Client), dash(ev.Address), dash(strings.Join(ev.Patients, " ")), dash(strings.Join(ev.Records, " ")))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// auditVerify runs audit.Verify and reports: the head as an anchor when the log
// is intact, each problem and an error otherwise.
func auditVerify(ctx context.Context, st *store.Store, key []byte, anchors []audit.Anchor, stdout io.Writer) error {
	r, err := audit.Verify(ctx, st, key, anchors...)
	if err != nil {
		return err
	}
	if len(r.Problems) > 0 {
		for _, p := range r.Problems {
			fmt.Fprintln(stdout, p)
		}
		return fmt.Errorf("the audit log is not intact: %d problem(s) in %d records", len(r.Problems), r.Records)
	}
	fmt.Fprintf(stdout, "audit log intact: %d records\n", r.Records)
	if r.HeadSeq > 0 {
		fmt.Fprintf(stdout, "anchor (keep it outside the database; verify --anchor checks the log still reaches it): %d:%s\n", r.HeadSeq, hex.EncodeToString(r.HeadMAC))
	}
	return nil
}

// parseAuditTime reads a date (its start, or with end its end) or an RFC 3339
// time; "" is the zero time.
func parseAuditTime(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		if end {
			t = t.Add(24 * time.Hour)
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a date (2026-01-31) nor an RFC 3339 time", s)
	}
	return t, nil
}

// auditFromEnv is the audit log of a local command's store: keyed by the file
// OMNICHART_AUDIT_KEY_FILE names, or audit.key in the data directory.
func auditFromEnv(st *store.Store, db string) (*audit.Log, error) {
	l, _, err := openAudit(st, db, os.Getenv("OMNICHART_AUDIT_KEY_FILE"), true)
	return l, err
}

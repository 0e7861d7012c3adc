package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"omnichart/internal/directory"
	"omnichart/internal/ehr"
	"omnichart/internal/service"
)

const directoryUsage = `usage: omnichart directory load [flags] [PATH]
       omnichart directory connected [flags]

Loads the EMR software directory: every certified EMR product (ONC CHPL), its
certification criteria, and the FHIR endpoints of the organizations that run it,
from an ONC Lantern snapshot (its resources/prod_resources folder, or a .zip of
its files). Without PATH it loads the snapshot built into this binary.

Loading is idempotent: a second load of the same snapshot changes nothing, and a
newer one changes only what differs. The load reports what was added, changed and
removed, and the products whose certification was withdrawn. See docs/directory.md.
Omnichart never contacts the listed endpoints.

"connected" lists the registered sources with the directory's product and
endpoint each runs (admin source add --directory-product, --directory-endpoint)
and their health: when each last sent something, and how many originals were
accepted, are quarantined and were replayed.

flags:
`

func directoryCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		if len(args) == 0 {
			fmt.Fprint(stderr, directoryUsage)
			return fmt.Errorf("directory: give a subcommand (load or connected)")
		}
		fmt.Fprint(stdout, directoryUsage)
		return nil
	}
	if args[0] == "connected" {
		return directoryConnected(ctx, args[1:], stdout, stderr)
	}
	if args[0] != "load" {
		fmt.Fprint(stderr, directoryUsage)
		return fmt.Errorf("directory: unknown subcommand %q", args[0])
	}
	fs := flag.NewFlagSet("directory load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), directoryUsage); fs.PrintDefaults() }
	db := fs.String("db", defaultDB, "store: sqlite:PATH or postgres://user:pass@host/db")
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("directory load: give at most one snapshot path")
	}
	var snap *directory.Snapshot
	var err error
	what := "the snapshot built in (" + directory.ShippedSnapshot + ")"
	if fs.NArg() == 1 {
		what = fs.Arg(0)
		snap, err = directory.ReadPath(fs.Arg(0))
	} else {
		snap, err = directory.ReadShipped()
	}
	if err != nil {
		return fmt.Errorf("directory load: %w", err)
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	auditLog, err := auditFromEnv(st, *db)
	if err != nil {
		return err
	}
	start := time.Now()
	// The loader's many lookups are the server's machinery (a System principal
	// without an origin: not audited); every resource it writes is.
	loader := ehr.WithPrincipal(context.WithoutCancel(ctx), ehr.Principal{Subject: "admin", System: true})
	rep, err := directory.Load(loader, service.New(st, service.Options{Auditor: auditLog}), snap)
	if err != nil {
		return fmt.Errorf("directory load: %w", err)
	}
	fmt.Fprintf(stdout, "loaded %s in %s: %d products, %d endpoint lists\n", what, time.Since(start).Round(10*time.Millisecond), len(snap.Products), len(snap.Lists))
	for _, row := range []struct {
		label string
		m     map[string]int
	}{{"added", rep.Added}, {"changed", rep.Changed}, {"removed", rep.Removed}, {"unchanged", rep.Unchanged}} {
		fmt.Fprintf(stdout, "  %-9s %s\n", row.label, countsLine(row.m))
	}
	if len(rep.Withdrawn) > 0 {
		fmt.Fprintf(stdout, "  certification withdrawn since the last load: %s\n", strings.Join(rep.Withdrawn, ", "))
	}
	if len(snap.Missing) > 0 {
		fmt.Fprintf(stdout, "  %d endpoint lists are named but not in the snapshot (loaded without endpoints)\n", len(snap.Missing))
	}
	for _, n := range snap.Notes {
		fmt.Fprintf(stdout, "  note: %s\n", n)
	}
	return nil
}

// countsLine renders counts per type in a stable order, "none" when empty.
func countsLine(m map[string]int) string {
	types := make([]string, 0, len(m))
	for typ, n := range m {
		if n > 0 {
			types = append(types, typ)
		}
	}
	if len(types) == 0 {
		return "none"
	}
	sort.Strings(types)
	parts := make([]string, len(types))
	for i, typ := range types {
		parts[i] = fmt.Sprintf("%d %s", m[typ], typ)
	}
	return strings.Join(parts, ", ")
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/service"
)

const breakGlassUsage = `usage: omnichart admin break-glass report [--since DURATION|DATE] [--db DB]

Lists every emergency access (Patient/{id}/$break-the-glass) opened since then
(default: the last 30 days): when, who, for which patient, which patient
compartments it opened, until when, and the reason given. The accesses are never
deleted: this is the report of them.
`

// adminBreakGlass prints the report of emergency accesses.
func adminBreakGlass(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "report" {
		if len(args) > 0 && isHelp(args[0]) {
			fmt.Fprint(stdout, breakGlassUsage)
			return nil
		}
		fmt.Fprint(stderr, breakGlassUsage)
		return fmt.Errorf("admin break-glass: want the command report")
	}
	fs := flag.NewFlagSet("admin break-glass report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), breakGlassUsage+"\nflags:\n"); fs.PrintDefaults() }
	db := fs.String("db", defaultDB, "store: sqlite:PATH or postgres://user:pass@host/db")
	sinceFlag := fs.String("since", "720h", "a duration back from now (720h) or a date (2026-01-31)")
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("admin break-glass report: unexpected argument %q", fs.Arg(0))
	}
	since, err := sinceTime(*sinceFlag, time.Now())
	if err != nil {
		return err
	}
	p, err := openPipeline(ctx, *db, "", "", service.Options{})
	if err != nil {
		return err
	}
	defer p.close()
	list, err := p.svc.BreakGlassReport(ehr.WithPrincipal(ctx, ehr.SystemPrincipal), since)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OPENED\tUSER\tPATIENT\tUNTIL\tCOMPARTMENTS\tREASON")
	for _, b := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", b.Opens.Format(time.RFC3339), b.User, b.Patient, b.Closes.Format(time.RFC3339),
			strings.Join(b.Compartments, ","), strings.Join(strings.Fields(b.Reason), " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d emergency access(es) since %s\n", len(list), since.Format(time.RFC3339))
	return nil
}

// sinceTime reads a --since value: a duration back from now or a date.
func sinceTime(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since: want a duration (720h) or a date (2026-01-31), got %q", v)
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"omnichart/internal/connected"
	"omnichart/internal/service"
)

// directoryConnected lists the registered sources with their place in the EMR
// directory and their health: what each sent and when.
func directoryConnected(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("directory connected", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: omnichart directory connected [flags]\n\nLists the connected sources: the product and endpoint of the EMR directory each runs,\nthe interfaces that product offers, when each last sent something, and how many\noriginals were accepted, are quarantined, and were replayed from the quarantine.\n\nflags:\n")
		fs.PrintDefaults()
	}
	db := fs.String("db", defaultDB, "store: sqlite:PATH or postgres://user:pass@host/db")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx = adminContext(ctx)
	auditLog, err := auditFromEnv(st, *db)
	if err != nil {
		return err
	}
	svc := service.New(st, service.Options{Auditor: auditLog})
	list, err := connected.List(ctx, svc)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tSTATUS\tPRODUCT (DEVELOPER)\tOFFERS\tENDPOINT\tLAST RECEIVED\tACCEPTED\tQUARANTINED\tREPLAYED")
	for _, h := range list {
		last := "never"
		if !h.Last.IsZero() {
			last = h.Last.UTC().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n", h.Source.Slug, status(h.Source.Active), h.ProductLabel(), orDash(strings.Join(h.Offers, ",")),
			orDash(h.Endpoint), last, h.Accepted, h.Quarantined, h.Replayed)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"omnichart/internal/fhir"
	"omnichart/internal/service"
)

const identityUsage = `usage: omnichart admin identity list [--all] [--db DB | --server URL]

  list    identity conflicts waiting for review: records a source's identifier
          matched but whose demographics describe another person, so they were
          recorded apart (--all: also the reviewed ones)
`

// adminIdentity lists the identity conflicts raised on import and by the API.
func adminIdentity(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "list" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, identityUsage)
			return nil
		}
		fmt.Fprint(stderr, identityUsage)
		return fmt.Errorf("admin identity: give the command list")
	}
	fs := flag.NewFlagSet("admin identity list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), identityUsage); fs.PrintDefaults() }
	db := fs.String("db", defaultDB, "store: sqlite:PATH or postgres://user:pass@host/db")
	server := fs.String("server", "", "FHIR base URL of a running server to work on instead of --db")
	token := tokenFlag(fs)
	all := fs.Bool("all", false, "also list conflicts already reviewed")
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	p, err := openPipeline(ctx, *db, *server, *token, service.Options{})
	if err != nil {
		return err
	}
	defer p.close()
	query := "code=" + service.TaskSystem + "|" + service.IdentityConflict + "&_sort=-authored-on"
	if !*all {
		query += "&status=requested"
	}
	tasks, err := p.importer.Target().Search(adminContext(ctx), "Task", query, 10000)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK\tSTATUS\tRAISED\tSOURCE\tRECORD\tKEPT APART FROM")
	for _, t := range tasks {
		var others []string
		for _, in := range fhir.Array(t, "input") {
			if ref := fhir.String(fhir.Object(in.(map[string]any), "valueReference"), "reference"); ref != "" {
				others = append(others, ref)
			}
		}
		fmt.Fprintf(tw, "Task/%s\t%s\t%s\t%s\t%s\t%s\n", fhir.String(t, "id"), fhir.String(t, "status"), fhir.String(t, "authoredOn"),
			fhir.String(fhir.Object(t, "meta"), "source"), fhir.String(fhir.Object(t, "focus"), "reference"), strings.Join(others, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d identity conflict(s)\n", len(tasks))
	return nil
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/ingest"
	"omnichart/internal/service"
)

const quarantineUsage = `usage: omnichart admin quarantine <command> [flags]

  list [--all]             failed documents and messages (--all: also those since imported)
  show ID [--raw FILE]     one entry; --raw writes the original's exact bytes to FILE ("-" for stdout)
  replay ID... | --all     import the originals again, e.g. after the cause was fixed; an
                           entry is closed only when its own original is in (imported now, or
                           before from the same source), never by another message that
                           reused its MSH-4|MSH-10
`

func adminQuarantine(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, quarantineUsage)
		return fmt.Errorf("admin quarantine: no command given")
	}
	cmd := args[0]
	if isHelp(cmd) {
		fmt.Fprint(stdout, quarantineUsage+"\nRun \"omnichart admin quarantine <command> -h\" for the flags of a command.\n")
		return nil
	}
	if !slices.Contains([]string{"list", "show", "replay"}, cmd) {
		// Before any store is opened, so that a typo creates no database.
		fmt.Fprint(stderr, quarantineUsage)
		return fmt.Errorf("admin quarantine: unknown command %q", cmd)
	}
	pos, rest := splitPositional(args[1:])
	fs := flag.NewFlagSet("admin quarantine "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), quarantineUsage+"\nflags:\n"); fs.PrintDefaults() }
	db := fs.String("db", defaultDB, "store: sqlite:PATH or postgres://user:pass@host/db")
	server := fs.String("server", "", "FHIR base URL of a running server to work on instead of --db")
	token := tokenFlag(fs)
	all := fs.Bool("all", false, "list: include resolved entries; replay: every failed entry")
	raw := fs.String("raw", "", "show: write the original's bytes to this file (- for stdout)")
	if err := parseFlags(fs, rest, stdout); err != nil {
		return err
	}
	pos = append(pos, fs.Args()...)
	p, err := openPipeline(ctx, *db, *server, *token, service.Options{})
	if err != nil {
		return err
	}
	defer p.close()
	if cmd == "replay" {
		if err := p.match(ctx); err != nil {
			return err
		}
	}
	ctx = adminContext(ctx)
	im := p.importer
	switch cmd {
	case "list":
		list, err := im.Quarantined(ctx, *all)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATUS\tLAST FAILED\tATTEMPTS\tFORMAT\tSOURCE\tNAME\tERROR")
		for _, e := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", e.ID, e.Status, e.LastFailed.Local().Format(time.DateTime),
				e.Attempts, e.Format, e.Source, e.Name, truncate(e.Error, 80))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d entr%s\n", len(list), map[bool]string{true: "y", false: "ies"}[len(list) == 1])
		return nil
	case "show":
		if len(pos) != 1 {
			fs.Usage()
			return fmt.Errorf("admin quarantine show: give one ID")
		}
		e, data, err := im.QuarantinedEntry(ctx, pos[0])
		if err != nil {
			return err
		}
		if *raw != "" {
			if e.Binary == "" {
				return fmt.Errorf("Task/%s keeps no original: it was larger than the document limit", e.ID)
			}
			if *raw == "-" {
				_, err = stdout.Write(data)
				return err
			}
			return os.WriteFile(*raw, data, 0o600)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "id:\tTask/%s\n", e.ID)
		fmt.Fprintf(tw, "status:\t%s\n", e.Status)
		fmt.Fprintf(tw, "name:\t%s\n", e.Name)
		fmt.Fprintf(tw, "format:\t%s\n", e.Format)
		fmt.Fprintf(tw, "source:\t%s\n", e.Source)
		if e.Binary == "" {
			fmt.Fprintf(tw, "original:\tnot kept: larger than the document limit (sha256 %s)\n", e.Hash)
		} else {
			fmt.Fprintf(tw, "original:\tBinary/%s (%d bytes, sha256 %s)\n", e.Binary, len(data), e.Hash)
		}
		fmt.Fprintf(tw, "first failed:\t%s\n", e.FirstFailed.Local().Format(time.DateTime))
		fmt.Fprintf(tw, "last failed:\t%s\n", e.LastFailed.Local().Format(time.DateTime))
		fmt.Fprintf(tw, "attempts:\t%d\n", e.Attempts)
		fmt.Fprintf(tw, "error:\t%s (%s)\n", e.Error, e.Code)
		if e.Original != "" {
			fmt.Fprintf(tw, "imported as:\t%s\n", e.Original)
		}
		tw.Flush()
		for _, is := range e.Issues {
			fmt.Fprintf(stdout, "  %s %s %v: %s\n", is.Severity, is.Code, is.Expression, is.Diagnostics)
		}
		return nil
	case "replay":
		ids := pos
		if *all {
			list, err := im.Quarantined(ctx, false)
			if err != nil {
				return err
			}
			for _, e := range list {
				ids = append(ids, e.ID)
			}
		}
		if len(ids) == 0 && !*all {
			fs.Usage()
			return fmt.Errorf("admin quarantine replay: give IDs or --all")
		}
		failed := 0
		for _, id := range ids {
			rep, err := im.Replay(ctx, p.dir, id)
			if err != nil && ehr.ErrorCode(err) == ehr.NotFound && *all {
				// An entry without its original cannot be replayed; the others can.
				failed++
				fmt.Fprintf(stdout, "Task/%s: %s\n", id, ehr.ErrorMessage(err))
				continue
			}
			if err != nil {
				return fmt.Errorf("replay Task/%s: %w", id, err)
			}
			for _, u := range rep.Units {
				switch {
				case u.Err != nil:
					failed++
					fmt.Fprintf(stdout, "Task/%s: failed again: %s\n", id, ingest.ErrorText(u.Err))
				case u.Duplicate && u.Reason == ingest.ReasonDuplicate:
					fmt.Fprintf(stdout, "Task/%s: already imported as %s\n", id, u.Original)
				case u.Duplicate:
					fmt.Fprintf(stdout, "Task/%s: %s, imported before as %s\n", id, u.Reason, u.Original)
				case u.Reason == ingest.ReasonReusedKey:
					fmt.Fprintf(stdout, "Task/%s: imported as %s (%d resources); %s|%s was used before by %s\n", id, u.Original,
						total(u.Created), u.Facility, u.ControlID, strings.Join(u.SameKey, ", "))
				default:
					fmt.Fprintf(stdout, "Task/%s: imported as %s (%d resources)\n", id, u.Original, total(u.Created))
				}
			}
		}
		fmt.Fprintf(stdout, "replayed %d entr%s, %d failed\n", len(ids), map[bool]string{true: "y", false: "ies"}[len(ids) == 1], failed)
		if failed > 0 {
			return fmt.Errorf("%d replay(s) failed", failed)
		}
		return nil
	}
	return fmt.Errorf("admin quarantine: unknown command %q", cmd)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

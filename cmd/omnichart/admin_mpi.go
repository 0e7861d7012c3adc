package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/mpi"
	"omnichart/internal/service"
)

const mpiUsage = `usage: omnichart admin mpi <command> [flags]

  rematch                 match every Patient again in one batch, with the decisions
                          people made, and write the Persons and review tasks that
                          differ; prints what changed (--verbose: every write)
  review [--all]          the review queue: match reviews and identity conflicts,
                          each with its records, score and explanation (--all: also
                          closed and decided ones)
  decide TASK link|not-same|undo --reason TEXT --reviewer WHO
                          decide a review task: the records are one person (link),
                          two people (not-same), or take its decision back (undo)
  estimate [--save --by WHO]
                          estimate the matcher's model by EM from the stored
                          Patients and print it beside the model in use (m, u and
                          weight of every field level); --save stores it as the
                          index's model, used from the next rematch. Not saved
                          when EM did not converge or fewer than 1000 pairs were
                          compared

The commands work on a local store (--db). A running server loads the index
when it starts; decide through its API (Task/{id}/$decide) while it runs.
`

func adminMPI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		if len(args) > 0 {
			fmt.Fprint(stdout, mpiUsage)
			return nil
		}
		fmt.Fprint(stderr, mpiUsage)
		return fmt.Errorf("admin mpi: give a command")
	}
	cmd := args[0]
	switch cmd {
	case "rematch", "review", "decide", "estimate":
	default:
		fmt.Fprint(stderr, mpiUsage)
		return fmt.Errorf("admin mpi: unknown command %q", cmd)
	}
	pos, rest := splitPositional(args[1:])
	fs := flag.NewFlagSet("admin mpi "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), mpiUsage+"\nflags:\n"); fs.PrintDefaults() }
	db := fs.String("db", defaultDB, "store: sqlite:PATH or postgres://user:pass@host/db")
	all := fs.Bool("all", false, "review: also list closed and decided tasks")
	verbose := fs.Bool("verbose", false, "rematch: print every write, not only the first 50")
	reason := fs.String("reason", "", "decide: why (required)")
	reviewer := fs.String("reviewer", "", "decide: who decides, e.g. user/jdoe (required)")
	save := fs.Bool("save", false, "estimate: store the estimate as the index's model")
	by := fs.String("by", "", "estimate --save: who estimated the model, e.g. user/jdoe (required)")
	if err := parseFlags(fs, rest, stdout); err != nil {
		return err
	}
	pos = append(pos, fs.Args()...)
	if cmd == "decide" {
		if len(pos) != 2 {
			return fmt.Errorf("admin mpi decide: give the task id and link, not-same or undo")
		}
		if strings.TrimSpace(*reviewer) == "" || strings.TrimSpace(*reason) == "" {
			return fmt.Errorf("admin mpi decide: --reviewer and --reason are required")
		}
	}
	if cmd == "estimate" && *save && strings.TrimSpace(*by) == "" {
		return fmt.Errorf("admin mpi estimate --save: say who estimates the model with --by, e.g. --by user/jdoe")
	}
	p, err := openPipeline(ctx, *db, "", "", service.Options{})
	if err != nil {
		return err
	}
	defer p.close()
	if cmd == "estimate" {
		// Estimating reads the Patients and writes nothing but the model: the
		// index is not loaded, so no Person changes.
		return estimateModel(ctx, stdout, mpi.New(p.svc, mpi.Options{Models: p.store}), *save, *by)
	}
	m, rep, err := p.hook.attach(ctx, p.svc, nil)
	if err != nil {
		return err
	}
	switch cmd {
	case "rematch":
		printRematch(stdout, rep, *verbose)
		return nil
	case "review":
		return printQueue(ctx, stdout, m, *all)
	}
	v, err := mpi.ParseVerdict(pos[1])
	if err != nil {
		return err
	}
	who := ehr.WithPrincipal(ctx, ehr.Principal{Subject: *reviewer, System: true})
	task := strings.TrimPrefix(pos[0], "Task/")
	if _, err := m.Decide(who, task, v, *reason); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Task/%s: %s by %s\n", task, v, *reviewer)
	return nil
}

func printRematch(w io.Writer, rep *mpi.Report, verbose bool) {
	fmt.Fprintf(w, "scored with %s\n", rep.Model)
	fmt.Fprintf(w, "%d patients, %d persons, %d pairs in review, %d decided pairs\n", rep.Patients, rep.Persons, rep.Reviews, rep.Decisions)
	fmt.Fprintf(w, "persons written %d, deleted %d; review tasks opened or updated %d, closed %d\n",
		rep.PersonsWritten, rep.PersonsDeleted, rep.TasksOpened, rep.TasksClosed)
	fmt.Fprintf(w, "read %s, matched %s, written %s\n", rep.Read.Round(time.Millisecond), rep.Matched.Round(time.Millisecond), rep.Written.Round(time.Millisecond))
	for i, line := range rep.Changes {
		if i == 50 && !verbose {
			fmt.Fprintf(w, "... and %d more (--verbose lists them all)\n", len(rep.Changes)-50)
			break
		}
		fmt.Fprintln(w, line)
	}
}

func printQueue(ctx context.Context, w io.Writer, m *mpi.MPI, all bool) error {
	items, err := m.Queue(adminContext(ctx), all)
	if err != nil {
		return err
	}
	for _, it := range items {
		refs := make([]string, len(it.Patients))
		for i, id := range it.Patients {
			refs[i] = "Patient/" + id
		}
		fmt.Fprintf(w, "Task/%s  %s  %s  %s  %s\n", it.Task, it.Code, it.Status, it.Authored, strings.Join(refs, " ~ "))
		if it.Score != "" {
			fmt.Fprintf(w, "  score %s\n", it.Score)
		}
		if d := it.Decision; d != nil {
			fmt.Fprintf(w, "  decided %s by %s at %s: %s\n", d.Verdict, d.Reviewer, d.Decided.Format("2006-01-02T15:04:05Z"), d.Reason)
		}
		for _, line := range strings.Split(strings.TrimRight(it.Explanation, "\n"), "\n") {
			if line != "" {
				fmt.Fprintf(w, "  %s\n", line)
			}
		}
	}
	fmt.Fprintf(w, "%d task(s)\n", len(items))
	return nil
}

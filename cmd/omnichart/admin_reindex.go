package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"omnichart/internal/store"
)

const reindexUsage = `usage: omnichart admin reindex [flags]

Rebuilds the search indexes of every resource, for instance after a SearchParameter
was added; an interrupted run resumes where it stopped.

flags:
`

// adminReindex rebuilds search indexes: all of them (after adding a custom
// SearchParameter, resumable after an interruption) or, with --pending, those a bulk
// import with deferred indexing left to build.
func adminReindex(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("admin reindex", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), reindexUsage); fs.PrintDefaults() }
	db := fs.String("db", defaultDB, "store: sqlite:PATH or postgres://user:pass@host/db")
	pending := fs.Bool("pending", false, "index only resources a deferred bulk load left unindexed")
	restart := fs.Bool("restart", false, "start over instead of resuming an interrupted re-index")
	batch := fs.Int("batch", 500, "resources per transaction")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()

	var bar *progressbar.ProgressBar
	if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(stdout), progressbar.OptionSetDescription("re-indexing"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionFullWidth())
	}
	start, last := time.Now(), time.Now()
	var final int64
	err = st.Reindex(ctx, store.ReindexOptions{PendingOnly: *pending, Restart: *restart, Batch: *batch, Progress: func(done, total int64) {
		final = done
		if bar != nil {
			bar.ChangeMax64(total)
			bar.Set64(done)
			return
		}
		if time.Since(last) >= 2*time.Second || done == total {
			last = time.Now()
			rate := float64(done) / max(time.Since(start).Seconds(), 1e-9)
			eta := "?"
			if rate > 0 {
				eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
			}
			fmt.Fprintf(stdout, "re-indexed %d of %d resources, %.0f/s, ETA %s\n", done, total, rate, eta)
		}
	}})
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(stdout)
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("re-index interrupted after %d resources; run it again to resume", final)
		}
		return err
	}
	fmt.Fprintf(stdout, "re-indexed %d resources in %s\n", final, time.Since(start).Round(time.Millisecond))
	return nil
}

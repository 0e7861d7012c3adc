package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
)

const storageUsage = `usage: omnichart admin storage [flags]

Prints the bytes each table of the store takes, its rows and its indexes apart,
largest first, and the average bytes of a resource other than a Binary (the
originals of imported documents and messages) with every index counted.

flags:
`

// adminStorage reports where the store's bytes go.
func adminStorage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("admin storage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), storageUsage); fs.PrintDefaults() }
	db := fs.String("db", defaultDB, "store: sqlite:PATH or postgres://user:pass@host/db")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := st.Storage(ctx)
	if err != nil {
		return err
	}
	total := r.Total()
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "table\trows KiB\tindexes KiB\ttotal KiB\tshare\t")
	for _, t := range r.Tables {
		if t.Total() == 0 {
			continue
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%.1f%%\t\n", t.Name, t.Table/1024, t.Indexes/1024, t.Total()/1024, 100*float64(t.Total())/float64(max(total, 1)))
	}
	fmt.Fprintf(w, "all\t\t\t%d\t\t\n", total/1024)
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d resources, %d of them Binary (%d KiB of bodies)\n", r.Resources, r.Binaries, r.BinaryBytes/1024)
	fmt.Fprintf(stdout, "%.2f KiB per resource, Binary bodies left out\n", r.PerResource()/1024)
	return nil
}

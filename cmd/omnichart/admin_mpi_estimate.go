package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"omnichart/internal/match"
	"omnichart/internal/mpi"
)

// estimateModel estimates the matcher's model from the stored Patients,
// prints it beside the model in use, and with save stores it as the index's
// model. An estimate that may not be saved is printed, then refused with
// the reason.
func estimateModel(ctx context.Context, w io.Writer, m *mpi.MPI, save bool, by string) error {
	e, err := m.Estimate(adminContext(ctx))
	if err != nil {
		return err
	}
	est := e.Model
	fmt.Fprintf(w, "estimated from %d patients, %d compared pairs (%d blocks, %d too large to compare): ",
		e.Stats.Records, e.Stats.Pairs, e.Stats.Blocks, e.Stats.SkippedBlocks)
	switch {
	case e.Stats.Pairs == 0:
		fmt.Fprintln(w, "no pairs to estimate from")
	case est.Converged:
		fmt.Fprintf(w, "EM converged in %d rounds, match share %.4f\n", est.Iterations, est.MatchShare)
	default:
		fmt.Fprintf(w, "EM did not converge in %d rounds, match share %.4f\n", est.Iterations, est.MatchShare)
	}
	fmt.Fprintf(w, "in use: %s\n\n", e.InUse)
	printModels(w, est, e.InUse.Model)
	if e.Problem != "" {
		if save {
			return fmt.Errorf("admin mpi estimate: not saved: %s", e.Problem)
		}
		fmt.Fprintf(w, "\nthis estimate may not be saved: %s\n", e.Problem)
		return nil
	}
	if !save {
		fmt.Fprintln(w, "\nnot saved: --save --by WHO stores it as the index's model")
		return nil
	}
	saved, err := m.SaveModel(adminContext(ctx), e, by)
	if err != nil {
		return fmt.Errorf("admin mpi estimate: %w", err)
	}
	fmt.Fprintf(w, "\nsaved as model %s, estimated %s by %s from %d patients and %d pairs.\n", saved.ID,
		saved.Estimated.UTC().Format(time.RFC3339), saved.EstimatedBy, saved.Records, saved.Pairs)
	fmt.Fprintln(w, "It takes effect for automatic decisions at the next `omnichart admin mpi rematch` (a running server uses it")
	fmt.Fprintln(w, "from its next start, which rematches); decisions made by a person are kept as they are.")
	return nil
}

// printModels prints m, u and weight of every field level of the estimate
// beside those of the model in use (nil: EM at every rematch, nothing fixed).
// A level fixed by configuration is marked: its values are the configured ones.
func printModels(w io.Writer, est, inUse *match.Model) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "field\tlevel\testimated m\tu\tweight\tin use m\tu\tweight\t")
	for f, field := range est.Fields {
		for l, lv := range field.Levels {
			mark := ""
			if lv.Fixed {
				mark = " (configured)"
			}
			fmt.Fprintf(tw, "%s\t%s%s\t%.4f\t%.4f\t%+.2f\t", field.Field, lv.Level, mark, lv.M, lv.U, lv.Weight())
			if inUse != nil && f < len(inUse.Fields) && l < len(inUse.Fields[f].Levels) {
				cur := inUse.Fields[f].Levels[l]
				fmt.Fprintf(tw, "%.4f\t%.4f\t%+.2f\t\n", cur.M, cur.U, cur.Weight())
			} else {
				fmt.Fprintf(tw, "-\t-\t-\t\n")
			}
		}
	}
	tw.Flush()
}

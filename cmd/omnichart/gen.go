package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"omnichart/internal/gen"
)

const genUsage = `usage: omnichart gen [flags] --out DIR

Writes a synthetic population as several source systems would send it, and the
truth about it: which source records are the same person, which look-alikes were
planted (twins, Jr and Sr, common names in one town), and which facts arrive
from two sources, alike or in conflict. The same flags give the same files.

  DIR/sources/<slug>/<MRN>.json   FHIR sources: one transaction Bundle per patient
  DIR/sources/<slug>/<MRN>.hl7    HL7 v2 sources: the patient's ADT and ORU messages
  DIR/sources.json                each source: slug, name, kind, EMR, interfaces, MRN system
  DIR/truth.json                  persons and their records, hard negatives, duplicates, conflicts
  DIR/import.sh                   registers the sources and imports them

--difficulty sets every rate (easy, medium or hard); a rate flag given as well
overrides the preset for that rate.

flags:
`

// rateFlag is a difficulty rate given on the command line or in the environment.
type rateFlag struct {
	v   float64
	set bool
}

func (r *rateFlag) String() string {
	if r == nil || !r.set {
		return ""
	}
	return strconv.FormatFloat(r.v, 'g', -1, 64)
}

func (r *rateFlag) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v > 1 {
		return fmt.Errorf("want a number between 0 and 1")
	}
	r.v, r.set = v, true
	return nil
}

func genCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), genUsage); fs.PrintDefaults() }
	people := fs.Int("people", 1000, "number of persons")
	sources := fs.Int("sources", 4, fmt.Sprintf("number of source systems, 1 to %d (3: hospital HL7 v2, practice FHIR, laboratory HL7 v2; 4 adds a pharmacy)", gen.MaxSources))
	seed := fs.Int64("seed", 1, "seed of the population")
	out := fs.String("out", "", "folder to write to; must not exist or be empty")
	difficulty := fs.String("difficulty", "medium", "preset of every rate: easy, medium or hard")
	years := fs.Int("years", 5, "years of history")
	end := fs.String("end", gen.DefaultEnd.Format("2006-01-02"), "the day the history ends")
	var probe gen.Options
	rates := map[string]*rateFlag{}
	for _, r := range probe.Rates() {
		rf := &rateFlag{}
		rates[r.Name] = rf
		fs.Var(rf, r.Name, r.Usage+"; a `rate` from 0 to 1 (default: the preset's)")
	}
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("gen: unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		fs.Usage()
		return fmt.Errorf("gen: --out is required")
	}
	o, err := gen.Preset(*difficulty)
	if err != nil {
		return err
	}
	o.People, o.Sources, o.Seed, o.Years = *people, *sources, *seed, *years
	if o.End, err = time.Parse("2006-01-02", *end); err != nil {
		return fmt.Errorf("--end: want YYYY-MM-DD")
	}
	for _, r := range o.Rates() {
		if rf := rates[r.Name]; rf.set {
			r.Set(rf.v)
		}
	}
	if err := o.Validate(); err != nil {
		return err
	}
	start := time.Now()
	res, err := gen.WriteDir(ctx, *out, o)
	if err != nil {
		return err
	}
	t := res.Truth
	records := 0
	for _, p := range t.Persons {
		records += len(p.Records)
	}
	fmt.Fprintf(stdout, "wrote %d people as %d source records at %d sources (%d files) to %s in %s\n",
		len(t.Persons), records, len(res.Sources), res.Files, *out, time.Since(start).Round(time.Millisecond))
	for _, s := range res.Sources {
		fmt.Fprintf(stdout, "  %-22s %-9s %-6s %6d patients\n", s.Slug, s.Kind, s.Interfaces[0], s.Patients)
	}
	fmt.Fprintf(stdout, "planted %d hard negatives, %d duplicate facts, %d conflicts; see %s/truth.json\n",
		len(t.HardNegatives), len(t.Duplicates), len(t.Conflicts), *out)
	fmt.Fprintf(stdout, "to import: OMNICHART=\"go run ./cmd/omnichart\" sh %s/import.sh\n", *out)
	return nil
}

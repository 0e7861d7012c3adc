package gen

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Random streams: each decision draws from its own stream, keyed by the seed,
// the kind of decision and a number (person, source), so that one part of the
// output does not shift when another changes.
const (
	streamSources uint64 = iota + 1
	streamPopulation
	streamMRN
	streamPerson
	streamBuild
	streamView
	streamRender
)

func stream(seed int64, kind, n uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed)*0x9e3779b97f4a7c15+kind, n*0xbf58476d1ce4e5b9^kind<<56))
}

// Result is what Generate made.
type Result struct {
	Sources []*Source
	Truth   *Truth
	// Files is the number of files written, sources.json, truth.json and
	// import.sh included.
	Files int
}

type generator struct {
	o    Options
	srcs []*Source
}

// Generate makes the population o describes and hands every file to write, by
// its slash-separated path relative to the output folder, in a fixed order: per
// person, the file of each source that knows them (sources/<slug>/<MRN>.json or
// .hl7), then sources.json, truth.json and import.sh. The same options give the
// same files, byte for byte. Generation holds one person's history at a time,
// so memory grows with the truth file, not with the records.
func Generate(o Options, write func(name string, data []byte) error) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	g := &generator{o: o, srcs: makeSources(o.Sources, o.Seed)}
	pop := newPopulation(o, g.srcs)
	truth := &Truth{Options: o, HardNegatives: pop.negatives}
	files := 0
	for _, p := range pop.people {
		h := g.newHistory(p)
		tp := truthPerson(p)
		for j, si := range p.sources {
			src := g.srcs[si]
			d := g.newDemographics(p, j, h)
			w := &writer{g: g, si: si, src: src, r: stream(o.Seed, streamRender, uint64(p.index)*MaxSources+uint64(si)), mrn: d.mrn}
			var data []byte
			name := "sources/" + src.Slug + "/" + d.mrn
			if src.hl7() {
				data, name = w.hl7File(h, d), name+".hl7"
			} else {
				var err error
				if data, err = w.fhirFile(h, d); err != nil {
					return nil, fmt.Errorf("%s at %s: %w", p.id, src.Slug, err)
				}
				name += ".json"
			}
			if err := write(name, data); err != nil {
				return nil, err
			}
			files++
			tp.Records = append(tp.Records, Record{Source: src.Slug, System: src.MRNSystem, MRN: d.mrn, Variations: d.variations})
		}
		truth.Persons = append(truth.Persons, tp)
		truth.addFacts(p, h)
	}
	sources, err := json.MarshalIndent(g.srcs, "", "  ")
	if err != nil {
		return nil, err
	}
	t, err := json.MarshalIndent(truth, "", "  ")
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"sources.json", append(sources, '\n')}, {"truth.json", append(t, '\n')}, {"import.sh", importScript(g.srcs)}} {
		if err := write(f.name, f.data); err != nil {
			return nil, err
		}
		files++
	}
	return &Result{Sources: g.srcs, Truth: truth, Files: files}, nil
}

// WriteDir generates into dir, creating it; dir must not exist or be empty, so
// that no two populations are mixed. It stops with ctx's error when ctx ends,
// leaving the files written so far.
func WriteDir(ctx context.Context, dir string, o Options) (*Result, error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s is not empty; choose a new folder", dir)
	}
	made := map[string]bool{}
	return Generate(o, func(name string, data []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		path := filepath.Join(dir, filepath.FromSlash(name))
		if d := filepath.Dir(path); !made[d] {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
			made[d] = true
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		return os.WriteFile(path, data, mode)
	})
}

// importScript registers each source and imports what it sent.
func importScript(srcs []*Source) []byte {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# Registers the generated sources and imports what each one sent.\n")
	b.WriteString("# OMNICHART names the command (default: omnichart); OMNICHART_DB the store.\nset -e\n")
	b.WriteString("DIR=$(dirname \"$0\")\nOMNICHART=${OMNICHART:-omnichart}\n")
	for _, s := range srcs {
		fmt.Fprintf(&b, "$OMNICHART admin source add %s --name %s --vendor %s --product %s --interface %s\n",
			s.Slug, shellQuote(s.Name), shellQuote(s.Vendor), shellQuote(s.Product), s.Interfaces[0])
	}
	for _, s := range srcs {
		if s.Patients > 0 {
			fmt.Fprintf(&b, "$OMNICHART import --source %s \"$DIR/sources/%s\"\n", s.Slug, s.Slug)
		}
	}
	return []byte(b.String())
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// writer writes one person's records at one source.
type writer struct {
	g   *generator
	si  int
	src *Source
	r   *rand.Rand
	mrn string
	n   int
}

// next returns a number for an identifier: the MRN's digits and a counter make
// identifiers unique within the source without keeping a list of them, and say
// nothing about the person's number or records at other sources.
func (w *writer) next() string {
	w.n++
	return strings.TrimLeft(w.mrn, "LRX") + fmt.Sprintf("%03d", w.n)
}

// uuid returns a version 4 UUID drawn from the writer's stream.
func (w *writer) uuid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(w.r.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// viewOf returns the source's view of f, nil when it has none.
func (w *writer) viewOf(f *fact) *view {
	for _, v := range f.views {
		if v.src == w.si {
			return v
		}
	}
	return nil
}

var kindLetter = map[string]string{
	FactCondition: "C", FactAllergy: "A", FactMedication: "M", FactImmunization: "I", FactLabResult: "L",
}

// recordID is the business identifier value of a fact's record at the source,
// made when it is first asked for. It numbers the source's own records, so it
// says nothing about the same fact at another source.
func (w *writer) recordID(f *fact, v *view) string {
	if v.id == "" {
		v.id = kindLetter[f.kind] + w.next()
	}
	return v.id
}

func (w *writer) recordRef(f *fact, v *view) *Identifier {
	return &Identifier{System: w.src.RecordSystem, Value: w.recordID(f, v)}
}

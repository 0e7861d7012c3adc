package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/ingest"
	"omnichart/internal/service"
)

const terminologyUsage = `usage: omnichart admin terminology load FILE... [--db DB]
       omnichart admin terminology list [--db DB]

  load    store the ConceptMaps in FILE (a ConceptMap, or a Bundle of them) as the
          terminology source's, replacing those of the same id. Their mappings with
          equivalence "equivalent" or "equal" let the integrated record count a
          source's local code and the standard code it maps to as one test, drug or
          problem (docs/integrated-record.md). ConceptMaps that EMR sources send
          are stored as theirs and never used for this.
  list    the terminology source's ConceptMaps, with their status and mappings
`

// adminTerminology loads and lists the code mappings the integrated record uses.
func adminTerminology(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "load" && args[0] != "list") {
		if len(args) > 0 && isHelp(args[0]) {
			fmt.Fprint(stdout, terminologyUsage)
			return nil
		}
		fmt.Fprint(stderr, terminologyUsage)
		return fmt.Errorf("admin terminology: give the command load or list")
	}
	cmd := args[0]
	fs := flag.NewFlagSet("admin terminology "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), terminologyUsage); fs.PrintDefaults() }
	db := fs.String("db", defaultDB, "store: sqlite:PATH or postgres://user:pass@host/db")
	files, rest := splitPositional(args[1:])
	if err := parseFlags(fs, rest, stdout); err != nil {
		return err
	}
	files = append(files, fs.Args()...)
	if cmd == "load" && len(files) == 0 {
		fs.Usage()
		return fmt.Errorf("admin terminology load: name at least one file")
	}
	if cmd == "list" && len(files) > 0 {
		return fmt.Errorf("admin terminology list: takes no file")
	}
	// Read every file before anything is written: a bad file changes nothing.
	var maps []map[string]any
	for _, f := range files {
		got, err := readConceptMaps(f)
		if err != nil {
			return err
		}
		maps = append(maps, got...)
	}
	p, err := openPipeline(ctx, *db, "", "", service.Options{})
	if err != nil {
		return err
	}
	defer p.close()
	ctx = adminContext(ctx)
	if cmd == "load" {
		if err := ensureTerminologySource(ctx, p.dir); err != nil {
			return err
		}
		as := ehr.WithPrincipal(ctx, ehr.Principal{Subject: "admin", Source: service.TerminologySource, System: true})
		for _, m := range maps {
			if _, _, err := p.svc.Update(as, "ConceptMap", fhir.String(m, "id"), m, 0); err != nil {
				return fmt.Errorf("ConceptMap/%s: %w", fhir.String(m, "id"), err)
			}
		}
		terms, problems, err := p.svc.Terminology(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d ConceptMap(s) loaded; %d codes now map to an equivalent code\n", len(maps), terms.Len())
		for _, pr := range problems {
			fmt.Fprintln(stdout, "left out: "+pr)
		}
		return nil
	}
	recs, err := p.importer.Target().Search(ctx, "ConceptMap", "_source="+service.TerminologySource, 10000)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONCEPTMAP\tSTATUS\tGROUPS (SOURCE -> TARGET: ELEMENTS)")
	for _, m := range recs {
		groups := ""
		for _, g := range fhir.Array(m, "group") {
			gm, _ := g.(map[string]any)
			if groups != "" {
				groups += "; "
			}
			groups += fmt.Sprintf("%s -> %s: %d", fhir.String(gm, "source"), fhir.String(gm, "target"), len(fhir.Array(gm, "element")))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", fhir.String(m, "id"), fhir.String(m, "status"), groups)
	}
	return tw.Flush()
}

// readConceptMaps reads a ConceptMap, or a Bundle whose entries are all
// ConceptMaps; each needs an id, so that loading it again replaces it.
func readConceptMaps(path string) ([]map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: not a JSON resource: %w", path, err)
	}
	var maps []map[string]any
	switch fhir.String(doc, "resourceType") {
	case "ConceptMap":
		maps = append(maps, doc)
	case "Bundle":
		for i, e := range fhir.Array(doc, "entry") {
			res := fhir.Object(e.(map[string]any), "resource")
			if fhir.String(res, "resourceType") != "ConceptMap" {
				return nil, fmt.Errorf("%s: entry[%d] is not a ConceptMap", path, i)
			}
			maps = append(maps, res)
		}
	default:
		return nil, fmt.Errorf("%s: a ConceptMap or a Bundle of ConceptMaps is needed, not %q", path, fhir.String(doc, "resourceType"))
	}
	for i, m := range maps {
		if !fhir.ValidID(fhir.String(m, "id")) {
			return nil, fmt.Errorf("%s: ConceptMap %d has no valid id; give it one, so that loading it again replaces it", path, i+1)
		}
	}
	return maps, nil
}

// ensureTerminologySource registers the terminology source in the directory of
// sources, as every owner of records is, unless it is there.
func ensureTerminologySource(ctx context.Context, dir *ingest.Directory) error {
	if _, err := dir.Find(ctx, service.TerminologySource); err == nil {
		return nil
	} else if ehr.ErrorCode(err) != ehr.NotFound {
		return err
	}
	_, err := dir.Add(ctx, ingest.Source{Slug: service.TerminologySlug, URI: service.TerminologySource,
		Name: "Omnichart terminology (code mappings loaded by an operator)", Vendor: "Omnichart", Product: "terminology", Active: true})
	return err
}

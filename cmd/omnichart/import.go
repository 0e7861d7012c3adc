package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"omnichart/internal/ehr"
	"omnichart/internal/ingest"
	"omnichart/internal/store"
)

const importUsage = `usage: omnichart import [flags] PATH...

Imports FHIR JSON bundles and resources, NDJSON, C-CDA documents and HL7 v2
message files (bzip2-compressed too), walking directories. Each document or
message is written atomically with its original and provenance; failures are
quarantined ("omnichart admin quarantine list"). Re-running is safe: what was
imported before is recognised and skipped.

flags:
`

// importFile is one file to import.
type importFile struct {
	path     string
	size     int64
	explicit bool // named on the command line, not found in a directory
}

func importCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), importUsage); fs.PrintDefaults() }
	db := fs.String("db", defaultDB, "store: sqlite:PATH or postgres://user:pass@host/db")
	server := fs.String("server", "", "FHIR base URL of a running server to import into, instead of --db")
	source := fs.String("source", "", "the source system: a registered slug, or a URI")
	format := fs.String("format", "", "skip detection: fhir-bundle, fhir-resource, ndjson, ccda or hl7v2")
	progress := fs.String("progress", "auto", "progress display: auto, bar, lines or none")
	deferIndex := fs.Bool("defer-index", false, "bulk load: index identifiers only while loading, then build every search index at the end (same results, faster load; --db only)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *deferIndex && *server != "" {
		return fmt.Errorf("import: --defer-index works on a local store (--db), not through --server")
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("import: give at least one file or directory")
	}
	var forced ingest.Format
	if *format != "" {
		f, err := ingest.ParseFormat(*format)
		if err != nil {
			return err
		}
		forced = f
	}
	files, err := collectFiles(fs.Args())
	if err != nil {
		return err
	}
	p, err := openPipeline(ctx, *db, *server)
	if err != nil {
		return err
	}
	defer p.close()
	// Writes run to completion even after an interrupt: the file being imported
	// finishes, then the loop stops.
	work := context.WithoutCancel(ctx)
	if *deferIndex {
		work = ehr.WithDeferredIndexing(work)
	}
	src, err := resolveSource(adminContext(work), p.dir, *source)
	if err != nil {
		return err
	}

	var total int64
	for _, f := range files {
		total += f.size
	}
	prog := newProgress(stdout, *progress, total, len(files))
	sum := &importSummary{created: map[string]int{}}
	start := time.Now()
	for i, f := range files {
		if ctx.Err() != nil {
			sum.interrupted = len(files) - i
			break
		}
		prog.file(i, f.path)
		data, err := os.ReadFile(f.path)
		if err != nil {
			sum.fail(f.path, err.Error(), "")
			prog.add(f.size)
			continue
		}
		fileFormat := forced
		if fileFormat == "" {
			if plain, err := ingest.Decompress(data); err == nil {
				data, fileFormat = plain, ingest.Detect(plain, f.path)
				if fileFormat == ingest.FormatUnknown && !f.explicit {
					// A stray file in a directory (README, LICENSE) is reported, not imported.
					sum.skipped = append(sum.skipped, f.path)
					prog.add(f.size)
					continue
				}
			}
		}
		rep, err := p.importer.Import(work, src, ingest.Input{Name: filepath.Base(f.path), Data: data, Format: fileFormat})
		prog.add(f.size)
		if err != nil {
			if ehr.ErrorCode(err) == ehr.Forbidden {
				prog.done()
				return err
			}
			sum.fail(f.path, ehr.ErrorMessage(err)+": "+err.Error(), "")
			continue
		}
		sum.record(f.path, rep)
	}
	prog.done()
	sum.print(stdout, time.Since(start))
	if *deferIndex {
		if sum.interrupted > 0 {
			fmt.Fprintln(stdout, `search indexes of this load are not built yet: run "omnichart admin reindex --pending" (or this import again)`)
		} else if err := buildPendingIndexes(ctx, p.store, stdout); err != nil {
			return err
		}
	}
	if sum.interrupted > 0 {
		return fmt.Errorf("interrupted: %d file(s) not imported; run the same command again to continue", sum.interrupted)
	}
	if len(sum.failures) > 0 {
		return fmt.Errorf("%d document(s) or message(s) failed to import", len(sum.failures))
	}
	return nil
}

// resolveSource finds the source a --source value names: a registered slug or
// URI, or an unregistered URI.
func resolveSource(ctx context.Context, dir *ingest.Directory, key string) (ingest.Source, error) {
	if key == "" {
		return ingest.Source{URI: ingest.DefaultSourceURI}, nil
	}
	s, err := dir.Find(ctx, key)
	switch {
	case err == nil:
		if !s.Active {
			return s, fmt.Errorf("source %s is disabled", s.Slug)
		}
		return s, nil
	case ehr.ErrorCode(err) == ehr.NotFound && strings.Contains(key, ":"):
		return ingest.Source{URI: key}, nil
	}
	return ingest.Source{}, fmt.Errorf("--source %s: %w", key, err)
}

// collectFiles walks the paths. Within the result, Synthea's organization and
// practitioner bundles come first, because patient bundles refer to them by
// conditional references; other files keep path order.
func collectFiles(paths []string) ([]importFile, error) {
	var out []importFile
	for _, root := range paths {
		info, err := os.Stat(root)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			out = append(out, importFile{path: root, size: info.Size(), explicit: true})
			continue
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if strings.HasPrefix(name, ".") && path != root {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			out = append(out, importFile{path: path, size: fi.Size()})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return fileRank(out[i].path) < fileRank(out[j].path) })
	return out, nil
}

// fileRank orders shared reference data before the records that point at it.
func fileRank(path string) int {
	name := strings.ToLower(filepath.Base(path))
	switch {
	case strings.Contains(name, "hospitalinformation"), strings.Contains(name, "organization"):
		return 0
	case strings.Contains(name, "practitionerinformation"), strings.Contains(name, "practitioner"):
		return 1
	case strings.Contains(name, "information"):
		return 2
	}
	return 3
}

// importSummary collects what an import did.
type importSummary struct {
	files, units, duplicates int
	created                  map[string]int
	failures                 []string
	skipped                  []string
	interrupted              int
}

func (s *importSummary) fail(path, msg, quarantine string) {
	line := path + ": " + msg
	if quarantine != "" {
		line += " (quarantined as " + quarantine + ")"
	}
	s.failures = append(s.failures, line)
}

func (s *importSummary) record(path string, rep *ingest.Report) {
	s.files++
	for _, u := range rep.Units {
		s.units++
		if u.Duplicate {
			s.duplicates++
		}
		if u.Err != nil {
			name := path
			if u.Name != filepath.Base(path) {
				name = filepath.Join(filepath.Dir(path), u.Name)
			}
			s.fail(name, ingest.ErrorText(u.Err), u.Quarantine)
		}
	}
	for k, v := range rep.Created() {
		s.created[k] += v
	}
}

func (s *importSummary) print(w io.Writer, d time.Duration) {
	fmt.Fprintf(w, "imported %d file(s), %d document(s)/message(s) in %s: %d new, %d already imported, %d failed\n",
		s.files, s.units, d.Round(time.Millisecond), s.units-s.duplicates-len(s.failures), s.duplicates, len(s.failures))
	if len(s.created) > 0 {
		types := make([]string, 0, len(s.created))
		n := 0
		for t, c := range s.created {
			types = append(types, t)
			n += c
		}
		sort.Strings(types)
		fmt.Fprintf(w, "created %d resource(s):\n", n)
		for _, t := range types {
			fmt.Fprintf(w, "  %-28s %d\n", t, s.created[t])
		}
	}
	if len(s.skipped) > 0 {
		fmt.Fprintf(w, "skipped %d file(s) of unknown format:\n", len(s.skipped))
		for _, p := range s.skipped {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
	if len(s.failures) > 0 {
		fmt.Fprintf(w, "failed (%d):\n", len(s.failures))
		for _, f := range s.failures {
			fmt.Fprintf(w, "  %s\n", f)
		}
	}
	if s.interrupted > 0 {
		fmt.Fprintf(w, "interrupted: %d file(s) left\n", s.interrupted)
	}
}

// progress shows how far an import is: a bar with rate and ETA on a terminal,
// a line every few seconds otherwise.
type progress struct {
	bar       *progressbar.ProgressBar
	w         io.Writer
	mode      string
	total     int64
	sofar     int64
	files     int
	start     time.Time
	lastPrint time.Time
}

func newProgress(w io.Writer, mode string, total int64, files int) *progress {
	if mode == "auto" {
		mode = "lines"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			mode = "bar"
		}
	}
	p := &progress{w: w, mode: mode, total: total, files: files, start: time.Now(), lastPrint: time.Now()}
	if mode == "bar" {
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionFullWidth(),
			progressbar.OptionSetDescription("importing"),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
	}
	return p
}

func (p *progress) file(i int, path string) {
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("[%d/%d] %s", i+1, p.files, truncate(filepath.Base(path), 32)))
	}
}

func (p *progress) add(n int64) {
	p.sofar += n
	switch p.mode {
	case "bar":
		p.bar.Add64(n)
	case "lines":
		if time.Since(p.lastPrint) < 2*time.Second {
			return
		}
		p.lastPrint = time.Now()
		el := time.Since(p.start)
		rate := float64(p.sofar) / el.Seconds()
		eta := "?"
		if rate > 0 {
			eta = time.Duration(float64(p.total-p.sofar) / rate * float64(time.Second)).Round(time.Second).String()
		}
		fmt.Fprintf(p.w, "progress: %.0f%% (%d of %d bytes), %.1f MB/s, ETA %s\n",
			100*float64(p.sofar)/float64(max(p.total, 1)), p.sofar, p.total, rate/1e6, eta)
	}
}

func (p *progress) done() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// buildPendingIndexes builds the search indexes a deferred load left, with progress.
func buildPendingIndexes(ctx context.Context, st *store.Store, w io.Writer) error {
	start, last := time.Now(), time.Time{}
	var done int64
	err := st.Reindex(ctx, store.ReindexOptions{PendingOnly: true, Batch: 500, Progress: func(d, total int64) {
		if d == done && d > 0 {
			return
		}
		done = d
		if time.Since(last) >= 2*time.Second || d == total {
			last = time.Now()
			fmt.Fprintf(w, "indexing: %d of %d resources\n", d, total)
		}
	}})
	if err != nil {
		return fmt.Errorf("build search indexes: %w (run \"omnichart admin reindex --pending\" to finish)", err)
	}
	fmt.Fprintf(w, "indexed %d resources in %s\n", done, time.Since(start).Round(time.Millisecond))
	return nil
}

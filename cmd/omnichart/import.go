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

	"omnichart/internal/ehr"
	"omnichart/internal/ingest"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

const importUsage = `usage: omnichart import [flags] PATH...

Imports FHIR JSON bundles and resources, NDJSON, C-CDA documents and HL7 v2
message files (bzip2-compressed too), walking directories. Each document or
message is written atomically with its original and provenance; failures are
quarantined ("omnichart admin quarantine list"). Re-running is safe: what the
same source sent before (the same bytes, or an HL7 v2 message re-sent with only
MSH-7 changed) is recognised and skipped. An HL7 v2 message that reuses the
MSH-4|MSH-10 of another is imported and reported.

The summary counts every outcome and names the originals that were skipped,
failed or imported with a remark, grouped by reason: the first few of each group,
all of them with --verbose or in the --report file (written to the temporary
directory when the screen leaves some out).

flags:

flags:
`

// importFile is one file to import.
type importFile struct {
	path     string
	size     int64
	explicit bool // named on the command line, not found in a directory
	bzip2    bool // bzip2-compressed
}

func importCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), importUsage); fs.PrintDefaults() }
	db := fs.String("db", defaultDB, "store: sqlite:PATH or postgres://user:pass@host/db")
	server := fs.String("server", "", "FHIR base URL of a running server to import into, instead of --db")
	token := tokenFlag(fs)
	source := fs.String("source", "", "the source system: a registered slug, or a URI")
	format := fs.String("format", "", "skip detection: fhir-bundle, fhir-resource, ndjson, ccda or hl7v2")
	progress := fs.String("progress", "auto", "progress display: auto, bar, lines or none")
	deferIndex := fs.Bool("defer-index", false, "bulk load: index identifiers only while loading, then build every search index at the end (same results, faster load; --db only)")
	verbose := fs.Bool("verbose", false, "name every original that was skipped, failed or imported with a remark, not only the first few of each group")
	report := fs.String("report", "", "write the full summary, naming every such original, to this file (default: a new file in the temporary directory, only when the summary on screen leaves some out)")
	limits := importLimitFlags(fs)
	maxEntries := bundleEntriesFlag(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	lim := limits()
	if err := validLimits(lim); err != nil {
		return err
	}
	if *maxEntries <= 0 {
		return fmt.Errorf("--max-bundle-entries must be positive")
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
	p, err := openPipeline(ctx, *db, *server, *token, service.Options{MaxBundleEntries: *maxEntries})
	if err != nil {
		return err
	}
	defer p.close()
	if err := p.match(ctx); err != nil {
		return err
	}
	p.importer = ingest.New(p.importer.Target(), ingest.Options{Limits: lim})
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

	prog := newProgress(stdout, *progress, newWorkEstimate(files), len(files))
	sum := newImportSummary()
	start := time.Now()
	// The next file is read (decompressed, its format detected) while this one
	// is imported, on the other core: see readAhead.
	var next <-chan readFile
	if len(files) > 0 {
		next = readAhead(files[0], forced, lim)
	}
	for i, f := range files {
		if ctx.Err() != nil {
			sum.interrupted = len(files) - i
			break
		}
		prog.file(i, f.path)
		r := <-next
		if r.tooLargeAhead {
			r = readAndDetect(f, forced, lim)
		}
		if i+1 < len(files) {
			next = readAhead(files[i+1], forced, lim)
		}
		data, fileFormat, err := r.data, r.format, r.err
		// A file that fails to decompress goes to Import as it is, which
		// quarantines it; one over a limit is reported and not read further.
		if err != nil {
			if ehr.ErrorCode(err) == ehr.TooLarge {
				sum.fail(f.path, ingest.FailureReason(err), ingest.ErrorText(err), "")
			} else {
				sum.fail(f.path, "unreadable", err.Error(), "")
			}
			prog.read(f, 0)
			continue
		}
		prog.read(f, len(data))
		if r.decompressed && fileFormat == ingest.FormatUnknown && !f.explicit {
			// A stray file in a directory (README, LICENSE) is reported, not imported.
			sum.skip(f.path, "unknown format")
			prog.add(int64(len(data)))
			continue
		}
		rep, err := p.importer.Import(work, src, ingest.Input{Name: filepath.Base(f.path), Data: data, Format: fileFormat})
		prog.add(int64(len(data)))
		if err != nil {
			if ehr.ErrorCode(err) == ehr.Forbidden {
				prog.done()
				return err
			}
			sum.fail(f.path, ingest.FailureReason(err), ehr.ErrorMessage(err)+": "+err.Error(), "")
			continue
		}
		sum.record(f.path, rep)
	}
	prog.done()
	elapsed := time.Since(start)
	reportFile := *report
	if reportFile != "" || (!*verbose && sum.truncated()) {
		if reportFile, err = sum.writeReport(reportFile, elapsed); err != nil {
			return err
		}
	}
	sum.print(stdout, elapsed, *verbose, reportFile)
	if reportFile != "" {
		fmt.Fprintf(stdout, "full summary in %s\n", reportFile)
	}
	if *deferIndex {
		if sum.interrupted > 0 {
			fmt.Fprintln(stdout, `search indexes of this load are not built yet: run "omnichart admin reindex --pending" (or this import again)`)
		} else if err := buildPendingIndexes(ctx, p.store, stdout); err != nil {
			return err
		}
	}
	// A bulk load into the store (a --server import leaves this to the server)
	// is followed by fresh planner statistics: the searches after it would
	// otherwise be planned on figures from before it (store.RefreshStatistics).
	// A deferred load's index build has refreshed them already.
	if p.store != nil && sum.imported > 0 && !*deferIndex {
		if err := p.store.RefreshStatistics(work); err != nil {
			return err
		}
	}
	if sum.interrupted > 0 {
		return fmt.Errorf("interrupted: %d file(s) not imported; run the same command again to continue", sum.interrupted)
	}
	if sum.failed > 0 {
		return fmt.Errorf("%d document(s) or message(s) failed to import", sum.failed)
	}
	return nil
}

// readAheadBytes is the most content a file read ahead may have: the import
// holds the file it is importing (up to --max-decompressed-bytes) and at most
// this much of the next one. A larger next file is read when its turn comes.
var readAheadBytes int64 = 32 << 20

// readFile is a file read for the import: its content, whether it was
// decompressed (or is kept as it is, to be quarantined), and its format.
type readFile struct {
	data         []byte
	decompressed bool
	format       ingest.Format
	err          error
	// tooLargeAhead says that the file was over readAheadBytes when read
	// ahead: it is to be read again with the import's own limits.
	tooLargeAhead bool
}

// readAhead reads f in the background, within readAheadBytes, while the file
// before it is imported: decompression and format detection are about a third
// of an import's work, and the store's writes leave the other core idle.
func readAhead(f importFile, forced ingest.Format, lim ingest.Limits) <-chan readFile {
	ahead := lim
	ahead.MaxDecompressedBytes = min(lim.MaxDecompressedBytes, readAheadBytes)
	ahead.MaxDocumentBytes = min(lim.MaxDocumentBytes, readAheadBytes)
	out := make(chan readFile, 1) // never blocks: an interrupted import leaves it
	go func() {
		r := readAndDetect(f, forced, ahead)
		if ehr.ErrorCode(r.err) == ehr.TooLarge && (ahead.MaxDecompressedBytes < lim.MaxDecompressedBytes || ahead.MaxDocumentBytes < lim.MaxDocumentBytes) {
			r = readFile{tooLargeAhead: true}
		}
		out <- r
	}()
	return out
}

// readAndDetect reads f (readImportFile) and detects its format unless forced.
func readAndDetect(f importFile, forced ingest.Format, lim ingest.Limits) readFile {
	data, decompressed, err := readImportFile(f, forced, lim)
	r := readFile{data: data, decompressed: decompressed, format: forced, err: err}
	if err == nil && forced == "" && decompressed {
		r.format = ingest.Detect(data, f.path)
	}
	return r
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
			out = append(out, importFile{path: root, size: info.Size(), explicit: true, bzip2: isBzip2(root)})
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
			out = append(out, importFile{path: path, size: fi.Size(), bzip2: isBzip2(path)})
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

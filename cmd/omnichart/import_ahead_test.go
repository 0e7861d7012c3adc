package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"omnichart/internal/ehrtest"
	"omnichart/internal/ingest"
)

// TestImportReadsAheadWithinItsBound imports the same directory (bzip2 Synthea
// bundles of megabytes, an HL7 v2 message of 10 KB, a stray README) twice into fresh stores: with the usual read-ahead, and with one of
// 4 KiB, under which every file but the README is too large to read ahead and is
// read again when its turn comes. Both imports must create the same resources,
// fail nothing, and report the README as skipped; and a file read ahead must be
// exactly the file read in turn.
func TestImportReadsAheadWithinItsBound(t *testing.T) {
	dir := t.TempDir()
	synthea, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "testdata", "synthea-r4", "*.json.bz2"))
	if len(synthea) < 3 {
		ehrtest.MissingTestdata(t, "Synthea bundles missing from ../shared/testdata")
	}
	for _, f := range append(synthea[:3], filepath.Join("..", "..", "internal", "ingest", "hl7v2", "testdata", "oru_r01_cbc.hl7")) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("not a record\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(files) != 5 {
		t.Fatalf("the import directory holds %d files (%v), want 5", len(files), err)
	}
	lim := ingest.Limits{MaxDecompressedBytes: ingest.DefaultMaxDecompressedBytes, MaxDocumentBytes: ingest.DefaultMaxDocumentBytes}
	for _, path := range files {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		f := importFile{path: path, size: fi.Size()}
		ahead := <-readAhead(f, "", lim)
		now := readAndDetect(f, "", lim)
		if ahead.tooLargeAhead || ahead.err != nil || now.err != nil || !bytes.Equal(ahead.data, now.data) || ahead.format != now.format {
			t.Errorf("%s read ahead: %d bytes, %q, %v, too large %v; read in turn: %d bytes, %q, %v",
				filepath.Base(path), len(ahead.data), ahead.format, ahead.err, ahead.tooLargeAhead, len(now.data), now.format, now.err)
		}
	}

	created := regexp.MustCompile(`(?s)created \d+ resource\(s\):.*`)
	imports := map[int64]string{}
	for _, bound := range []int64{readAheadBytes, 4 << 10} {
		old := readAheadBytes
		readAheadBytes = bound
		if bound < 32<<20 {
			small := 0
			for _, path := range files {
				fi, _ := os.Stat(path)
				if r := <-readAhead(importFile{path: path, size: fi.Size()}, "", lim); !r.tooLargeAhead {
					small++
				}
			}
			if small != 1 {
				t.Errorf("with a read-ahead of %d bytes, %d files were read ahead, want only the README", bound, small)
			}
		}
		var out bytes.Buffer
		db := "sqlite:" + filepath.Join(t.TempDir(), "o.db")
		err := run(context.Background(), []string{"import", "--progress", "none", "--db", db, dir}, &out, &out)
		readAheadBytes = old
		if err != nil {
			t.Fatalf("import with a read-ahead of %d bytes: %v\n%s", bound, err, out.String())
		}
		if !bytes.Contains(out.Bytes(), []byte("4 new, 0 already imported, 0 failed")) || !bytes.Contains(out.Bytes(), []byte("skipped, unknown format (1)")) {
			t.Errorf("import with a read-ahead of %d bytes:\n%s", bound, out.String())
		}
		imports[bound] = created.FindString(out.String())
	}
	if imports[readAheadBytes] == "" || imports[readAheadBytes] != imports[4<<10] {
		t.Errorf("the imports created different resources:\n%s\nand with a read-ahead of 4 KiB:\n%s", imports[readAheadBytes], imports[4<<10])
	}
}

package main

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"omnichart/internal/ingest"
)

// TestProgressMeasuresUncompressedWork imports nothing: it feeds the estimate the
// files of a mixed directory (bzip2 Synthea bundles and plain HL7 v2 messages) one
// by one, as the import reads them, and checks that the total is in uncompressed
// bytes, is close once a bzip2 file has been read, and is exact at the end.
func TestProgressMeasuresUncompressedWork(t *testing.T) {
	shared := filepath.Join("..", "..", "..", "shared", "testdata")
	bz, _ := filepath.Glob(filepath.Join(shared, "synthea-r4", "*.json.bz2"))
	plain, _ := filepath.Glob(filepath.Join(shared, "hl7v2", "ms-fhir-converter", "*.hl7"))
	if len(bz) < 6 || len(plain) < 6 {
		t.Skip("no Synthea or HL7 v2 sample data")
	}
	sort.Strings(bz)
	paths := append(append([]string{}, bz[:6]...), plain[:6]...)
	var files []importFile
	var contents []int
	var onDisk, want int64
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		content, err := ingest.Decompress(data)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, importFile{path: p, size: int64(len(data)), bzip2: isBzip2(p)})
		contents = append(contents, len(content))
		onDisk += int64(len(data))
		want += int64(len(content))
	}
	for i, f := range files {
		if got := f.bzip2; got != (i < 6) {
			t.Fatalf("isBzip2(%s) = %v, want %v", filepath.Base(f.path), got, i < 6)
		}
	}
	w := newWorkEstimate(files)
	if got := w.total(); got <= onDisk {
		t.Errorf("total before reading = %d, want more than the %d bytes on disk", got, onDisk)
	}
	for i, f := range files {
		w.read(f, contents[i])
		got := w.total()
		// After the first bzip2 file the ratio is measured; Synthea bundles
		// compress alike, so the estimate is within a quarter of the truth.
		if float64(got) < 0.75*float64(want) || float64(got) > 1.25*float64(want) {
			t.Errorf("total after reading %d file(s) = %d, want within 25%% of %d", i+1, got, want)
		}
	}
	if got := w.total(); got != want {
		t.Errorf("total after reading every file = %d, want the exact content size %d", got, want)
	}
}

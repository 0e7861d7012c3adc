package ingest_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"omnichart/internal/ingest"
)

// detectSeeds returns the start of a few real originals of every format from the
// shared test data (and this repository's own samples), with their file names,
// and the smallest bzip2-compressed Synthea bundle whole.
func detectSeeds() map[string][]byte {
	seeds := map[string][]byte{}
	head := func(p string, n int) {
		data, err := os.ReadFile(p)
		if err != nil {
			return
		}
		if len(data) > n {
			data = data[:n]
		}
		seeds[filepath.Base(p)] = data
	}
	for _, pattern := range []string{
		"hl7v2/testdata/*.hl7",
		"ccda/testdata/*.xml",
		testdata + "/hl7v2/ms-fhir-converter/ADT-A01-0*.hl7",
		testdata + "/hl7v2/hapi-hl7v2/*.txt",
		testdata + "/ccda/ms-fhir-converter/C*.ccda",
		testdata + "/fhir-r4-examples/Bundle-b*.json",
		testdata + "/fhir-r4-examples/Patient-ex*.json",
	} {
		files, _ := filepath.Glob(pattern)
		for _, p := range files {
			head(p, 4<<10)
		}
	}
	head(testdata+"/synthea-r4/8a4c9c04-1524-9f1c-d65b-9b17e4520fef.json.bz2", 1<<20)
	return seeds
}

// FuzzDetectDecompress checks that no content makes Detect or Decompress panic,
// that Decompress leaves anything but bzip2 as it is, that the file name only
// matters for JSON, and that a UTF-8 byte order mark changes nothing.
func FuzzDetectDecompress(f *testing.F) {
	for name, data := range detectSeeds() {
		f.Add(data, name)
	}
	f.Add([]byte("\xff\xfe<\x00C\x00l\x00i\x00n\x00i\x00c\x00a\x00l\x00D\x00o\x00c\x00u\x00m\x00e\x00n\x00t\x00>\x00"), "doc.xml")
	f.Add([]byte("{\"resourceType\":\"Patient\"}\n"), "p.ndjson")
	f.Add([]byte("BZh91AY&SY"), "truncated.bz2")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		out, err := ingest.Decompress(data)
		isBzip2 := len(data) >= 4 && bytes.HasPrefix(data, []byte("BZh")) && data[3] >= '1' && data[3] <= '9'
		if !isBzip2 && (err != nil || !bytes.Equal(out, data)) {
			t.Fatalf("Decompress of content that is not bzip2 = %d bytes, %v; want it unchanged", len(out), err)
		}
		if err == nil {
			ingest.Detect(out, name)
		}
		got := ingest.Detect(data, name)
		switch got {
		case ingest.FormatFHIRBundle, ingest.FormatFHIRResource, ingest.FormatNDJSON:
		default:
			if other := ingest.Detect(data, ""); other != got {
				t.Fatalf("Detect(data, %q) = %s but Detect(data, \"\") = %s; a name only breaks JSON ties", name, got, other)
			}
		}
		hasBOM := bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}) || bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF})
		if !hasBOM {
			if withBOM := ingest.Detect(append([]byte{0xEF, 0xBB, 0xBF}, data...), name); withBOM != got {
				t.Fatalf("Detect with a UTF-8 byte order mark = %s, without = %s", withBOM, got)
			}
		}
	})
}

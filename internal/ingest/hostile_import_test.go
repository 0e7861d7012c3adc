package ingest_test

import (
	"bytes"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/ingest"
	"omnichart/internal/ingest/hl7v2"
)

// allocated returns how many bytes fn allocated on the heap.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestReadInputStopsAtTheFirstLimitPassed offers inputs far over the limits and
// checks that reading stops at the limit: the error names the limit, and the bytes
// read or allocated stay near the limit, not the size of the input.
func TestReadInputStopsAtTheFirstLimitPassed(t *testing.T) {
	const mib = 1 << 20
	bomb := ehrtest.MustBzip2Bomb(t, 3<<30)
	cases := []struct {
		name        string
		input       func() (io.Reader, int64)
		format      ingest.Format
		limits      ingest.Limits
		wantSetting string
		maxRead     int64  // bytes read from the input, at most
		maxAlloc    uint64 // bytes allocated, at most
	}{
		{
			name:        "a bzip2 bomb of 3 GB stops at the decompressed limit",
			input:       func() (io.Reader, int64) { return bytes.NewReader(bomb), int64(len(bomb)) },
			limits:      ingest.Limits{MaxDecompressedBytes: 16 * mib},
			wantSetting: "max-decompressed-bytes",
			maxRead:     int64(len(bomb)),
			maxAlloc:    16*mib + 12*mib, // the content, and the decompressor's block state
		},
		{
			name:        "a C-CDA of 200 MB is refused after its first bytes, by its size",
			input:       func() (io.Reader, int64) { return ehrtest.LargeCCDA(200 * mib) },
			wantSetting: "max-document-bytes",
			maxRead:     64 << 10,
			maxAlloc:    1 * mib,
		},
		{
			name: "a C-CDA of 200 MB of unknown size stops at the document limit",
			input: func() (io.Reader, int64) {
				r, _ := ehrtest.LargeCCDA(200 * mib)
				return r, -1
			},
			limits:      ingest.Limits{MaxDocumentBytes: 8 * mib},
			wantSetting: "max-document-bytes",
			maxRead:     8*mib + 4*mib + 64<<10,
			maxAlloc:    8*mib + 4*mib + 1*mib,
		},
		{
			name: "a file larger than the decompressed limit is not read at all",
			input: func() (io.Reader, int64) {
				return strings.NewReader("MSH|^~\\&|\r"), 300 * mib
			},
			wantSetting: "max-decompressed-bytes",
			maxRead:     64 << 10,
			maxAlloc:    1 * mib,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, size := c.input()
			cr := &countingReader{r: r}
			var err error
			start := time.Now()
			alloc := allocated(func() { _, err = ingest.ReadInput(cr, size, c.format, c.limits) })
			took := time.Since(start)
			if ehr.ErrorCode(err) != ehr.TooLarge || !strings.Contains(ehr.ErrorMessage(err), c.wantSetting) {
				t.Fatalf("ReadInput = %v, want TooLarge naming %s", err, c.wantSetting)
			}
			if cr.n > c.maxRead {
				t.Errorf("ReadInput read %d bytes of the input, want at most %d", cr.n, c.maxRead)
			}
			if alloc > c.maxAlloc {
				t.Errorf("ReadInput allocated %d bytes, want at most %d", alloc, c.maxAlloc)
			}
			t.Logf("refused after reading %d bytes, allocating %d bytes, in %v", cr.n, alloc, took)
		})
	}
}

// TestHostileImportsAreQuarantinedAndWriteNothingElse imports the inputs that once
// took gigabytes, through the pipeline on both engines: each is refused with the
// limit in its reason, quarantined, and nothing else is written.
func TestHostileImportsAreQuarantinedAndWriteNothingElse(t *testing.T) {
	const mib = 1 << 20
	bomb := ehrtest.MustBzip2Bomb(t, 3<<30)
	r, _ := ehrtest.LargeCCDA(200 * mib)
	ccda, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name        string
		data        []byte
		limits      ingest.Limits
		wantReason  string
		wantFailure string         // ingest.FailureReason of the error
		wantStored  map[string]int // what the quarantine holds
	}{
		{"a bzip2 bomb is kept compressed", bomb, ingest.Limits{MaxDecompressedBytes: 16 * mib},
			"max-decompressed-bytes", "too-large", map[string]int{"Binary": 1, "Task": 1}},
		{"a 200 MB C-CDA is refused without keeping its bytes", ccda, ingest.Limits{MaxDecompressedBytes: 256 * mib},
			"max-document-bytes", "too-large", map[string]int{"Task": 1}},
		{"a message of 50,000 segments is refused before it is parsed", ehrtest.HL7v2Message(50000), ingest.Limits{},
			"max-hl7v2-segments", "message too large", map[string]int{"Binary": 1, "Task": 1}},
	}
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					e := newEnv(t, engine)
					im := ingest.New(ingest.ServiceTarget{Service: e.svc}, ingest.Options{Limits: c.limits})
					before := e.counts(t)
					start := time.Now()
					rep, err := im.Import(e.ctx, ingest.Source{URI: "urn:omnichart:source:x"}, ingest.Input{Name: "hostile", Data: c.data})
					if err != nil {
						t.Fatalf("Import = %v, want a quarantined unit", err)
					}
					took := time.Since(start)
					if len(rep.Units) != 1 {
						t.Fatalf("Import made %d units, want 1", len(rep.Units))
					}
					u := rep.Units[0]
					if u.Err == nil || !strings.Contains(ingest.ErrorText(u.Err), c.wantReason) {
						t.Fatalf("Import error = %v, want one naming %s", u.Err, c.wantReason)
					}
					if u.Quarantine == "" {
						t.Fatalf("Import quarantine = empty, want a Task")
					}
					if len(before) != 0 {
						t.Fatalf("the store held %v before the import, want nothing", before)
					}
					if got := e.counts(t); !cmp.Equal(got, c.wantStored) {
						t.Errorf("the store holds %v after the import, want only the quarantine %v", got, c.wantStored)
					}
					entry, data, err := im.QuarantinedEntry(e.ctx, strings.TrimPrefix(u.Quarantine, "Task/"))
					if err != nil {
						t.Fatalf("QuarantinedEntry = %v", err)
					}
					if !strings.Contains(entry.Error, c.wantReason) || ingest.FailureReason(u.Err) != c.wantFailure {
						t.Errorf("quarantine entry error = %q (%s), want %s naming %s", entry.Error, ingest.FailureReason(u.Err), c.wantFailure, c.wantReason)
					}
					if c.wantStored["Binary"] == 1 && !bytes.Equal(data, c.data) {
						t.Errorf("quarantine entry keeps %d bytes, want the %d bytes of the original", len(data), len(c.data))
					}
					if c.wantStored["Binary"] == 0 {
						if _, err := im.Replay(e.ctx, nil, entry.ID); ehr.ErrorCode(err) != ehr.NotFound {
							t.Errorf("Replay of an entry without its original = %v, want NotFound", err)
						}
					}
					t.Logf("refused in %v: %s", took, entry.Error)
				})
			}
		})
	}
}

// TestHL7v2ParseStopsBeforeBuildingAHugeMessage checks that ParseWithLimits refuses
// a message over its segment or separator limits without allocating its tree.
func TestHL7v2ParseStopsBeforeBuildingAHugeMessage(t *testing.T) {
	cases := []struct {
		name   string
		data   []byte
		limits hl7v2.Limits
		want   string
	}{
		{"50,000 segments", ehrtest.HL7v2Message(50000), hl7v2.Limits{}, "more than 5000 segments"},
		{"more segments than a lowered limit", ehrtest.HL7v2Message(101), hl7v2.Limits{MaxSegments: 100}, "more than 100 segments"},
		{"a segment of two million empty fields", []byte("MSH|^~\\&|A|F|B|G|20240101||ADT^A01|C1|P|2.5.1\rPID" + strings.Repeat("|", 2<<20) + "\r"),
			hl7v2.Limits{}, "separators"},
		{"a field of two million components", []byte("MSH|^~\\&|A|F|B|G|20240101||ADT^A01|C1|P|2.5.1\rPID|1||" + strings.Repeat("^", 2<<20) + "\r"),
			hl7v2.Limits{}, "separators"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			alloc := allocated(func() { _, err = hl7v2.ParseWithLimits(c.data, c.limits) })
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("ParseWithLimits = %v, want ErrTooLarge saying %q", err, c.want)
			}
			if alloc > 64<<10 {
				t.Errorf("ParseWithLimits allocated %d bytes before refusing, want at most 64 KiB", alloc)
			}
		})
	}
	ok := ehrtest.HL7v2Message(100)
	if _, err := hl7v2.ParseWithLimits(ok, hl7v2.Limits{MaxSegments: 100}); err != nil {
		t.Errorf("ParseWithLimits(100 segments, limit 100) = %v, want it parsed", err)
	}
}

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// bzip2Guess is the compression ratio assumed for bzip2 files until one has been
// decompressed; FHIR JSON and C-CDA XML compress 15 to 25 times.
const bzip2Guess = 15

// workEstimate measures an import in uncompressed bytes: converting and writing
// take time in proportion to them, not to the bytes on disk, which for a bzip2
// file are a twentieth of its content. A plain file's size is known up front. A
// bzip2 file's is known only once it has been decompressed (its header does not
// say), which the import does file by file; until then it counts as its
// compressed size times the ratio of the bzip2 files decompressed so far. The
// total therefore settles after the first bzip2 file and is exact at the end, and
// the rate and ETA are in the same unit throughout.
type workEstimate struct {
	known       int64 // plain files, and bzip2 files already decompressed
	compressed  int64 // bzip2 files not decompressed yet, as on disk
	bzIn, bzOut int64 // bzip2 files decompressed so far: on disk and content
}

func newWorkEstimate(files []importFile) *workEstimate {
	w := &workEstimate{}
	for _, f := range files {
		if f.bzip2 {
			w.compressed += f.size
		} else {
			w.known += f.size
		}
	}
	return w
}

// read records that f has been read and holds n bytes of content (0 when it
// could not be read).
func (w *workEstimate) read(f importFile, n int) {
	if !f.bzip2 {
		w.known += int64(n) - f.size
		return
	}
	w.compressed -= f.size
	w.known += int64(n)
	if n > 0 {
		w.bzIn += f.size
		w.bzOut += int64(n)
	}
}

// total is the estimated content size of every file.
func (w *workEstimate) total() int64 {
	ratio := float64(bzip2Guess)
	if w.bzIn > 0 {
		ratio = float64(w.bzOut) / float64(w.bzIn)
	}
	return w.known + int64(float64(w.compressed)*ratio)
}

// isBzip2 reports whether the file at path starts with the bzip2 magic, as
// ingest.Decompress recognises it.
func isBzip2(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 4)
	if _, err := io.ReadFull(f, head); err != nil {
		return false
	}
	return bytes.HasPrefix(head, []byte("BZh")) && head[3] >= '1' && head[3] <= '9'
}

// progress shows how far an import is, in uncompressed bytes (see workEstimate):
// a bar with rate and ETA on a terminal, a line every few seconds otherwise.
type progress struct {
	bar       *progressbar.ProgressBar
	w         io.Writer
	mode      string
	work      *workEstimate
	sofar     int64
	files     int
	start     time.Time
	lastPrint time.Time
}

func newProgress(w io.Writer, mode string, work *workEstimate, files int) *progress {
	if mode == "auto" {
		mode = "lines"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			mode = "bar"
		}
	}
	p := &progress{w: w, mode: mode, work: work, files: files, start: time.Now(), lastPrint: time.Now()}
	if mode == "bar" {
		p.bar = progressbar.NewOptions64(work.total(),
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

// read records that f has been read and holds n bytes of content, which may
// change the estimated total.
func (p *progress) read(f importFile, n int) {
	p.work.read(f, n)
	if p.bar != nil {
		p.bar.ChangeMax64(p.work.total())
	}
}

// add records n bytes of content done.
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
		total := p.work.total()
		el := time.Since(p.start)
		rate := float64(p.sofar) / el.Seconds()
		eta := "?"
		if rate > 0 {
			eta = time.Duration(float64(total-p.sofar) / rate * float64(time.Second)).Round(time.Second).String()
		}
		fmt.Fprintf(p.w, "progress: %.0f%% (%d of about %d bytes uncompressed), %.1f MB/s, ETA %s\n",
			100*float64(p.sofar)/float64(max(total, 1)), p.sofar, total, rate/1e6, eta)
	}
}

func (p *progress) done() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"omnichart/internal/ehrtest"
)

// omnichart runs the binary and returns its output and exit code.
func omnichart(t *testing.T, dir string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run omnichart %v: %v", args, err)
	}
	return string(out), 0
}

// importDir makes a directory of a few originals of every kind.
func importDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	shared := filepath.Join("..", "..", "..", "shared", "testdata")
	synthea, _ := filepath.Glob(filepath.Join(shared, "synthea-r4", "*.json.bz2"))
	if len(synthea) < 3 {
		ehrtest.MissingTestdata(t, "Synthea bundles missing from "+shared)
	}
	files := []string{synthea[2], synthea[0], synthea[1]} // patient first: the order is the command's job
	files = append(files, filepath.Join("..", "..", "internal", "ingest", "hl7v2", "testdata", "oru_r01_cbc.hl7"),
		filepath.Join(shared, "ccda", "chb-sample_ccdas", "HL7 Samples", "CCD.sample.xml"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			ehrtest.MissingTestdata(t, fmt.Sprintf("sample data missing: %v", err))
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("not a record\n"), 0o644)
	return dir
}

func TestImportCommandLoadsADirectoryOnceAndReportsFailures(t *testing.T) {
	work := t.TempDir()
	dir := importDir(t)
	db := "sqlite:" + filepath.Join(work, "o.db")
	steps := []struct {
		name     string
		args     []string
		wantExit int
		want     []string
	}{
		{"registering a source succeeds", []string{"admin", "source", "add", "st-marys", "--name", "St. Mary's", "--vendor", "Epic", "--interface", "hl7v2=mllp://10.0.0.5:2575", "--db", db}, 0,
			[]string{"registered source st-marys"}},
		{"the first import loads every file", []string{"import", "--db", db, "--source", "st-marys", dir}, 0,
			[]string{"0 already imported, 0 failed", "Patient", "Provenance", "skipped 1 file(s)"}},
		{"a re-run imports nothing twice", []string{"import", "--db", db, "--source", "st-marys", dir}, 0,
			[]string{": 0 new,", "0 failed"}},
		{"a bad file fails the run and names the file", []string{"import", "--db", db, "--source", "st-marys", filepath.Join(work, "bad.hl7")}, 1,
			[]string{"bad.hl7", "quarantined as Task/"}},
		{"the failure is in the quarantine", []string{"admin", "quarantine", "list", "--db", db}, 0,
			[]string{"bad.hl7", "failed", "1 entry"}},
		{"the source is listed", []string{"admin", "source", "list", "--db", db}, 0,
			[]string{"st-marys", "active", "Epic"}},
		{"a disabled source is refused", []string{"admin", "source", "disable", "st-marys", "--db", db}, 0,
			[]string{"disabled source st-marys"}},
		{"importing from a disabled source fails", []string{"import", "--db", db, "--source", "st-marys", dir}, 1,
			[]string{"disabled"}},
	}
	os.WriteFile(filepath.Join(work, "bad.hl7"), []byte("MSH|^~\\&|A|F|B|G|20240101||ZZZ^Z01|C1|P|2.5.1\rPID|1\r"), 0o644)
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			out, code := omnichart(t, work, s.args...)
			if code != s.wantExit {
				t.Fatalf("omnichart %s exited %d, want %d:\n%s", strings.Join(s.args[:2], " "), code, s.wantExit, out)
			}
			for _, w := range s.want {
				if !strings.Contains(out, w) {
					t.Errorf("omnichart %s output lacks %q:\n%s", strings.Join(s.args[:2], " "), w, out)
				}
			}
		})
	}
}

func TestImportCommandWritesThroughARunningServer(t *testing.T) {
	dir := importDir(t)
	s := start(t, nil, "--db", "sqlite:"+filepath.Join(t.TempDir(), "o.db"))
	out, code := omnichart(t, t.TempDir(), "import", "--server", s.base, "--source", "urn:omnichart:source:remote", dir)
	if code != 0 || !strings.Contains(out, "0 failed") || !strings.Contains(out, "Patient") {
		t.Fatalf("import --server exited %d, want 0 with patients created:\n%s", code, out)
	}
	out, code = omnichart(t, t.TempDir(), "import", "--server", s.base, "--source", "urn:omnichart:source:remote", dir)
	if code != 0 || !strings.Contains(out, ": 0 new,") {
		t.Fatalf("a second import --server exited %d, want 0 with nothing new:\n%s", code, out)
	}
}

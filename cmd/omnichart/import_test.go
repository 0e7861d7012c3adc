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
	return omnichartEnv(t, dir, nil, args...)
}

// omnichartEnv runs the binary with env added to the environment.
func omnichartEnv(t *testing.T, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
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
			[]string{"0 already imported, 0 failed", "Patient", "Provenance", "skipped, unknown format (1):\n  " + filepath.Join(dir, "README.md")}},
		{"a re-run imports nothing twice", []string{"import", "--db", db, "--source", "st-marys", dir}, 0,
			[]string{": 0 new,", "0 failed", "skipped, already imported ("}},
		{"the storage report measures the index tables and the originals", []string{"admin", "storage", "--db", db}, 0,
			[]string{"index_token", "resource_versions", "of them Binary (", "KiB per resource, Binary bodies left out"}},
		{"a bad file fails the run and names the file", []string{"import", "--db", db, "--source", "st-marys", filepath.Join(work, "bad.hl7")}, 1,
			[]string{"failed, unsupported message type (1):\n  " + filepath.Join(work, "bad.hl7"), "quarantined as Task/"}},
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
	db := "sqlite:" + filepath.Join(t.TempDir(), "o.db")
	s := startSecure(t, nil, "--db", db)
	token := adminToken(t, db, "--scope", "system/*.cruds")
	out, code := omnichart(t, t.TempDir(), "import", "--server", s.base, "--source", "urn:omnichart:source:remote", dir)
	if code == 0 || !strings.Contains(out, "bearer access token") {
		t.Fatalf("import --server without a token exited %d, want a failure asking for a bearer token:\n%s", code, out)
	}
	out, code = omnichart(t, t.TempDir(), "import", "--server", s.base, "--token", token, "--source", "urn:omnichart:source:remote", dir)
	if code != 0 || !strings.Contains(out, "0 failed") || !strings.Contains(out, "Patient") {
		t.Fatalf("import --server exited %d, want 0 with patients created:\n%s", code, out)
	}
	out, code = omnichartEnv(t, t.TempDir(), []string{"OMNICHART_TOKEN=" + token}, "import", "--server", s.base, "--source", "urn:omnichart:source:remote", dir)
	if code != 0 || !strings.Contains(out, ": 0 new,") {
		t.Fatalf("a second import --server exited %d, want 0 with nothing new:\n%s", code, out)
	}
}

// reusedKeyDir copies the shared HL7 v2 samples that carry control id MSG00001 into a
// new directory: dozens of different messages under one key, most of a type that is
// not converted, so the summary has several large groups.
func reusedKeyDir(t *testing.T) (string, []string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "testdata", "hl7v2", "ms-fhir-converter", "*.hl7"))
	dir := t.TempDir()
	var names []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(data), "|MSG00001|") {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Base(f))
	}
	if len(names) < 20 {
		t.Skipf("fewer than 20 HL7 v2 samples with control id MSG00001 (%d)", len(names))
	}
	return dir, names
}

// groupLines returns the lines of the group titled title in a summary: the
// originals it names and a "… and K more" line.
func groupLines(out, title string) []string {
	var lines []string
	in := false
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, title+" ("):
			in = true
		case in && strings.HasPrefix(l, "  "):
			lines = append(lines, l)
		default:
			in = false
		}
	}
	return lines
}

func TestImportSummaryGroupsByReasonAndStaysShort(t *testing.T) {
	work := t.TempDir()
	tmp := t.TempDir()
	in, names := reusedKeyDir(t)
	db := "sqlite:" + filepath.Join(work, "o.db")
	env := []string{"TMPDIR=" + tmp}
	args := []string{"import", "--db", db, "--source", "urn:omnichart:source:ghh"}
	mustName := func(t *testing.T, what, text string) {
		t.Helper()
		for _, n := range names {
			if !strings.Contains(text, filepath.Join(in, n)) {
				t.Errorf("%s does not name %s", what, n)
			}
		}
	}

	t.Run("the first import lists the first few of each group and writes the rest to a file", func(t *testing.T) {
		out, code := omnichartEnv(t, work, env, append(args, in)...)
		if code != 1 {
			t.Fatalf("import exited %d, want 1 (some messages are not supported):\n%s", code, out)
		}
		for _, g := range []string{"failed, unsupported message type", "imported, reused message control id"} {
			lines := groupLines(out, g)
			if len(lines) != 6 || !strings.HasPrefix(lines[5], "  … and ") {
				t.Errorf("group %q shows %d lines, want 5 and a line saying how many more:\n%s", g, len(lines), out)
			}
		}
		if !strings.Contains(out, "reusing a message control id") || !strings.Contains(out, "GHHSFacility|MSG00001 was used before by DocumentReference/") {
			t.Errorf("the summary does not say which messages reused a key:\n%s", out)
		}
		reports, _ := filepath.Glob(filepath.Join(tmp, "omnichart-import-*.txt"))
		if len(reports) != 1 {
			t.Fatalf("%d report files in the temporary directory, want 1", len(reports))
		}
		if !strings.Contains(out, "see "+reports[0]) || !strings.Contains(out, "full summary in "+reports[0]) {
			t.Errorf("the summary does not point at %s:\n%s", reports[0], out)
		}
		data, err := os.ReadFile(reports[0])
		if err != nil {
			t.Fatal(err)
		}
		// Every message but the first of its key is either failed or reused its key.
		named := 0
		for _, n := range names {
			if strings.Contains(string(data), filepath.Join(in, n)) {
				named++
			}
		}
		if named < len(names)-2 || strings.Contains(string(data), "… and") {
			t.Errorf("the report names %d of %d files and cuts nothing, want all but the first of each key:\n%s", named, len(names), data)
		}
		os.Remove(reports[0])
	})

	t.Run("a second import with --verbose names every file on screen", func(t *testing.T) {
		out, code := omnichartEnv(t, work, env, append(args, "--verbose", in)...)
		if code != 1 || !strings.Contains(out, ": 0 new,") {
			t.Fatalf("import --verbose exited %d, want 1 with nothing new:\n%s", code, out)
		}
		mustName(t, "the --verbose summary", out)
		if strings.Contains(out, "… and") {
			t.Errorf("the --verbose summary leaves some out:\n%s", out)
		}
		if n := len(groupLines(out, "skipped, already imported")); n < 2 {
			t.Errorf("the --verbose summary names %d files as already imported, want every imported one:\n%s", n, out)
		}
		if reports, _ := filepath.Glob(filepath.Join(tmp, "*")); len(reports) != 0 {
			t.Errorf("--verbose wrote %v, want no report file", reports)
		}
	})

	t.Run("--report writes the full summary where it is asked to", func(t *testing.T) {
		report := filepath.Join(work, "report.txt")
		out, code := omnichartEnv(t, work, env, append(args, "--report", report, in)...)
		if code != 1 || !strings.Contains(out, "see "+report) {
			t.Fatalf("import --report exited %d, want 1 and a pointer to %s:\n%s", code, report, out)
		}
		data, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		mustName(t, "the report", string(data))
	})
}

package main_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func runOmnichart(t *testing.T, dir string, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func TestGenHelpListsItsFlags(t *testing.T) {
	dir := t.TempDir()
	out, errOut, err := runOmnichart(t, dir, nil, "gen", "-h")
	if err != nil {
		t.Fatalf("omnichart gen -h: %v; stderr %s", err, errOut)
	}
	for _, w := range []string{"usage: omnichart gen", "-people", "-sources", "-seed", "-out", "-difficulty", "-typo-rate", "-twin-share", "-multi-source-share", "truth.json"} {
		if !strings.Contains(out, w) {
			t.Errorf("omnichart gen -h printed %q, want it to contain %q", out, w)
		}
	}
	if errOut != "" {
		t.Errorf("omnichart gen -h wrote %q to stderr, want nothing", errOut)
	}
	if made, _ := os.ReadDir(dir); len(made) > 0 {
		t.Errorf("omnichart gen -h created %s, want nothing", made[0].Name())
	}
}

func TestGenRefusesBadArguments(t *testing.T) {
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "x"), nil, 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"without --out it says so", []string{"gen"}, "--out is required"},
		{"a folder that holds files is refused", []string{"gen", "--out", full}, "not empty"},
		{"an unknown difficulty is refused", []string{"gen", "--out", "x", "--difficulty", "brutal"}, "easy, medium or hard"},
		{"a rate above 1 is refused", []string{"gen", "--out", "x", "--typo-rate", "1.5"}, "between 0 and 1"},
		{"too many sources are refused", []string{"gen", "--out", "x", "--sources", "40"}, "sources must be between"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, err := runOmnichart(t, t.TempDir(), nil, tt.args...)
			if err == nil || !strings.Contains(errOut, tt.want) {
				t.Errorf("omnichart %s: %v, stderr %q; want a failure saying %q", strings.Join(tt.args, " "), err, errOut, tt.want)
			}
		})
	}
}

// TestGenOutputImportsWithOmnichartImport runs the commands a user runs: gen,
// then for each source admin source add and import, and expects no failure.
func TestGenOutputImportsWithOmnichartImport(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "pop")
	env := []string{"OMNICHART_DB=sqlite:" + filepath.Join(dir, "o.db"), "OMNICHART_PEOPLE=12", "OMNICHART_TWIN_SHARE=0.2"}
	stdout, errOut, err := runOmnichart(t, dir, env, "gen", "--sources", "3", "--seed", "8", "--years", "2", "--out", out)
	if err != nil {
		t.Fatalf("omnichart gen: %v; stderr %s", err, errOut)
	}
	if !strings.Contains(stdout, "wrote 12 people") {
		t.Errorf("omnichart gen printed %q, want it to report 12 people (OMNICHART_PEOPLE)", stdout)
	}
	var truth struct {
		Options struct {
			TwinShare float64 `json:"twinShare"`
		} `json:"options"`
	}
	if data, err := os.ReadFile(filepath.Join(out, "truth.json")); err != nil || json.Unmarshal(data, &truth) != nil || truth.Options.TwinShare != 0.2 {
		t.Errorf("truth.json options = %+v (%v), want twinShare 0.2 from OMNICHART_TWIN_SHARE", truth.Options, err)
	}
	var sources []struct {
		Slug, Name, Vendor string
		Interfaces         []string
	}
	data, err := os.ReadFile(filepath.Join(out, "sources.json"))
	if err != nil || json.Unmarshal(data, &sources) != nil || len(sources) != 3 {
		t.Fatalf("sources.json: %v, %d sources, want 3", err, len(sources))
	}
	for _, s := range sources {
		if _, errOut, err := runOmnichart(t, dir, env, "admin", "source", "add", s.Slug, "--name", s.Name, "--vendor", s.Vendor, "--interface", s.Interfaces[0]); err != nil {
			t.Fatalf("admin source add %s: %v; stderr %s", s.Slug, err, errOut)
		}
		stdout, errOut, err := runOmnichart(t, dir, env, "import", "--progress", "none", "--source", s.Slug, filepath.Join(out, "sources", s.Slug))
		if err != nil || !strings.Contains(stdout, " 0 failed") {
			t.Errorf("import --source %s: %v; stdout %s; stderr %s", s.Slug, err, stdout, errOut)
		}
	}
}

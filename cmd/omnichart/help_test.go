package main_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestHelpOnEveryCommandExitsZero(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // what the help on stdout must contain
	}{
		{"omnichart -h lists the commands", []string{"-h"}, []string{"usage: omnichart <command>", "serve", "demo", "import", "admin"}},
		{"omnichart --help lists the commands", []string{"--help"}, []string{"usage: omnichart <command>"}},
		{"omnichart help lists the commands", []string{"help"}, []string{"usage: omnichart <command>"}},
		{"serve -h lists its flags", []string{"serve", "-h"}, []string{"usage: omnichart serve", "-addr", "-db", "-max-body-bytes", "-mllp-source"}},
		{"serve --help lists its flags", []string{"serve", "--help"}, []string{"usage: omnichart serve", "-base-url"}},
		{"demo -h lists serve's flags and its own", []string{"demo", "-h"}, []string{"usage: omnichart demo", "-addr", "-db", "-mllp-source", "-data-dir", "-people", "-seed"}},
		{"import -h lists its flags", []string{"import", "-h"}, []string{"usage: omnichart import", "-source", "-defer-index"}},
		{"admin -h lists the admin commands", []string{"admin", "-h"}, []string{"usage: omnichart admin", "source", "quarantine", "reindex"}},
		{"admin source -h lists the source commands", []string{"admin", "source", "-h"}, []string{"usage: omnichart admin source", "add SLUG", "disable"}},
		{"admin source add -h lists the flags of add", []string{"admin", "source", "add", "-h"}, []string{"-vendor", "-interface", "-db"}},
		{"admin source list --help lists the flags of list", []string{"admin", "source", "list", "--help"}, []string{"-server"}},
		{"admin quarantine -h lists the quarantine commands", []string{"admin", "quarantine", "-h"}, []string{"usage: omnichart admin quarantine", "replay"}},
		{"admin quarantine replay -h lists its flags", []string{"admin", "quarantine", "replay", "-h"}, []string{"-all", "-db"}},
		{"admin reindex -h lists its flags", []string{"admin", "reindex", "-h"}, []string{"usage: omnichart admin reindex", "-pending", "-batch"}},
		{"version -h says what version does", []string{"version", "-h"}, []string{"usage: omnichart version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(binary, tt.args...)
			cmd.Dir = t.TempDir()
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("omnichart %s: %v; stderr %s", strings.Join(tt.args, " "), err, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("omnichart %s printed %q, want it to contain %q", strings.Join(tt.args, " "), stdout.String(), w)
				}
			}
			if stderr.Len() > 0 {
				t.Errorf("omnichart %s wrote %q to stderr, want nothing", strings.Join(tt.args, " "), stderr.String())
			}
			if made, _ := os.ReadDir(cmd.Dir); len(made) > 0 {
				t.Errorf("omnichart %s created %s, want nothing", strings.Join(tt.args, " "), made[0].Name())
			}
		})
	}
}

func TestUsageErrorsExitNonZeroWithUsageOnStderrAndCreateNothing(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no command is an error", nil},
		{"an unknown command is an error", []string{"frobnicate"}},
		{"an unknown flag of serve is an error", []string{"serve", "--bogus"}},
		{"an unknown admin source command is an error", []string{"admin", "source", "-x"}},
		{"an unknown admin quarantine command is an error", []string{"admin", "quarantine", "lst"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(binary, tt.args...)
			cmd.Dir = t.TempDir()
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("omnichart %s: %v, want a non-zero exit", strings.Join(tt.args, " "), err)
			}
			if !strings.Contains(stderr.String(), "usage: omnichart") || stdout.Len() > 0 {
				t.Errorf("omnichart %s: stdout %q, stderr %q; want the usage on stderr only", strings.Join(tt.args, " "), stdout.String(), stderr.String())
			}
			if made, _ := os.ReadDir(cmd.Dir); len(made) > 0 {
				t.Errorf("omnichart %s created %s, want nothing", strings.Join(tt.args, " "), made[0].Name())
			}
		})
	}
}

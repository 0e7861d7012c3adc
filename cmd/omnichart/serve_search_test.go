package main_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestServeTakesTheSearchLimitsFromFlagsAndEnvironment(t *testing.T) {
	s := start(t, []string{"OMNICHART_SEARCH_MAX_PARAMS=2"}, "--db", dbArg(t, "sqlite"), "--search-max-depth", "1")
	tests := []struct {
		name, query, limit string
	}{
		{"the flag lowers the depth", "/Patient?_has:Observation:patient:_has:Observation:patient:code=x", "search-max-depth"},
		{"the environment lowers the parameters", "/Patient?name=a&name=b&name=c", "search-max-params"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(s.base + tt.query)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 400 || !strings.Contains(string(body), tt.limit) {
				t.Errorf("GET %s = %d %s, want 400 naming %s", tt.query, resp.StatusCode, body, tt.limit)
			}
		})
	}
}

func TestServeRefusesSearchLimitsOutOfRange(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"a depth of 0 is refused", nil, []string{"--search-max-depth", "0"}, "--search-max-depth"},
		{"a timeout of 0 from the environment is refused", []string{"OMNICHART_SEARCH_TIMEOUT=0s"}, nil, "--search-timeout"},
		{"more included resources than a statement takes are refused", nil, []string{"--search-max-included", "20000"}, "--search-max-included"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(binary, append([]string{"serve", "--addr", "127.0.0.1:0"}, tt.args...)...)
			cmd.Env = append(os.Environ(), tt.env...)
			cmd.Dir = t.TempDir()
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("omnichart serve %s: %v, stderr %q; want a non-zero exit naming %s", strings.Join(tt.args, " "), err, stderr.String(), tt.want)
			}
			if made, _ := os.ReadDir(cmd.Dir); len(made) > 0 {
				t.Errorf("omnichart serve %s created %s, want nothing", strings.Join(tt.args, " "), made[0].Name())
			}
		})
	}
}

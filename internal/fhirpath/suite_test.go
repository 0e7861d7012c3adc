package fhirpath_test

import (
	"bufio"
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
	"omnichart/internal/fhirpath"
)

var update = flag.Bool("update", false, "rewrite testdata/known_failures.txt from the current suite results")

type suiteTest struct {
	Name       string `xml:"name,attr"`
	Input      string `xml:"inputfile,attr"`
	Mode       string `xml:"mode,attr"`
	Predicate  string `xml:"predicate,attr"`
	Ordered    string `xml:"ordered,attr"`
	Expression struct {
		Text    string `xml:",chardata"`
		Invalid string `xml:"invalid,attr"`
		Mode    string `xml:"mode,attr"`
	} `xml:"expression"`
	Outputs []struct {
		Type  string `xml:"type,attr"`
		Value string `xml:",chardata"`
	} `xml:"output"`
}

type suiteFile struct {
	Groups []struct {
		Name  string      `xml:"name,attr"`
		Tests []suiteTest `xml:"test"`
	} `xml:"group"`
}

// MustLoadSuite reads the official FHIRPath R4 test suite, or skips when the shared
// test data is not checked out.
func MustLoadSuite(tb testing.TB) (dir string, tests []suiteTest) {
	tb.Helper()
	dir = filepath.Join(ehrtest.SharedTestdata(tb), "fhir-test-cases", "r4")
	data, err := os.ReadFile(filepath.Join(dir, "fhirpath", "tests-fhir-r4.xml"))
	if os.IsNotExist(err) {
		ehrtest.MissingTestdata(tb, "FHIRPath suite not found in "+dir+": check out fhir-test-cases there to run it")
	}
	if err != nil {
		tb.Fatal(err)
	}
	var f suiteFile
	if err := xml.Unmarshal(data, &f); err != nil {
		tb.Fatalf("parse suite: %v", err)
	}
	for _, g := range f.Groups {
		for _, t := range g.Tests {
			if t.Name == "" {
				t.Name = g.Name
			}
			tests = append(tests, t)
		}
	}
	return dir, tests
}

func loadInput(dir, name string) (any, error) {
	if name == "" {
		return nil, nil
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(name, ".json") {
		return fhir.Decode(data)
	}
	return fhir.DecodeXML(data)
}

func readKnownFailures(t *testing.T, path string) map[string]string {
	known := map[string]string{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return known
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, reason, _ := strings.Cut(line, " ")
		known[name] = strings.TrimSpace(reason)
	}
	return known
}

func TestOfficialSuite(t *testing.T) {
	dir, tests := MustLoadSuite(t)
	knownPath := filepath.Join("testdata", "known_failures.txt")
	known := readKnownFailures(t, knownPath)
	inputs := map[string]any{}
	now := func() time.Time { return time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC) }
	var passed, failed, skipped int
	failures := map[string]string{}
	seen := map[string]bool{}
	for _, tc := range tests {
		if tc.Expression.Text == "" {
			skipped++
			continue
		}
		in, ok := inputs[tc.Input]
		if !ok {
			var err error
			in, err = loadInput(dir, tc.Input)
			if err != nil {
				t.Errorf("load %s: %v", tc.Input, err)
			}
			inputs[tc.Input] = in
		}
		reason := runSuiteTest(tc, in, now)
		seen[tc.Name] = true
		if reason == "" {
			passed++
			if _, ok := known[tc.Name]; ok && !*update {
				t.Errorf("%s is listed as a known failure but now passes: remove it from %s", tc.Name, knownPath)
			}
			continue
		}
		failed++
		failures[tc.Name] = reason
		if _, ok := known[tc.Name]; !ok && !*update {
			t.Errorf("%s: %s (expression %q)", tc.Name, reason, tc.Expression.Text)
		}
	}
	for name := range known {
		if !seen[name] && !*update {
			t.Errorf("%s is listed in %s but is not a test of the suite: remove it", name, knownPath)
		}
	}
	total := passed + failed
	rate := 100 * float64(passed) / float64(max(total, 1))
	t.Logf("FHIRPath R4 suite: %d passed, %d failed, %d skipped of %d tests (%.1f%% of those run)", passed, failed, skipped, len(tests), rate)
	if rate < 90 {
		t.Errorf("pass rate %.1f%% is below 90%%", rate)
	}
	if *update {
		writeKnownFailures(t, knownPath, failures)
	}
}

func writeKnownFailures(t *testing.T, path string, failures map[string]string) {
	names := make([]string, 0, len(failures))
	for n := range failures {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("# Official FHIRPath R4 suite tests that fail today, one per line: name, then why.\n")
	b.WriteString("# Regenerate with: go test ./internal/fhirpath -run TestOfficialSuite -update\n")
	for _, n := range names {
		r := strings.ReplaceAll(failures[n], "\n", " ")
		if len(r) > 160 {
			r = r[:160]
		}
		fmt.Fprintf(&b, "%s %s\n", n, r)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runSuiteTest returns "" when the test passes, else why it fails.
func runSuiteTest(tc suiteTest, input any, now func() time.Time) string {
	invalid := tc.Expression.Invalid != ""
	expr, err := fhirpath.Compile(tc.Expression.Text)
	if err != nil {
		if invalid {
			return ""
		}
		return "compile: " + err.Error()
	}
	opts := []fhirpath.Option{fhirpath.WithNow(now)}
	if tc.Mode == "strict" || tc.Expression.Mode == "strict" {
		opts = append(opts, fhirpath.WithStrict())
	}
	got, err := expr.Evaluate(input, opts...)
	if invalid {
		if err != nil {
			return ""
		}
		return fmt.Sprintf("expected an error (%s), got %s", tc.Expression.Invalid, render(got))
	}
	if err != nil {
		return "evaluate: " + err.Error()
	}
	if tc.Predicate == "true" {
		got = fhirpath.Collection{fhirpath.NewNode(len(got) > 0)}
	}
	if len(got) != len(tc.Outputs) {
		return fmt.Sprintf("got %d items %s, want %d", len(got), render(got), len(tc.Outputs))
	}
	used := make([]bool, len(got))
	for i, want := range tc.Outputs {
		if outputMatches(got[i], want.Type, want.Value) {
			used[i] = true
			continue
		}
		if tc.Ordered == "false" {
			found := false
			for j := range got {
				if !used[j] && outputMatches(got[j], want.Type, want.Value) {
					used[j], found = true, true
					break
				}
			}
			if found {
				continue
			}
		}
		return fmt.Sprintf("item %d: got %s (%s), want %s (%s)", i, render(got[i:i+1]), got[i].Type, want.Value, want.Type)
	}
	return ""
}

func render(c fhirpath.Collection) string {
	parts := make([]string, len(c))
	for i, n := range c {
		parts[i] = suiteString(n)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// suiteString writes a value as the suite writes expected outputs.
func suiteString(n fhirpath.Node) string {
	v, ok := n.System()
	if !ok {
		return n.String()
	}
	switch x := v.(type) {
	case fhirpath.Temporal:
		if x.Kind == fhirpath.KindTime {
			return "@T" + x.String()
		}
		return "@" + x.String()
	case fhirpath.Quantity:
		return x.Value.String() + " '" + x.Unit + "'"
	}
	return n.String()
}

func outputMatches(n fhirpath.Node, typ, want string) bool {
	got := suiteString(n)
	if got == want {
		return true
	}
	switch typ {
	case "date", "dateTime", "time":
		return strings.TrimPrefix(got, "@") == strings.TrimPrefix(strings.TrimPrefix(want, "@"), "T") ||
			strings.TrimPrefix(got, "@T") == strings.TrimPrefix(want, "@T")
	case "decimal", "integer":
		a, err1 := fhirpath.ParseDecimal(got)
		b, err2 := fhirpath.ParseDecimal(want)
		return err1 == nil && err2 == nil && a.Cmp(b) == 0
	case "Quantity":
		a, err1 := fhirpath.MustCompile("'" + strings.ReplaceAll(got, "'", "\\'") + "'.toQuantity()").Evaluate(nil)
		b, err2 := fhirpath.MustCompile("'" + strings.ReplaceAll(want, "'", "\\'") + "'.toQuantity()").Evaluate(nil)
		return err1 == nil && err2 == nil && len(a) == 1 && len(b) == 1 && suiteString(a[0]) == suiteString(b[0])
	}
	return false
}

package hl7v2_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
	"omnichart/internal/ingest/hl7v2"
)

type sample struct {
	file string // relative to the sample dir
	n    int    // message index within the file
	data []byte
}

func loadSamples(tb testing.TB) []sample {
	tb.Helper()
	dir := ehrtest.SharedTestdata(tb, "hl7v2")
	var out []sample
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ext := strings.ToLower(filepath.Ext(path))
		if ext != ".hl7" && ext != ".txt" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		for i, m := range hl7v2.SplitMessages(data) {
			out = append(out, sample{file: rel, n: i, data: m})
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// MustIDs returns Options whose IDs count up from 1 and whose clock is fixed.
func MustIDs(tb testing.TB) hl7v2.Options {
	tb.Helper()
	n := 0
	return hl7v2.Options{
		NewID: func() string { n++; return fmt.Sprintf("00000000-0000-0000-0000-%012d", n) },
		Now:   func() time.Time { return time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC) },
	}
}

// TestSamples parses and converts every message of the shared samples and checks
// each outcome against an oracle that does not ask the converter: the message type
// read straight from MSH-9 and the supported types the package documents, and a
// hand-written list of the messages known not to convert, each with its reason
// (testdata/samples_not_converted.txt). Converted Bundles must hold only R4
// elements and no empty element.
func TestSamples(t *testing.T) {
	samples := loadSamples(t)
	exceptions := ehrtest.HL7v2Exceptions(t)
	seen := map[string]bool{}
	model := fhir.R4()
	var parsed, converted, parseErr, unsupported, convErr int
	byType := map[string]int{}
	for _, s := range samples {
		key := ehrtest.HL7v2Key(s.file, s.n+1)
		seen[key] = true
		want, why := ehrtest.HL7v2Expected(exceptions, s.file, s.n+1, s.data)
		t.Run(fmt.Sprintf("%s message %d: %s", s.file, s.n+1, want), func(t *testing.T) {
			msg, err := hl7v2.Parse(s.data)
			if err != nil {
				parseErr++
				var he *hl7v2.Error
				if !errors.As(err, &he) {
					t.Errorf("Parse error %v is not an *hl7v2.Error", err)
				}
				ack := hl7v2.NewACK(s.data, nil, err, MustIDs(t))
				if !strings.Contains(string(ack), "MSA|AR") && !strings.Contains(string(ack), "MSA|AE") {
					t.Errorf("NewACK after a parse error = %q, want AR or AE", ack)
				}
				if want != ehrtest.HL7v2ParseError {
					t.Errorf("Parse = %v, want the message to be read (%s)", err, why)
				}
				return
			}
			parsed++
			res, err := hl7v2.Convert(msg, MustIDs(t))
			got := ehrtest.HL7v2Converts
			switch {
			case errors.Is(err, hl7v2.ErrUnsupportedType):
				unsupported++
				got = ehrtest.HL7v2Unsupported
			case err != nil:
				convErr++
				got = ehrtest.HL7v2ConvertError
			}
			if got != want {
				t.Fatalf("Parse and Convert = %s (error %v), want %s: %s", got, err, want, why)
			}
			if err != nil {
				return
			}
			converted++
			byType[res.MessageType]++
			for i, e := range fhir.Array(res.Bundle, "entry") {
				r := fhir.Object(e.(map[string]any), "resource")
				for _, p := range checkStructure(model, r) {
					t.Errorf("entry %d (%s): %s", i, r["resourceType"], p)
				}
			}
			for _, p := range ehrtest.EmptyElements(res.Bundle, "Bundle") {
				t.Errorf("%s is empty; FHIR JSON has no empty elements", p)
			}
		})
	}
	for key, ex := range exceptions {
		if !seen[key] {
			t.Errorf("testdata/samples_not_converted.txt lists %s (%s), which is not a message of the samples; remove it", key, ex.Outcome)
		}
	}
	keys := make([]string, 0, len(byType))
	for k := range byType {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t.Logf("%d messages: %d parsed, %d parse errors; %d converted, %d unsupported types, %d conversion errors; converted by type: %v",
		len(samples), parsed, parseErr, converted, unsupported, convErr, func() string {
			var b strings.Builder
			for _, k := range keys {
				fmt.Fprintf(&b, "%s=%d ", k, byType[k])
			}
			return b.String()
		}())
	// The shared samples hold 425 messages of which 233 convert; far fewer means
	// samples went missing or stopped being split into messages.
	if len(samples) < 400 || converted < 200 {
		t.Errorf("%d messages, %d converted; want at least 400 and 200", len(samples), converted)
	}
}

// checkStructure reports every property of r the R4 model does not know.
func checkStructure(m *fhir.Model, r map[string]any) []string {
	rt, _ := r["resourceType"].(string)
	if !m.IsResourceType(rt) {
		return []string{fmt.Sprintf("resourceType %q is not an R4 resource", rt)}
	}
	var probs []string
	var walk func(ctx fhir.Context, obj map[string]any, path string)
	walk = func(ctx fhir.Context, obj map[string]any, path string) {
		for k, v := range obj {
			if k == "resourceType" {
				continue
			}
			e, typ, ok := m.Child(ctx, k)
			if !ok {
				probs = append(probs, fmt.Sprintf("%s.%s is not an element of %s", path, k, ctx.Path))
				continue
			}
			items := []any{v}
			if a, isArr := v.([]any); isArr {
				if !e.Many {
					probs = append(probs, fmt.Sprintf("%s.%s is an array but the element has max 1", path, k))
				}
				items = a
			} else if e.Many {
				probs = append(probs, fmt.Sprintf("%s.%s must be an array", path, k))
			}
			for _, it := range items {
				if child, ok := it.(map[string]any); ok {
					if m.IsPrimitive(typ) {
						probs = append(probs, fmt.Sprintf("%s.%s is an object but has primitive type %s", path, k, typ))
						continue
					}
					walk(m.ChildContext(ctx, e, typ), child, path+"."+k)
				} else if !m.IsPrimitive(typ) && !strings.HasPrefix(typ, "System.") {
					probs = append(probs, fmt.Sprintf("%s.%s is a primitive but has complex type %s", path, k, typ))
				}
			}
		}
	}
	walk(fhir.TypeContext(rt), r, rt)
	return probs
}

package fhir_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"omnichart/internal/fhir"
)

func TestDecodeRefusesWhatFHIRJSONForbids(t *testing.T) {
	deep := `{"resourceType":"Patient","x":` + strings.Repeat(`[`, fhir.MaxDepth) + strings.Repeat(`]`, fhir.MaxDepth) + `}`
	tests := []struct {
		name string
		in   string
		path string // the path the error names; "" for none
		msg  string // a part of the message
	}{
		{"a property repeated in the resource is refused at its path", `{"resourceType":"Patient","gender":"male","gender":"female"}`, "Patient.gender", "more than once"},
		{"a property repeated deep inside is refused at its path", `{"resourceType":"Patient","name":[{"given":["a"]},{"family":"b","family":"c"}]}`, "Patient.name[1].family", "more than once"},
		{"a repetition spelled with an escape is still a repetition", `{"resourceType":"Patient","gender":"male","g\u0065nder":"female"}`, "Patient.gender", "more than once"},
		{"a repetition among many properties is found", `{"resourceType":"Patient",` + manyProps(40) + `,"p7":1}`, "Patient.p7", "more than once"},
		{"resourceType itself repeated is refused", `{"resourceType":"Patient","resourceType":"Patient"}`, "Patient.resourceType", "more than once"},
		{"bytes that are not UTF-8 are refused at their element", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"a\xff\"}]}", "Patient.name[0].family", "not valid UTF-8"},
		{"a UTF-8 encoded surrogate is refused", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"a\xed\xa0\x80\"}]}", "Patient.name[0].family", "not valid UTF-8"},
		{"a property name that is not UTF-8 is refused at its object", "{\"resourceType\":\"Patient\",\"name\":[{\"fam\xc0\":\"a\"}]}", "Patient.name[0]", "not valid UTF-8"},
		{"a lone first half of a surrogate pair is refused", `{"resourceType":"Patient","name":[{"family":"a\ud800"}]}`, "Patient.name[0].family", "first half"},
		{"a first half followed by another escape is refused", `{"resourceType":"Patient","name":[{"family":"a\ud800\u0041"}]}`, "Patient.name[0].family", "first half"},
		{"a lone second half of a surrogate pair is refused", `{"resourceType":"Patient","name":[{"family":"\udc00a"}]}`, "Patient.name[0].family", "second half"},
		{"nesting deeper than the limit is refused", deep, "", "nest more than"},
		{"a document without resourceType names paths from its root", `{"a":{"b":1,"b":2}}`, "a.b", "more than once"},
		{"trailing data is refused", `{"resourceType":"Patient"} {}`, "", "after the top-level object"},
		{"a syntax error names its line and column", "{\"resourceType\":\"Patient\",\n\"x\":}", "", "line 2, column"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fhir.Decode([]byte(tt.in))
			var de *fhir.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%.60q) = %v, want a *DecodeError", tt.in, err)
			}
			if de.Path != tt.path || !strings.Contains(de.Message, tt.msg) {
				t.Errorf("Decode(%.60q) = path %q, message %q; want path %q and a message with %q", tt.in, de.Path, de.Message, tt.path, tt.msg)
			}
			if is := de.Issues(); len(is) != 1 || (tt.path != "" && is[0].Expression[0] != tt.path) {
				t.Errorf("Issues() = %+v, want one issue at %q", is, tt.path)
			}
		})
	}
}

func TestDecodeAcceptsWhatFHIRJSONAllows(t *testing.T) {
	ok := []string{
		`{"resourceType":"Patient","name":[{"family":"Ch\u00e2lmers \ud83d\ude00 😀","given":["a","a"]}],"_birthDate":{"id":"x"},"birthDate":"1974-12-25"}`,
		`{"resourceType":"Patient","contained":[{"resourceType":"Patient","id":"a"},{"resourceType":"Patient","id":"b"}],"name":[{"family":"a"},{"family":"a"}]}`,
		`{"resourceType":"Observation","valueQuantity":{"value":1.50e2},"component":[{"x":"\"\\\/\b\f\n\r\t"}],"e":{},"a":[]}`,
		`{"resourceType":"Patient","x":` + strings.Repeat(`[`, fhir.MaxDepth-1) + strings.Repeat(`]`, fhir.MaxDepth-1) + `}`,
		`{"resourceType":"Patient",` + manyProps(40) + `}`,
	}
	for _, in := range ok {
		if _, err := fhir.Decode([]byte(in)); err != nil {
			t.Errorf("Decode(%.80q) = %v, want no error", in, err)
		}
	}
}

func manyProps(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `"p` + strconv.Itoa(i) + `":1`
	}
	return strings.Join(parts, ",")
}

// FuzzDecodeIsStrict checks that Decode never panics and that what it accepts is
// UTF-8 and JSON without repeated properties, so that encoding it loses nothing.
func FuzzDecodeIsStrict(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Patient","gender":"male","gender":"female"}`))
	f.Add([]byte(`{"resourceType":"Patient","name":[{"family":"a\ud800\udc00","given":["\u0000"]}]}`))
	f.Add([]byte("{\"a\":\"\xff\",\"b\":[[{}]]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := fhir.Decode(data)
		if err != nil {
			return
		}
		if !utf8.Valid(data) {
			t.Fatalf("Decode accepted bytes that are not UTF-8: %q", data)
		}
		var generic map[string]any
		if err := json.Unmarshal(data, &generic); err != nil {
			t.Fatalf("Decode accepted what encoding/json refuses: %v", err)
		}
		out, err := fhir.Marshal(res)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		if _, err := fhir.Decode(out); err != nil {
			t.Fatalf("Decode(Marshal(x)) = %v\n%s", err, out)
		}
		if strings.Count(string(out), `":`) < countKeys(res) {
			t.Fatalf("Marshal lost properties: %s", out)
		}
	})
}

// countKeys counts the properties of every object in a tree.
func countKeys(v any) int {
	n := 0
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			n += 1 + countKeys(e)
		}
	case []any:
		for _, e := range x {
			n += countKeys(e)
		}
	}
	return n
}

package fhirpath_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/fhir"
	"omnichart/internal/fhirpath"
)

// MustDecode decodes a JSON resource written in a test.
func MustDecode(tb testing.TB, js string) fhir.Resource {
	tb.Helper()
	r, err := fhir.Decode([]byte(js))
	if err != nil {
		tb.Fatalf("decode test resource: %v", err)
	}
	return r
}

const testObservation = `{
  "resourceType": "Observation",
  "id": "o1",
  "status": "final",
  "contained": [{"resourceType": "Patient", "id": "p1", "active": true}],
  "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
  "subject": {"reference": "Patient/123"},
  "performer": [
    {"reference": "http://example.org/fhir/Practitioner/9/_history/2"},
    {"reference": "#p1"},
    {"reference": "Organization/7"}
  ],
  "effectiveDateTime": "2016-03-28T10:00:00+02:00",
  "valueQuantity": {"value": 185.50, "unit": "lbs", "system": "http://unitsofmeasure.org", "code": "[lb_av]"}
}`

const testPatient = `{
  "resourceType": "Patient",
  "id": "pat",
  "active": true,
  "birthDate": "1974-12-25",
  "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
  "name": [{"family": "Chalmers", "given": ["Peter", "James"], "_given": [null, {"id": "g2", "extension": [{"url": "http://example.org/nick", "valueString": "Jim"}]}]}],
  "deceasedBoolean": false
}`

// renderTyped writes a collection as "Type:value" items.
func renderTyped(c fhirpath.Collection) []string {
	out := []string{}
	for _, n := range c {
		out = append(out, n.Type+":"+n.String())
	}
	return out
}

func TestEvaluate(t *testing.T) {
	obs := MustDecode(t, testObservation)
	pat := MustDecode(t, testPatient)
	tests := []struct {
		name  string
		input any
		expr  string
		want  []string
	}{
		{"multiplication binds tighter than addition", nil, "1 + 2 * 3", []string{"System.Integer:7"}},
		{"subtraction is left associative", nil, "10 - 4 - 3", []string{"System.Integer:3"}},
		{"and binds tighter than or", nil, "true or false and false", []string{"System.Boolean:true"}},
		{"implies is right associative", nil, "false implies false implies false", []string{"System.Boolean:true"}},
		{"union binds tighter than equality", nil, "1 | 2 = 1 | 2", []string{"System.Boolean:true"}},
		{"unary minus applies after invocation", nil, "-2.abs()", []string{"System.Integer:-2"}},
		{"is binds tighter than union", nil, "(1 | 'a' is String)", []string{"System.Integer:1", "System.Boolean:true"}},
		{"equality with empty is empty", nil, "{} = 1", []string{}},
		{"false and empty is false", nil, "{} and false", []string{"System.Boolean:false"}},
		{"true and empty is empty", nil, "{} and true", []string{}},
		{"empty or true is true", nil, "{} or true", []string{"System.Boolean:true"}},
		{"false implies anything is true", nil, "false implies {}", []string{"System.Boolean:true"}},
		{"empty implies false is empty", nil, "{} implies false", []string{}},
		{"arithmetic with empty is empty", nil, "1 + {}", []string{}},
		{"concatenation treats empty as empty string", nil, "'a' & {} & 'b'", []string{"System.String:ab"}},
		{"equivalence of empties is true", nil, "{} ~ {}", []string{"System.Boolean:true"}},
		{"decimal addition is exact", nil, "0.1 + 0.2 = 0.3", []string{"System.Boolean:true"}},
		{"decimals keep their precision", nil, "1.50 + 1", []string{"System.Decimal:2.50"}},
		{"division gives a decimal", nil, "1 / 4", []string{"System.Decimal:0.25"}},
		{"dates of different precision are not comparable for equality", nil, "@2012 = @2012-01", []string{}},
		{"dates of different precision order when an earlier part differs", nil, "@2012 < @2013-01", []string{"System.Boolean:true"}},
		{"dates of different precision are not equivalent", nil, "@2012-01 ~ @2012-01-01", []string{"System.Boolean:false"}},
		{"date times compare across zones", nil, "@2012-04-15T10:00:00Z = @2012-04-15T20:00:00+10:00", []string{"System.Boolean:true"}},
		{"seconds and milliseconds are one precision", nil, "@2012-01-01T10:30:00.000 = @2012-01-01T10:30:00", []string{"System.Boolean:true"}},
		{"a date compared with a date time of finer precision is empty", nil, "@2012-04-15 = @2012-04-15T10:00:00", []string{}},
		{"calendar duration added to a date", nil, "@2019-01-31 + 1 month", []string{"System.Date:2019-02-28"}},
		{"quantities compare across units", nil, "1 'kg' = 1000 'g'", []string{"System.Boolean:true"}},
		{"a week equals seven days", nil, "1 week = 7 days", []string{"System.Boolean:true"}},
		{"choice element is navigated by its name and typed by its suffix", obs, "Observation.value", []string{"Quantity:185.50 '[lb_av]'"}},
		{"ofType picks a choice type", obs, "Observation.value.ofType(Quantity).value", []string{"decimal:185.50"}},
		{"as operator picks a choice type", obs, "(Observation.value as Quantity).unit", []string{"string:lbs"}},
		{"as function picks a choice type", obs, "Observation.value.as(Quantity).code", []string{"code:[lb_av]"}},
		{"ofType of another type is empty", obs, "Observation.value.ofType(string)", []string{}},
		{"effective dateTime keeps its FHIR type", obs, "Observation.effective", []string{"dateTime:2016-03-28T10:00:00+02:00"}},
		{"a FHIR quantity compares with a literal", obs, "Observation.value > 80 'kg'", []string{"System.Boolean:true"}},
		{"resolve is Patient for a relative reference", obs, "Observation.subject.where(resolve() is Patient).reference", []string{"string:Patient/123"}},
		{"resolve types an absolute reference with history", obs, "Observation.performer.resolve().first().type().name", []string{"System.String:Practitioner"}},
		{"resolve finds a contained resource", obs, "Observation.performer[1].resolve().active", []string{"boolean:true"}},
		{"resolve skips other types", obs, "Observation.performer.where(resolve() is Organization).reference", []string{"string:Organization/7"}},
		{"resource variables see the root", obs, "%resource.id", []string{"id:o1"}},
		{"extension on a primitive", pat, "Patient.birthDate.extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime').value", []string{"dateTime:1974-12-25T14:35:45-05:00"}},
		{"primitive keeps its value beside its extension", pat, "Patient.birthDate", []string{"date:1974-12-25"}},
		{"extension on a repeated primitive lines up by index", pat, "Patient.name.given.where(extension.exists()).id", []string{"string:g2"}},
		{"hasValue is true for a primitive with a value", pat, "Patient.name.given.last().hasValue()", []string{"System.Boolean:true"}},
		{"a leading type name of another type gives nothing", pat, "Observation.status", []string{}},
		{"choice boolean is found", pat, "Patient.deceased", []string{"boolean:false"}},
		{"environment constants", nil, "%ucum", []string{"System.String:http://unitsofmeasure.org"}},
		{"value set shorthand", nil, "%`vs-administrative-gender`", []string{"System.String:http://hl7.org/fhir/ValueSet/administrative-gender"}},
		{"aggregate sums with $total", nil, "(1 | 2 | 3).aggregate($this + $total, 0)", []string{"System.Integer:6"}},
		{"index is available in select", nil, "('a' | 'b').select($index)", []string{"System.Integer:0", "System.Integer:1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := fhirpath.Compile(tc.expr)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tc.expr, err)
			}
			got, err := e.Evaluate(tc.input)
			if err != nil {
				t.Fatalf("Evaluate(%q): %v", tc.expr, err)
			}
			if diff := cmp.Diff(tc.want, renderTyped(got)); diff != "" {
				t.Errorf("Evaluate(%q) mismatch (-want +got):\n%s", tc.expr, diff)
			}
		})
	}
}

func TestEvaluateErrors(t *testing.T) {
	obs := MustDecode(t, testObservation)
	tests := []struct {
		name  string
		input any
		expr  string
		want  string
	}{
		{"single on several items fails", nil, "(1 | 2).single()", "single() found 2 items"},
		{"adding a string to a number fails", nil, "'a' + 1", "cannot apply +"},
		{"a string function on several items fails", obs, "Observation.performer.reference.startsWith('P')", "needs a single item"},
		{"a JSON choice name is rejected", obs, "Observation.valueQuantity", "use value.ofType(Quantity)"},
		{"memberOf needs a terminology service", obs, "Observation.code.memberOf('http://x')", "terminology"},
		{"comparing a string with a number fails", nil, "'a' < 1", "cannot compare"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := fhirpath.Compile(tc.expr)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tc.expr, err)
			}
			got, err := e.Evaluate(tc.input)
			var ee *fhirpath.EvalError
			if !errors.As(err, &ee) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Evaluate(%q) = %v, %v; want an EvalError containing %q", tc.expr, renderTyped(got), err, tc.want)
			}
		})
	}
}

func TestResolveWithResolver(t *testing.T) {
	obs := MustDecode(t, testObservation)
	target := MustDecode(t, `{"resourceType": "Patient", "id": "123", "gender": "female"}`)
	e := fhirpath.MustCompile("Observation.subject.resolve().gender")
	var asked []string
	got, err := e.Evaluate(obs, fhirpath.WithResolver(func(ref string) (any, bool) {
		asked = append(asked, ref)
		return target, ref == "Patient/123"
	}))
	if err != nil {
		t.Fatalf("Evaluate(%q): %v", e, err)
	}
	if diff := cmp.Diff([]string{"code:female"}, renderTyped(got)); diff != "" {
		t.Errorf("Evaluate(%q) mismatch (-want +got):\n%s", e, diff)
	}
	if diff := cmp.Diff([]string{"Patient/123"}, asked); diff != "" {
		t.Errorf("resolver calls mismatch (-want +got):\n%s", diff)
	}
}

func TestUserVariables(t *testing.T) {
	e := fhirpath.MustCompile("%limit + 1 > %other.count()")
	got, err := e.Evaluate(nil, fhirpath.WithVariable("limit", 2), fhirpath.WithVariable("other", []any{"a", "b"}))
	if err != nil {
		t.Fatalf("Evaluate(%q): %v", e, err)
	}
	if diff := cmp.Diff([]string{"System.Boolean:true"}, renderTyped(got)); diff != "" {
		t.Errorf("Evaluate(%q) mismatch (-want +got):\n%s", e, diff)
	}
}

func BenchmarkEvaluateSearchExpression(b *testing.B) {
	obs := MustDecode(b, testObservation)
	e := fhirpath.MustCompile("Observation.subject.where(resolve() is Patient) | (Observation.value as Quantity) | Observation.code.coding")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Evaluate(obs); err != nil {
			b.Fatal(err)
		}
	}
}

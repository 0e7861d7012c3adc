package fhir_test

import (
	"strings"
	"testing"

	"omnichart/internal/fhir"
)

func TestValidateKeepsPrimitivesWithinTheirTypes(t *testing.T) {
	long := strings.Repeat("é", fhir.MaxStringLength+1)
	tests := []struct {
		name string
		json string
		want string // expression of the one issue; "" for a valid resource
	}{
		{"an integer beyond 32 bits is refused", `{"resourceType":"Patient","multipleBirthInteger":2147483648}`, "Patient.multipleBirthInteger"},
		{"the largest 32-bit integer is accepted", `{"resourceType":"Patient","multipleBirthInteger":2147483647}`, ""},
		{"the smallest 32-bit integer is accepted", `{"resourceType":"Patient","multipleBirthInteger":-2147483648}`, ""},
		{"an integer below 32 bits is refused", `{"resourceType":"Patient","multipleBirthInteger":-2147483649}`, "Patient.multipleBirthInteger"},
		{"a positiveInt beyond 32 bits is refused", `{"resourceType":"Appointment","status":"booked","participant":[{"status":"accepted"}],"minutesDuration":99999999999}`, "Appointment.minutesDuration"},
		{"an unsignedInt beyond 32 bits is refused", `{"resourceType":"Appointment","status":"booked","participant":[{"status":"accepted"}],"priority":4294967296}`, "Appointment.priority"},
		{"a decimal overflowing a double is refused", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1e400}}`, "Observation.valueQuantity.value"},
		{"a negative decimal overflowing a double is refused", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":-2.5E+309}}`, "Observation.valueQuantity.value"},
		{"a decimal indistinguishable from zero is refused", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1e-400}}`, "Observation.valueQuantity.value"},
		{"a zero decimal with an exponent is accepted", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":0.000e-400}}`, ""},
		{"a large finite decimal is accepted", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1.5e308}}`, ""},
		{"a decimal with many digits is accepted", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":3.14159265358979323846264338327950288}}`, ""},
		{"the 30th of February is refused", `{"resourceType":"Patient","birthDate":"2020-02-30"}`, "Patient.birthDate"},
		{"the 29th of February of a leap year is accepted", `{"resourceType":"Patient","birthDate":"2020-02-29"}`, ""},
		{"the 29th of February of 1900 is refused", `{"resourceType":"Patient","birthDate":"1900-02-29"}`, "Patient.birthDate"},
		{"the 31st of April in a dateTime is refused", `{"resourceType":"Patient","deceasedDateTime":"2021-04-31T10:00:00Z"}`, "Patient.deceasedDateTime"},
		{"an instant on a day that does not exist is refused", `{"resourceType":"Patient","meta":{"lastUpdated":"2021-06-31T10:00:00Z"}}`, "Patient.meta.lastUpdated"},
		{"an hour of 25 is refused", `{"resourceType":"Patient","deceasedDateTime":"2021-04-01T25:61:61Z"}`, "Patient.deceasedDateTime"},
		{"an offset beyond 14 hours is refused", `{"resourceType":"Patient","deceasedDateTime":"2021-04-01T10:00:00+99:99"}`, "Patient.deceasedDateTime"},
		{"an offset of +14:00 is accepted", `{"resourceType":"Patient","deceasedDateTime":"2021-04-01T10:00:00+14:00"}`, ""},
		{"a time of 24:00 is refused", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueTime":"24:00:00"}`, "Observation.valueTime"},
		{"a NUL in a string is refused", `{"resourceType":"Patient","name":[{"family":"a\u0000b"}]}`, "Patient.name[0].family"},
		{"another control character in a string is refused", `{"resourceType":"Patient","name":[{"given":["a","b\u001bc"]}]}`, "Patient.name[0].given[1]"},
		{"a control character in a narrative is refused", `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">\u0007</div>"}}`, "Patient.text.div"},
		{"a control character in a uri is refused", `{"resourceType":"Patient","identifier":[{"system":"http://x\u0000","value":"1"}]}`, "Patient.identifier[0].system"},
		{"tab, carriage return and line feed are accepted", `{"resourceType":"Patient","name":[{"text":"a\tb\r\nc"}]}`, ""},
		{"a string over 1 MB of characters is refused", `{"resourceType":"Patient","name":[{"text":"` + long + `"}]}`, "Patient.name[0].text"},
		{"a string of 1 MB of characters is accepted", `{"resourceType":"Patient","name":[{"text":"` + long[2:] + `"}]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := fhir.Decode([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			issues := fhir.R4().Validate(res)
			if tt.want == "" {
				if len(issues) > 0 {
					t.Errorf("Validate = %+v, want no issues", issues)
				}
				return
			}
			if len(issues) != 1 || len(issues[0].Expression) != 1 || issues[0].Expression[0] != tt.want {
				t.Fatalf("Validate = %+v, want one issue at %s", issues, tt.want)
			}
			if strings.Contains(issues[0].Diagnostics, "2020") || strings.Contains(issues[0].Diagnostics, "a\x00b") {
				t.Errorf("the issue %q repeats the value", issues[0].Diagnostics)
			}
		})
	}
}

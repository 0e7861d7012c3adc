package fhir_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/fhir"
)

func TestDecodeXML(t *testing.T) {
	tests := []struct {
		name string
		xml  string
		json string
	}{
		{
			name: "repeated primitives become arrays with their extensions lined up by index",
			xml: `<Patient xmlns="http://hl7.org/fhir"><id value="p"/><active value="true"/>
				<name><given value="Peter"/><given id="g2" value="James"><extension url="http://x"><valueString value="Jim"/></extension></given></name>
				<multipleBirthInteger value="2"/></Patient>`,
			json: `{"resourceType":"Patient","id":"p","active":true,"name":[{"given":["Peter","James"],"_given":[null,{"id":"g2","extension":[{"url":"http://x","valueString":"Jim"}]}]}],"multipleBirthInteger":2}`,
		},
		{
			name: "a primitive with only an extension keeps no value",
			xml:  `<Patient xmlns="http://hl7.org/fhir"><birthDate><extension url="http://y"><valueBoolean value="false"/></extension></birthDate></Patient>`,
			json: `{"resourceType":"Patient","_birthDate":{"extension":[{"url":"http://y","valueBoolean":false}]}}`,
		},
		{
			name: "contained resources nest and decimals stay exact",
			xml: `<Observation xmlns="http://hl7.org/fhir"><contained><Patient><id value="c1"/></Patient></contained>
				<status value="final"/><valueQuantity><value value="1.50"/><unit value="kg"/></valueQuantity></Observation>`,
			json: `{"resourceType":"Observation","contained":[{"resourceType":"Patient","id":"c1"}],"status":"final","valueQuantity":{"value":1.50,"unit":"kg"}}`,
		},
		{
			name: "the narrative is kept as markup",
			xml:  `<Basic xmlns="http://hl7.org/fhir"><text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>Hi</p></div></text></Basic>`,
			json: `{"resourceType":"Basic","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Hi</p></div>"}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fhir.DecodeXML([]byte(tc.xml))
			if err != nil {
				t.Fatalf("DecodeXML: %v", err)
			}
			want, err := fhir.Decode([]byte(tc.json))
			if err != nil {
				t.Fatalf("decode expected JSON: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("DecodeXML mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeXMLErrors(t *testing.T) {
	tests := []struct {
		name string
		xml  string
	}{
		{"malformed XML is rejected", `<Patient xmlns="http://hl7.org/fhir"><id value="p"></Patient>`},
		{"a root outside the FHIR namespace is rejected", `<Patient><id value="p"/></Patient>`},
		{"a root that is not a resource type is rejected", `<HumanName xmlns="http://hl7.org/fhir"/>`},
		{"an empty document is rejected", ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := fhir.DecodeXML([]byte(tc.xml)); err == nil {
				t.Errorf("DecodeXML(%q) = %v, want an error", tc.xml, got)
			}
		})
	}
}

// FuzzDecodeXML checks that no document makes the XML decoder panic, seeded with
// the XML inputs of the FHIRPath suite when they are checked out.
func FuzzDecodeXML(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "testdata", "fhir-test-cases", "r4", "*.xml"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`<Patient xmlns="http://hl7.org/fhir"><name><given value="a"/></name></Patient>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = fhir.DecodeXML(data)
	})
}

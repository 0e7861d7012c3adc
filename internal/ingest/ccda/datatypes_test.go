package ccda

import (
	"encoding/json"
	"encoding/xml"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// attrs builds unqualified attributes from name, value pairs.
func attrs(kv ...string) []xml.Attr {
	var out []xml.Attr
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, xml.Attr{Name: xml.Name{Local: kv[i]}, Value: kv[i+1]})
	}
	return out
}

func TestIdentifier(t *testing.T) {
	tests := []struct {
		name string
		kv   []string
		want map[string]any
	}{
		{"an OID root with an extension is system and value",
			[]string{"root", "2.16.840.1.113883.19.5", "extension", "MRN1"},
			map[string]any{"system": "urn:oid:2.16.840.1.113883.19.5", "value": "MRN1"}},
		{"an OID root alone is a URI identifier",
			[]string{"root", "2.16.840.1.113883.19.5"},
			map[string]any{"system": "urn:ietf:rfc:3986", "value": "urn:oid:2.16.840.1.113883.19.5"}},
		{"a UUID root alone is a lower-case urn:uuid",
			[]string{"root", "36E3E930-7B14-11DB-9FE1-0800200C9A66"},
			map[string]any{"system": "urn:ietf:rfc:3986", "value": "urn:uuid:36e3e930-7b14-11db-9fe1-0800200c9a66"}},
		{"an NPI root uses the FHIR NPI system",
			[]string{"root", "2.16.840.1.113883.4.6", "extension", "1234567893"},
			map[string]any{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}},
		{"a null id is dropped", []string{"nullFlavor", "NI"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &converter{}
			got := c.identifier(&node{name: "id", attrs: attrs(tt.kv...)})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("identifier(%v) (-want +got):\n%s", tt.kv, diff)
			}
		})
	}
}

func TestSystemURI(t *testing.T) {
	tests := []struct {
		name, oid, want string
	}{
		{"LOINC", "2.16.840.1.113883.6.1", "http://loinc.org"},
		{"SNOMED CT", "2.16.840.1.113883.6.96", "http://snomed.info/sct"},
		{"RxNorm", "2.16.840.1.113883.6.88", "http://www.nlm.nih.gov/research/umls/rxnorm"},
		{"ICD-10-CM", "2.16.840.1.113883.6.90", "http://hl7.org/fhir/sid/icd-10-cm"},
		{"ICD-9-CM", "2.16.840.1.113883.6.103", "http://hl7.org/fhir/sid/icd-9-cm"},
		{"CVX", "2.16.840.1.113883.12.292", "http://hl7.org/fhir/sid/cvx"},
		{"UCUM", "2.16.840.1.113883.6.8", "http://unitsofmeasure.org"},
		{"NDC", "2.16.840.1.113883.6.69", "http://hl7.org/fhir/sid/ndc"},
		{"CPT", "2.16.840.1.113883.6.12", "http://www.ama-assn.org/go/cpt"},
		{"HL7 v3 ActCode", "2.16.840.1.113883.5.4", "http://terminology.hl7.org/CodeSystem/v3-ActCode"},
		{"an unknown OID keeps its identity", "1.2.3.4.5", "urn:oid:1.2.3.4.5"},
		{"a malformed code system is dropped", "not an oid", ""},
	}
	for _, tt := range tests {
		t.Run("the code system "+tt.name+" maps to its URI", func(t *testing.T) {
			if got := systemURI(tt.oid); got != tt.want {
				t.Errorf("systemURI(%q) = %q, want %q", tt.oid, got, tt.want)
			}
		})
	}
}

func TestDecimal(t *testing.T) {
	tests := []struct {
		in   string
		want json.Number
		ok   bool
	}{
		{"5", "5", true},
		{"13.20", "13.20", true},
		{".5", "0.5", true},
		{"+7", "7", true},
		{"007.5", "7.5", true},
		{"-0.0", "0.0", true},
		{"-3", "-3", true},
		{"1e5", "", false},
		{"5,5", "", false},
		{"", "", false},
		{"abc", "", false},
	}
	for _, tt := range tests {
		t.Run("the value "+tt.in+" becomes a FHIR decimal or is refused", func(t *testing.T) {
			got, ok := decimal(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("decimal(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestContactPoint(t *testing.T) {
	tests := []struct {
		name string
		kv   []string
		want map[string]any
	}{
		{"a tel: URL is a phone", []string{"value", "tel:+1(555)555-1000", "use", "HP"},
			map[string]any{"system": "phone", "value": "+1(555)555-1000", "use": "home"}},
		{"a mailto: URL is an email", []string{"value", "mailto:a@example.org", "use", "WP"},
			map[string]any{"system": "email", "value": "a@example.org", "use": "work"}},
		{"a mobile number keeps its use", []string{"value", "tel:555-0100", "use", "MC"},
			map[string]any{"system": "phone", "value": "555-0100", "use": "mobile"}},
		{"a fax: URL is a fax", []string{"value", "fax:555-0101"},
			map[string]any{"system": "fax", "value": "555-0101"}},
		{"a null telecom is dropped", []string{"nullFlavor", "UNK"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := contactPoint(&node{name: "telecom", attrs: attrs(tt.kv...)})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("contactPoint(%v) (-want +got):\n%s", tt.kv, diff)
			}
		})
	}
}

package match_test

import (
	"encoding/json"
	"strconv"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/match"
)

// person is a test patient as one source records them; record turns it into
// a FHIR Patient.
type person struct {
	given       []string
	family      string
	maiden      string
	suffix      string
	birth, sex  string
	ssn         string
	mrn, system string
	phone       string
	line, unit  string
	city, zip   string
	birthOrder  int
}

func (p person) record(source, id string) match.Record {
	pat := map[string]any{"resourceType": "Patient", "birthDate": p.birth, "gender": p.sex}
	name := map[string]any{"use": "official", "family": p.family}
	var given []any
	for _, g := range p.given {
		given = append(given, g)
	}
	name["given"] = given
	if p.suffix != "" {
		name["suffix"] = []any{p.suffix}
	}
	names := []any{name}
	if p.maiden != "" {
		names = append(names, map[string]any{"use": "maiden", "family": p.maiden, "given": given[:1]})
	}
	pat["name"] = names
	var ids []any
	if p.mrn != "" {
		ids = append(ids, map[string]any{"system": p.system, "value": p.mrn})
	}
	if p.ssn != "" {
		ids = append(ids, map[string]any{"system": match.SSNSystem, "value": p.ssn})
	}
	if ids != nil {
		pat["identifier"] = ids
	}
	if p.phone != "" {
		pat["telecom"] = []any{map[string]any{"system": "phone", "value": p.phone, "use": "home"}}
	}
	if p.line != "" {
		lines := []any{p.line}
		if p.unit != "" {
			lines = append(lines, p.unit)
		}
		pat["address"] = []any{map[string]any{"line": lines, "city": p.city, "postalCode": p.zip}}
	}
	if p.birthOrder > 0 {
		pat["multipleBirthInteger"] = json.Number(strconv.Itoa(p.birthOrder))
	}
	return match.Record{Source: source, ID: id, Patient: pat}
}

func TestRecordFromEHR(t *testing.T) {
	patient := []byte(`{"resourceType":"Patient","id":"p1","name":[{"family":"King","given":["Elizabeth"]}],"birthDate":"1990-09-14"}`)
	tests := []struct {
		name    string
		rec     *ehr.Record
		wantErr bool
	}{
		{"a current Patient is read", &ehr.Record{Type: "Patient", ID: "p1", Source: "urn:omnichart:source:a", Resource: patient}, false},
		{"a deleted Patient is Invalid", &ehr.Record{Type: "Patient", ID: "p1", Deleted: true}, true},
		{"an Observation is Invalid", &ehr.Record{Type: "Observation", ID: "o1", Resource: []byte(`{"resourceType":"Observation"}`)}, true},
		{"JSON that cannot be read is Invalid", &ehr.Record{Type: "Patient", ID: "p1", Resource: []byte(`{"resourceType":`)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := match.RecordFromEHR(tt.rec)
			if tt.wantErr {
				if ehr.ErrorCode(err) != ehr.Invalid {
					t.Errorf("RecordFromEHR() error = %v, want an Invalid error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("RecordFromEHR() error = %v", err)
			}
			if r.Ref() != (match.Ref{Source: "urn:omnichart:source:a", ID: "p1"}) || r.Patient["birthDate"] != "1990-09-14" {
				t.Errorf("RecordFromEHR() = %+v, want Patient/p1 of source a with its birth date", r)
			}
		})
	}
}

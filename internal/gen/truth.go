package gen

import (
	"strings"
	"time"
)

// Truth is what DIR/truth.json holds: who each source record really is, the
// look-alikes planted on purpose, and the facts that reach Omnichart from more
// than one source, agreeing or not.
type Truth struct {
	Options Options `json:"options"`
	// Persons lists every person with their true demographics and the source
	// records that are them.
	Persons       []TruthPerson  `json:"persons"`
	HardNegatives []HardNegative `json:"hardNegatives"`
	// Duplicates are facts two or more sources send alike; Conflicts are facts
	// they send differently (FactGroup.Conflict says how).
	Duplicates []FactGroup `json:"duplicates"`
	Conflicts  []FactGroup `json:"conflicts"`
}

// TruthPerson is one human and their records.
type TruthPerson struct {
	ID     string   `json:"id"`
	Given  []string `json:"given"`
	Family string   `json:"family"`
	// Maiden is the family name before marriage, when it changed.
	Maiden    string `json:"maiden,omitempty"`
	Suffix    string `json:"suffix,omitempty"`
	Sex       string `json:"sex"`
	BirthDate string `json:"birthDate"`
	SSN       string `json:"ssn"`
	Address   string `json:"address"`
	// FormerAddress is where the person lived before MovedOn.
	FormerAddress string   `json:"formerAddress,omitempty"`
	MovedOn       string   `json:"movedOn,omitempty"`
	Phone         string   `json:"phone"`
	Records       []Record `json:"records"`
}

// Record is one source's record of a person: the Patient that source's import
// creates, found by its MRN.
type Record struct {
	Source string `json:"source"`
	System string `json:"system"`
	MRN    string `json:"mrn"`
	// Variations says how the record differs from the truth (the Var* names).
	Variations []string `json:"variations,omitempty"`
}

// Identifier is a business identifier of a record.
type Identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

// FactGroup is one fact and its records at several sources.
type FactGroup struct {
	Person string `json:"person"`
	// Kind is one of the Fact* names.
	Kind string `json:"kind"`
	// Conflict is "allergy-status", "medication-status" or "lab-value" for a
	// conflict, "" for a duplicate.
	Conflict string    `json:"conflict,omitempty"`
	Display  string    `json:"display"`
	Records  []FactRef `json:"records"`
}

// FactRef finds one source's record of a fact: the source, the patient's MRN
// there, the resource type the import creates, and the record's business
// identifier when the source sends one (an HL7 v2 AL1 carries none; find it by
// code).
type FactRef struct {
	Source       string      `json:"source"`
	MRN          string      `json:"mrn"`
	ResourceType string      `json:"resourceType"`
	Identifier   *Identifier `json:"identifier,omitempty"`
	Code         string      `json:"code"`
	Time         string      `json:"time"`
	Status       string      `json:"status,omitempty"`
	Value        string      `json:"value,omitempty"`
}

// truthPerson returns the person as the truth file gives them.
func truthPerson(p *person) TruthPerson {
	tp := TruthPerson{ID: p.id, Given: []string{p.given}, Family: p.family, Maiden: p.maiden, Suffix: p.suffix,
		Sex: p.sex, BirthDate: p.birth.Format("2006-01-02"), SSN: p.ssn, Address: p.addr.canonical(), Phone: p.home.format(style{})}
	if p.middle != "" {
		tp.Given = append(tp.Given, p.middle)
	}
	if p.prev != nil {
		tp.FormerAddress, tp.MovedOn = p.prev.canonical(), p.movedAt.Format("2006-01-02")
	}
	return tp
}

// factGroups adds the person's facts that more than one source sent to the
// truth, as duplicates or conflicts.
func (t *Truth) addFacts(p *person, h *history) {
	for _, f := range h.facts {
		var refs []FactRef
		for _, v := range f.views {
			if v.ref.Source != "" {
				refs = append(refs, v.ref)
			}
		}
		if len(refs) < 2 {
			continue
		}
		g := FactGroup{Person: p.id, Kind: f.kind, Conflict: f.conflict, Display: f.display(), Records: refs}
		if f.conflict != "" {
			t.Conflicts = append(t.Conflicts, g)
		} else {
			t.Duplicates = append(t.Duplicates, g)
		}
	}
}

// display names the fact for a reader of the truth file.
func (f *fact) display() string {
	switch f.kind {
	case FactCondition:
		return f.cond.display
	case FactAllergy:
		return f.allergy.display
	case FactMedication:
		return f.med.display
	case FactImmunization:
		return f.vaccine.display
	case FactLabResult:
		return f.test.display + " on " + f.at.In(zone).Format("2006-01-02")
	}
	return strings.ToLower(f.kind)
}

// ref records where a view was written, for the truth file.
func (w *writer) ref(v *view, d *demographics, resourceType string, id *Identifier, code string, at time.Time, status, value string) {
	if v == nil {
		return
	}
	v.ref = FactRef{Source: w.src.Slug, MRN: d.mrn, ResourceType: resourceType, Identifier: id, Code: code,
		Time: dateTime(at), Status: status, Value: value}
}

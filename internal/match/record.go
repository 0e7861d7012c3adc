package match

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
)

// Record is one source's record of a patient, as the matcher reads it: the
// source that owns it, the Patient's id, and the decoded Patient resource.
type Record struct {
	// Source is the URI of the owning source (ehr.Record.Source).
	Source string
	// ID is the Patient's logical id.
	ID string
	// Patient is the decoded FHIR Patient.
	Patient map[string]any
}

// Ref names one source record.
type Ref struct {
	Source string
	ID     string
}

// Ref returns the name of r.
func (r Record) Ref() Ref { return Ref{r.Source, r.ID} }

// Reference returns "Patient/<id>".
func (r Ref) Reference() string { return "Patient/" + r.ID }

// String returns "Patient/<id>@<source>", which says nothing about the person.
func (r Ref) String() string { return "Patient/" + r.ID + "@" + r.Source }

// Less orders refs by source, then id: the canonical order of the matcher.
func (r Ref) Less(o Ref) bool {
	if r.Source != o.Source {
		return r.Source < o.Source
	}
	return r.ID < o.ID
}

// RecordFromEHR reads a stored Patient version. It fails with ehr.Invalid
// when rec is not a Patient, is deleted, or its JSON cannot be read.
func RecordFromEHR(rec *ehr.Record) (Record, error) {
	if rec == nil || rec.Type != "Patient" || rec.Deleted {
		return Record{}, ehr.Errorf(ehr.Invalid, "match: only current Patient records are matched")
	}
	res, err := fhir.Decode(rec.Resource)
	if err != nil {
		return Record{}, ehr.Errorf(ehr.Invalid, "match: read Patient/%s: %v", rec.ID, err)
	}
	return Record{Source: rec.Source, ID: rec.ID, Patient: res}, nil
}

// givenForm is one first given name with what it is compared by.
type givenForm struct {
	name     string
	formal   []string // formal names by the nickname table
	variants []string // the other names of its lines in the table
	near     []string // for an unknown name, the formal names of known names one edit away
	known    bool     // the table lists the name
	dm       [2]string
}

// familyForm is one family name; old marks a maiden or former name.
type familyForm struct {
	FamilyName
	old bool
	dm  [2]string
}

// profile is a record normalised for comparison. Lists are sorted or in the
// order of the resource, so that a profile depends only on the record.
type profile struct {
	ref        Ref
	given      []givenForm
	middle     []string
	family     []familyForm
	suffix     string
	birth      Date
	sex        byte // 'm', 'f', 'o', or 0 when unknown
	ids        []identifier
	addrs      []Address
	phones     []string
	emails     []string
	birthOrder int // multiple birth order, -1 for a multiple birth of unknown order, 0 when not one
}

// phoneticLen is the length of the Double Metaphone codes names are compared
// by: longer than Philips' 4, which makes Christopher and Christine alike.
const phoneticLen = 6

// prepare normalises a record with the identifier registry reg.
func prepare(r Record, reg *Registry) *profile {
	p := &profile{ref: r.Ref()}
	pat := r.Patient
	names := append([]any(nil), fhir.Array(pat, "name")...)
	// Official and usual names first, then the rest in their order.
	sort.SliceStable(names, func(i, j int) bool { return nameRank(names[i]) < nameRank(names[j]) })
	for _, n := range names {
		m, _ := n.(map[string]any)
		if m == nil {
			continue
		}
		use := fhir.String(m, "use")
		family := fhir.String(m, "family")
		given := stringsOf(fhir.Array(m, "given"))
		if family == "" && len(given) == 0 {
			// Only text: the last word is the family name.
			words := strings.Fields(fhir.String(m, "text"))
			if len(words) > 1 {
				family, given = words[len(words)-1], words[:len(words)-1]
			}
		}
		g := NormalizeGiven(given)
		if g.First != "" && !p.hasGiven(g.First) {
			f := givenForm{name: g.First, formal: defaultNicknames.formal(g.First),
				variants: defaultNicknames.variantsOf(g.First), near: defaultNicknames.nearFormals(g.First),
				known: defaultNicknames.known(g.First)}
			f.dm[0], f.dm[1] = DoubleMetaphone(g.First, phoneticLen)
			p.given = append(p.given, f)
		}
		for _, o := range g.Others {
			if !contains(p.middle, o) {
				p.middle = append(p.middle, o)
			}
		}
		if fam := NormalizeFamily(family); fam.Compact != "" {
			old := use == "maiden" || use == "old"
			if !p.hasFamily(fam.Compact, old) {
				f := familyForm{FamilyName: fam, old: old}
				f.dm[0], f.dm[1] = DoubleMetaphone(fam.Compact, phoneticLen)
				p.family = append(p.family, f)
			}
			if fam.Suffix != "" && p.suffix == "" {
				p.suffix = fam.Suffix
			}
		}
		if g.Suffix != "" && p.suffix == "" {
			p.suffix = g.Suffix
		}
		for _, s := range stringsOf(fhir.Array(m, "suffix")) {
			if sfx := NormalizeSuffix(s); sfx != "" && p.suffix == "" {
				p.suffix = sfx
			}
		}
	}
	p.birth = ParseDate(fhir.String(pat, "birthDate"))
	switch fhir.String(pat, "gender") {
	case "male":
		p.sex = 'm'
	case "female":
		p.sex = 'f'
	case "other":
		p.sex = 'o'
	}
	for _, x := range fhir.Array(pat, "identifier") {
		m, _ := x.(map[string]any)
		if m == nil {
			continue
		}
		typeCode := ""
		for _, c := range fhir.Array(fhir.Object(m, "type"), "coding") {
			if cm, _ := c.(map[string]any); cm != nil && typeCode == "" {
				typeCode = fhir.String(cm, "code")
			}
		}
		if id, ok := reg.classify(r.Source, fhir.String(m, "system"), typeCode, fhir.String(m, "value")); ok {
			p.ids = append(p.ids, id)
		}
	}
	sort.Slice(p.ids, func(i, j int) bool {
		if p.ids[i].namespace != p.ids[j].namespace {
			return p.ids[i].namespace < p.ids[j].namespace
		}
		return p.ids[i].value < p.ids[j].value
	})
	for _, x := range fhir.Array(pat, "address") {
		m, _ := x.(map[string]any)
		if m == nil || fhir.String(m, "use") == "billing" {
			continue
		}
		a := NormalizeAddress(stringsOf(fhir.Array(m, "line")), fhir.String(m, "city"), fhir.String(m, "postalCode"))
		if !a.IsZero() {
			p.addrs = append(p.addrs, a)
		}
	}
	for _, x := range fhir.Array(pat, "telecom") {
		m, _ := x.(map[string]any)
		if m == nil {
			continue
		}
		switch fhir.String(m, "system") {
		case "phone", "sms", "":
			if ph := NormalizePhone(fhir.String(m, "value")); ph != "" && !contains(p.phones, ph) {
				p.phones = append(p.phones, ph)
			}
		case "email":
			if e := NormalizeEmail(fhir.String(m, "value")); e != "" && !contains(p.emails, e) {
				p.emails = append(p.emails, e)
			}
		}
	}
	sort.Strings(p.phones)
	sort.Strings(p.emails)
	if b, ok := pat["multipleBirthBoolean"].(bool); ok && b {
		p.birthOrder = -1
	}
	if n := number(pat["multipleBirthInteger"]); n > 0 {
		p.birthOrder = n
	}
	return p
}

// nameRank orders names: official and usual first, maiden and old last.
func nameRank(n any) int {
	m, _ := n.(map[string]any)
	switch fhir.String(m, "use") {
	case "official", "usual", "":
		return 0
	case "maiden", "old":
		return 2
	}
	return 1
}

func (p *profile) hasGiven(name string) bool {
	for _, g := range p.given {
		if g.name == name {
			return true
		}
	}
	return false
}

func (p *profile) hasFamily(compact string, old bool) bool {
	for _, f := range p.family {
		if f.Compact == compact && (f.old == old || !f.old) {
			return true
		}
	}
	return false
}

// stringsOf returns the strings of a JSON array.
func stringsOf(xs []any) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// number reads a JSON integer as fhir.Decode leaves it.
func number(v any) int {
	switch x := v.(type) {
	case json.Number:
		n, _ := strconv.Atoi(string(x))
		return n
	case float64:
		return int(x)
	case int:
		return x
	}
	return 0
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

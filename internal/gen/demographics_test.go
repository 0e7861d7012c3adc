package gen_test

import (
	"slices"
	"strings"
	"testing"

	"omnichart/internal/fhir"
	"omnichart/internal/gen"
	"omnichart/internal/ingest/hl7v2"
)

// written is a patient as one source's file has them.
type written struct {
	family, given, birthDate, ssn string
	phone                         bool
}

// readPatient reads the patient of one record: the Patient of a Bundle, or the
// PID of an HL7 v2 file's last message (ADT^A08 updates come before later ones).
func readPatient(t *testing.T, p *population, r gen.Record, src *gen.Source) written {
	t.Helper()
	var w written
	if src.Interfaces[0] == gen.InterfaceFHIR {
		b, err := fhir.Decode(p.files["sources/"+r.Source+"/"+r.MRN+".json"])
		if err != nil {
			t.Fatal(err)
		}
		pat := fhir.Object(fhir.Array(b, "entry")[0].(map[string]any), "resource")
		name := fhir.Array(pat, "name")[0].(map[string]any)
		w.family, w.given = fhir.String(name, "family"), fhir.Array(name, "given")[0].(string)
		w.birthDate = fhir.String(pat, "birthDate")
		for _, id := range fhir.Array(pat, "identifier") {
			if m := id.(map[string]any); m["system"] == gen.SSNSystem {
				w.ssn = m["value"].(string)
			}
		}
		for _, c := range fhir.Array(pat, "telecom") {
			w.phone = w.phone || c.(map[string]any)["system"] == "phone"
		}
		return w
	}
	msgs := hl7v2.SplitMessages(p.files["sources/"+r.Source+"/"+r.MRN+".hl7"])
	msg, err := hl7v2.Parse(msgs[len(msgs)-1])
	if err != nil {
		t.Fatal(err)
	}
	pid := msg.Segment("PID")
	w.family, w.given = pid.Field(5).Rep(0).Comp(1), pid.Field(5).Rep(0).Comp(2)
	bd := pid.Field(7).String()
	w.birthDate = bd[:4] + "-" + bd[4:6] + "-" + bd[6:]
	w.ssn = pid.Field(19).String()
	w.phone = !pid.Field(13).IsEmpty()
	return w
}

// TestRecordsDifferFromTheTruthAsTheirVariationsSay reads every record back and
// checks each variation the truth lists against it, and that a record without a
// variation agrees with the truth.
func TestRecordsDifferFromTheTruthAsTheirVariationsSay(t *testing.T) {
	o := options(t, 400, 4, 21)
	o.TypoRate, o.NicknameRate, o.UpperCaseRate, o.DateSwapRate, o.SSNTypoRate, o.MarriedNameRate = 0.2, 0.3, 0.2, 0.2, 0.1, 0.5
	p := mustGenerate(t, o)
	srcs := map[string]*gen.Source{}
	for _, s := range p.res.Sources {
		srcs[s.Slug] = s
	}
	seen := map[string]int{}
	for _, tp := range p.res.Truth.Persons {
		for _, r := range tp.Records {
			w := readPatient(t, p, r, srcs[r.Source])
			has := func(v string) bool { return slices.Contains(r.Variations, v) }
			for _, v := range r.Variations {
				seen[v]++
			}
			fold := func(s string) string {
				if has(gen.VarUpperCase) {
					return strings.ToUpper(s)
				}
				return s
			}
			checks := []struct {
				name string
				ok   bool
			}{
				{"upper case", has(gen.VarUpperCase) == (w.family == strings.ToUpper(w.family) && w.family != strings.ToLower(w.family))},
				{"SSN", has(gen.VarNoSSN) == (w.ssn == "") && (has(gen.VarNoSSN) || has(gen.VarSSNTypo) == (w.ssn != tp.SSN))},
				{"birth date", has(gen.VarDateSwap) == (w.birthDate != tp.BirthDate) && w.birthDate[:4] == tp.BirthDate[:4]},
				{"phone", has(gen.VarNoPhone) == !w.phone},
				{"given name", has(gen.VarNickname) || has(gen.VarTypoGiven) || w.given == fold(tp.Given[0])},
				{"nickname", !has(gen.VarNickname) || w.given != fold(tp.Given[0])},
				{"family name", has(gen.VarTypoFamily) || has(gen.VarSurnameForm) || has(gen.VarMaidenName) || w.family == fold(tp.Family)},
				{"maiden name", !has(gen.VarMaidenName) || has(gen.VarTypoFamily) || has(gen.VarSurnameForm) || w.family == fold(tp.Maiden)},
			}
			for _, c := range checks {
				if !c.ok {
					t.Errorf("%s at %s (MRN %s, variations %v): %s: record %+v, truth %+v", tp.ID, r.Source, r.MRN, r.Variations, c.name, w, tp)
				}
			}
		}
	}
	for _, v := range []string{gen.VarUpperCase, gen.VarNoSSN, gen.VarSSNTypo, gen.VarDateSwap, gen.VarNoPhone, gen.VarNickname, gen.VarTypoGiven, gen.VarTypoFamily, gen.VarMaidenName} {
		if seen[v] < 3 {
			t.Errorf("%d records with %s, want at least 3", seen[v], v)
		}
	}
}

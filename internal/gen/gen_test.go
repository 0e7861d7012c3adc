package gen_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/fhir"
	"omnichart/internal/gen"
	"omnichart/internal/ingest/hl7v2"
)

// population is a generated population held in memory.
type population struct {
	res   *gen.Result
	files map[string][]byte
	names []string // in the order written
}

func options(tb testing.TB, people, sources int, seed int64) gen.Options {
	tb.Helper()
	o, err := gen.Preset("medium")
	if err != nil {
		tb.Fatal(err)
	}
	o.People, o.Sources, o.Seed, o.Years = people, sources, seed, 3
	return o
}

func mustGenerate(tb testing.TB, o gen.Options) *population {
	tb.Helper()
	p := &population{files: map[string][]byte{}}
	res, err := gen.Generate(o, func(name string, data []byte) error {
		if _, dup := p.files[name]; dup {
			return fmt.Errorf("%s written twice", name)
		}
		p.files[name] = data
		p.names = append(p.names, name)
		return nil
	})
	if err != nil {
		tb.Fatalf("Generate(%d people, %d sources) = %v", o.People, o.Sources, err)
	}
	p.res = res
	return p
}

// sourceFiles returns the files of one source, by name.
func (p *population) sourceFiles(slug string) []string {
	var out []string
	for _, n := range p.names {
		if strings.HasPrefix(n, "sources/"+slug+"/") {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func TestGenerateIsDeterministic(t *testing.T) {
	tests := []struct {
		name     string
		a, b     int64
		wantSame bool
	}{
		{"the same seed gives byte-identical files", 42, 42, true},
		{"another seed gives another population", 42, 43, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustGenerate(t, options(t, 40, 4, tt.a))
			b := mustGenerate(t, options(t, 40, 4, tt.b))
			if tt.wantSame {
				if diff := cmp.Diff(a.names, b.names); diff != "" {
					t.Fatalf("file order differs (-a +b):\n%s", diff)
				}
				for _, n := range a.names {
					if !bytes.Equal(a.files[n], b.files[n]) {
						t.Errorf("Generate(seed %d) twice: %s differs", tt.a, n)
					}
				}
				return
			}
			if bytes.Equal(a.files["truth.json"], b.files["truth.json"]) {
				t.Errorf("Generate(seed %d) and Generate(seed %d) wrote the same truth.json", tt.a, tt.b)
			}
			same := 0
			for n, data := range a.files {
				if strings.HasPrefix(n, "sources/") && bytes.Equal(data, b.files[n]) {
					same++
				}
			}
			if same > 0 {
				t.Errorf("Generate(seed %d) and Generate(seed %d) share %d identical source files, want none", tt.a, tt.b, same)
			}
		})
	}
}

// patientsWritten reads a source's files the way an importer would and returns
// the MRNs of the patients in them, with how often each file names them.
func patientsWritten(t *testing.T, p *population, src *gen.Source) map[string]bool {
	t.Helper()
	mrns := map[string]bool{}
	for _, name := range p.sourceFiles(src.Slug) {
		data := p.files[name]
		if strings.HasSuffix(name, ".json") {
			b, err := fhir.Decode(data)
			if err != nil {
				t.Fatalf("decode %s: %v", name, err)
			}
			for _, e := range fhir.Array(b, "entry") {
				res := fhir.Object(e.(map[string]any), "resource")
				if fhir.String(res, "resourceType") != "Patient" {
					continue
				}
				for _, id := range fhir.Array(res, "identifier") {
					if m := id.(map[string]any); m["system"] == src.MRNSystem {
						mrns[m["value"].(string)] = true
					}
				}
			}
			continue
		}
		for i, raw := range hl7v2.SplitMessages(data) {
			msg, err := hl7v2.Parse(raw)
			if err != nil {
				t.Fatalf("parse %s message %d: %v", name, i+1, err)
			}
			pid := msg.Segment("PID")
			if pid == nil {
				t.Fatalf("%s message %d has no PID", name, i+1)
			}
			cx := pid.Field(3).Rep(0)
			if sys := "urn:oid:" + cx.Component(4).Sub(2); sys != src.MRNSystem {
				t.Errorf("%s message %d: PID-3 assigning authority %s, want %s", name, i+1, sys, src.MRNSystem)
			}
			mrns[cx.Comp(1)] = true
		}
	}
	return mrns
}

func TestTruthListsExactlyThePatientsEachSourceWrote(t *testing.T) {
	for _, sources := range []int{1, 3, 6} {
		t.Run(fmt.Sprintf("%d sources", sources), func(t *testing.T) {
			p := mustGenerate(t, options(t, 60, sources, 5))
			want := map[string]map[string]bool{}
			for _, person := range p.res.Truth.Persons {
				if len(person.Records) == 0 {
					t.Errorf("%s has no source record", person.ID)
				}
				for _, r := range person.Records {
					if want[r.Source] == nil {
						want[r.Source] = map[string]bool{}
					}
					if want[r.Source][r.MRN] {
						t.Errorf("MRN %s of %s is listed twice", r.MRN, r.Source)
					}
					want[r.Source][r.MRN] = true
				}
			}
			var listed []gen.Source
			if err := json.Unmarshal(p.files["sources.json"], &listed); err != nil {
				t.Fatal(err)
			}
			if len(listed) != sources {
				t.Fatalf("sources.json lists %d sources, want %d", len(listed), sources)
			}
			systems := map[string]bool{}
			for i := range listed {
				src := &listed[i]
				if systems[src.MRNSystem] {
					t.Errorf("%s shares MRN system %s with another source", src.Slug, src.MRNSystem)
				}
				systems[src.MRNSystem] = true
				got := patientsWritten(t, p, src)
				if diff := cmp.Diff(want[src.Slug], got); diff != "" {
					t.Errorf("%s: MRNs in the truth (-) and in the files (+):\n%s", src.Slug, diff)
				}
				if src.Patients != len(got) || len(p.sourceFiles(src.Slug)) != len(got) {
					t.Errorf("%s: sources.json says %d patients, %d files hold %d", src.Slug, src.Patients, len(p.sourceFiles(src.Slug)), len(got))
				}
			}
		})
	}
}

// share returns how many of n things are a given count, as a fraction.
func share(count, n int) float64 { return float64(count) / float64(n) }

func TestHardNegativesArePlantedAtTheirShares(t *testing.T) {
	o := options(t, 300, 4, 11)
	o.TwinShare, o.JuniorShare, o.CommonNameShare = 0.1, 0.06, 0.08
	p := mustGenerate(t, o)
	people := map[string]gen.TruthPerson{}
	for _, tp := range p.res.Truth.Persons {
		people[tp.ID] = tp
	}
	counts := map[string]int{}
	for _, hn := range p.res.Truth.HardNegatives {
		counts[hn.Kind] += len(hn.Persons)
		ps := make([]gen.TruthPerson, len(hn.Persons))
		for i, id := range hn.Persons {
			ps[i] = people[id]
		}
		a, b := ps[0], ps[1]
		switch hn.Kind {
		case "twins":
			if len(ps) != 2 || a.Family != b.Family || a.BirthDate != b.BirthDate || a.Address != b.Address || a.Phone != b.Phone || a.Given[0] == b.Given[0] {
				t.Errorf("twins %s and %s: %+v and %+v, want the same family name, birth date, address and phone and other given names", a.ID, b.ID, a, b)
			}
		case "junior-senior":
			if len(ps) != 2 || a.Suffix != "Sr" || b.Suffix != "Jr" || a.Given[0] != b.Given[0] || a.Family != b.Family || a.BirthDate[:4] >= b.BirthDate[:4] {
				t.Errorf("father and son %s and %s: %+v and %+v, want Sr and Jr of the same name, the father older", a.ID, b.ID, a, b)
			}
		case "common-name":
			for _, c := range ps[1:] {
				if c.Given[0] != a.Given[0] || c.Family != a.Family || !strings.Contains(c.Address, "Springfield") || c.BirthDate == a.BirthDate && c.Address == a.Address {
					t.Errorf("common name %s and %s: %+v and %+v, want one name in Springfield, other people", a.ID, c.ID, a, c)
				}
			}
		default:
			t.Errorf("unknown hard negative kind %q", hn.Kind)
		}
	}
	for _, tt := range []struct {
		kind string
		want float64
	}{{"twins", o.TwinShare}, {"junior-senior", o.JuniorShare}, {"common-name", o.CommonNameShare}} {
		if got := share(counts[tt.kind], o.People); math.Abs(got-tt.want) > 0.01 {
			t.Errorf("share of people in %s = %.3f (%d), want %.2f", tt.kind, got, counts[tt.kind], tt.want)
		}
	}
	// Look-alikes are only hard when one source holds both: most twins share one.
	together := 0
	for _, hn := range p.res.Truth.HardNegatives {
		if hn.Kind != "twins" {
			continue
		}
		at := map[string]bool{}
		for _, r := range people[hn.Persons[0]].Records {
			at[r.Source] = true
		}
		for _, r := range people[hn.Persons[1]].Records {
			if at[r.Source] {
				together++
				break
			}
		}
	}
	if pairs := counts["twins"] / 2; together < pairs/2 {
		t.Errorf("%d of %d twin pairs share a source, want at least half", together, pairs)
	}
}

func TestRatesShowInTheRecordVariations(t *testing.T) {
	o := options(t, 1500, 4, 3)
	o.Years = 1 // the rates are about who people are, not what happened to them
	o.MultiSourceShare, o.TypoRate, o.NicknameRate, o.UpperCaseRate, o.MissingPhoneRate, o.MissingSSNRate, o.DateSwapRate = 0.6, 0.2, 0.3, 0.25, 0.1, 0.2, 0.1
	p := mustGenerate(t, o)
	var records, multi int
	vars := map[string]int{}
	for _, tp := range p.res.Truth.Persons {
		if len(tp.Records) > 1 {
			multi++
		}
		for _, r := range tp.Records {
			records++
			for _, v := range r.Variations {
				vars[v]++
			}
		}
	}
	tests := []struct {
		name      string
		got, want float64
		tolerance float64
	}{
		{"share of people at several sources", share(multi, o.People), o.MultiSourceShare, 0.05},
		{"typos per record", share(vars[gen.VarTypoGiven]+vars[gen.VarTypoFamily], records), o.TypoRate, 0.04},
		{"upper case per record", share(vars[gen.VarUpperCase], records), o.UpperCaseRate, 0.04},
		{"records without phone", share(vars[gen.VarNoPhone], records), o.MissingPhoneRate, 0.03},
		{"nicknames per record (only some names have one)", share(vars[gen.VarNickname], records), o.NicknameRate / 2, 0.1},
		// Labs leave the SSN out twice as often.
		{"records without SSN", share(vars[gen.VarNoSSN], records), o.MissingSSNRate * 1.15, 0.06},
		// Only birth dates with day and month both 12 or less can be swapped.
		{"swapped birth dates", share(vars[gen.VarDateSwap], records), o.DateSwapRate * 11 * 12 / 365, 0.02},
	}
	for _, tt := range tests {
		if math.Abs(tt.got-tt.want) > tt.tolerance {
			t.Errorf("%s = %.3f, want %.3f ± %.2f", tt.name, tt.got, tt.want, tt.tolerance)
		}
	}
	for _, v := range []string{gen.VarMaidenName, gen.VarSurnameForm, gen.VarNoSuffix, gen.VarOldAddress, gen.VarSSNTypo, gen.VarMultipleBirth} {
		if vars[v] == 0 {
			t.Errorf("no record has variation %s", v)
		}
	}
}

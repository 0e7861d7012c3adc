package match_test

import (
	"testing"

	"omnichart/internal/match"
)

// level returns the agreement level of field in the explanation of the one
// pair of r.
func level(t *testing.T, r *match.Result, field string) string {
	t.Helper()
	if len(r.Pairs) != 1 {
		t.Fatalf("Batch() compared %d pairs, want 1", len(r.Pairs))
	}
	for _, c := range r.Pairs[0].Explain().Fields {
		if c.Field == field {
			return c.Level
		}
	}
	t.Fatalf("explanation has no field %s", field)
	return ""
}

func TestRegistry(t *testing.T) {
	const vendorOID = "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14"
	const payer = "http://example.org/fhir/sid/member-id"
	base := person{given: []string{"Felix"}, family: "Norris", birth: "1942-02-11", sex: "male"}
	with := func(system, mrn string) person { p := base; p.system, p.mrn = system, mrn; return p }
	tests := []struct {
		name     string
		registry *match.Registry
		a, b     person
		field    string
		want     string
	}{
		{"one hospital's MRN is not compared with another's", match.NewRegistry(), with(mrnA, "4711"), with(mrnB, "4711"), "localIdentifier", "missing"},
		{"an MRN of one system at two sources is compared", match.NewRegistry(), with(mrnA, "4711"), with(mrnA, "4711"), "localIdentifier", "same"},
		{"a vendor's default system is compared only within a source when registered per source",
			match.NewRegistry(match.IdentifierSystem{System: vendorOID, Kind: match.Local, PerSource: true}),
			with(vendorOID, "4711"), with(vendorOID, "4711"), "localIdentifier", "missing"},
		{"an ignored system is not compared",
			match.NewRegistry(match.IdentifierSystem{System: mrnA, Kind: match.Ignored}),
			with(mrnA, "4711"), with(mrnA, "4711"), "localIdentifier", "missing"},
		{"a payer's member id registered as strong is a strong identifier",
			match.NewRegistry(match.IdentifierSystem{System: payer, Kind: match.Strong}),
			with(payer, "XK-2231"), with(payer, "xk-2231"), "strongIdentifier", "exact"},
		{"two SSNs of one person a digit apart are a typo", match.NewRegistry(),
			func() person { p := base; p.ssn = "931-65-8832"; return p }(), func() person { p := base; p.ssn = "931-65-8833"; return p }(),
			"strongIdentifier", "typo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fixedModel()
			cfg.Registry = tt.registry
			r, err := match.Batch([]match.Record{tt.a.record(sourceA, "1"), tt.b.record(sourceB, "2")}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := level(t, r, tt.field); got != tt.want {
				t.Errorf("%s level = %s, want %s", tt.field, got, tt.want)
			}
		})
	}
}

// TestStrongIdentifierWeighs checks the weight of SSNs in the default model:
// a shared one decides for a link whatever the names say short of a
// conflict, and two different ones keep records apart whatever else agrees.
func TestStrongIdentifierWeighs(t *testing.T) {
	m := match.DefaultModel()
	for _, f := range m.Fields {
		if f.Field != "strongIdentifier" {
			continue
		}
		if w := f.Levels[0].Weight(); w < 10 {
			t.Errorf("DefaultModel strongIdentifier exact weighs %.1f bits, want at least 10", w)
		}
		if w := f.Levels[2].Weight(); w > -10 {
			t.Errorf("DefaultModel strongIdentifier different weighs %.1f bits, want at most -10", w)
		}
	}
	a := person{given: []string{"Felix"}, family: "Norris", birth: "1942-02-11", sex: "male", ssn: "931-65-8832"}
	b := a
	b.ssn = "945-12-3456"
	r, err := match.Batch([]match.Record{a.record(sourceA, "1"), b.record(sourceB, "2")}, fixedModel())
	if err != nil {
		t.Fatal(err)
	}
	if p := r.Pairs[0]; p.Decision == match.Link {
		t.Errorf("two records alike but for their SSNs: %s, want no link\n%s", p.Decision, p.Explain())
	}
}

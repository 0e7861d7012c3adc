package gen_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"omnichart/internal/gen"
)

func TestPresetsAreValidAndGrowHarder(t *testing.T) {
	var prev *gen.Options
	for _, d := range gen.Difficulties {
		o, err := gen.Preset(d)
		if err != nil {
			t.Fatalf("Preset(%q) = %v", d, err)
		}
		if err := o.Validate(); err != nil {
			t.Errorf("Preset(%q).Validate() = %v", d, err)
		}
		if prev != nil {
			was := prev.Rates()
			for i, r := range o.Rates() {
				if r.Value() < was[i].Value() {
					t.Errorf("Preset(%q) %s = %v, below the easier preset's %v", d, r.Name, r.Value(), was[i].Value())
				}
			}
		}
		prev = &o
	}
	if _, err := gen.Preset("brutal"); err == nil {
		t.Errorf(`Preset("brutal") = nil error, want one`)
	}
}

func TestValidateRefusesOptionsOutOfRange(t *testing.T) {
	tests := []struct {
		name   string
		change func(*gen.Options)
		want   string
	}{
		{"no people", func(o *gen.Options) { o.People = 0 }, "people"},
		{"no sources", func(o *gen.Options) { o.Sources = 0 }, "sources"},
		{"more sources than there are", func(o *gen.Options) { o.Sources = gen.MaxSources + 1 }, "sources"},
		{"no years", func(o *gen.Options) { o.Years = 0 }, "years"},
		{"a negative rate", func(o *gen.Options) { o.TypoRate = -0.1 }, "typo-rate"},
		{"a rate above one", func(o *gen.Options) { o.ConflictRate = 1.5 }, "conflict-rate"},
		{"look-alikes above half the people", func(o *gen.Options) { o.TwinShare, o.JuniorShare = 0.3, 0.3 }, "add up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _ := gen.Preset("medium")
			tt.change(&o)
			if err := o.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error naming %q", err, tt.want)
			}
		})
	}
}

// TestConfigurationDocumentsEveryRateWithItsPresets reads the rate table of
// docs/configuration.md and compares it with the presets.
func TestConfigurationDocumentsEveryRateWithItsPresets(t *testing.T) {
	data, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(string(data), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) == 7 && strings.HasPrefix(strings.TrimSpace(cells[1]), "`--") {
			name := strings.Trim(strings.TrimSpace(cells[1]), "`-")
			rows[name] = []string{strings.TrimSpace(cells[2]), strings.TrimSpace(cells[3]), strings.TrimSpace(cells[4])}
		}
	}
	var probe gen.Options
	for _, r := range probe.Rates() {
		row, ok := rows[r.Name]
		if !ok {
			t.Errorf("docs/configuration.md has no row for --%s", r.Name)
			continue
		}
		for i, d := range gen.Difficulties {
			o, _ := gen.Preset(d)
			for _, x := range o.Rates() {
				if x.Name == r.Name && strconv.FormatFloat(x.Value(), 'g', -1, 64) != row[i] {
					t.Errorf("docs/configuration.md: --%s %s = %s, Preset(%q) has %v", r.Name, d, row[i], d, x.Value())
				}
			}
		}
	}
}

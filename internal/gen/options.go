package gen

import (
	"fmt"
	"time"
)

// Options say how large a population to generate and how hard it is to tell its
// people apart. Rates are probabilities between 0 and 1; see the package comment
// for what each one does. Start from Preset and change what you need.
type Options struct {
	// People is the number of persons; Sources the number of source systems (1
	// to 12). Seed selects the population: the same options give the same bytes.
	People  int   `json:"people"`
	Sources int   `json:"sources"`
	Seed    int64 `json:"seed"`
	// Years is how many years of history end at End.
	Years int       `json:"years"`
	End   time.Time `json:"end"`

	// MultiSourceShare is the share of people known to two or more sources.
	MultiSourceShare float64 `json:"multiSourceShare"`

	// Per source record: the chance that it carries each kind of difference.
	TypoRate         float64 `json:"typoRate"`
	NicknameRate     float64 `json:"nicknameRate"`
	MarriedNameRate  float64 `json:"marriedNameRate"`
	SurnameFormRate  float64 `json:"surnameFormRate"`
	SuffixDropRate   float64 `json:"suffixDropRate"`
	UpperCaseRate    float64 `json:"upperCaseRate"`
	DateSwapRate     float64 `json:"dateSwapRate"`
	MissingSSNRate   float64 `json:"missingSSNRate"`
	SSNTypoRate      float64 `json:"ssnTypoRate"`
	MissingPhoneRate float64 `json:"missingPhoneRate"`
	// MovedShare is the share of people who moved house during the history; a
	// source that last saw them before the move keeps the old address.
	MovedShare float64 `json:"movedShare"`

	// Hard negatives: the share of people who are one of a pair of twins, one of
	// a father and son of the same name (Sr and Jr), and one of a group with the
	// same common name in one town.
	TwinShare       float64 `json:"twinShare"`
	JuniorShare     float64 `json:"juniorShare"`
	CommonNameShare float64 `json:"commonNameShare"`

	// DuplicateFactRate is the chance that a lab panel run by a laboratory is
	// also sent by the source that ordered it, and that an immunization given at
	// a pharmacy is also sent by the person's practice.
	DuplicateFactRate float64 `json:"duplicateFactRate"`
	// ConflictRate is the chance, per person known to several sources and per
	// kind of conflict, that two sources disagree about one fact: an allergy
	// active and resolved, a medication active and stopped, two values of one
	// lab test at one time.
	ConflictRate float64 `json:"conflictRate"`
}

// Difficulties lists the names Preset accepts, easiest first.
var Difficulties = []string{"easy", "medium", "hard"}

// DefaultEnd is the day generated histories end unless Options.End says
// otherwise. It is fixed, not today, so that output depends only on the options.
var DefaultEnd = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// Preset returns the options of a difficulty ("easy", "medium" or "hard") for
// 1,000 people at 4 sources with seed 1 and five years of history.
func Preset(difficulty string) (Options, error) {
	o := Options{People: 1000, Sources: 4, Seed: 1, Years: 5, End: DefaultEnd}
	switch difficulty {
	case "easy":
		o.MultiSourceShare = 0.3
		o.TypoRate, o.NicknameRate, o.MarriedNameRate, o.SurnameFormRate, o.SuffixDropRate = 0.02, 0.03, 0.2, 0.1, 0.1
		o.UpperCaseRate, o.DateSwapRate = 0.05, 0
		o.MissingSSNRate, o.SSNTypoRate, o.MissingPhoneRate, o.MovedShare = 0.1, 0, 0.05, 0.05
		o.TwinShare, o.JuniorShare, o.CommonNameShare = 0.01, 0.01, 0.01
		o.DuplicateFactRate, o.ConflictRate = 0.3, 0.05
	case "medium", "":
		o.MultiSourceShare = 0.5
		o.TypoRate, o.NicknameRate, o.MarriedNameRate, o.SurnameFormRate, o.SuffixDropRate = 0.08, 0.1, 0.4, 0.3, 0.3
		o.UpperCaseRate, o.DateSwapRate = 0.15, 0.03
		o.MissingSSNRate, o.SSNTypoRate, o.MissingPhoneRate, o.MovedShare = 0.3, 0.02, 0.15, 0.1
		o.TwinShare, o.JuniorShare, o.CommonNameShare = 0.02, 0.02, 0.03
		o.DuplicateFactRate, o.ConflictRate = 0.5, 0.1
	case "hard":
		o.MultiSourceShare = 0.7
		o.TypoRate, o.NicknameRate, o.MarriedNameRate, o.SurnameFormRate, o.SuffixDropRate = 0.2, 0.25, 0.7, 0.5, 0.6
		o.UpperCaseRate, o.DateSwapRate = 0.3, 0.08
		o.MissingSSNRate, o.SSNTypoRate, o.MissingPhoneRate, o.MovedShare = 0.5, 0.05, 0.3, 0.2
		o.TwinShare, o.JuniorShare, o.CommonNameShare = 0.05, 0.05, 0.08
		o.DuplicateFactRate, o.ConflictRate = 0.7, 0.25
	default:
		return Options{}, fmt.Errorf("difficulty %q: use easy, medium or hard", difficulty)
	}
	return o, nil
}

// MaxSources is the largest number of sources Generate makes.
const MaxSources = 12

// Validate reports the first option that is out of range.
func (o Options) Validate() error {
	switch {
	case o.People < 1:
		return fmt.Errorf("people must be at least 1, not %d", o.People)
	case o.People > 10_000_000:
		return fmt.Errorf("people must be at most 10000000, not %d", o.People)
	case o.Sources < 1 || o.Sources > MaxSources:
		return fmt.Errorf("sources must be between 1 and %d, not %d", MaxSources, o.Sources)
	case o.Years < 1 || o.Years > 50:
		return fmt.Errorf("years must be between 1 and 50, not %d", o.Years)
	case o.End.IsZero():
		return fmt.Errorf("end must be set")
	}
	for _, r := range o.rates() {
		if !(*r.v >= 0 && *r.v <= 1) {
			return fmt.Errorf("%s must be between 0 and 1, not %v", r.Name, *r.v)
		}
	}
	if s := o.TwinShare + o.JuniorShare + o.CommonNameShare; s > 0.5 {
		return fmt.Errorf("twin, junior and common-name shares add up to %v; keep them at 0.5 or less", s)
	}
	return nil
}

// Rate is one difficulty knob: its flag name, what it means, and where it is kept.
type Rate struct {
	Name, Usage string
	v           *float64
}

// Set stores v in the options the rate was taken from.
func (r Rate) Set(v float64) { *r.v = v }

// Value is the rate's current value.
func (r Rate) Value() float64 { return *r.v }

// Rates returns every rate of o by its flag name, so that a command line can set
// them one by one.
func (o *Options) Rates() []Rate { return o.rates() }

func (o *Options) rates() []Rate {
	return []Rate{
		{"multi-source-share", "share of people known to two or more sources", &o.MultiSourceShare},
		{"typo-rate", "per source record: a typo in the given or family name", &o.TypoRate},
		{"nickname-rate", "per source record: a nickname (Bill for William) when the name has one", &o.NicknameRate},
		{"married-name-rate", "per record of a married woman: her name before marriage", &o.MarriedNameRate},
		{"surname-form-rate", "per record with a two-part, hyphenated or punctuated surname: another form of it", &o.SurnameFormRate},
		{"suffix-drop-rate", "per record with Jr or Sr: the suffix left out", &o.SuffixDropRate},
		{"upper-case-rate", "per source record: names and address in upper case", &o.UpperCaseRate},
		{"date-swap-rate", "per source record: day and month of birth swapped (when both are 12 or less)", &o.DateSwapRate},
		{"missing-ssn-rate", "per source record: no SSN (twice as often at laboratories)", &o.MissingSSNRate},
		{"ssn-typo-rate", "per source record with an SSN: one digit wrong or two swapped", &o.SSNTypoRate},
		{"missing-phone-rate", "per source record: no phone number", &o.MissingPhoneRate},
		{"moved-share", "share of people who moved house; sources that last saw them before keep the old address", &o.MovedShare},
		{"twin-share", "share of people who are twins (same family name, birth date, address and phone)", &o.TwinShare},
		{"junior-share", "share of people in a father and son pair of the same name (Sr and Jr)", &o.JuniorShare},
		{"common-name-share", "share of people sharing a common full name with others in one town", &o.CommonNameShare},
		{"duplicate-fact-rate", "a lab panel also sent by the ordering source; a pharmacy immunization also sent by the practice", &o.DuplicateFactRate},
		{"conflict-rate", "per multi-source person and kind: an allergy, medication or lab value that two sources disagree on", &o.ConflictRate},
	}
}

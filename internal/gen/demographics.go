package gen

import (
	"strings"
	"time"
)

// Variations: how one source's record of a person differs from the truth. The
// truth file lists them per record.
const (
	VarTypoGiven     = "typo-given"
	VarTypoFamily    = "typo-family"
	VarNickname      = "nickname"
	VarMaidenName    = "maiden-name"
	VarSurnameForm   = "surname-form"
	VarNoSuffix      = "no-suffix"
	VarUpperCase     = "upper-case"
	VarDateSwap      = "birth-date-day-month-swapped"
	VarNoSSN         = "no-ssn"
	VarSSNTypo       = "ssn-typo"
	VarNoPhone       = "no-phone"
	VarOldAddress    = "old-address"
	VarMultipleBirth = "multiple-birth-flag"
)

// demographics is one source's record of who a person is. Within a source it is
// the same in every message and bundle, apart from the address, which follows a
// move when the source heard of it.
type demographics struct {
	p                             *person
	src                           *Source
	mrn                           string
	given, middle, family, suffix string
	birth                         time.Time
	ssn                           string
	home, mobile                  string // formatted; "" when not known
	email                         string
	upper                         bool
	multipleBirth                 int // birth order sent, 0 when the source does not say
	from, lastSeen                time.Time
	variations                    []string
}

// newDemographics decides how source si records the person, with the rates of
// the options. Each decision uses its own draw, so raising one rate does not
// change the others' outcomes.
func (g *generator) newDemographics(p *person, j int, h *history) *demographics {
	si := p.sources[j]
	src := g.srcs[si]
	r := stream(g.o.Seed, streamView, uint64(p.index)*MaxSources+uint64(si))
	o := g.o
	d := &demographics{p: p, src: src, mrn: p.mrns[j], given: p.given, middle: p.middle, family: p.family,
		suffix: p.suffix, birth: p.birth, ssn: p.ssn, email: p.email, from: h.from[si], lastSeen: h.lastSeen[si]}
	draws := make([]float64, 16)
	for i := range draws {
		draws[i] = r.Float64()
	}
	vary := func(v string) { d.variations = append(d.variations, v) }
	if p.maiden != "" && draws[0] < o.MarriedNameRate {
		d.family = p.maiden
		vary(VarMaidenName)
	}
	if hasSurnameForms(d.family) && draws[1] < o.SurnameFormRate {
		d.family = pick(r, surnameForms(d.family))
		vary(VarSurnameForm)
	}
	if n := nickname(r, p.given); n != "" && draws[2] < o.NicknameRate {
		d.given = n
		vary(VarNickname)
	}
	if draws[3] < o.TypoRate {
		if draws[4] < 0.4 {
			if t := typo(r, d.given); t != d.given {
				d.given = t
				vary(VarTypoGiven)
			}
		} else if t := typo(r, d.family); t != d.family {
			d.family = t
			vary(VarTypoFamily)
		}
	}
	if d.suffix != "" && draws[5] < o.SuffixDropRate {
		d.suffix = ""
		vary(VarNoSuffix)
	}
	if b := p.birth; b.Day() <= 12 && b.Day() != int(b.Month()) && draws[6] < o.DateSwapRate {
		d.birth = time.Date(b.Year(), time.Month(b.Day()), int(b.Month()), 0, 0, 0, 0, time.UTC)
		vary(VarDateSwap)
	}
	missingSSN := o.MissingSSNRate
	if src.Kind == KindLab {
		missingSSN = min(1, 2*missingSSN)
	}
	switch {
	case draws[7] < missingSSN:
		d.ssn = ""
		vary(VarNoSSN)
	case draws[8] < o.SSNTypoRate:
		d.ssn = ssnTypo(r, p.ssn)
		vary(VarSSNTypo)
	}
	if draws[9] < o.MissingPhoneRate {
		vary(VarNoPhone)
	} else {
		d.home = p.home.format(src.style)
		if p.mobile != "" && !src.hl7() && draws[10] < 0.7 {
			d.mobile = p.mobile.format(src.style)
		}
	}
	if p.prev != nil && d.current() == *p.prev {
		vary(VarOldAddress)
	}
	if draws[11] < o.UpperCaseRate {
		d.upper = true
		vary(VarUpperCase)
	}
	if p.twinOrder > 0 && draws[12] < 0.5 {
		d.multipleBirth = p.twinOrder
		vary(VarMultipleBirth)
	}
	if d.middle != "" && draws[13] < 0.3 {
		d.middle = d.middle[:1] // many registries keep the initial only
	}
	return d
}

// addressAt is the address the source had for the person at t. A laboratory,
// which registers a patient once and is sent no updates, keeps the address it
// was first given.
func (d *demographics) addressAt(t time.Time) address {
	if d.src.Kind == KindLab {
		t = d.from
	}
	if d.p.prev != nil && t.Before(d.p.movedAt) {
		return *d.p.prev
	}
	return d.p.addr
}

// current is the address the source last had.
func (d *demographics) current() address { return d.addressAt(d.lastSeen) }

// knewOld reports whether the source had the address before the move and then
// the new one: such a source keeps the old one as a former address.
func (d *demographics) knewOld() bool {
	return d.p.prev != nil && d.addressAt(d.from) == *d.p.prev && d.current() == d.p.addr
}

// text applies the record's case to a name or address part.
func (d *demographics) text(s string) string {
	if d.upper {
		return strings.ToUpper(s)
	}
	return s
}

// birthDate is the birth date as the record has it, YYYY-MM-DD.
func (d *demographics) birthDate() string { return d.birth.Format("2006-01-02") }

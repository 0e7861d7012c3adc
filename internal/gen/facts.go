package gen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// sourcesOf returns the person's sources of a kind.
func (g *generator) sourcesOf(h *history, kind string) []int {
	var out []int
	for _, si := range h.p.sources {
		if g.srcs[si].Kind == kind {
			out = append(out, si)
		}
	}
	return out
}

// laboratory decides who sends each lab panel: a laboratory the person is known
// to runs it and sends it, and the ordering source sends it too with the chance
// DuplicateFactRate; without a laboratory the orderer sends it. A laboratory that
// ran none of the person's panels gets one from an outside orderer.
func (g *generator) laboratory(r *rand.Rand, h *history, end time.Time) {
	labs := g.sourcesOf(h, KindLab)
	used := map[int]bool{}
	for _, si := range h.p.sources {
		for _, e := range h.encs[si] {
			for _, pn := range e.panels {
				own := &panelView{src: si, enc: e, orderer: e.prac}
				var lab = -1
				for _, l := range labs {
					if !h.from[l].After(pn.at) {
						lab = l
						break
					}
				}
				switch {
				case lab < 0:
					pn.views = []*panelView{own}
				case r.Float64() < g.o.DuplicateFactRate:
					pn.views = []*panelView{{src: lab, orderer: e.prac}, own}
				default:
					pn.views = []*panelView{{src: lab, orderer: e.prac}}
				}
				if lab >= 0 {
					used[lab] = true
				}
			}
		}
	}
	for _, l := range labs {
		if used[l] {
			continue
		}
		pn := &panel{def: pick(r, []*panelDef{panelCBC, panelBMP, panelLipid}), at: daytime(r, between(r, h.from[l], end.AddDate(0, 0, -1)))}
		outside := practitioner{npi: npi(100_000_000 + r.IntN(200_000_000)), family: pickWeighted(r, families[:80]), given: givenName(r, randomSex(r))}
		pn.views = []*panelView{{src: l, orderer: outside}}
		for _, t := range pn.def.tests {
			f := h.newFact(FactLabResult, pn.at)
			f.test, f.panel, f.status = t, pn, "final"
			f.value = h.labValue(r, t, pn.at)
			pn.results = append(pn.results, f)
		}
		h.panels = append(h.panels, pn)
	}
	for _, pn := range h.panels {
		pn.placer = fmt.Sprintf("%08d", r.IntN(100_000_000))
		for _, f := range pn.results {
			f.views = nil
			for _, pv := range pn.views {
				f.views = append(f.views, &view{src: pv.src, enc: pv.enc})
			}
		}
	}
}

// pharmacy adds what a pharmacy knows: immunizations given at the counter (also
// sent by the person's practice with the chance DuplicateFactRate), the
// medications it fills, and drug allergies.
func (g *generator) pharmacy(r *rand.Rand, h *history, end time.Time) {
	p := h.p
	for _, ph := range g.sourcesOf(h, KindPharmacy) {
		from := h.from[ph]
		events := 0
		shot := func(v vaccineDef, at time.Time) {
			f := h.newFact(FactImmunization, daytime(r, at))
			f.vaccine, f.status = v, "completed"
			f.views = []*view{{src: ph}}
			events++
			for _, c := range g.sourcesOf(h, KindClinic) {
				if !g.srcs[c].hl7() && !h.from[c].After(f.at) && r.Float64() < g.o.DuplicateFactRate {
					f.views = append(f.views, &view{src: c, secondary: true})
					break
				}
			}
		}
		if age(p.birth, end) >= 12 {
			for y := from.Year(); y <= end.Year(); y++ {
				at := time.Date(y, time.October, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(75))
				if at.Before(from) || !at.Before(end) {
					continue
				}
				if r.IntN(100) < 45 {
					shot(vaxFlu, at)
				}
				if y >= 2021 && r.IntN(100) < 25 {
					shot(vaxCovid, at.AddDate(0, 0, 3+r.IntN(30)))
				}
			}
			if age(p.birth, end) >= 50 && r.IntN(100) < 20 {
				shot(vaxZoster, between(r, from, end))
			}
		}
		for _, f := range h.facts {
			if f.kind != FactMedication || (!f.end.IsZero() && f.end.Before(from)) || r.IntN(100) >= 85 {
				continue
			}
			v := &view{src: ph}
			stop := end
			if !f.end.IsZero() && f.end.Before(end) {
				stop = f.end
			}
			for t := maxTime(f.at, from); t.Before(stop); t = t.AddDate(0, 0, f.med.days) {
				v.fills = append(v.fills, daytime(r, t))
			}
			if len(v.fills) == 0 {
				continue
			}
			if len(v.fills) > 8 {
				v.fills = v.fills[len(v.fills)-8:]
			}
			f.views = append(f.views, v)
			events++
		}
		for _, f := range h.facts {
			if f.kind == FactAllergy && f.allergy.category == "medication" && r.IntN(10) < 9 {
				f.views = append(f.views, &view{src: ph})
			}
		}
		if events == 0 {
			shot(vaxFlu, between(r, from, end))
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// recordKnown adds the views of chronic problems, allergies and long-term
// medications at the hospitals and practices that saw the person after they began.
func (g *generator) recordKnown(r *rand.Rand, h *history) {
	for _, si := range h.p.sources {
		src := g.srcs[si]
		if !src.clinical() {
			continue
		}
		firstAfter := func(t time.Time) *encounter {
			for _, e := range h.encs[si] {
				if !e.at.Before(t) {
					return e
				}
			}
			return nil
		}
		chance := 95
		if src.Kind == KindHospital {
			chance = 60
		}
		for _, f := range h.facts {
			e := firstAfter(f.at)
			if e == nil || r.IntN(100) >= chance {
				continue
			}
			switch {
			case f.kind == FactCondition && f.cond.chronic:
				f.views = append(f.views, &view{src: si, enc: e})
				if src.hl7() {
					e.diagnoses = append(e.diagnoses, f)
				}
			case f.kind == FactAllergy:
				f.views = append(f.views, &view{src: si, enc: e})
				if src.hl7() {
					e.allergies = append(e.allergies, f)
				}
			case f.kind == FactMedication && f.cond != nil && f.cond.chronic && !src.hl7():
				f.views = append(f.views, &view{src: si, enc: e})
			}
		}
	}
}

// plantConflicts makes, for a person known to several sources and with the
// chance ConflictRate per kind, two sources disagree about one fact.
func (g *generator) plantConflicts(r *rand.Rand, h *history) {
	if len(h.p.sources) < 2 {
		return
	}
	candidates := func(kind string, ok func(*fact) bool) []*fact {
		var out []*fact
		for _, f := range h.facts {
			if f.kind == kind && len(f.views) >= 2 && f.conflict == "" && (ok == nil || ok(f)) {
				out = append(out, f)
			}
		}
		return out
	}
	fhirViews := func(f *fact) []*view {
		var out []*view
		for _, v := range f.views {
			if !g.srcs[v.src].hl7() {
				out = append(out, v)
			}
		}
		return out
	}
	if r.Float64() < g.o.ConflictRate {
		if cs := candidates(FactAllergy, func(f *fact) bool { return len(fhirViews(f)) > 0 }); len(cs) > 0 {
			f := pick(r, cs)
			v := pick(r, fhirViews(f))
			v.status = "resolved"
			f.conflict = "allergy-status"
		}
	}
	if r.Float64() < g.o.ConflictRate {
		if cs := candidates(FactMedication, func(f *fact) bool { return f.status != "completed" }); len(cs) > 0 {
			f := pick(r, cs)
			v := pick(r, f.views)
			if f.status == "active" {
				v.status, v.end = "stopped", between(r, f.at.AddDate(0, 0, 14), g.o.End.AddDate(0, 0, -7))
				// A pharmacy that took it off the profile filled it no more.
				for len(v.fills) > 1 && v.fills[len(v.fills)-1].After(v.end) {
					v.fills = v.fills[:len(v.fills)-1]
				}
			} else {
				v.status = "active"
			}
			f.conflict = "medication-status"
		}
	}
	if r.Float64() < g.o.ConflictRate {
		if cs := candidates(FactLabResult, nil); len(cs) > 0 {
			f := pick(r, cs)
			v := f.views[len(f.views)-1]
			scale := math.Pow10(f.test.decimals)
			v.value = math.Round(f.value*(1.1+0.3*r.Float64())*scale) / scale
			if math.Round(f.value*scale) == math.Round(v.value*scale) {
				v.value += 1 / scale
			}
			v.hasValue = true
			f.conflict = "lab-value"
		}
	}
}

// seen records when each source first and last heard of the person.
func (h *history) seen() {
	see := func(si int, t time.Time) {
		if t.After(h.lastSeen[si]) {
			h.lastSeen[si] = t
		}
	}
	for si, es := range h.encs {
		for _, e := range es {
			see(si, e.end)
		}
	}
	for _, f := range h.facts {
		for _, v := range f.views {
			if v.enc == nil {
				see(v.src, f.at)
			}
			for _, t := range v.fills {
				see(v.src, t)
			}
		}
	}
}

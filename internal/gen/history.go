package gen

import (
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// Fact kinds: the clinical facts that may reach Omnichart from several sources.
const (
	FactCondition    = "condition"
	FactAllergy      = "allergy"
	FactMedication   = "medication"
	FactImmunization = "immunization"
	FactLabResult    = "lab-result"
)

// fact is one clinical truth about a person, and which sources send it (views).
type fact struct {
	kind     string
	seq      int
	at, end  time.Time // onset, start, given, drawn; abatement or stop (zero when none)
	status   string
	cond     *condDef
	allergy  *allergyDef
	reaction [2]string
	severe   bool
	med      *medDef
	vaccine  vaccineDef
	test     *labTest
	value    float64
	panel    *panel
	views    []*view
	conflict string // the kind of planted conflict, "" when the views agree
}

// view is one source's record of a fact. Fields other than src and enc override
// the fact's when set.
type view struct {
	src       int        // index into the generator's sources
	enc       *encounter // the encounter it was recorded in, nil when none
	status    string
	end       time.Time
	value     float64
	hasValue  bool
	secondary bool        // an immunization recorded from another provider's record
	fills     []time.Time // pharmacy dispenses
	id        string      // the record's business identifier value, set when written
	ref       FactRef     // set when the view is written
}

func (v *view) statusOf(f *fact) string {
	if v.status != "" {
		return v.status
	}
	return f.status
}

func (v *view) endOf(f *fact) time.Time {
	if v.status != "" {
		return v.end
	}
	return f.end
}

func (v *view) valueOf(f *fact) float64 {
	if v.hasValue {
		return v.value
	}
	return f.value
}

// panel is one lab order: drawn once, reported by the lab and maybe the orderer.
type panel struct {
	def     *panelDef
	at      time.Time
	placer  string // the orderer's order number, which the laboratory echoes
	results []*fact
	views   []*panelView // parallel to each result's views
}

type panelView struct {
	src       int
	enc       *encounter
	orderer   practitioner
	accession string // filler order number, set when written
}

// encounter is one visit at one source.
type encounter struct {
	src       int
	typ       encounterType
	at, end   time.Time
	prac      practitioner
	reason    *fact   // the acute problem of a sick or emergency visit
	diagnoses []*fact // chronic problems first recorded here (HL7 v2 DG1)
	allergies []*fact // allergies first recorded here (HL7 v2 AL1)
	vitals    vitals
	panels    []*panel
	referral  *condDef
	note      bool
	visit     string // visit number, set when written
}

type vitals struct {
	sys, dia, hr, rr, spo2 int
	temp, weight, height   float64
}

// history is everything that happened to one person at their sources.
type history struct {
	p        *person
	encs     map[int][]*encounter // by source index
	facts    []*fact
	panels   []*panel
	from     map[int]time.Time // when each source first saw the person
	lastSeen map[int]time.Time
	seq      int
}

// zone is the local time of the region: sources write times with this offset.
var zone = time.FixedZone("-05:00", -5*3600)

func (h *history) newFact(kind string, at time.Time) *fact {
	h.seq++
	f := &fact{kind: kind, seq: h.seq, at: at}
	h.facts = append(h.facts, f)
	return f
}

// daytime returns a time between 08:00 and 17:00 local on the day of t.
func daytime(r *rand.Rand, t time.Time) time.Time {
	l := t.In(zone)
	return time.Date(l.Year(), l.Month(), l.Day(), 8+r.IntN(9), r.IntN(60), r.IntN(60), 0, zone).UTC()
}

// between returns a random time in [a, b).
func between(r *rand.Rand, a, b time.Time) time.Time {
	if !b.After(a) {
		return a
	}
	return a.Add(time.Duration(r.Int64N(int64(b.Sub(a)))))
}

func poisson(r *rand.Rand, mean float64) int {
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// newHistory makes the person's clinical history over the generated years.
func (g *generator) newHistory(p *person) *history {
	r := stream(g.o.Seed, streamPerson, uint64(p.index))
	h := &history{p: p, encs: map[int][]*encounter{}, from: map[int]time.Time{}, lastSeen: map[int]time.Time{}}
	end := g.o.End
	start := end.AddDate(-g.o.Years, 0, 0)
	if p.birth.After(start) {
		start = p.birth.AddDate(0, 0, 1)
	}
	for j, si := range p.sources {
		from := start
		if j > 0 {
			from = start.Add(time.Duration(0.7 * r.Float64() * float64(end.Sub(start))))
		}
		h.from[si] = from
	}
	g.chronic(r, h, end)
	g.allergiesOf(r, h, end)
	for _, si := range p.sources {
		switch g.srcs[si].Kind {
		case KindClinic:
			g.clinicVisits(r, h, si, end)
		case KindHospital:
			g.hospitalVisits(r, h, si, end)
		}
	}
	for _, si := range p.sources {
		for _, e := range h.encs[si] {
			g.visitContent(r, h, e)
		}
	}
	g.laboratory(r, h, end)
	g.pharmacy(r, h, end)
	g.recordKnown(r, h)
	g.plantConflicts(r, h)
	h.seen()
	return h
}

// chronic adds the person's long-term problems and their treatment.
func (g *generator) chronic(r *rand.Rand, h *history, end time.Time) {
	p := h.p
	a := age(p.birth, end)
	for _, c := range conditions {
		chance := c.chanceYoung
		if a >= 40 {
			chance = c.old
		}
		if a < c.minAge || r.Float64() >= chance {
			continue
		}
		earliest := p.birth.AddDate(c.minAge, 0, 0)
		if e := end.AddDate(-20, 0, 0); earliest.Before(e) {
			earliest = e
		}
		f := h.newFact(FactCondition, between(r, earliest, end.AddDate(0, -1, 0)))
		f.cond, f.status = c, "active"
		if c.med == nil {
			continue
		}
		m := h.newFact(FactMedication, f.at.Add(time.Duration(r.IntN(60))*24*time.Hour))
		m.med, m.status, m.cond = c.med, "active", c
		if m.at.After(end) {
			m.at = f.at
		}
		if alt := switchTo[c.med]; alt != nil && r.IntN(100) < 15 {
			m.status, m.end = "stopped", between(r, m.at.AddDate(0, 2, 0), end)
			if m.end.Before(end) {
				n := h.newFact(FactMedication, m.end)
				n.med, n.status, n.cond = alt, "active", c
			}
		}
	}
}

// allergiesOf adds the person's allergies.
func (g *generator) allergiesOf(r *rand.Rand, h *history, end time.Time) {
	kid := age(h.p.birth, end) < 18
	for i := range allergies {
		a := &allergies[i]
		chance := a.chance
		if kid && a.category == "food" {
			chance *= 2
		}
		if r.Float64() >= chance {
			continue
		}
		f := h.newFact(FactAllergy, between(r, h.p.birth.AddDate(1, 0, 0), end.AddDate(0, -2, 0)))
		f.allergy, f.status = a, "active"
		f.reaction = pick(r, reactions)
		f.severe = f.reaction[0] == "39579001"
	}
}

func (g *generator) addVisit(r *rand.Rand, h *history, si int, typ encounterType, at time.Time) *encounter {
	at = daytime(r, at)
	dur := time.Duration(15+r.IntN(45)) * time.Minute
	switch typ {
	case encEmergency:
		dur = time.Duration(2+r.IntN(8)) * time.Hour
	case encInpatient:
		dur = time.Duration(1+r.IntN(5)) * 24 * time.Hour
	}
	e := &encounter{src: si, typ: typ, at: at, end: at.Add(dur), prac: pick(r, g.srcs[si].pracs)}
	h.encs[si] = append(h.encs[si], e)
	return e
}

// clinicVisits adds a yearly check-up and sick visits at a practice.
func (g *generator) clinicVisits(r *rand.Rand, h *history, si int, end time.Time) {
	from := h.from[si]
	for t := from.Add(time.Duration(r.IntN(60)) * 24 * time.Hour); t.Before(end); t = t.AddDate(1, 0, r.IntN(61)-30) {
		g.addVisit(r, h, si, encWellness, t)
	}
	rate := 0.5
	if age(h.p.birth, end) < 12 {
		rate = 1.0
	}
	for k := poisson(r, rate*end.Sub(from).Hours()/8766); k > 0; k-- {
		g.addVisit(r, h, si, encSick, between(r, from, end))
	}
	if len(h.encs[si]) == 0 {
		g.addVisit(r, h, si, encSick, between(r, from, end))
	}
	sortVisits(h.encs[si])
}

// hospitalVisits adds emergency visits and sometimes an admission.
func (g *generator) hospitalVisits(r *rand.Rand, h *history, si int, end time.Time) {
	from := h.from[si]
	n := max(1, poisson(r, 0.25*end.Sub(from).Hours()/8766))
	for k := 0; k < n; k++ {
		g.addVisit(r, h, si, encEmergency, between(r, from, end.AddDate(0, 0, -7)))
	}
	chance := 10
	if age(h.p.birth, end) > 50 {
		chance = 25
	}
	if r.IntN(100) < chance {
		g.addVisit(r, h, si, encInpatient, between(r, from, end.AddDate(0, 0, -10)))
	}
	sortVisits(h.encs[si])
}

func sortVisits(es []*encounter) {
	sort.SliceStable(es, func(i, j int) bool { return es[i].at.Before(es[j].at) })
}

// has reports whether the person has a chronic problem of key that started by t.
func (h *history) has(key string, t time.Time) bool {
	for _, f := range h.facts {
		if f.kind == FactCondition && f.cond.key == key && !f.at.After(t) {
			return true
		}
	}
	return false
}

// onMed reports whether the person took a medication of the problem key at t.
func (h *history) onMed(key string, t time.Time) bool {
	for _, f := range h.facts {
		if f.kind == FactMedication && f.cond != nil && f.cond.key == key && !f.at.After(t) && (f.end.IsZero() || f.end.After(t)) {
			return true
		}
	}
	return false
}

// visitContent fills an encounter: vital signs, the problem of a sick visit,
// lab orders, a referral, immunizations and a note.
func (g *generator) visitContent(r *rand.Rand, h *history, e *encounter) {
	src := g.srcs[e.src]
	a := age(h.p.birth, e.at)
	e.vitals = g.vitalsAt(r, h, e.at, e.typ == encSick || e.typ == encEmergency)
	if e.typ != encWellness {
		list := acuteAdult
		if a < 18 {
			list = acuteChild
		}
		c := pick(r, list)
		f := h.newFact(FactCondition, e.at)
		f.cond, f.status, f.end = c, "resolved", e.at.AddDate(0, 0, 7+r.IntN(21))
		f.views = []*view{{src: e.src, enc: e}}
		e.reason = f
		if c.med != nil && r.IntN(3) > 0 {
			m := h.newFact(FactMedication, e.at)
			m.med, m.status, m.end = c.med, "completed", e.at.AddDate(0, 0, c.med.days)
			if !src.hl7() {
				m.views = []*view{{src: e.src, enc: e}}
			}
		}
	}
	order := func(d *panelDef) {
		pn := &panel{def: d, at: e.at.Add(time.Duration(5+r.IntN(40)) * time.Minute)}
		h.panels = append(h.panels, pn)
		for _, t := range d.tests {
			f := h.newFact(FactLabResult, pn.at)
			f.test, f.panel, f.status = t, pn, "final"
			f.value = h.labValue(r, t, pn.at)
			pn.results = append(pn.results, f)
		}
		e.panels = append(e.panels, pn)
	}
	switch e.typ {
	case encWellness:
		if a >= 40 || h.has("htn", e.at) || h.has("dm2", e.at) || h.has("hld", e.at) {
			if r.IntN(10) < 8 {
				order(panelBMP)
				order(panelLipid)
			}
		} else if a >= 18 && r.IntN(4) == 0 {
			order(panelCBC)
		}
		if h.has("dm2", e.at) {
			order(panelA1c)
		}
		if h.has("hypothyroid", e.at) && r.IntN(2) == 0 {
			order(panelTSH)
		}
	case encSick:
		if h.has("dm2", e.at) && r.IntN(2) == 0 {
			order(panelA1c)
		} else if a >= 12 && r.IntN(5) == 0 {
			order(panelCBC)
		}
	case encEmergency, encInpatient:
		if r.IntN(10) < 7 || e.typ == encInpatient {
			order(panelCBC)
			order(panelBMP)
		}
	}
	if src.Kind == KindClinic && e.typ != encEmergency {
		for _, f := range h.facts {
			if f.kind == FactCondition && f.cond.referral != "" && !f.at.After(e.at) && r.IntN(10) < 3 && !h.referred(e.src, f.cond) {
				e.referral = f.cond
				break
			}
		}
	}
	if src.Kind == KindClinic && !src.hl7() && e.typ == encWellness {
		g.practiceImmunizations(r, h, e, a)
	}
	e.note = !src.hl7() && (e.typ == encInpatient || r.IntN(10) < 6)
}

func (h *history) referred(si int, c *condDef) bool {
	for _, e := range h.encs[si] {
		if e.referral == c {
			return true
		}
	}
	return false
}

// practiceImmunizations gives the vaccines due at a check-up.
func (g *generator) practiceImmunizations(r *rand.Rand, h *history, e *encounter, a int) {
	give := func(v vaccineDef) {
		f := h.newFact(FactImmunization, e.at.Add(20*time.Minute))
		f.vaccine, f.status = v, "completed"
		f.views = []*view{{src: e.src, enc: e}}
	}
	once := func(v vaccineDef, chance int) {
		for _, f := range h.facts {
			if f.kind == FactImmunization && f.vaccine == v {
				return
			}
		}
		if r.IntN(100) < chance {
			give(v)
		}
	}
	switch {
	case a < 2:
		give(vaxDTaP)
		give(vaxIPV)
		give(vaxHepB)
		if a == 1 {
			once(vaxMMR, 100)
			once(vaxVZV, 100)
		}
	case a >= 4 && a <= 6:
		once(vaxDTaP, 80)
		once(vaxMMR, 80)
	case a >= 11 && a <= 12:
		once(vaxTdap, 90)
		once(vaxHPV, 70)
	case a >= 65:
		once(vaxPneumo, 50)
	case a >= 50:
		once(vaxZoster, 30)
	}
	if a >= 1 && (e.at.Month() >= time.September || e.at.Month() <= time.March) && r.IntN(2) == 0 {
		give(vaxFlu)
	}
}

// vitalsAt returns plausible vital signs at t for the person's age, sex and problems.
func (g *generator) vitalsAt(r *rand.Rand, h *history, t time.Time, sick bool) vitals {
	p := h.p
	years := t.Sub(p.birth).Hours() / 8766
	// A stable per-person build, so that weight and height follow a curve.
	pr := stream(g.o.Seed, streamBuild, uint64(p.index))
	adultHeight := 163 + pr.NormFloat64()*7
	bmi := 24 + pr.NormFloat64()*4
	if p.sex == "male" {
		adultHeight += 14
	}
	height := adultHeight
	switch {
	case years < 2:
		height = 50 + 25*years - 6*years*max(0, years-1)
	case years < 16:
		height = min(adultHeight, 86+6.2*(years-2))
	}
	if years < 16 {
		bmi = 16 + years*0.2
	}
	weight := bmi * height * height / 10000 * (1 + r.NormFloat64()*0.02)
	v := vitals{
		sys: int(112 + 0.4*min(years, 80) + r.NormFloat64()*8), dia: int(72 + r.NormFloat64()*6),
		hr: int(72 + r.NormFloat64()*8), rr: 14 + r.IntN(5), spo2: 96 + r.IntN(4),
		temp: 36.6 + r.NormFloat64()*0.2, weight: weight, height: height,
	}
	if years < 12 {
		v.sys, v.dia, v.hr, v.rr = int(95+years*2+r.NormFloat64()*6), int(58+years+r.NormFloat64()*5), int(110-4*years+r.NormFloat64()*8), 20+r.IntN(8)
	}
	if h.has("htn", t) && !h.onMed("htn", t) {
		v.sys += 20
		v.dia += 10
	} else if h.has("htn", t) {
		v.sys += 8
	}
	if sick {
		v.temp += 1 + r.Float64()
		v.hr += 12
	}
	return v
}

// labValue returns a result of test at t, shaped by the person's problems and
// their treatment.
func (h *history) labValue(r *rand.Rand, t *labTest, at time.Time) float64 {
	mean, sd := t.mean, t.sd
	switch {
	case (t == testGlucose || t == testA1c) && h.has("dm2", at):
		if t == testA1c {
			mean, sd = 8.2, 0.6
		} else {
			mean, sd = 165, 30
		}
		if h.onMed("dm2", at) {
			mean *= 0.88
		}
	case (t == testChol || t == testLDL) && h.has("hld", at):
		mean *= 1.3
		if h.onMed("hld", at) {
			mean *= 0.75
		}
	case t == testTSH && h.has("hypothyroid", at):
		mean = 6.5
		if h.onMed("hypothyroid", at) {
			mean = 2.8
		}
	}
	v := mean + r.NormFloat64()*sd
	return math.Max(v, t.mean/5)
}

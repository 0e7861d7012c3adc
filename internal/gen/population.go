package gen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// person is one human as they really are; sources see views of them.
type person struct {
	index                 int
	id                    string
	sex                   string // "male" or "female"
	given, middle, family string
	maiden                string // family name before marriage, "" when it never changed
	suffix                string // "Jr" or "Sr", "" when none
	birth                 time.Time
	ssn                   string
	addr                  address
	prev                  *address // the address before a move, nil when none
	movedAt               time.Time
	home, mobile          phone // mobile is "" when none
	email                 string
	twinOrder             int // 1 or 2 for a twin, else 0
	sources               []int
	mrns                  []string // the MRN at each of sources
}

// household is people under one roof: one family name, address and home phone.
type household struct {
	family  string
	town    town
	addr    address
	home    phone
	primary int // the source the family mostly goes to
	members []*person
	moved   bool
}

// HardNegative is a group of different people who look alike on purpose.
type HardNegative struct {
	// Kind is "twins" (same family name, birth date, address and phone, another
	// given name), "junior-senior" (father and son with the same given and family
	// name, Sr and Jr) or "common-name" (the same common full name in one town).
	Kind    string   `json:"kind"`
	Persons []string `json:"persons"`
}

// population is everyone, with the hard negatives planted among them.
type population struct {
	people    []*person
	negatives []HardNegative
}

func roundShare(n int, share float64) int { return int(math.Round(float64(n) * share)) }

// newPopulation makes o.People people in households, plants the hard negatives
// at their shares, and decides which sources know whom.
func newPopulation(o Options, srcs []*Source) *population {
	r := stream(o.Seed, streamPopulation, 0)
	n := o.People
	twinPairs := roundShare(n, o.TwinShare/2)
	jrPairs := roundShare(n, o.JuniorShare/2)
	common := roundShare(n, o.CommonNameShare)
	if common == 1 {
		common = 2
	}
	for 2*twinPairs+2*jrPairs+common > n {
		switch {
		case common > 0:
			common--
			if common == 1 {
				common = 0
			}
		case jrPairs > 0:
			jrPairs--
		default:
			twinPairs--
		}
	}
	g := &popBuilder{o: o, r: r, srcs: srcs, ssns: map[string]bool{}, budget: n - 2*twinPairs - 2*jrPairs - common}
	var groups []negativeGroup
	for i := 0; i < twinPairs; i++ {
		h := g.household("")
		age := r.IntN(23)
		if g.budget > 0 {
			g.parent(h, age)
		}
		if g.budget > 0 && r.IntN(3) > 0 {
			g.parent(h, age)
		}
		birth := birthAt(r, o.End, age)
		a := g.member(h, randomSex(r), birth)
		b := g.member(h, randomSex(r), birth)
		for b.given == a.given {
			b.given = givenName(r, b.sex)
		}
		a.twinOrder, b.twinOrder = 1, 2
		groups = append(groups, negativeGroup{"twins", []*person{a, b}})
	}
	for i := 0; i < jrPairs; i++ {
		h := g.household("")
		srAge := 40 + r.IntN(46)
		sr := g.member(h, "male", birthAt(r, o.End, srAge))
		if g.budget > 0 && r.IntN(2) == 0 {
			g.spouse(h, sr)
		}
		jr := g.member(h, "male", birthAt(r, o.End, max(16, srAge-20-r.IntN(21))))
		jr.given, jr.middle = sr.given, sr.middle
		sr.suffix, jr.suffix = "Sr", "Jr"
		if r.IntN(5) < 2 { // the son lives elsewhere in town, with his own phone
			jr.addr = newAddress(r, h.town)
			jr.home = newPhone(r, h.town)
		}
		groups = append(groups, negativeGroup{"junior-senior", []*person{sr, jr}})
	}
	for made, k := 0, 0; made < common; k++ {
		size := 2 + r.IntN(2)
		if common-made-size < 2 {
			size = common - made
		}
		cn := commonNames[k%len(commonNames)]
		primary := g.primarySource()
		var members []*person
		for j := 0; j < size; j++ {
			h := g.household(cn.family)
			h.town = towns[0]
			h.addr = newAddress(r, h.town)
			h.home = newPhone(r, h.town)
			h.primary = primary
			p := g.member(h, cn.sex, birthAt(r, o.End, 20+r.IntN(66)))
			p.given = cn.given
			members = append(members, p)
		}
		made += size
		groups = append(groups, negativeGroup{"common-name", members})
	}
	for g.budget > 0 {
		g.ordinaryHousehold()
	}

	// Households come in random order, so that a person's number says nothing
	// about who they live with.
	r.Shuffle(len(g.households), func(i, j int) { g.households[i], g.households[j] = g.households[j], g.households[i] })
	pop := &population{}
	for _, h := range g.households {
		g.move(h)
		for _, p := range h.members {
			p.index = len(pop.people)
			p.id = fmt.Sprintf("P%06d", p.index+1)
			pop.people = append(pop.people, p)
		}
	}
	for _, gr := range groups {
		hn := HardNegative{Kind: gr.kind}
		for _, p := range gr.members {
			hn.Persons = append(hn.Persons, p.id)
		}
		pop.negatives = append(pop.negatives, hn)
	}
	g.assignSources(pop, followers(groups))
	assignMRNs(o, srcs, pop.people)
	return pop
}

// negativeGroup is a hard negative while it is being made.
type negativeGroup struct {
	kind    string
	members []*person
}

// followers returns, per person, the person whose sources they share (the first
// twin for the second), so that look-alikes meet at the same source.
func followers(groups []negativeGroup) map[*person]*person {
	out := map[*person]*person{}
	for _, g := range groups {
		if g.kind == "twins" {
			out[g.members[1]] = g.members[0]
		}
	}
	return out
}

type popBuilder struct {
	o          Options
	r          *rand.Rand
	srcs       []*Source
	ssns       map[string]bool
	budget     int // ordinary people (parents, spouses, others) still to make
	households []*household
}

func randomSex(r *rand.Rand) string { return []string{"female", "male"}[r.IntN(2)] }

// birthAt returns a birth date age years before end, on a random day before end.
func birthAt(r *rand.Rand, end time.Time, age int) time.Time {
	d := end.AddDate(-age-1, 0, 1+r.IntN(363))
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
}

func (g *popBuilder) household(family string) *household {
	r := g.r
	if family == "" {
		family = pickWeighted(r, families)
	}
	t := towns[int(math.Pow(r.Float64(), 1.5)*float64(len(towns)))]
	h := &household{family: family, town: t, addr: newAddress(r, t), home: newPhone(r, t), primary: g.primarySource()}
	g.households = append(g.households, h)
	return h
}

// primarySource picks the hospital or practice a household goes to.
func (g *popBuilder) primarySource() int {
	var clinical []int
	for i, s := range g.srcs {
		if s.clinical() {
			clinical = append(clinical, i, i) // clinical sources twice as likely
		}
	}
	if len(clinical) == 0 {
		return g.r.IntN(len(g.srcs))
	}
	// Practices are the usual first contact; hospitals come first only sometimes.
	for tries := 0; tries < 3; tries++ {
		i := pick(g.r, clinical)
		if g.srcs[i].Kind == KindClinic || tries == 2 || g.r.IntN(3) == 0 {
			return i
		}
	}
	return clinical[0]
}

// member adds a person of the household's family born at birth.
func (g *popBuilder) member(h *household, sex string, birth time.Time) *person {
	r := g.r
	p := &person{sex: sex, given: givenName(r, sex), family: h.family, birth: birth,
		ssn: newSSN(r, g.ssns), addr: h.addr, home: h.home}
	if r.IntN(2) == 0 {
		p.middle = givenName(r, sex)
		if p.middle == p.given {
			p.middle = ""
		}
	}
	if age(birth, g.o.End) >= 16 {
		if r.IntN(5) < 3 {
			p.mobile = newPhone(r, h.town)
		}
		if r.IntN(2) == 0 {
			p.email = strings.ToLower(strings.NewReplacer(" ", "", "'", "", ".", "").Replace(p.given+"."+p.family)) +
				fmt.Sprint(r.IntN(100)) + "@example.com"
		}
	}
	h.members = append(h.members, p)
	return p
}

// parent adds a parent of a child aged childAge, using the ordinary budget.
func (g *popBuilder) parent(h *household, childAge int) *person {
	g.budget--
	p := g.member(h, randomSex(g.r), birthAt(g.r, g.o.End, childAge+20+g.r.IntN(21)))
	if p.sex == "female" && g.r.IntN(5) < 4 {
		p.maiden = pickWeighted(g.r, families)
	}
	return p
}

// spouse adds the wife of p, who took the family name.
func (g *popBuilder) spouse(h *household, p *person) *person {
	g.budget--
	a := age(p.birth, g.o.End) + 5 - g.r.IntN(11)
	w := g.member(h, "female", birthAt(g.r, g.o.End, max(18, a)))
	if m := pickWeighted(g.r, families); m != h.family {
		w.maiden = m
	}
	return w
}

// ordinaryHousehold adds a single adult, a couple, or a family with children.
func (g *popBuilder) ordinaryHousehold() {
	r := g.r
	h := g.household("")
	switch x := r.IntN(100); {
	case x < 35 || g.budget == 1:
		g.budget--
		p := g.member(h, randomSex(r), birthAt(r, g.o.End, 18+r.IntN(75)))
		if p.sex == "female" && age(p.birth, g.o.End) > 30 && r.IntN(10) < 3 {
			p.maiden = pickWeighted(r, families)
		}
	case x < 60:
		g.budget--
		p := g.member(h, "male", birthAt(r, g.o.End, 22+r.IntN(70)))
		g.spouse(h, p)
	default:
		kids := 1 + r.IntN(3)
		oldest := r.IntN(18)
		g.parent(h, oldest)
		if x < 85 && g.budget > 0 {
			g.parent(h, oldest)
		}
		for k := 0; k < kids && g.budget > 0; k++ {
			g.budget--
			g.member(h, randomSex(r), birthAt(r, g.o.End, max(0, oldest-k*(1+r.IntN(4)))))
		}
	}
}

// move makes a household, with the share MovedShare, have moved during the
// history: from an older address, maybe in another town, to the current one.
func (g *popBuilder) move(h *household) {
	r := g.r
	if r.Float64() >= g.o.MovedShare {
		return
	}
	old := newAddress(r, pick(r, towns))
	span := g.o.End.Sub(g.o.End.AddDate(-g.o.Years, 0, 0))
	at := g.o.End.Add(-time.Duration(float64(span) * (0.1 + 0.8*r.Float64()))).Truncate(24 * time.Hour)
	for _, p := range h.members {
		if p.addr == h.addr && p.birth.Before(at) {
			p.prev, p.movedAt = &old, at
		}
	}
}

func age(birth, at time.Time) int {
	a := at.Year() - birth.Year()
	if at.YearDay() < birth.YearDay() {
		a--
	}
	return a
}

// kindWeight is how likely a person is to be known to a source of a kind, beyond
// their primary source.
func kindWeight(kind string, p *person, end time.Time) float64 {
	switch kind {
	case KindHospital:
		return 3
	case KindClinic:
		return 2.5
	case KindLab:
		return 2
	case KindPharmacy:
		if age(p.birth, end) < 12 {
			return 0.5
		}
		return 2
	}
	return 1
}

// assignSources gives every person their sources: the household's primary one
// (mostly), and with the share MultiSourceShare one to three more. A second twin
// usually shares the first twin's sources.
func (g *popBuilder) assignSources(pop *population, follow map[*person]*person) {
	r := g.r
	home := map[*person]int{}
	for _, h := range g.households {
		for _, p := range h.members {
			home[p] = h.primary
		}
	}
	k := len(g.srcs)
	for _, p := range pop.people {
		if twin := follow[p]; twin != nil && r.IntN(10) < 7 {
			p.sources = append([]int(nil), twin.sources...)
			continue
		}
		first := home[p]
		if r.IntN(100) >= 85 {
			first = r.IntN(k)
		}
		p.sources = []int{first}
		want := 1
		if k > 1 && r.Float64() < g.o.MultiSourceShare {
			want = 2
			for want < min(k, 4) && r.IntN(100) < 30 {
				want++
			}
		}
		for len(p.sources) < want {
			total := 0.0
			for i, s := range g.srcs {
				if !contains(p.sources, i) {
					total += kindWeight(s.Kind, p, g.o.End)
				}
			}
			x := r.Float64() * total
			for i, s := range g.srcs {
				if contains(p.sources, i) {
					continue
				}
				if x -= kindWeight(s.Kind, p, g.o.End); x < 0 {
					p.sources = append(p.sources, i)
					break
				}
			}
		}
	}
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// assignMRNs gives each person a medical record number at each of their
// sources, drawn at random in the source's own format, so that the order of
// MRNs says nothing about who is who at another source.
func assignMRNs(o Options, srcs []*Source, people []*person) {
	// Enough digits that a random draw rarely hits a number in use.
	digits := 6
	for n := 100_000; n < 20*o.People; n *= 10 {
		digits++
	}
	rs := make([]*rand.Rand, len(srcs))
	used := make([]map[string]bool, len(srcs))
	for i := range srcs {
		rs[i] = stream(o.Seed, streamMRN, uint64(i))
		used[i] = map[string]bool{}
	}
	for _, p := range people {
		p.mrns = make([]string, len(p.sources))
		for j, si := range p.sources {
			for {
				m := mrnFormat(srcs[si].Kind, rs[si], digits)
				if !used[si][m] {
					used[si][m] = true
					p.mrns[j] = m
					srcs[si].Patients++
					break
				}
			}
		}
	}
}

func mrnFormat(kind string, r *rand.Rand, digits int) string {
	n := func(d int) string {
		lo := int(math.Pow10(d - 1))
		return fmt.Sprintf("%0*d", d, lo+r.IntN(9*lo))
	}
	switch kind {
	case KindHospital:
		return n(digits + 2)
	case KindLab:
		return "L" + n(digits+1)
	case KindPharmacy:
		return "RX" + n(digits)
	}
	return n(digits)
}

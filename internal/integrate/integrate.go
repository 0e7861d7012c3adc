// Package integrate joins several sources' records of one human into the facts of
// an integrated record: the same lab result, problem, allergy, medication,
// immunization, procedure or encounter recorded by two sources becomes one fact
// that says which records it stands for, and two sources that disagree about one
// fact are reported as a conflict, with both records kept. Nothing is ever
// resolved silently, and nothing is joined on a guess: records that the rules
// cannot show to be the same fact stay apart.
//
// The rules are written in docs/integrated-record.md. The package is pure: it
// reads resource trees and changes none.
package integrate

import "omnichart/internal/fhir"

// Record is one source record to integrate.
type Record struct {
	// Ref is the record's "Type/id".
	Ref string
	// Source is the URI of the source that owns it.
	Source string
	// Resource is its tree; Integrate does not change it.
	Resource fhir.Resource
}

// Fact is one fact of the integrated record.
type Fact struct {
	// Record is the record that shows the fact: the first of its records in the
	// order Integrate was given them.
	Record Record
	// Also are the records of other sources that state the same fact and agree
	// with Record about it.
	Also []Record
}

// Conflict is two sources' records of one fact that disagree.
type Conflict struct {
	// Element is what they disagree about, e.g. "AllergyIntolerance.clinicalStatus".
	Element string
	// Records are the two records, in the order Integrate was given them.
	Records [2]Record
	// Values are what each of them says, in words.
	Values [2]string
}

// Result is an integrated record.
type Result struct {
	// Facts hold every record given, each in exactly one fact, in the order of
	// the facts' first records.
	Facts []Fact
	// Conflicts are the disagreements found, in the order found.
	Conflicts []Conflict
}

// relation is what two records are to each other.
type relation int

const (
	distinct relation = iota // not shown to be one fact: both stay
	same                     // one fact, and they agree
	conflict                 // one fact, and they disagree
)

// verdict is the outcome of comparing two records of one kind.
type verdict struct {
	rel     relation
	element string    // with conflict: what they disagree about
	values  [2]string // with conflict: what each says
}

// Integrate joins recs. Records are joined only across sources (what one source
// says twice is shown twice), only when the rules of their kind say they are the
// same fact and no record already joined disagrees, and never when a record is
// marked entered-in-error.
func Integrate(recs []Record) Result { return IntegrateWith(recs, Options{}) }

// Options are what Integrate may know beyond the records.
type Options struct {
	// Terminology, when set, lets codes it maps as equivalent count as the same
	// code (a laboratory's local code and its LOINC code).
	Terminology *Terminology
}

// IntegrateWith is Integrate with opts.
func IntegrateWith(recs []Record, opts Options) Result {
	type member struct {
		Record
		view fhir.Resource // what the rules compare: the record with its mapped codes
	}
	type group struct {
		kind    string
		members []member
	}
	var groups []*group
	var res Result
	for _, rec := range recs {
		r := member{Record: rec, view: opts.Terminology.expand(rec.Resource)}
		k := kindOf(r.Resource)
		var joined *group
		if k != nil && !enteredInError(r.Resource) {
			for _, g := range groups {
				if g.kind != k.name || joined != nil {
					continue
				}
				all := true
				for _, m := range g.members {
					v := verdict{rel: distinct}
					if m.Source != r.Source {
						v = k.compare(m.view, r.view)
					}
					if v.rel == conflict {
						res.Conflicts = append(res.Conflicts, Conflict{Element: v.element, Records: [2]Record{m.Record, r.Record}, Values: v.values})
					}
					if v.rel != same {
						all = false
						break
					}
				}
				if all {
					joined = g
				}
			}
		}
		if joined != nil {
			joined.members = append(joined.members, r)
			continue
		}
		kind := ""
		if k != nil && !enteredInError(r.Resource) {
			kind = k.name
		}
		groups = append(groups, &group{kind: kind, members: []member{r}})
	}
	for _, g := range groups {
		f := Fact{Record: g.members[0].Record}
		for _, m := range g.members[1:] {
			f.Also = append(f.Also, m.Record)
		}
		res.Facts = append(res.Facts, f)
	}
	return res
}

// FactIndex maps the reference of every record in r, shown or not, to the index
// of its fact.
func (r Result) FactIndex() map[string]int {
	out := map[string]int{}
	for i, f := range r.Facts {
		out[f.Record.Ref] = i
		for _, o := range f.Also {
			out[o.Ref] = i
		}
	}
	return out
}

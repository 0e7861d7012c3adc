package match_test

import (
	"fmt"
	"testing"
	"time"

	"omnichart/internal/ehrtest"
	"omnichart/internal/gen"
	"omnichart/internal/match"
)

// population is a generated population read as the matcher sees it: one
// Record per source record (the Patient the import would keep), and the truth
// of who is who.
type population struct {
	records []match.Record
	// person maps each record to the id of the person it is, by truth.json.
	person map[match.Ref]string
	truth  gen.Truth
}

// MustGenerate generates a population with gen at a difficulty and size and
// reads its Patients as ehrtest.GeneratePopulation does (from each FHIR Bundle
// the Patient entry, from each HL7 v2 file the Patient of its first message as
// updated by every later ADT^A08). Record ids are the MRNs.
func MustGenerate(tb testing.TB, difficulty string, people int, seed int64) *population {
	tb.Helper()
	o, err := gen.Preset(difficulty)
	if err != nil {
		tb.Fatal(err)
	}
	o.People, o.Seed = people, seed
	gp := ehrtest.GeneratePopulation(tb, o)
	pop := &population{person: map[match.Ref]string{}, truth: gp.Truth}
	for _, p := range gp.Patients {
		pop.records = append(pop.records, match.Record{Source: p.Key.Source, ID: p.Key.MRN, Patient: p.Patient})
	}
	for key, person := range gp.Person {
		pop.person[match.Ref{Source: key.Source, ID: key.MRN}] = person
	}
	return pop
}

// quality is pairwise linkage quality against the truth.
type quality struct {
	truePairs, predicted, correct, reviewed int
	precision, recall, f1, reviewShare      float64
	falseReviews                            int
}

// measure compares the persons of r with the truth: a predicted pair is two
// records in one person, a true pair two records of one person by the truth.
// A true pair is sent to review when its records are in two persons that a
// review pair joins.
func measure(pop *population, r *match.Result) quality {
	var q quality
	personOf := map[match.Ref]int{}
	for i, p := range r.Persons {
		for _, ref := range p.Records {
			personOf[ref] = i
		}
		for i := range p.Records {
			for j := i + 1; j < len(p.Records); j++ {
				q.predicted++
				if pop.person[p.Records[i]] == pop.person[p.Records[j]] {
					q.correct++
				}
			}
		}
	}
	groups := map[string][]match.Ref{}
	for ref, id := range pop.person {
		groups[id] = append(groups[id], ref)
	}
	reviewed := map[[2]int]bool{}
	for _, p := range r.Reviews() {
		a, b := personOf[p.A], personOf[p.B]
		reviewed[[2]int{min(a, b), max(a, b)}] = true
		if pop.person[p.A] != pop.person[p.B] {
			q.falseReviews++
		}
	}
	for _, refs := range groups {
		for i := range refs {
			for j := i + 1; j < len(refs); j++ {
				q.truePairs++
				a, b := personOf[refs[i]], personOf[refs[j]]
				if a != b && reviewed[[2]int{min(a, b), max(a, b)}] {
					q.reviewed++
				}
			}
		}
	}
	q.precision, q.recall = 1, 1
	if q.predicted > 0 {
		q.precision = float64(q.correct) / float64(q.predicted)
	}
	if q.truePairs > 0 {
		q.recall = float64(q.correct) / float64(q.truePairs)
		q.reviewShare = float64(q.reviewed) / float64(q.truePairs)
	}
	if q.precision+q.recall > 0 {
		q.f1 = 2 * q.precision * q.recall / (q.precision + q.recall)
	}
	return q
}

// TestLinkageQuality generates populations at each difficulty and three
// sizes, matches their Patients, and measures pairwise precision, recall, F1
// and the share of true pairs sent to review against truth.json. The goal of
// the master patient index is precision of at least 0.999 and F1 of at least
// 0.99 with at most 3% of true pairs sent to review, on the hardest level;
// the test holds every level to it. No two people planted as look-alikes
// (twins, father and son, a common name) may end up as one person. The 5,000
// people populations are left out with -short.
func TestLinkageQuality(t *testing.T) {
	const minPrecision, minF1, maxReview = 0.999, 0.99, 0.03
	for _, difficulty := range gen.Difficulties {
		for _, people := range []int{200, 1000, 5000} {
			t.Run(fmt.Sprintf("%s/%d", difficulty, people), func(t *testing.T) {
				if people > 1000 && testing.Short() {
					t.Skip("5,000 people take a while; run without -short")
				}
				pop := MustGenerate(t, difficulty, people, 1)
				start := time.Now()
				r, err := match.Batch(pop.records, match.DefaultConfig())
				if err != nil {
					t.Fatal(err)
				}
				took := time.Since(start)
				q := measure(pop, r)
				t.Logf("%s, %d people, %d records: precision %.4f recall %.4f F1 %.4f review %.4f (%d true pairs, %d linked, %d correct, %d sent to review; %d compared pairs, %d false pairs to review) in %v",
					difficulty, people, len(pop.records), q.precision, q.recall, q.f1, q.reviewShare,
					q.truePairs, q.predicted, q.correct, q.reviewed, r.Stats.Pairs, q.falseReviews, took.Round(time.Millisecond))
				if q.precision < minPrecision {
					t.Errorf("precision %.4f, want at least %v", q.precision, minPrecision)
				}
				if q.f1 < minF1 {
					t.Errorf("F1 %.4f, want at least %v", q.f1, minF1)
				}
				if q.reviewShare > maxReview {
					t.Errorf("%.4f of true pairs sent to review, want at most %v", q.reviewShare, maxReview)
				}
				// Blocking keeps the work linear: a few compared pairs per record, at any size.
				if perRecord := float64(r.Stats.Pairs) / float64(len(pop.records)); perRecord > 5 {
					t.Errorf("%.1f compared pairs per record, want at most 5", perRecord)
				}
				personOf := map[match.Ref]int{}
				for i, p := range r.Persons {
					for _, ref := range p.Records {
						personOf[ref] = i
					}
				}
				recordsOf := map[string][]match.Ref{}
				for ref, id := range pop.person {
					recordsOf[id] = append(recordsOf[id], ref)
				}
				for _, hn := range pop.truth.HardNegatives {
					seen := map[int]string{}
					for _, id := range hn.Persons {
						for _, ref := range recordsOf[id] {
							if other, ok := seen[personOf[ref]]; ok && other != id {
								t.Errorf("%s %s and %s are one person", hn.Kind, other, id)
							}
							seen[personOf[ref]] = id
						}
					}
				}
			})
		}
	}
}

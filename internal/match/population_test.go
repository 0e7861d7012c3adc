package match_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"omnichart/internal/fhir"
	"omnichart/internal/gen"
	"omnichart/internal/ingest/hl7v2"
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
// reads its Patients: from each FHIR Bundle the Patient entry, from each HL7
// v2 file the Patient of its first message as updated by every later ADT^A08
// (what a conditional create followed by conditional updates keeps), each
// message converted by hl7v2.Convert. Record ids are the MRNs.
func MustGenerate(tb testing.TB, difficulty string, people int, seed int64) *population {
	tb.Helper()
	o, err := gen.Preset(difficulty)
	if err != nil {
		tb.Fatal(err)
	}
	o.People, o.Seed = people, seed
	pop := &population{person: map[match.Ref]string{}}
	var truth []byte
	_, err = gen.Generate(o, func(name string, data []byte) error {
		if name == "truth.json" {
			truth = data
			return nil
		}
		rest, ok := strings.CutPrefix(name, "sources/")
		if !ok {
			return nil
		}
		slug, file, _ := strings.Cut(rest, "/")
		ref := match.Ref{Source: gen.SourceURIPrefix + slug, ID: strings.TrimSuffix(strings.TrimSuffix(file, ".json"), ".hl7")}
		var patient map[string]any
		if strings.HasSuffix(file, ".json") {
			patient = patientOfBundle(tb, data)
		} else {
			patient = patientOfHL7(tb, data)
		}
		if patient == nil {
			tb.Fatalf("%s: no Patient", name)
		}
		pop.records = append(pop.records, match.Record{Source: ref.Source, ID: ref.ID, Patient: patient})
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(truth, &pop.truth); err != nil {
		tb.Fatalf("read truth.json: %v", err)
	}
	for _, p := range pop.truth.Persons {
		for _, r := range p.Records {
			pop.person[match.Ref{Source: gen.SourceURIPrefix + r.Source, ID: r.MRN}] = p.ID
		}
	}
	return pop
}

func patientOfBundle(tb testing.TB, data []byte) map[string]any {
	tb.Helper()
	b, err := fhir.Decode(data)
	if err != nil {
		tb.Fatalf("decode bundle: %v", err)
	}
	for _, e := range fhir.Array(b, "entry") {
		res := fhir.Object(e.(map[string]any), "resource")
		if fhir.String(res, "resourceType") == "Patient" {
			return res
		}
	}
	return nil
}

func patientOfHL7(tb testing.TB, data []byte) map[string]any {
	tb.Helper()
	var patient map[string]any
	n := 0
	opts := hl7v2.Options{
		NewID: func() string { n++; return "id" + strconv.Itoa(n) },
		Now:   func() time.Time { return gen.DefaultEnd },
	}
	for i, raw := range hl7v2.SplitMessages(data) {
		if i > 0 && !strings.Contains(string(raw[:min(len(raw), 200)]), "ADT^A08") {
			continue
		}
		msg, err := hl7v2.Parse(raw)
		if err != nil {
			tb.Fatalf("parse message %d: %v", i, err)
		}
		if i > 0 && msg.Type() != "ADT^A08" {
			continue
		}
		res, err := hl7v2.Convert(msg, opts)
		if err != nil {
			tb.Fatalf("convert message %d: %v", i, err)
		}
		for _, e := range fhir.Array(res.Bundle, "entry") {
			r := fhir.Object(e.(map[string]any), "resource")
			if fhir.String(r, "resourceType") == "Patient" {
				patient = r
				break
			}
		}
	}
	return patient
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

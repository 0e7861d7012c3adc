package mpi

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/match"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

var benchRecords = flag.Int("mpi.records", 10000, "records already matched when BenchmarkCommitPatient adds one")

var (
	benchGiven  = []string{"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra", "Donald", "Ashley", "Steven", "Kimberly", "Andrew", "Emily", "Paul", "Donna", "Joshua", "Michelle", "Kenneth", "Carol", "Kevin", "Amanda", "Brian", "Melissa", "George", "Deborah", "Timothy", "Stephanie", "Ronald", "Rebecca"}
	benchFamily = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Kowalski", "Novak", "Okafor", "Schmidt", "Ivanova", "Haddad", "Tanaka", "Silva", "Cohen", "Murphy"}
)

// benchPatient is a random Patient: a name of the lists, a birth date in 90
// years, a house in one of 2,000 ZIP codes, a phone of its own.
func benchPatient(r *rand.Rand) map[string]any {
	birth := time.Date(1930, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(90*365))
	zip := fmt.Sprintf("%05d", 1000+r.IntN(2000))
	sex := []string{"male", "female"}[r.IntN(2)]
	return map[string]any{"resourceType": "Patient", "gender": sex, "birthDate": birth.Format("2006-01-02"),
		"name":    []any{map[string]any{"family": benchFamily[r.IntN(len(benchFamily))], "given": []any{benchGiven[r.IntN(len(benchGiven))]}}},
		"address": []any{map[string]any{"line": []any{fmt.Sprintf("%d Main Street", 1+r.IntN(9000))}, "city": "Springfield", "postalCode": zip}},
		"telecom": []any{map[string]any{"system": "phone", "value": fmt.Sprintf("413%07d", r.IntN(10000000))}}}
}

// BenchmarkCommitPatient measures what the master patient index adds to the
// write of one new Patient when many are matched already: the after-commit
// hook matches it and writes its Person (and any review task) in one
// transaction of the store. Half of the new Patients are another source's
// record of a matched one, so that they join a person and rewrite its
// Person. The index is built in memory as if its records had been matched
// and stored (the store holds only what the benchmark writes), so that the
// setup does not write a hundred thousand Persons first. It reports the
// median and 99th percentile of one hook call.
//
//	go test ./internal/mpi/ -run '^$' -bench CommitPatient -benchtime 1000x -mpi.records 100000
func BenchmarkCommitPatient(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			if engine == "postgres" {
				ehrtest.PostgresURL(b)
			}
			st := ehrtest.MustOpen(b, engine, store.Options{})
			var m *MPI
			var took []time.Duration
			svc := service.New(st, service.Options{AfterCommit: func(ctx context.Context, recs []*ehr.Record) {
				if recs[0].Type != "Patient" {
					m.Committed(ctx, recs) // the MPI's own writes, timed within the Patient's
					return
				}
				start := time.Now()
				m.Committed(ctx, recs)
				took = append(took, time.Since(start))
			}})
			m = New(svc, Options{})
			r := rand.New(rand.NewPCG(1, 2))
			records := make([]match.Record, *benchRecords)
			for i := range records {
				records[i] = match.Record{Source: "urn:omnichart:source:bench-a", ID: fmt.Sprintf("bench-%07d", i), Patient: benchPatient(r)}
			}
			m.loadMatched(b, records)
			runtime.GC()
			src := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "source/bench-b", Source: "urn:omnichart:source:bench-b", System: true})
			i := 0
			b.ResetTimer()
			for b.Loop() {
				res := benchPatient(r)
				if i%2 == 0 {
					res = records[r.IntN(len(records))].Patient
				}
				i++
				if _, _, err := svc.Create(src, clonePatient(res), ""); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			slices.Sort(took)
			b.ReportMetric(float64(len(records)), "records")
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

func clonePatient(p map[string]any) map[string]any {
	out := make(map[string]any, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}

// loadMatched puts the MPI in the state a rematch of records leaves it in,
// without writing the Persons to the store.
func (m *MPI) loadMatched(b *testing.B, records []match.Record) {
	var err error
	if m.ix, err = match.NewIndex(records, m.cfg); err != nil {
		b.Fatal(err)
	}
	m.refs, m.versions = map[string]match.Ref{}, map[string]int64{}
	for _, r := range records {
		m.refs[r.ID] = r.Ref()
		m.versions[r.ID] = 1
	}
	m.decisions, m.decidedWith = map[pairIDs]*Decision{}, map[string][]pairIDs{}
	m.persons, m.tasks = map[string][]link{}, map[string]taskView{}
	for _, p := range m.ix.Result().Persons {
		m.persons[PersonID(p.Key)] = m.desiredPerson(p.Key)
	}
}

// BenchmarkRematch measures a rematch of a store of Patients that have no
// Persons yet, as the first start over an existing store does: read every
// Patient through the engine, match them in one batch, write a Person for
// each person. Writing the Patients is not timed. Each operation runs on a
// new store.
//
//	go test ./internal/mpi/ -run '^$' -bench Rematch/sqlite -benchtime 1x -mpi.records 100000
func BenchmarkRematch(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			if engine == "postgres" {
				ehrtest.PostgresURL(b)
			}
			var rep *Report
			for b.Loop() {
				b.StopTimer()
				st := ehrtest.MustOpen(b, engine, store.Options{})
				svc := service.New(st, service.Options{})
				r := rand.New(rand.NewPCG(1, 2))
				src := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "source/bench-a", Source: "urn:omnichart:source:bench-a", System: true})
				for done := 0; done < *benchRecords; {
					var changes []ehr.Change
					for ; done < *benchRecords && len(changes) < 1000; done++ {
						changes = append(changes, ehr.Change{Method: "POST", Type: "Patient", Resource: benchPatient(r)})
					}
					if _, err := svc.Apply(src, "transaction", changes, ehr.ApplyOptions{}); err != nil {
						b.Fatal(err)
					}
				}
				runtime.GC()
				b.StartTimer()
				var err error
				if _, rep, err = Open(ehr.WithPrincipal(context.Background(), ehr.SystemPrincipal), svc, Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rep.Patients), "records")
			b.ReportMetric(float64(rep.Persons), "persons")
			b.ReportMetric(float64(rep.PersonsWritten), "persons-written")
			b.ReportMetric(rep.Read.Seconds(), "read-s")
			b.ReportMetric(rep.Matched.Seconds(), "match-s")
			b.ReportMetric(rep.Written.Seconds(), "write-s")
		})
	}
}

package audit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"omnichart/internal/audit"
	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/store"
)

// BenchmarkRecord measures one audit record committed alone (serial) and with
// 8 callers at once per core (parallel), where group commit shares a commit
// among the records waiting for it; each for a log whose records wait for
// their durable commit (commit) and for one as the server runs it, which spools
// them and commits them within 200 ms (spool).
//
//	go test ./internal/audit/ -run '^$' -bench BenchmarkRecord -benchtime 2s
func BenchmarkRecord(b *testing.B) {
	for _, engine := range ehrtest.Engines {
		b.Run(engine, func(b *testing.B) {
			st := ehrtest.MustOpen(b, engine, store.Options{})
			for _, mode := range []struct {
				name  string
				spool string
			}{{"commit", ""}, {"spool", b.TempDir()}} {
				b.Run(mode.name, func(b *testing.B) {
					l, err := audit.New(audit.Options{Store: st, Key: testKey, SpoolDir: mode.spool, FlushDelay: 200 * time.Millisecond})
					if err != nil {
						b.Fatal(err)
					}
					benchmarkRecord(b, l)
				})
			}
		})
	}
}

func benchmarkRecord(b *testing.B, l *audit.Log) {
	ev := func(i int) ehr.AccessEvent {
		return ehr.AccessEvent{Subject: "user/bench", Client: "app", Address: "127.0.0.1", Interaction: "search",
			Type: "Observation", Params: []string{"subject", "code"}, Outcome: "ok",
			Records:  []string{fmt.Sprintf("Observation/%d/_history/1", i)},
			Patients: []string{fmt.Sprintf("Patient/%d", i%50)}}
	}
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if err := l.Record(ctx, ev(i)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if err := l.Record(ctx, ev(i)); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}

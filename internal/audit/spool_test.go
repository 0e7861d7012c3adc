package audit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/store"
)

var spoolKey = []byte("0123456789abcdef0123456789abcdef")

func readEvent(i int) ehr.AccessEvent {
	return ehr.AccessEvent{Subject: "user/u", Interaction: "read", Type: "Patient", ID: fmt.Sprintf("p%d", i),
		Patients: []string{fmt.Sprintf("Patient/p%d", i)}, Outcome: "ok"}
}

// loggedIDs returns the event ids of every record in the log, in chain order,
// after checking that the chain verifies and holds want records.
func loggedIDs(t *testing.T, st *store.Store, want int) []string {
	t.Helper()
	ctx := context.Background()
	rep, err := Verify(ctx, st, spoolKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 0 || rep.Records != int64(want) {
		t.Fatalf("Verify = %d records, problems %v; want %d records and none", rep.Records, rep.Problems, want)
	}
	entries, err := st.AuditEntries(ctx, ehr.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range entries {
		ev, err := Event(e)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.ID)
	}
	slices.Reverse(ids) // AuditEntries lists newest first
	return ids
}

func spoolFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+spoolSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// die lets go of the log's spool file as a killed process would: the file
// stays, its lock is gone, nothing more is committed from memory.
func die(l *Log) {
	sp := &l.spool
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.armed = true // no move is ever scheduled again
	for _, seg := range append(sp.full, sp.cur) {
		if seg != nil {
			seg.file.Close()
		}
	}
	sp.cur, sp.full = nil, nil
}

// TestSpooledRecordsJoinTheChain: reads spooled and data changes recorded in
// their transactions, interleaved; within the delay every spooled record is in
// the chain, which verifies, and the spool files are gone.
func TestSpooledRecordsJoinTheChain(t *testing.T) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			dir := t.TempDir()
			var moveErrs []error
			l, err := New(Options{Store: st, Key: spoolKey, SpoolDir: dir, FlushDelay: 20 * time.Millisecond,
				OnMoveError: func(err error) { moveErrs = append(moveErrs, err) }})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			const n = 30
			var want []string
			for i := 1; i <= n; i++ {
				ev := readEvent(i)
				want = append(want, ev.ID)
				if i%5 == 0 {
					err = st.Transaction(ctx, func(tx ehr.Tx) error {
						rec, err := tx.Create(ctx, ev.ID, map[string]any{"resourceType": "Patient"})
						if err != nil {
							return err
						}
						ev.Interaction, ev.Records = "create", []string{rec.Reference()}
						return l.RecordTx(ctx, tx, ev)
					})
				} else {
					err = l.Record(ctx, ev)
				}
				if err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
				if i%10 == 0 {
					time.Sleep(30 * time.Millisecond) // let a move happen between records
				}
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(spoolFiles(t, dir)) > 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if err := l.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			got := loggedIDs(t, st, n)
			// Data changes are sealed at once, reads when their file moves:
			// the chain holds each record once, not necessarily in call order.
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("the chain holds %v, want each of %v once", got, want)
			}
			if files := spoolFiles(t, dir); len(files) != 0 {
				t.Fatalf("spool files left after the move: %v", files)
			}
			if len(moveErrs) != 0 {
				t.Fatalf("moves failed: %v", moveErrs)
			}
		})
	}
}

// TestRecoverCommitsWhatAKilledProcessSpooled: a log dies with records in its
// spool; another log's Recover commits them (and not a living log's file),
// reports a frame changed on disk and a frame torn at the end, and leaves the
// other frames in.
func TestRecoverCommitsWhatAKilledProcessSpooled(t *testing.T) {
	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			dir := t.TempDir()
			ctx := context.Background()
			open := func() *Log {
				l, err := New(Options{Store: st, Key: spoolKey, SpoolDir: dir, FlushDelay: time.Hour})
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			dead, alive, recoverer := open(), open(), open()
			for i := 1; i <= 6; i++ {
				if err := dead.Record(ctx, readEvent(i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := alive.Record(ctx, readEvent(100)); err != nil {
				t.Fatal(err)
			}
			deadFile := dead.spool.cur.name
			die(dead)

			// Change frame 2 on disk, and cut the last frame short.
			b, err := os.ReadFile(deadFile)
			if err != nil {
				t.Fatal(err)
			}
			at := strings.Index(string(b), `"p2`)
			if at < 0 {
				t.Fatal("frame 2 not found in the spool file")
			}
			b[at+2] = '9'
			b = b[:len(b)-5]
			if err := os.WriteFile(deadFile, b, 0o600); err != nil {
				t.Fatal(err)
			}

			n, problems, err := recoverer.Recover(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			if n != 4 {
				t.Errorf("Recover committed %d records, want 4 (6 spooled, one changed, one torn)", n)
			}
			joined := strings.Join(problems, "\n")
			if len(problems) != 2 || !strings.Contains(joined, "frame 2 does not match its MAC") || !strings.Contains(joined, "frame 6 is torn") {
				t.Errorf("Recover problems = %q, want frame 2 changed and frame 6 torn", problems)
			}
			if got := loggedIDs(t, st, 4); !slices.Equal(got, []string{"p1", "p3", "p4", "p5"}) {
				t.Errorf("recovered %v, want p1 p3 p4 p5 in spool order", got)
			}
			if _, err := os.Stat(deadFile); !os.IsNotExist(err) {
				t.Errorf("the recovered file is still there (%v)", err)
			}
			// The living log's file was not taken; its own move commits it.
			if files := spoolFiles(t, dir); len(files) != 1 {
				t.Fatalf("spool files = %v, want the living log's one", files)
			}
			if err := alive.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			if got := loggedIDs(t, st, 5); got[4] != "p100" {
				t.Errorf("after the living log's sync the chain ends %v, want p100", got)
			}
			if n, _, err := recoverer.Recover(ctx, dir); n != 0 || err != nil {
				t.Errorf("a second Recover committed %d (%v), want nothing", n, err)
			}
		})
	}
}

// TestSpoolRefusesRecordsWhenTooManyWait: past MaxSpooled waiting records,
// Record fails (and the request with it) instead of serving unrecorded.
func TestSpoolRefusesRecordsWhenTooManyWait(t *testing.T) {
	st := ehrtest.MustOpen(t, "sqlite", store.Options{})
	l, err := New(Options{Store: st, Key: spoolKey, SpoolDir: t.TempDir(), FlushDelay: time.Hour, MaxSpooled: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		if err := l.Record(ctx, readEvent(i)); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if err := l.Record(ctx, readEvent(4)); err == nil {
		t.Fatal("the fourth record was taken with three waiting and MaxSpooled 3")
	}
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, readEvent(5)); err != nil {
		t.Fatalf("after the spool was committed a record was refused: %v", err)
	}
}

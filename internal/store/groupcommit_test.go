package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/store"
	"omnichart/internal/store/sqlite"
)

// TestGroupCommitKeepsEachWritersOutcome runs writers at once on SQLite, where
// writers that queue up share a transaction and its commit. Every third
// transaction of each writer fails after it has written: what it wrote must be
// gone, while the work of the writers sharing its transaction must be there,
// also after the database is closed and opened again.
func TestGroupCommitKeepsEachWritersOutcome(t *testing.T) {
	const writers, perWriter = 8, 24
	path := filepath.Join(t.TempDir(), "omnichart.db")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	errRefused := errors.New("refused after writing")
	var mu sync.Mutex
	var kept, refused []string
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				id := fmt.Sprintf("gc-%d-%d", w, i)
				err := st.Transaction(ctx, func(tx ehr.Tx) error {
					_, err := tx.Create(ctx, id, map[string]any{"resourceType": "Patient",
						"identifier": []any{map[string]any{"system": "http://mrn.example", "value": id}}})
					if err != nil {
						return err
					}
					if i%3 == 2 {
						return errRefused
					}
					return nil
				})
				mu.Lock()
				switch {
				case err == nil:
					kept = append(kept, id)
				case errors.Is(err, errRefused):
					refused = append(refused, id)
				default:
					t.Errorf("Transaction of writer %d, #%d: %v", w, i, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if want := writers * perWriter * 2 / 3; len(kept) != want || len(refused) != writers*perWriter-want {
		t.Fatalf("%d transactions committed and %d refused, want %d and %d", len(kept), len(refused), want, writers*perWriter-want)
	}
	commits := st.Commits()
	if commits < 1 || commits >= int64(len(kept)) {
		t.Errorf("%d transactions committed with %d commits; want fewer commits than transactions (shared)", len(kept), commits)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, err = sqlite.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, id := range kept {
		if _, err := st.Read(ctx, "Patient", id); err != nil {
			t.Errorf("Read(Patient/%s) of a committed transaction after reopening: %v", id, err)
		}
	}
	for _, id := range refused {
		if _, err := st.Read(ctx, "Patient", id); ehr.ErrorCode(err) != ehr.NotFound {
			t.Errorf("Read(Patient/%s) of a refused transaction = %v, want NotFound", id, err)
		}
	}
}

// TestKeptStatementsGiveTheSameResults reads and writes the same shapes of
// query again and again on SQLite, where the store keeps their prepared
// statements from the second time on: every answer must be what the first,
// unprepared, run gave.
func TestKeptStatementsGiveTheSameResults(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "omnichart.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const n = 6
	for i := range n {
		id := fmt.Sprintf("kept-%d", i)
		if _, err := st.Create(ctx, id, map[string]any{"resourceType": "Patient", "gender": "female",
			"name": []any{map[string]any{"family": fmt.Sprintf("Family%d", i)}}}); err != nil {
			t.Fatalf("Create(Patient/%s): %v", id, err)
		}
	}
	for round := range 3 {
		for i := range n {
			id := fmt.Sprintf("kept-%d", i)
			rec, err := st.Read(ctx, "Patient", id)
			if err != nil {
				t.Fatalf("round %d: Read(Patient/%s): %v", round, id, err)
			}
			if want := fmt.Sprintf(`"family":"Family%d"`, i); rec.ID != id || !strings.Contains(string(rec.Resource), want) {
				t.Errorf("round %d: Read(Patient/%s) = %s %s, want its own body with %s", round, id, rec.ID, rec.Resource, want)
			}
		}
	}
	read, write := st.KeptStatements()
	if read == 0 || write == 0 {
		t.Errorf("KeptStatements() = %d read, %d write after repeated reads and writes, want some of each", read, write)
	}
}

// TestGroupCommitWithCancelledWriters runs writers at once on SQLite whose
// requests end at random moments, some while their statements run in a shared
// transaction. Each transaction writes three resources: afterwards each must
// have all three when it was acknowledged and none when it failed.
func TestGroupCommitWithCancelledWriters(t *testing.T) {
	const writers, perWriter = 8, 30
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "omnichart.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	outcome := map[string]error{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				key := fmt.Sprintf("c-%d-%d", w, i)
				// Every third runs to its end; the others end after 0 to 2.9 ms:
				// some before, some during, some after their write.
				wctx, cancel := context.WithCancel(ctx)
				if i%3 != 0 {
					wctx, cancel = context.WithTimeout(ctx, time.Duration((w*7+i*13)%30)*100*time.Microsecond)
				}
				err := st.Transaction(wctx, func(tx ehr.Tx) error {
					for n, typ := range []string{"Patient", "Observation", "Observation"} {
						res := map[string]any{"resourceType": typ}
						if typ == "Observation" {
							res["status"] = "final"
							res["code"] = map[string]any{"text": "pulse"}
							res["subject"] = map[string]any{"reference": "Patient/" + key}
						}
						if _, err := tx.Create(wctx, fmt.Sprintf("%s-%d", key, n), res); err != nil {
							return err
						}
					}
					return nil
				})
				cancel()
				mu.Lock()
				outcome[key] = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	acked := 0
	for key, werr := range outcome {
		found := 0
		for n, typ := range []string{"Patient", "Observation", "Observation"} {
			_, err := st.Read(ctx, typ, fmt.Sprintf("%s-%d", key, n))
			switch {
			case err == nil:
				found++
			case ehr.ErrorCode(err) != ehr.NotFound:
				t.Fatalf("Read(%s/%s-%d): %v", typ, key, n, err)
			}
		}
		if werr == nil {
			acked++
		}
		if want := map[bool]int{true: 3, false: 0}[werr == nil]; found != want {
			t.Errorf("transaction %s ended with %v and left %d of its 3 resources, want %d", key, werr, found, want)
		}
	}
	if acked == 0 || acked == len(outcome) {
		t.Errorf("%d of %d transactions acknowledged; want some acknowledged and some ended by their context", acked, len(outcome))
	}
}

// TestGroupCommitWhenTheWaitingWriterGivesUp has a writer end its write while
// another waits for its turn, and the waiting one give up at the same moment
// (its request ends). The first may have left the transaction open for the
// one that gave up: it must still be committed and answered. A transaction
// that nobody commits would leave the first writer waiting for ever, which the
// test reports after a minute.
func TestGroupCommitWhenTheWaitingWriterGivesUp(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "omnichart.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const rounds = 100
	for i := range rounds {
		release := make(chan struct{})
		first := make(chan error, 1)
		id := fmt.Sprintf("first-%d", i)
		go func() {
			first <- st.Transaction(ctx, func(tx ehr.Tx) error {
				<-release
				_, err := tx.Create(ctx, id, map[string]any{"resourceType": "Patient"})
				return err
			})
		}()
		for st.Waiting() != 0 || !st.TurnTaken() {
			runtime.Gosched()
		}
		wctx, cancel := context.WithCancel(ctx)
		second := make(chan error, 1)
		go func() {
			second <- st.Transaction(wctx, func(tx ehr.Tx) error {
				_, err := tx.Create(wctx, fmt.Sprintf("second-%d", i), map[string]any{"resourceType": "Patient"})
				return err
			})
		}()
		for st.Waiting() == 0 {
			runtime.Gosched()
		}
		close(release)
		cancel()
		select {
		case err := <-first:
			if err != nil {
				t.Fatalf("round %d: the first writer's Transaction: %v", i, err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("round %d: the first writer was not answered: its transaction was left open", i)
		}
		<-second
		if _, err := st.Read(ctx, "Patient", id); err != nil {
			t.Fatalf("round %d: Read(Patient/%s) after its Transaction returned: %v", i, id, err)
		}
	}
}

// TestGroupCommitOfALargeTransactionIsNotShared has a writer of
// store.MaxGroupWrites resources end its work while another writer waits: the
// first must commit at once and be answered before the second has done its
// work, rather than take the second into its transaction and wait for it.
// The second writer's work waits for the first writer's answer, so a first
// writer that waited for it instead would leave both stuck, which the second
// reports after half a minute.
func TestGroupCommitOfALargeTransactionIsNotShared(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "omnichart.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, tt := range []struct {
		name        string
		writes      int
		wantCommits int64
	}{
		{"a transaction of one write takes the waiting writer in", 1, 1},
		{"a transaction of as many writes as the bound commits alone", store.MaxGroupWrites, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := st.Commits()
			firstAnswered := make(chan struct{})
			first := make(chan error, 1)
			go func() {
				first <- st.Transaction(ctx, func(tx ehr.Tx) error {
					for i := range tt.writes {
						if _, err := tx.Create(ctx, fmt.Sprintf("%d-large-%d", tt.writes, i), map[string]any{"resourceType": "Patient"}); err != nil {
							return err
						}
					}
					for st.Waiting() == 0 {
						runtime.Gosched()
					}
					return nil
				})
				close(firstAnswered)
			}()
			for !st.TurnTaken() {
				runtime.Gosched()
			}
			err := st.Transaction(ctx, func(tx ehr.Tx) error {
				if tt.wantCommits == 2 {
					select {
					case <-firstAnswered:
					case <-time.After(30 * time.Second):
						return errors.New("the first writer was not answered before the second wrote")
					}
				}
				_, err := tx.Create(ctx, fmt.Sprintf("%d-second", tt.writes), map[string]any{"resourceType": "Patient"})
				return err
			})
			if err != nil {
				t.Fatalf("the second writer's Transaction: %v", err)
			}
			if err := <-first; err != nil {
				t.Fatalf("the first writer's Transaction: %v", err)
			}
			if got := st.Commits() - before; got != tt.wantCommits {
				t.Errorf("the two transactions took %d commits, want %d", got, tt.wantCommits)
			}
		})
	}
}

package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir/search"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

// racingStore is a store on which another writer commits right after each search
// of conditional criteria that runs before a write transaction, as a concurrent
// request could.
type racingStore struct {
	*store.Store
	// race writes, after the n-th search (from 1); nil writes nothing.
	race     func(n int)
	searches int
	// slow makes each such search take that long.
	slow time.Duration
}

func (s *racingStore) SearchMarked(ctx context.Context, q *search.Query) (*ehr.Page, string, error) {
	page, mark, err := s.Store.SearchMarked(ctx, q)
	time.Sleep(s.slow)
	s.searches++
	if s.race != nil {
		s.race(s.searches)
	}
	return page, mark, err
}

func mrnPatient(mrn string) map[string]any {
	p := person("Bernice", "Maxwell", "1940-08-05", "female")
	p["identifier"] = []any{map[string]any{"system": "http://mrn.example", "value": mrn}}
	return p
}

func TestCriteriaSearchedBeforeTheTransactionSeeWhatWasWrittenSince(t *testing.T) {
	ctx := context.Background()
	matchingOnce := func(t *testing.T, st *store.Store, n int) {
		if n == 1 {
			mustCreate(t, st, mrnPatient("1"))
		}
	}
	// slow criteria take longer than the service searches again inside a write
	// transaction.
	const slow = 150 * time.Millisecond
	tests := []struct {
		name string
		// race is what the other writer writes after the n-th criteria search.
		race         func(t *testing.T, st *store.Store, n int)
		slow         time.Duration
		wantCreated  bool
		wantSearches int // before a transaction
		wantPatients int // with MRN 1 afterwards
	}{
		{"a matching Patient written in between is found by fast criteria searched again inside", matchingOnce, 0, false, 1, 1},
		{"a matching Patient written in between is found by slow criteria searched again outside", matchingOnce, slow, false, 2, 1},
		{"a write of a type the criteria do not read changes nothing",
			func(t *testing.T, st *store.Store, n int) {
				mustCreate(t, st, map[string]any{"resourceType": "Observation", "status": "final", "code": map[string]any{"text": "x"}})
			}, slow, true, 1, 1},
		{"slow criteria that keep changing are searched inside the transaction at last",
			func(t *testing.T, st *store.Store, n int) {
				mustCreate(t, st, mrnPatient("other"))
			}, slow, true, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := ehrtest.MustOpen(t, "sqlite", store.Options{})
			rs := &racingStore{Store: st, slow: tt.slow}
			rs.race = func(n int) { tt.race(t, st, n) }
			svc := service.New(rs, service.Options{})
			_, created, err := svc.Create(ctx, mrnPatient("1"), "identifier=http://mrn.example|1")
			if err != nil {
				t.Fatal(err)
			}
			if created != tt.wantCreated || rs.searches != tt.wantSearches {
				t.Errorf("Create(If-None-Exist) created = %v after %d criteria searches, want %v after %d", created, rs.searches, tt.wantCreated, tt.wantSearches)
			}
			page, err := st.Search(ctx, &search.Query{Type: "Patient", Params: []search.Param{{Name: "identifier", Values: []string{"http://mrn.example|1"}}}})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Records) != tt.wantPatients {
				t.Errorf("Search(identifier=…|1) = %d Patients, want %d", len(page.Records), tt.wantPatients)
			}
		})
	}
}

func TestConditionalReferenceSeesAPatientWrittenAfterItsCriteriaSearch(t *testing.T) {
	ctx := context.Background()
	st := ehrtest.MustOpen(t, "sqlite", store.Options{})
	var want string
	rs := &racingStore{Store: st}
	rs.race = func(n int) {
		if n == 1 {
			want = mustCreate(t, st, mrnPatient("7")).Reference()
		}
	}
	svc := service.New(rs, service.Options{})
	obs := map[string]any{"resourceType": "Observation", "status": "final", "code": map[string]any{"text": "x"},
		"subject": map[string]any{"reference": "Patient?identifier=http://mrn.example|7"}}
	outs, err := svc.Apply(ctx, "transaction", []ehr.Change{{Method: "POST", Type: "Observation", Resource: obs}}, ehr.ApplyOptions{})
	if err != nil {
		t.Fatalf("Apply(transaction with a conditional reference to a Patient written meanwhile) = %v", err)
	}
	rec, err := st.Read(ctx, "Observation", outs[0].Record.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(rec.Resource); !strings.Contains(got, `"reference":"`+want+`"`) {
		t.Errorf("the Observation is %s, want its subject to be %s", got, want)
	}
}

func TestPostgresResolvesCriteriaInsideTheTransaction(t *testing.T) {
	ehrtest.PostgresURL(t)
	st := ehrtest.MustOpen(t, "postgres", store.Options{})
	if st.MarksChanges() {
		t.Fatalf("MarksChanges() = true on PostgreSQL, want false: its writers do not wait for each other's searches")
	}
	rs := &racingStore{Store: st}
	svc := service.New(rs, service.Options{})
	if _, created, err := svc.Create(context.Background(), mrnPatient("1"), "identifier=http://mrn.example|1"); err != nil || !created {
		t.Fatalf("Create(If-None-Exist) = %v, %v; want a new Patient", created, err)
	}
	if rs.searches != 0 {
		t.Errorf("%d criteria searches before the transaction, want none", rs.searches)
	}
}

func mustCreate(t *testing.T, st *store.Store, res map[string]any) *ehr.Record {
	t.Helper()
	rec, err := st.Create(context.Background(), st.NewID(), res)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

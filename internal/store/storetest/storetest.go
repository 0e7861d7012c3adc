// Package storetest is the behaviour suite every ehr.ResourceStore must pass. Each
// engine's tests call Run with a function that opens a fresh, empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
	"omnichart/internal/service"
)

// Run runs the whole suite; open must return a fresh, empty store each call.
func Run(t *testing.T, open func(t *testing.T) ehr.ResourceStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s ehr.ResourceStore)
	}{
		{"a created resource reads back as version 1 with server-set meta", testCreateRead},
		{"an update writes version 2 and vread still returns version 1", testUpdateVRead},
		{"update of an unknown id creates it under that id", testUpdateAsCreate},
		{"If-Match with a stale version is refused and changes nothing", testIfMatch},
		{"a deleted resource is gone but its history remains", testDelete},
		{"creating an id that exists is a conflict", testCreateConflict},
		{"history pages are complete and stable while writes continue", testHistoryPaging},
		{"history honours _since and _at", testHistorySinceAt},
		{"search by identifier and _id finds exactly the matching resources", testSearchIdentifier},
		{"a failed transaction leaves nothing behind", testTransactionAtomic},
		{"concurrent updates with the same If-Match let exactly one win", testConcurrentIfMatch},
		{"concurrent updates without If-Match lose no version", testConcurrentUpdates},
		{"parallel conditional creates with the same criteria create one resource", testConcurrentConditionalCreate},
		{"a resource moves compartment when its patient reference changes", testCompartmentMove},
		{"a transaction Bundle rewrites urn:uuid references and is all or nothing", testTransactionBundle},
		{"many readers proceed while a write transaction is open, without seeing it", testReadersDuringWrite},
		{"every search parameter type and modifier finds the hand-checked resources", testSearchParameters},
		{"sorting, paging, includes, compartments and totals behave as specified", testSearchResults},
		{"searches naming one patient or compartment find exactly the resources their references name", testCompartmentSearch},
		{"reads, version reads and history show only what the caller's scope allows", testScopeReads},
		{"searches with chains, _has, includes and sorting return only what the caller's scope allows", testScopeSearch},
		{"_total and _summary=count count only what the caller's scope allows", testScopeTotals},
		{"paging one result at a time walks exactly what the caller's scope allows, forward and back", testScopePaging},
		{"a source's conditional and plain writes never touch another source's records", testScopeWrites},
		{"a patient's Consent and a break-the-glass access open compartments to named callers only", testConsentOpenings},
		{"search-parameter restrictions of a scope hold on every read path", testScopeRestrictions},
		{"the newest matcher model saved is the current one, as it was saved", testMatchModels},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

var ctx = context.Background()

func patient(family string, mrn string) map[string]any {
	p := map[string]any{"resourceType": "Patient", "name": []any{map[string]any{"family": family}}}
	if mrn != "" {
		p["identifier"] = []any{map[string]any{"system": "http://hospital.example/mrn", "value": mrn}}
	}
	return p
}

func mustCreate(t *testing.T, s ehr.ResourceStore, res map[string]any) *ehr.Record {
	t.Helper()
	rec, err := s.Create(ctx, s.NewID(), res)
	if err != nil {
		t.Fatalf("Create(%s): %v", res["resourceType"], err)
	}
	return rec
}

func decode(t *testing.T, rec *ehr.Record) map[string]any {
	t.Helper()
	m, err := fhir.Decode(rec.Resource)
	if err != nil {
		t.Fatalf("stored JSON of %s is broken: %v", rec.Reference(), err)
	}
	return m
}

func wantCode(t *testing.T, call string, err error, want ehr.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded, want %s", call, want)
	}
	if got := ehr.ErrorCode(err); got != want {
		t.Fatalf("%s = %v (%s), want %s", call, err, got, want)
	}
}

func testCreateRead(t *testing.T, s ehr.ResourceStore) {
	rec := mustCreate(t, s, patient("Chalmers", "1"))
	if rec.Version != 1 || rec.ID == "" || !fhir.ValidID(rec.ID) {
		t.Fatalf("Create = version %d id %q, want version 1 and a valid id", rec.Version, rec.ID)
	}
	got, err := s.Read(ctx, "Patient", rec.ID)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	m := decode(t, got)
	meta := fhir.Object(m, "meta")
	if m["id"] != rec.ID || meta["versionId"] != "1" || meta["lastUpdated"] == nil {
		t.Errorf("Read = id %v meta %v, want id %s versionId 1 and lastUpdated", m["id"], meta, rec.ID)
	}
	if _, err := s.Read(ctx, "Patient", "does-not-exist"); ehr.ErrorCode(err) != ehr.NotFound {
		t.Errorf("Read(unknown) = %v, want NotFound", err)
	}
}

func testUpdateVRead(t *testing.T, s ehr.ResourceStore) {
	rec := mustCreate(t, s, patient("Chalmers", "1"))
	p := patient("Windsor", "1")
	p["id"] = rec.ID
	up, created, err := s.Update(ctx, "Patient", rec.ID, p, ehr.WriteOptions{})
	if err != nil || created || up.Version != 2 {
		t.Fatalf("Update = version %v created %v err %v, want version 2, not created", up, created, err)
	}
	v1, err := s.VRead(ctx, "Patient", rec.ID, 1)
	if err != nil {
		t.Fatalf("VRead(1): %v", err)
	}
	if fam := fhir.String(fhir.Array(decode(t, v1), "name")[0].(map[string]any), "family"); fam != "Chalmers" {
		t.Errorf("VRead(1) family = %q, want Chalmers", fam)
	}
	cur, _ := s.Read(ctx, "Patient", rec.ID)
	if cur.Version != 2 {
		t.Errorf("Read version = %d, want 2", cur.Version)
	}
	if _, err := s.VRead(ctx, "Patient", rec.ID, 3); ehr.ErrorCode(err) != ehr.NotFound {
		t.Errorf("VRead(3) = %v, want NotFound", err)
	}
}

func testUpdateAsCreate(t *testing.T, s ehr.ResourceStore) {
	p := patient("Client", "")
	p["id"] = "client-chosen-1"
	rec, created, err := s.Update(ctx, "Patient", "client-chosen-1", p, ehr.WriteOptions{})
	if err != nil || !created || rec.Version != 1 {
		t.Fatalf("Update(new id) = %v created %v err %v, want version 1 created", rec, created, err)
	}
}

func testIfMatch(t *testing.T, s ehr.ResourceStore) {
	rec := mustCreate(t, s, patient("A", ""))
	p := patient("B", "")
	p["id"] = rec.ID
	if _, _, err := s.Update(ctx, "Patient", rec.ID, p, ehr.WriteOptions{IfMatch: 1}); err != nil {
		t.Fatalf("Update(If-Match 1): %v", err)
	}
	_, _, err := s.Update(ctx, "Patient", rec.ID, p, ehr.WriteOptions{IfMatch: 1})
	wantCode(t, "Update(stale If-Match)", err, ehr.PreconditionFailed)
	cur, _ := s.Read(ctx, "Patient", rec.ID)
	if cur.Version != 2 {
		t.Errorf("version after refused update = %d, want 2", cur.Version)
	}
	_, err = s.Delete(ctx, "Patient", rec.ID, 1)
	wantCode(t, "Delete(stale If-Match)", err, ehr.PreconditionFailed)
}

func testDelete(t *testing.T, s ehr.ResourceStore) {
	rec := mustCreate(t, s, patient("A", "del-1"))
	del, err := s.Delete(ctx, "Patient", rec.ID, 0)
	if err != nil || del == nil || del.Version != 2 || !del.Deleted {
		t.Fatalf("Delete = %+v, %v; want version 2 deleted", del, err)
	}
	gone, err := s.Read(ctx, "Patient", rec.ID)
	wantCode(t, "Read(deleted)", err, ehr.Gone)
	if gone == nil || gone.Version != 2 {
		t.Errorf("Read(deleted) record = %+v, want the deletion version 2", gone)
	}
	_, err = s.VRead(ctx, "Patient", rec.ID, 2)
	wantCode(t, "VRead(deletion)", err, ehr.Gone)
	if _, err := s.VRead(ctx, "Patient", rec.ID, 1); err != nil {
		t.Errorf("VRead(1) after delete: %v", err)
	}
	again, err := s.Delete(ctx, "Patient", rec.ID, 0)
	if err != nil || again != nil {
		t.Errorf("Delete(again) = %v, %v; want nil, nil", again, err)
	}
	page, err := s.Search(ctx, &search.Query{Type: "Patient", Params: []search.Param{{Name: "identifier", Values: []string{"del-1"}}}})
	if err != nil || len(page.Records) != 0 {
		t.Errorf("Search(deleted identifier) = %d records, %v; want 0", len(page.Records), err)
	}
	h, err := s.History(ctx, ehr.HistoryQuery{Type: "Patient", ID: rec.ID})
	if err != nil || len(h.Records) != 2 || !h.Records[0].Deleted {
		t.Fatalf("History = %d records (%v), want 2 with the deletion first", len(h.Records), err)
	}
	p := patient("A", "del-1")
	p["id"] = rec.ID
	back, created, err := s.Update(ctx, "Patient", rec.ID, p, ehr.WriteOptions{})
	if err != nil || !created || back.Version != 3 {
		t.Errorf("Update(after delete) = %+v created %v err %v, want version 3, created", back, created, err)
	}
}

func testCreateConflict(t *testing.T, s ehr.ResourceStore) {
	rec := mustCreate(t, s, patient("A", ""))
	_, err := s.Create(ctx, rec.ID, patient("B", ""))
	wantCode(t, "Create(existing id)", err, ehr.Conflict)
}

func testHistoryPaging(t *testing.T, s ehr.ResourceStore) {
	want := map[string]bool{}
	for i := 0; i < 25; i++ {
		rec := mustCreate(t, s, patient(fmt.Sprint("P", i), ""))
		want[rec.ID] = true
	}
	seen := map[string]bool{}
	cursor := ""
	pages := 0
	for {
		page, err := s.History(ctx, ehr.HistoryQuery{Type: "Patient", Count: 10, Cursor: cursor})
		if err != nil {
			t.Fatalf("History page %d: %v", pages, err)
		}
		pages++
		for _, r := range page.Records {
			if seen[r.ID] {
				t.Errorf("History repeated %s", r.ID)
			}
			seen[r.ID] = true
		}
		// A write during paging lands before the cursor and must not disturb it.
		mustCreate(t, s, patient("Late", ""))
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("History paging missed %s", id)
		}
	}
	if pages != 3 {
		t.Errorf("History took %d pages of 10 for 25 versions, want 3", pages)
	}
}

func testHistorySinceAt(t *testing.T, s ehr.ResourceStore) {
	a := mustCreate(t, s, patient("A", ""))
	time.Sleep(5 * time.Millisecond)
	mid := time.Now()
	time.Sleep(5 * time.Millisecond)
	p := patient("A2", "")
	p["id"] = a.ID
	if _, _, err := s.Update(ctx, "Patient", a.ID, p, ehr.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	b := mustCreate(t, s, patient("B", ""))
	since, err := s.History(ctx, ehr.HistoryQuery{Since: mid})
	if err != nil {
		t.Fatal(err)
	}
	if len(since.Records) != 2 {
		t.Errorf("History(_since) = %d versions, want 2", len(since.Records))
	}
	at, err := s.History(ctx, ehr.HistoryQuery{At: mid})
	if err != nil {
		t.Fatal(err)
	}
	if len(at.Records) != 1 || at.Records[0].ID != a.ID || at.Records[0].Version != 1 {
		t.Errorf("History(_at) = %d versions, want only %s version 1 (not %s)", len(at.Records), a.ID, b.ID)
	}
}

func testSearchIdentifier(t *testing.T, s ehr.ResourceStore) {
	a := mustCreate(t, s, patient("A", "100"))
	mustCreate(t, s, patient("B", "200"))
	other := patient("C", "")
	other["identifier"] = []any{map[string]any{"system": "http://other.example", "value": "100"}}
	c := mustCreate(t, s, other)
	tests := []struct {
		value string
		want  int
	}{
		{"http://hospital.example/mrn|100", 1},
		{"100", 2},
		{"http://hospital.example/mrn|", 2},
		{"http://nowhere|100", 0},
		{"http://hospital.example/mrn|100,http://other.example|100", 2},
	}
	for _, tt := range tests {
		page, err := s.Search(ctx, &search.Query{Type: "Patient", Params: []search.Param{{Name: "identifier", Values: search.SplitValues(tt.value)}}})
		if err != nil {
			t.Fatalf("Search(identifier=%s): %v", tt.value, err)
		}
		if len(page.Records) != tt.want {
			t.Errorf("Search(identifier=%s) = %d results, want %d", tt.value, len(page.Records), tt.want)
		}
	}
	page, err := s.Search(ctx, &search.Query{Type: "Patient", Params: []search.Param{{Name: "_id", Values: []string{a.ID, c.ID}}}})
	if err != nil || len(page.Records) != 2 {
		t.Errorf("Search(_id=a,c) = %d results, %v; want 2", len(page.Records), err)
	}
}

func testTransactionAtomic(t *testing.T, s ehr.ResourceStore) {
	boom := errors.New("boom")
	var id string
	err := s.Transaction(ctx, func(tx ehr.Tx) error {
		rec, err := tx.Create(ctx, tx.NewID(), patient("Ghost", "tx-1"))
		if err != nil {
			return err
		}
		id = rec.ID
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Transaction = %v, want boom", err)
	}
	if _, err := s.Read(ctx, "Patient", id); ehr.ErrorCode(err) != ehr.NotFound {
		t.Errorf("Read after rolled back create = %v, want NotFound", err)
	}
	page, _ := s.Search(ctx, &search.Query{Type: "Patient", Params: []search.Param{{Name: "identifier", Values: []string{"tx-1"}}}})
	if len(page.Records) != 0 {
		t.Errorf("index rows survived a rollback: %d matches", len(page.Records))
	}
}

func testConcurrentIfMatch(t *testing.T, s ehr.ResourceStore) {
	rec := mustCreate(t, s, patient("A", ""))
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			p := patient(fmt.Sprint("W", i), "")
			p["id"] = rec.ID
			_, _, errs[i] = s.Update(ctx, "Patient", rec.ID, p, ehr.WriteOptions{IfMatch: 1})
		}(i)
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch ehr.ErrorCode(err) {
		case ehr.PreconditionFailed, ehr.Conflict:
		default:
			if err != nil {
				t.Errorf("Update: %v", err)
				continue
			}
			wins++
		}
	}
	if wins != 1 {
		t.Errorf("%d concurrent If-Match updates succeeded, want exactly 1", wins)
	}
	cur, _ := s.Read(ctx, "Patient", rec.ID)
	if cur.Version != 2 {
		t.Errorf("version = %d, want 2", cur.Version)
	}
}

func testConcurrentUpdates(t *testing.T, s ehr.ResourceStore) {
	rec := mustCreate(t, s, patient("A", ""))
	const n = 8
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			p := patient(fmt.Sprint("W", i), "")
			p["id"] = rec.ID
			if _, _, err := s.Update(ctx, "Patient", rec.ID, p, ehr.WriteOptions{}); err != nil {
				t.Errorf("Update: %v", err)
			}
		}(i)
	}
	wg.Wait()
	h, err := s.History(ctx, ehr.HistoryQuery{Type: "Patient", ID: rec.ID, Count: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Records) != n+1 {
		t.Errorf("history has %d versions after %d concurrent updates, want %d", len(h.Records), n, n+1)
	}
	seen := map[int64]bool{}
	for _, r := range h.Records {
		if seen[r.Version] {
			t.Errorf("version %d written twice", r.Version)
		}
		seen[r.Version] = true
	}
}

func testConcurrentConditionalCreate(t *testing.T, s ehr.ResourceStore) {
	svc := service.New(s, service.Options{})
	const n = 8
	var wg sync.WaitGroup
	created := make([]bool, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var err error
			_, created[i], err = svc.Create(ctx, patient("Same", "cc-1"), "identifier=http://hospital.example/mrn|cc-1")
			if err != nil {
				t.Errorf("conditional Create: %v", err)
			}
		}(i)
	}
	wg.Wait()
	page, err := s.Search(ctx, &search.Query{Type: "Patient", Params: []search.Param{{Name: "identifier", Values: []string{"http://hospital.example/mrn|cc-1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 1 {
		t.Errorf("%d parallel conditional creates made %d patients, want 1", n, len(page.Records))
	}
	count := 0
	for _, c := range created {
		if c {
			count++
		}
	}
	if count != 1 {
		t.Errorf("%d creates reported created, want 1", count)
	}
}

func testCompartmentMove(t *testing.T, s ehr.ResourceStore) {
	obs := func(pid string) map[string]any {
		return map[string]any{"resourceType": "Observation", "status": "final", "code": map[string]any{"text": "x"},
			"subject": map[string]any{"reference": "Patient/" + pid}}
	}
	rec := mustCreate(t, s, obs("p1"))
	o := obs("p2")
	o["id"] = rec.ID
	if _, _, err := s.Update(ctx, "Observation", rec.ID, o, ehr.WriteOptions{}); err != nil {
		t.Fatalf("Update(new subject): %v", err)
	}
	cur, err := s.Read(ctx, "Observation", rec.ID)
	if err != nil || cur.Version != 2 {
		t.Fatalf("Read after compartment move = %+v, %v", cur, err)
	}
	h, err := s.History(ctx, ehr.HistoryQuery{Type: "Observation", ID: rec.ID})
	if err != nil || len(h.Records) != 2 {
		t.Errorf("History after compartment move = %d versions, %v; want 2", len(h.Records), err)
	}
	if _, err := s.Delete(ctx, "Observation", rec.ID, 0); err != nil {
		t.Errorf("Delete after compartment move: %v", err)
	}
}

func testTransactionBundle(t *testing.T, s ehr.ResourceStore) {
	svc := service.New(s, service.Options{})
	bundle := map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{
		map[string]any{"fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111",
			"resource": patient("Tx", "tx-b"),
			"request":  map[string]any{"method": "POST", "url": "Patient", "ifNoneExist": "identifier=http://hospital.example/mrn|tx-b"}},
		map[string]any{"fullUrl": "urn:uuid:22222222-2222-4222-8222-222222222222",
			"resource": map[string]any{"resourceType": "Observation", "status": "final", "code": map[string]any{"text": "x"},
				"subject": map[string]any{"reference": "urn:uuid:11111111-1111-4111-8111-111111111111"}},
			"request": map[string]any{"method": "POST", "url": "Observation"}},
	}}
	outs, err := applyBundle(svc, bundle, "http://x/fhir")
	if err != nil {
		t.Fatalf("Bundle: %v", err)
	}
	typ, oid, pid := outs[1].Record.Type, outs[1].Record.ID, outs[0].Record.ID
	rec, err := s.Read(ctx, typ, oid)
	if err != nil {
		t.Fatalf("Read(%s/%s): %v", typ, oid, err)
	}
	if ref := fhir.String(fhir.Object(decode(t, rec), "subject"), "reference"); ref != "Patient/"+pid {
		t.Errorf("Observation.subject = %q, want Patient/%s", ref, pid)
	}
	// The same bundle again, with a broken second entry: nothing may be written.
	bad := fhir.Clone(bundle).(map[string]any)
	bad["entry"].([]any)[1].(map[string]any)["request"] = map[string]any{"method": "PUT", "url": "Observation/x"}
	if _, err := applyBundle(svc, bad, ""); err == nil {
		t.Fatalf("Bundle(id mismatch) succeeded, want an error")
	}
	h, _ := s.History(ctx, ehr.HistoryQuery{})
	if len(h.Records) != 2 {
		t.Errorf("history has %d versions after one good and one failed transaction, want 2", len(h.Records))
	}
}

// testReadersDuringWrite reads from many goroutines while a write transaction is
// open and waits for them inside it: if readers were blocked by the writer, the
// reads would time out instead of finishing.
func testReadersDuringWrite(t *testing.T, s ehr.ResourceStore) {
	rec := mustCreate(t, s, patient("Reader", "r-1"))
	err := s.Transaction(ctx, func(tx ehr.Tx) error {
		if _, err := tx.Create(ctx, tx.NewID(), patient("Writer", "w-1")); err != nil {
			return err
		}
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				if _, err := s.Read(rctx, "Patient", rec.ID); err != nil {
					errs <- err
					return
				}
				page, err := s.Search(rctx, &search.Query{Type: "Patient", Params: []search.Param{{Name: "identifier", Values: []string{"w-1"}}}})
				if err != nil {
					errs <- err
					return
				}
				if len(page.Records) != 0 {
					errs <- errors.New("a reader saw an uncommitted write")
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			return err
		}
		return nil
	})
	if err != nil {
		t.Errorf("reads during an open write transaction: %v", err)
	}
}

// applyBundle parses a transaction or batch Bundle and runs it through svc.
func applyBundle(svc *service.Service, bundle map[string]any, base string) ([]ehr.Outcome, error) {
	kind, changes, err := ehr.ParseBundle(bundle, base)
	if err != nil {
		return nil, err
	}
	return svc.Apply(ctx, kind, changes, ehr.ApplyOptions{Base: base})
}

package mpi_test

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
	"omnichart/internal/ingest"
	"omnichart/internal/mpi"
	"omnichart/internal/service"
	"omnichart/internal/smart"
	"omnichart/internal/store"
)

var engines = ehrtest.AllEngines

// fixture is a store, the interaction engine with the MPI on its hook, and
// the MPI.
type fixture struct {
	st  *store.Store
	svc *service.Service
	m   atomic.Pointer[mpi.MPI]
}

var system = ehr.WithPrincipal(context.Background(), ehr.SystemPrincipal)

func newFixture(t *testing.T, engine string) *fixture {
	t.Helper()
	f := &fixture{st: ehrtest.MustOpen(t, engine, store.Options{})}
	f.svc = service.New(f.st, service.Options{AfterCommit: func(ctx context.Context, recs []*ehr.Record) {
		if m := f.m.Load(); m != nil {
			m.Committed(ctx, recs)
		}
	}})
	f.restart(t)
	return f
}

// restart loads a new MPI from the store, as a server start does.
func (f *fixture) restart(t *testing.T) *mpi.Report {
	t.Helper()
	return f.restartWith(t, mpi.Options{})
}

// restartWith is restart with opts; the store keeps the index's models.
func (f *fixture) restartWith(t *testing.T, opts mpi.Options) *mpi.Report {
	t.Helper()
	opts.Models = f.st
	m, rep, err := mpi.Open(system, f.svc, opts)
	if err != nil {
		t.Fatalf("mpi.Open() = %v", err)
	}
	f.m.Store(m)
	return rep
}

// patient is a Patient of a source, written through the engine as that source.
func (f *fixture) patient(t *testing.T, source, given, family, birth, gender string) string {
	t.Helper()
	ctx := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "source/" + source, Source: "urn:omnichart:source:" + source, System: true})
	res := map[string]any{"resourceType": "Patient", "gender": gender, "birthDate": birth,
		"name":    []any{map[string]any{"family": family, "given": []any{given}}},
		"address": []any{map[string]any{"line": []any{"1820 Liberty Street"}, "city": "Northampton", "postalCode": "01060"}},
		"telecom": []any{map[string]any{"system": "phone", "value": "413-555-9151"}}}
	rec, _, err := f.svc.Create(ctx, res, "")
	if err != nil {
		t.Fatal(err)
	}
	return rec.ID
}

// personLink is a Patient's stored Person and assurance.
type personLink struct {
	person    string
	assurance string
}

// links reads every stored Person and returns, per Patient id, its Person
// and assurance; it fails the test when a Patient is in two Persons or a
// Person is not the MPI's.
func (f *fixture) links(t *testing.T) map[string]personLink {
	t.Helper()
	out := map[string]personLink{}
	q := &search.Query{Type: "Person", Count: search.MaxCount}
	for {
		page, err := f.svc.Search(system, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Records {
			if r.Source != mpi.SourceURI {
				t.Errorf("Person/%s is owned by %q", r.ID, r.Source)
			}
			res, _ := fhir.Decode(r.Resource)
			for _, l := range fhir.Array(res, "link") {
				lm := l.(map[string]any)
				id := strings.TrimPrefix(fhir.String(fhir.Object(lm, "target"), "reference"), "Patient/")
				if prev, ok := out[id]; ok {
					t.Errorf("Patient/%s is in Person/%s and Person/%s", id, prev.person, r.ID)
				}
				out[id] = personLink{r.ID, fhir.String(lm, "assurance")}
			}
		}
		if page.Next == "" {
			return out
		}
		q.Cursor = page.Next
	}
}

// groups returns the Patients of each Person, sorted.
func groups(links map[string]personLink) [][]string {
	by := map[string][]string{}
	for id, l := range links {
		by[l.person] = append(by[l.person], id)
	}
	var out [][]string
	for _, ids := range by {
		sort.Strings(ids)
		out = append(out, ids)
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// tasks returns the review tasks of a status ("" any) by their Patients.
func (f *fixture) tasks(t *testing.T, code, status string) []map[string]any {
	t.Helper()
	query := "code=" + mpi.TaskSystem + "|" + code
	if status != "" {
		query += "&status=" + status
	}
	q, err := search.ParseString("Task", query)
	if err != nil {
		t.Fatal(err)
	}
	q.Count = search.MaxCount
	page, err := f.svc.Search(system, q)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, r := range page.Records {
		res, _ := fhir.Decode(r.Resource)
		out = append(out, res)
	}
	return out
}

func taskAbout(tasks []map[string]any, a, b string) map[string]any {
	for _, task := range tasks {
		refs := fhir.String(fhir.Object(task, "focus"), "reference")
		for _, in := range fhir.Array(task, "input") {
			refs += " " + fhir.String(fhir.Object(in.(map[string]any), "valueReference"), "reference")
		}
		if strings.Contains(refs, "Patient/"+a) && strings.Contains(refs, "Patient/"+b) {
			return task
		}
	}
	return nil
}

func TestEveryPatientHasOnePersonAndChangesFollow(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			f := newFixture(t, engine)
			william := f.patient(t, "a", "William", "Wilson", "1961-08-09", "male")
			bill := f.patient(t, "b", "Bill", "Wilson", "1961-08-09", "male")
			emma := f.patient(t, "a", "Emma", "Novak", "2010-04-04", "female")
			if src, err := ingest.NewDirectory(ingest.ServiceTarget{Service: f.svc}).Find(system, mpi.SourceURI); err != nil || src.Slug != mpi.SourceSlug {
				t.Errorf("the MPI's source in the directory: %+v, %v", src, err)
			}
			links := f.links(t)
			if len(links) != 3 {
				t.Fatalf("%d Patients linked, want 3: %v", len(links), links)
			}
			if links[william].person != links[bill].person || links[william].assurance != "level3" {
				t.Errorf("William and Bill: %v and %v, want one Person at level3", links[william], links[bill])
			}
			if links[emma].person == links[william].person {
				t.Errorf("Emma is in William's Person")
			}
			// Bill becomes someone else: the link goes.
			ctx := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "source/b", Source: "urn:omnichart:source:b", System: true})
			rec, err := f.svc.Read(ctx, "Patient", bill)
			if err != nil {
				t.Fatal(err)
			}
			res, _ := fhir.Decode(rec.Resource)
			res["birthDate"], res["name"] = "1990-01-01", []any{map[string]any{"family": "Okafor", "given": []any{"Chidi"}}}
			if _, _, err := f.svc.Update(ctx, "Patient", bill, res, 0); err != nil {
				t.Fatal(err)
			}
			links = f.links(t)
			if links[william].person == links[bill].person {
				t.Errorf("after the change, William and Bill still share Person/%s", links[bill].person)
			}
			if _, err := f.svc.Delete(ctx, "Patient", bill, 0); err != nil {
				t.Fatal(err)
			}
			links = f.links(t)
			if _, ok := links[bill]; ok || len(links) != 2 {
				t.Errorf("after the delete: %v, want William and Emma only", links)
			}
			// A restart finds everything in place: nothing to write.
			rep := f.restart(t)
			if len(rep.Changes) != 0 || rep.Patients != 2 || rep.Persons != 2 {
				t.Errorf("restart: %+v, want 2 Patients, 2 persons and no writes", rep)
			}
		})
	}
}

// reviewPair writes two records the scores send to review: one household
// and family name, but only an initial, a year of birth and no sex on one.
func (f *fixture) reviewPair(t *testing.T) (string, string, map[string]any) {
	t.Helper()
	a := f.patient(t, "a", "Jaxon", "Kowalczyk", "2001-04-04", "male")
	b := f.patient(t, "b", "J", "Kowalczyk", "2001", "unknown")
	task := taskAbout(f.tasks(t, mpi.ReviewCode, "requested"), a, b)
	if task == nil {
		links := f.links(t)
		t.Fatalf("no open review task for the pair (persons %v)", links)
	}
	return a, b, task
}

func TestDecisionIsKeptUndoneAndSurvivesRematch(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			f := newFixture(t, engine)
			a, b, task := f.reviewPair(t)
			if len(fhir.Array(task, "input")) < 3 || !strings.Contains(fhir.String(task, "description"), "one person") {
				t.Errorf("review task lacks score and explanation: %v", task)
			}
			links := f.links(t)
			if links[a].person == links[b].person {
				t.Fatalf("a pair in review is linked")
			}
			reviewer := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "user/jdoe"})
			id := fhir.String(task, "id")
			if _, err := f.m.Load().Decide(reviewer, id, mpi.VerdictLink, ""); ehr.ErrorCode(err) != ehr.Invalid {
				t.Errorf("Decide() without a reason = %v, want Invalid", err)
			}
			if _, err := f.m.Load().Decide(reviewer, id, mpi.VerdictLink, "same insurance card, seen at the desk"); err != nil {
				t.Fatal(err)
			}
			links = f.links(t)
			if links[a].person != links[b].person || links[a].assurance != "level4" || links[b].assurance != "level4" {
				t.Fatalf("after link: %v %v, want one Person at level4", links[a], links[b])
			}
			if _, err := f.m.Load().Decide(reviewer, id, mpi.VerdictNotSame, "changed my mind"); ehr.ErrorCode(err) != ehr.Conflict {
				t.Errorf("a second decision = %v, want Conflict", err)
			}
			done := taskAbout(f.tasks(t, mpi.ReviewCode, "completed"), a, b)
			if done == nil {
				t.Fatal("the decided task is not completed")
			}
			outs := map[string]string{}
			for _, o := range fhir.Array(done, "output") {
				om := o.(map[string]any)
				for k, v := range om {
					if strings.HasPrefix(k, "value") {
						outs[fhir.String(fhir.Object(om, "type"), "text")] = v.(string)
					}
				}
			}
			if outs["decision"] != "link" || outs["reviewer"] != "user/jdoe" || outs["reason"] == "" || outs["decided"] == "" {
				t.Errorf("decision outputs = %v", outs)
			}
			// A rematch and a restart keep the decision.
			rep, err := f.m.Load().Rematch(system)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Changes) != 0 || rep.Decisions != 1 {
				t.Errorf("rematch after a decision: %+v, want no writes and one decision", rep)
			}
			f.restart(t)
			if l := f.links(t); l[a].person != l[b].person || l[a].assurance != "level4" {
				t.Errorf("after restart: %v %v", l[a], l[b])
			}
			// A change to a record does not override the decision either.
			f.patient(t, "c", "Jaxon", "Kowalczyk", "2001-04-04", "male")
			if l := f.links(t); l[a].person != l[b].person {
				t.Errorf("a new record broke the decided link")
			}
			// Undo: the pair is in review again.
			if _, err := f.m.Load().Decide(reviewer, id, mpi.VerdictUndo, "linked the wrong pair"); err != nil {
				t.Fatal(err)
			}
			if l := f.links(t); l[a].assurance == "level4" || l[b].assurance == "level4" {
				t.Errorf("after undo a link is still confirmed: %v %v", l[a], l[b])
			}
			if task := taskAbout(f.tasks(t, mpi.ReviewCode, "requested"), a, b); task == nil {
				t.Errorf("after undo the pair's task is not open")
			}
			// Not the same person: kept apart, at a restart too.
			if _, err := f.m.Load().Decide(reviewer, id, mpi.VerdictNotSame, "twins"); err != nil {
				t.Fatal(err)
			}
			f.restart(t)
			if l := f.links(t); l[a].person == l[b].person {
				t.Errorf("not-same records share a Person after restart")
			}
		})
	}
}

func TestIdentityConflictsAreInTheQueueAndDecidable(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			f := newFixture(t, engine)
			ctx := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "source/a", Source: "urn:omnichart:source:a", System: true})
			pat := func(given, birth, gender string) map[string]any {
				return map[string]any{"resourceType": "Patient", "gender": gender, "birthDate": birth,
					"identifier": []any{map[string]any{"system": "urn:oid:2.999.1", "value": "998991"}},
					"name":       []any{map[string]any{"family": "Norris", "given": []any{given}}}}
			}
			first, _, err := f.svc.Create(ctx, pat("Felix", "1942-02-11", "male"), "")
			if err != nil {
				t.Fatal(err)
			}
			second, _, err := f.svc.ConditionalUpdate(ctx, "Patient", "identifier=urn:oid:2.999.1|998991", pat("Wilma", "1950-06-01", "female"), 0)
			if err != nil {
				t.Fatal(err)
			}
			if second.ID == first.ID {
				t.Fatal("the identity rule did not keep the records apart")
			}
			reviewer := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "user/jdoe"})
			queue, err := f.m.Load().Queue(reviewer, false)
			if err != nil {
				t.Fatal(err)
			}
			var conflict *mpi.ReviewItem
			for i, it := range queue {
				if it.Code == mpi.IdentityConflictCode {
					conflict = &queue[i]
				}
			}
			if conflict == nil || len(conflict.Patients) != 2 {
				t.Fatalf("queue = %+v, want the identity conflict", queue)
			}
			if _, err := f.m.Load().Decide(reviewer, conflict.Task, mpi.VerdictLink, "the feed sent her under her husband's MRN"); err != nil {
				t.Fatal(err)
			}
			if l := f.links(t); l[first.ID].person != l[second.ID].person || l[first.ID].assurance != "level4" {
				t.Errorf("after linking the conflict: %v %v", l[first.ID], l[second.ID])
			}
			rec, err := f.svc.Read(system, "Task", conflict.Task)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Source != "urn:omnichart:source:a" {
				t.Errorf("the decided conflict task is owned by %q, want the source's", rec.Source)
			}
			if queue, _ := f.m.Load().Queue(reviewer, false); len(queue) != 0 {
				t.Errorf("queue after the decision = %+v, want empty", queue)
			}
		})
	}
}

// TestQueueAndCandidatesKeepTheCallersScope: a caller limited to one
// source's records sees no review task naming another's Patient, and no
// such Patient among $match candidates.
func TestQueueAndCandidatesKeepTheCallersScope(t *testing.T) {
	f := newFixture(t, "sqlite")
	a, b, _ := f.reviewPair(t)
	william := f.patient(t, "a", "William", "Wilson", "1961-08-09", "male")
	bill := f.patient(t, "b", "Bill", "Wilson", "1961-08-09", "male")
	narrow := service.New(f.st, service.Options{Policy: clerkPolicy{ehr.Scope{Sources: []string{"urn:omnichart:source:b", mpi.SourceURI}}}})
	m, rep, err := mpi.Open(system, narrow, mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changes) != 0 {
		t.Fatalf("a second MPI over the same store wrote %v", rep.Changes)
	}
	caller := ehr.WithPrincipal(context.Background(), ehr.Principal{Subject: "user/b-clerk"})
	queue, err := m.Queue(caller, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range queue {
		for _, id := range it.Patients {
			if id == a {
				t.Errorf("the queue shows Task/%s naming source a's Patient/%s", it.Task, id)
			}
		}
	}
	wide, err := f.m.Load().Queue(system, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(wide) == 0 {
		t.Fatal("the unrestricted queue is empty")
	}
	probe := map[string]any{"resourceType": "Patient", "gender": "male", "birthDate": "1961-08-09",
		"name":    []any{map[string]any{"family": "Wilson", "given": []any{"William"}}},
		"address": []any{map[string]any{"line": []any{"1820 Liberty Street"}, "city": "Northampton", "postalCode": "01060"}}}
	all, err := f.m.Load().Candidates(system, probe, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, c := range all {
		found[c.Record.ID] = c.Grade
	}
	if found[william] != mpi.GradeCertain || found[bill] != mpi.GradeCertain {
		t.Errorf("candidates = %v, want William and Bill certain", found)
	}
	mine, err := m.Candidates(caller, probe, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(mine) != 1 || mine[0].Record.ID != bill {
		t.Errorf("narrow candidates = %d, want Bill only", len(mine))
	}
	if _, err := m.Decide(caller, ReviewTaskIDOf(a, b), mpi.VerdictLink, "looks alike"); ehr.ErrorCode(err) != ehr.NotFound {
		t.Errorf("deciding a task naming a hidden Patient = %v, want NotFound", err)
	}
}

// ReviewTaskIDOf is the review task id of a pair.
func ReviewTaskIDOf(a, b string) string { return mpi.ReviewTaskID(a, b) }

// clerkPolicy lets system principals see everything and everyone else the
// records of one scope.
type clerkPolicy struct{ scope ehr.Scope }

func (clerkPolicy) Authorize(context.Context, ehr.Principal, ehr.Action, string) error { return nil }

func (c clerkPolicy) Scope(_ context.Context, p ehr.Principal) (ehr.Scope, error) {
	if p.System {
		return ehr.Unrestricted(), nil
	}
	return c.scope, nil
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTheIndexSourceIsTheOneThePolicyKnows checks that the source the index owns
// its records with is the one smart.Policy keeps from callers limited to some
// sources.
func TestTheIndexSourceIsTheOneThePolicyKnows(t *testing.T) {
	if mpi.SourceURI != smart.IndexSource {
		t.Errorf("mpi.SourceURI = %q, smart.IndexSource = %q; want them equal", mpi.SourceURI, smart.IndexSource)
	}
}

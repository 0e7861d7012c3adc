package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/service"
	"omnichart/internal/store"
)

// writeLog records how each resource of a transaction was written: "prepared"
// when written as prepared before the transaction, "inline" when encoded and
// indexed inside it.
type writeLog struct {
	mu     sync.Mutex
	writes map[string]string // "Type" -> how, of the last write of that type
}

func (l *writeLog) add(typ, how string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes[typ] = how
}

func (l *writeLog) how(typ string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writes[typ]
}

// loggedStore is a store that can prepare writes, and logs how its transactions
// write.
type loggedStore struct {
	*store.Store
	log *writeLog
}

func (s loggedStore) Transaction(ctx context.Context, fn func(tx ehr.Tx) error) error {
	return s.Store.Transaction(ctx, func(tx ehr.Tx) error { return fn(loggedTx{Tx: tx, pw: tx.(ehr.PreparedWriter), log: s.log}) })
}

type loggedTx struct {
	ehr.Tx
	pw  ehr.PreparedWriter
	log *writeLog
}

func (t loggedTx) Create(ctx context.Context, id string, res map[string]any) (*ehr.Record, error) {
	t.log.add(res["resourceType"].(string), "inline")
	return t.Tx.Create(ctx, id, res)
}

func (t loggedTx) Update(ctx context.Context, typ, id string, res map[string]any, opts ehr.WriteOptions) (*ehr.Record, bool, error) {
	t.log.add(typ, "inline")
	return t.Tx.Update(ctx, typ, id, res, opts)
}

func (t loggedTx) CreatePrepared(ctx context.Context, p ehr.Prepared) (*ehr.Record, error) {
	t.log.add(strings.Split(p.Reference(), "/")[0], "prepared")
	return t.pw.CreatePrepared(ctx, p)
}

func (t loggedTx) UpdatePrepared(ctx context.Context, p ehr.Prepared, opts ehr.WriteOptions) (*ehr.Record, bool, error) {
	t.log.add(strings.Split(p.Reference(), "/")[0], "prepared")
	return t.pw.UpdatePrepared(ctx, p, opts)
}

// plainStore hides the store's Prepare: every write is encoded and indexed inside
// its transaction.
type plainStore struct{ ehr.ResourceStore }

// TestWritesPreparedBeforeTheTransactionStoreTheSame runs transactions whose
// identities and references are decided inside the transaction (conditional
// creates and updates, conditional references, references between entries), on a
// store that prepares writes and on one that does not. Both store the same, and
// entries whose identity the transaction changed are written inline.
func TestWritesPreparedBeforeTheTransactionStoreTheSame(t *testing.T) {
	const mrn = "http://hospital.example/mrn"
	patient := func(value string) map[string]any {
		return map[string]any{"resourceType": "Patient", "identifier": []any{map[string]any{"system": mrn, "value": value}},
			"name": []any{map[string]any{"family": "Chalmers", "given": []any{"Peter"}}}, "birthDate": "1974-12-25", "gender": "male"}
	}
	observation := func(subject string) map[string]any {
		return map[string]any{"resourceType": "Observation", "status": "final", "code": map[string]any{"text": "weight"},
			"subject": map[string]any{"reference": subject}}
	}
	const patientURL = "urn:uuid:0b5c2f4e-1d2a-4c3b-9e8f-7a6b5c4d3e2f"
	tests := []struct {
		name    string
		changes func(existing string) []ehr.Change
		// subject is the Observation's expected subject: "existing", "new" (the
		// Patient the transaction wrote) or a literal reference.
		subject string
		// patient and observation say how each was written: "prepared",
		// "inline", or "" when not written.
		patient, observation string
	}{
		{
			name: "a reference to a created entry gets its new id",
			changes: func(string) []ehr.Change {
				return []ehr.Change{
					{Method: "POST", Type: "Patient", FullURL: patientURL, Resource: patient("2")},
					{Method: "POST", Type: "Observation", Resource: observation(patientURL)},
				}
			},
			subject: "new", patient: "prepared", observation: "prepared",
		},
		{
			name: "a reference to a conditional create that matched gets the existing id",
			changes: func(string) []ehr.Change {
				return []ehr.Change{
					{Method: "POST", Type: "Patient", FullURL: patientURL, Resource: patient("1"), IfNoneExist: "identifier=" + mrn + "|1"},
					{Method: "POST", Type: "Observation", Resource: observation(patientURL)},
				}
			},
			subject: "existing", patient: "", observation: "inline",
		},
		{
			name: "a reference to a conditional create that matched nothing gets the new id",
			changes: func(string) []ehr.Change {
				return []ehr.Change{
					{Method: "POST", Type: "Patient", FullURL: patientURL, Resource: patient("3"), IfNoneExist: "identifier=" + mrn + "|3"},
					{Method: "POST", Type: "Observation", Resource: observation(patientURL)},
				}
			},
			subject: "new", patient: "prepared", observation: "prepared",
		},
		{
			name: "a conditional update that matched updates the existing record, and references follow it",
			changes: func(string) []ehr.Change {
				return []ehr.Change{
					{Method: "PUT", Type: "Patient", FullURL: patientURL, Query: "identifier=" + mrn + "|1", Resource: patient("1")},
					{Method: "POST", Type: "Observation", Resource: observation(patientURL)},
				}
			},
			subject: "existing", patient: "inline", observation: "inline",
		},
		{
			name: "an update by id is prepared",
			changes: func(existing string) []ehr.Change {
				p := patient("1")
				p["id"] = existing
				return []ehr.Change{
					{Method: "PUT", Type: "Patient", ID: existing, FullURL: patientURL, Resource: p},
					{Method: "POST", Type: "Observation", Resource: observation(patientURL)},
				}
			},
			subject: "existing", patient: "prepared", observation: "prepared",
		},
		{
			name: "a conditional reference is resolved in the transaction",
			changes: func(string) []ehr.Change {
				return []ehr.Change{{Method: "POST", Type: "Observation", Resource: observation("Patient?identifier=" + mrn + "|1")}}
			},
			subject: "existing", observation: "inline",
		},
		{
			name: "a reference to no entry is kept as it is",
			changes: func(string) []ehr.Change {
				return []ehr.Change{{Method: "POST", Type: "Observation", Resource: observation("Patient/elsewhere")}}
			},
			subject: "Patient/elsewhere", observation: "prepared",
		},
	}
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				ehrtest.PostgresURL(t)
			}
			for _, tt := range tests {
				for _, prepare := range []bool{true, false} {
					name := tt.name
					if !prepare {
						name += ", on a store that does not prepare"
					}
					t.Run(name, func(t *testing.T) {
						ctx := context.Background()
						log := &writeLog{writes: map[string]string{}}
						st := ehrtest.MustOpen(t, engine, store.Options{})
						var rs ehr.ResourceStore = loggedStore{Store: st, log: log}
						if !prepare {
							rs = plainStore{loggedStore{Store: st, log: log}}
						}
						svc := service.New(rs, service.Options{})
						existing, _, err := svc.Create(ctx, patient("1"), "")
						if err != nil {
							t.Fatal(err)
						}
						log.writes = map[string]string{}
						original := tt.changes(existing.ID)
						sent, _ := json.Marshal(original)
						outs, err := svc.Apply(ctx, "transaction", original, ehr.ApplyOptions{})
						if err != nil {
							t.Fatalf("Apply: %v", err)
						}
						if again, _ := json.Marshal(original); string(again) != string(sent) {
							t.Errorf("Apply changed the caller's changes:\n%s\nwas\n%s", again, sent)
						}
						var obs, pat *ehr.Record
						for _, o := range outs {
							if o.Record == nil {
								continue
							}
							switch o.Record.Type {
							case "Observation":
								obs = o.Record
							case "Patient":
								pat = o.Record
							}
						}
						want := tt.subject
						switch want {
						case "existing":
							want = "Patient/" + existing.ID
						case "new":
							if pat == nil || pat.ID == existing.ID {
								t.Fatalf("no new Patient among the outcomes")
							}
							want = "Patient/" + pat.ID
						}
						for _, rec := range []*ehr.Record{pat, obs} {
							if rec == nil {
								continue
							}
							stored, err := st.Read(ctx, rec.Type, rec.ID)
							if err != nil {
								t.Fatalf("Read(%s): %v", rec.Reference(), err)
							}
							var res map[string]any
							json.Unmarshal(stored.Resource, &res)
							if res["id"] != rec.ID || fmt.Sprint(res["meta"].(map[string]any)["versionId"]) != fmt.Sprint(rec.Version) {
								t.Errorf("%s is stored as %s, want its id and version %d", rec.Reference(), stored.Resource, rec.Version)
							}
							if rec.Type == "Observation" {
								if got := res["subject"].(map[string]any)["reference"]; got != want {
									t.Errorf("Observation.subject = %v, want %s", got, want)
								}
							}
						}
						wantHow := func(typ, how string) {
							t.Helper()
							if !prepare && how == "prepared" {
								how = "inline"
							}
							if got := log.how(typ); got != how {
								t.Errorf("the %s was written %q, want %q", typ, got, how)
							}
						}
						wantHow("Patient", tt.patient)
						wantHow("Observation", tt.observation)
					})
				}
			}
		})
	}
}

// patchRaceStore is a loggedStore whose Prepare of a Patient first writes the Patient
// itself, as a concurrent writer would between a patch's preparation and its
// transaction.
type patchRaceStore struct {
	loggedStore
	race func()
}

func (s patchRaceStore) Prepare(ctx context.Context, typ, id string, res map[string]any) (ehr.Prepared, error) {
	if s.race != nil && typ == "Patient" {
		s.race()
	}
	return s.Store.Prepare(ctx, typ, id, res)
}

// TestPatchIsPreparedAndRedoneWhenTheResourceMoved checks that a PATCH is written
// as prepared before its transaction when the resource has not changed, and is
// applied again to the current version when another write came between its
// preparation and its transaction, keeping both changes.
func TestPatchIsPreparedAndRedoneWhenTheResourceMoved(t *testing.T) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			st := ehrtest.MustOpen(t, engine, store.Options{})
			log := &writeLog{writes: map[string]string{}}
			rs := patchRaceStore{loggedStore: loggedStore{Store: st, log: log}}
			svc := service.New(&rs, service.Options{})
			rec, _, err := svc.Create(ctx, map[string]any{"resourceType": "Patient", "name": []any{map[string]any{"family": "Chalmers"}}}, "")
			if err != nil {
				t.Fatal(err)
			}
			patched, err := svc.Patch(ctx, "Patient", rec.ID, []byte(`[{"op":"add","path":"/gender","value":"male"}]`), 0)
			if err != nil || patched.Version != 2 || log.how("Patient") != "prepared" {
				t.Fatalf("a patch of an unchanged Patient: version %v, written %q, %v; want version 2 written as prepared", patched, log.how("Patient"), err)
			}
			rs.race = func() {
				rs.race = nil
				if _, _, err := st.Update(ctx, "Patient", rec.ID, map[string]any{"resourceType": "Patient", "id": rec.ID, "gender": "male",
					"name": []any{map[string]any{"family": "Chalmers"}}, "birthDate": "1974-12-25"}, ehr.WriteOptions{}); err != nil {
					t.Error(err)
				}
			}
			patched, err = svc.Patch(ctx, "Patient", rec.ID, []byte(`[{"op":"add","path":"/active","value":true}]`), 0)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(patched.Resource, &got); err != nil {
				t.Fatal(err)
			}
			if patched.Version != 4 || got["active"] != true || got["birthDate"] != "1974-12-25" || log.how("Patient") != "inline" {
				t.Fatalf("a patch racing another write: version %d, %v, written %q; want version 4 with both the patch and the other write, patched inline",
					patched.Version, got, log.how("Patient"))
			}
		})
	}
}

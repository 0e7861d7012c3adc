package audit_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"omnichart/internal/audit"
	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/store"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// mustLog opens a store of engine and a Log over it with six records: four
// committed by Record (group commit), two inside write transactions with a
// resource each.
func mustLog(t *testing.T, engine string) (*store.Store, *audit.Log) {
	t.Helper()
	st := ehrtest.MustOpen(t, engine, store.Options{})
	l, err := audit.New(audit.Options{Store: st, Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 1; i <= 6; i++ {
		ev := ehr.AccessEvent{Subject: fmt.Sprintf("user/u%d", i%2), Interaction: "read", Type: "Patient",
			ID: fmt.Sprintf("p%d", i), Patients: []string{fmt.Sprintf("Patient/p%d", i)}, Outcome: "ok",
			Time: time.Date(2026, 1, i, 0, 0, 0, 0, time.UTC)}
		if i%3 != 0 {
			if err := l.Record(ctx, ev); err != nil {
				t.Fatalf("Record(%d) = %v", i, err)
			}
			continue
		}
		err := st.Transaction(ctx, func(tx ehr.Tx) error {
			rec, err := tx.Create(ctx, fmt.Sprintf("p%d", i), map[string]any{"resourceType": "Patient"})
			if err != nil {
				return err
			}
			ev.Interaction, ev.Records = "create", []string{rec.Reference()}
			return l.RecordTx(ctx, tx, ev)
		})
		if err != nil {
			t.Fatalf("Transaction(%d) = %v", i, err)
		}
	}
	return st, l
}

// TestVerifyFindsEveryTampering changes the stored log the way an attacker with
// access to the database (and not to the key) could, and checks that Verify
// finds each change at the record where it was made.
func TestVerifyFindsEveryTampering(t *testing.T) {
	other := []byte("another key, 32 bytes long......")
	cases := []struct {
		name string
		sql  []string
		key  []byte
		// anchor, when set, is the record whose head (Seq:MAC) is kept outside.
		anchor int64
		// want is the first record Verify must name; 0 means the log is intact.
		want int64
	}{
		{name: "an untouched log is intact", want: 0},
		{name: "an edited body is found", sql: []string{`UPDATE audit_events SET body = replace(body, 'Patient/p3', 'Patient/p9') WHERE seq = 3`}, want: 3},
		{name: "an edited agent is found", sql: []string{`UPDATE audit_events SET agent = 'user/else' WHERE seq = 2`}, want: 2},
		{name: "an edited time is found", sql: []string{`UPDATE audit_events SET recorded = recorded + 1 WHERE seq = 4`}, want: 4},
		{name: "a forged MAC is found", sql: []string{`UPDATE audit_events SET mac = (SELECT m.mac FROM audit_events m WHERE m.seq = 1) WHERE seq = 5`}, want: 5},
		{name: "a record deleted from the middle is found", sql: []string{`DELETE FROM audit_events WHERE seq = 3`}, want: 3},
		{name: "the first record deleted is found", sql: []string{`DELETE FROM audit_events WHERE seq = 1`}, want: 1},
		{name: "the last record deleted is found by the head", sql: []string{`DELETE FROM audit_events WHERE seq = 6`}, want: 6},
		{name: "the last record deleted with the head rewound is found by the anchor", anchor: 6, want: 6, sql: []string{
			`DELETE FROM audit_events WHERE seq = 6`,
			`UPDATE audit_head SET seq = 5, mac = (SELECT e.mac FROM audit_events e WHERE e.seq = 5) WHERE id = 1`}},
		{name: "a record inserted in the middle is found", want: 4, sql: []string{
			`UPDATE audit_events SET seq = -seq WHERE seq >= 4`,
			`UPDATE audit_events SET seq = 1 - seq WHERE seq < 0`,
			`INSERT INTO audit_events (seq, recorded, agent, body, mac) SELECT 4, recorded, agent, body, mac FROM audit_events WHERE seq = 3`,
			`UPDATE audit_head SET seq = 7, mac = (SELECT e.mac FROM audit_events e WHERE e.seq = 7) WHERE id = 1`}},
		{name: "a record appended with the head moved is found", want: 7, sql: []string{
			`INSERT INTO audit_events (seq, recorded, agent, body, mac) SELECT 7, recorded, agent, body, mac FROM audit_events WHERE seq = 6`,
			`UPDATE audit_head SET seq = 7, mac = (SELECT e.mac FROM audit_events e WHERE e.seq = 7) WHERE id = 1`}},
		{name: "a record appended behind the head is found", want: 6, sql: []string{
			`INSERT INTO audit_events (seq, recorded, agent, body, mac) SELECT 7, recorded, agent, body, mac FROM audit_events WHERE seq = 6`}},
		{name: "two records swapped are found", want: 2, sql: []string{
			`UPDATE audit_events SET seq = -2 WHERE seq = 2`,
			`UPDATE audit_events SET seq = 2 WHERE seq = 3`,
			`UPDATE audit_events SET seq = 3 WHERE seq = -2`}},
		{name: "a patient removed from the index is found", sql: []string{`DELETE FROM audit_patients WHERE seq = 2`}, want: 2},
		{name: "a patient added to the index is found", sql: []string{`INSERT INTO audit_patients (patient, seq) VALUES ('Patient/zz', 5)`}, want: 5},
		{name: "a log checked with another key fails from its first record", key: other, want: 1},
	}
	// Citus keeps these tables on the coordinator as plain tables: the same SQL
	// as PostgreSQL, so the search test below is what runs there.
	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					ctx := context.Background()
					st, _ := mustLog(t, engine)
					var anchors []audit.Anchor
					if tc.anchor > 0 {
						r, err := audit.Verify(ctx, st, testKey)
						if err != nil || len(r.Problems) > 0 || r.HeadSeq != tc.anchor {
							t.Fatalf("Verify before tampering = %+v, %v; want intact up to %d", r, err, tc.anchor)
						}
						anchors = append(anchors, audit.Anchor{Seq: r.HeadSeq, MAC: r.HeadMAC})
					}
					for _, q := range tc.sql {
						if _, err := st.DB().ExecContext(ctx, q); err != nil {
							t.Fatalf("%s: %v", q, err)
						}
					}
					key := testKey
					if tc.key != nil {
						key = tc.key
					}
					r, err := audit.Verify(ctx, st, key, anchors...)
					if err != nil {
						t.Fatalf("Verify = %v", err)
					}
					if tc.want == 0 {
						if len(r.Problems) != 0 || r.Records != 6 || r.HeadSeq != 6 {
							t.Fatalf("Verify of an intact log = %d records, head %d, problems %v; want 6, 6, none", r.Records, r.HeadSeq, r.Problems)
						}
						return
					}
					if len(r.Problems) == 0 {
						t.Fatalf("Verify found nothing; want a problem at record %d", tc.want)
					}
					if got := r.Problems[0].Seq; got != tc.want {
						t.Fatalf("Verify's first problem is at record %d (%v); want %d", got, r.Problems, tc.want)
					}
				})
			}
		})
	}
}

// TestSearchFindsTheRecordsOfAPatientAUserAndAPeriod checks AuditEntries against
// the events the test recorded.
func TestSearchFindsTheRecordsOfAPatientAUserAndAPeriod(t *testing.T) {
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			st, _ := mustLog(t, engine)
			ctx := context.Background()
			day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
			cases := []struct {
				name string
				q    ehr.AuditQuery
				want string
			}{
				{name: "a patient's records", q: ehr.AuditQuery{Patient: "Patient/p3"}, want: "3"},
				{name: "a user's records, newest first", q: ehr.AuditQuery{Agent: "user/u1"}, want: "5,3,1"},
				{name: "a period", q: ehr.AuditQuery{Since: day(2), Until: day(5)}, want: "4,3,2"},
				{name: "a user in a period", q: ehr.AuditQuery{Agent: "user/u0", Since: day(3)}, want: "6,4"},
				{name: "a page after a record", q: ehr.AuditQuery{Before: 5, Count: 2}, want: "4,3"},
				{name: "an unknown patient", q: ehr.AuditQuery{Patient: "Patient/none"}, want: ""},
			}
			for _, tc := range cases {
				got, err := st.AuditEntries(ctx, tc.q)
				if err != nil {
					t.Fatalf("%s: AuditEntries = %v", tc.name, err)
				}
				var seqs []string
				for _, e := range got {
					seqs = append(seqs, fmt.Sprint(e.Seq))
				}
				if s := strings.Join(seqs, ","); s != tc.want {
					t.Errorf("%s: AuditEntries(%+v) = %q, want %q", tc.name, tc.q, s, tc.want)
				}
			}
		})
	}
}

// TestAnotherKeyCannotAppend checks that a log refuses records sealed with a key
// other than the one it was started with, which would break its chain.
func TestAnotherKeyCannotAppend(t *testing.T) {
	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			st, _ := mustLog(t, engine)
			l, err := audit.New(audit.Options{Store: st, Key: []byte("another key, 32 bytes long......")})
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Record(context.Background(), ehr.AccessEvent{Subject: "user/x", Interaction: "read"}); err == nil {
				t.Fatal("Record with another key = nil; want an error")
			}
			r, err := audit.Verify(context.Background(), st, testKey)
			if err != nil || len(r.Problems) > 0 || r.Records != 6 {
				t.Fatalf("Verify after the refused append = %d records, %v, %v; want 6 intact", r.Records, r.Problems, err)
			}
		})
	}
}

package main_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"omnichart/internal/audit"
	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/store"
	"omnichart/internal/store/postgres"
	"omnichart/internal/store/sqlite"
)

// openDB opens the store a --db value of dbArg names, in the test process.
func openDB(t *testing.T, db string) *store.Store {
	t.Helper()
	var st *store.Store
	var err error
	if strings.HasPrefix(db, "sqlite:") {
		st, err = sqlite.Open(context.Background(), strings.TrimPrefix(db, "sqlite:"), store.Options{})
	} else {
		st, err = postgres.Open(context.Background(), db, store.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestEveryDataChangeHasItsAuditRecordAfterSIGKILL kills the server in the
// middle of concurrent creates, updates and reads, and checks in the database
// that every version written (acknowledged or not) is named by an audit record,
// that every acknowledged read is recorded once the killed server's spool is
// recovered, that the log verifies, and that admin audit verify and list agree.
func TestEveryDataChangeHasItsAuditRecordAfterSIGKILL(t *testing.T) {
	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				ehrtest.PostgresURL(t)
			}
			db := dbArg(t, engine)
			keyFile := filepath.Join(t.TempDir(), "audit.key")
			env := []string{"OMNICHART_AUDIT_KEY_FILE=" + keyFile}
			srv := start(t, env, "--db", db)

			var acked, readsAcked atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						status, loc, err := srv.post(fmt.Sprintf(`{"resourceType":"Patient","identifier":[{"system":"http://k","value":"%d-%d"}]}`, w, i))
						if err != nil {
							return
						}
						if status != 201 {
							continue
						}
						acked.Add(1)
						path := loc[strings.Index(loc, "/fhir/")+len("/fhir"):]
						path = path[:strings.Index(path, "/_history")]
						id := path[strings.LastIndex(path, "/")+1:]
						req, _ := http.NewRequest("PUT", srv.base+path, strings.NewReader(
							fmt.Sprintf(`{"resourceType":"Patient","id":"%s","gender":"female","identifier":[{"system":"http://k","value":"%d-%d"}]}`, id, w, i)))
						req.Header.Set("Content-Type", "application/fhir+json")
						if resp, err := http.DefaultClient.Do(req); err == nil {
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
						}
						if resp, err := http.Get(srv.base + path); err == nil {
							_, err := io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							if err == nil && resp.StatusCode == 200 {
								readsAcked.Add(1)
							}
						}
					}
				}(w)
			}
			killWhen(t, srv, stop, &wg, "creates acknowledged", 100, acked.Load)

			// The oracle is the store's own table of versions.
			st := openDB(t, db)
			// The reads the killed server had spooled and not yet committed join
			// the chain, as the next start (or admin command) does it.
			key, err := audit.LoadKey(keyFile)
			if err != nil {
				t.Fatal(err)
			}
			l, err := audit.New(audit.Options{Store: st, Key: key})
			if err != nil {
				t.Fatal(err)
			}
			recovered, problems, err := l.Recover(context.Background(), filepath.Join(filepath.Dir(keyFile), "audit-spool"))
			if err != nil || len(problems) > 0 {
				t.Fatalf("Recover = %d records, problems %v, %v; want no problem after a SIGKILL", recovered, problems, err)
			}
			t.Logf("%d read records recovered from the spool", recovered)
			rows, err := st.DB().Query(`SELECT res_type, res_id, version FROM resource_versions`)
			if err != nil {
				t.Fatal(err)
			}
			var versions []string
			for rows.Next() {
				var typ, id string
				var v int64
				if err := rows.Scan(&typ, &id, &v); err != nil {
					t.Fatal(err)
				}
				versions = append(versions, fmt.Sprintf("%s/%s/_history/%d", typ, id, v))
			}
			rows.Close()
			entries, err := st.AuditEntries(context.Background(), ehr.AuditQuery{})
			if err != nil {
				t.Fatal(err)
			}
			named := map[string]bool{}
			reads := 0
			for _, e := range entries {
				ev, err := audit.Event(e)
				if err != nil {
					t.Fatal(err)
				}
				if ev.Interaction == "read" {
					reads++
				}
				if ev.Outcome != "ok" {
					continue
				}
				for _, r := range ev.Records {
					named[r] = true
				}
			}
			missing := 0
			for _, v := range versions {
				if !named[v] {
					missing++
				}
			}
			if len(versions) < 200 || missing > 0 {
				t.Fatalf("%d of %d versions have no audit record after SIGKILL (want at least 200 versions, none missing)", missing, len(versions))
			}
			if reads == 0 || int64(reads) < readsAcked.Load() {
				t.Errorf("%d reads recorded, %d acknowledged: every acknowledged read must be", reads, readsAcked.Load())
			}

			// verify agrees, and names the record an edit touched.
			out, code := omnichartEnv(t, t.TempDir(), env, "admin", "audit", "verify", "--db", db)
			if code != 0 || !strings.Contains(out, "audit log intact") {
				t.Fatalf("admin audit verify exited %d: %s", code, out)
			}
			if _, err := st.DB().Exec(`UPDATE audit_events SET agent = 'user/nobody' WHERE seq = 7`); err != nil {
				t.Fatal(err)
			}
			out, code = omnichartEnv(t, t.TempDir(), env, "admin", "audit", "verify", "--db", db)
			if code == 0 || !strings.Contains(out, "record 7:") {
				t.Fatalf("admin audit verify after an edit exited %d: %s; want non-zero, naming record 7", code, out)
			}
			out, code = omnichartEnv(t, t.TempDir(), env, "admin", "audit", "list", "--db", db, "--agent", "user/nobody")
			if code != 0 || !strings.Contains(out, "\n7 ") {
				t.Fatalf("admin audit list --agent user/nobody exited %d: %s; want record 7", code, out)
			}
			t.Logf("%d versions, %d audit records, every version recorded", len(versions), len(entries))
		})
	}
}

package store_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"testing"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/store"
)

// TestReindexBatchesHoldBoundedBytes writes Binaries of 1 MiB of data each and
// re-indexes them with a budget of 3 MiB of bodies per batch and a batch of 500
// resources: each batch must stop at the resource that takes it past the budget
// (at most 3 Binaries, each a little over 1 MiB as base64 in JSON), and every
// Binary must still be indexed at the end, both by a full re-index and by the
// build of a deferred load's indexes.
func TestReindexBatchesHoldBoundedBytes(t *testing.T) {
	const binaries = 12
	store.SetReindexBatchBytes(t, 3<<20)
	for _, engine := range ehrtest.AllEngines {
		t.Run(engine, func(t *testing.T) {
			st := ehrtest.MustOpen(t, engine, store.Options{})
			ctx := context.Background()
			write := func(ctx context.Context) {
				t.Helper()
				err := st.Transaction(ctx, func(tx ehr.Tx) error {
					for i := range binaries {
						data := make([]byte, 1<<20)
						rand.Read(data)
						b := map[string]any{"resourceType": "Binary", "contentType": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(data),
							"meta": map[string]any{"tag": []any{map[string]any{"system": "http://example.org/kind", "code": "original"}}}}
						if _, err := tx.Create(ctx, "bin"+strconv.Itoa(i), b); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			indexed := func() int {
				t.Helper()
				var n int
				if err := st.DB().QueryRow(`SELECT count(*) FROM index_token WHERE res_type = 'Binary' AND param = '_tag'`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			steps := func(opts store.ReindexOptions) []int64 {
				t.Helper()
				var done []int64
				opts.Batch = 500
				opts.Progress = func(d, total int64) { done = append(done, d) }
				if err := st.Reindex(ctx, opts); err != nil {
					t.Fatal(err)
				}
				return done
			}
			check := func(what string, done []int64) {
				t.Helper()
				last := int64(0)
				for _, d := range done {
					if d-last > 3 {
						t.Errorf("%s: one batch re-indexed %d Binaries of 1 MiB, want at most 3 with a budget of 3 MiB (progress %v)", what, d-last, done)
					}
					last = d
				}
				if last != binaries || len(done) < binaries/3 {
					t.Errorf("%s: progress %v, want %d Binaries in at least %d batches", what, done, binaries, binaries/3)
				}
				if n := indexed(); n != binaries {
					t.Errorf("%s: %d Binaries indexed, want %d", what, n, binaries)
				}
			}
			write(ehr.WithDeferredIndexing(ctx))
			if n := indexed(); n != 0 {
				t.Fatalf("a deferred load indexed %d Binaries, want none before the build", n)
			}
			check("building a deferred load's indexes", steps(store.ReindexOptions{PendingOnly: true}))
			check("a full re-index", steps(store.ReindexOptions{Restart: true}))
		})
	}
}

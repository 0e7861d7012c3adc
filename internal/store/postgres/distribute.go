package postgres

import (
	"context"
	"database/sql"
	"fmt"
)

// The distribution plan of the schema on Citus (see docs/scale-out.md). Every
// patient table is hash-distributed by compartment and co-located with resources,
// so that one patient's record (its resources, versions and index rows) lives on
// one shard and joins between these tables stay on that shard. resource_ids, the
// id -> compartment lookup that a read by id alone starts from, is distributed by
// its own key (res_id) in a co-location group of its own. reindex_progress, the
// authorization server's auth_* tables and the matcher's models (match_models),
// small and shared, are reference tables, copied to every node.
//
// locks and schema_migrations stay local tables of the coordinator, which every
// server connects to. For locks that is what makes a named lock (ehr.Tx.Lock) mean
// what it means on one node: a transaction waiting for a lock row wakes when the
// holder's transaction lock is released, and the coordinator releases it only
// after its commit has reached every worker (Citus sends the workers their COMMIT
// PREPARED before the coordinator's own locks go). The waiter's next search then
// sees everything the holder wrote, on every shard. The row of a reference table
// would be released on each node as that node commits, and a waiter could search a
// worker that had not committed yet.
//
// The audit log's tables (audit_events, audit_patients, audit_head) stay local to
// the coordinator too: the log is one chain in one global order, every append
// takes the lock of the one head row, and a write transaction appends its record
// there beside its distributed writes, committed with them.
//
// A table added by a later migration must be listed here; TestCitusDistributesEveryTable
// fails for a table that is not.
var (
	compartmentTables = []string{
		"resources", // first: the others are co-located with it
		"resource_versions",
		"index_string", "index_token", "index_date", "index_number",
		"index_quantity", "index_reference", "index_uri",
		"index_pending",
	}
	// The authorization server's tables (users, clients, codes, tokens, keys) are
	// small and read by every server, so each node holds a copy.
	referenceTables = []string{"reindex_progress", "access_openings",
		"auth_settings", "auth_org_sources", "auth_users", "auth_clients", "auth_codes",
		"auth_refresh_tokens", "auth_revoked", "auth_assertions", "auth_keys", "auth_launches",
		"match_models"}
	// idLookupTable is distributed by idLookupKey, apart from the compartment group.
	idLookupTable = "resource_ids"
	idLookupKey   = "res_id"
)

// hasCitus reports whether the database has the citus extension.
func hasCitus(ctx context.Context, db *sql.DB) (bool, error) {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_extension WHERE extname = 'citus'`).Scan(&n); err != nil {
		return false, fmt.Errorf("look for the citus extension: %w", err)
	}
	return n > 0, nil
}

// Distribute distributes the schema of the connection's search_path on Citus by
// the plan above. It is idempotent: tables already distributed are left as they are,
// so it runs at every start and moves a populated single-node database in place
// (Citus copies each table's rows into its shards). It runs in one transaction that
// holds the migration lock, so two servers starting at once do not both distribute.
func Distribute(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, dialect{}.LockMigrations()); err != nil {
		return fmt.Errorf("distribute: %w", err)
	}
	kind := func(table string) (string, error) {
		var method sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT p.partmethod::text FROM pg_dist_partition p WHERE p.logicalrelid = to_regclass($1)`, table).Scan(&method)
		if err == sql.ErrNoRows {
			return "", nil
		}
		return method.String, err
	}
	apply := func(table, want, stmt string, args ...any) error {
		got, err := kind(table)
		if err != nil {
			return fmt.Errorf("distribute %s: %w", table, err)
		}
		if got == want {
			return nil
		}
		if got != "" {
			return fmt.Errorf("distribute %s: it is already distributed with method %q, not %q; undistribute it first", table, got, want)
		}
		if _, err := tx.ExecContext(ctx, stmt, args...); err != nil {
			return fmt.Errorf("distribute %s: %w", table, err)
		}
		return nil
	}
	for i, table := range compartmentTables {
		colocate := "resources"
		if i == 0 {
			colocate = "none"
		}
		if err := apply(table, "h", `SELECT create_distributed_table($1, 'compartment', colocate_with => $2)`, table, colocate); err != nil {
			return err
		}
	}
	if err := apply(idLookupTable, "h", `SELECT create_distributed_table($1, $2, colocate_with => 'none')`, idLookupTable, idLookupKey); err != nil {
		return err
	}
	for _, table := range referenceTables {
		if err := apply(table, "n", `SELECT create_reference_table($1)`, table); err != nil {
			return err
		}
	}
	return tx.Commit()
}

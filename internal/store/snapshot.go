package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir/search"
)

// versionOrdered is a Dialect whose engine numbers the rows of resource_versions in
// the order they were committed, so that "what was written since" is a range of
// that number: SQLite, where every write goes through the one write connection and
// a new row's rowid is one more than the largest (rows of resource_versions are
// never deleted). PostgreSQL has no such number and does not need one: its writers
// do not wait for each other's searches.
type versionOrdered interface {
	// VersionOrder is the column that numbers resource_versions rows.
	VersionOrder() string
}

// MarksChanges reports whether SearchMarked returns marks that ChangedSince can
// check: true on SQLite.
func (s *Store) MarksChanges() bool {
	_, ok := s.dialect.(versionOrdered)
	return ok
}

// SearchMarked runs q like Search, outside any write transaction and on one
// consistent snapshot of the database, and returns with the page a mark of that
// snapshot and of the resource types q reads. Inside a later write transaction,
// ChangedSince(mark) false means the same search would find the same records.
// The mark is "" where MarksChanges is false.
//
// Conditional interactions resolve their criteria this way before they begin
// their transaction, so that an expensive criteria search does not hold SQLite's
// one writer while every other write waits.
func (s *Store) SearchMarked(ctx context.Context, q *search.Query) (*ehr.Page, string, error) {
	d, ok := s.dialect.(versionOrdered)
	if !ok {
		page, err := s.Search(ctx, q)
		return page, "", err
	}
	sqlTx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, "", fmt.Errorf("search: %w", err)
	}
	defer sqlTx.Rollback()
	t := &tx{s: s, q: sqlTx, now: s.now().UTC()}
	page, err := t.Search(ctx, q)
	if err != nil {
		return nil, "", err
	}
	var seq int64
	if err := t.queryRow(ctx, "SELECT COALESCE(MAX("+d.VersionOrder()+"), 0) FROM resource_versions").Scan(&seq); err != nil {
		return nil, "", fmt.Errorf("search mark: %w", err)
	}
	return page, strconv.FormatInt(seq, 10) + "|" + strings.Join(s.registry.SearchedTypes(q), ","), nil
}

// ChangedSince reports whether a resource of a type the search of mark reads has
// been written since mark was taken, by a committed transaction or by t itself. An
// unknown mark counts as changed. See SearchMarked.
func (t *tx) ChangedSince(ctx context.Context, mark string) (bool, error) {
	d, ok := t.s.dialect.(versionOrdered)
	seqText, typeList, found := strings.Cut(mark, "|")
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if !ok || !found || err != nil {
		return true, nil
	}
	types := map[string]bool{}
	for _, typ := range strings.Split(typeList, ",") {
		types[typ] = true
	}
	// Only the range condition, so that the engine reads just the rows written
	// since; few, as a mark is taken moments before.
	rows, err := t.query(ctx, "SELECT res_type FROM resource_versions WHERE "+d.VersionOrder()+" > ?", seq)
	if err != nil {
		return false, fmt.Errorf("changes since search: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var typ string
		if err := rows.Scan(&typ); err != nil {
			return false, fmt.Errorf("changes since search: %w", err)
		}
		if typeList == "" || types[typ] {
			return true, nil
		}
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("changes since search: %w", err)
	}
	return false, nil
}

// ReadTransaction runs fn on one consistent snapshot of the database, outside any
// write transaction: the reads of fn see the same data, and its writes and locks
// fail. A transaction or batch entry that only reads runs this way, so that a slow
// search in it never holds SQLite's one writer.
func (s *Store) ReadTransaction(ctx context.Context, fn func(tx ehr.Tx) error) error {
	sqlTx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer sqlTx.Rollback()
	return fn(&tx{s: s, q: sqlTx, now: s.now().UTC().Truncate(time.Microsecond)})
}

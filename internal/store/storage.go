package store

import (
	"context"
	"fmt"
	"sort"
)

// TableBytes is the room one table of the store takes on disk: its rows (with
// PostgreSQL's TOAST) and, apart, all its indexes.
type TableBytes struct {
	Name           string
	Table, Indexes int64
}

// Total is the table's bytes with its indexes.
func (t TableBytes) Total() int64 { return t.Table + t.Indexes }

// StorageReport says where a store's bytes go (Store.Storage).
type StorageReport struct {
	Tables []TableBytes // largest first
	// Resources counts the store's resources (deleted ones too: their versions
	// stay), Binaries those of type Binary, which hold the originals of imported
	// documents and messages, and BinaryBytes their versions' bodies as stored.
	Resources, Binaries, BinaryBytes int64
}

// Total is the bytes of every table and index of the store.
func (r StorageReport) Total() int64 {
	var n int64
	for _, t := range r.Tables {
		n += t.Total()
	}
	return n
}

// PerResource is the average bytes of a resource other than a Binary, with every
// table and index counted and the Binaries' bodies left out: the measure of how
// compact the store is, apart from the originals it keeps byte for byte.
func (r StorageReport) PerResource() float64 {
	if r.Resources-r.Binaries <= 0 {
		return 0
	}
	return float64(r.Total()-r.BinaryBytes) / float64(r.Resources-r.Binaries)
}

// Storage measures the store's tables and indexes as the engine allocates them
// (Dialect.TableSizes: SQLite's dbstat pages, PostgreSQL's relation sizes, on
// Citus summed over the shards) and counts its resources.
func (s *Store) Storage(ctx context.Context) (StorageReport, error) {
	var r StorageReport
	rows, err := s.read.QueryContext(ctx, s.dialect.TableSizes())
	if err != nil {
		return r, fmt.Errorf("measuring the tables: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t TableBytes
		if err := rows.Scan(&t.Name, &t.Table, &t.Indexes); err != nil {
			return r, err
		}
		r.Tables = append(r.Tables, t)
	}
	if err := rows.Err(); err != nil {
		return r, fmt.Errorf("measuring the tables: %w", err)
	}
	sort.SliceStable(r.Tables, func(i, j int) bool {
		if r.Tables[i].Total() != r.Tables[j].Total() {
			return r.Tables[i].Total() > r.Tables[j].Total()
		}
		return r.Tables[i].Name < r.Tables[j].Name
	})
	err = s.read.QueryRowContext(ctx, rebind(s.dialect, `SELECT
  (SELECT count(*) FROM resources),
  (SELECT count(*) FROM resources WHERE res_type = ?),
  (SELECT COALESCE(sum(length(body)), 0) FROM resource_versions WHERE res_type = ?)`), "Binary", "Binary").
		Scan(&r.Resources, &r.Binaries, &r.BinaryBytes)
	if err != nil {
		return r, fmt.Errorf("counting the resources: %w", err)
	}
	return r, nil
}

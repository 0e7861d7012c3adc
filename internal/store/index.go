package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// indexTables are the search index tables, one per parameter type.
var indexTables = []string{"index_string", "index_token", "index_date", "index_number", "index_quantity", "index_reference", "index_uri"}

// rowBatch is a multi-row INSERT under construction.
type rowBatch struct {
	table   string
	columns []string
	args    []any
	rows    int
}

// maxBatchRows keeps a multi-row INSERT well under every engine's bind limit.
const maxBatchRows = 200

func (t *tx) flush(ctx context.Context, b *rowBatch) error {
	if b.rows == 0 {
		return nil
	}
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(b.columns)), ", ") + ")"
	q := t.s.dialect.InsertRows() + " INTO " + b.table + " (" + strings.Join(b.columns, ", ") + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(one+", ", b.rows), ", ")
	err := t.exec(ctx, q, b.args...)
	b.args, b.rows = b.args[:0], 0
	return err
}

func (t *tx) addRow(ctx context.Context, b *rowBatch, values ...any) error {
	b.args = append(b.args, values...)
	b.rows++
	if b.rows >= maxBatchRows {
		return t.flush(ctx, b)
	}
	return nil
}

var owner = []string{"compartment", "res_type", "res_id", "param", "grp"}

func cols(extra ...string) []string { return append(append([]string{}, owner...), extra...) }

// insertIndexes writes the index rows of one resource; deferred marks them as the
// identifier rows of a bulk load, the rest to be built by a re-index.
func (t *tx) insertIndexes(ctx context.Context, compartment, typ, id string, rows *indexRows, deferred bool) error {
	if deferred {
		if err := t.exec(ctx, `INSERT INTO index_pending (compartment, res_type, res_id) VALUES (?, ?, ?)`, compartment, typ, id); err != nil {
			return fmt.Errorf("mark %s/%s for indexing: %w", typ, id, err)
		}
	}
	if err := t.writeRows(ctx, compartment, typ, id, rows); err != nil {
		return fmt.Errorf("index %s/%s: %w", typ, id, err)
	}
	return nil
}

// rowsFor extracts the index rows of res: all of them, or with deferred indexing
// only the identifiers, which conditional creates and references later in the
// same load look up.
func (x *extractor) rowsFor(typ string, res map[string]any, deferred bool) *indexRows {
	if deferred {
		return &indexRows{tokens: x.tokensOf(typ, res, "identifier")}
	}
	return x.extract(typ, res)
}

// tokensOf extracts the token rows of one parameter.
func (x *extractor) tokensOf(typ string, res map[string]any, code string) []tokenRow {
	d, ok := x.registry.Lookup(typ, code)
	if !ok || d.Type != "token" {
		return nil
	}
	e, err := x.compile(d.Expression)
	if err != nil {
		return nil
	}
	nodes, err := e.Evaluate(res)
	if err != nil {
		return nil
	}
	rows := &indexRows{}
	for _, n := range nodes {
		rows.addToken(code, 0, n)
	}
	return rows.tokens
}

// batch returns the pending multi-row INSERT of table, creating it.
func (t *tx) batch(table string, columns ...string) *rowBatch {
	if t.batches == nil {
		t.batches = map[string]*rowBatch{}
	}
	b, ok := t.batches[table]
	if !ok {
		b = &rowBatch{table: table, columns: cols(columns...)}
		t.batches[table] = b
	}
	return b
}

// flushIndexes writes every pending index row. Index rows of a transaction are
// buffered across resources, so that a bundle of hundreds of resources costs a few
// multi-row INSERTs per table instead of several statements per resource; anything
// that reads index tables inside the transaction, and the commit, flushes first.
func (t *tx) flushIndexes(ctx context.Context) error {
	for _, table := range indexTables {
		if b, ok := t.batches[table]; ok {
			if err := t.flush(ctx, b); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *tx) writeRows(ctx context.Context, compartment, typ, id string, rows *indexRows) error {
	own := func(param string, grp int) []any { return []any{compartment, typ, id, param, grp} }
	b := t.batch("index_string", "value_norm", "value_exact")
	for _, r := range rows.strings {
		if err := t.addRow(ctx, b, append(own(r.param, r.grp), r.norm, r.exact)...); err != nil {
			return err
		}
	}
	b = t.batch("index_token", "system", "code", "text")
	for _, r := range distinctTokens(rows.tokens) {
		if err := t.addRow(ctx, b, append(own(r.param, r.grp), r.system, r.code, r.text)...); err != nil {
			return err
		}
	}
	b = t.batch("index_date", "low", "high")
	for _, r := range rows.dates {
		if err := t.addRow(ctx, b, append(own(r.param, r.grp), r.low, r.high)...); err != nil {
			return err
		}
	}
	b = t.batch("index_number", "value")
	for _, r := range rows.numbers {
		if err := t.addRow(ctx, b, append(own(r.param, r.grp), r.value)...); err != nil {
			return err
		}
	}
	b = t.batch("index_quantity", "value", "system", "code", "unit", "canon_value", "canon_code")
	for _, r := range rows.quantities {
		var cv any
		if r.hasCanon {
			cv = r.canonValue
		}
		if err := t.addRow(ctx, b, append(own(r.param, r.grp), r.value, r.system, r.code, r.unit, cv, r.canonCode)...); err != nil {
			return err
		}
	}
	b = t.batch("index_reference", "ref_type", "ref_id", "ref_version", "url", "id_system", "id_value")
	for _, r := range rows.references {
		if err := t.addRow(ctx, b, append(own(r.param, r.grp), r.refType, r.refID, r.version, r.url, r.idSystem, r.idValue)...); err != nil {
			return err
		}
	}
	b = t.batch("index_uri", "value")
	for _, r := range rows.uris {
		if err := t.addRow(ctx, b, append(own(r.param, r.grp), r.value)...); err != nil {
			return err
		}
	}
	return nil
}

// distinctTokens returns rows without the rows that repeat an earlier one in
// every column (an identifier or a coding met twice): a search reads them the
// same, and on SQLite a token row is its own primary key (migration 0020).
func distinctTokens(rows []tokenRow) []tokenRow {
	if len(rows) <= 32 {
		// Few rows, most often all distinct: no copy then.
		var out []tokenRow
		for k, r := range rows {
			dup := slices.Contains(rows[:k], r)
			if dup && out == nil {
				out = append(make([]tokenRow, 0, len(rows)), rows[:k]...)
			}
			if !dup && out != nil {
				out = append(out, r)
			}
		}
		if out == nil {
			return rows
		}
		return out
	}
	seen := make(map[tokenRow]struct{}, len(rows))
	out := make([]tokenRow, 0, len(rows))
	for _, r := range rows {
		if _, ok := seen[r]; !ok {
			seen[r] = struct{}{}
			out = append(out, r)
		}
	}
	return out
}

func (t *tx) deleteIndexes(ctx context.Context, compartment, typ, id string) error {
	if err := t.flushIndexes(ctx); err != nil {
		return err
	}
	for _, table := range append(indexTables, "index_pending") {
		if err := t.exec(ctx, `DELETE FROM `+table+` WHERE compartment = ? AND res_type = ? AND res_id = ?`, compartment, typ, id); err != nil {
			return fmt.Errorf("unindex %s/%s: %w", typ, id, err)
		}
	}
	return nil
}

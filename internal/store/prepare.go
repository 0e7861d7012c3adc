package store

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
)

// prepared is the store's ehr.Prepared: everything about writing one resource that
// depends neither on what is stored nor on the transaction's clock. Encoding a
// large resource and extracting its index rows take far longer than inserting
// them; done here, before the transaction, they hold no lock (SQLite has one
// writer for the whole database).
//
// The body is kept in three parts around the value of meta, whose members are
// encoded one by one, so that the transaction only adds meta.versionId and
// meta.lastUpdated and joins the parts: the result is byte for byte what
// fhir.Marshal gives for the whole resource.
type prepared struct {
	s       *Store
	typ, id string
	// res is the resource as stored, without meta.versionId and meta.lastUpdated:
	// a copy of the caller's top level, with id and meta set, sharing everything
	// below (which nothing here modifies).
	res  map[string]any
	meta map[string]any
	// head is the encoded body up to the value of meta, tail what follows it.
	head, tail []byte
	// buf starts with head and has room for the whole body. The first write
	// takes it (taken), so that a transaction does not allocate the body, which
	// for a large resource costs as much as copying it; a write after that (a
	// retried transaction) allocates its own.
	buf   []byte
	taken atomic.Bool
	// metaMembers are the encoded members of meta ("key":value), in key order.
	metaMembers []member
	compartment string
	source      string
	// rows are the index rows, extracted with deferred indexing or not, while
	// the registry was at generation; nil when they depend on meta.versionId or
	// meta.lastUpdated and are extracted in the transaction.
	rows       *indexRows
	deferred   bool
	generation uint64
}

// member is one encoded member of a JSON object.
type member struct {
	key string
	enc []byte
}

var (
	_ ehr.Preparer       = (*Store)(nil)
	_ ehr.PreparedWriter = (*tx)(nil)
)

// Reference implements ehr.Prepared.
func (p *prepared) Reference() string { return p.typ + "/" + p.id }

// Prepare implements ehr.Preparer: it encodes res as typ/id, finds its compartment
// and extracts its index rows, without a transaction.
func (s *Store) Prepare(ctx context.Context, typ, id string, res map[string]any) (ehr.Prepared, error) {
	return s.prepare(ctx, typ, id, res)
}

// prepare is the part of a write that needs no database. Create and Update run it
// inside their transaction; CreatePrepared and UpdatePrepared take its result from
// before the transaction.
func (s *Store) prepare(ctx context.Context, typ, id string, res map[string]any) (*prepared, error) {
	if !fhir.ValidID(id) {
		return nil, ehr.Errorf(ehr.Invalid, "%q is not a valid resource id", id)
	}
	if !fhir.R4().IsResourceType(typ) {
		return nil, ehr.Errorf(ehr.Invalid, "%q is not an R4 resource type", typ)
	}
	// Read before extracting: a registry change during the extraction shows as a
	// new generation when the rows are written, and they are extracted again.
	p := &prepared{s: s, typ: typ, id: id, generation: s.registry.Generation(), deferred: ehr.DeferredIndexing(ctx)}
	if typ == "SearchParameter" {
		// The registry reads it after the commit, when the caller may have
		// moved on; it is small.
		res = fhir.Clone(res).(map[string]any)
	}
	p.res = maps.Clone(res)
	if p.res == nil {
		p.res = map[string]any{}
	}
	p.res["id"] = id
	p.meta, _ = p.res["meta"].(map[string]any)
	p.meta = maps.Clone(p.meta)
	if p.meta == nil {
		p.meta = map[string]any{}
	}
	delete(p.meta, "versionId")
	delete(p.meta, "lastUpdated")
	p.res["meta"] = p.meta
	p.source, _ = p.meta["source"].(string)
	p.compartment = Compartment(typ, id, p.res)
	if err := p.encode(); err != nil {
		return nil, fmt.Errorf("encode %s/%s: %w", typ, id, err)
	}
	if !s.extractor.readsVersion(typ) {
		p.rows = s.extractor.rowsFor(typ, p.res, p.deferred)
	}
	return p, nil
}

// own returns the store's own form of a Prepared.
func (s *Store) own(ep ehr.Prepared) (*prepared, error) {
	p, ok := ep.(*prepared)
	if !ok || p.s != s {
		return nil, fmt.Errorf("write prepared %s: it was prepared by another store", ep.Reference())
	}
	return p, nil
}

// CreatePrepared implements ehr.PreparedWriter.
func (t *tx) CreatePrepared(ctx context.Context, ep ehr.Prepared) (*ehr.Record, error) {
	p, err := t.s.own(ep)
	if err != nil {
		return nil, err
	}
	return t.create(ctx, p.typ, p.id, func() (*prepared, error) { return p, nil })
}

// UpdatePrepared implements ehr.PreparedWriter.
func (t *tx) UpdatePrepared(ctx context.Context, ep ehr.Prepared, opts ehr.WriteOptions) (*ehr.Record, bool, error) {
	p, err := t.s.own(ep)
	if err != nil {
		return nil, false, err
	}
	return t.update(ctx, p.typ, p.id, opts, func() (*prepared, error) { return p, nil })
}

// encode encodes the resource as fhir.Marshal does, but apart from the value of
// meta: resourceType first, then the other members in key order.
func (p *prepared) encode() error {
	keys := make([]string, 0, len(p.res))
	for k := range p.res {
		if k != "resourceType" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if _, ok := p.res["resourceType"]; ok {
		keys = append([]string{"resourceType"}, keys...)
	}
	// The members before meta and after it, encoded: "{" and "," included,
	// and the "meta": that starts its value.
	var head, tail [][]byte
	part := &head
	for i, k := range keys {
		sep := []byte{','}
		if i == 0 {
			sep = []byte{'{'}
		}
		m, err := encodeMember(k, p.res[k])
		if err != nil {
			return err
		}
		if k == "meta" {
			head = append(head, sep, m.enc[:len(m.enc)-len("{}")])
			part = &tail
			continue
		}
		*part = append(*part, sep, m.enc)
	}
	tail = append(tail, []byte{'}'})
	p.metaMembers = p.metaMembers[:0]
	metaSize := len(`{"lastUpdated":"","versionId":""}`) + len(FormatInstant(time.Time{})) + 20
	for _, k := range slices.Sorted(maps.Keys(p.meta)) {
		m, err := encodeMember(k, p.meta[k])
		if err != nil {
			return err
		}
		p.metaMembers = append(p.metaMembers, m)
		metaSize += len(m.enc) + 1
	}
	p.tail = bytes.Join(tail, nil)
	headSize := 0
	for _, b := range head {
		headSize += len(b)
	}
	p.buf = make([]byte, 0, headSize+metaSize+len(p.tail))
	for _, b := range head {
		p.buf = append(p.buf, b...)
	}
	p.head = p.buf
	return nil
}

// encodeMember encodes "key":value. For meta, whose members are encoded apart,
// it gives "meta":{}.
func encodeMember(key string, value any) (member, error) {
	if key == "meta" {
		value = map[string]any{}
	}
	k, err := fhir.Marshal(key)
	if err != nil {
		return member{}, err
	}
	v, err := fhir.Marshal(value)
	if err != nil {
		return member{}, err
	}
	return member{key: key, enc: append(append(k, ':'), v...)}, nil
}

// body returns the stored JSON of the resource at version, written at now.
func (p *prepared) body(version int64, now time.Time) []byte {
	vid, _ := encodeMember("versionId", strconv.FormatInt(version, 10))
	lu, _ := encodeMember("lastUpdated", FormatInstant(now))
	members := append(slices.Clip(p.metaMembers), vid, lu)
	slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	n := len(p.head) + len(p.tail) + 2
	for _, m := range members {
		n += len(m.enc) + 1
	}
	var out []byte
	if cap(p.buf) >= n && p.taken.CompareAndSwap(false, true) {
		out = p.buf[:len(p.head)]
	} else {
		out = append(make([]byte, 0, n), p.head...)
	}
	out = append(out, '{')
	for i, m := range members {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, m.enc...)
	}
	out = append(out, '}')
	return append(out, p.tail...)
}

// resource returns the resource as stored at version, written at now. It shares
// all but its top level and meta with what was prepared.
func (p *prepared) resource(version int64, now time.Time) map[string]any {
	res := maps.Clone(p.res)
	meta := maps.Clone(p.meta)
	meta["versionId"] = strconv.FormatInt(version, 10)
	meta["lastUpdated"] = FormatInstant(now)
	res["meta"] = meta
	return res
}

// indexRows returns the index rows to write for the resource at version, written
// at now, and whether they are those of deferred indexing: the prepared rows when
// nothing they depend on changed since, else rows extracted again.
func (p *prepared) indexRows(ctx context.Context, version int64, now time.Time) (*indexRows, bool) {
	deferred := ehr.DeferredIndexing(ctx)
	if p.rows != nil && deferred == p.deferred && p.generation == p.s.registry.Generation() {
		return p.rows, deferred
	}
	return p.s.extractor.rowsFor(p.typ, p.resource(version, now), deferred), deferred
}

// readsVersion reports whether the index rows of typ may depend on meta.versionId
// or meta.lastUpdated, which are not known before the transaction: some
// expression names them, walks the tree without naming what it reads, or reads
// meta other than the elements the R4 parameters index (_lastUpdated itself is a
// column, not extracted). Only custom parameters do; the rows of such a type are
// extracted in the transaction, from the resource as stored.
func (x *extractor) readsVersion(typ string) bool {
	for _, d := range x.registry.ForType(typ) {
		if d.Expression == "" || d.Code == "_id" || d.Code == "_lastUpdated" {
			continue
		}
		if readsVersion(d.Expression) {
			return true
		}
		for _, c := range d.Components {
			if readsVersion(c.Expression) {
				return true
			}
		}
	}
	return false
}

// readsVersion reports whether a FHIRPath expression may read meta.versionId or
// meta.lastUpdated; it errs on the side of yes.
func readsVersion(expr string) bool {
	for _, w := range []string{"versionId", "lastUpdated", "descendants", "children", "repeat"} {
		if strings.Contains(expr, w) {
			return true
		}
	}
	for rest := expr; ; {
		i := strings.Index(rest, "meta")
		if i < 0 {
			return false
		}
		rest = rest[i+len("meta"):]
		if !strings.HasPrefix(rest, ".profile") && !strings.HasPrefix(rest, ".security") &&
			!strings.HasPrefix(rest, ".source") && !strings.HasPrefix(rest, ".tag") {
			return true
		}
	}
}

package store

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
)

// PreparedWrite prepares res as typ/id, as before a transaction, and returns what
// writing it as version at now stores: the body, the index rows (printed) and the
// compartment. It fails when writing it a second time would store another body.
func (s *Store) PreparedWrite(ctx context.Context, typ, id string, res map[string]any, version int64, now time.Time) (body []byte, rows, compartment string, err error) {
	p, err := s.prepare(ctx, typ, id, res)
	if err != nil {
		return nil, "", "", err
	}
	r, _ := p.indexRows(ctx, version, now)
	body = p.body(version, now)
	// A retried transaction writes it again, into a buffer of its own.
	if again := p.body(version, now); !bytes.Equal(again, body) {
		return nil, "", "", fmt.Errorf("the body written again differs:\n%s\nthe first time:\n%s", again, body)
	}
	return body, fmt.Sprintf("%+v", *r), p.compartment, nil
}

// InlineWrite returns the same as PreparedWrite, computed as writes did before they
// were prepared: the whole resource with its version and time set, encoded and
// indexed at once.
func (s *Store) InlineWrite(ctx context.Context, typ, id string, res map[string]any, version int64, now time.Time) (body []byte, rows, compartment string, err error) {
	res = fhir.Clone(res).(map[string]any)
	res["id"] = id
	meta, _ := res["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta["versionId"] = strconv.FormatInt(version, 10)
	meta["lastUpdated"] = FormatInstant(now)
	res["meta"] = meta
	body, err = fhir.Marshal(res)
	r := s.extractor.rowsFor(typ, res, ehr.DeferredIndexing(ctx))
	return body, fmt.Sprintf("%+v", *r), Compartment(typ, id, res), err
}

package mpi

import (
	"context"
	"runtime"
	"sync"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir/search"
	"omnichart/internal/match"
)

// readPatients reads every current Patient through the engine, a page at a
// time, and decodes each into the matcher's record. Pages are decoded while
// the next ones are read (decoding a Patient's JSON costs about as much as
// reading it), each on a goroutine of its own, at most one per processor;
// records come back in the order the search returned them.
func (m *MPI) readPatients(ctx context.Context) ([]*ehr.Record, []match.Record, error) {
	q, err := search.ParseString("Patient", "")
	if err != nil {
		return nil, nil, err
	}
	type page struct {
		recs    []*ehr.Record
		records []match.Record
		err     error
	}
	var pages []*page
	var wg sync.WaitGroup
	slots := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	for {
		q.Count = search.MaxCount
		res, err := m.eng.Search(ctx, q)
		if err != nil {
			wg.Wait()
			return nil, nil, err
		}
		p := &page{recs: res.Records}
		pages = append(pages, p)
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			p.records = make([]match.Record, len(p.recs))
			for i, r := range p.recs {
				if p.records[i], p.err = match.RecordFromEHR(r); p.err != nil {
					return
				}
			}
		}()
		if res.Next == "" {
			break
		}
		q.Cursor = res.Next
	}
	wg.Wait()
	var recs []*ehr.Record
	var records []match.Record
	for _, p := range pages {
		if p.err != nil {
			return nil, nil, p.err
		}
		recs = append(recs, p.recs...)
		records = append(records, p.records...)
	}
	return recs, records, nil
}

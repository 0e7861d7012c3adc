package service

import (
	"context"
	"fmt"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
	"omnichart/internal/integrate"
)

// MaxIntegrated bounds the records one integrated record is built from: it is
// built whole for every page asked for, since a fact's records may lie anywhere
// in the human's source records.
const MaxIntegrated = 20000

// Integrated is the integrated record of one human: the facts of all the source
// records of its linked Patients that the caller may see, each once, and the
// shared resources they refer to.
type Integrated struct {
	// Facts are in the order of their shown records, which is Everything's order:
	// the Patients in the order asked, so the first Patient's record of a fact
	// is the one shown.
	Facts []integrate.Fact
	// Records finds the stored record of each fact's records by reference.
	Records map[string]*ehr.Record
	// Included are the shared resources the facts' records refer to.
	Included []*ehr.Record
	// Conflicts are the facts the sources disagree about.
	Conflicts []integrate.Conflict
}

// Integrated builds the integrated record of q.Patients under the caller's scope
// (q.Cursor and q.Count are not used): every record Everything lists, joined into
// facts by the rules of package integrate, with the code mappings of the
// terminology source (Terminology). Source records are never changed.
func (s *Service) Integrated(ctx context.Context, q EverythingQuery) (*Integrated, error) {
	q.Cursor, q.Count = "", search.MaxCount
	out := &Integrated{Records: map[string]*ehr.Record{}}
	var recs []integrate.Record
	included := map[string]bool{}
	for {
		page, err := s.Everything(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Records {
			res, err := fhir.Decode(r.Resource)
			if err != nil {
				return nil, fmt.Errorf("integrated record: %s: %w", r.Reference(), err)
			}
			out.Records[r.Reference()] = r
			recs = append(recs, integrate.Record{Ref: r.Reference(), Source: r.Source, Resource: res})
		}
		for _, r := range page.Included {
			if !included[r.Reference()] {
				included[r.Reference()] = true
				out.Included = append(out.Included, r)
			}
		}
		if len(recs)+len(out.Included) > MaxIntegrated {
			return nil, ehr.Errorf(ehr.TooLarge, "the integrated record would be built from more than %d records; ask for fewer types (_type) or a shorter time (_since)", MaxIntegrated)
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	terms, _, err := s.Terminology(ctx)
	if err != nil {
		return nil, err
	}
	res := integrate.IntegrateWith(recs, integrate.Options{Terminology: terms})
	out.Facts, out.Conflicts = res.Facts, res.Conflicts
	return out, nil
}

package service

import (
	"context"
	"net/url"
	"strconv"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
	"omnichart/internal/integrate"
)

// TerminologySource owns the ConceptMaps the integrated record trusts: only
// mappings an operator loaded (omnichart admin terminology load) decide that a
// source's local code and a standard code are one test or one drug, never a
// ConceptMap some EMR sent. See docs/integrated-record.md.
const (
	TerminologySource = "urn:omnichart:source:terminology"
	TerminologySlug   = "terminology"
)

// maxConceptMaps bounds the ConceptMaps read for one integrated record.
const maxConceptMaps = 1000

// Terminology reads the active ConceptMaps of TerminologySource, whatever the
// caller's scope (they are configuration, not patient records), and returns
// their equivalent mappings and what was left out of them.
func (s *Service) Terminology(ctx context.Context) (*integrate.Terminology, []string, error) {
	q, err := search.Parse("ConceptMap", url.Values{"_source": {TerminologySource}, "status": {"active"},
		"_count": {strconv.Itoa(maxConceptMaps)}})
	if err != nil {
		return nil, nil, err
	}
	page, err := s.store.Search(ehr.WithScope(ctx, ehr.Unrestricted()), q)
	if err != nil {
		return nil, nil, err
	}
	if page.Next != "" {
		return nil, nil, ehr.Errorf(ehr.TooLarge, "more than %d active ConceptMaps of %s", maxConceptMaps, TerminologySource)
	}
	maps := make([]fhir.Resource, 0, len(page.Records))
	for _, r := range page.Records {
		res, err := fhir.Decode(r.Resource)
		if err != nil {
			return nil, nil, err
		}
		maps = append(maps, res)
	}
	terms, problems := integrate.NewTerminology(maps)
	return terms, problems, nil
}

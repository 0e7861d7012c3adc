package service

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// searchMDM runs a search with :mdm reference parameters (search.ModifierMDM):
// each is replaced by the plain parameter listing every source Patient linked
// with the ones named, found under the scope in ctx, and the rest of the search
// is the store's. q keeps the parameters as asked, so that its links ask again.
func (s *Service) searchMDM(ctx context.Context, q *search.Query) (*ehr.Page, error) {
	expanded := *q
	expanded.Params = make([]search.Param, 0, len(q.Params))
	for _, p := range q.Params {
		if p.Modifier == search.ModifierMDM {
			var err error
			if p, err = s.expandMDM(ctx, q.Type, p); err != nil {
				return nil, err
			}
		}
		expanded.Params = append(expanded.Params, p)
	}
	page, err := s.store.Search(ctx, &expanded)
	if err != nil {
		return nil, err
	}
	q.Ignored, q.IgnoredReasons, q.Malformed = expanded.Ignored, expanded.IgnoredReasons, expanded.Malformed
	kept := q.Params[:0]
	for _, p := range q.Params {
		if p.Modifier == search.ModifierMDM || !slices.Contains(q.Ignored, p.Key()) {
			kept = append(kept, p)
		}
	}
	q.Params = kept
	return page, nil
}

func hasMDM(q *search.Query) bool {
	return slices.ContainsFunc(q.Params, func(p search.Param) bool { return p.Modifier == search.ModifierMDM })
}

// expandMDM turns name:mdm=Patient/X,... into name=Patient/X,Patient/Y,... with
// every Patient linked with each X through the master patient index whose
// records the caller may see.
func (s *Service) expandMDM(ctx context.Context, typ string, p search.Param) (search.Param, error) {
	bad := func(format string, args ...any) (search.Param, error) {
		msg := fmt.Sprintf(format, args...)
		return p, &ehr.Error{Code: ehr.Invalid, Message: msg, Issues: []fhir.Issue{fhir.ErrorIssue("invalid", p.Key(), msg)}}
	}
	if typ == "" {
		return bad("the :mdm modifier needs a resource type to search")
	}
	params := s.SearchParameters(typ)
	i := slices.IndexFunc(params, func(d ehr.SearchParameterInfo) bool { return d.Name == p.Name })
	if i < 0 || params[i].Type != "reference" {
		return bad("the :mdm modifier applies to reference parameters; %q is no reference parameter of %s", p.Name, typ)
	}
	if !slices.Contains(params[i].Targets, "Patient") {
		return bad("the :mdm modifier expands references to Patients, and %s.%s cannot refer to a Patient", typ, p.Name)
	}
	var values []string
	for _, v := range p.Values {
		id, ok := strings.CutPrefix(v, "Patient/")
		if !ok && !strings.Contains(v, "/") {
			id, ok = v, true
		}
		if !ok || !fhir.ValidID(id) {
			return bad("the :mdm modifier expands Patient references such as Patient/123; %q is not one", v)
		}
		// The links are the engine's; those to records the caller may not see
		// are left out (see visibleLinks).
		ids, err := s.visibleLinks(ctx, id)
		if err != nil {
			return p, err
		}
		for _, linked := range ids {
			if ref := "Patient/" + linked; !slices.Contains(values, ref) {
				values = append(values, ref)
			}
		}
	}
	return search.Param{Name: p.Name, Values: values}, nil
}

package web

import (
	"context"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/ingest"
)

// sourceView names a source for display: the owning enterprise and the badge
// text.
type sourceView struct {
	URI, Slug, Name string
	// Shape is the marker of the source's points in plots.
	Shape string
}

// sourceNames reads the directory of sources. Names of source systems are not
// patient data, so they are read as the trusted principal: a badge names the
// source of every record the caller sees.
func (h *Handler) sourceNames(ctx context.Context) (map[string]sourceView, error) {
	ctx = ehr.WithPrincipal(ctx, ehr.Principal{Subject: "web/source-names", System: true})
	list, err := ingest.NewDirectory(ingest.ServiceTarget{Service: h.cfg.Service}).List(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]sourceView{}
	for _, s := range list {
		out[s.URI] = sourceView{URI: s.URI, Slug: s.Slug, Name: s.Name}
	}
	return out, nil
}

// name returns the view of source uri, made up from the URI when the directory
// does not know it.
func sourceOf(names map[string]sourceView, uri string) sourceView {
	if v, ok := names[uri]; ok {
		return v
	}
	if uri == "" {
		return sourceView{Name: "no source", Slug: "none"}
	}
	slug := uri[strings.LastIndexAny(uri, ":/")+1:]
	return sourceView{URI: uri, Slug: slug, Name: slug}
}

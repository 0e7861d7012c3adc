// Package connected reports the health of the connected source systems: each
// registered source with its place in the EMR directory (product, developer,
// endpoint, the interfaces the product offers), when it last sent something, and
// how many originals were accepted, are quarantined and were replayed. The
// command "omnichart directory connected" and the web UI's sources page both
// show it.
package connected

import (
	"context"
	"strings"
	"time"

	"omnichart/internal/directory"
	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
	"omnichart/internal/ingest"
	"omnichart/internal/service"
)

// Health is what is known of one connected source.
type Health struct {
	Source ingest.Source
	// Product, Developer and Endpoint come from the EMR directory, when the
	// source names its product and endpoint there.
	Product, Developer, Endpoint string
	// Offers are the interfaces the product's certification criteria show it offers.
	Offers []string
	// Accepted, Quarantined and Replayed count the source's originals.
	Accepted, Quarantined, Replayed int
	// Last is when the source last sent something; zero when never.
	Last time.Time
}

// ProductLabel is the product and its developer, or the vendor and product the
// source was registered with when the directory does not know it.
func (h Health) ProductLabel() string {
	if h.Product == "" {
		return strings.Trim(h.Source.Vendor+" "+h.Source.Product, " ") + " (not in the directory)"
	}
	if h.Developer != "" {
		return h.Product + " (" + h.Developer + ")"
	}
	return h.Product
}

// List returns the health of every registered source, under the caller's scope
// (the principal of ctx).
func List(ctx context.Context, svc *service.Service) ([]Health, error) {
	sources, err := ingest.NewDirectory(ingest.ServiceTarget{Service: svc}).List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Health, 0, len(sources))
	for _, src := range sources {
		h, err := Of(ctx, svc, src)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// Of reads a source's place in the directory and counts what it sent.
func Of(ctx context.Context, svc *service.Service, src ingest.Source) (Health, error) {
	h := Health{Source: src}
	if id, ok := strings.CutPrefix(src.DirectoryProduct, "DeviceDefinition/"); ok {
		if rec, err := svc.Read(ctx, "DeviceDefinition", id); err == nil {
			prod, err := fhir.Decode(rec.Resource)
			if err != nil {
				return h, err
			}
			if names := fhir.Array(prod, "deviceName"); len(names) > 0 {
				n, _ := names[0].(map[string]any)
				h.Product = fhir.String(n, "name")
			}
			h.Developer = fhir.String(fhir.Object(prod, "manufacturerReference"), "display")
			h.Offers = directory.PropertyCodes(prod, directory.PropertyInterfaces)
		}
	}
	if id, ok := strings.CutPrefix(src.DirectoryEndpoint, "Endpoint/"); ok {
		if rec, err := svc.Read(ctx, "Endpoint", id); err == nil {
			ep, err := fhir.Decode(rec.Resource)
			if err != nil {
				return h, err
			}
			h.Endpoint = fhir.String(ep, "address")
		}
	}
	counts := []struct {
		n          *int
		typ, query string
	}{
		{&h.Accepted, "DocumentReference", "identifier=" + ingest.HashSystem + "|"},
		{&h.Quarantined, "Task", "identifier=" + ingest.QuarantineSystem + "|&status=failed"},
		{&h.Replayed, "Task", "identifier=" + ingest.QuarantineSystem + "|&status=completed"},
	}
	for _, c := range counts {
		page, err := sourceSearch(ctx, svc, src, c.typ, c.query+"&_count=0")
		if err != nil {
			return h, err
		}
		*c.n = page.Total
	}
	for _, typ := range []string{"DocumentReference", "Task"} {
		page, err := sourceSearch(ctx, svc, src, typ, "_sort=-_lastUpdated&_count=1")
		if err != nil {
			return h, err
		}
		for _, rec := range page.Records {
			if rec.LastUpdated.After(h.Last) {
				h.Last = rec.LastUpdated
			}
		}
	}
	return h, nil
}

// sourceSearch runs a search of the records of one source.
func sourceSearch(ctx context.Context, svc *service.Service, src ingest.Source, typ, query string) (*ehr.Page, error) {
	q, err := search.ParseString(typ, "_source="+src.URI+"&"+query)
	if err != nil {
		return nil, err
	}
	return svc.Search(ctx, q)
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"omnichart/internal/directory"
	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
	"omnichart/internal/ingest"
	"omnichart/internal/service"
)

// sourceHealth is what the directory shows of one connected source.
type sourceHealth struct {
	src                             ingest.Source
	product, developer, endpoint    string
	offers                          []string // interfaces the product's criteria show it offers
	accepted, quarantined, replayed int
	last                            time.Time
}

// directoryConnected lists the registered sources with their place in the EMR
// directory and their health: what each sent and when.
func directoryConnected(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("directory connected", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: omnichart directory connected [flags]\n\nLists the connected sources: the product and endpoint of the EMR directory each runs,\nthe interfaces that product offers, when each last sent something, and how many\noriginals were accepted, are quarantined, and were replayed from the quarantine.\n\nflags:\n")
		fs.PrintDefaults()
	}
	db := fs.String("db", defaultDB, "store: sqlite:PATH or postgres://user:pass@host/db")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx = adminContext(ctx)
	auditLog, err := auditFromEnv(st, *db)
	if err != nil {
		return err
	}
	svc := service.New(st, service.Options{Auditor: auditLog})
	sources, err := ingest.NewDirectory(ingest.ServiceTarget{Service: svc}).List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tSTATUS\tPRODUCT (DEVELOPER)\tOFFERS\tENDPOINT\tLAST RECEIVED\tACCEPTED\tQUARANTINED\tREPLAYED")
	for _, src := range sources {
		h, err := healthOf(ctx, svc, src)
		if err != nil {
			return err
		}
		product := h.product
		if h.developer != "" {
			product += " (" + h.developer + ")"
		}
		if product == "" {
			product = strings.Trim(src.Vendor+" "+src.Product, " ") + " (not in the directory)"
		}
		last := "never"
		if !h.last.IsZero() {
			last = h.last.UTC().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n", src.Slug, status(src.Active), product, orDash(strings.Join(h.offers, ",")),
			orDash(h.endpoint), last, h.accepted, h.quarantined, h.replayed)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// healthOf reads a source's place in the directory and counts what it sent.
func healthOf(ctx context.Context, svc *service.Service, src ingest.Source) (sourceHealth, error) {
	h := sourceHealth{src: src}
	if id, ok := strings.CutPrefix(src.DirectoryProduct, "DeviceDefinition/"); ok {
		if rec, err := svc.Read(ctx, "DeviceDefinition", id); err == nil {
			prod, err := fhir.Decode(rec.Resource)
			if err != nil {
				return h, err
			}
			if names := fhir.Array(prod, "deviceName"); len(names) > 0 {
				n, _ := names[0].(map[string]any)
				h.product = fhir.String(n, "name")
			}
			h.developer = fhir.String(fhir.Object(prod, "manufacturerReference"), "display")
			h.offers = directory.PropertyCodes(prod, directory.PropertyInterfaces)
		}
	}
	if id, ok := strings.CutPrefix(src.DirectoryEndpoint, "Endpoint/"); ok {
		if rec, err := svc.Read(ctx, "Endpoint", id); err == nil {
			ep, err := fhir.Decode(rec.Resource)
			if err != nil {
				return h, err
			}
			h.endpoint = fhir.String(ep, "address")
		}
	}
	counts := []struct {
		n          *int
		typ, query string
	}{
		{&h.accepted, "DocumentReference", "identifier=" + ingest.HashSystem + "|"},
		{&h.quarantined, "Task", "identifier=" + ingest.QuarantineSystem + "|&status=failed"},
		{&h.replayed, "Task", "identifier=" + ingest.QuarantineSystem + "|&status=completed"},
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
			if rec.LastUpdated.After(h.last) {
				h.last = rec.LastUpdated
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

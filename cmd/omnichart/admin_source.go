package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"omnichart/internal/connected"
	"omnichart/internal/ingest"
	"omnichart/internal/service"
)

const sourceUsage = `usage: omnichart admin source <command> [flags]

  add SLUG --name NAME [--vendor V] [--product P] [--interface KIND[/CONNECTION][=ADDRESS]]...
           [--contact-name N] [--contact-email E] [--contact-phone P] [--uri URI]
      KIND is fhir, ccda or hl7v2; CONNECTION an endpoint-connection-type code
      (hl7-fhir-rest, hl7v2-mllp, direct-project, ihe-xdr)
  list
  show SLUG|URI
  disable SLUG|URI
`

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func adminSource(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, sourceUsage)
		return fmt.Errorf("admin source: no command given")
	}
	cmd := args[0]
	if isHelp(cmd) {
		fmt.Fprint(stdout, sourceUsage+"\nRun \"omnichart admin source <command> -h\" for the flags of a command.\n")
		return nil
	}
	if !slices.Contains([]string{"add", "list", "show", "disable"}, cmd) {
		// Before any store is opened, so that a typo creates no database.
		fmt.Fprint(stderr, sourceUsage)
		return fmt.Errorf("admin source: unknown command %q", cmd)
	}
	pos, rest := splitPositional(args[1:])
	fs := flag.NewFlagSet("admin source "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), sourceUsage+"\nflags:\n"); fs.PrintDefaults() }
	db := fs.String("db", defaultDB, "store: sqlite:PATH or postgres://user:pass@host/db")
	server := fs.String("server", "", "FHIR base URL of a running server to work on instead of --db")
	token := tokenFlag(fs)
	var src ingest.Source
	var interfaces stringList
	if cmd == "add" {
		fs.StringVar(&src.Name, "name", "", "name of the owning organization")
		fs.StringVar(&src.Vendor, "vendor", "", "EMR vendor")
		fs.StringVar(&src.Product, "product", "", "EMR product")
		fs.StringVar(&src.URI, "uri", "", "the source's URI (default urn:omnichart:source:SLUG)")
		fs.StringVar(&src.Contact.Name, "contact-name", "", "contact person")
		fs.StringVar(&src.Contact.Email, "contact-email", "", "contact e-mail")
		fs.StringVar(&src.Contact.Phone, "contact-phone", "", "contact phone")
		fs.Var(&interfaces, "interface", "an interface KIND[/CONNECTION][=ADDRESS]; repeatable")
		fs.StringVar(&src.DirectoryProduct, "directory-product", "", "the certified product the source runs, from the EMR directory: a CHPL listing id, CHPL product number or DeviceDefinition/ID")
		fs.StringVar(&src.DirectoryEndpoint, "directory-endpoint", "", "the source's published endpoint in the EMR directory: Endpoint/ID")
	}
	if err := parseFlags(fs, rest, stdout); err != nil {
		return err
	}
	pos = append(pos, fs.Args()...)
	p, err := openPipeline(ctx, *db, *server, *token, service.Options{})
	if err != nil {
		return err
	}
	defer p.close()
	ctx = adminContext(ctx)
	need := func(n int) error {
		if len(pos) != n {
			fs.Usage()
			return fmt.Errorf("admin source %s: want %d argument(s), got %d", cmd, n, len(pos))
		}
		return nil
	}
	switch cmd {
	case "add":
		if err := need(1); err != nil {
			return err
		}
		src.Slug, src.Active = pos[0], true
		if err := connected.ResolveDirectoryLinks(ctx, p.importer.Target(), &src); err != nil {
			return fmt.Errorf("admin source add: %w", err)
		}
		for _, v := range interfaces {
			in, err := parseInterface(v)
			if err != nil {
				return err
			}
			src.Interfaces = append(src.Interfaces, in)
		}
		s, err := p.dir.Add(ctx, src)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "registered source %s (%s) as Organization/%s\n", s.Slug, s.URI, s.OrganizationID)
		return nil
	case "list":
		if err := need(0); err != nil {
			return err
		}
		list, err := p.dir.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SLUG\tSTATUS\tNAME\tVENDOR / PRODUCT\tINTERFACES\tURI")
		for _, s := range list {
			var kinds []string
			for _, in := range s.Interfaces {
				kinds = append(kinds, in.Kind)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Slug, status(s.Active), s.Name,
				strings.Trim(s.Vendor+" / "+s.Product, " /"), strings.Join(kinds, ","), s.URI)
		}
		return tw.Flush()
	case "show":
		if err := need(1); err != nil {
			return err
		}
		s, err := p.dir.Find(ctx, pos[0])
		if err != nil {
			return err
		}
		printSource(stdout, s)
		return nil
	case "disable":
		if err := need(1); err != nil {
			return err
		}
		s, err := p.dir.Disable(ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "disabled source %s: Organization/%s inactive, %d endpoint(s) off\n", s.Slug, s.OrganizationID, len(s.Interfaces))
		return nil
	}
	return fmt.Errorf("admin source: unknown command %q", cmd)
}

// parseInterface reads KIND[/CONNECTION][=ADDRESS].
func parseInterface(v string) (ingest.Interface, error) {
	spec, addr, _ := strings.Cut(v, "=")
	kind, conn, _ := strings.Cut(spec, "/")
	switch kind {
	case ingest.InterfaceFHIR, ingest.InterfaceCCDA, ingest.InterfaceHL7v2:
	default:
		return ingest.Interface{}, fmt.Errorf("--interface %q: the kind must be fhir, ccda or hl7v2", v)
	}
	return ingest.Interface{Kind: kind, ConnectionType: conn, Address: addr, Active: true}, nil
}

func status(active bool) string {
	if active {
		return "active"
	}
	return "disabled"
}

func printSource(w io.Writer, s ingest.Source) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "slug:\t%s\n", s.Slug)
	fmt.Fprintf(tw, "uri:\t%s\n", s.URI)
	fmt.Fprintf(tw, "status:\t%s\n", status(s.Active))
	fmt.Fprintf(tw, "organization:\t%s (Organization/%s)\n", s.Name, s.OrganizationID)
	fmt.Fprintf(tw, "vendor:\t%s\n", s.Vendor)
	fmt.Fprintf(tw, "product:\t%s\n", s.Product)
	if s.DirectoryProduct != "" || s.DirectoryEndpoint != "" {
		fmt.Fprintf(tw, "in the EMR directory:\t%s\n", strings.Trim(s.DirectoryProduct+", "+s.DirectoryEndpoint, ", "))
	}
	if c := s.Contact; c.Name != "" || c.Email != "" || c.Phone != "" {
		fmt.Fprintf(tw, "contact:\t%s\n", strings.Trim(strings.Join([]string{c.Name, c.Email, c.Phone}, ", "), ", "))
	}
	for _, in := range s.Interfaces {
		addr := in.Address
		if addr == "" {
			addr = "(address not given)"
		}
		fmt.Fprintf(tw, "interface:\t%s via %s at %s, %s (Endpoint/%s)\n", in.Kind, in.ConnectionType, addr, map[bool]string{true: "active", false: "off"}[in.Active], in.EndpointID)
	}
	tw.Flush()
}

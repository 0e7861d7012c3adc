package ingest

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
)

// Identifier systems and code systems of the source directory.
const (
	// SourceSystem is the identifier system of a source's URI on its Organization.
	SourceSystem = "urn:omnichart:source"
	// SourceSlugSystem is the identifier system of a source's short name.
	SourceSlugSystem = "urn:omnichart:source-slug"
	// EndpointSystem is the identifier system of a source's interfaces: the source
	// URI, "#", and the interface kind.
	EndpointSystem = "urn:omnichart:source-endpoint"
	// SourceURIPrefix is the prefix of the URIs of registered sources.
	SourceURIPrefix = "urn:omnichart:source:"

	vendorExtension  = "urn:omnichart:extension:source-vendor"
	productExtension = "urn:omnichart:extension:source-product"
	// The source's product and endpoint in the EMR software directory.
	directoryProductExtension  = "urn:omnichart:extension:source-directory-product"
	directoryEndpointExtension = "urn:omnichart:extension:source-directory-endpoint"

	connectionTypeSystem = "http://terminology.hl7.org/CodeSystem/endpoint-connection-type"
	payloadTypeSystem    = "http://terminology.hl7.org/CodeSystem/endpoint-payload-type"
)

// The source types belong to the domain (package ehr); these names keep the
// pipeline's callers readable.
type (
	Source    = ehr.Source
	Interface = ehr.Interface
	Contact   = ehr.Contact
)

// Interface kinds: how a source sends data.
const (
	InterfaceFHIR  = ehr.InterfaceFHIR
	InterfaceCCDA  = ehr.InterfaceCCDA
	InterfaceHL7v2 = ehr.InterfaceHL7v2
)

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidSlug reports whether s can name a source: lowercase letters, digits and
// dashes, at most 63 characters.
func ValidSlug(s string) bool { return slugPattern.MatchString(s) }

// Directory is the registry of source systems, kept as Organization and Endpoint
// resources written through a Target, so it is searchable in the FHIR API.
type Directory struct {
	target Target
}

// NewDirectory returns the directory kept in t.
func NewDirectory(t Target) *Directory { return &Directory{target: t} }

func defaultConnectionType(kind string) (string, error) {
	switch kind {
	case InterfaceFHIR:
		return "hl7-fhir-rest", nil
	case InterfaceHL7v2:
		return "hl7v2-mllp", nil
	case InterfaceCCDA:
		return "direct-project", nil
	}
	return "", ehr.Errorf(ehr.Invalid, "interface kind %q is not fhir, ccda or hl7v2", kind)
}

var connectionDisplay = map[string]string{
	"hl7-fhir-rest":  "HL7 FHIR",
	"hl7v2-mllp":     "HL7 v2 MLLP",
	"direct-project": "Direct Project",
	"ihe-xdr":        "IHE XDR",
}

// Add registers s and returns it as stored. A source whose URI is already
// registered is a Conflict. Organization and Endpoints are written in one
// transaction.
func (d *Directory) Add(ctx context.Context, s Source) (Source, error) {
	if !ValidSlug(s.Slug) {
		return Source{}, ehr.Errorf(ehr.Invalid, "source name %q: use 1-63 lowercase letters, digits and dashes", s.Slug)
	}
	if s.URI == "" {
		s.URI = SourceURIPrefix + s.Slug
	}
	if strings.TrimSpace(s.Name) == "" {
		return Source{}, ehr.Errorf(ehr.Invalid, "source %s needs the name of its organization", s.Slug)
	}
	for _, key := range []string{s.URI, s.Slug} {
		if _, err := d.Find(ctx, key); err == nil {
			return Source{}, ehr.Errorf(ehr.Conflict, "source %s is already registered", key)
		} else if ehr.ErrorCode(err) != ehr.NotFound {
			return Source{}, err
		}
	}
	orgURL := "urn:uuid:" + newUUID()
	org := organization(s)
	var entries []any
	var endpointRefs []any
	for i := range s.Interfaces {
		in := &s.Interfaces[i]
		if in.ConnectionType == "" {
			ct, err := defaultConnectionType(in.Kind)
			if err != nil {
				return Source{}, err
			}
			in.ConnectionType = ct
		} else if _, ok := connectionDisplay[in.ConnectionType]; !ok {
			return Source{}, ehr.Errorf(ehr.Invalid, "connection type %q is not one of hl7-fhir-rest, hl7v2-mllp, direct-project, ihe-xdr", in.ConnectionType)
		}
		if _, err := defaultConnectionType(in.Kind); err != nil {
			return Source{}, err
		}
		epURL := "urn:uuid:" + newUUID()
		endpointRefs = append(endpointRefs, map[string]any{"reference": epURL})
		entries = append(entries, map[string]any{
			"fullUrl":  epURL,
			"resource": endpoint(s, *in, orgURL),
			"request":  map[string]any{"method": "POST", "url": "Endpoint"},
		})
	}
	if len(endpointRefs) > 0 {
		org["endpoint"] = endpointRefs
	}
	entries = append([]any{map[string]any{
		"fullUrl":  orgURL,
		"resource": org,
		"request":  map[string]any{"method": "POST", "url": "Organization"},
	}}, entries...)
	bundle := fhir.Resource{"resourceType": "Bundle", "type": "transaction", "entry": entries}
	if _, _, err := applyBundle(ctx, d.target, bundle); err != nil {
		return Source{}, fmt.Errorf("register source %s: %w", s.Slug, err)
	}
	return d.Find(ctx, s.URI)
}

func organization(s Source) fhir.Resource {
	org := fhir.Resource{
		"resourceType": "Organization",
		"identifier": []any{
			map[string]any{"use": "official", "system": SourceSystem, "value": s.URI},
			map[string]any{"use": "secondary", "system": SourceSlugSystem, "value": s.Slug},
		},
		"active": s.Active,
		"type": []any{map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov", "display": "Healthcare Provider"}}}},
		"name": s.Name,
	}
	var ext []any
	if s.Vendor != "" {
		ext = append(ext, map[string]any{"url": vendorExtension, "valueString": s.Vendor})
	}
	if s.Product != "" {
		ext = append(ext, map[string]any{"url": productExtension, "valueString": s.Product})
	}
	if s.DirectoryProduct != "" {
		ext = append(ext, map[string]any{"url": directoryProductExtension, "valueReference": map[string]any{"reference": s.DirectoryProduct}})
	}
	if s.DirectoryEndpoint != "" {
		ext = append(ext, map[string]any{"url": directoryEndpointExtension, "valueReference": map[string]any{"reference": s.DirectoryEndpoint}})
	}
	if len(ext) > 0 {
		org["extension"] = ext
	}
	if c := s.Contact; c.Name != "" || c.Email != "" || c.Phone != "" {
		contact := map[string]any{"purpose": map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/contactentity-type", "code": "ADMIN", "display": "Administrative"}}}}
		if c.Name != "" {
			contact["name"] = map[string]any{"text": c.Name}
		}
		var telecom []any
		if c.Email != "" {
			telecom = append(telecom, map[string]any{"system": "email", "value": c.Email})
		}
		if c.Phone != "" {
			telecom = append(telecom, map[string]any{"system": "phone", "value": c.Phone})
		}
		if telecom != nil {
			contact["telecom"] = telecom
		}
		org["contact"] = []any{contact}
	}
	return org
}

// endpoint builds the Endpoint of one interface.
// See https://hl7.org/fhir/R4/endpoint.html.
func endpoint(s Source, in Interface, orgRef string) fhir.Resource {
	status := "active"
	if !in.Active || !s.Active {
		status = "off"
	}
	addr := in.Address
	if addr == "" {
		addr = s.URI
	}
	var payload map[string]any
	var mime string
	switch in.Kind {
	case InterfaceFHIR:
		payload = map[string]any{"coding": []any{map[string]any{"system": payloadTypeSystem, "code": "any", "display": "Any"}}, "text": "FHIR R4 resources"}
		mime = "application/fhir+json"
	case InterfaceCCDA:
		payload = map[string]any{"coding": []any{map[string]any{
			"system": "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode", "code": "urn:hl7-org:sdwg:ccda-structuredBody:2.1",
			"display": "C-CDA R2.1 structured body"}}, "text": "C-CDA documents"}
		mime = "application/xml"
	default:
		payload = map[string]any{"coding": []any{map[string]any{"system": payloadTypeSystem, "code": "any", "display": "Any"}}, "text": "HL7 v2 messages"}
		mime = "x-application/hl7-v2+er7"
	}
	return fhir.Resource{
		"resourceType": "Endpoint",
		"identifier":   []any{map[string]any{"system": EndpointSystem, "value": s.URI + "#" + in.Kind}},
		"status":       status,
		"connectionType": map[string]any{"system": connectionTypeSystem, "code": in.ConnectionType,
			"display": connectionDisplay[in.ConnectionType]},
		"name":                 s.Name + " " + kindDisplay(in.Kind),
		"managingOrganization": map[string]any{"reference": orgRef},
		"payloadType":          []any{payload},
		"payloadMimeType":      []any{mime},
		"address":              addr,
	}
}

func kindDisplay(kind string) string {
	switch kind {
	case InterfaceFHIR:
		return "FHIR"
	case InterfaceCCDA:
		return "C-CDA"
	}
	return "HL7 v2"
}

// Find returns the registered source named by key: its slug or its URI. An
// unknown source is NotFound.
func (d *Directory) Find(ctx context.Context, key string) (Source, error) {
	system := SourceSlugSystem
	if strings.Contains(key, ":") {
		system = SourceSystem
	}
	orgs, err := d.target.Search(ctx, "Organization", identifierQuery(system, key), 2)
	if err != nil {
		return Source{}, err
	}
	switch len(orgs) {
	case 0:
		return Source{}, ehr.Errorf(ehr.NotFound, "no source %s is registered", key)
	case 1:
		return d.read(ctx, orgs[0])
	}
	return Source{}, ehr.Errorf(ehr.Conflict, "several organizations claim source %s", key)
}

// List returns every registered source, by slug.
func (d *Directory) List(ctx context.Context) ([]Source, error) {
	orgs, err := d.target.Search(ctx, "Organization", identifierQuery(SourceSystem, ""), 100000)
	if err != nil {
		return nil, err
	}
	out := make([]Source, 0, len(orgs))
	for _, o := range orgs {
		s, err := d.read(ctx, o)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slug < out[j].Slug })
	return out, nil
}

// read turns an Organization (and its Endpoints) into a Source.
func (d *Directory) read(ctx context.Context, org fhir.Resource) (Source, error) {
	s := Source{OrganizationID: fhir.String(org, "id"), Name: fhir.String(org, "name")}
	s.Active, _ = org["active"].(bool)
	for _, v := range fhir.Array(org, "identifier") {
		id, _ := v.(map[string]any)
		switch fhir.String(id, "system") {
		case SourceSystem:
			s.URI = fhir.String(id, "value")
		case SourceSlugSystem:
			s.Slug = fhir.String(id, "value")
		}
	}
	for _, v := range fhir.Array(org, "extension") {
		e, _ := v.(map[string]any)
		switch fhir.String(e, "url") {
		case vendorExtension:
			s.Vendor = fhir.String(e, "valueString")
		case productExtension:
			s.Product = fhir.String(e, "valueString")
		case directoryProductExtension:
			s.DirectoryProduct = fhir.String(fhir.Object(e, "valueReference"), "reference")
		case directoryEndpointExtension:
			s.DirectoryEndpoint = fhir.String(fhir.Object(e, "valueReference"), "reference")
		}
	}
	for _, v := range fhir.Array(org, "contact") {
		c, _ := v.(map[string]any)
		s.Contact.Name = fhir.String(fhir.Object(c, "name"), "text")
		for _, t := range fhir.Array(c, "telecom") {
			tm, _ := t.(map[string]any)
			switch fhir.String(tm, "system") {
			case "email":
				s.Contact.Email = fhir.String(tm, "value")
			case "phone":
				s.Contact.Phone = fhir.String(tm, "value")
			}
		}
	}
	for _, v := range fhir.Array(org, "endpoint") {
		ref, _ := v.(map[string]any)
		typ, id, _, ok := fhir.ParseReference(fhir.String(ref, "reference"))
		if !ok || typ != "Endpoint" {
			continue
		}
		ep, err := d.target.Read(ctx, "Endpoint", id)
		if err != nil {
			return Source{}, fmt.Errorf("read Endpoint/%s of Organization/%s: %w", id, s.OrganizationID, err)
		}
		in := Interface{EndpointID: id, Address: fhir.String(ep, "address"), Active: fhir.String(ep, "status") == "active",
			ConnectionType: fhir.String(fhir.Object(ep, "connectionType"), "code")}
		for _, iv := range fhir.Array(ep, "identifier") {
			im, _ := iv.(map[string]any)
			if fhir.String(im, "system") == EndpointSystem {
				_, in.Kind, _ = strings.Cut(fhir.String(im, "value"), "#")
			}
		}
		if in.Address == s.URI {
			in.Address = ""
		}
		s.Interfaces = append(s.Interfaces, in)
	}
	return s, nil
}

// Disable switches a source off: its Organization becomes inactive and its
// Endpoints off, in one transaction. Imports from a disabled source are refused.
func (d *Directory) Disable(ctx context.Context, key string) (Source, error) {
	s, err := d.Find(ctx, key)
	if err != nil {
		return Source{}, err
	}
	org, err := d.target.Read(ctx, "Organization", s.OrganizationID)
	if err != nil {
		return Source{}, err
	}
	org["active"] = false
	delete(org, "meta")
	entries := []any{map[string]any{"resource": org, "request": map[string]any{"method": "PUT", "url": "Organization/" + s.OrganizationID}}}
	for _, in := range s.Interfaces {
		ep, err := d.target.Read(ctx, "Endpoint", in.EndpointID)
		if err != nil {
			return Source{}, err
		}
		ep["status"] = "off"
		delete(ep, "meta")
		entries = append(entries, map[string]any{"resource": ep, "request": map[string]any{"method": "PUT", "url": "Endpoint/" + in.EndpointID}})
	}
	if _, _, err := applyBundle(ctx, d.target, fhir.Resource{"resourceType": "Bundle", "type": "transaction", "entry": entries}); err != nil {
		return Source{}, fmt.Errorf("disable source %s: %w", key, err)
	}
	return d.Find(ctx, s.URI)
}

// identifierQuery renders the query string "identifier=system|value", escaping
// the characters the search syntax and URLs reserve. An empty value matches any
// identifier of system.
func identifierQuery(system, value string) string {
	return fhir.IdentifierQuery(system, value)
}

func escapeSearch(s string) string {
	return fhir.EscapeSearchValue(s)
}

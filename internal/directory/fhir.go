package directory

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sort"
	"strconv"
	"strings"

	"omnichart/internal/fhir"
)

// The identifiers and codes of the directory's resources. CHPL has no FHIR naming
// system of its own, so its keys are named under Omnichart's URN space.
const (
	// Source is meta.source of every directory resource: the snapshot's data is
	// the directory's record, kept apart from any EMR's.
	Source = "urn:omnichart:source:emr-directory"

	SystemListing       = "urn:omnichart:directory:chpl-listing"
	SystemProductNumber = "urn:omnichart:directory:chpl-product-number"
	SystemDeveloper     = "urn:omnichart:directory:chpl-developer"
	SystemCriterion     = "urn:omnichart:directory:criterion"
	SystemStatus        = "urn:omnichart:directory:certification-status"
	SystemInterface     = "urn:omnichart:directory:interface"
	SystemProperty      = "urn:omnichart:directory:property"
	SystemNPI           = "http://hl7.org/fhir/sid/us-npi"

	ExtCertificationDate = "urn:omnichart:directory:certification-date"
	ExtAPIDocumentation  = "urn:omnichart:directory:api-documentation"
	ExtProduct           = "urn:omnichart:directory:product"
	ExtDeveloper         = "urn:omnichart:directory:developer"
	ExtEndpointList      = "urn:omnichart:directory:endpoint-list"
)

// The properties of a product's DeviceDefinition (codes of SystemProperty).
const (
	PropertyCriteria   = "certification-criteria"
	PropertyStatus     = "certification-status"
	PropertyEdition    = "certification-edition"
	PropertyInterfaces = "interfaces"
)

// Resources maps a snapshot to FHIR resources: the SearchParameters the
// directory's questions need first, then developers (Organization), products
// (DeviceDefinition), the organizations that run them (Organization) and their
// endpoints (Endpoint). Ids derive from the snapshot's keys, so that the same
// snapshot always gives the same resources.
func Resources(s *Snapshot) []fhir.Resource {
	out := SearchParameters()
	developers := map[int]fhir.Resource{}
	productsOfList := map[string][]string{}
	developersOfList := map[string][]string{}
	for _, p := range s.Products {
		if _, ok := developers[p.DeveloperID]; !ok {
			developers[p.DeveloperID] = developerResource(p)
		}
		ref := "DeviceDefinition/" + productID(p)
		productsOfList[p.ListURL] = append(productsOfList[p.ListURL], ref)
		dev := developerReference(p.DeveloperID)
		if !slices.Contains(developersOfList[p.ListURL], dev) {
			developersOfList[p.ListURL] = append(developersOfList[p.ListURL], dev)
		}
	}
	for _, devs := range developersOfList {
		slices.Sort(devs)
	}
	ids := make([]int, 0, len(developers))
	for id := range developers {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		out = append(out, developers[id])
	}
	for _, p := range s.Products {
		out = append(out, productResource(p))
	}
	orgs := map[string]bool{}
	endpoints := map[string]bool{}
	for _, l := range s.Lists {
		for _, e := range l.Endpoints {
			var org string
			if e.OrganizationName != "" {
				org = organizationID(e)
				if !orgs[org] {
					orgs[org] = true
					out = append(out, organizationResource(org, e))
				}
			}
			id := endpointID(l, e)
			if endpoints[id] {
				continue // listed twice in one list
			}
			endpoints[id] = true
			out = append(out, endpointResource(id, org, l, e, productsOfList[l.URL], developersOfList[l.URL]))
		}
	}
	return out
}

func developerID(id int) string { return "dev-" + strconv.Itoa(id) }

func developerReference(id int) string { return "Organization/" + developerID(id) }

func developerResource(p Product) fhir.Resource {
	return fhir.Resource{
		"resourceType": "Organization", "id": developerID(p.DeveloperID),
		"meta":       map[string]any{"source": Source},
		"identifier": []any{map[string]any{"system": SystemDeveloper, "value": strconv.Itoa(p.DeveloperID)}},
		"active":     true,
		"type": []any{map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "bus", "display": "Non-Healthcare Business or Corporation"}},
			"text": "health IT developer"}},
		"name": p.Developer,
	}
}

func productID(p Product) string { return "chpl-" + strconv.Itoa(p.ListingID) }

func productResource(p Product) fhir.Resource {
	criteria := make([]any, 0, len(p.Criteria))
	for _, c := range p.Criteria {
		coding := map[string]any{"system": SystemCriterion, "code": c.Number}
		if c.Title != "" {
			coding["display"] = c.Title
		}
		criteria = append(criteria, map[string]any{"coding": []any{coding}})
	}
	property := func(code string, values ...any) map[string]any {
		return map[string]any{"type": map[string]any{"coding": []any{map[string]any{"system": SystemProperty, "code": code}}}, "valueCode": values}
	}
	props := []any{property(PropertyCriteria, criteria...)}
	if p.Status != "" {
		props = append(props, property(PropertyStatus, map[string]any{"coding": []any{map[string]any{"system": SystemStatus, "code": p.Status}}}))
	}
	if p.Edition != "" {
		props = append(props, property(PropertyEdition, map[string]any{"text": p.Edition}))
	}
	var ifaces []any
	for _, in := range InterfacesOf(p) {
		ifaces = append(ifaces, map[string]any{"coding": []any{map[string]any{"system": SystemInterface, "code": in.Code, "display": in.Display}}})
	}
	if len(ifaces) > 0 {
		props = append(props, property(PropertyInterfaces, ifaces...))
	}
	res := fhir.Resource{
		"resourceType": "DeviceDefinition", "id": productID(p),
		"meta": map[string]any{"source": Source},
		"identifier": []any{
			map[string]any{"system": SystemListing, "value": strconv.Itoa(p.ListingID)},
			map[string]any{"system": SystemProductNumber, "value": p.CHPLNumber},
		},
		"manufacturerReference": map[string]any{"reference": developerReference(p.DeveloperID), "display": p.Developer},
		"deviceName":            []any{map[string]any{"name": p.Name, "type": "manufacturer-name"}},
		"type":                  map[string]any{"text": "certified health IT product"},
		"property":              props,
	}
	if p.Version != "" {
		res["version"] = []any{p.Version}
	}
	var ext []any
	if p.CertificationDate != "" {
		ext = append(ext, map[string]any{"url": ExtCertificationDate, "valueDate": p.CertificationDate})
	}
	for _, d := range p.APIDocs {
		if d.URL == "" {
			continue
		}
		ext = append(ext, map[string]any{"url": ExtAPIDocumentation, "extension": []any{
			map[string]any{"url": "criterion", "valueCoding": map[string]any{"system": SystemCriterion, "code": d.Criterion}},
			map[string]any{"url": "documentation", "valueUrl": d.URL},
		}})
	}
	if len(ext) > 0 {
		res["extension"] = ext
	}
	if p.ListURL != "" {
		res["onlineInformation"] = p.ListURL
	}
	if p.ACB != "" {
		res["note"] = []any{map[string]any{"text": "Certified by " + p.ACB + "."}}
	}
	return res
}

// organizationID keys an organization that runs a product by its name, ZIP code
// and NPI as the list gives them: two lists naming one organization alike give one
// Organization, and nothing fuzzier is assumed.
func organizationID(e Endpoint) string {
	return "org-" + hash(strings.ToLower(e.OrganizationName), e.ZIP, e.NPI)
}

func organizationResource(id string, e Endpoint) fhir.Resource {
	res := fhir.Resource{
		"resourceType": "Organization", "id": id,
		"meta":   map[string]any{"source": Source},
		"active": true,
		"type": []any{map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov", "display": "Healthcare Provider"}}}},
		"name": e.OrganizationName,
	}
	if e.NPI != "" {
		res["identifier"] = []any{map[string]any{"system": SystemNPI, "value": e.NPI}}
	}
	if e.ZIP != "" {
		res["address"] = []any{map[string]any{"postalCode": e.ZIP, "country": "US"}}
	}
	return res
}

// endpointID keys an endpoint by its list, its URL and the organization it is
// listed for: one URL (a vendor's shared multi-tenant server) serves many
// organizations, each with its own Endpoint.
func endpointID(l List, e Endpoint) string {
	return "ep-" + hash(l.FileName, e.URL, strings.ToLower(e.OrganizationName), e.ZIP, e.NPI)
}

// endpointResource is the Endpoint of one entry of list l. It refers to every
// product published with the list and, so that the endpoints of a developer are
// found by one index row each rather than through every product of the
// developer, to the developers of those products (docs/directory.md).
func endpointResource(id, org string, l List, e Endpoint, products, developers []string) fhir.Resource {
	mime := "application/fhir+json"
	if v := fhirVersionOf(e.URL); v != "" {
		mime += "; fhirVersion=" + v
	}
	name := e.OrganizationName
	if name == "" {
		name = l.Developer
	}
	res := fhir.Resource{
		"resourceType": "Endpoint", "id": id,
		"meta":           map[string]any{"source": Source},
		"status":         "active",
		"connectionType": map[string]any{"system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type", "code": "hl7-fhir-rest"},
		"payloadType": []any{map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/endpoint-payload-type", "code": "any"}}}},
		"payloadMimeType": []any{mime},
		"address":         e.URL,
	}
	if name != "" {
		res["name"] = name
	}
	if org != "" {
		res["managingOrganization"] = map[string]any{"reference": "Organization/" + org}
	}
	ext := []any{map[string]any{"url": ExtEndpointList, "valueString": l.FileName}}
	for _, p := range products {
		ext = append(ext, map[string]any{"url": ExtProduct, "valueReference": map[string]any{"reference": p}})
	}
	for _, d := range developers {
		ext = append(ext, map[string]any{"url": ExtDeveloper, "valueReference": map[string]any{"reference": d}})
	}
	res["extension"] = ext
	return res
}

// fhirVersionOf reads the FHIR version from an endpoint URL where it says so
// (".../r4", "/DSTU2/", "/stu3"), as the mime-type parameter FHIR defines
// (https://hl7.org/fhir/R4/http.html#version-parameter), or "".
func fhirVersionOf(url string) string {
	for _, seg := range strings.Split(strings.ToLower(url), "/") {
		switch seg {
		case "r4", "fhir-r4", "r4b", "fhirr4", "api-r4":
			return "4.0"
		case "stu3", "r3", "fhir-stu3", "dstu3":
			return "3.0"
		case "dstu2", "r2", "fhir-dstu2":
			return "1.0"
		}
	}
	return ""
}

func hash(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:12])
}

package directory

import (
	"strings"

	"omnichart/internal/fhir"
)

// searchParameter describes one search the directory's questions need that R4
// does not define.
type searchParameter struct {
	code, base, typ, expression, description string
	target                                   []string
}

var searchParameters = []searchParameter{
	{"criterion", "DeviceDefinition", "token",
		"DeviceDefinition.property.where(type.coding.code = '" + PropertyCriteria + "').valueCode",
		"A 45 CFR 170.315 certification criterion the product meets, e.g. 170.315 (g)(10)", nil},
	{"certification-status", "DeviceDefinition", "token",
		"DeviceDefinition.property.where(type.coding.code = '" + PropertyStatus + "').valueCode",
		"The product's certification status in CHPL: Active, Withdrawn by Developer, ...", nil},
	{"interface", "DeviceDefinition", "token",
		"DeviceDefinition.property.where(type.coding.code = '" + PropertyInterfaces + "').valueCode",
		"A way to connect the product to Omnichart, derived from its criteria: fhir-api, ccda, hl7v2-vxu, hl7v2-adt, hl7v2-oru, direct", nil},
	{"developer", "DeviceDefinition", "reference",
		"DeviceDefinition.manufacturer.ofType(Reference)",
		"The developer (Organization) of the product", []string{"Organization"}},
	{"developer-name", "DeviceDefinition", "string",
		"DeviceDefinition.manufacturer.ofType(Reference).display",
		"The name of the product's developer", nil},
	{"product-name", "DeviceDefinition", "string",
		"DeviceDefinition.deviceName.name",
		"The product's name", nil},
	{"certification-date", "DeviceDefinition", "date",
		"DeviceDefinition.extension('" + ExtCertificationDate + "').value",
		"The date the product version was certified", nil},
	{"product", "Endpoint", "reference",
		"Endpoint.extension('" + ExtProduct + "').value",
		"A certified product (DeviceDefinition) the endpoint's developer publishes it for", []string{"DeviceDefinition"}},
	// The developers of the endpoint's products, which the chain
	// product:DeviceDefinition.developer also finds, but through every product of
	// the developer's list (about ten index rows per endpoint for Epic).
	{"developer", "Endpoint", "reference",
		"Endpoint.extension('" + ExtDeveloper + "').value",
		"The developer (Organization) of the certified products the endpoint is published for", []string{"Organization"}},
}

// SearchParameters returns the SearchParameter resources of the directory's
// questions. They are written before the directory's data, so that its index rows
// are extracted as it is written.
func SearchParameters() []fhir.Resource {
	out := make([]fhir.Resource, 0, len(searchParameters))
	for _, p := range searchParameters {
		sp := fhir.Resource{
			"resourceType": "SearchParameter", "id": "directory-" + p.base + "-" + p.code,
			"meta":        map[string]any{"source": Source},
			"url":         "urn:omnichart:directory:SearchParameter/" + p.base + "-" + p.code,
			"name":        strings.ReplaceAll(p.base+"_"+p.code, "-", "_"),
			"status":      "active",
			"description": p.description,
			"code":        p.code,
			"base":        []any{p.base},
			"type":        p.typ,
			"expression":  p.expression,
		}
		if len(p.target) > 0 {
			targets := make([]any, len(p.target))
			for i, t := range p.target {
				targets[i] = t
			}
			sp["target"] = targets
		}
		out = append(out, sp)
	}
	return out
}

package ehr

// Interface kinds: how a source sends data.
const (
	InterfaceFHIR  = "fhir"
	InterfaceCCDA  = "ccda"
	InterfaceHL7v2 = "hl7v2"
)

// Interface is one feed of a source, stored as an Endpoint.
type Interface struct {
	// Kind is fhir, ccda or hl7v2.
	Kind string
	// ConnectionType is the endpoint-connection-type code: hl7-fhir-rest,
	// hl7v2-mllp, direct-project or ihe-xdr. Empty picks the usual one for Kind.
	ConnectionType string
	// Address is where the interface is reached (a URL, mllp://host:port, a Direct
	// address as mailto:). Empty means "not known": the Endpoint then carries the
	// source's URI.
	Address string
	// Active is false for an interface switched off (Endpoint.status off).
	Active bool
	// EndpointID is the id of the Endpoint, set when read from the directory.
	EndpointID string
}

// Contact is the person to call about a source's feed.
type Contact struct {
	Name, Email, Phone string
}

// Source is one enterprise's EMR system that feeds Omnichart. Every record it
// sends is that source's (Record.Source is its URI) and stays so: see Scope and
// the interaction engine's ownership rules.
type Source struct {
	// Slug is the short, stable name ("st-marys"); the URI is derived from it.
	Slug string
	// URI identifies the source for ever; it is meta.source of every resource it sends.
	URI string
	// Name is the owning organization's name.
	Name string
	// Vendor and Product name the EMR software ("Epic", "Bridges").
	Vendor, Product string
	// DirectoryProduct and DirectoryEndpoint name, when known, the certified
	// product the source runs ("DeviceDefinition/chpl-10964") and its published
	// endpoint ("Endpoint/ep-…") in the EMR software directory.
	DirectoryProduct, DirectoryEndpoint string
	Interfaces                          []Interface
	Contact                             Contact
	// Active is false for a disabled source.
	Active bool
	// OrganizationID is the id of the owning Organization, set when read from the
	// directory. An unregistered source named only by URI has none.
	OrganizationID string
}

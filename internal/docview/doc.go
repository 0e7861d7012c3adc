// Package docview turns what a source sent into safe, readable HTML for the
// clinician's chart: FHIR narrative (Resource.text.div), C-CDA documents by
// section and HL7 v2 messages by segment and field.
//
// It is pure: bytes in, view models and HTML fragments out, with no storage and
// no HTTP. The web UI includes the fragments as they are.
//
// # Safety
//
// No markup from a record reaches the page unsanitised. Every fragment that
// carries markup (FHIR narrative, a C-CDA section's narrative block) is first
// rewritten by this package and then passed through one bluemonday policy
// (Policy) that allows only the display elements FHIR narrative allows, no
// event handlers, no style or id attributes, links only to http and https with
// rel="noopener noreferrer", and images only as inline data: images. Every other
// string is escaped by html/template. docs/docview.md gives the policy and why.
//
// # Use
//
//	doc, err := docview.CCDA(xmlBytes)      // *Document, or an error with the line
//	err = docview.RenderCCDA(w, doc)        // an <article> fragment
//	msg, err := docview.HL7v2(hl7Bytes)     // *Message
//	err = docview.RenderHL7v2(w, msg)
//	div := docview.Narrative(resourceTextDiv) // template.HTML
//
// The fragments use classes starting with "dv-"; CSS returns a stylesheet for
// them that the page serves as a static file (inline style would need
// 'unsafe-inline' in the Content-Security-Policy).
package docview

// Package directory is the EMR software directory: every certified EMR product
// (from the ONC's Certified Health IT Product List, as the ONC Lantern project
// publishes it), the 45 CFR 170.315 criteria each one meets, the interfaces those
// criteria mean for connecting it, and the FHIR endpoints of the organizations
// that run it.
//
// Read parses a Lantern snapshot folder; Resources maps it to FHIR resources
// (Organization for developers and for the organizations that run a product,
// DeviceDefinition for each certified product version, Endpoint for each published
// endpoint) with ids derived from the snapshot's own keys, so that loading the same
// snapshot twice changes nothing; Load writes them through a Writer and reports
// what was added, changed and removed. docs/directory.md describes the mapping.
//
// Nothing here contacts an endpoint: they are real production systems.
package directory

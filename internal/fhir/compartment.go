package fhir

import (
	"encoding/json"
	"slices"
	"sync"

	"omnichart/internal/fhir/r4"
)

// patientCompartment is the R4 Patient CompartmentDefinition: each resource type in
// the compartment and the search parameters that place a resource there.
var patientCompartment = sync.OnceValue(func() map[string][]string {
	var comp map[string][]string
	if err := json.Unmarshal(r4.CompartmentPatientJSON, &comp); err != nil {
		panic("fhir: embedded Patient compartment definition: " + err.Error())
	}
	return comp
})

// PatientCompartmentTypes lists, sorted, the resource types of the R4 Patient
// compartment (https://hl7.org/fhir/R4/compartmentdefinition-patient.html), Patient
// itself included.
func PatientCompartmentTypes() []string {
	comp := patientCompartment()
	out := make([]string, 0, len(comp)+1)
	for typ := range comp {
		out = append(out, typ)
	}
	if _, ok := comp["Patient"]; !ok {
		out = append(out, "Patient")
	}
	slices.Sort(out)
	return out
}

// Package fhirpath evaluates FHIRPath (N1, the version FHIR R4 uses) over resources
// kept as generic JSON trees (see package fhir). It extracts search-index values with
// the expressions of the official SearchParameters and checks invariants.
//
// See https://hl7.org/fhirpath/N1/ and https://hl7.org/fhir/R4/fhirpath.html.
//
// # Compile once, evaluate many times
//
// Compile parses an expression into an immutable *Expression; syntax errors, unknown
// functions, wrong argument counts and unknown type names are reported there, as a
// *SyntaxError with the byte offset. Evaluate runs it over one input and returns a
// Collection, or an *EvalError for run-time errors such as single() on several items
// or adding a string to a number. Bad input never panics.
//
//	e, err := fhirpath.Compile("Observation.subject.where(resolve() is Patient)")
//	refs, err := e.Evaluate(observation)
//
// # Nodes carry their type
//
// Every item of a Collection is a Node: the value and its type name. Content of the
// resource keeps its JSON value and FHIR type ("HumanName" as a map, "dateTime" as a
// string, "decimal" as a json.Number); values FHIRPath computes are Go values with a
// System type: string (System.String), bool, int64, Decimal (exact, never float64),
// Temporal (Date, DateTime and Time with their precision) and Quantity. Node.System
// converts either kind to the System value, so index extraction can read a FHIR
// dateTime and a computed DateTime alike.
//
// Types come from the embedded R4 model (fhir.R4). Navigating "value" on an
// Observation finds valueQuantity and types it Quantity; the JSON name
// "valueQuantity" is not a FHIRPath name and is an error. A FHIR primitive node
// also holds its "_name" sibling, so birthDate.extension(url) and given.id work,
// and the items of a repeated primitive line up with their extension halves by
// index. Contained resources and Bundle entries are typed by their resourceType.
//
// # Evaluation
//
// Evaluation follows the spec's collection semantics: operators on an empty
// operand give empty; and, or, xor and implies use three-valued logic; '=' on
// dates of different precision is empty while '~' is false; several items where
// one is needed is an error. Function arguments are evaluated lazily, with $this,
// $index and $total bound by the iterating functions (where, select, all, repeat,
// exists, aggregate, sort).
//
// resolve() looks references up through the WithResolver option. Without one, a
// reference resolves to a placeholder of the type named in it (Patient/1,
// http://x/fhir/Patient/1, Patient/1/_history/2), which is what search extraction
// needs for where(resolve() is Patient); "#id" resolves to the contained resource.
// memberOf() and similar functions that need a terminology service answer an error.
//
// The environment offers %resource, %rootResource, %context, %ucum, %sct, %loinc,
// %`vs-name` and %`ext-name`, plus variables given with WithVariable.
package fhirpath

// Package ips writes an International Patient Summary document from an
// integrated record: a document Bundle whose Composition (first) has the IPS
// sections, each listing the facts of its kind with a generated narrative, or
// saying with emptyReason that nothing is known. It is pure: no storage.
//
// See https://hl7.org/fhir/uv/ips/ (Structure of the International Patient
// Summary) and https://hl7.org/fhir/R4/documents.html.
package ips

import (
	"fmt"
	"html"
	"slices"
	"strings"
	"time"

	"omnichart/internal/fhir"
	"omnichart/internal/integrate"
)

const loinc = "http://loinc.org"

// Section is one IPS section: its LOINC code and title, and which facts it lists.
type Section struct {
	Code  string
	Title string
	holds func(res fhir.Resource) bool
}

// Sections are the sections every summary has, in order: the three the IPS
// requires (problems, allergies, medications), then immunizations, results, vital
// signs and procedures.
var Sections = []Section{
	{"11450-4", "Problem list", ofType("Condition")},
	{"48765-2", "Allergies and intolerances", ofType("AllergyIntolerance")},
	{"10160-0", "Medication summary", ofType("MedicationRequest", "MedicationStatement")},
	{"11369-6", "History of immunizations", ofType("Immunization")},
	{"30954-2", "Results", func(res fhir.Resource) bool {
		return res["resourceType"] == "Observation" && hasCategory(res, "laboratory")
	}},
	{"8716-3", "Vital signs", func(res fhir.Resource) bool {
		return res["resourceType"] == "Observation" && hasCategory(res, "vital-signs")
	}},
	{"47519-4", "History of procedures", ofType("Procedure")},
}

func ofType(types ...string) func(fhir.Resource) bool {
	return func(res fhir.Resource) bool { t, _ := res["resourceType"].(string); return slices.Contains(types, t) }
}

func hasCategory(res fhir.Resource, code string) bool {
	cats, _ := res["category"].([]any)
	for _, c := range cats {
		cm, _ := c.(map[string]any)
		codings, _ := cm["coding"].([]any)
		for _, x := range codings {
			xm, _ := x.(map[string]any)
			if xm["code"] == code {
				return true
			}
		}
	}
	return false
}

// Input is what a summary is written from.
type Input struct {
	// Patient is the subject: a source Patient of the human.
	Patient integrate.Record
	// Result is the integrated record.
	Result integrate.Result
	// FullURL gives the fullUrl of a stored record by its "Type/id".
	FullURL func(ref string) string
	// ID names the document; Composition and DetectedIssues are named from it.
	ID  string
	Now time.Time
}

// Document writes the summary Bundle: the Composition, the Patient, then the
// facts the sections list (each shown record with its also-recorded-as
// extension) and the DetectedIssue of every disagreement about them, which the
// section of its records lists as well.
func Document(in Input) fhir.Resource {
	comp := "urn:uuid:" + in.ID
	entries := []any{nil, entry(in.FullURL(in.Patient.Ref), in.Patient.Resource)}
	subject := map[string]any{"reference": in.Patient.Ref}
	// A disagreement is listed after the later of the facts of its records.
	index := in.Result.FactIndex()
	conflictsOf := map[int][]integrate.Conflict{}
	for _, c := range in.Result.Conflicts {
		at := max(index[c.Records[0].Ref], index[c.Records[1].Ref])
		conflictsOf[at] = append(conflictsOf[at], c)
	}
	var sections []any
	for _, s := range Sections {
		var refs []any
		var rows []string
		for _, f := range in.Result.Facts {
			if !s.holds(f.Record.Resource) {
				continue
			}
			refs = append(refs, map[string]any{"reference": f.Record.Ref})
			entries = append(entries, entry(in.FullURL(f.Record.Ref), f.Annotated()))
			rows = append(rows, row(f))
		}
		for i, f := range in.Result.Facts {
			if !s.holds(f.Record.Resource) {
				continue
			}
			for _, c := range conflictsOf[i] {
				url := "urn:uuid:" + c.ID()
				refs = append(refs, map[string]any{"reference": url})
				entries = append(entries, entry(url, c.DetectedIssue(in.Patient.Ref)))
				rows = append(rows, "<tr><td colspan=\"3\"><b>Sources disagree:</b> "+html.EscapeString(c.DetectedIssue("")["detail"].(string))+"</td></tr>")
			}
		}
		sec := map[string]any{
			"title": s.Title,
			"code":  map[string]any{"coding": []any{map[string]any{"system": loinc, "code": s.Code}}},
		}
		if len(refs) == 0 {
			sec["text"] = narrative("<p>No information is available.</p>")
			sec["emptyReason"] = map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/list-empty-reason", "code": "unavailable", "display": "Unavailable"}},
				"text": "No information is available"}
		} else {
			sec["text"] = narrative("<table><thead><tr><th>What</th><th>When</th><th>Status or value</th></tr></thead><tbody>" + strings.Join(rows, "") + "</tbody></table>")
			sec["entry"] = refs
		}
		sections = append(sections, sec)
	}
	date := in.Now.UTC().Format(time.RFC3339)
	entries[0] = map[string]any{"fullUrl": comp, "resource": map[string]any{
		"resourceType": "Composition",
		"status":       "final",
		"type":         map[string]any{"coding": []any{map[string]any{"system": loinc, "code": "60591-5", "display": "Patient summary Document"}}},
		"subject":      subject,
		"date":         date,
		"author":       []any{map[string]any{"display": "Omnichart integrated record"}},
		"title":        "International Patient Summary",
		"text":         narrative("<p>International Patient Summary of " + html.EscapeString(patientName(in.Patient.Resource)) + ", written " + html.EscapeString(date) + " from the records of every source linked to this patient.</p>"),
		"section":      sections,
	}}
	return map[string]any{
		"resourceType": "Bundle",
		"identifier":   map[string]any{"system": "urn:ietf:rfc:3986", "value": comp},
		"type":         "document",
		"timestamp":    date,
		"entry":        entries,
	}
}

func entry(fullURL string, res any) map[string]any {
	return map[string]any{"fullUrl": fullURL, "resource": res}
}

// narrative wraps escaped XHTML content into a generated Narrative.
func narrative(xhtml string) map[string]any {
	return map[string]any{"status": "generated", "div": `<div xmlns="http://www.w3.org/1999/xhtml">` + xhtml + `</div>`}
}

// row is a fact's line in its section's table; every text taken from a record is
// escaped.
func row(f integrate.Fact) string {
	res := f.Record.Resource
	what := conceptText(firstOf(res, "code", "medicationCodeableConcept", "vaccineCode"))
	when := firstString(res, "effectiveDateTime", "onsetDateTime", "occurrenceDateTime", "performedDateTime", "authoredOn", "recordedDate")
	state := firstString(res, "status")
	if cs := conceptText(res["clinicalStatus"]); cs != "" {
		state = cs
	}
	if q, ok := res["valueQuantity"].(map[string]any); ok {
		state = strings.TrimSpace(fmt.Sprintf("%v %v", q["value"], orEmpty(q["unit"])))
	}
	if len(f.Also) > 0 {
		var srcs []string
		for _, o := range f.Also {
			srcs = append(srcs, o.Source)
		}
		state += " (also recorded by " + strings.Join(srcs, ", ") + ")"
	}
	return "<tr><td>" + html.EscapeString(what) + "</td><td>" + html.EscapeString(when) + "</td><td>" + html.EscapeString(state) + "</td></tr>"
}

func orEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}

func firstOf(res fhir.Resource, keys ...string) any {
	for _, k := range keys {
		if v, ok := res[k]; ok {
			return v
		}
	}
	return nil
}

func firstString(res fhir.Resource, keys ...string) string {
	for _, k := range keys {
		if s, ok := res[k].(string); ok {
			return s
		}
	}
	return ""
}

// conceptText is a CodeableConcept's text, else its first display, else its
// first code.
func conceptText(v any) string {
	cc, _ := v.(map[string]any)
	if t, _ := cc["text"].(string); t != "" {
		return t
	}
	codings, _ := cc["coding"].([]any)
	for _, c := range codings {
		cm, _ := c.(map[string]any)
		if d, _ := cm["display"].(string); d != "" {
			return d
		}
	}
	for _, c := range codings {
		cm, _ := c.(map[string]any)
		if code, _ := cm["code"].(string); code != "" {
			return code
		}
	}
	return ""
}

func patientName(p fhir.Resource) string {
	names, _ := p["name"].([]any)
	for _, n := range names {
		nm, _ := n.(map[string]any)
		if t, _ := nm["text"].(string); t != "" {
			return t
		}
		var parts []string
		given, _ := nm["given"].([]any)
		for _, g := range given {
			if s, ok := g.(string); ok {
				parts = append(parts, s)
			}
		}
		if f, _ := nm["family"].(string); f != "" {
			parts = append(parts, f)
		}
		if len(parts) > 0 {
			return strings.Join(parts, " ")
		}
	}
	return "the patient"
}

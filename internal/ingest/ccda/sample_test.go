package ccda_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
	"omnichart/internal/ingest/ccda"
)

// sampleFile is one candidate file and whether it is a whole document.
type sampleFile struct {
	path     string
	rel      string
	document bool
}

func sampleFiles(tb testing.TB) []sampleFile {
	tb.Helper()
	root := ehrtest.SharedTestdata(tb, "ccda")
	var out []sampleFile
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".xml", ".ccd", ".ccda", ".txt":
		default:
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if !bytes.Contains(data, []byte("<ClinicalDocument")) && !bytes.Contains(data, []byte(":ClinicalDocument")) {
			if strings.HasSuffix(strings.ToLower(p), ".txt") && !bytes.Contains(data, []byte("<")) {
				return nil // a readme
			}
			out = append(out, sampleFile{path: p, rel: rel})
			return nil
		}
		out = append(out, sampleFile{path: p, rel: rel, document: true})
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out
}

// wrapFragment embeds a section or entry snippet from the HL7 example collection in
// a minimal ClinicalDocument, so that its entries go through the same conversion as
// in a whole document. Snippets of other parts (a lone addr, a participantRole, ...)
// return ok false and are skipped.
func wrapFragment(data []byte) (doc []byte, ok bool) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if i := bytes.Index(data, []byte("?>")); i >= 0 && bytes.HasPrefix(bytes.TrimSpace(data), []byte("<?xml")) {
		data = data[i+2:]
	}
	root := firstElement(data)
	const head = `<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:sdtc="urn:hl7-org:sdtc" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
		`<code code="34133-9" codeSystem="2.16.840.1.113883.6.1"/><effectiveTime value="20200101120000-0500"/>`
	var inner string
	switch root {
	case "recordTarget", "author", "custodian", "componentOf", "documentationOf", "informant",
		"legalAuthenticator", "authenticator", "dataEnterer", "informationRecipient", "participant",
		"inFulfillmentOf", "authorization", "relatedDocument":
		return []byte(head + string(data) + `</ClinicalDocument>`), true
	case "section":
		inner = string(data)
	case "component":
		if !bytes.Contains(data, []byte("<section")) {
			return nil, false
		}
		return []byte(head + `<component><structuredBody>` + string(data) + `</structuredBody></component></ClinicalDocument>`), true
	case "entry":
		inner = `<section>` + string(data) + `</section>`
	case "act", "observation", "organizer", "substanceAdministration", "procedure", "encounter", "supply":
		inner = `<section><entry>` + string(data) + `</entry></section>`
	default:
		return nil, false
	}
	return []byte(head + `<component><structuredBody><component>` + inner + `</component></structuredBody></component></ClinicalDocument>`), true
}

// firstElement is the local name of the first element, after comments and
// processing instructions.
func firstElement(data []byte) string {
	for {
		i := bytes.IndexByte(data, '<')
		if i < 0 || i+1 >= len(data) {
			return ""
		}
		data = data[i+1:]
		switch {
		case bytes.HasPrefix(data, []byte("!--")):
			end := bytes.Index(data, []byte("-->"))
			if end < 0 {
				return ""
			}
			data = data[end:]
		case data[0] == '?' || data[0] == '!':
			continue
		default:
			end := bytes.IndexAny(data, " \t\r\n/>")
			if end < 0 {
				return ""
			}
			name := string(data[:end])
			if j := strings.IndexByte(name, ':'); j >= 0 {
				name = name[j+1:]
			}
			return name
		}
	}
}

// resources returns the resources of a Bundle's entries.
func resources(b fhir.Resource) []map[string]any {
	var out []map[string]any
	for _, e := range fhir.Array(b, "entry") {
		em, _ := e.(map[string]any)
		if r := fhir.Object(em, "resource"); r != nil {
			out = append(out, r)
		}
	}
	return out
}

// countTypes counts resources per type.
func countTypes(b fhir.Resource) map[string]int {
	counts := map[string]int{}
	for _, r := range resources(b) {
		counts[fhir.String(r, "resourceType")]++
	}
	return counts
}

// checkStructure walks a resource against the R4 model: a known resourceType,
// every property a known element (Model.Child), arrays exactly where the element
// repeats. It returns one message per problem.
func checkStructure(res map[string]any) []string {
	m := fhir.R4()
	typ := fhir.String(res, "resourceType")
	if !m.IsResourceType(typ) {
		return []string{"unknown resourceType " + typ}
	}
	var probs []string
	var walk func(obj map[string]any, ctx fhir.Context, path string)
	walk = func(obj map[string]any, ctx fhir.Context, path string) {
		for k, v := range obj {
			if k == "resourceType" && path == typ {
				continue
			}
			el, ctyp, ok := m.Child(ctx, k)
			if !ok {
				probs = append(probs, path+"."+k+" is not an element of "+ctx.Path)
				continue
			}
			items := []any{v}
			if arr, isArr := v.([]any); isArr {
				if !el.Many && !strings.HasPrefix(k, "_") {
					probs = append(probs, path+"."+k+" is an array but the element does not repeat")
				}
				items = arr
			} else if el.Many {
				probs = append(probs, path+"."+k+" repeats but is not an array")
			}
			for _, it := range items {
				if sub, isObj := it.(map[string]any); isObj {
					if strings.HasPrefix(k, "_") {
						walk(sub, fhir.TypeContext("Element"), path+"."+k)
						continue
					}
					if m.IsPrimitive(ctyp) {
						probs = append(probs, path+"."+k+" is an object but the element is a primitive")
						continue
					}
					walk(sub, m.ChildContext(ctx, el, ctyp), path+"."+k)
				}
			}
		}
	}
	walk(res, fhir.TypeContext(typ), typ)
	return probs
}

// isClinical reports a resource that is part of the chart rather than about who
// wrote or keeps it.
func isClinical(typ string) bool {
	switch typ {
	case "Patient", "Practitioner", "Organization", "Device", "Composition":
		return false
	}
	return true
}

// hasSectionContent reports a Composition with at least one section with narrative
// text that is not the "No information" placeholder.
func hasSectionContent(comp map[string]any) bool {
	var has func(secs []any) bool
	has = func(secs []any) bool {
		for _, s := range secs {
			sm, _ := s.(map[string]any)
			if t := fhir.Object(sm, "text"); t != nil && fhir.String(t, "status") != "empty" {
				return true
			}
			if len(fhir.Array(sm, "entry")) > 0 || has(fhir.Array(sm, "section")) {
				return true
			}
		}
		return false
	}
	return has(fhir.Array(comp, "section"))
}

func TestConvertSamples(t *testing.T) {
	files := sampleFiles(t)
	var docs, fragments, skipped int
	for _, f := range files {
		data, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		name := "a document converts: " + f.rel
		if !f.document {
			wrapped, ok := wrapFragment(data)
			if !ok {
				// Snippets of a single datatype or role have nothing to convert on
				// their own; they are recognised as not being a ClinicalDocument.
				if _, err := ccda.Convert(data, ccda.Options{}); err == nil {
					t.Errorf("Convert(%s) of a non-ClinicalDocument snippet succeeded, want an error", f.rel)
				}
				skipped++
				continue
			}
			if err := wellFormed(data); err != nil {
				// A few examples are not well-formed XML themselves; they must be
				// refused with an error, not converted.
				if _, err := ccda.Convert(wrapped, ccda.Options{}); err == nil {
					t.Errorf("Convert(%s) of a malformed snippet succeeded, want an error", f.rel)
				}
				skipped++
				continue
			}
			data = wrapped
			name = "a fragment converts inside a minimal document: " + f.rel
		}
		t.Run(name, func(t *testing.T) {
			res, err := ccda.Convert(data, ccda.Options{NewID: sequentialIDs(), Now: fixedNow})
			if err != nil {
				t.Fatalf("Convert(%s) error = %v, want nil", f.rel, err)
			}
			counts := countTypes(res.Bundle)
			if counts["Patient"] != 1 {
				t.Errorf("Convert(%s) made %d Patients, want 1", f.rel, counts["Patient"])
			}
			for _, r := range resources(res.Bundle) {
				for _, p := range checkStructure(r) {
					t.Errorf("Convert(%s): %s", f.rel, p)
				}
				for _, is := range fhir.R4().Validate(r) {
					t.Errorf("Convert(%s): %s %v: %s", f.rel, fhir.String(r, "resourceType"), is.Expression, is.Diagnostics)
				}
			}
			for _, p := range ehrtest.EmptyElements(res.Bundle, "Bundle") {
				t.Errorf("Convert(%s): %s is empty; FHIR JSON has no empty elements", f.rel, p)
			}
			if f.document {
				clinical := 0
				var comp map[string]any
				for _, r := range resources(res.Bundle) {
					if isClinical(fhir.String(r, "resourceType")) {
						clinical++
					}
					if fhir.String(r, "resourceType") == "Composition" {
						comp = r
					}
				}
				// Header-only examples have no body at all: nothing to chart.
				headerOnly := !bytes.Contains(data, []byte("section>")) && !bytes.Contains(data, []byte("nonXMLBody"))
				if clinical == 0 && !hasSectionContent(comp) && !headerOnly {
					t.Errorf("Convert(%s) = an empty chart (%v), want a clinical resource or a section with content", f.rel, counts)
				}
			}
		})
		if f.document {
			docs++
		} else {
			fragments++
		}
	}
	t.Logf("%d documents and %d fragments converted; %d snippets skipped (single elements or malformed)", docs, fragments, skipped)
	// The shared samples hold 163 documents and 386 convertible fragments; far
	// fewer means samples went missing or stopped being recognised.
	if docs < 100 || fragments < 300 {
		t.Errorf("converted %d documents and %d fragments, want at least 100 and 300", docs, fragments)
	}
}

// wellFormed reports whether data is well-formed XML.
func wellFormed(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func sequentialIDs() func() string {
	n := 0
	return func() string {
		n++
		return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
	}
}

func fixedNow() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

// TestConvertCounts pins the number of resources per type for documents from
// several vendors. The counts were made by hand from each XML file: one resource
// per clinical statement element of the entry template named (an element that lists
// both the R1.1 and the R2.1 templateId counts once), Practitioners as the distinct
// ids (or names) of the people in author, legalAuthenticator, serviceEvent
// performers, encompassingEncounter parties and encounter, procedure and
// immunization performers; Organizations as the distinct providerOrganization,
// custodian, author representedOrganization and vaccine manufacturer.
func TestConvertCounts(t *testing.T) {
	root := ehrtest.SharedTestdata(t, "ccda")
	tests := []struct {
		name string
		file string
		want map[string]int
	}{
		{
			// HL7 C-CDA R2.1 CCD: 3 Problem Concern Acts holding 4 Problem
			// Observations (4.4); 2 Allergy observations (4.7); 2 Medication
			// Activities in EVN mood (4.16); 5 Immunization Activities (4.52); 2
			// Result Organizers (4.1) with 6 Result Observations (4.2); 2 Vital Signs
			// Organizers with 8 observations (4.27); smoking status, tobacco use and
			// one social history observation; 2 functional status observations in
			// the Functional Status Organizer; 4 procedures (4.14 x2, 4.13, 4.12); 1
			// Planned Procedure (4.41) as ServiceRequest; 1 Encounter Activity (4.49),
			// no encompassingEncounter, held at one Service Delivery Location
			// (4.32); 1 Family History Organizer (4.45).
			// Practitioners: the author (also legal authenticator and serviceEvent
			// performer), the encounter performer,
			// the immunization performer (same id in all 5) and 3 distinct procedure
			// performers. Organizations: providerOrganization, custodian and the
			// one vaccine manufacturer named in every immunization.
			name: "the HL7 CCD example converts to the hand-counted resources",
			file: "hl7-c-cda-examples/Documents/CCD/CCD 1/CCD.XML",
			want: map[string]int{"Patient": 1, "Composition": 1, "Practitioner": 6, "Organization": 3,
				"Condition": 4, "AllergyIntolerance": 2, "MedicationStatement": 2, "Immunization": 5,
				"DiagnosticReport": 2, "Observation": 19, "Procedure": 4, "ServiceRequest": 1, "Encounter": 1,
				"FamilyMemberHistory": 1, "Location": 1},
		},
		{
			// Cerner: 5 Problem Observations; 6 Medication Activities in INT mood
			// (prescriptions) as MedicationRequests. The author has no id (own
			// Practitioner) and the 3 serviceEvent performers have NPIs; the author's
			// representedOrganization and the custodian are 2 Organizations.
			name: "the Cerner problems and medications sample converts to the hand-counted resources",
			file: "chb-sample_ccdas/Cerner Samples/problems-and-medications.xml",
			want: map[string]int{"Patient": 1, "Composition": 1, "Practitioner": 4, "Organization": 2,
				"Condition": 5, "MedicationRequest": 6},
		},
		{
			// NIST ambulatory: 3 Problem Observations (2 in concern acts, 1 encounter
			// diagnosis); 3 allergies; 2 Medication Activities (one inside a
			// Discharge Medication act, 4.35); 2 immunizations; 1 Result Organizer with
			// 3 results; 6 vital signs; 2 social history observations; 4 functional
			// status problem observations (4.68) as survey Observations; 1
			// procedure; planned encounter (4.40), planned procedure (4.41) and
			// planned observation (4.44) as ServiceRequests; the encompassing
			// encounter and 1 Encounter Activity with different ids, the first at
			// its healthCareFacility, the second at a named location. 7 distinct
			// practitioner ids; providerOrganization, custodian and one vaccine
			// manufacturer.
			name: "the NIST ambulatory CCD converts to the hand-counted resources",
			file: "chb-sample_ccdas/NIST Samples/CCDA_CCD_b1_Ambulatory_v2.xml",
			want: map[string]int{"Patient": 1, "Composition": 1, "Practitioner": 7, "Organization": 3,
				"Condition": 3, "AllergyIntolerance": 3, "MedicationStatement": 2, "Immunization": 2,
				"DiagnosticReport": 1, "Observation": 15, "Procedure": 1, "ServiceRequest": 3, "Encounter": 2,
				"Location": 2},
		},
		{
			// Microsoft FHIR-Converter sample (Allscripts Enterprise export): 3
			// Problem Observations (one encounter diagnosis); 2 allergies; 1
			// Medication Activity in INT mood; 1 immunization; 1 result; 5 vital
			// signs; 2 smoking status; functional (4.68) and cognitive (4.73) status
			// observations; 2 planned observations in goal mood (4.44, GOL) as
			// Goals; 1 planned encounter (4.40); the Encounter Activity has the
			// encompassingEncounter's id, so it is one Encounter, at one location
			// (the planned encounter's own location is not converted). One author is an
			// authoring device. 3 practitioner NPIs/ids; every organization has the
			// same id.
			name: "the FHIR-Converter ambulatory CCD converts to the hand-counted resources",
			file: "ms-fhir-converter/170.314B2_Amb_CCD.ccda",
			want: map[string]int{"Patient": 1, "Composition": 1, "Practitioner": 3, "Organization": 1, "Device": 1,
				"Condition": 3, "AllergyIntolerance": 2, "MedicationRequest": 1, "Immunization": 1,
				"DiagnosticReport": 1, "Observation": 10, "Goal": 2, "ServiceRequest": 1, "Encounter": 1,
				"Location": 1},
		},
		{
			// Allscripts Professional: 6 Problem Observations (3 concern acts, 2
			// encounter diagnoses holding 3); 3 allergies; 4 Medication Activities
			// in INT mood (one negated: doNotPerform); 1 immunization; 5 Result
			// Organizers with 5 results; 18 vital signs in 3 organizers; 1 social
			// history, 2 smoking status and 1 functional status observation; 3 goals
			// (4.44 GOL); 1 procedure; 3 Encounter Activities, one of them the
			// encompassing encounter. 5 distinct practitioner ids; one Organization
			// id throughout; the authoring device.
			name: "the Allscripts Professional EHR sample converts to the hand-counted resources",
			file: "chb-sample_ccdas/Allscripts Samples/Professional EHR/dataport_Ambulatory.xml",
			want: map[string]int{"Patient": 1, "Composition": 1, "Practitioner": 5, "Organization": 1, "Device": 1,
				"Condition": 6, "AllergyIntolerance": 3, "MedicationRequest": 4, "Immunization": 1,
				"DiagnosticReport": 5, "Observation": 27, "Goal": 3, "Procedure": 1, "Encounter": 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(root, tt.file))
			if err != nil {
				ehrtest.MissingTestdata(t, fmt.Sprintf("sample not present: %v", err))
			}
			res, err := ccda.Convert(data, ccda.Options{NewID: sequentialIDs(), Now: fixedNow})
			if err != nil {
				t.Fatalf("Convert(%s) error = %v", tt.file, err)
			}
			if diff := cmp.Diff(tt.want, countTypes(res.Bundle)); diff != "" {
				t.Errorf("Convert(%s) resource counts (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

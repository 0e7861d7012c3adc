package web_test

import (
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"omnichart/internal/ingest"
)

// TestOriginalDocumentsAreShownBySectionAndSegment imports a synthetic C-CDA
// document and an HL7 v2 message through the pipeline and opens their originals
// from the chart: the CCD by section (its titles as headings, no raw XML), the
// message by segment and field (names from HL7 v2.5.1), both escaped.
func TestOriginalDocumentsAreShownBySectionAndSegment(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" && os.Getenv("OMNICHART_TEST_POSTGRES") == "" && os.Getenv("OMNICHART_REQUIRE_POSTGRES") == "" {
				t.Skip("set OMNICHART_TEST_POSTGRES to run on PostgreSQL")
			}
			e := newEnv(t, engine, envOptions{viewer: true})
			for _, s := range plantedSources {
				e.register(s)
			}
			src := plantedSources[1]
			for _, f := range []string{"lindqvist-ccd.xml", "okafor-adt-a04.hl7"} {
				data, err := os.ReadFile("../demo/shipped/st-marys/" + f)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.im.Import(system(), src, ingest.Input{Name: f, Data: data}); err != nil {
					t.Fatalf("Import(%s) = %v", f, err)
				}
			}
			b := e.browser()
			b.mustSignIn(clinician)
			for _, tc := range []struct {
				name string
				want []string
				not  []string
			}{
				{"Lindqvist", []string{">Allergies</h", ">Problems</h", ">Medications</h", ">Results</h"}, []string{"&lt;ClinicalDocument", "<ClinicalDocument"}},
				{"Okafor", []string{"PID", "Patient Identification", "Okafor"}, []string{"MSH|^~"}},
			} {
				ids := b.find(tc.name)
				if len(ids) == 0 {
					t.Fatalf("no patient %s", tc.name)
				}
				_, chart, _ := b.get("/patients/" + ids[0])
				originals := chart[strings.Index(chart, "Original documents"):]
				link := regexp.MustCompile(`href="(/patients/[^"]+/notes/DocumentReference/[^"]+)"`).FindStringSubmatch(originals)
				if link == nil {
					t.Fatalf("%s: the chart links no original document", tc.name)
				}
				status, page, _ := b.get(link[1])
				if status != http.StatusOK {
					t.Fatalf("GET %s = %d", link[1], status)
				}
				for _, w := range tc.want {
					if !strings.Contains(page, w) {
						t.Errorf("%s's original: the page lacks %q", tc.name, w)
					}
				}
				for _, n := range tc.not {
					if strings.Contains(page, n) {
						t.Errorf("%s's original: the page shows %q, the document was not rendered", tc.name, n)
					}
				}
			}
		})
	}
}

package fhirapi_test

import (
	"strings"
	"testing"
)

func TestSearchMDMExpandsToLinkedRecordsOnly(t *testing.T) {
	forRecordEngines(t, func(t *testing.T, c *client) {
		threeSources(c)
		c.put(srcB, "Observation/ob-other", `{"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"718-7"}]},"subject":{"reference":"Patient/pb"}}`)
		for _, tc := range []struct {
			path string
			sees string
			want []string
		}{
			{"/Observation?subject:mdm=Patient/pa&code=http://loinc.org|2345-7", "", []string{"Observation/oa", "Observation/ob"}},
			{"/Observation?subject:mdm=Patient/pb&code=http://loinc.org|2345-7", "", []string{"Observation/oa", "Observation/ob"}},
			{"/Observation?patient:mdm=pa", "", []string{"Observation/oa", "Observation/ob", "Observation/ob-other"}},
			// Without :mdm a search stays with the one source record.
			{"/Observation?subject=Patient/pa", "", []string{"Observation/oa"}},
			// A possible match (level2) is no link; an unlinked patient is itself.
			{"/Observation?subject:mdm=Patient/pc", "", []string{"Observation/oc"}},
			{"/Observation?subject:mdm=Patient/pz", "", []string{"Observation/oz"}},
			{"/Observation?subject:mdm=Patient/pz,Patient/pc&code:text=x", "", []string{"Observation/oz", "Observation/oc"}},
			// The links are the engine's: a scope that hides b's records gets
			// none of them, one that shows them gets them without the MPI's.
			{"/Observation?subject:mdm=Patient/pa", srcA + "," + srcMPI, []string{"Observation/oa"}},
			{"/Observation?subject:mdm=Patient/pa", srcA + "," + srcB, []string{"Observation/oa", "Observation/ob", "Observation/ob-other"}},
			{"/Observation?subject:mdm=Patient/pa", srcB + "," + srcMPI, []string{"Observation/ob", "Observation/ob-other"}},
			// Paged one by one, the next links repeat the expansion.
			{"/Observation?subject:mdm=Patient/pa&_count=1", "", []string{"Observation/oa", "Observation/ob", "Observation/ob-other"}},
		} {
			var headers []string
			if tc.sees != "" {
				headers = []string{"X-Test-Sees", tc.sees}
			}
			refs, _, _ := c.pages(tc.path, headers...)
			sameSet(t, tc.path+" seen by "+tc.sees, refs, tc.want)
		}
		// In a batch or transaction, a search entry expands :mdm the same way.
		for _, kind := range []string{"batch", "transaction"} {
			r := c.must(200, "POST", "", `{"resourceType":"Bundle","type":"`+kind+`","entry":[{"request":{"method":"GET",`+
				`"url":"Observation?subject:mdm=Patient/pa&code=http://loinc.org|2345-7"}}]}`)
			got := string(r.body)
			if !strings.Contains(got, `"id":"oa"`) || !strings.Contains(got, `"id":"ob"`) || strings.Contains(got, `"id":"ob-other"`) {
				t.Errorf("%s with a :mdm search entry = %s, want oa and ob", kind, got)
			}
		}
		r := c.must(200, "GET", "/Observation?subject:mdm=Patient/pa&_count=1", "")
		for _, l := range r.json["link"].([]any) {
			if u := l.(map[string]any)["url"].(string); !strings.Contains(u, "subject%3Amdm=Patient%2Fpa") && !strings.Contains(u, "subject:mdm=Patient") {
				t.Errorf("link %s does not repeat subject:mdm", u)
			}
		}
		for _, tc := range []struct{ path, says string }{
			{"/Observation?code:mdm=http://loinc.org|2345-7", "code"},
			{"/Observation?subject:mdm=Group/g1", "Group/g1"},
			{"/Observation?subject:mdm=http://elsewhere/Patient/pa", "elsewhere"},
			{"/Organization?partof:mdm=Patient/pa", "partof"},
			{"/Observation?subject:mdm.name=Chalmers", "subject"},
		} {
			r := c.must(400, "GET", tc.path, "", "Prefer", "handling=strict")
			if !strings.Contains(string(r.body), tc.says) {
				t.Errorf("%s: %s, want an OperationOutcome naming %q", tc.path, r.body, tc.says)
			}
		}
	})
}

package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDirectoryLoadReportsAndRefuses loads a small snapshot folder through the
// binary, loads it again (nothing changes), and refuses a truncated one naming the
// file and position, leaving the store as it was.
func TestDirectoryLoadReportsAndRefuses(t *testing.T) {
	snap := t.TempDir()
	files := map[string]string{
		"CHPLProductsInfo.json": `[{"listSourceURL":"https://docs.example/fhir","softwareProducts":[{"id":1,"chplProductNumber":"15.04.04.1.A.01.00.1.200101",
"developer":{"id":7,"name":"Example Health IT"},"product":{"id":2,"name":"ExampleEMR"},"version":{"id":3,"name":"1.2"},"certificationDate":"2020-01-01",
"certificationStatus":{"id":1,"name":"Active"},"criteriaMet":[{"number":"170.315 (g)(10)","title":"Standardized API"},{"number":"170.315 (f)(1)","title":"Immunization registries"}]}]}]`,
		"CHPLEndpointResourcesList.json": `[{"URL":"https://docs.example/fhir","EndpointName":"Example Health IT","FileName":"Example_EndpointSources.json"}]`,
		"Example_EndpointSources.json": `{"Endpoints":[{"URL":"https://fhir.example/r4","OrganizationName":"Example Clinic","NPIID":"1234567893","OrganizationZipCode":"12345"},
{"URL":"fhir.example/other","OrganizationName":"Other Clinic","NPIID":"","OrganizationZipCode":"12345"}]}`,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(snap, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	work := t.TempDir()
	db := "sqlite:" + filepath.Join(work, "o.db")
	out, code := omnichart(t, work, "directory", "load", "--db", db, snap)
	if code != 0 {
		t.Fatalf("directory load exited %d:\n%s", code, out)
	}
	for _, want := range []string{"1 products", "added     1 DeviceDefinition, 2 Endpoint, 3 Organization, 8 SearchParameter", "no scheme", "read as https://"} {
		if !strings.Contains(out, want) {
			t.Errorf("directory load output lacks %q:\n%s", want, out)
		}
	}
	out, code = omnichart(t, work, "directory", "load", "--db", db, snap)
	if code != 0 || !strings.Contains(out, "added     none") || !strings.Contains(out, "changed   none") || !strings.Contains(out, "removed   none") {
		t.Errorf("a second load (exit %d) changed something:\n%s", code, out)
	}
	truncated := files["CHPLProductsInfo.json"][:120]
	if err := os.WriteFile(filepath.Join(snap, "CHPLProductsInfo.json"), []byte(truncated), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = omnichart(t, work, "directory", "load", "--db", db, snap)
	if code == 0 || !strings.Contains(out, "CHPLProductsInfo.json: line 1, column 121") || !strings.Contains(out, "truncated") {
		t.Errorf("a truncated snapshot (exit %d) was not refused naming the file and line:\n%s", code, out)
	}
}

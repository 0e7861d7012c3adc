package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"omnichart/internal/ehrtest"
)

// TestDirectoryLoadReportsAndRefuses loads a small snapshot folder through the
// binary, loads it again (nothing changes), and refuses a truncated one naming the
// file and position, leaving the store as it was.
func TestDirectoryLoadReportsAndRefuses(t *testing.T) {
	snap, files := writeSmallSnapshot(t)
	work := t.TempDir()
	db := "sqlite:" + filepath.Join(work, "o.db")
	out, code := omnichart(t, work, "directory", "load", "--db", db, snap)
	if code != 0 {
		t.Fatalf("directory load exited %d:\n%s", code, out)
	}
	for _, want := range []string{"1 products", "added     1 DeviceDefinition, 2 Endpoint, 3 Organization, 9 SearchParameter", "no scheme", "read as https://"} {
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

// writeSmallSnapshot writes a Lantern snapshot of one product (listing 1, with
// (g)(10) and (f)(1)) and two endpoints into a new folder.
func writeSmallSnapshot(t *testing.T) (string, map[string]string) {
	t.Helper()
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
	return snap, files
}

// TestDirectoryConnectedShowsSourcesAndTheirHealth registers a source running a
// product of the directory, imports an HL7 v2 message it accepts and one it
// quarantines, and expects the connected sources to show the product, the
// interfaces it offers and those counts.
func TestDirectoryConnectedShowsSourcesAndTheirHealth(t *testing.T) {
	snap, _ := writeSmallSnapshot(t)
	work := t.TempDir()
	db := "sqlite:" + filepath.Join(work, "o.db")
	if out, code := omnichart(t, work, "directory", "load", "--db", db, snap); code != 0 {
		t.Fatalf("directory load exited %d:\n%s", code, out)
	}
	if out, code := omnichart(t, work, "admin", "source", "add", "clinic", "--db", db, "--name", "Example Clinic", "--directory-product", "2"); code == 0 {
		t.Errorf("a product the directory does not have was accepted:\n%s", out)
	}
	out, code := omnichart(t, work, "admin", "source", "add", "clinic", "--db", db, "--name", "Example Clinic", "--directory-product", "1")
	if code != 0 {
		t.Fatalf("admin source add exited %d:\n%s", code, out)
	}
	out, _ = omnichart(t, work, "admin", "source", "show", "clinic", "--db", db)
	if !strings.Contains(out, "DeviceDefinition/chpl-1") || !strings.Contains(out, "ExampleEMR") || !strings.Contains(out, "Example Health IT") {
		t.Errorf("admin source show does not name the directory's product, its name and developer:\n%s", out)
	}
	good := filepath.Join(work, "good.hl7")
	bad := filepath.Join(work, "bad.hl7")
	if err := os.WriteFile(good, ehrtest.HL7v2Message(10), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("MSH|^~\\&|LAB|X|||20200101||ORU^R01|1|P|2.5\rOBX|1|NM|bogus"), 0o644); err != nil {
		t.Fatal(err)
	}
	omnichart(t, work, "import", "--progress", "none", "--db", db, "--source", "clinic", good, bad)
	out, code = omnichart(t, work, "directory", "connected", "--db", db)
	if code != 0 {
		t.Fatalf("directory connected exited %d:\n%s", code, out)
	}
	var row string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "clinic ") {
			row = line
		}
	}
	fields := strings.Fields(row)
	if len(fields) < 3 || !strings.Contains(row, "ExampleEMR (Example Health IT)") || !strings.Contains(row, "fhir-api,hl7v2-vxu") ||
		fields[len(fields)-3] != "1" || fields[len(fields)-2] != "1" || fields[len(fields)-1] != "0" || strings.Contains(row, "never") {
		t.Errorf("directory connected =\n%s\nwant the clinic with its product, developer, interfaces, a last received time, 1 accepted, 1 quarantined, 0 replayed", out)
	}
}

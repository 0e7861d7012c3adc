package directory_test

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"omnichart/internal/directory"
	"omnichart/internal/ehrtest"
)

// TestShippedSnapshotIsTheSharedOne checks that the snapshot built into the binary
// gives exactly the resources of the shared copy it was made from.
func TestShippedSnapshotIsTheSharedOne(t *testing.T) {
	shared, err := directory.Read(os.DirFS(ehrtest.SharedTestdata(t, "emr-directory", "lantern")))
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := directory.ReadShipped()
	if err != nil {
		t.Fatal(err)
	}
	a, b := directory.Resources(shared), directory.Resources(shipped)
	if len(a) < 70000 || !reflect.DeepEqual(a, b) {
		t.Fatalf("the shipped snapshot gives %d resources, the shared one %d (want the same, and at least 70,000)", len(b), len(a))
	}
}

// TestMalformedSnapshotsAreRefusedWithTheirPosition checks that a truncated or
// malformed file is refused naming the file and where in it.
func TestMalformedSnapshotsAreRefusedWithTheirPosition(t *testing.T) {
	products := `[{"listSourceURL":"https://docs.example/fhir","softwareProducts":[{"id":1,"chplProductNumber":"15.04.04.1.A.01.00.1.200101",
"developer":{"id":7,"name":"Dev"},"product":{"id":2,"name":"EMR"},"version":{"id":3,"name":"1"},"certificationStatus":{"id":1,"name":"Active"},
"criteriaMet":[{"number":"170.315 (g)(10)","title":"API"}]}]}]`
	lists := `[{"URL":"https://docs.example/fhir","EndpointName":"Dev","FileName":"Dev_EndpointSources.json"}]`
	endpoints := `{"Endpoints":[{"URL":"https://fhir.example/r4","OrganizationName":"Clinic","NPIID":"","OrganizationZipCode":"12345"}]}`
	snapshot := func(p, l, e string) fstest.MapFS {
		return fstest.MapFS{"CHPLProductsInfo.json": {Data: []byte(p)}, "CHPLEndpointResourcesList.json": {Data: []byte(l)}, "Dev_EndpointSources.json": {Data: []byte(e)}}
	}
	if s, err := directory.Read(snapshot(products, lists, endpoints)); err != nil || len(s.Products) != 1 || len(s.Lists[0].Endpoints) != 1 {
		t.Fatalf("the well-formed snapshot: %+v, %v", s, err)
	}
	tests := []struct {
		name      string
		fsys      fstest.MapFS
		wantParts []string
	}{
		{"a truncated product file", snapshot(products[:len(products)/2], lists, endpoints), []string{"CHPLProductsInfo.json", "line 2", "truncated"}},
		{"a syntax error in an endpoint file", snapshot(products, lists, `{"Endpoints":[{"URL":"https://fhir.example/r4",,}]}`), []string{"Dev_EndpointSources.json", "line 1, column 48"}},
		{"a number where a name belongs", snapshot(strings.Replace(products, `"name":"EMR"`, `"name":5`, 1), lists, endpoints), []string{"CHPLProductsInfo.json", "line 2", "string"}},
		{"data after the list", snapshot(products, lists+"{}", endpoints), []string{"CHPLEndpointResourcesList.json", "after the JSON value"}},
		{"a product without its number", snapshot(strings.Replace(products, `"chplProductNumber":"15.04.04.1.A.01.00.1.200101",`, "", 1), lists, endpoints), []string{"CHPLProductsInfo.json", "CHPL product number"}},
		{"a list naming a path, not a file", snapshot(products, strings.Replace(lists, "Dev_EndpointSources.json", "../etc/passwd.json", 1), endpoints), []string{"CHPLEndpointResourcesList.json", "plain JSON file name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := directory.Read(tt.fsys)
			if err == nil {
				t.Fatal("read without an error")
			}
			for _, part := range tt.wantParts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not say %q", err, part)
				}
			}
		})
	}
}

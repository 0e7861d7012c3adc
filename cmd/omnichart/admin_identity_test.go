package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminIdentityListsConflictsRaisedOnImport imports three EMERGE documents
// (one MRN, three people) and expects two conflicts listed, each naming the
// record kept apart and the earlier ones.
func TestAdminIdentityListsConflictsRaisedOnImport(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("..", "..", "..", "shared", "testdata", "ccda", "chb-sample_ccdas", "EMERGE")
	for _, name := range []string{"Patient-0.xml", "Patient-1.xml", "Patient-2.xml"} {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Skipf("sample data missing: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	work := t.TempDir()
	db := "sqlite:" + filepath.Join(work, "o.db")
	out, code := omnichart(t, work, "import", "--db", db, "--source", "urn:omnichart:source:emerge", dir)
	if code != 0 {
		t.Fatalf("import exited %d:\n%s", code, out)
	}
	if !strings.Contains(out, "2 identity conflict(s) to review") {
		t.Errorf("import summary does not report the two identity conflicts:\n%s", out)
	}
	out, code = omnichart(t, work, "admin", "identity", "list", "--db", db)
	if code != 0 {
		t.Fatalf("admin identity list exited %d:\n%s", code, out)
	}
	if !strings.Contains(out, "2 identity conflict(s)") || strings.Count(out, "Patient/") < 3 {
		t.Errorf("admin identity list =\n%s\nwant 2 conflicts naming the Patients", out)
	}
}

package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"omnichart/internal/ehrtest"
)

// TestAdminTerminologyLoadsAndLists loads a Bundle of two ConceptMaps, lists
// them, and refuses files that are not ConceptMaps or lack an id without
// writing anything.
func TestAdminTerminologyLoadsAndLists(t *testing.T) {
	for _, engine := range ehrtest.Engines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				ehrtest.PostgresURL(t)
			}
			db := dbArg(t, engine)
			dir := t.TempDir()
			write := func(name, body string) string {
				path := filepath.Join(dir, name)
				if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
				return path
			}
			cm := func(id, code, loinc, eq string) string {
				return `{"resourceType":"ConceptMap","id":"` + id + `","status":"active","group":[{"source":"http://lab.example.org/codes","target":"http://loinc.org",` +
					`"element":[{"code":"` + code + `","target":[{"code":"` + loinc + `","equivalence":"` + eq + `"}]}]}]}`
			}
			good := write("maps.json", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":`+cm("lab-a1c", "A1C", "4548-4", "equivalent")+
				`},{"resource":`+cm("lab-glu", "GLU", "2345-7", "wider")+`}]}`)
			out, code := omnichart(t, dir, "admin", "terminology", "load", good, "--db", db)
			// A1C and 4548-4 map to each other; the wider GLU mapping is not used.
			if code != 0 || !strings.Contains(out, "2 ConceptMap(s) loaded; 2 codes now map to an equivalent code") {
				t.Fatalf("load: %d %s", code, out)
			}
			out, code = omnichart(t, dir, "admin", "terminology", "list", "--db", db)
			if code != 0 || !strings.Contains(out, "lab-a1c") || !strings.Contains(out, "lab-glu") ||
				!strings.Contains(out, "http://lab.example.org/codes -> http://loinc.org: 1") {
				t.Fatalf("list: %d %s", code, out)
			}
			for name, body := range map[string]string{
				"patient.json": `{"resourceType":"Patient","id":"x"}`,
				"mixed.json":   `{"resourceType":"Bundle","type":"collection","entry":[{"resource":` + cm("lab-new", "K", "2823-3", "equivalent") + `},{"resource":{"resourceType":"Patient"}}]}`,
				"noid.json":    `{"resourceType":"ConceptMap","status":"active"}`,
				"broken.json":  `{"resourceType":"ConceptMap",`,
			} {
				if out, code := omnichart(t, dir, "admin", "terminology", "load", write(name, body), "--db", db); code == 0 {
					t.Errorf("load %s exited 0: %s", name, out)
				}
			}
			out, _ = omnichart(t, dir, "admin", "terminology", "list", "--db", db)
			if strings.Contains(out, "lab-new") {
				t.Errorf("a refused file left a ConceptMap behind: %s", out)
			}
		})
	}
}

package web_test

import (
	"context"
	"html/template"
	"net/http"
	"regexp"
	"testing"

	"omnichart/internal/ehr"
)

// TestHooksPlugIn wires a document renderer and an audit-log handler and checks
// the pages use them: the note page shows what the renderer made of the record
// it was given, and the audit page is the handler's, for operators only.
func TestHooksPlugIn(t *testing.T) {
	var rendered []string
	e := newEnv(t, "sqlite", envOptions{
		documents: func(ctx context.Context, rec *ehr.Record) (template.HTML, error) {
			rendered = append(rendered, rec.Reference())
			return template.HTML(`<section class="rendered-by-hook">` + template.HTMLEscapeString(rec.Type) + `</section>`), nil
		},
		audit: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("audit log hook")) }),
	})
	e.plant()
	e.plantHostile()
	b := e.browser()
	b.mustSignIn(operator)
	ids := b.find("Hostile")
	_, chart, _ := b.get("/patients/" + ids[0])
	note := regexp.MustCompile(`href="(/patients/[^"]+/notes/DocumentReference/[^"]+)"`).FindStringSubmatch(chart)
	if note == nil {
		t.Fatal("the chart links no note")
	}
	status, body, _ := b.get(note[1])
	if status != http.StatusOK {
		t.Fatalf("GET %s = %d", note[1], status)
	}
	contains(t, "the note page", body, `<section class="rendered-by-hook">DocumentReference</section>`)
	if len(rendered) != 1 || "/patients/"+ids[0]+"/notes/"+rendered[0] != note[1] {
		t.Errorf("the renderer was called for %v, want the note %s", rendered, note[1])
	}
	_, audit, _ := b.get("/ops/audit")
	if audit != "audit log hook" {
		t.Errorf("GET /ops/audit = %q, want the hook's page", audit)
	}
	c := e.browser()
	c.mustSignIn(clinician)
	if status, _, _ := c.get("/ops/audit"); status != http.StatusForbidden {
		t.Errorf("GET /ops/audit as a clinician = %d, want 403", status)
	}
}

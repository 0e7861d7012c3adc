package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestAuditLogPageListsWhoReadWhat signs a clinician in, opens a chart, and
// checks that the operators' audit-log page lists the sign-in and the reads of
// that patient's records, filtered by patient and by user; a clinician may not
// open it.
func TestAuditLogPageListsWhoReadWhat(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{auditLog: true})
	e.plant()
	c := e.browser()
	c.mustSignIn(clinician)
	ids := c.find("Nka")
	if len(ids) == 0 {
		t.Fatal("no planted patient Noah Nka")
	}
	if status, _, _ := c.get("/patients/" + ids[0]); status != http.StatusOK {
		t.Fatalf("the chart: %d", status)
	}
	if status, _, _ := c.get("/ops/audit"); status != http.StatusForbidden {
		t.Errorf("the audit log as a clinician = %d, want 403", status)
	}
	o := e.browser()
	o.mustSignIn(operator)
	_, body, _ := o.get("/ops/audit?patient=" + ids[0])
	rows := strings.Count(body, "<tr><td class=\"num\">")
	if rows < 2 || !strings.Contains(body, "user/"+clinician) || !strings.Contains(body, "Patient/"+ids[0]) {
		t.Errorf("the audit log of Patient/%s: %d rows; want the clinician's reads of it\n%.2000s", ids[0], rows, body)
	}
	_, body, _ = o.get("/ops/audit?user=" + clinician)
	if !strings.Contains(body, ">login<") || strings.Contains(body, "user/"+operator) {
		t.Errorf("the audit log of user %s: want the sign-in and none of the operator's records\n%.2000s", clinician, body)
	}
	_, body, _ = o.get("/ops/audit?patient=no-such-patient")
	if strings.Contains(body, "<tr><td class=\"num\">") {
		t.Errorf("the audit log of a patient nobody read lists records")
	}
	if status, _, _ := o.get("/ops/audit?since=yesterday"); status != http.StatusBadRequest {
		t.Errorf("a malformed date = %d, want 400", status)
	}
}

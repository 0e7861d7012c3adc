package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"omnichart/internal/ehr"
)

// auditPageSize is the number of audit records one page shows.
const auditPageSize = 100

type auditData struct {
	Available     bool
	Patient, User string
	Since, Until  string
	Rows          []auditRow
	Next          string
	Filtered      bool
}

type auditRow struct {
	Seq                int64
	Recorded           string
	Agent, Interaction string
	What, Patients     string
	Outcome, Address   string
	Detail             string
}

// auditLogPage lists the audit log, newest first, filtered by patient, user and
// time (Config.Audit): who did what to which patient's records, when, from where,
// and the outcome.
func (h *Handler) auditLogPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := auditData{Available: true, Patient: strings.TrimSpace(q.Get("patient")), User: strings.TrimSpace(q.Get("user")),
		Since: strings.TrimSpace(q.Get("since")), Until: strings.TrimSpace(q.Get("until"))}
	aq := ehr.AuditQuery{Count: auditPageSize + 1}
	if d.Patient != "" {
		aq.Patient = d.Patient
		if !strings.Contains(d.Patient, "/") {
			aq.Patient = "Patient/" + d.Patient
		}
	}
	if d.User != "" {
		aq.Agent = d.User
		if !strings.Contains(d.User, "/") {
			aq.Agent = "user/" + d.User
		}
	}
	for _, b := range []struct {
		v    string
		into *time.Time
		name string
	}{{d.Since, &aq.Since, "from"}, {d.Until, &aq.Until, "until"}} {
		if b.v == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", b.v)
		if err != nil {
			h.fail(w, r, ehr.Errorf(ehr.Invalid, "%s must be a date such as 2026-01-31", b.name))
			return
		}
		*b.into = t
	}
	if !aq.Until.IsZero() {
		aq.Until = aq.Until.AddDate(0, 0, 1) // the whole day named
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			h.fail(w, r, ehr.Errorf(ehr.Invalid, "before must be a record number"))
			return
		}
		aq.Before = n
	}
	d.Filtered = d.Patient != "" || d.User != "" || d.Since != "" || d.Until != ""
	entries, err := h.cfg.Audit.AuditEntries(r.Context(), aq)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(entries) > auditPageSize {
		entries = entries[:auditPageSize]
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("before", strconv.FormatInt(entries[len(entries)-1].Seq, 10))
		d.Next = "/ops/audit?" + next.Encode()
	}
	for _, e := range entries {
		ev, err := ehr.AuditEvent(e)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		what := strings.Trim(ev.Type+"/"+ev.ID, "/")
		if len(ev.Records) > 0 {
			what = strings.Join(firstN(ev.Records, 5), ", ")
			if len(ev.Records) > 5 {
				what += " and " + strconv.Itoa(len(ev.Records)-5) + " more"
			}
		}
		d.Rows = append(d.Rows, auditRow{Seq: e.Seq, Recorded: e.Recorded.UTC().Format("2006-01-02 15:04:05") + " UTC", Agent: e.Agent,
			Interaction: ev.Interaction, What: what, Patients: strings.Join(e.Patients, ", "), Outcome: ev.Outcome,
			Address: ev.Address, Detail: ev.Detail})
	}
	h.render(w, r, http.StatusOK, "audit", "Audit log", viewerFrom(r.Context()), d)
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

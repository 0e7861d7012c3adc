package fhirapi

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
)

// The audit log is served as AuditEvent resources following the IHE Basic Audit
// Log Patterns (BALP), built from the records of the audit table on each request;
// they are not resources of the store. See
// https://profiles.ihe.net/ITI/BALP/ and docs/security.md#audit.

// auditSearch serves GET /fhir/AuditEvent with the parameters patient, agent,
// date (repeatable, with the prefixes eq, ge, gt, le, lt), _count and _page,
// newest first.
func (a *API) auditSearch(w http.ResponseWriter, r *http.Request) {
	if !a.checkAccept(w, r) {
		return
	}
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			a.errorf(w, r, ehr.Invalid, "the search form could not be read")
			return
		}
	}
	values := r.URL.Query()
	if r.Method == http.MethodPost {
		values = r.Form
	}
	q, err := auditQuery(values)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	count := q.Count
	q.Count = count + 1
	seqs, events, err := a.svc.AuditEvents(r.Context(), q)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	base := a.base(r)
	entries := make([]any, 0, min(len(events), count))
	for i := 0; i < len(events) && i < count; i++ {
		entries = append(entries, map[string]any{
			"fullUrl":  base + "/AuditEvent/" + strconv.FormatInt(seqs[i], 10),
			"resource": auditEventResource(seqs[i], events[i], base),
			"search":   map[string]any{"mode": "match"},
		})
	}
	self := url.Values{}
	for k, v := range values {
		if k != "_format" && k != "_pretty" {
			self[k] = v
		}
	}
	links := []any{map[string]any{"relation": "self", "url": base + "/AuditEvent?" + self.Encode()}}
	if len(events) > count {
		self.Set("_page", strconv.FormatInt(seqs[count-1], 10))
		links = append(links, map[string]any{"relation": "next", "url": base + "/AuditEvent?" + self.Encode()})
	}
	a.writeResource(w, r, http.StatusOK, map[string]any{"resourceType": "Bundle", "type": "searchset",
		"link": links, "entry": entries})
}

// auditRead serves GET /fhir/AuditEvent/{id}, id being the record's sequence
// number.
func (a *API) auditRead(w http.ResponseWriter, r *http.Request) {
	if !a.checkAccept(w, r) {
		return
	}
	seq, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || seq < 1 {
		a.errorf(w, r, ehr.NotFound, "AuditEvent/%s is not known", r.PathValue("id"))
		return
	}
	seqs, events, err := a.svc.AuditEvents(r.Context(), ehr.AuditQuery{Before: seq + 1, Count: 1})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if len(seqs) == 0 || seqs[0] != seq {
		a.errorf(w, r, ehr.NotFound, "AuditEvent/%d is not known", seq)
		return
	}
	a.writeResource(w, r, http.StatusOK, auditEventResource(seq, events[0], a.base(r)))
}

// maxAuditCount bounds one page of audit records.
const maxAuditCount = 1000

// auditQuery reads the parameters of an AuditEvent search.
func auditQuery(values url.Values) (ehr.AuditQuery, error) {
	q := ehr.AuditQuery{Count: 50}
	for name, vs := range values {
		for _, v := range vs {
			switch name {
			case "patient":
				id := strings.TrimPrefix(v, "Patient/")
				if !fhir.ValidID(id) {
					return q, ehr.Errorf(ehr.Invalid, "patient must be Patient/<id> or <id>")
				}
				q.Patient = "Patient/" + id
			case "agent":
				if v == "" {
					return q, ehr.Errorf(ehr.Invalid, "agent must name a principal, e.g. user/jdoe or client/app")
				}
				q.Agent = v
			case "date":
				if err := auditDate(&q, v); err != nil {
					return q, err
				}
			case "_count":
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 {
					return q, ehr.Errorf(ehr.Invalid, "_count must be a positive number")
				}
				q.Count = min(n, maxAuditCount)
			case "_page":
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < 1 {
					return q, ehr.Errorf(ehr.Invalid, "_page is not a page of this search")
				}
				q.Before = n
			case "_format", "_pretty":
			default:
				return q, ehr.Errorf(ehr.Invalid, "AuditEvent is searched by patient, agent and date only, not by %q", name)
			}
		}
	}
	return q, nil
}

// auditDate narrows q by one date parameter: a date or date-time with an
// optional prefix, meaning the period of its precision.
func auditDate(q *ehr.AuditQuery, v string) error {
	prefix := "eq"
	if len(v) > 2 && v[0] >= 'a' && v[0] <= 'z' {
		prefix, v = v[:2], v[2:]
	}
	var lo time.Time
	var span time.Duration
	var err error
	switch {
	case len(v) == 10:
		lo, err = time.Parse("2006-01-02", v)
		span = 24 * time.Hour
	default:
		lo, err = time.Parse(time.RFC3339Nano, v)
		span = time.Second
		if strings.Contains(v, ".") {
			span = time.Microsecond
		}
	}
	if err != nil {
		return ehr.Errorf(ehr.Invalid, "date must be a date (2026-01-31) or a date-time with a time zone (2026-01-31T08:00:00Z), with an optional prefix eq, ge, gt, le, lt")
	}
	hi := lo.Add(span)
	since := func(t time.Time) {
		if q.Since.IsZero() || t.After(q.Since) {
			q.Since = t
		}
	}
	until := func(t time.Time) {
		if q.Until.IsZero() || t.Before(q.Until) {
			q.Until = t
		}
	}
	switch prefix {
	case "eq":
		since(lo)
		until(hi)
	case "ge":
		since(lo)
	case "gt":
		since(hi)
	case "lt":
		until(lo)
	case "le":
		until(hi)
	default:
		return ehr.Errorf(ehr.Invalid, "the date prefix %q is not supported; use eq, ge, gt, le or lt", prefix)
	}
	return nil
}

const (
	dcm          = "http://dicom.nema.org/resources/ontology/DCM"
	omnichartSys = "urn:omnichart:audit"
)

// auditKinds gives each interaction its BALP type, subtype, action and profile.
var auditKinds = map[string]struct {
	typeSystem, typeCode, subSystem, subCode, action, profile string
}{
	"read":                 {"rest", "", "", "read", "R", "Read"},
	"vread":                {"rest", "", "", "vread", "R", "Read"},
	"history":              {"rest", "", "", "history-type", "R", "Query"},
	"search":               {"rest", "", "", "search-type", "E", "Query"},
	"operation-everything": {"rest", "", "", "operation", "E", "Query"},
	"create":               {"rest", "", "", "create", "C", "Create"},
	"update":               {"rest", "", "", "update", "U", "Update"},
	"patch":                {"rest", "", "", "patch", "U", "Update"},
	"delete":               {"rest", "", "", "delete", "D", "Delete"},
	"transaction":          {"rest", "", "", "transaction", "E", ""},
	"batch":                {"rest", "", "", "batch", "E", ""},
	"login":                {dcm, "110114", dcm, "110122", "E", ""},
	"token":                {dcm, "110114", omnichartSys, "token", "E", ""},
	"link":                 {dcm, "110110", omnichartSys, "link", "U", ""},
	"unlink":               {dcm, "110110", omnichartSys, "unlink", "U", ""},
	"user-change":          {dcm, "110136", omnichartSys, "user-change", "U", ""},
	"break-the-glass":      {dcm, "110113", omnichartSys, "break-the-glass", "E", ""},
	"export":               {dcm, "110106", omnichartSys, "export", "R", ""},
	"page":                 {dcm, "110110", omnichartSys, "page", "R", ""},
}

func coding(system, code string) map[string]any {
	return map[string]any{"system": system, "code": code}
}

// auditEventResource renders one audit record as a BALP AuditEvent.
func auditEventResource(seq int64, ev ehr.AccessEvent, base string) map[string]any {
	kind, ok := auditKinds[ev.Interaction]
	if !ok {
		kind = auditKinds["read"]
		kind.typeSystem, kind.typeCode, kind.subSystem, kind.subCode, kind.action, kind.profile = dcm, "110100", omnichartSys, ev.Interaction, "E", ""
	}
	res := map[string]any{"resourceType": "AuditEvent", "id": strconv.FormatInt(seq, 10),
		"recorded": ev.Time.UTC().Format("2006-01-02T15:04:05.000000Z07:00"), "action": kind.action}
	if kind.typeSystem == "rest" {
		res["type"] = map[string]any{"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"}
		res["subtype"] = []any{coding("http://hl7.org/fhir/restful-interaction", kind.subCode)}
		if kind.profile != "" {
			name := kind.profile
			if len(ev.Patients) > 0 {
				name = "Patient" + name
			}
			res["meta"] = map[string]any{"profile": []any{"https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit." + name}}
		}
	} else {
		res["type"] = coding(kind.typeSystem, kind.typeCode)
		res["subtype"] = []any{coding(kind.subSystem, kind.subCode)}
	}
	switch ev.Outcome {
	case "ok", "":
		res["outcome"] = "0"
	case string(ehr.Internal), string(ehr.Unavailable):
		res["outcome"] = "8"
		res["outcomeDesc"] = ev.Outcome
	default:
		res["outcome"] = "4"
		res["outcomeDesc"] = ev.Outcome
	}
	who := map[string]any{"identifier": map[string]any{"value": ev.Subject}}
	if ev.Organization != "" {
		who["identifier"].(map[string]any)["assigner"] = map[string]any{"display": ev.Organization}
	}
	agents := []any{map[string]any{
		"type":      map[string]any{"coding": []any{coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP")}},
		"who":       who,
		"requestor": true,
	}}
	client := map[string]any{
		"type":      map[string]any{"coding": []any{coding(dcm, "110153")}},
		"requestor": false,
	}
	if ev.Client != "" {
		client["who"] = map[string]any{"identifier": map[string]any{"value": ev.Client}}
	} else {
		client["who"] = map[string]any{"display": "unknown client"}
	}
	if ev.Address != "" {
		client["network"] = map[string]any{"address": ev.Address, "type": "2"}
	}
	agents = append(agents, client, map[string]any{
		"type":      map[string]any{"coding": []any{coding(dcm, "110152")}},
		"who":       map[string]any{"display": "Omnichart"},
		"requestor": false,
		"network":   map[string]any{"address": base, "type": "5"},
	})
	res["agent"] = agents
	res["source"] = map[string]any{"observer": map[string]any{"display": "Omnichart"},
		"type": []any{coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4")}}
	var entities []any
	for _, p := range ev.Patients {
		entities = append(entities, map[string]any{"what": map[string]any{"reference": p},
			"type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1"),
			"role": coding("http://terminology.hl7.org/CodeSystem/object-role", "1")})
	}
	for _, rec := range ev.Records {
		entities = append(entities, map[string]any{"what": map[string]any{"reference": rec},
			"type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2"),
			"role": coding("http://terminology.hl7.org/CodeSystem/object-role", "4")})
	}
	if ev.Interaction == "search" || ev.Interaction == "history" {
		// The parameter names only: the query's values stay out of the log.
		desc := ev.Type
		if len(ev.Params) > 0 {
			desc += "?" + strings.Join(ev.Params, "&")
		}
		entities = append(entities, map[string]any{
			"type":  coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2"),
			"role":  coding("http://terminology.hl7.org/CodeSystem/object-role", "24"),
			"query": base64.StdEncoding.EncodeToString([]byte(desc))})
	}
	if ev.RequestID != "" {
		entities = append(entities, map[string]any{
			"what": map[string]any{"identifier": map[string]any{"value": ev.RequestID}},
			"type": coding("https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType", "XrequestId")})
	}
	if ev.Detail != "" || ev.Source != "" {
		var detail []any
		if ev.Source != "" {
			detail = append(detail, map[string]any{"type": "source", "valueString": ev.Source})
		}
		if ev.Detail != "" {
			detail = append(detail, map[string]any{"type": "detail", "valueString": ev.Detail})
		}
		entities = append(entities, map[string]any{
			"type":   coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "4"),
			"detail": detail})
	}
	if len(entities) > 0 {
		res["entity"] = entities
	}
	return res
}

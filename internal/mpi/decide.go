package mpi

import (
	"context"
	"fmt"
	"strings"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/ingest"
	"omnichart/internal/match"
)

// Verdict is what a person decides about a review task.
type Verdict string

// The verdicts.
const (
	// VerdictLink: the records are one human (a must-link).
	VerdictLink Verdict = "link"
	// VerdictNotSame: the records are two humans (a cannot-link).
	VerdictNotSame Verdict = "not-same"
	// VerdictUndo takes the task's decision back: the pair is decided by
	// its scores again, and the task is open again if they send it to
	// review.
	VerdictUndo Verdict = "undo"
)

// ParseVerdict reads a verdict.
func ParseVerdict(s string) (Verdict, error) {
	switch v := Verdict(s); v {
	case VerdictLink, VerdictNotSame, VerdictUndo:
		return v, nil
	}
	return "", ehr.Errorf(ehr.Invalid, "decision %q is not one of link, not-same, undo", s)
}

// Decision is a decided pair of Patients, as recorded on a task.
type Decision struct {
	// Task is the id of the Task that records it.
	Task string
	// A and B are the Patient ids.
	A, B    string
	Verdict Verdict
	// Reviewer is the subject of the person who decided, or the URI of the
	// source that linked its own records (BySource).
	Reviewer string
	Reason   string
	Decided  time.Time
	BySource bool
}

func (d *Decision) constraint() match.Constraint {
	if d.Verdict == VerdictLink {
		return match.MustLink
	}
	return match.CannotLink
}

// The task outputs a decision is recorded in (code system TaskSystem).
const (
	outDecision  = "decision"
	outReviewer  = "reviewer"
	outReason    = "reason"
	outDecided   = "decided"
	outDecidedBy = "decided-by"
)

var decisionOutputs = map[string]bool{outDecision: true, outReviewer: true, outReason: true, outDecided: true, outDecidedBy: true}

func output(code string, valueKey string, value any) map[string]any {
	return map[string]any{
		"type":   map[string]any{"coding": []any{map[string]any{"system": TaskSystem, "code": code}}, "text": code},
		valueKey: value,
	}
}

// outputCode returns the coded type of a task output.
func outputCode(o map[string]any) string {
	for _, c := range fhir.Array(fhir.Object(o, "type"), "coding") {
		cm, _ := c.(map[string]any)
		if fhir.String(cm, "system") == TaskSystem {
			return fhir.String(cm, "code")
		}
	}
	return ""
}

// decisionsOf reads the decisions a completed task records, one per pair of
// its focus with each other Patient it names.
func decisionsOf(taskID string, task map[string]any) []*Decision {
	if fhir.String(task, "status") != "completed" {
		return nil
	}
	d := &Decision{Task: taskID}
	for _, o := range fhir.Array(task, "output") {
		om, _ := o.(map[string]any)
		switch outputCode(om) {
		case outDecision:
			d.Verdict = Verdict(fhir.String(om, "valueCode"))
		case outReviewer:
			d.Reviewer = fhir.String(om, "valueString")
		case outReason:
			d.Reason = fhir.String(om, "valueString")
		case outDecided:
			d.Decided, _ = time.Parse(time.RFC3339, fhir.String(om, "valueDateTime"))
		case outDecidedBy:
			d.BySource = fhir.String(om, "valueCode") == "source"
		}
	}
	if d.Verdict != VerdictLink && d.Verdict != VerdictNotSame {
		return nil
	}
	ids := taskPatients(task)
	var out []*Decision
	for _, other := range ids[min(1, len(ids)):] {
		dd := *d
		dd.A, dd.B = ids[0], other
		out = append(out, &dd)
	}
	return out
}

// setDecision records d (replacing what was decided about its pair).
func (m *MPI) setDecision(d *Decision) {
	p := pairOf(d.A, d.B)
	if m.decisions[p] == nil {
		m.decidedWith[p[0]] = append(m.decidedWith[p[0]], p)
		m.decidedWith[p[1]] = append(m.decidedWith[p[1]], p)
	}
	m.decisions[p] = d
}

func (m *MPI) dropDecision(p pairIDs) {
	if m.decisions[p] == nil {
		return
	}
	delete(m.decisions, p)
	for _, id := range p {
		list := m.decidedWith[id]
		for i, q := range list {
			if q == p {
				m.decidedWith[id] = append(list[:i:i], list[i+1:]...)
				break
			}
		}
	}
}

// taskCode returns the urn:omnichart:task code of a task.
func taskCode(task map[string]any) string {
	for _, c := range fhir.Array(fhir.Object(task, "code"), "coding") {
		cm, _ := c.(map[string]any)
		if fhir.String(cm, "system") == TaskSystem {
			return fhir.String(cm, "code")
		}
	}
	return ""
}

// auditor is an Engine that keeps an audit log (*service.Service does).
type auditor interface {
	Audit(ctx context.Context, ev ehr.AccessEvent) error
}

// Decide records a person's decision on a match review or identity conflict
// task: link (the records are one human), not-same, or undo (take the
// task's decision back). The person is the principal of ctx, who must see
// the task and both records; reason is required. The decision holds until
// it is undone: no automatic pass overrides it. It returns the task as
// written.
func (m *MPI) Decide(ctx context.Context, taskID string, v Verdict, reason string) (*ehr.Record, error) {
	if _, err := ParseVerdict(string(v)); err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, ehr.Errorf(ehr.Invalid, "a decision needs a reason: say why the records are, or are not, one person")
	}
	// The task is the index's record, read as the index; the caller decides
	// it only if it may see every Patient it names, and otherwise learns no
	// more than that no such task exists.
	rec, err := m.eng.Read(asSystem(ctx), "Task", taskID)
	if err != nil {
		return nil, err
	}
	task, err := fhir.Decode(rec.Resource)
	if err != nil {
		return nil, err
	}
	ids := taskPatients(task)
	for _, id := range ids {
		if _, err := m.eng.Read(ctx, "Patient", id); err != nil {
			if c := ehr.ErrorCode(err); c == ehr.NotFound || c == ehr.Gone || c == ehr.Forbidden {
				return nil, ehr.Errorf(ehr.NotFound, "Task/%s is not known", taskID)
			}
			return nil, fmt.Errorf("Patient/%s of Task/%s: %w", id, taskID, err)
		}
	}
	code := taskCode(task)
	if code != ReviewCode && code != IdentityConflictCode {
		return nil, ehr.Errorf(ehr.Invalid, "Task/%s is not a match review or identity conflict task (code %s|%s or %s)", taskID, TaskSystem, ReviewCode, IdentityConflictCode)
	}
	if len(ids) < 2 {
		return nil, ehr.Errorf(ehr.Invalid, "Task/%s names fewer than two Patients", taskID)
	}
	reviewer := ehr.PrincipalFrom(ctx).Subject

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ix == nil {
		return nil, ehr.Errorf(ehr.Internal, "the patient index is not loaded")
	}
	// What is decided is read again under the lock, so that two reviewers
	// deciding one task at once cannot both win.
	rec, err = m.eng.Read(asSystem(ctx), "Task", taskID)
	if err != nil {
		return nil, err
	}
	if task, err = fhir.Decode(rec.Resource); err != nil {
		return nil, err
	}
	prior := decisionsOf(rec.ID, task)
	switch {
	case v != VerdictUndo && len(prior) > 0:
		return nil, ehr.Errorf(ehr.Conflict, "Task/%s is already decided (%s by %s); undo that decision first", taskID, prior[0].Verdict, prior[0].Reviewer)
	case v == VerdictUndo && len(prior) == 0:
		return nil, ehr.Errorf(ehr.Conflict, "Task/%s has no decision to undo", taskID)
	}
	now := m.now().UTC()
	stamp := now.Format(time.RFC3339)
	var kept []any
	for _, o := range fhir.Array(task, "output") {
		if om, _ := o.(map[string]any); !decisionOutputs[outputCode(om)] {
			kept = append(kept, o)
		}
	}
	note := fmt.Sprintf("decision %s: %s", v, reason)
	if v == VerdictUndo {
		note = fmt.Sprintf("decision %s undone: %s", prior[0].Verdict, reason)
		task["status"] = "requested"
		delete(task, "businessStatus")
	} else {
		kept = append(kept, decisionRecord(v, reviewer, reason, stamp, false)...)
		task["status"] = "completed"
		task["businessStatus"] = map[string]any{"text": businessText(v)}
	}
	if len(kept) > 0 {
		task["output"] = kept
	} else {
		delete(task, "output")
	}
	task["note"] = append(fhir.Array(task, "note"), map[string]any{"authorString": reviewer, "time": stamp, "text": note})
	task["lastModified"] = stamp
	// The decision is the reviewer's: its audit record names them, the patients
	// and the task, and is written before the decision so none goes unrecorded.
	if a, ok := m.eng.(auditor); ok {
		kind := "unlink"
		if v == VerdictLink {
			kind = "link"
		}
		var patients []string
		for _, id := range ids {
			patients = append(patients, "Patient/"+id)
		}
		p := ehr.PrincipalFrom(ctx)
		if err := a.Audit(ctx, ehr.AccessEvent{Time: now, Subject: reviewer, Client: p.Client, Organization: p.Organization,
			Address: ehr.Origin(ctx), RequestID: ehr.RequestID(ctx), Interaction: kind, Records: []string{rec.Reference()},
			Patients: patients, Detail: "decision " + string(v) + " on " + rec.Reference()}); err != nil {
			return nil, err
		}
	}
	wctx := asSystem(ctx)
	if rec.Source == SourceURI {
		wctx = asMPI(ctx)
	}
	outs, err := m.eng.Apply(wctx, "transaction", []ehr.Change{{Method: "PUT", Type: "Task", ID: rec.ID, Resource: task, IfMatch: rec.Version}}, ehr.ApplyOptions{})
	if err != nil {
		return nil, err
	}
	w := m.newWork()
	for _, other := range ids[1:] {
		p := pairOf(ids[0], other)
		if v == VerdictUndo {
			m.dropDecision(p)
		} else {
			m.setDecision(&Decision{Task: rec.ID, A: ids[0], B: other, Verdict: v, Reviewer: reviewer, Reason: reason, Decided: now})
		}
		m.constrain(w, p)
		if code == ReviewCode && rec.Source == SourceURI {
			view := m.tasks[rec.ID]
			view.status, view.score, view.a, view.b, view.decidedOnce = fhir.String(task, "status"), "", ids[0], other, true
			m.tasks[rec.ID] = view
		}
	}
	if err := m.sync(ctx, w); err != nil {
		return outs[0].Record, fmt.Errorf("the decision is recorded, but the persons could not be written (run omnichart admin mpi rematch): %w", err)
	}
	return outs[0].Record, nil
}

func businessText(v Verdict) string {
	if v == VerdictLink {
		return "linked: one person"
	}
	return "not the same person"
}

// decisionRecord is the outputs that record a decision.
func decisionRecord(v Verdict, reviewer, reason, stamp string, bySource bool) []any {
	by := "person"
	if bySource {
		by = "source"
	}
	return []any{
		output(outDecision, "valueCode", string(v)),
		output(outReviewer, "valueString", reviewer),
		output(outReason, "valueString", reason),
		output(outDecided, "valueDateTime", stamp),
		output(outDecidedBy, "valueCode", by),
	}
}

// sourceLinks records the links a source made between its records: a
// Patient.link of type replaced-by or replaces (a merge, as HL7 v2 ADT^A40
// does) says the two records are one human. The link is recorded as the
// source's decision on a completed review task, unless the pair's task was
// ever decided: a person's decision stands, and so does a person's undo of
// the source's. It returns the pairs it decided.
func (m *MPI) sourceLinks(ctx context.Context, rec match.Record) []pairIDs {
	var out []pairIDs
	for _, l := range fhir.Array(rec.Patient, "link") {
		lm, _ := l.(map[string]any)
		typ := fhir.String(lm, "type")
		if typ != "replaced-by" && typ != "replaces" {
			continue
		}
		otyp, other, _, ok := fhir.ParseReference(fhir.String(fhir.Object(lm, "other"), "reference"))
		if !ok || otyp != "Patient" || other == rec.ID {
			continue
		}
		p := pairOf(rec.ID, other)
		id := ReviewTaskID(rec.ID, other)
		if m.decisions[p] != nil || m.tasks[id].decidedOnce {
			continue
		}
		now := m.now().UTC()
		stamp := now.Format(time.RFC3339)
		reason := fmt.Sprintf("the source's record Patient/%s says it %s Patient/%s", rec.ID, strings.ReplaceAll(typ, "-", " "), other)
		task := map[string]any{
			"resourceType": "Task", "id": id, "status": "completed", "intent": "proposal", "priority": "routine",
			"code":           map[string]any{"coding": []any{map[string]any{"system": TaskSystem, "code": ReviewCode}}},
			"description":    "Linked by the source that owns the records.",
			"businessStatus": map[string]any{"text": businessText(VerdictLink)},
			"focus":          map[string]any{"reference": "Patient/" + rec.ID}, "for": map[string]any{"reference": "Patient/" + rec.ID},
			"authoredOn": stamp, "lastModified": stamp,
			"input":  pairInputs(rec.ID, other),
			"output": decisionRecord(VerdictLink, rec.Source, reason, stamp, true),
			"note":   []any{map[string]any{"authorString": rec.Source, "time": stamp, "text": "decision link: " + reason}},
		}
		if !m.registered {
			if err := EnsureSource(asSystem(ctx), ingest.NewDirectory(ingest.ServiceTarget{Service: m.eng})); err != nil {
				m.log.ErrorContext(ctx, "mpi: register the source", "error", err)
				continue
			}
			m.registered = true
		}
		if _, err := m.eng.Apply(asMPI(ctx), "transaction", []ehr.Change{{Method: "PUT", Type: "Task", ID: id, Resource: task}}, ehr.ApplyOptions{}); err != nil {
			m.log.ErrorContext(ctx, "mpi: record a source's link", "patient", rec.ID, "error", err)
			continue
		}
		m.setDecision(&Decision{Task: id, A: rec.ID, B: other, Verdict: VerdictLink, Reviewer: rec.Source, Reason: reason, Decided: now, BySource: true})
		m.tasks[id] = taskView{status: "completed", authored: stamp, a: rec.ID, b: other, decidedOnce: true}
		out = append(out, p)
	}
	return out
}

package mpi

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
	"omnichart/internal/ingest"
	"omnichart/internal/match"
)

// Report says what a rematch found and changed.
type Report struct {
	// Model is the model the batch was scored with, and the index scores with
	// from now on.
	Model ModelInUse
	// Patients, Persons and Reviews are the current Patients, the persons
	// they form and the pairs waiting for review; Decisions the decided pairs.
	Patients, Persons, Reviews, Decisions int
	// The writes: Persons written (new or changed) and deleted, review tasks
	// opened (or updated with a new score) and closed as decided automatically.
	PersonsWritten, PersonsDeleted, TasksOpened, TasksClosed int
	// Changes names every write, one line each ("Person/mpi-… written: …").
	Changes []string
	// Read, Matched and Written are the time spent reading the Patients,
	// decisions and stored Persons and tasks; matching in one batch; and
	// writing what differs.
	Read, Matched, Written time.Duration
}

// Rematch matches every current Patient again in one batch, with the
// decisions recorded on review tasks, and writes the Persons and review
// Tasks that differ from what the batch makes: a stored Person no person
// has any more is deleted, an open review task of a pair no longer in review
// is cancelled. Decided tasks are left as they are. The MPI then continues
// incrementally from the batch.
func (m *MPI) Rematch(ctx context.Context) (*Report, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	start := time.Now()
	sys := asSystem(ctx)
	model, err := m.loadModel(sys)
	if err != nil {
		return nil, err
	}
	patients, records, err := m.readPatients(sys)
	if err != nil {
		return nil, fmt.Errorf("mpi: read patients: %w", err)
	}
	m.refs, m.versions = make(map[string]match.Ref, len(records)), make(map[string]int64, len(records))
	for i, r := range patients {
		m.refs[r.ID] = records[i].Ref()
		m.versions[r.ID] = r.Version
	}
	decided, err := m.searchAll(sys, "Task", "code="+TaskSystem+"|"+ReviewCode+","+TaskSystem+"|"+IdentityConflictCode+"&status=completed")
	if err != nil {
		return nil, fmt.Errorf("mpi: read decisions: %w", err)
	}
	m.decisions, m.decidedWith = map[pairIDs]*Decision{}, map[string][]pairIDs{}
	for _, t := range decided {
		res, err := fhir.Decode(t.Resource)
		if err != nil {
			return nil, err
		}
		for _, d := range decisionsOf(t.ID, res) {
			m.setDecision(d)
		}
	}
	if err := m.loadStored(sys); err != nil {
		return nil, err
	}
	// Links the sources made while the index was not running.
	for _, r := range records {
		m.sourceLinks(ctx, r)
	}
	read := time.Since(start)
	cfg := m.cfg
	cfg.Constraints = nil
	if model.Stored != nil {
		// loadModel has applied the overrides already (the model in use is
		// shown with them); NewIndex applies cfg.Overrides again, which fixes
		// the same levels to the same values and changes nothing.
		cfg.Model = model.Model
	}
	for p, d := range m.decisions {
		ra, oka := m.refs[p[0]]
		rb, okb := m.refs[p[1]]
		if oka && okb {
			cfg.Constraints = append(cfg.Constraints, match.PairConstraint{A: ra, B: rb, Kind: d.constraint()})
		}
	}
	m.ix, err = match.NewIndex(records, cfg)
	if err != nil {
		return nil, err
	}
	m.model = model
	w := m.newWork()
	res := m.ix.Result()
	for _, p := range res.Persons {
		w.persons[PersonID(p.Key)] = p.Key
	}
	for id := range m.persons {
		if _, ok := w.persons[id]; !ok {
			w.persons[id] = match.Ref{} // no person has it: deleted
		}
	}
	for _, p := range res.Reviews() {
		w.pairs[pairOf(p.A.ID, p.B.ID)] = true
	}
	for _, v := range m.tasks {
		if v.status == "requested" {
			w.pairs[pairOf(v.a, v.b)] = true
		}
	}
	rep := &Report{Model: model, Patients: len(records), Persons: len(res.Persons), Reviews: len(res.Reviews()), Decisions: len(m.decisions),
		Read: read, Matched: time.Since(start) - read}
	w.report = rep
	written := time.Now()
	err = m.sync(ctx, w)
	rep.Written = time.Since(written)
	return rep, err
}

// loadStored reads the Persons and review tasks the MPI owns into its mirror.
func (m *MPI) loadStored(ctx context.Context) error {
	m.persons, m.tasks = map[string][]link{}, map[string]taskView{}
	persons, err := m.searchAll(ctx, "Person", "")
	if err != nil {
		return fmt.Errorf("mpi: read persons: %w", err)
	}
	for _, r := range persons {
		if r.Source != SourceURI {
			continue
		}
		res, err := fhir.Decode(r.Resource)
		if err != nil {
			return err
		}
		var links []link
		for _, l := range fhir.Array(res, "link") {
			lm, _ := l.(map[string]any)
			if typ, id, _, ok := fhir.ParseReference(fhir.String(fhir.Object(lm, "target"), "reference")); ok && typ == "Patient" {
				links = append(links, link{Patient: id, Assurance: ehr.Assurance(fhir.String(lm, "assurance"))})
			}
		}
		sort.Slice(links, func(i, j int) bool { return links[i].Patient < links[j].Patient })
		m.persons[r.ID] = links
	}
	tasks, err := m.searchAll(ctx, "Task", "code="+TaskSystem+"|"+ReviewCode)
	if err != nil {
		return fmt.Errorf("mpi: read review tasks: %w", err)
	}
	for _, r := range tasks {
		if r.Source != SourceURI {
			continue
		}
		res, err := fhir.Decode(r.Resource)
		if err != nil {
			return err
		}
		ids := taskPatients(res)
		if len(ids) != 2 {
			continue
		}
		m.tasks[r.ID] = taskView{status: fhir.String(res, "status"), score: normalScore(inputString(res, "score")),
			authored: fhir.String(res, "authoredOn"), a: ids[0], b: ids[1], decidedOnce: len(fhir.Array(res, "note")) > 0}
	}
	return nil
}

// searchAll returns every current resource of typ matching query.
func (m *MPI) searchAll(ctx context.Context, typ, query string) ([]*ehr.Record, error) {
	q, err := search.ParseString(typ, query)
	if err != nil {
		return nil, err
	}
	var out []*ehr.Record
	for {
		q.Count = search.MaxCount
		page, err := m.eng.Search(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Records...)
		if page.Next == "" {
			return out, nil
		}
		q.Cursor = page.Next
	}
}

// sync writes the Persons and review tasks w reached that differ from what
// the index says, and keeps the mirror in step with what was written.
func (m *MPI) sync(ctx context.Context, w *work) error {
	var writes []write
	now := m.now().UTC().Format("2006-01-02T15:04:05Z")
	pids := make([]string, 0, len(w.persons))
	for id := range w.persons {
		pids = append(pids, id)
	}
	sort.Strings(pids)
	for _, id := range pids {
		key := w.persons[id]
		var want []link
		if key != (match.Ref{}) {
			want = m.desiredPerson(key)
		}
		have, stored := m.persons[id]
		switch {
		case want == nil && stored:
			writes = append(writes, write{ehr.Change{Method: "DELETE", Type: "Person", ID: id},
				func() { delete(m.persons, id) }, "Person/" + id + " deleted", firstPatient(have)})
			if w.report != nil {
				w.report.PersonsDeleted++
			}
		case want != nil && (!stored || !sameLinks(want, have)):
			writes = append(writes, write{ehr.Change{Method: "PUT", Type: "Person", ID: id, Resource: personResource(id, want)},
				func() { m.persons[id] = want }, "Person/" + id + " written: " + describeLinks(want), firstPatient(want)})
			if w.report != nil {
				w.report.PersonsWritten++
			}
		}
	}
	pairs := make([]pairIDs, 0, len(w.pairs))
	for p := range w.pairs {
		pairs = append(pairs, p)
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i][0] != pairs[j][0] {
			return pairs[i][0] < pairs[j][0]
		}
		return pairs[i][1] < pairs[j][1]
	})
	for _, p := range pairs {
		if m.decisions[p] != nil {
			continue // a decided pair's task is the decision's record
		}
		id := ReviewTaskID(p[0], p[1])
		view, stored := m.tasks[id]
		pr, compared := m.pairNow(p)
		if compared && pr.Decision == match.Review {
			score := strconv.FormatFloat(pr.Score, 'f', 2, 64)
			if stored && view.status == "requested" && view.score == score {
				continue
			}
			authored := now
			if stored && view.authored != "" {
				authored = view.authored
			}
			task := pr.ReviewTask()
			task["id"], task["authoredOn"], task["lastModified"] = id, authored, now
			m.keepNotes(ctx, task, view)
			nv := taskView{status: "requested", score: score, authored: authored, a: pr.A.ID, b: pr.B.ID, decidedOnce: view.decidedOnce}
			writes = append(writes, write{ehr.Change{Method: "PUT", Type: "Task", ID: id, Resource: task},
				func() { m.tasks[id] = nv }, "Task/" + id + " open: " + pr.A.Reference() + " ~ " + pr.B.Reference() + " score " + score, pr.A.ID})
			if w.report != nil {
				w.report.TasksOpened++
			}
			continue
		}
		if !stored || view.status != "requested" {
			continue
		}
		task := closedTask(id, view, pr, compared, now)
		m.keepNotes(ctx, task, view)
		nv := view
		nv.status, nv.score = "cancelled", ""
		writes = append(writes, write{ehr.Change{Method: "PUT", Type: "Task", ID: id, Resource: task},
			func() { m.tasks[id] = nv }, "Task/" + id + " closed: " + fhir.String(fhir.Object(task, "statusReason"), "text"), view.a})
		if w.report != nil {
			w.report.TasksClosed++
		}
	}
	if len(writes) > 0 && !m.registered {
		if err := EnsureSource(asSystem(ctx), ingest.NewDirectory(ingest.ServiceTarget{Service: m.eng})); err != nil {
			return fmt.Errorf("register the source %s: %w", SourceURI, err)
		}
		m.registered = true
	}
	return m.apply(ctx, writes, w.report)
}

// keepNotes carries the notes of a task that was decided once (who decided,
// who undid it, and why) into the version the automatic pass writes.
func (m *MPI) keepNotes(ctx context.Context, task map[string]any, view taskView) {
	if !view.decidedOnce {
		return
	}
	rec, err := m.eng.Read(asSystem(ctx), "Task", fhir.String(task, "id"))
	if err != nil {
		return
	}
	if old, err := fhir.Decode(rec.Resource); err == nil && len(fhir.Array(old, "note")) > 0 {
		task["note"] = fhir.Array(old, "note")
	}
}

// pairNow returns the compared pair of Patients p as the index has it.
func (m *MPI) pairNow(p pairIDs) (match.Pair, bool) {
	ra, oka := m.refs[p[0]]
	rb, okb := m.refs[p[1]]
	if !oka || !okb {
		return match.Pair{}, false
	}
	return m.ix.PairOf(ra, rb)
}

// personResource is the stored form of a person.
func personResource(id string, links []link) map[string]any {
	ls := make([]any, len(links))
	for i, l := range links {
		ls[i] = map[string]any{"target": map[string]any{"reference": "Patient/" + l.Patient}, "assurance": string(l.Assurance)}
	}
	return map[string]any{"resourceType": "Person", "id": id, "active": true, "link": ls}
}

func describeLinks(links []link) string {
	parts := make([]string, len(links))
	for i, l := range links {
		parts[i] = "Patient/" + l.Patient + " " + string(l.Assurance)
	}
	return strings.Join(parts, ", ")
}

// closedTask is a review task cancelled because the pair is decided
// automatically now, or no longer compared.
func closedTask(id string, view taskView, pr match.Pair, compared bool, now string) map[string]any {
	var task map[string]any
	reason := "a record of the pair was deleted, or the two are no longer compared"
	if compared {
		task = pr.ReviewTask()
		reason = fmt.Sprintf("re-evaluated after a change: now %s by the %s rule (score %.2f)", pr.Decision, pr.Rule, pr.Score)
	} else {
		task = map[string]any{"resourceType": "Task", "intent": "proposal", "priority": "routine",
			"code":  map[string]any{"coding": []any{map[string]any{"system": TaskSystem, "code": ReviewCode}}},
			"focus": map[string]any{"reference": "Patient/" + view.a}, "for": map[string]any{"reference": "Patient/" + view.a},
			"input": pairInputs(view.a, view.b)}
	}
	task["id"], task["status"], task["lastModified"] = id, "cancelled", now
	if view.authored != "" {
		task["authoredOn"] = view.authored
	}
	task["statusReason"] = map[string]any{"text": reason}
	return task
}

// taskPatients returns the ids of the Patients a review or conflict task is
// about: its focus, then every Patient among its inputs.
func taskPatients(task map[string]any) []string {
	var out []string
	add := func(ref string) {
		if typ, id, _, ok := fhir.ParseReference(ref); ok && typ == "Patient" {
			for _, o := range out {
				if o == id {
					return
				}
			}
			out = append(out, id)
		}
	}
	add(fhir.String(fhir.Object(task, "focus"), "reference"))
	for _, in := range fhir.Array(task, "input") {
		im, _ := in.(map[string]any)
		add(fhir.String(fhir.Object(im, "valueReference"), "reference"))
	}
	return out
}

// inputString returns the value of the task input whose type text is name,
// as text.
func inputString(task map[string]any, name string) string {
	for _, in := range fhir.Array(task, "input") {
		im, _ := in.(map[string]any)
		if fhir.String(fhir.Object(im, "type"), "text") != name {
			continue
		}
		for k, v := range im {
			if strings.HasPrefix(k, "value") {
				return fmt.Sprint(v)
			}
		}
	}
	return ""
}

// normalScore writes a stored score as the sync writes it, so that a
// decimal the store wrote otherwise ("12.3") is not taken for a change.
func normalScore(s string) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return strconv.FormatFloat(f, 'f', 2, 64)
}

// pairInputs are the task inputs naming the two records of a pair.
func pairInputs(a, b string) []any {
	return []any{
		map[string]any{"type": map[string]any{"text": "record"}, "valueReference": map[string]any{"reference": "Patient/" + a}},
		map[string]any{"type": map[string]any{"text": "other record"}, "valueReference": map[string]any{"reference": "Patient/" + b}},
	}
}

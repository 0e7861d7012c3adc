package mpi

import (
	"context"
	"math"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/match"
)

// ReviewItem is one task of the review queue.
type ReviewItem struct {
	// Task is the task's id; Code is match-review or identity-conflict.
	Task, Code, Status string
	// Patients are the ids of the records to decide about, focus first.
	Patients []string
	// Score and Explanation are the matcher's, for a match review.
	Score, Explanation string
	Authored           string
	// Decision is the recorded decision of a completed task.
	Decision *Decision
}

// Queue lists the review queue as the caller (the principal of ctx) may see
// it: match reviews and identity conflicts, open ones only unless all is
// set. The tasks are the index's own records, read as the index; a task
// naming a Patient the caller cannot see is left out.
func (m *MPI) Queue(ctx context.Context, all bool) ([]ReviewItem, error) {
	query := "code=" + TaskSystem + "|" + ReviewCode + "," + TaskSystem + "|" + IdentityConflictCode + "&_sort=-authored-on"
	if !all {
		query += "&status=requested"
	}
	recs, err := m.searchAll(asSystem(ctx), "Task", query)
	if err != nil {
		return nil, err
	}
	var out []ReviewItem
	visible := map[string]bool{}
	for _, r := range recs {
		task, err := fhir.Decode(r.Resource)
		if err != nil {
			return nil, err
		}
		it := ReviewItem{Task: r.ID, Code: taskCode(task), Status: fhir.String(task, "status"), Patients: taskPatients(task),
			Score: inputString(task, "score"), Explanation: inputString(task, "explanation"), Authored: fhir.String(task, "authoredOn")}
		if ds := decisionsOf(r.ID, task); len(ds) > 0 {
			it.Decision = ds[0]
		}
		hidden := false
		for _, id := range it.Patients {
			seen, ok := visible[id]
			if !ok {
				_, err := m.eng.Read(ctx, "Patient", id)
				seen = err == nil
				visible[id] = seen
			}
			hidden = hidden || !seen
		}
		if !hidden {
			out = append(out, it)
		}
	}
	return out, nil
}

// Match grades, as http://hl7.org/fhir/StructureDefinition/match-grade codes.
const (
	GradeCertain      = "certain"
	GradeProbable     = "probable"
	GradePossible     = "possible"
	GradeCertainlyNot = "certainly-not"
)

// Candidate is a stored Patient that may be the patient asked about.
type Candidate struct {
	// Record is the Patient as the caller may read it.
	Record *ehr.Record
	// Score is the match weight in bits; Probability maps it to 0..1
	// (2^s / (1 + 2^s), the chance of a match at even prior odds), the
	// search score of a $match result.
	Score, Probability float64
	// Grade is certain (the scores would link the records automatically),
	// probable (between the thresholds), possible (above the upper
	// threshold, but a critical field disagrees) or certainly-not.
	Grade       string
	Explanation match.Explanation
}

// Candidates answers Patient/$match: the stored Patients the caller may see
// that patient (a Patient resource, not stored) may be, best first. Pairs the
// matcher keeps distinct are left out; onlyCertain keeps only certain ones;
// count, when positive, bounds the answer.
func (m *MPI) Candidates(ctx context.Context, patient map[string]any, onlyCertain bool, count int) ([]Candidate, error) {
	if fhir.String(patient, "resourceType") != "Patient" {
		return nil, ehr.Errorf(ehr.Invalid, "$match needs a Patient resource, not %q", fhir.String(patient, "resourceType"))
	}
	m.mu.Lock()
	if m.ix == nil {
		m.mu.Unlock()
		return nil, ehr.Errorf(ehr.Internal, "the patient index is not loaded")
	}
	pairs := m.ix.Candidates(match.Record{Source: "urn:omnichart:match-query", ID: "$match", Patient: patient})
	m.mu.Unlock()
	var out []Candidate
	for _, p := range pairs {
		grade := gradeOf(p)
		if grade == GradeCertainlyNot || (onlyCertain && grade != GradeCertain) {
			continue
		}
		rec, err := m.eng.Read(ctx, "Patient", p.B.ID)
		if err != nil {
			if c := ehr.ErrorCode(err); c == ehr.NotFound || c == ehr.Gone || c == ehr.Forbidden {
				continue // not the caller's to see
			}
			return nil, err
		}
		out = append(out, Candidate{Record: rec, Score: p.Score, Probability: probability(p.Score), Grade: grade, Explanation: p.Explain()})
		if count > 0 && len(out) == count {
			break
		}
	}
	return out, nil
}

func gradeOf(p match.Pair) string {
	switch {
	case p.Decision == match.Link:
		return GradeCertain
	case p.Decision == match.Review && p.Rule == match.RuleConflict:
		return GradePossible
	case p.Decision == match.Review:
		return GradeProbable
	}
	return GradeCertainlyNot
}

func probability(bits float64) float64 {
	return 1 / (1 + math.Exp2(-bits))
}

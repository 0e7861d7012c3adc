// Package mpi is the master patient index: it keeps one Person per human in
// step with the source Patients, and the review Tasks for the pairs the
// matcher (internal/match) cannot decide, and records the decisions people
// and sources make about pairs. Everything it reads and writes goes through
// the interaction engine (internal/service) under its own system principal;
// what a caller asks of it (a decision, a look-up) runs under the caller's.
//
// The stored form, which the integrated record reads:
//
//   - Person/<id>, owned by the source urn:omnichart:source:mpi, with one
//     link per source Patient that is the same human: target Patient/<id>,
//     assurance level3 (matched automatically, or linked by the source that
//     owns the records) or level4 (a person confirmed it). Every current
//     Patient is in exactly one Person; a Patient matched to nobody has a
//     Person of its own.
//   - Task/<id> with code urn:omnichart:task|match-review, owned by the same
//     source, per pair sent to review: status requested while open,
//     cancelled when a change decided the pair automatically, completed
//     when a person (or the source) decided it; the decision, who, when and
//     why are its outputs.
//
// The index scores with a fixed model: the newest one saved in the store
// (estimated from the stored Patients by Estimate, stored by SaveModel), or
// the default, with the configuration's overrides on top. Each rematch loads
// it; a model saved later takes effect at the next one.
//
// See docs/matching.md, sections 10 and 11.
package mpi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"sort"
	"sync"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir/search"
	"omnichart/internal/match"
	"omnichart/internal/service"
)

// The MPI's source and the codes of its tasks.
const (
	// SourceSlug and SourceURI name the system source that owns the Persons
	// and review Tasks.
	SourceSlug = "mpi"
	SourceURI  = "urn:omnichart:source:" + SourceSlug
	// TaskSystem is the code system of review tasks; ReviewCode the code of a
	// match review, IdentityConflictCode that of an identity conflict raised
	// by the interaction engine on import. Both are in the review queue.
	TaskSystem           = service.TaskSystem
	ReviewCode           = match.ReviewTaskCode
	IdentityConflictCode = service.IdentityConflict
)

// Engine is what the MPI needs of the interaction engine; *service.Service
// satisfies it.
type Engine interface {
	Apply(ctx context.Context, kind string, changes []ehr.Change, opts ehr.ApplyOptions) ([]ehr.Outcome, error)
	Search(ctx context.Context, q *search.Query) (*ehr.Page, error)
	Read(ctx context.Context, typ, id string) (*ehr.Record, error)
}

// Options configure an MPI.
type Options struct {
	// Config is the matcher's configuration. Zero means DefaultConfig with
	// the default model fixed: EM is not run at a rematch, so that the
	// persons depend on the records and the model chosen, not on when a
	// model was estimated. A model saved in Models replaces the default.
	Config *match.Config
	// Models is where the index's model is kept (the store). Each rematch
	// (Open included) scores with the newest model saved there, with the
	// configuration's overrides fixed, unless Config fixes a model itself;
	// DefaultModel when none is saved. Nil: the configured model always.
	Models ehr.MatchModelStore
	Log    *slog.Logger
	Now    func() time.Time
}

// MPI is the master patient index. It is safe for concurrent use; changes
// are applied one at a time.
type MPI struct {
	eng Engine
	cfg match.Config
	log *slog.Logger
	now func() time.Time
	// models keeps the saved models; fixedModel is set when the
	// configuration fixes the model, which a saved one then does not replace.
	models     ehr.MatchModelStore
	fixedModel bool

	mu sync.Mutex
	ix *match.Index
	// model is the model the last rematch loaded, which the index scores with.
	model ModelInUse
	// refs are the current Patients; versions the last version of every
	// Patient seen, deleted ones included, so that a late report of an older
	// version is ignored.
	refs     map[string]match.Ref
	versions map[string]int64
	// decisions are the pairs people and sources decided, by Patient ids;
	// decidedWith lists them per Patient.
	decisions   map[pairIDs]*Decision
	decidedWith map[string][]pairIDs
	// persons and tasks mirror what is stored: the Persons' links, and the
	// review Tasks the automatic passes manage (by Task id).
	persons map[string][]link
	tasks   map[string]taskView
	// chunk bounds the writes of one transaction (writeChunk).
	chunk int
	// registered is set once the MPI's source is in the directory; it is
	// registered before the first write, so that a store the MPI never wrote
	// to holds nothing of it.
	registered bool
}

// pairIDs are two Patient ids, in order.
type pairIDs [2]string

func pairOf(a, b string) pairIDs {
	if b < a {
		a, b = b, a
	}
	return pairIDs{a, b}
}

// link is one Person.link as stored.
type link struct {
	Patient   string // Patient id
	Assurance ehr.Assurance
}

// taskView is what the automatic passes need to know of a stored review task.
type taskView struct {
	status, score, authored string
	a, b                    string // the Patients, focus first
	// decidedOnce is set when a decision was ever recorded on the task (it
	// has notes): a source's link then no longer decides the pair.
	decidedOnce bool
}

// New returns an empty MPI over eng; Load fills it from the store.
func New(eng Engine, opts Options) *MPI {
	cfg := match.DefaultConfig()
	cfg.Model = match.DefaultModel()
	fixed := false
	if opts.Config != nil {
		cfg, fixed = *opts.Config, opts.Config.Model != nil
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &MPI{eng: eng, cfg: cfg, log: opts.Log, now: opts.Now, chunk: writeChunk, models: opts.Models, fixedModel: fixed}
}

// Open returns an MPI over eng, loaded from the store and reconciled with it
// (see Rematch).
func Open(ctx context.Context, eng Engine, opts Options) (*MPI, *Report, error) {
	m := New(eng, opts)
	rep, err := m.Rematch(ctx)
	if err != nil {
		return nil, nil, err
	}
	return m, rep, nil
}

// asMPI is a context of the MPI's principal (system, owner of what it
// writes) for work done for the request of ctx. It keeps the request id and
// nothing else of ctx: what the request carries for its own writes (the
// import's once-only condition, a scope) is not the MPI's.
func asMPI(ctx context.Context) context.Context {
	return ehr.WithPrincipal(clean(ctx), ehr.Principal{Subject: "system/mpi", Source: SourceURI, System: true})
}

// asSystem is like asMPI with a system principal of no source: it reads
// everything and may complete a task another source owns, which stays that
// source's.
func asSystem(ctx context.Context) context.Context {
	return ehr.WithPrincipal(clean(ctx), ehr.Principal{Subject: "system/mpi", System: true})
}

func clean(ctx context.Context) context.Context {
	out := context.Background()
	if id := ehr.RequestID(ctx); id != "" {
		out = ehr.WithRequestID(out, id)
	}
	return out
}

// PersonID is the id of the Person whose first record (in the matcher's
// canonical order: source, then id) is key. It changes only when another
// record becomes the person's first.
func PersonID(key match.Ref) string { return "mpi-" + digest(key.Source, key.ID) }

// ReviewTaskID is the id of the review Task of the pair of Patients a and b,
// in either order: one Task per pair for ever, reopened if the pair comes
// back to review.
func ReviewTaskID(a, b string) string {
	p := pairOf(a, b)
	return "match-" + digest(p[0], p[1])
}

func digest(a, b string) string {
	h := sha256.Sum256([]byte(a + "\x00" + b))
	return hex.EncodeToString(h[:16])
}

// Committed is the engine's after-commit hook (service.Options.AfterCommit):
// it matches the Patients a request created, changed or deleted, and writes
// what changed. Other records are ignored, so the MPI's own writes do not
// come back to it.
func (m *MPI) Committed(ctx context.Context, recs []*ehr.Record) {
	var patients []*ehr.Record
	for _, r := range recs {
		if r != nil && r.Type == "Patient" {
			patients = append(patients, r)
		}
	}
	if len(patients) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ix == nil {
		return
	}
	w := m.newWork()
	for _, r := range patients {
		if r.Version <= m.versions[r.ID] {
			continue
		}
		m.versions[r.ID] = r.Version
		if r.Deleted {
			if ref, ok := m.refs[r.ID]; ok {
				w.add(m.ix.Remove(ref))
				delete(m.refs, r.ID)
			}
			continue
		}
		rec, err := match.RecordFromEHR(r)
		if err != nil {
			m.log.ErrorContext(ctx, "mpi: read patient", "patient", r.ID, "error", err)
			continue
		}
		_, known := m.refs[r.ID]
		m.refs[r.ID] = rec.Ref()
		w.add(m.ix.Upsert(rec))
		if !known {
			for _, p := range m.decidedWith[r.ID] {
				m.constrain(w, p)
			}
		}
		for _, p := range m.sourceLinks(ctx, rec) {
			m.constrain(w, p)
		}
	}
	if err := m.sync(ctx, w); err != nil {
		m.log.ErrorContext(ctx, "mpi: write persons and review tasks; run omnichart admin mpi rematch", "error", err)
	}
}

// work collects what a change reached: the Persons (by id, with the key of
// the person they were written for) and the pairs whose review task may
// have to change.
type work struct {
	persons map[string]match.Ref
	pairs   map[pairIDs]bool
	// report, when set, counts and names the writes.
	report *Report
}

func (m *MPI) newWork() *work {
	return &work{persons: map[string]match.Ref{}, pairs: map[pairIDs]bool{}}
}

func (w *work) add(ch *match.Change) {
	for _, ps := range [][]match.Person{ch.Added, ch.Removed} {
		for _, p := range ps {
			w.persons[PersonID(p.Key)] = p.Key
		}
	}
	for _, ps := range [][]match.Pair{ch.Pairs, ch.Dropped} {
		for _, p := range ps {
			w.pairs[pairOf(p.A.ID, p.B.ID)] = true
		}
	}
}

// touch adds the person of ref as it is now, for a change of assurance that
// leaves its records as they were.
func (m *MPI) touch(w *work, ref match.Ref) {
	if p, ok := m.ix.PersonOf(ref); ok {
		w.persons[PersonID(p.Key)] = p.Key
	}
}

// constrain applies the decision on pair p to the index, when both records
// are there.
func (m *MPI) constrain(w *work, p pairIDs) {
	d := m.decisions[p]
	ra, oka := m.refs[p[0]]
	rb, okb := m.refs[p[1]]
	if !oka || !okb {
		return
	}
	kind := match.Constraint("")
	if d != nil {
		kind = d.constraint()
	}
	w.add(m.ix.Constrain(ra, rb, kind))
	m.touch(w, ra)
	m.touch(w, rb)
	w.pairs[p] = true
}

// desiredPerson returns the links the Person written for key should have,
// or nil when no person has key as its first record any more.
func (m *MPI) desiredPerson(key match.Ref) []link {
	p, ok := m.ix.PersonOf(key)
	if !ok || p.Key != key {
		return nil
	}
	out := make([]link, len(p.Records))
	for i, r := range p.Records {
		out[i] = link{Patient: r.ID, Assurance: ehr.AssuranceLevel3}
		for _, q := range m.decidedWith[r.ID] {
			d := m.decisions[q]
			other := q[0]
			if other == r.ID {
				other = q[1]
			}
			if d.Verdict == VerdictLink && !d.BySource && contains(p.Records, other) {
				out[i].Assurance = ehr.AssuranceLevel4
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Patient < out[j].Patient })
	return out
}

func contains(refs []match.Ref, id string) bool {
	for _, r := range refs {
		if r.ID == id {
			return true
		}
	}
	return false
}

func sameLinks(a, b []link) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

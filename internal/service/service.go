package service

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// Options configure a Service. Zero values pick the defaults.
type Options struct {
	// Policy decides what each principal may do and see; nil allows everything.
	Policy ehr.Policy
	// Events receives an access event for every read and write; nil keeps none.
	Events ehr.EventSink
	// Auditor, when set, keeps the audit log: the record of a write is appended
	// in the write's own transaction, the record of a read before the read
	// returns, and a read or write whose record cannot be written fails
	// (Unavailable) without returning anything. Nil keeps no audit log.
	Auditor ehr.Auditor
	// Log receives internal errors of batch entries; slog.Default by default.
	Log *slog.Logger
	// Now is the clock of access events and review tasks; time.Now by default.
	Now func() time.Time
	// MaxBundleEntries is the most entries one transaction or batch may have;
	// DefaultMaxBundleEntries when 0.
	MaxBundleEntries int
	// AfterCommit, when set, is called after every committed write request
	// (a single interaction, a transaction, or each entry of a batch) with the
	// records it wrote, in the order of its changes: deletions as their Deleted
	// versions. It runs in the caller's goroutine before the interaction returns,
	// so what it derives is in place when the caller sees the result; it cannot
	// fail the write, which is already committed. Derived indexes (the patient
	// matcher) keep in step through it whatever path a write took.
	AfterCommit func(ctx context.Context, committed []*ehr.Record)
}

// DefaultMaxBundleEntries bounds the entries of one transaction or batch. Every
// entry of a transaction is held, decoded, encoded and indexed, until it commits
// (about 14 KB for a small Observation), so the bound is what keeps the memory of
// one request within reach whatever a client sends.
const DefaultMaxBundleEntries = 10000

// Service runs FHIR interactions against a ResourceStore under a Policy. It is safe
// for concurrent use.
type Service struct {
	store  ehr.ResourceStore
	policy ehr.Policy
	events ehr.EventSink
	audit  ehr.Auditor
	log    *slog.Logger
	now    func() time.Time
	model  *fhir.Model

	maxBundleEntries int
	after            func(context.Context, []*ehr.Record)
}

// New returns a Service over store.
func New(store ehr.ResourceStore, opts Options) *Service {
	if opts.Policy == nil {
		opts.Policy = ehr.AllowAll{}
	}
	if opts.Events == nil {
		opts.Events = ehr.DiscardEvents{}
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBundleEntries <= 0 {
		opts.MaxBundleEntries = DefaultMaxBundleEntries
	}
	return &Service{store: store, policy: opts.Policy, events: opts.Events, audit: opts.Auditor, log: opts.Log, now: opts.Now, model: fhir.R4(),
		maxBundleEntries: opts.MaxBundleEntries, after: opts.AfterCommit}
}

// SearchParameters lists the search parameters of typ the store supports, for the
// CapabilityStatement; nil when the store does not say.
func (s *Service) SearchParameters(typ string) []ehr.SearchParameterInfo {
	if l, ok := s.store.(interface {
		SearchParameters(string) []ehr.SearchParameterInfo
	}); ok {
		return l.SearchParameters(typ)
	}
	return nil
}

// begin authorizes action on typ and puts the principal's scope into ctx, once per
// request: every store call made with the returned context is limited to it.
func (s *Service) begin(ctx context.Context, action ehr.Action, typ string) (context.Context, error) {
	p := ehr.PrincipalFrom(ctx)
	if err := s.policy.Authorize(ctx, p, action, typ); err != nil {
		return ctx, err
	}
	scope, err := s.policy.Scope(ctx, p)
	if err != nil {
		return ctx, err
	}
	return ehr.WithScope(ctx, scope), nil
}

// Authorize refuses action on typ when ctx's principal may not do it, with the
// error an interaction would answer, recorded as a refused interaction of
// that kind. It is for operations served outside the engine's interactions
// from what they read through it (Patient/$match reads each candidate): a
// caller whose scopes lack the interaction must be refused as the
// interactions refuse it, not answered with nothing.
func (s *Service) Authorize(ctx context.Context, action ehr.Action, typ string) error {
	err := s.policy.Authorize(ctx, ehr.PrincipalFrom(ctx), action, typ)
	if err == nil {
		return nil
	}
	if aerr := s.read(ctx, string(action), typ, "", nil, nil, err); aerr != nil {
		return aerr
	}
	return err
}

// event is the access event of one interaction by ctx's principal. Records are
// named with their version.
func (s *Service) event(ctx context.Context, interaction, typ, id string, params []string, recs []*ehr.Record, err error) ehr.AccessEvent {
	p := ehr.PrincipalFrom(ctx)
	ev := ehr.AccessEvent{Time: s.now().UTC(), Subject: p.Subject, Source: p.Source, Client: p.Client,
		Organization: p.Organization, Address: ehr.Origin(ctx), RequestID: ehr.RequestID(ctx),
		Interaction: interaction, Type: typ, ID: id, Params: params, Outcome: "ok"}
	for _, r := range recs {
		if r == nil {
			continue
		}
		ref := r.Reference()
		if r.Version > 0 {
			ref += "/_history/" + strconv.FormatInt(r.Version, 10)
		}
		ev.Records = append(ev.Records, ref)
	}
	ev.Patients = ehr.PatientsOf(recs)
	if typ == "Patient" && id != "" && err == nil && len(ev.Patients) == 0 && fhir.ValidID(id) {
		ev.Patients = []string{"Patient/" + id}
	}
	if err != nil {
		ev.Outcome = string(ehr.ErrorCode(err))
	}
	return ev
}

// errNotAudited is what a request gets when its audit record could not be
// written: it is not served.
var errNotAudited = ehr.Errorf(ehr.Unavailable, "the access could not be recorded in the audit log, so it was not served; try again")

// read sends the access event of a read and appends its audit record before the
// read returns. It returns nil, or the error that replaces the read's result when
// the record could not be written.
func (s *Service) read(ctx context.Context, interaction, typ, id string, params []string, recs []*ehr.Record, err error) error {
	ev := s.event(ctx, interaction, typ, id, params, recs, err)
	s.events.Record(ctx, ev)
	if !s.auditsReads(ctx) {
		return nil
	}
	if aerr := s.audit.Record(ctx, ev); aerr != nil {
		s.log.ErrorContext(ctx, "audit record not written", "request_id", ehr.RequestID(ctx), "interaction", interaction, "error", aerr)
		return errNotAudited
	}
	return nil
}

// auditsReads reports whether the reads of ctx's request are recorded: with an
// Auditor, every read but those of the server's own machinery, a System
// principal with no origin (the importer's duplicate checks, the patient index
// loading its records); what it writes is always recorded. Requests over the
// network and commands run by a person carry an origin.
func (s *Service) auditsReads(ctx context.Context) bool {
	if s.audit == nil {
		return false
	}
	return !ehr.PrincipalFrom(ctx).System || ehr.Origin(ctx) != ""
}

// wrote sends the access event of a write. A committed write's audit record was
// appended in its transaction (see run); a write that failed is recorded here,
// and when that record cannot be written the request fails all the same.
func (s *Service) wrote(ctx context.Context, interaction, typ, id string, recs []*ehr.Record, err error) {
	ev := s.event(ctx, interaction, typ, id, nil, recs, err)
	s.events.Record(ctx, ev)
	if s.audit == nil || err == nil {
		return
	}
	if aerr := s.audit.Record(ctx, ev); aerr != nil {
		s.log.ErrorContext(ctx, "audit record not written", "request_id", ehr.RequestID(ctx), "interaction", interaction, "error", aerr)
	}
}

// Audit appends ev to the audit log, for events that happen outside the engine's
// interactions (person-link decisions, web pages); without an Auditor it does
// nothing. Its error means the event was not recorded and the caller must not
// go on.
func (s *Service) Audit(ctx context.Context, ev ehr.AccessEvent) error {
	s.events.Record(ctx, ev)
	if s.audit == nil {
		return nil
	}
	if err := s.audit.Record(ctx, ev); err != nil {
		s.log.ErrorContext(ctx, "audit record not written", "request_id", ehr.RequestID(ctx), "interaction", ev.Interaction, "error", err)
		return errNotAudited
	}
	return nil
}

// prepare validates res as a resource of type typ and stamps its owner.
func (s *Service) prepare(ctx context.Context, typ string, res map[string]any) error {
	if issues := s.model.Validate(res); len(issues) > 0 {
		return ehr.InvalidIssues("the resource is not valid R4 "+typ, issues)
	}
	return stampSource(ctx, typ, res)
}

// stampSource checks the type of res and makes the principal's source its owner:
// what a source writes is that source's record, whatever meta.source the body
// claims. A principal that is no source leaves meta.source as sent.
func stampSource(ctx context.Context, typ string, res map[string]any) error {
	got, _ := res["resourceType"].(string)
	if got != typ {
		return ehr.Errorf(ehr.Invalid, "the resource is a %q, but the request is for %s", got, typ)
	}
	if src := ehr.PrincipalFrom(ctx).Source; src != "" {
		meta, _ := res["meta"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
			res["meta"] = meta
		}
		meta["source"] = src
	}
	return nil
}

// Create stores a new resource. With ifNoneExist (a query string) it is a conditional
// create: when exactly one resource matches, that one is returned with created false;
// several matches are PreconditionFailed. A source's criteria match only that
// source's records. See https://hl7.org/fhir/R4/http.html#ccreate.
func (s *Service) Create(ctx context.Context, res map[string]any, ifNoneExist string) (rec *ehr.Record, created bool, err error) {
	typ, _ := res["resourceType"].(string)
	defer func() { s.wrote(ctx, "create", typ, "", []*ehr.Record{rec}, err) }()
	out, err := s.single(ctx, ehr.Change{Method: "POST", Type: typ, Resource: res, IfNoneExist: ifNoneExist})
	if err != nil {
		return nil, false, err
	}
	return out.Record, out.Created, nil
}

// Update stores res as the new version of typ/id, creating it when absent. The body's
// id must equal id. See https://hl7.org/fhir/R4/http.html#update.
func (s *Service) Update(ctx context.Context, typ, id string, res map[string]any, ifMatch int64) (rec *ehr.Record, created bool, err error) {
	defer func() { s.wrote(ctx, "update", typ, id, []*ehr.Record{rec}, err) }()
	if err := checkUpdate(typ, id, res); err != nil {
		return nil, false, err
	}
	out, err := s.single(ctx, ehr.Change{Method: "PUT", Type: typ, ID: id, Resource: res, IfMatch: ifMatch})
	if err != nil {
		return nil, false, err
	}
	return out.Record, out.Created, nil
}

func checkUpdate(typ, id string, res map[string]any) error {
	if err := ehr.CheckType(typ); err != nil {
		return err
	}
	if !fhir.ValidID(id) {
		return ehr.Errorf(ehr.Invalid, "%q is not a valid resource id (1-64 of A-Z a-z 0-9 - .)", id)
	}
	bodyID, _ := res["id"].(string)
	if bodyID == "" {
		return &ehr.Error{Code: ehr.Invalid, Message: "the resource has no id; an update must carry the id of the URL", Issues: []fhir.Issue{fhir.ErrorIssue("required", typ+".id", "id is missing")}}
	}
	if bodyID != id {
		return &ehr.Error{Code: ehr.Invalid, Message: "the id in the body differs from the id in the URL", Issues: []fhir.Issue{fhir.ErrorIssue("invalid", typ+".id", "id does not match the URL")}}
	}
	return nil
}

// ConditionalUpdate updates the one resource of typ matching criteria; with no match
// it creates one (under the body's id when it has one); several matches are
// PreconditionFailed. See https://hl7.org/fhir/R4/http.html#cond-update.
func (s *Service) ConditionalUpdate(ctx context.Context, typ, criteria string, res map[string]any, ifMatch int64) (rec *ehr.Record, created bool, err error) {
	defer func() { s.wrote(ctx, "update", typ, "", []*ehr.Record{rec}, err) }()
	if err := ehr.CheckType(typ); err != nil {
		return nil, false, err
	}
	out, err := s.single(ctx, ehr.Change{Method: "PUT", Type: typ, Query: criteria, Resource: res, IfMatch: ifMatch})
	if err != nil {
		return nil, false, err
	}
	return out.Record, out.Created, nil
}

// Patch applies a JSON Patch (RFC 6902) to the current version of typ/id. The result
// must keep its type and id and be valid. See https://hl7.org/fhir/R4/http.html#patch.
func (s *Service) Patch(ctx context.Context, typ, id string, patch []byte, ifMatch int64) (rec *ehr.Record, err error) {
	defer func() { s.wrote(ctx, "patch", typ, id, []*ehr.Record{rec}, err) }()
	return s.patchChange(ctx, ehr.Change{Method: "PATCH", Type: typ, ID: id, IfMatch: ifMatch}, patch)
}

// ConditionalPatch patches the one resource of typ matching criteria.
func (s *Service) ConditionalPatch(ctx context.Context, typ, criteria string, patch []byte, ifMatch int64) (rec *ehr.Record, err error) {
	defer func() { s.wrote(ctx, "patch", typ, "", []*ehr.Record{rec}, err) }()
	return s.patchChange(ctx, ehr.Change{Method: "PATCH", Type: typ, Query: criteria, IfMatch: ifMatch}, patch)
}

func (s *Service) patchChange(ctx context.Context, c ehr.Change, patch []byte) (*ehr.Record, error) {
	if err := ehr.CheckType(c.Type); err != nil {
		return nil, err
	}
	c.Resource = patchBinary(patch)
	out, err := s.single(ctx, c)
	if err != nil {
		return nil, err
	}
	return out.Record, nil
}

// Delete deletes typ/id. Deleting what does not exist or is already deleted succeeds
// with a nil record. See https://hl7.org/fhir/R4/http.html#delete.
func (s *Service) Delete(ctx context.Context, typ, id string, ifMatch int64) (rec *ehr.Record, err error) {
	defer func() { s.wrote(ctx, "delete", typ, id, []*ehr.Record{rec}, err) }()
	if err := ehr.CheckType(typ); err != nil {
		return nil, err
	}
	out, err := s.single(ctx, ehr.Change{Method: "DELETE", Type: typ, ID: id, IfMatch: ifMatch})
	if err != nil {
		return nil, err
	}
	return out.Record, nil
}

// ConditionalDelete deletes the one resource of typ matching criteria; no match is
// success, several are PreconditionFailed (single-delete mode).
func (s *Service) ConditionalDelete(ctx context.Context, typ, criteria string) (rec *ehr.Record, err error) {
	defer func() { s.wrote(ctx, "delete", typ, "", []*ehr.Record{rec}, err) }()
	if err := ehr.CheckType(typ); err != nil {
		return nil, err
	}
	out, err := s.single(ctx, ehr.Change{Method: "DELETE", Type: typ, Query: criteria})
	if err != nil {
		return nil, err
	}
	return out.Record, nil
}

// Read returns the current version of typ/id: NotFound, or Gone with the deletion
// record. A record outside the caller's scope is NotFound, so its existence does
// not leak.
func (s *Service) Read(ctx context.Context, typ, id string) (rec *ehr.Record, err error) {
	defer func() {
		if aerr := s.read(ctx, "read", typ, id, nil, []*ehr.Record{rec}, err); aerr != nil {
			rec, err = nil, aerr
		}
	}()
	if err := checkTypeID(typ, id); err != nil {
		return nil, err
	}
	sctx, err := s.begin(ctx, ehr.ActionRead, typ)
	if err != nil {
		return nil, err
	}
	if ehr.ScopeFrom(sctx).Restricted[typ] != nil {
		return s.readRestricted(sctx, typ, id)
	}
	return s.store.Read(sctx, typ, id)
}

// readRestricted reads typ/id under a scope that restricts typ to search queries
// (SMART v2 scopes such as Observation.rs?category=laboratory): the store
// evaluates those only in a search, so the read is a search by _id. A record
// that does not match is NotFound, like one that does not exist.
func (s *Service) readRestricted(ctx context.Context, typ, id string) (*ehr.Record, error) {
	page, err := s.store.Search(ctx, &search.Query{Type: typ, Strict: true, Count: 1,
		Params: []search.Param{{Name: "_id", Values: []string{id}}}})
	if err != nil {
		return nil, err
	}
	if len(page.Records) == 0 {
		return nil, ehr.Errorf(ehr.NotFound, "%s/%s is not known", typ, id)
	}
	return page.Records[0], nil
}

// VRead returns one version of typ/id.
func (s *Service) VRead(ctx context.Context, typ, id string, version int64) (rec *ehr.Record, err error) {
	defer func() {
		if aerr := s.read(ctx, "vread", typ, id, nil, []*ehr.Record{rec}, err); aerr != nil {
			rec, err = nil, aerr
		}
	}()
	if err := checkTypeID(typ, id); err != nil {
		return nil, err
	}
	sctx, err := s.begin(ctx, ehr.ActionRead, typ)
	if err != nil {
		return nil, err
	}
	return s.store.VRead(sctx, typ, id, version)
}

// RefreshStatistics brings the store's query planner statistics up to date
// after a bulk load (ehr.ResourceStore.RefreshStatistics). It reads and writes no
// record, so it passes no access rule.
func (s *Service) RefreshStatistics(ctx context.Context) error {
	return s.store.RefreshStatistics(ctx)
}

// Search runs a search. q.Type may be empty for a system-wide search.
func (s *Service) Search(ctx context.Context, q *search.Query) (page *ehr.Page, err error) {
	defer func() {
		var recs []*ehr.Record
		if page != nil {
			recs = append(append(recs, page.Records...), page.Included...)
		}
		if aerr := s.read(ctx, "search", q.Type, "", paramNames(q), recs, err); aerr != nil {
			page, err = nil, aerr
		}
	}()
	if q.Type != "" {
		if err := ehr.CheckType(q.Type); err != nil {
			return nil, err
		}
	}
	if err := checkCompartment(q.Compartment); err != nil {
		return nil, err
	}
	sctx, err := s.begin(ctx, ehr.ActionSearch, q.Type)
	if err != nil {
		return nil, err
	}
	if hasMDM(q) {
		return s.searchMDM(sctx, q)
	}
	return s.store.Search(sctx, q)
}

// paramNames lists the names of a query's parameters, never their values.
func paramNames(q *search.Query) []string {
	out := make([]string, 0, len(q.Params))
	for _, p := range q.Params {
		out = append(out, p.Key())
	}
	return out
}

// History lists versions for an instance, a type or the whole system.
func (s *Service) History(ctx context.Context, q ehr.HistoryQuery) (page *ehr.Page, err error) {
	defer func() {
		var recs []*ehr.Record
		if page != nil {
			recs = page.Records
		}
		if aerr := s.read(ctx, "history", q.Type, q.ID, nil, recs, err); aerr != nil {
			page, err = nil, aerr
		}
	}()
	if q.Type != "" {
		if err := ehr.CheckType(q.Type); err != nil {
			return nil, err
		}
	}
	if q.ID != "" {
		if err := ehr.CheckID(q.ID); err != nil {
			return nil, err
		}
	}
	sctx, err := s.begin(ctx, ehr.ActionRead, q.Type)
	if err != nil {
		return nil, err
	}
	return s.store.History(sctx, q)
}

package ingest

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/ingest/hl7v2"
)

// Identifier and code systems the pipeline writes.
const (
	// HashSystem is the identifier system of an original's SHA-256 (lowercase hex)
	// on its DocumentReference: the key that makes re-imports idempotent.
	HashSystem = "urn:omnichart:original:sha256"
	// MessageKeySystem is the identifier system of an HL7 v2 message's
	// "MSH-4|MSH-10" (sending facility and control ID) on its DocumentReference.
	MessageKeySystem = "urn:omnichart:hl7v2:message"
	// FormatSystem is the code system of original formats (Format values).
	FormatSystem = "urn:omnichart:original-format"
	// DefaultSourceURI is meta.source of imports that name no source.
	DefaultSourceURI = SourceURIPrefix + "unspecified"
)

// ConvertFunc turns one original document into a FHIR transaction Bundle plus the
// issues found on the way; an error means the document could not be converted.
type ConvertFunc func(data []byte) (bundle fhir.Resource, issues []fhir.Issue, err error)

// Options configure an Importer. Zero values pick the defaults.
type Options struct {
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// NewID makes ids and urn:uuid fullUrls; UUIDv7 by default.
	NewID func() string
	// CCDA converts C-CDA documents; nil means ccda.Convert.
	CCDA ConvertFunc
	// HL7v2 are the options of the HL7 v2 converter and ACKs (time zone of local
	// times, clock, ids).
	HL7v2 hl7v2.Options
	// ChunkLines and ChunkBytes bound one NDJSON transaction: 500 lines and 8 MiB
	// by default.
	ChunkLines, ChunkBytes int
	// Subject is the principal subject imports run as; "importer" by default.
	Subject string
	// Limits bound the memory and work of one import; zero fields take the
	// defaults.
	Limits Limits
}

// Importer runs the pipeline: detect, convert, and write each document or message
// in one transaction with its original and provenance, or quarantine it. It is safe
// for concurrent use.
type Importer struct {
	target Target
	opts   Options
}

// New returns an Importer writing to t.
func New(t Target, opts Options) *Importer {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = newUUID
	}
	if opts.ChunkLines <= 0 {
		opts.ChunkLines = 500
	}
	if opts.ChunkBytes <= 0 {
		opts.ChunkBytes = 8 << 20
	}
	if opts.Subject == "" {
		opts.Subject = "importer"
	}
	opts.Limits = opts.Limits.WithDefaults()
	if opts.HL7v2.NewID == nil {
		opts.HL7v2.NewID = opts.NewID
	}
	if opts.HL7v2.Now == nil {
		opts.HL7v2.Now = opts.Now
	}
	return &Importer{target: t, opts: opts}
}

// jsonInt is n as the tree keeps numbers.
func jsonInt(n int) json.Number { return json.Number(strconv.Itoa(n)) }

func newUUID() string { return uuid.Must(uuid.NewV7()).String() }

// Target returns the target the importer writes to.
func (im *Importer) Target() Target { return im.target }

// Input is one file or message to import.
type Input struct {
	// Name is the file name (or another label) kept with the original.
	Name string
	// Data is the content as read, possibly bzip2-compressed.
	Data []byte
	// Format, when set, skips detection.
	Format Format
	// Entries, when set, are the only entries of a batch Bundle to write: the
	// ones that failed before, when a partly failed batch is replayed.
	Entries []int
}

// Unit is the outcome of one document, message, bundle or NDJSON chunk: the unit
// that is written atomically.
type Unit struct {
	// Name is the input's name, with "#n" for the n-th message or chunk of a file.
	Name   string
	Format Format
	// Hash is the SHA-256 of the original, lowercase hex.
	Hash string
	// MessageType, ControlID and Facility describe an HL7 v2 message.
	MessageType, ControlID, Facility string
	// Duplicate is true when the original had been imported before from the same
	// source; nothing was written, and Original names the earlier import.
	Duplicate bool
	// Reason says why a unit that did not fail was skipped or needs a second look:
	// ReasonDuplicate, ReasonRedelivered or ReasonReusedKey; empty for a plain import.
	Reason string
	// SameKey lists "DocumentReference/id" of earlier messages from the same source
	// with the same MSH-4|MSH-10 as this HL7 v2 message but other content. Such a
	// message is imported all the same (Reason is then ReasonReusedKey).
	SameKey []string
	// Original is "DocumentReference/id" of the original.
	Original string
	// Created counts resources created, by type (bookkeeping included).
	Created map[string]int
	// Issues are the converter's and the store's findings.
	Issues []fhir.Issue
	// Err is why the unit failed; nil on success.
	Err error
	// Quarantine is "Task/id" of the quarantine entry of a failed unit.
	Quarantine string
	// FailedEntries are the indexes, in the original batch Bundle, of the entries
	// that failed; a replay writes only these.
	FailedEntries []int
	// Conflicts are the identity-conflict review tasks ("Task/<id>") the unit
	// raised: the source's identifier named a record of another person, so a new
	// Patient was made instead of writing over it.
	Conflicts []string

	original []byte
	message  *hl7v2.Message
	parseErr error
	// only restricts a batch Bundle to these entries (see Input.Entries).
	only []int
}

// Report is the outcome of one Input.
type Report struct {
	Name   string
	Format Format
	Units  []*Unit
}

// Failed counts the units that failed.
func (r *Report) Failed() int {
	n := 0
	for _, u := range r.Units {
		if u.Err != nil {
			n++
		}
	}
	return n
}

// Duplicates counts the units that had been imported before.
func (r *Report) Duplicates() int {
	n := 0
	for _, u := range r.Units {
		if u.Duplicate {
			n++
		}
	}
	return n
}

// Created sums the resources created, by type.
func (r *Report) Created() map[string]int {
	out := map[string]int{}
	for _, u := range r.Units {
		for k, v := range u.Created {
			out[k] += v
		}
	}
	return out
}

// Import reads one input, splits it into units (HL7 v2 messages, NDJSON chunks, or
// the whole document), and writes each unit in a transaction of its own. A unit
// that fails is quarantined and reported in its Unit.Err; the error returned is
// only for failures that could not even be quarantined. Imports from a disabled
// source are refused with Forbidden.
func (im *Importer) Import(ctx context.Context, src Source, in Input) (*Report, error) {
	if src.URI == "" {
		src.URI = DefaultSourceURI
	}
	rep := &Report{Name: in.Name, Format: in.Format}
	if src.OrganizationID != "" && !src.Active {
		return rep, ehr.Errorf(ehr.Forbidden, "source %s is disabled", src.URI)
	}
	ctx = im.principal(ctx, src)
	data, err := im.decompress(in)
	if err != nil {
		if ehr.ErrorCode(err) != ehr.TooLarge {
			err = ehr.Errorf(ehr.Invalid, "%v", err)
		}
		u := &Unit{Name: in.Name, Format: FormatUnknown, original: in.Data, Err: err}
		rep.Units = append(rep.Units, u)
		return rep, im.quarantine(ctx, src, u)
	}
	if rep.Format == "" {
		rep.Format = Detect(data, in.Name)
	}
	for _, u := range im.split(rep.Format, data, in.Name) {
		u.only = in.Entries
		rep.Units = append(rep.Units, u)
		if err := im.importUnit(ctx, src, u); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func (im *Importer) principal(ctx context.Context, src Source) context.Context {
	subject := im.opts.Subject
	if src.Slug != "" {
		subject = "source/" + src.Slug
	}
	return ehr.WithPrincipal(ctx, ehr.Principal{Subject: subject, Source: src.URI, System: true})
}

// split cuts data into the units written one transaction each.
func (im *Importer) split(f Format, data []byte, name string) []*Unit {
	switch f {
	case FormatHL7v2:
		msgs := splitHL7(data)
		if len(msgs) == 0 {
			return []*Unit{{Name: name, Format: f, original: data}}
		}
		out := make([]*Unit, len(msgs))
		for i, m := range msgs {
			n := name
			if len(msgs) > 1 {
				n = fmt.Sprintf("%s#%d", name, i+1)
			}
			out[i] = &Unit{Name: n, Format: f, original: m}
		}
		return out
	case FormatNDJSON:
		chunks := chunkLines(data, im.opts.ChunkLines, im.opts.ChunkBytes)
		out := make([]*Unit, len(chunks))
		for i, c := range chunks {
			n := name
			if len(chunks) > 1 {
				n = fmt.Sprintf("%s#%d", name, i+1)
			}
			out[i] = &Unit{Name: n, Format: f, original: c}
		}
		if len(out) == 0 {
			out = []*Unit{{Name: name, Format: f, original: data}}
		}
		return out
	}
	return []*Unit{{Name: name, Format: f, original: data}}
}

// splitHL7 cuts a file of HL7 v2 messages into the exact bytes of each message:
// from its MSH segment to the next MSH or batch segment (FHS, BHS, BTS, FTS). A
// file of one message is that message, byte for byte.
func splitHL7(data []byte) [][]byte {
	var starts []int // offsets of MSH lines
	var stops []int  // offsets of batch segment lines
	for off := 0; off < len(data); {
		end := bytes.IndexAny(data[off:], "\r\n")
		if end < 0 {
			end = len(data)
		} else {
			end += off
		}
		line := bytes.TrimLeft(data[off:end], "\v\x1c\xef\xbb\xbf")
		if len(line) >= 4 && !isAlnum(line[3]) {
			switch string(line[:3]) {
			case "MSH":
				starts = append(starts, off)
			case "FHS", "BHS", "BTS", "FTS":
				stops = append(stops, off)
			}
		}
		off = end + 1
	}
	if len(starts) == 1 && len(stops) == 0 {
		return [][]byte{data}
	}
	var out [][]byte
	for i, st := range starts {
		end := len(data)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		for _, b := range stops {
			if b > st && b < end {
				end = b
			}
		}
		out = append(out, data[st:end])
	}
	return out
}

// importUnit writes one unit, or quarantines it. Only a failure to quarantine is
// returned.
func (im *Importer) importUnit(ctx context.Context, src Source, u *Unit) error {
	sum := sha256.Sum256(u.original)
	u.Hash = hex.EncodeToString(sum[:])
	if err := tooLargeUnit(u, im.opts.Limits); err != nil {
		u.Err = err
		return im.quarantine(ctx, src, u)
	}
	if u.Format == FormatHL7v2 {
		u.message, u.parseErr = hl7v2.ParseWithLimits(u.original, hl7v2.Limits{MaxSegments: im.opts.Limits.MaxHL7v2Segments})
		if u.message != nil && u.message.Header() != nil {
			h := u.message.Header()
			u.MessageType = u.message.Type()
			u.ControlID = u.message.ControlID()
			u.Facility = hdName(h.Field(4))
		}
	}
	if len(u.only) == 0 {
		dup, why, err := im.findOriginal(ctx, src, u)
		if err != nil {
			return err
		}
		if dup != "" {
			// A batch that partly failed was recorded for what it wrote; importing
			// it again retries the entries that failed.
			failed, err := im.failedEntries(ctx, src, u)
			if err != nil {
				return err
			}
			if len(failed) == 0 {
				u.Duplicate, u.Original, u.Reason = true, dup, why
				return im.resolveQuarantine(ctx, src, u)
			}
			u.only = failed
		}
	}
	bundle, issues, err := im.convert(src, u)
	u.Issues = append(u.Issues, issues...)
	if err != nil {
		u.Err = err
		return im.quarantine(ctx, src, u)
	}
	if len(u.only) > 0 {
		if err := u.keepEntries(bundle); err != nil {
			u.Err = err
			return im.quarantine(ctx, src, u)
		}
	}
	if err := im.write(onlyOnce(ctx, "DocumentReference?"+im.originalQuery(src, u)), src, u, bundle); err != nil {
		if ehr.ErrorCode(err) == ehr.Conflict {
			// A concurrent import of the same original won the race.
			if dup, why, ferr := im.findOriginal(ctx, src, u); ferr == nil && dup != "" {
				u.Duplicate, u.Original, u.Reason = true, dup, why
				return im.resolveQuarantine(ctx, src, u)
			}
		}
		u.Err = err
		u.Issues = append(u.Issues, ehr.ErrorIssues(err)...)
		return im.quarantine(ctx, src, u)
	}
	if len(u.SameKey) > 0 {
		u.Reason = ReasonReusedKey
	}
	return im.resolveQuarantine(ctx, src, u)
}

// hdName is an HD field's namespace ID, or its universal ID when that is empty.
func hdName(f hl7v2.Field) string {
	if ns := f.Comp(1); ns != "" {
		return ns
	}
	return f.Comp(2)
}

// messageKey is the "MSH-4|MSH-10" key of an HL7 v2 message, or "".
func (u *Unit) messageKey() string {
	if u.Format != FormatHL7v2 || u.ControlID == "" {
		return ""
	}
	return u.Facility + "|" + u.ControlID
}

// findOriginal returns "DocumentReference/id" of an earlier import from src of u's
// original, and why it counts as one (ReasonDuplicate or ReasonRedelivered), or ""
// when there is none. An earlier import is one of the same bytes, or for an HL7 v2
// message one with the same MSH-4|MSH-10 whose bytes differ only in MSH-7 (see
// sameMessage). Earlier messages from src with the same key and other content go to
// u.SameKey: u is a message of its own. Imports from other sources never count, so
// the same file sent by two sources is imported once for each.
//
// The lookups search by identifier, which every store indexes at once (also in a
// bulk load with deferred indexing), and compare meta.source here.
func (im *Importer) findOriginal(ctx context.Context, src Source, u *Unit) (string, string, error) {
	u.SameKey = nil
	found, err := im.target.Search(ctx, "DocumentReference", identifierQuery(HashSystem, u.Hash), maxSources)
	if err != nil {
		return "", "", fmt.Errorf("look up earlier imports: %w", err)
	}
	for _, d := range found {
		if fromSource(d, src) {
			return "DocumentReference/" + fhir.String(d, "id"), ReasonDuplicate, nil
		}
	}
	key := u.messageKey()
	if key == "" {
		return "", "", nil
	}
	found, err = im.target.Search(ctx, "DocumentReference", identifierQuery(MessageKeySystem, key)+"&_sort=-_lastUpdated", maxSameKey)
	if err != nil {
		return "", "", fmt.Errorf("look up earlier messages with the same key: %w", err)
	}
	compared := 0
	for _, d := range found {
		if !fromSource(d, src) {
			continue
		}
		ref := "DocumentReference/" + fhir.String(d, "id")
		if compared < maxCompared {
			compared++
			earlier, ok, err := im.originalBytes(ctx, d)
			if err != nil {
				return "", "", fmt.Errorf("read the original of %s: %w", ref, err)
			}
			if ok && sameMessage(earlier, u.original) {
				u.SameKey = nil
				return ref, ReasonRedelivered, nil
			}
		}
		u.SameKey = append(u.SameKey, ref)
	}
	return "", "", nil
}

// originalQuery selects the DocumentReference of an earlier import of u's exact
// bytes from src: the condition that writes an original once per source.
func (im *Importer) originalQuery(src Source, u *Unit) string {
	return identifierQuery(HashSystem, u.Hash) + "&" + sourceQuery(src.URI)
}

// convert turns a unit into a transaction or batch Bundle.
func (im *Importer) convert(src Source, u *Unit) (fhir.Resource, []fhir.Issue, error) {
	switch u.Format {
	case FormatHL7v2:
		if u.parseErr != nil {
			return nil, nil, u.parseErr
		}
		res, err := hl7v2.Convert(u.message, im.opts.HL7v2)
		u.MessageType, u.ControlID = res.MessageType, res.ControlID
		if err != nil {
			return nil, res.Issues, err
		}
		return res.Bundle, res.Issues, nil
	case FormatCCDA:
		if im.opts.CCDA == nil {
			return im.convertCCDA(u.original)
		}
		return im.opts.CCDA(u.original)
	case FormatFHIRBundle:
		return im.convertBundle(u.original)
	case FormatFHIRResource:
		return im.convertResource(u.original)
	case FormatNDJSON:
		return im.convertNDJSON(src, u.original)
	}
	return nil, nil, ehr.Errorf(ehr.NotSupported, "the content is not a FHIR JSON bundle or resource, NDJSON, C-CDA or HL7 v2")
}

// write adds the original, its DocumentReference and the Provenance to bundle and
// runs it. A batch Bundle runs as a batch (each entry on its own, as the spec
// says), and its bookkeeping follows in a transaction of its own.
func (im *Importer) write(ctx context.Context, src Source, u *Unit, bundle fhir.Resource) error {
	if bundle == nil || bundle["resourceType"] != "Bundle" {
		return ehr.Errorf(ehr.Internal, "the converter returned no Bundle")
	}
	entries := fhir.Array(bundle, "entry")
	var targets []any
	var subject string
	for _, e := range entries {
		em, _ := e.(map[string]any)
		req := fhir.Object(em, "request")
		res := fhir.Object(em, "resource")
		method := fhir.String(req, "method")
		if res == nil || (method != "POST" && method != "PUT") {
			continue
		}
		meta, _ := res["meta"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
			res["meta"] = meta
		}
		meta["source"] = src.URI
		if fhir.String(em, "fullUrl") == "" {
			em["fullUrl"] = "urn:uuid:" + im.opts.NewID()
		}
		targets = append(targets, map[string]any{"reference": fhir.String(em, "fullUrl")})
		if subject == "" && res["resourceType"] == "Patient" {
			subject = fhir.String(em, "fullUrl")
		}
	}
	if len(targets) == 0 {
		return ehr.Errorf(ehr.Invalid, "the %s holds no resources to import", u.Format.Display())
	}
	kind := fhir.String(bundle, "type")
	if kind == "batch" {
		return im.writeBatch(ctx, src, u, bundle)
	}
	book := im.bookkeeping(src, u, targets, subject)
	bundle["entry"] = append(entries, book...)
	_, outs, err := applyBundleWith(ctx, im.target, bundle, len(book))
	if err != nil {
		return err
	}
	im.count(u, outs, len(entries)+1)
	return nil
}

// writeBatch runs a batch Bundle, then records the original and the provenance
// of what it created.
func (im *Importer) writeBatch(ctx context.Context, src Source, u *Unit, bundle fhir.Resource) error {
	_, outs, err := applyBundle(ctx, im.target, bundle)
	if err != nil {
		return err
	}
	var targets []any
	var failed []string
	for i, o := range outs {
		if o.Err == nil {
			if o.Record != nil {
				targets = append(targets, map[string]any{"reference": o.Record.Reference()})
			}
			continue
		}
		orig := i
		if len(u.only) > 0 {
			orig = u.only[i]
		}
		u.FailedEntries = append(u.FailedEntries, orig)
		failed = append(failed, fmt.Sprintf("entry[%d] %s", orig, ehr.ErrorCode(o.Err)))
		for _, is := range ehr.ErrorIssues(o.Err) {
			if !strings.HasPrefix(strings.Join(is.Expression, ""), "Bundle.") {
				is.Expression = append([]string{fmt.Sprintf("Bundle.entry[%d]", i)}, is.Expression...)
			}
			u.Issues = append(u.Issues, is)
		}
	}
	im.count(u, outs, -1)
	if len(targets) > 0 {
		book := fhir.Resource{"resourceType": "Bundle", "type": "transaction", "entry": im.bookkeeping(src, u, targets, "")}
		_, bouts, err := applyBundle(ctx, im.target, book)
		if err != nil {
			return fmt.Errorf("record the original of a batch: %w", err)
		}
		im.count(u, bouts, 1)
	}
	if len(failed) > 0 {
		return ehr.Errorf(ehr.Invalid, "%d of %d batch entries failed: %s", len(failed), len(fhir.Array(bundle, "entry")), strings.Join(failed[:min(len(failed), 5)], "; "))
	}
	return nil
}

// bookkeeping returns the entries that keep the original (Binary), describe it
// (DocumentReference, conditional on its hash) and link it to what it created
// (Provenance). subject, when set, is the fullUrl of the Patient the original is
// about.
func (im *Importer) bookkeeping(src Source, u *Unit, targets []any, subject string) []any {
	now := im.opts.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	binID := im.opts.NewID()
	docURL := "urn:uuid:" + im.opts.NewID()
	binary := fhir.Resource{
		"resourceType": "Binary",
		"id":           binID,
		"contentType":  u.Format.ContentType(),
		"data":         base64.StdEncoding.EncodeToString(u.original),
	}
	ids := []any{map[string]any{"system": HashSystem, "value": u.Hash}}
	if key := u.messageKey(); key != "" {
		ids = append(ids, map[string]any{"system": MessageKeySystem, "value": key})
	}
	sha := sha1.Sum(u.original)
	attachment := map[string]any{
		"contentType": u.Format.ContentType(),
		"url":         "Binary/" + binID,
		"size":        jsonInt(len(u.original)),
		"hash":        base64.StdEncoding.EncodeToString(sha[:]),
		"creation":    now,
	}
	if u.Name != "" {
		attachment["title"] = u.Name
	}
	codings := []any{map[string]any{"system": FormatSystem, "code": string(u.Format), "display": u.Format.Display()}}
	if u.Format == FormatCCDA {
		if c := documentCode(u.original); c != nil {
			codings = append([]any{c}, codings...)
		}
	}
	desc := "Original " + u.Format.Display() + " as received"
	if u.MessageType != "" {
		desc = "Original HL7 v2 " + u.MessageType + " message as received"
	}
	doc := fhir.Resource{
		"resourceType": "DocumentReference",
		"identifier":   ids,
		"status":       "current",
		"type":         map[string]any{"coding": codings, "text": u.Format.Display()},
		"category": []any{map[string]any{"coding": []any{map[string]any{
			"system": FormatSystem, "code": "original", "display": "Original as received from a source system"}}}},
		"date":        now,
		"description": desc,
		"content":     []any{map[string]any{"attachment": attachment}},
	}
	if subject != "" {
		doc["subject"] = map[string]any{"reference": subject}
		binary["securityContext"] = map[string]any{"reference": subject}
	}
	who := map[string]any{"identifier": map[string]any{"system": SourceSystem, "value": src.URI}, "display": src.URI}
	if src.OrganizationID != "" {
		who = map[string]any{"reference": "Organization/" + src.OrganizationID, "display": src.Name}
		doc["author"] = []any{map[string]any{"reference": "Organization/" + src.OrganizationID}}
		doc["custodian"] = map[string]any{"reference": "Organization/" + src.OrganizationID}
	}
	prov := fhir.Resource{
		"resourceType": "Provenance",
		"target":       targets,
		"recorded":     now,
		"activity": map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation", "code": "CREATE", "display": "create"}}},
		"agent": []any{map[string]any{
			"type": map[string]any{"coding": []any{map[string]any{
				"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type", "code": "author", "display": "Author"}}},
			"who": who,
		}},
		"entity": []any{map[string]any{"role": "source", "what": map[string]any{"reference": docURL}}},
	}
	for _, r := range []fhir.Resource{binary, doc, prov} {
		r["meta"] = map[string]any{"source": src.URI}
	}
	return []any{
		map[string]any{"fullUrl": "urn:uuid:" + binID, "resource": binary,
			"request": map[string]any{"method": "PUT", "url": "Binary/" + binID}},
		map[string]any{"fullUrl": docURL, "resource": doc,
			"request": map[string]any{"method": "POST", "url": "DocumentReference", "ifNoneExist": im.originalQuery(src, u)}},
		map[string]any{"fullUrl": "urn:uuid:" + im.opts.NewID(), "resource": prov,
			"request": map[string]any{"method": "POST", "url": "Provenance"}},
	}
}

// count adds the created resources of outcomes to u, with the identity conflicts
// they raised, and sets u.Original from the outcome at docIndex (-1: none).
func (im *Importer) count(u *Unit, outs []ehr.Outcome, docIndex int) {
	if u.Created == nil {
		u.Created = map[string]int{}
	}
	for i, o := range outs {
		for _, t := range o.Conflicts {
			u.Conflicts = append(u.Conflicts, t)
			u.Issues = append(u.Issues, fhir.Issue{Severity: "warning", Code: "conflict",
				Expression:  []string{fmt.Sprintf("Bundle.entry[%d]", i)},
				Diagnostics: fmt.Sprintf("identity conflict: the source's identifier matched a record of another person, so %s was recorded apart; review %s", o.Record.Reference(), t)})
		}
		if o.Record == nil {
			continue
		}
		if o.Created {
			u.Created[o.Record.Type]++
		}
		if i == docIndex && o.Record.Type == "DocumentReference" {
			u.Original = o.Record.Reference()
		}
	}
}

// ErrorText is the caller-safe text of a unit's error: the message of coded and
// converter errors, never resource content.
func ErrorText(err error) string {
	if err == nil {
		return ""
	}
	var he *hl7v2.Error
	if errors.As(err, &he) {
		return he.Error()
	}
	var ee *ehr.Error
	if errors.As(err, &ee) {
		return ee.Message
	}
	return err.Error()
}

// sortedTypes returns the keys of m in order.
func sortedTypes(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// HandleHL7v2 imports one HL7 v2 message received from src (over MLLP) and
// returns its acknowledgement: AA when it was written or had been received before
// from src (the same bytes, or the same MSH-4 and MSH-10 with only MSH-7 changed: a
// re-delivery is not applied twice), AR when it could not be read or its type is
// not supported, AE for other failures. A failed message is quarantined. A message
// that reuses the MSH-4 and MSH-10 of another is written, and u says so.
func (im *Importer) HandleHL7v2(ctx context.Context, src Source, raw []byte) (ack []byte, u *Unit) {
	if src.URI == "" {
		src.URI = DefaultSourceURI
	}
	u = &Unit{Name: "mllp", Format: FormatHL7v2, original: raw}
	var cause error
	if src.OrganizationID != "" && !src.Active {
		cause = ehr.Errorf(ehr.Forbidden, "source %s is disabled", src.URI)
		u.Err = cause
	} else if err := im.importUnit(im.principal(ctx, src), src, u); err != nil {
		cause = err
	} else {
		cause = u.Err
	}
	return hl7v2.NewACK(raw, u.message, cause, im.opts.HL7v2), u
}

// keepEntries reduces a batch Bundle to the entries in u.only.
func (u *Unit) keepEntries(bundle fhir.Resource) error {
	if fhir.String(bundle, "type") != "batch" {
		return ehr.Errorf(ehr.Invalid, "only a batch Bundle can be replayed entry by entry")
	}
	entries := fhir.Array(bundle, "entry")
	kept := make([]any, 0, len(u.only))
	for _, i := range u.only {
		if i < 0 || i >= len(entries) {
			return ehr.Errorf(ehr.Invalid, "the batch has no entry %d to replay", i)
		}
		kept = append(kept, entries[i])
	}
	bundle["entry"] = kept
	return nil
}

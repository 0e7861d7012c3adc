package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
)

const (
	// QuarantineSystem is the identifier system of quarantine Tasks: the value is
	// the SHA-256 of the original, so a unit that fails again updates its entry.
	QuarantineSystem = "urn:omnichart:quarantine"
	// TaskCodeSystem is the code system of the Task.code of quarantine entries.
	TaskCodeSystem = "urn:omnichart:task"
	// maxStoredIssues bounds the issues kept with a quarantine entry.
	maxStoredIssues = 200
)

// QuarantineEntry is one failed document or message, kept until it is replayed.
type QuarantineEntry struct {
	// ID is the Task id.
	ID string
	// Status is failed, or completed once a replay or re-import succeeded.
	Status string
	Name   string
	Format Format
	// Source is the source URI the original came from.
	Source string
	// Error is the last failure's message; Code its ehr error code.
	Error, Code string
	Issues      []fhir.Issue
	// Binary is the id of the Binary holding the original's exact bytes.
	Binary string
	Hash   string
	// FailedEntries are the batch entries that failed, when only some did.
	FailedEntries []int
	// FirstFailed and LastFailed are the times of the first and latest attempt.
	FirstFailed, LastFailed time.Time
	Attempts                int
	// Original is "DocumentReference/id" of the successful import, once done.
	Original string
}

// quarantine records a failed unit as a Binary holding its bytes and a Task
// describing the failure, in a transaction of its own, or updates the Task of an
// earlier failure of the same bytes from the same source.
func (im *Importer) quarantine(ctx context.Context, src Source, u *Unit) error {
	if u.Hash == "" {
		u.Hash = hashHex(u.original)
	}
	now := im.opts.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	task, err := im.quarantineTask(ctx, src, u.Hash)
	if err != nil {
		return fmt.Errorf("quarantine %s: %w", u.Name, err)
	}
	code := string(ehr.ErrorCode(u.Err))
	outcome := fhir.OperationOutcome(u.Issues[:min(len(u.Issues), maxStoredIssues)])
	if len(u.Issues) == 0 {
		outcome = fhir.OperationOutcome([]fhir.Issue{fhir.ErrorIssue("processing", "", ErrorText(u.Err))})
	}
	outcome["id"] = "outcome"
	if task != nil {
		id := fhir.String(task, "id")
		attempts := taskOutputInt(task, "attempts") + 1
		task["status"] = "failed"
		task["businessStatus"] = map[string]any{"text": code}
		task["description"] = ErrorText(u.Err)
		task["lastModified"] = now
		task["contained"] = []any{outcome}
		period, _ := task["executionPeriod"].(map[string]any)
		if period == nil {
			period = map[string]any{"start": now}
		}
		period["end"] = now
		task["executionPeriod"] = period
		task["output"] = []any{
			map[string]any{"type": map[string]any{"text": "attempts"}, "valueUnsignedInt": jsonInt(attempts)},
			map[string]any{"type": map[string]any{"text": "outcome"}, "valueReference": map[string]any{"reference": "#outcome"}},
		}
		task["input"] = withFailedEntries(fhir.Array(task, "input"), u.FailedEntries)
		task["meta"] = map[string]any{"source": src.URI}
		b := fhir.Resource{"resourceType": "Bundle", "type": "transaction", "entry": []any{map[string]any{
			"resource": task, "request": map[string]any{"method": "PUT", "url": "Task/" + id}}}}
		if _, _, err := applyBundle(ctx, im.target, b); err != nil {
			return fmt.Errorf("quarantine %s: %w", u.Name, err)
		}
		u.Quarantine = "Task/" + id
		return nil
	}
	if int64(len(u.original)) > im.opts.Limits.MaxDocumentBytes {
		return im.quarantineRefused(ctx, src, u, outcome, code, now)
	}
	binID := im.opts.NewID()
	taskURL := "urn:uuid:" + im.opts.NewID()
	binary := fhir.Resource{"resourceType": "Binary", "id": binID, "contentType": u.Format.ContentType()}
	if len(u.original) > 0 {
		// An empty original (an empty MLLP frame) is a Binary without data: FHIR
		// has no empty base64Binary.
		binary["data"] = base64.StdEncoding.EncodeToString(u.original)
	}
	task = newQuarantineTask(src, u, outcome, code, now, []any{
		map[string]any{"type": map[string]any{"text": "original"}, "valueReference": map[string]any{"reference": "Binary/" + binID}},
		map[string]any{"type": map[string]any{"text": "format"}, "valueCode": string(u.Format)},
		map[string]any{"type": map[string]any{"text": "source"}, "valueUri": src.URI},
		map[string]any{"type": map[string]any{"text": "name"}, "valueString": u.Name},
	})
	task["focus"] = map[string]any{"reference": "Binary/" + binID}
	if u.Name == "" {
		task["input"] = task["input"].([]any)[:3]
	}
	task["input"] = withFailedEntries(task["input"].([]any), u.FailedEntries)
	b := fhir.Resource{"resourceType": "Bundle", "type": "transaction", "entry": []any{
		map[string]any{"fullUrl": "urn:uuid:" + binID, "resource": binary, "request": map[string]any{"method": "PUT", "url": "Binary/" + binID}},
		map[string]any{"fullUrl": taskURL, "resource": task, "request": map[string]any{"method": "POST", "url": "Task",
			"ifNoneExist": identifierQuery(QuarantineSystem, u.Hash) + "&" + sourceQuery(src.URI)}},
	}}
	_, outs, err := applyBundle(ctx, im.target, b)
	if err != nil {
		return fmt.Errorf("quarantine %s: %w", u.Name, err)
	}
	if len(outs) == 2 && outs[1].Record != nil {
		u.Quarantine = outs[1].Record.Reference()
	}
	return nil
}

// quarantineTask returns the quarantine Task of the bytes with hash from src, or
// nil. The same bytes from another source are another entry. Like findOriginal it
// searches by identifier and compares the source here.
func (im *Importer) quarantineTask(ctx context.Context, src Source, hash string) (fhir.Resource, error) {
	found, err := im.target.Search(ctx, "Task", identifierQuery(QuarantineSystem, hash), maxSources)
	if err != nil {
		return nil, err
	}
	for _, t := range found {
		if entryOf(t).Source == src.URI {
			return t, nil
		}
	}
	return nil, nil
}

// resolveQuarantine marks the open quarantine entry of u's bytes from src, if any,
// completed. It does so only for that very original: u was written now (its own
// new DocumentReference), or is a duplicate whose earlier import is of the same
// bytes from the same source, or of the same HL7 v2 message apart from MSH-7
// (ReasonRedelivered). An HL7 v2 message whose key another message used is not
// its duplicate, so that message's import never closes its entry.
func (im *Importer) resolveQuarantine(ctx context.Context, src Source, u *Unit) error {
	if u.Original == "" {
		return nil
	}
	task, err := im.quarantineTask(ctx, src, u.Hash)
	if err != nil || task == nil {
		return err
	}
	if fhir.String(task, "status") != "failed" {
		return nil
	}
	id := fhir.String(task, "id")
	now := im.opts.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	status := "imported"
	if u.Duplicate {
		status = u.Reason
	}
	task["status"] = "completed"
	task["businessStatus"] = map[string]any{"text": status}
	task["lastModified"] = now
	if period, ok := task["executionPeriod"].(map[string]any); ok {
		period["end"] = now
	}
	task["output"] = append(fhir.Array(task, "output"),
		map[string]any{"type": map[string]any{"text": "original"}, "valueReference": map[string]any{"reference": u.Original}})
	task["meta"] = map[string]any{"source": src.URI}
	b := fhir.Resource{"resourceType": "Bundle", "type": "transaction", "entry": []any{map[string]any{
		"resource": task, "request": map[string]any{"method": "PUT", "url": "Task/" + id}}}}
	if _, _, err := applyBundle(ctx, im.target, b); err != nil {
		return fmt.Errorf("close quarantine Task/%s: %w", id, err)
	}
	u.Quarantine = "Task/" + id
	return nil
}

// Quarantined lists quarantine entries, oldest first: only the failed ones unless
// all is true.
func (im *Importer) Quarantined(ctx context.Context, all bool) ([]QuarantineEntry, error) {
	tasks, err := im.target.Search(ctx, "Task", identifierQuery(QuarantineSystem, ""), 100000)
	if err != nil {
		return nil, err
	}
	var out []QuarantineEntry
	for _, t := range tasks {
		e := entryOf(t)
		if all || e.Status == "failed" {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FirstFailed.Before(out[j].FirstFailed) })
	return out, nil
}

// QuarantinedEntry returns one quarantine entry and the exact bytes of its
// original; an original over the document limit is not kept (e.Binary is empty and
// the bytes nil). An unknown id is NotFound.
func (im *Importer) QuarantinedEntry(ctx context.Context, id string) (QuarantineEntry, []byte, error) {
	t, err := im.target.Read(ctx, "Task", id)
	if err != nil {
		return QuarantineEntry{}, nil, err
	}
	e := entryOf(t)
	if e.Hash == "" {
		return QuarantineEntry{}, nil, ehr.Errorf(ehr.NotFound, "Task/%s is not a quarantine entry", id)
	}
	if e.Binary == "" {
		return e, nil, nil
	}
	bin, err := im.target.Read(ctx, "Binary", e.Binary)
	if err != nil {
		return e, nil, fmt.Errorf("read Binary/%s of Task/%s: %w", e.Binary, id, err)
	}
	data, err := base64.StdEncoding.DecodeString(fhir.String(bin, "data"))
	if err != nil {
		return e, nil, fmt.Errorf("Binary/%s: data is not base64: %w", e.Binary, err)
	}
	return e, data, nil
}

// Replay imports the original of quarantine entry id again, as from its source
// (looked up in dir when registered). Success marks the entry completed; another
// failure updates it.
func (im *Importer) Replay(ctx context.Context, dir *Directory, id string) (*Report, error) {
	e, data, err := im.QuarantinedEntry(ctx, id)
	if err != nil {
		return nil, err
	}
	if e.Binary == "" {
		return nil, ehr.Errorf(ehr.NotFound, "Task/%s keeps no original to replay: it was larger than the document limit; import it again from its file", id)
	}
	src := Source{URI: e.Source}
	if dir != nil {
		if s, err := dir.Find(ctx, e.Source); err == nil {
			src = s
		} else if ehr.ErrorCode(err) != ehr.NotFound {
			return nil, err
		}
	}
	format := e.Format
	if format == FormatUnknown {
		format = ""
	}
	return im.Import(ctx, src, Input{Name: e.Name, Data: data, Format: format, Entries: e.FailedEntries})
}

func entryOf(t fhir.Resource) QuarantineEntry {
	e := QuarantineEntry{ID: fhir.String(t, "id"), Status: fhir.String(t, "status"), Error: fhir.String(t, "description"),
		Code: fhir.String(fhir.Object(t, "businessStatus"), "text"), Attempts: taskOutputInt(t, "attempts")}
	for _, v := range fhir.Array(t, "identifier") {
		m, _ := v.(map[string]any)
		if fhir.String(m, "system") == QuarantineSystem {
			e.Hash = fhir.String(m, "value")
		}
	}
	for _, v := range fhir.Array(t, "input") {
		m, _ := v.(map[string]any)
		switch fhir.String(fhir.Object(m, "type"), "text") {
		case "original":
			_, e.Binary, _, _ = fhir.ParseReference(fhir.String(fhir.Object(m, "valueReference"), "reference"))
		case "format":
			e.Format = Format(fhir.String(m, "valueCode"))
		case "source":
			e.Source = fhir.String(m, "valueUri")
		case "name":
			e.Name = fhir.String(m, "valueString")
		case "failed-entries":
			for _, f := range strings.Split(fhir.String(m, "valueString"), ",") {
				if n, err := strconv.Atoi(f); err == nil {
					e.FailedEntries = append(e.FailedEntries, n)
				}
			}
		}
	}
	for _, v := range fhir.Array(t, "output") {
		m, _ := v.(map[string]any)
		if fhir.String(fhir.Object(m, "type"), "text") == "original" {
			e.Original = fhir.String(fhir.Object(m, "valueReference"), "reference")
		}
	}
	period := fhir.Object(t, "executionPeriod")
	e.FirstFailed, _ = time.Parse(time.RFC3339, fhir.String(period, "start"))
	e.LastFailed, _ = time.Parse(time.RFC3339, fhir.String(t, "lastModified"))
	for _, c := range fhir.Array(t, "contained") {
		oo, _ := c.(map[string]any)
		if oo["resourceType"] == "OperationOutcome" {
			e.Issues = outcomeIssues(map[string]any{"outcome": oo})
		}
	}
	return e
}

func taskOutputInt(t fhir.Resource, name string) int {
	for _, v := range fhir.Array(t, "output") {
		m, _ := v.(map[string]any)
		if fhir.String(fhir.Object(m, "type"), "text") != name {
			continue
		}
		switch n := m["valueUnsignedInt"].(type) {
		case json.Number:
			i, _ := strconv.Atoi(n.String())
			return i
		case float64:
			return int(n)
		case int:
			return n
		}
	}
	return 0
}

// splitHistory drops "/_history/v" from a location.
func splitHistory(loc string) string {
	p, _, _ := strings.Cut(loc, "/_history/")
	return p
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// withFailedEntries sets the "failed-entries" input of a quarantine Task: the batch
// entries a replay must retry, comma-separated.
func withFailedEntries(inputs []any, failed []int) []any {
	out := make([]any, 0, len(inputs)+1)
	for _, in := range inputs {
		m, _ := in.(map[string]any)
		if fhir.String(fhir.Object(m, "type"), "text") != "failed-entries" {
			out = append(out, in)
		}
	}
	if len(failed) == 0 {
		return out
	}
	parts := make([]string, len(failed))
	for i, n := range failed {
		parts[i] = strconv.Itoa(n)
	}
	return append(out, map[string]any{"type": map[string]any{"text": "failed-entries"}, "valueString": strings.Join(parts, ",")})
}

// failedEntries returns the failed entries recorded by the open quarantine entry
// of u's bytes from src, if any.
func (im *Importer) failedEntries(ctx context.Context, src Source, u *Unit) ([]int, error) {
	task, err := im.quarantineTask(ctx, src, u.Hash)
	if err != nil || task == nil || fhir.String(task, "status") != "failed" {
		return nil, err
	}
	return entryOf(task).FailedEntries, nil
}

// newQuarantineTask is the failed import Task of unit u from src: the reason
// (outcome, contained as #outcome, and code as business status), the original's
// hash as identifier, and inputs describing the original.
func newQuarantineTask(src Source, u *Unit, outcome fhir.Resource, code, now string, inputs []any) fhir.Resource {
	task := fhir.Resource{
		"resourceType":   "Task",
		"meta":           map[string]any{"source": src.URI},
		"contained":      []any{outcome},
		"identifier":     []any{map[string]any{"system": QuarantineSystem, "value": u.Hash}},
		"status":         "failed",
		"businessStatus": map[string]any{"text": code},
		"intent":         "order",
		"priority":       "routine",
		"code": map[string]any{"coding": []any{map[string]any{"system": TaskCodeSystem, "code": "import",
			"display": "Import an original from a source system"}}},
		"description":     ErrorText(u.Err),
		"authoredOn":      now,
		"lastModified":    now,
		"executionPeriod": map[string]any{"start": now, "end": now},
		"input":           inputs,
		"output": []any{
			map[string]any{"type": map[string]any{"text": "attempts"}, "valueUnsignedInt": jsonInt(1)},
			map[string]any{"type": map[string]any{"text": "outcome"}, "valueReference": map[string]any{"reference": "#outcome"}},
		},
	}
	if src.OrganizationID != "" {
		task["requester"] = map[string]any{"reference": "Organization/" + src.OrganizationID}
	}
	return task
}

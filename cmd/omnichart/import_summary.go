package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"omnichart/internal/ingest"
)

// shownPerGroup is how many originals of each group the summary names on screen
// without --verbose; the report file names them all.
const shownPerGroup = 5

// shownSameKey is how many earlier originals of a reused message key a line names.
const shownSameKey = 3

// Kinds of summary groups, in the order they are printed.
const (
	groupFailed = iota
	groupIdentityConflict
	groupReusedKey
	groupSkipped
)

// summaryGroup is the originals that share one outcome and reason.
type summaryGroup struct {
	kind  int
	title string
	lines []detail
}

// detail is one original in a group: its name and what happened, in a short form
// for the screen and a full one for the report file.
type detail struct {
	short, full string
}

// importSummary collects what an import did: counts per outcome, and every
// original that was skipped, failed, or imported with a remark, grouped by reason.
type importSummary struct {
	files, units       int
	imported           int // units written now
	duplicates, failed int // failed counts units and whole files
	reusedKeys         int
	identityConflicts  int
	created            map[string]int
	groups             map[string]*summaryGroup
	interrupted        int
}

func newImportSummary() *importSummary {
	return &importSummary{created: map[string]int{}, groups: map[string]*summaryGroup{}}
}

func (s *importSummary) add(kind int, title, short, full string) {
	key := fmt.Sprint(kind, title)
	g := s.groups[key]
	if g == nil {
		g = &summaryGroup{kind: kind, title: title}
		s.groups[key] = g
	}
	if full == "" {
		full = short
	}
	g.lines = append(g.lines, detail{short: short, full: full})
}

// fail records a file or unit that failed for reason.
func (s *importSummary) fail(name, reason, msg, quarantine string) {
	s.failed++
	line := name + ": " + msg
	if quarantine != "" {
		line += " (quarantined as " + quarantine + ")"
	}
	s.add(groupFailed, "failed, "+reason, line, "")
}

// skip records a file that was not imported at all.
func (s *importSummary) skip(path, reason string) {
	s.add(groupSkipped, "skipped, "+reason, path, "")
}

func (s *importSummary) record(path string, rep *ingest.Report) {
	s.files++
	for _, u := range rep.Units {
		s.units++
		name := path
		if u.Name != filepath.Base(path) {
			name = filepath.Join(filepath.Dir(path), u.Name)
		}
		switch {
		case u.Err != nil:
			s.fail(name, ingest.FailureReason(u.Err), ingest.ErrorText(u.Err), u.Quarantine)
		case u.Duplicate:
			s.duplicates++
			s.add(groupSkipped, "skipped, "+u.Reason, name+": imported before as "+u.Original, "")
		case u.Reason == ingest.ReasonReusedKey:
			s.imported++
			s.reusedKeys++
			head := fmt.Sprintf("%s: imported as %s; %s|%s was used before by ", name, u.Original, u.Facility, u.ControlID)
			short := head + strings.Join(u.SameKey[:min(len(u.SameKey), shownSameKey)], ", ")
			if n := len(u.SameKey) - shownSameKey; n > 0 {
				short += fmt.Sprintf(" and %d more", n)
			}
			s.add(groupReusedKey, "imported, "+u.Reason, short, head+strings.Join(u.SameKey, ", "))
		default:
			s.imported++
		}
		if u.Err == nil && len(u.Conflicts) > 0 {
			s.identityConflicts++
			s.add(groupIdentityConflict, "imported, identity conflict: the source's identifier names another person's record, so a new Patient was made for review",
				name+": review "+strings.Join(u.Conflicts, ", ")+" (omnichart admin identity list)", "")
		}
	}
	for k, v := range rep.Created() {
		s.created[k] += v
	}
}

// sorted returns the groups in print order: failures, then imports with a
// remark, then what was skipped; larger groups first within a kind.
func (s *importSummary) sorted() []*summaryGroup {
	out := make([]*summaryGroup, 0, len(s.groups))
	for _, g := range s.groups {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		if len(a.lines) != len(b.lines) {
			return len(a.lines) > len(b.lines)
		}
		return a.title < b.title
	})
	return out
}

// truncated reports whether the screen summary leaves out some originals.
func (s *importSummary) truncated() bool {
	for _, g := range s.groups {
		if len(g.lines) > shownPerGroup {
			return true
		}
	}
	return false
}

// print writes the summary: counts, resources created, then each group with its
// originals, all of them when full is true, else the first few and where to find
// the rest (report, a file name).
func (s *importSummary) print(w io.Writer, d time.Duration, full bool, report string) {
	fmt.Fprintf(w, "imported %d file(s), %d document(s)/message(s) in %s: %d new", s.files, s.units,
		d.Round(time.Millisecond), s.imported)
	if s.reusedKeys > 0 {
		fmt.Fprintf(w, " (%d reusing a message control id)", s.reusedKeys)
	}
	fmt.Fprintf(w, ", %d already imported, %d failed", s.duplicates, s.failed)
	if s.identityConflicts > 0 {
		fmt.Fprintf(w, ", %d identity conflict(s) to review", s.identityConflicts)
	}
	fmt.Fprintln(w)
	if len(s.created) > 0 {
		types := make([]string, 0, len(s.created))
		n := 0
		for t, c := range s.created {
			types = append(types, t)
			n += c
		}
		sort.Strings(types)
		fmt.Fprintf(w, "created %d resource(s):\n", n)
		for _, t := range types {
			fmt.Fprintf(w, "  %-28s %d\n", t, s.created[t])
		}
	}
	for _, g := range s.sorted() {
		fmt.Fprintf(w, "%s (%d):\n", g.title, len(g.lines))
		for i, l := range g.lines {
			if !full && i == shownPerGroup {
				fmt.Fprintf(w, "  … and %d more, see %s\n", len(g.lines)-shownPerGroup, report)
				break
			}
			if full {
				fmt.Fprintf(w, "  %s\n", l.full)
			} else {
				fmt.Fprintf(w, "  %s\n", l.short)
			}
		}
	}
	if s.interrupted > 0 {
		fmt.Fprintf(w, "interrupted: %d file(s) left\n", s.interrupted)
	}
}

// writeReport writes the full summary to path, or to a new file in the temporary
// directory when path is empty, and returns the file's name.
func (s *importSummary) writeReport(path string, d time.Duration) (string, error) {
	var f *os.File
	var err error
	if path == "" {
		f, err = os.CreateTemp("", "omnichart-import-*.txt")
	} else {
		f, err = os.Create(path)
	}
	if err != nil {
		return "", fmt.Errorf("import report: %w", err)
	}
	s.print(f, d, true, "")
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("import report: %w", err)
	}
	return f.Name(), nil
}

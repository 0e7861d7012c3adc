package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"omnichart/internal/ehr"
)

// Problem is one place where the stored log is not the log that was written.
type Problem struct {
	Seq    int64
	Reason string
}

func (p Problem) String() string { return fmt.Sprintf("record %d: %s", p.Seq, p.Reason) }

// Report is the result of Verify.
type Report struct {
	// Records is the number of records read.
	Records int64
	// HeadSeq and HeadMAC are the end of the chain; kept outside the database,
	// they are the anchor a later Verify checks the log still reaches.
	HeadSeq int64
	HeadMAC []byte
	// Problems lists every problem found, in sequence order; none means the log
	// is intact.
	Problems []Problem
}

// Anchor is a record known to be in the log, from an earlier Verify's report.
type Anchor struct {
	Seq int64
	MAC []byte
}

// ParseAnchor reads an anchor written as "SEQ:MAC" (MAC in hex).
func ParseAnchor(s string) (Anchor, error) {
	seqText, macHex, ok := strings.Cut(s, ":")
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if !ok || err != nil || seq < 1 {
		return Anchor{}, fmt.Errorf("an anchor is SEQ:MAC, for example 1200:%s", strings.Repeat("ab", 4))
	}
	mac, err := hex.DecodeString(macHex)
	if err != nil {
		return Anchor{}, fmt.Errorf("the anchor's MAC is not hex")
	}
	return Anchor{Seq: seq, MAC: mac}, nil
}

// String writes the anchor as ParseAnchor reads it.
func (a Anchor) String() string { return fmt.Sprintf("%d:%s", a.Seq, hex.EncodeToString(a.MAC)) }

// Verify reads the whole log and checks every record against key: sequence
// numbers 1, 2, 3 ... without gaps, each MAC chained to the previous record's,
// the patient rows of each record equal to the patients its body names, and the
// head equal to the last record. With anchors it also checks that each anchored
// record is still there with the same MAC, which finds records removed from the
// end of the log (with the head rewound to match) since the anchor was taken.
// An error is returned only when the log could not be read.
func Verify(ctx context.Context, st ehr.AuditStore, key []byte, anchors ...Anchor) (Report, error) {
	var r Report
	var prev []byte
	var lastSeq int64
	var lastMAC []byte
	want := map[int64][]byte{}
	for _, a := range anchors {
		want[a.Seq] = a.MAC
	}
	problem := func(seq int64, format string, args ...any) {
		r.Problems = append(r.Problems, Problem{Seq: seq, Reason: fmt.Sprintf(format, args...)})
	}
	headSeq, headMAC, err := st.ScanAudit(ctx, func(e *ehr.AuditEntry) error {
		r.Records++
		expect := lastSeq + 1
		switch {
		case e.Seq > expect && e.Seq == expect+1:
			problem(expect, "missing: the log goes from record %d to record %d", lastSeq, e.Seq)
		case e.Seq > expect:
			problem(expect, "missing: records %d to %d are not in the log", expect, e.Seq-1)
		case e.Seq < expect:
			problem(e.Seq, "out of place: it comes after record %d", lastSeq)
		}
		if !hmac.Equal(mac(key, prev, e), e.MAC) {
			if e.Seq != expect {
				problem(e.Seq, "the MAC does not chain to the record before it (records before it are missing or were moved)")
			} else {
				problem(e.Seq, "the MAC does not match: the record was changed, inserted or moved, or the record before it was")
			}
		}
		if ev, err := Event(e); err != nil {
			problem(e.Seq, "the body is not a valid record")
		} else if !slices.Equal(nonNil(ev.Patients), nonNil(e.Patients)) {
			problem(e.Seq, "its patient index rows (%d) differ from the patients it names (%d)", len(e.Patients), len(ev.Patients))
		}
		if m, ok := want[e.Seq]; ok {
			if !bytes.Equal(m, e.MAC) {
				problem(e.Seq, "the anchored record has a different MAC than when the anchor was taken")
			}
			delete(want, e.Seq)
		}
		prev = e.MAC
		if e.Seq > lastSeq {
			lastSeq, lastMAC = e.Seq, e.MAC
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	r.HeadSeq, r.HeadMAC = headSeq, headMAC
	if headSeq != lastSeq || !bytes.Equal(headMAC, lastMAC) {
		if headSeq > lastSeq {
			problem(lastSeq+1, "missing: the head of the log is record %d, the last record is %d", headSeq, lastSeq)
		} else {
			problem(headSeq, "the head of the log (record %d) is not its last record (%d)", headSeq, lastSeq)
		}
	}
	for seq := range want {
		problem(seq, "the anchored record is not in the log (records were removed from its end)")
	}
	slices.SortStableFunc(r.Problems, func(a, b Problem) int {
		switch {
		case a.Seq < b.Seq:
			return -1
		case a.Seq > b.Seq:
			return 1
		}
		return 0
	})
	return r, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

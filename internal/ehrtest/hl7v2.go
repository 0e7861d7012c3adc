package ehrtest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The outcomes a shared HL7 v2 sample message is expected to have.
const (
	HL7v2Converts     = "converts"    // Parse and Convert succeed
	HL7v2Unsupported  = "unsupported" // Convert refuses the message type (ErrUnsupportedType)
	HL7v2ParseError   = "parse"       // Parse fails: the message cannot be read at all
	HL7v2ConvertError = "convert"     // Convert fails for another reason (a required segment is missing)
)

// HL7v2Supported reports whether the HL7 v2 converter maps the message type typ
// ("ADT^A01": MSH-9.1^MSH-9.2), as its package documentation lists them. It is
// written out here, apart from the converter, so that tests of which samples
// convert do not take the converter's word for it.
func HL7v2Supported(typ string) bool {
	switch typ {
	case "ADT^A01", "ADT^A03", "ADT^A04", "ADT^A08", "ADT^A28", "ADT^A31", "ADT^A40",
		"ORU^R01", "REF^I12", "RRI^I12", "MDM^T02", "VXU^V04", "SIU^S12":
		return true
	}
	return false
}

// HL7v2MessageType reads MSH-9.1^MSH-9.2 of one message straight from its bytes,
// without the parser under test. It returns "" when there is no MSH.
func HL7v2MessageType(raw []byte) string {
	comps := mshField(raw, 9)
	if len(comps) == 0 {
		return ""
	}
	typ := comps[0]
	if len(comps) > 1 {
		typ += "^" + comps[1]
	}
	return typ
}

// HL7v2MessageKey reads "facility|control ID" of one message straight from its
// bytes: MSH-4.1 (or MSH-4.2 when that is empty) and MSH-10, the pair a sender
// keeps unique and a re-delivery repeats. It returns "" without MSH-10.
func HL7v2MessageKey(raw []byte) string {
	control := strings.Join(mshField(raw, 10), "^")
	if control == "" {
		return ""
	}
	fac := mshField(raw, 4)
	name := ""
	if len(fac) > 0 {
		name = fac[0]
	}
	if name == "" && len(fac) > 1 {
		name = fac[1]
	}
	return name + "|" + control
}

// mshField returns the components of MSH-n of raw, trimmed: the field separator is
// the byte after "MSH", the component separator the one after that.
func mshField(raw []byte, n int) []string {
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	i := bytes.Index(raw, []byte("MSH"))
	if i < 0 || i+5 > len(raw) {
		return nil
	}
	seg := raw[i:]
	if end := bytes.IndexAny(seg, "\r\n"); end >= 0 {
		seg = seg[:end]
	}
	fieldSep, compSep := seg[3], seg[4]
	fields := bytes.Split(seg, []byte{fieldSep})
	// fields[0] is "MSH" and fields[1] is MSH-2, so MSH-n is fields[n-1].
	if len(fields) < n || len(bytes.TrimSpace(fields[n-1])) == 0 {
		return nil
	}
	var out []string
	for _, c := range bytes.Split(fields[n-1], []byte{compSep}) {
		out = append(out, string(bytes.TrimSpace(c)))
	}
	return out
}

// HL7v2Content returns the SHA-256 of raw with its MSH-7 (the message time)
// blanked: two messages with equal content are one message sent twice, whatever
// time each was stamped with.
func HL7v2Content(raw []byte) [32]byte {
	body := bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	i := bytes.Index(body, []byte("MSH"))
	if i < 0 || i+5 > len(body) {
		return sha256.Sum256(raw)
	}
	end := len(body)
	if e := bytes.IndexAny(body[i:], "\r\n"); e >= 0 {
		end = i + e
	}
	fields := bytes.Split(body[i:end], []byte{body[i+3]})
	if len(fields) > 6 {
		fields[6] = nil // MSH-7: fields[0] is "MSH", fields[1] MSH-2
	}
	out := append(append(append([]byte{}, body[:i]...), bytes.Join(fields, []byte{body[i+3]})...), body[end:]...)
	return sha256.Sum256(out)
}

// HL7v2Exception is a shared sample message that is known not to convert.
type HL7v2Exception struct {
	Outcome string // HL7v2ParseError or HL7v2ConvertError
	Reason  string
}

var exceptionLine = regexp.MustCompile(`^(.+#[0-9]+)\s+(parse|convert)\s+(.+)$`)

// HL7v2Exceptions reads internal/ingest/hl7v2/testdata/samples_not_converted.txt:
// the messages of ../shared/testdata/hl7v2 that are known not to convert, keyed
// "file#n" (the file relative to that folder with forward slashes, n counting
// its messages from 1), each with its outcome and the reason.
func HL7v2Exceptions(tb testing.TB) map[string]HL7v2Exception {
	tb.Helper()
	root, ok := moduleRoot()
	if !ok {
		tb.Fatal("no go.mod above the package directory")
	}
	path := filepath.Join(root, "internal", "ingest", "hl7v2", "testdata", "samples_not_converted.txt")
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	out := map[string]HL7v2Exception{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		m := exceptionLine.FindStringSubmatch(text)
		if m == nil {
			tb.Fatalf("%s:%d: want \"file#n parse|convert reason\", got %q", path, line, text)
		}
		out[m[1]] = HL7v2Exception{Outcome: m[2], Reason: m[3]}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// HL7v2Expected returns the outcome expected of message raw, number n (from 1) of
// file rel under ../shared/testdata/hl7v2: the listed exception, or else
// HL7v2Converts or HL7v2Unsupported by its MSH-9.
func HL7v2Expected(exceptions map[string]HL7v2Exception, rel string, n int, raw []byte) (outcome, reason string) {
	if ex, ok := exceptions[HL7v2Key(rel, n)]; ok {
		return ex.Outcome, ex.Reason
	}
	typ := HL7v2MessageType(raw)
	if HL7v2Supported(typ) {
		return HL7v2Converts, "MSH-9 " + typ + " is a supported type"
	}
	return HL7v2Unsupported, "MSH-9 " + typ + " is not a supported type"
}

// HL7v2Key is the key of message n (from 1) of file rel in HL7v2Exceptions.
func HL7v2Key(rel string, n int) string {
	return filepath.ToSlash(rel) + "#" + strconv.Itoa(n)
}

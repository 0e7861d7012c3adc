package hl7v2_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/ingest/hl7v2"
)

const oru = "MSH|^~\\&|LAB|HOSP^1.2.3^ISO|EHR|CLINIC|20240102030405-0500||ORU^R01^ORU_R01|CTRL1|P|2.5.1\r" +
	"PID|1||MRN1^^^HOSP&1.2.3&ISO^MR||Doe^Jane\r" +
	"OBR|1|P1|F1^LAB|2345-7^Glucose^LN|||20240102030000-0500||||||||||||||||F\r" +
	"OBX|1|NM|2345-7^Glucose^LN||95|mg/dL^mg/dL^UCUM|70-99|N|||F\r" +
	"OBX|2|TX|8251-1^Note^LN||Line one\\.br\\Line two \\T\\ more \\F\\ \\S\\ \\R\\ \\E\\ \\X41\\||||||F"

func TestParseAccessors(t *testing.T) {
	msg, err := hl7v2.Parse([]byte(oru))
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	tests := []struct {
		name, got, want string
	}{
		{"MSH-1 is the field separator", msg.Get("MSH-1"), "|"},
		{"MSH-2 is the encoding characters", msg.Get("MSH-2"), "^~\\&"},
		{"MSH-9 reads as the message type", msg.Type(), "ORU^R01"},
		{"MSH-10 is the control ID", msg.ControlID(), "CTRL1"},
		{"MSH-12 is the version", msg.Version(), "2.5.1"},
		{"a sub-component path reads the assigning authority OID", msg.Get("PID-3-4-2"), "1.2.3"},
		{"a segment occurrence path reads the second OBX", msg.Get("OBX(2)-3-1"), "8251-1"},
		{"the typed accessors read the unit", msg.Segments("OBX")[0].Field(6).Rep(0).Comp(1), "mg/dL"},
		{"escape sequences resolve to their characters", msg.Get("OBX(2)-5"), "Line one\nLine two & more | ^ ~ \\ A"},
		{"a missing field reads as empty", msg.Get("PID-30"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestParseDelimitersAndTerminators(t *testing.T) {
	custom := "MSH#*$!@#A#B#C#D#2024##ADT*A08#9#P#2.3\nPID###77***B@1.2@ISO#"
	tests := []struct {
		name, data, path, want string
	}{
		{"a message's own delimiters are honoured", custom, "PID-3-4-2", "1.2"},
		{"LF ends segments", strings.ReplaceAll(oru, "\r", "\n"), "OBX(1)-5", "95"},
		{"CRLF ends segments", strings.ReplaceAll(oru, "\r", "\r\n"), "OBX(1)-5", "95"},
		{"a UTF-8 byte order mark is skipped", "\xEF\xBB\xBF" + oru, "MSH-10", "CTRL1"},
		{"a Latin-1 message is decoded to UTF-8", "MSH|^~\\&|A|B|C|D|2024||ADT^A08|1|P|2.5|||||||8859/1\rPID|1||1||M\xfcller^J", "PID-5-1", "Müller"},
		{"a v2.7 truncation character is not part of the data", "MSH|^~\\&#|A|B|C|D|2024||ADT^A08|1|P|2.7\rPID|1||1||A#B", "PID-5", "A#B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := hl7v2.Parse([]byte(tt.data))
			if err != nil {
				t.Fatalf("Parse = %v", err)
			}
			if got := msg.Get(tt.path); got != tt.want {
				t.Errorf("Get(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty input is refused", nil, hl7v2.ErrEmpty},
		{"blank lines are refused as empty", []byte("\r\n\r\n"), hl7v2.ErrEmpty},
		{"input without MSH is refused", []byte("PID|1||123"), hl7v2.ErrNoMSH},
		{"a missing MSH-2 is a delimiter error", []byte("MSH||A|B|C|D|2024||ADT^A01|1|P|2.5"), hl7v2.ErrDelimiters},
		{"a letter as field separator is a delimiter error", []byte("MSHA^~\\&A"), hl7v2.ErrDelimiters},
		{"repeated encoding characters are a delimiter error", []byte("MSH|^^\\&|A|B|C|D|2024||ADT^A01|1|P|2.5"), hl7v2.ErrDelimiters},
		{"an MSH cut before MSH-12 is truncated", []byte("MSH|^~\\&|A|B|C|D|2024||ADT^A01"), hl7v2.ErrTruncated},
		{"a message cut inside a segment ID is truncated", []byte(oru + "\rOB"), hl7v2.ErrTruncated},
		{"an empty MSH-9 is a missing required field", []byte("MSH|^~\\&|A|B|C|D|2024|||1|P|2.5"), hl7v2.ErrRequiredField},
		{"two messages are a batch", []byte(oru + "\r" + oru), hl7v2.ErrBatch},
		{"a huge field is too large", []byte("MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.5\rOBX|1|TX|X||" + strings.Repeat("a", hl7v2.MaxFieldSize+1)), hl7v2.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := hl7v2.Parse(tt.data)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse = %v, want %v", err, tt.want)
			}
			var he *hl7v2.Error
			if !errors.As(err, &he) {
				t.Errorf("Parse error %T is not *hl7v2.Error", err)
			}
		})
	}
}

func TestParseIssues(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		{"invalid UTF-8 in a UTF-8 message gives an issue", "MSH|^~\\&|A|B|C|D|2024||ADT^A08|1|P|2.5|||||||UNICODE UTF-8\rPID|1||1||\xff\xfe", "not valid UTF-8"},
		{"a line that is not a segment gives an issue", "MSH|^~\\&|A|B|C|D|2024||ADT^A08|1|P|2.5\rthis is a comment\rPID|1", "not a segment"},
		{"an empty control ID gives an issue", "MSH|^~\\&|A|B|C|D|2024||ADT^A08||P|2.5\rPID|1", "MSH-10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := hl7v2.Parse([]byte(tt.data))
			if err != nil {
				t.Fatalf("Parse = %v", err)
			}
			var all []string
			for _, is := range msg.Issues {
				all = append(all, is.Diagnostics)
			}
			if !strings.Contains(strings.Join(all, "|"), tt.want) {
				t.Errorf("Parse issues = %q, want one mentioning %q", all, tt.want)
			}
		})
	}
}

func TestSplitMessages(t *testing.T) {
	tests := []struct {
		name string
		data string
		want int
	}{
		{"a single message is one message", oru, 1},
		{"a batch with envelope segments and comments splits per MSH", "FHS|^~\\&\nBHS|^~\\&\n// comment\n" + oru + "\n\n" + oru + "\nBTS|2\nFTS|1", 2},
		{"text with no MSH holds no message", "nothing here", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hl7v2.SplitMessages([]byte(tt.data))
			if len(got) != tt.want {
				t.Fatalf("SplitMessages = %d messages, want %d", len(got), tt.want)
			}
			for _, m := range got {
				if _, err := hl7v2.Parse(m); err != nil {
					t.Errorf("Parse(split message) = %v", err)
				}
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	msg, err := hl7v2.Parse([]byte(oru))
	if err != nil {
		t.Fatal(err)
	}
	again, err := hl7v2.Parse(msg.Encode())
	if err != nil {
		t.Fatalf("Parse(Encode()) = %v", err)
	}
	if d := cmp.Diff(string(msg.Encode()), string(again.Encode())); d != "" {
		t.Errorf("Encode after a round trip differs (-first +second):\n%s", d)
	}
	if got, want := again.Get("OBX(2)-5"), msg.Get("OBX(2)-5"); got != want {
		t.Errorf("OBX(2)-5 after a round trip = %q, want %q", got, want)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(oru))
	if dir := sampleDirOrEmpty(); dir != "" {
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".hl7") {
				if data, err := os.ReadFile(p); err == nil && len(data) < 64<<10 {
					f.Add(data)
				}
			}
			return nil
		})
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, m := range append(hl7v2.SplitMessages(data), data) {
			msg, err := hl7v2.Parse(m)
			if err != nil {
				_ = hl7v2.NewACK(m, nil, err, hl7v2.Options{})
				continue
			}
			_, _ = hl7v2.Convert(msg, hl7v2.Options{})
			if msg.Charset() != "UTF-8" || len(msg.Issues) > 0 {
				continue
			}
			enc := msg.Encode()
			again, err := hl7v2.Parse(enc)
			if err != nil {
				t.Fatalf("Parse(Encode()) = %v", err)
			}
			if !bytes.Equal(enc, again.Encode()) {
				t.Errorf("Encode is not stable across a round trip:\n%q\n%q", enc, again.Encode())
			}
		}
	})
}

// sampleDirOrEmpty is sampleDir for seeding fuzz corpora, where a skip is not wanted.
func sampleDirOrEmpty() string {
	dir, _ := os.Getwd()
	for i := 0; i < 8; i++ {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			s := filepath.Join(dir, "..", "shared", "testdata", "hl7v2")
			if _, err := os.Stat(s); err == nil {
				return s
			}
			return ""
		}
		dir = filepath.Dir(dir)
	}
	return ""
}

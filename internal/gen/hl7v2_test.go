package gen

import (
	"strings"
	"testing"
	"time"

	"omnichart/internal/ingest/hl7v2"
)

// These tests need the unexported writer; they check it against the project's
// HL7 v2 parser.

func TestER7ValuesRoundTripThroughTheParser(t *testing.T) {
	tests := []struct {
		name, value string
	}{
		{"plain text stays as it is", "Hemoglobin"},
		{"a field separator is escaped", "a|b"},
		{"a component separator is escaped", "fasting ^ non-fasting"},
		{"a sub-component separator is escaped", "R&D"},
		{"a repetition separator is escaped", "about ~ 3"},
		{"the escape character is escaped", `C:\results`},
		{"every delimiter at once", `|^~\&`},
		{"an escape sequence in the text is not taken for one", `\F\ is a field`},
		{"an apostrophe and non-ASCII letters pass", "O'Brien Nuñez"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := message{
				seg("MSH").set(3, "APP").set(4, text("FAC & CO")).set(9, comps("ADT", "A08")).set(10, "1").set(11, "P").set(12, "2.5.1"),
				seg("NTE").set(1, "1").set(3, text(tt.value)).set(4, comps(text(tt.value), text(tt.value))),
			}
			msg, err := hl7v2.Parse(m.bytes())
			if err != nil {
				t.Fatalf("Parse(%q) = %v", m.bytes(), err)
			}
			nte := msg.Segment("NTE")
			if got := nte.Field(3).String(); got != tt.value {
				t.Errorf("NTE-3 = %q, want %q (encoded %q)", got, tt.value, m.bytes())
			}
			if got := nte.Field(4).Comp(2); got != tt.value {
				t.Errorf("NTE-4.2 = %q, want %q", got, tt.value)
			}
			if got := msg.Header().Field(4).Comp(1); got != "FAC & CO" {
				t.Errorf("MSH-4 = %q, want %q", got, "FAC & CO")
			}
		})
	}
}

func TestER7SegmentsKeepFieldNumbers(t *testing.T) {
	oid := "2.999.1.1.1"
	pid := seg("PID").set(1, "1").set(3, comps(text("123"), "", "", hdOID(oid), "MR")).set(19, text("900-01-0001"))
	msh := seg("MSH").set(9, comps("ADT", "A04")).set(10, "7").set(12, "2.5.1")
	raw := message{msh, pid}.bytes()
	if !strings.HasPrefix(string(raw), `MSH|^~\&|`) || !strings.HasSuffix(string(raw), "\r") || strings.Contains(string(raw), "\n") {
		t.Fatalf("message %q: want MSH|^~\\& first and segments ended by CR only", raw)
	}
	msg, err := hl7v2.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{"MSH-9-2", "A04"},
		{"MSH-10", "7"},
		{"MSH-12", "2.5.1"},
		{"PID-3-1", "123"},
		{"PID-3-4-2", oid},
		{"PID-3-4-3", "ISO"},
		{"PID-3-5", "MR"},
		{"PID-19", "900-01-0001"},
		{"PID-2", ""},
	}
	for _, tt := range tests {
		if got := msg.Get(tt.path); got != tt.want {
			t.Errorf("Get(%q) = %q, want %q (message %q)", tt.path, got, tt.want, raw)
		}
	}
}

func TestER7TimesCarryTheirOffset(t *testing.T) {
	at := time.Date(2024, 3, 5, 14, 7, 9, 0, time.UTC)
	if got, want := string(ts(at)), "20240305090709-0500"; got != want {
		t.Errorf("ts(%v) = %q, want %q", at, got, want)
	}
	if got, want := string(dt(at)), "20240305"; got != want {
		t.Errorf("dt(%v) = %q, want %q", at, got, want)
	}
}

func TestEmptyTrailingPartsAreLeftOut(t *testing.T) {
	tests := []struct {
		name string
		got  er7
		want string
	}{
		{"components", comps("a", "", "b", "", ""), "a^^b"},
		{"sub-components", subs("", "2.999", "ISO"), "&2.999&ISO"},
		{"repetitions", reps("x", ""), "x"},
		{"nothing", comps("", ""), ""},
	}
	for _, tt := range tests {
		if string(tt.got) != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

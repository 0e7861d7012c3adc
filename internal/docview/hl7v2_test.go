package docview_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"omnichart/internal/docview"
	"omnichart/internal/ingest/hl7v2"
)

// TestFieldName checks the name table against fields read off the HL7 v2.5.1
// segment definitions, including the last field of each segment, so that a
// shifted or short list fails.
func TestFieldName(t *testing.T) {
	tests := []struct {
		seg  string
		n    int
		want string
	}{
		{"MSH", 9, "Message Type"}, {"MSH", 18, "Character Set"}, {"MSH", 21, "Message Profile Identifier"}, {"MSH", 22, ""},
		{"EVN", 2, "Recorded Date/Time"}, {"EVN", 7, "Event Facility"},
		{"PID", 3, "Patient Identifier List"}, {"PID", 5, "Patient Name"}, {"PID", 8, "Administrative Sex"},
		{"PID", 29, "Patient Death Date and Time"}, {"PID", 39, "Tribal Citizenship"}, {"PID", 40, ""},
		{"PD1", 3, "Patient Primary Facility"}, {"PD1", 21, "Military Status"},
		{"NK1", 2, "Name"}, {"NK1", 3, "Relationship"}, {"NK1", 39, "VIP Indicator"},
		{"PV1", 2, "Patient Class"}, {"PV1", 19, "Visit Number"}, {"PV1", 44, "Admit Date/Time"}, {"PV1", 52, "Other Healthcare Provider"},
		{"PV2", 3, "Admit Reason"}, {"PV2", 49, "Notify Clergy Code"},
		{"ORC", 1, "Order Control"}, {"ORC", 12, "Ordering Provider"}, {"ORC", 31, "Parent Universal Service Identifier"},
		{"OBR", 4, "Universal Service Identifier"}, {"OBR", 7, "Observation Date/Time"}, {"OBR", 25, "Result Status"}, {"OBR", 50, "Parent Universal Service Identifier"},
		{"OBX", 2, "Value Type"}, {"OBX", 5, "Observation Value"}, {"OBX", 8, "Abnormal Flags"}, {"OBX", 11, "Observation Result Status"}, {"OBX", 25, "Performing Organization Medical Director"},
		{"NTE", 3, "Comment"}, {"NTE", 4, "Comment Type"},
		{"AL1", 3, "Allergen Code/Mnemonic/Description"}, {"AL1", 6, "Identification Date"},
		{"DG1", 3, "Diagnosis Code - DG1"}, {"DG1", 6, "Diagnosis Type"}, {"DG1", 21, "Diagnosis Action Code"},
		{"IN1", 4, "Insurance Company Name"}, {"IN1", 36, "Policy Number"}, {"IN1", 53, "VIP Indicator"},
		{"SPM", 4, "Specimen Type"}, {"SPM", 17, "Specimen Collection Date/Time"}, {"SPM", 29, "Specimen Child Role"},
		{"RXA", 5, "Administered Code"}, {"RXA", 15, "Substance Lot Number"}, {"RXA", 20, "Completion Status"}, {"RXA", 26, "Pharmacy Order Type"},
		{"TXA", 2, "Document Type"}, {"TXA", 12, "Unique Document Number"}, {"TXA", 17, "Document Completion Status"}, {"TXA", 23, "Distributed Copies (Code and Name of Recipients)"},
		{"ZZZ", 1, ""}, {"PID", 0, ""},
	}
	for _, tt := range tests {
		if got := docview.FieldName(tt.seg, tt.n); got != tt.want {
			t.Errorf("FieldName(%q, %d) = %q, want %q", tt.seg, tt.n, got, tt.want)
		}
	}
	for _, seg := range []string{"MSH", "EVN", "PID", "PD1", "NK1", "PV1", "PV2", "ORC", "OBR", "OBX", "NTE", "AL1", "DG1", "IN1", "SPM", "RXA", "TXA"} {
		if docview.SegmentName(seg) == "" || docview.FieldName(seg, 1) == "" {
			t.Errorf("segment %s has no name or no field names", seg)
		}
	}
}

// TestHL7v2Model checks the layout of the synthetic ORU against the message
// read by hand.
func TestHL7v2Model(t *testing.T) {
	data, err := os.ReadFile("testdata/oru_r01.hl7")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := docview.HL7v2(data)
	if err != nil {
		t.Fatalf("HL7v2() = %v", err)
	}
	if msg.Type != "ORU^R01" || msg.ControlID != "MSG-0001" || msg.Version != "2.5.1" {
		t.Errorf("HL7v2() header = %q %q %q, want ORU^R01 MSG-0001 2.5.1", msg.Type, msg.ControlID, msg.Version)
	}
	var names []string
	for _, s := range msg.Segments {
		names = append(names, s.Name)
	}
	if diff := cmp.Diff([]string{"MSH", "PID", "PV1", "ORC", "OBR", "OBX", "NTE", "OBX", "SPM"}, names); diff != "" {
		t.Errorf("segments (-want +got):\n%s", diff)
	}
	if got := msg.Segments[7].Seq; got != 2 {
		t.Errorf("second OBX Seq = %d, want 2", got)
	}
	pid := msg.Segments[1]
	var pid3 docview.Field
	for _, f := range pid.Fields {
		if f.Position == "PID-3" {
			pid3 = f
		}
	}
	if pid3.Name != "Patient Identifier List" || len(pid3.Reps) != 2 {
		t.Fatalf("PID-3 = %+v, want two repetitions of Patient Identifier List", pid3)
	}
	if got := pid3.Reps[1].Components[3]; got.Position != "PID-3.4" || got.Text() != "SSA" {
		t.Errorf("PID-3 repetition 2 component 4 = %+v, want PID-3.4 SSA", got)
	}
	nte := msg.Segments[6]
	if got := nte.Fields[2].Reps[0].Text(); got != "Value confirmed on repeat & reviewed." {
		t.Errorf("NTE-3 = %q, want the \\T\\ escape resolved to &", got)
	}
}

// TestHL7v2Errors checks that a message the parser refuses is an error that
// wraps the parser's, and names no value.
func TestHL7v2Errors(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want error
	}{
		{"an empty message is refused", "", hl7v2.ErrEmpty},
		{"a message without MSH is refused", "PID|1||SECRET", hl7v2.ErrNoMSH},
		{"a message cut off in MSH is refused", "MSH|^~\\&|SECRET", hl7v2.ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := docview.HL7v2([]byte(tt.msg))
			if !errors.Is(err, tt.want) {
				t.Fatalf("HL7v2(%q) = %v, want %v", tt.msg, err, tt.want)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("HL7v2(%q) error %q quotes the message", tt.msg, err)
			}
		})
	}
}

package hl7v2_test

import (
	"errors"
	"strings"
	"testing"

	"omnichart/internal/ingest/hl7v2"
)

func TestNewACK(t *testing.T) {
	v23 := "MSH|^~\\&|SAPP|SFAC|RAPP|RFAC|2024||ADT^A01|C23|P|2.3\rPID|1"
	tests := []struct {
		name  string
		raw   string
		parse bool
		cause error
		want  []string
	}{
		{"an accepted v2.5.1 message gets AA with its control ID and swapped applications", oru, true, nil,
			[]string{"MSH|^~\\&|EHR|CLINIC|LAB|HOSP^1.2.3^ISO|20240506070809+0000||ACK^R01^ACK|", "|P|2.5.1\r", "MSA|AA|CTRL1\r"}},
		{"an unsupported type gets AR with ERR-2, ERR-3 and ERR-8", oru, true,
			&hl7v2.Error{Err: hl7v2.ErrUnsupportedType, Segment: "MSH", Seq: 1, Field: 9, Detail: "not supported"},
			[]string{"MSA|AR|CTRL1\r", "ERR||MSH^1^9|200^Unsupported message type^HL70357|E||||not supported\r"}},
		{"a v2.3 error uses ERR-1", v23, true,
			&hl7v2.Error{Err: hl7v2.ErrMissingSegment, Segment: "PV1", Detail: "missing"},
			[]string{"|2.3\r", "MSA|AE|C23|missing\r", "ERR|PV1^^^100&Segment sequence error&HL70357\r"}},
		{"an unparseable message still echoes what its header holds", "MSH|^^^^|SAPP|SFAC|RAPP|RFAC|2024||ADT^A01|C9|P|2.5", false,
			nil, []string{"MSH|^~\\&|RAPP|RFAC|SAPP|SFAC|", "MSA|AR|C9\r"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var msg *hl7v2.Message
			cause := tt.cause
			if tt.parse {
				var err error
				if msg, err = hl7v2.Parse([]byte(tt.raw)); err != nil {
					t.Fatal(err)
				}
			} else {
				var err error
				_, err = hl7v2.Parse([]byte(tt.raw))
				if !errors.Is(err, hl7v2.ErrDelimiters) {
					t.Fatalf("Parse = %v, want ErrDelimiters", err)
				}
				cause = err
			}
			ack := string(hl7v2.NewACK([]byte(tt.raw), msg, cause, MustIDs(t)))
			for _, w := range tt.want {
				if !strings.Contains(ack, w) {
					t.Errorf("NewACK = %q, want it to contain %q", ack, w)
				}
			}
			if _, err := hl7v2.Parse([]byte(ack)); err != nil {
				t.Errorf("Parse(NewACK) = %v", err)
			}
		})
	}
}

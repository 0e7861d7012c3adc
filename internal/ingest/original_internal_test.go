package ingest

import "testing"

func TestSameMessageIgnoresOnlyMSH7(t *testing.T) {
	const msg = "MSH|^~\\&|APP|FAC|RAPP|RFAC|20240101120000||ADT^A01|C1|P|2.5.1\rPID|1||42^^^X^MR\r"
	cases := []struct {
		name string
		a, b string
		want bool
	}{
		{"identical messages are the same", msg, msg, true},
		{"a new MSH-7 is the same message", msg, "MSH|^~\\&|APP|FAC|RAPP|RFAC|20240102083000.1234+0100||ADT^A01|C1|P|2.5.1\rPID|1||42^^^X^MR\r", true},
		{"an empty MSH-7 is the same message", msg, "MSH|^~\\&|APP|FAC|RAPP|RFAC|||ADT^A01|C1|P|2.5.1\rPID|1||42^^^X^MR\r", true},
		{"a byte order mark in front does not hide MSH-7", "\xef\xbb\xbf" + msg, "\xef\xbb\xbfMSH|^~\\&|APP|FAC|RAPP|RFAC|20250101||ADT^A01|C1|P|2.5.1\rPID|1||42^^^X^MR\r", true},
		{"another field separator is read from MSH-1", "MSH#^~\\&#A#F#B#G#2024#", "MSH#^~\\&#A#F#B#G#2025#", true},
		{"another MSH-8 is another message", msg, "MSH|^~\\&|APP|FAC|RAPP|RFAC|20240101120000|S|ADT^A01|C1|P|2.5.1\rPID|1||42^^^X^MR\r", false},
		{"another segment is another message", msg, "MSH|^~\\&|APP|FAC|RAPP|RFAC|20240101120000||ADT^A01|C1|P|2.5.1\rPID|1||43^^^X^MR\r", false},
		{"MSH-7 of a later segment is not ignored", msg + "MSH|^~\\&|A|F|B|G|1\r", msg + "MSH|^~\\&|A|F|B|G|2\r", false},
		{"a header too short to have MSH-7 is compared as it is", "MSH|^~\\&|A|F", "MSH|^~\\&|A|G", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := sameMessage([]byte(c.a), []byte(c.b)); got != c.want {
				t.Errorf("sameMessage(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
			}
		})
	}
}

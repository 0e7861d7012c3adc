package hl7v2_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"omnichart/internal/ingest/hl7v2"
)

func TestReadFrame(t *testing.T) {
	tests := []struct {
		name    string
		stream  string
		max     int
		want    []string
		wantErr error
	}{
		{"one frame gives its message", "\x0bMSH|1\x1c\r", 0, []string{"MSH|1"}, io.EOF},
		{"garbage between frames is skipped", "junk\x0bA\x1c\r\r\nnoise\x0bB\x1c\r", 0, []string{"A", "B"}, io.EOF},
		{"a frame without the final CR is accepted", "\x0bA\x1c\x0bB\x1c\r", 0, []string{"A", "B"}, io.EOF},
		{"a restarted frame drops the abandoned one", "\x0bhalf\x0bwhole\x1c\r", 0, []string{"whole"}, io.EOF},
		{"a stream ending inside a frame is an error", "\x0bcut", 0, nil, hl7v2.ErrFrame},
		{"a frame above the size limit is refused", "\x0b" + strings.Repeat("x", 20) + "\x1c\r", 10, nil, hl7v2.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bufio.NewReader(strings.NewReader(tt.stream))
			var got []string
			var err error
			for {
				var b []byte
				b, err = hl7v2.ReadFrame(r, tt.max)
				if err != nil {
					break
				}
				got = append(got, string(b))
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("ReadFrame error = %v, want %v", err, tt.wantErr)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("ReadFrame frames = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadFrameResyncsAfterOversize(t *testing.T) {
	r := bufio.NewReader(strings.NewReader("\x0b" + strings.Repeat("x", 50) + "\x1c\r\x0bok\x1c\r"))
	if _, err := hl7v2.ReadFrame(r, 10); !errors.Is(err, hl7v2.ErrTooLarge) {
		t.Fatalf("ReadFrame = %v, want ErrTooLarge", err)
	}
	b, err := hl7v2.ReadFrame(r, 10)
	if err != nil || string(b) != "ok" {
		t.Errorf("ReadFrame after an oversize frame = %q, %v, want \"ok\", nil", b, err)
	}
}

func TestWriteFrame(t *testing.T) {
	var buf bytes.Buffer
	if err := hl7v2.WriteFrame(&buf, []byte("MSH|x")); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "\x0bMSH|x\x1c\r"; got != want {
		t.Errorf("WriteFrame wrote %q, want %q", got, want)
	}
	if err := hl7v2.WriteFrame(&buf, []byte("bad\x1c")); !errors.Is(err, hl7v2.ErrFrame) {
		t.Errorf("WriteFrame(message with FS) = %v, want ErrFrame", err)
	}
	b, err := hl7v2.ReadFrame(bufio.NewReader(&buf), 0)
	if err != nil || string(b) != "MSH|x" {
		t.Errorf("ReadFrame(WriteFrame(x)) = %q, %v, want the message back", b, err)
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add([]byte("\x0b"+oru+"\x1c\r"), 0)
	f.Add([]byte("junk\x0bA\x1c\x0bB"), 4)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max < 0 || max > 1<<20 {
			max = 0
		}
		r := bufio.NewReader(bytes.NewReader(data))
		for i := 0; i < len(data)+1; i++ {
			b, err := hl7v2.ReadFrame(r, max)
			if err != nil {
				if errors.Is(err, hl7v2.ErrTooLarge) {
					continue
				}
				return
			}
			if max > 0 && len(b) > max {
				t.Fatalf("ReadFrame returned %d bytes, above the limit %d", len(b), max)
			}
			if bytes.IndexByte(b, 0x1c) >= 0 || bytes.IndexByte(b, 0x0b) >= 0 {
				t.Fatalf("ReadFrame returned a framing byte inside %q", b)
			}
		}
	})
}

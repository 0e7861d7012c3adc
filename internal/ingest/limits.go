package ingest

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"fmt"
	"io"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/ingest/hl7v2"
)

// Defaults of Limits.
const (
	// DefaultMaxDecompressedBytes bounds the content of one input.
	DefaultMaxDecompressedBytes = 256 << 20
	// DefaultMaxDocumentBytes bounds one document, message, Bundle or NDJSON line;
	// it is the HTTP API's default body limit too.
	DefaultMaxDocumentBytes = 64 << 20
	// DefaultMaxHL7v2Segments bounds the segments of one HL7 v2 message.
	DefaultMaxHL7v2Segments = hl7v2.DefaultMaxSegments
)

// Limits bound the memory and work of one import, whatever the input: every
// reader and parser checks them as it goes and stops as soon as one is passed,
// so a bomb or a huge document costs at most about the limit, not its size. A
// zero field takes its default.
type Limits struct {
	// MaxDecompressedBytes bounds the content of one input (a file, after bzip2
	// decompression when it is compressed): the most an import holds of it.
	MaxDecompressedBytes int64
	// MaxDocumentBytes bounds one unit: a C-CDA document, a FHIR Bundle or
	// resource, one HL7 v2 message, one NDJSON line.
	MaxDocumentBytes int64
	// MaxHL7v2Segments bounds the segments of one HL7 v2 message.
	MaxHL7v2Segments int
}

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.MaxDecompressedBytes <= 0 {
		l.MaxDecompressedBytes = DefaultMaxDecompressedBytes
	}
	if l.MaxDocumentBytes <= 0 {
		l.MaxDocumentBytes = DefaultMaxDocumentBytes
	}
	if l.MaxHL7v2Segments <= 0 {
		l.MaxHL7v2Segments = DefaultMaxHL7v2Segments
	}
	return l
}

// readChunk is how much ReadInput adds to its buffer at a time.
const readChunk = 4 << 20

// ReadInput reads the content of one input to import from r, decompressing bzip2
// (recognised by its magic bytes), and refuses it with a TooLarge error as soon
// as it passes a limit of lim:
//
//   - content beyond MaxDecompressedBytes is never read, and never decompressed:
//     a bzip2 bomb stops at the limit;
//   - when the first bytes show a format that holds one document (C-CDA, a FHIR
//     Bundle or resource), MaxDocumentBytes applies to the whole content, and a
//     size (of r, or -1 when unknown) above it is refused before the rest is read.
//
// f is the format when the caller knows it, or "" to tell it from the content.
// A bzip2 stream that is corrupt gives an error that is not TooLarge.
func ReadInput(r io.Reader, size int64, f Format, lim Limits) ([]byte, error) {
	lim = lim.WithDefaults()
	br := bufio.NewReaderSize(r, 64<<10)
	src := io.Reader(br)
	compressed := false
	if magic, _ := br.Peek(4); isBzip2(magic) {
		src = bzip2.NewReader(br)
		compressed = true
	}
	limit, setting := lim.MaxDecompressedBytes, "max-decompressed-bytes"
	what := "the content"
	if compressed {
		what = "the decompressed content"
	}
	// checkHead lowers the limit to the document limit when the content starts
	// like a single document.
	checkHead := func(head []byte) {
		if single(f, head) && lim.MaxDocumentBytes < limit {
			limit, setting, what = lim.MaxDocumentBytes, "max-document-bytes", "the document"
		}
	}
	checked := false
	if !compressed {
		head, _ := br.Peek(sniffSize)
		checkHead(head)
		checked = true
		if size > limit {
			return nil, tooLargeInput(what, size, limit, setting)
		}
	}
	var chunks [][]byte
	var total int64
	for {
		n := int64(readChunk)
		if !compressed && size >= 0 && total == 0 {
			// Content of known size is read into one buffer of that size.
			n = size + 1
		}
		n = max(min(n, limit+1-total), 1)
		buf := make([]byte, n)
		m, err := fill(src, buf)
		total += int64(m)
		if m > 0 {
			chunks = append(chunks, buf[:m])
		}
		if !checked && len(chunks) > 0 && (total >= sniffSize || err != nil) {
			checked = true
			checkHead(chunks[0])
		}
		if total > limit {
			return nil, tooLargeInput(what, -1, limit, setting)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			if compressed {
				return nil, fmt.Errorf("bzip2: %w", err)
			}
			return nil, err
		}
	}
	if len(chunks) == 0 {
		return []byte{}, nil
	}
	if len(chunks) == 1 {
		return chunks[0], nil
	}
	return bytes.Join(chunks, nil), nil
}

// fill reads into buf until it is full or r fails; io.EOF means the content
// ended (a truncated bzip2 stream is io.ErrUnexpectedEOF, an error).
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// single reports whether content starting with head, of format f ("" when
// unknown), holds one document: a C-CDA, or a FHIR Bundle or resource whose
// first line is not a whole JSON value (a one-line JSON file may be the first
// line of NDJSON).
func single(f Format, head []byte) bool {
	switch f {
	case FormatCCDA, FormatFHIRBundle, FormatFHIRResource:
		return true
	case "", FormatUnknown:
	default:
		return false
	}
	switch Detect(head, "") {
	case FormatCCDA:
		return true
	case FormatFHIRBundle, FormatFHIRResource:
		return bytes.ContainsAny(bytes.TrimSpace(head), "\r\n")
	}
	return false
}

func tooLargeInput(what string, size, limit int64, setting string) error {
	if size >= 0 {
		return ehr.Errorf(ehr.TooLarge, "%s is %d bytes, larger than the limit of %d bytes (%s)", what, size, limit, setting)
	}
	return ehr.Errorf(ehr.TooLarge, "%s is larger than the limit of %d bytes (%s)", what, limit, setting)
}

// isBzip2 reports whether data starts with the magic of a bzip2 stream.
func isBzip2(data []byte) bool {
	return len(data) >= 4 && bytes.HasPrefix(data, []byte("BZh")) && data[3] >= '1' && data[3] <= '9'
}

// tooLargeUnit returns the TooLarge error of a unit over the document limit, or nil.
func tooLargeUnit(u *Unit, lim Limits) error {
	if int64(len(u.original)) <= lim.MaxDocumentBytes {
		return nil
	}
	return ehr.Errorf(ehr.TooLarge, "the %s is %d bytes, larger than the limit of %d bytes (max-document-bytes); its original is not kept",
		u.Format.Display(), len(u.original), lim.MaxDocumentBytes)
}

// decompress returns the content of in: its data, or what its bzip2 data expands
// to, within the limits.
func (im *Importer) decompress(in Input) ([]byte, error) {
	if !isBzip2(in.Data) {
		if n := int64(len(in.Data)); n > im.opts.Limits.MaxDecompressedBytes {
			return nil, tooLargeInput("the content", n, im.opts.Limits.MaxDecompressedBytes, "max-decompressed-bytes")
		}
		return in.Data, nil
	}
	return ReadInput(bytes.NewReader(in.Data), int64(len(in.Data)), in.Format, im.opts.Limits)
}

// quarantineRefused records a unit over the document limit: a Task with the
// reason, its hash and no Binary, since keeping the bytes would cost what the
// limit is there to prevent.
func (im *Importer) quarantineRefused(ctx context.Context, src Source, u *Unit, outcome fhir.Resource, code, now string) error {
	inputs := []any{
		map[string]any{"type": map[string]any{"text": "format"}, "valueCode": string(u.Format)},
		map[string]any{"type": map[string]any{"text": "source"}, "valueUri": src.URI},
	}
	if u.Name != "" {
		inputs = append(inputs, map[string]any{"type": map[string]any{"text": "name"}, "valueString": u.Name})
	}
	task := newQuarantineTask(src, u, outcome, code, now, inputs)
	b := fhir.Resource{"resourceType": "Bundle", "type": "transaction", "entry": []any{
		map[string]any{"fullUrl": "urn:uuid:" + im.opts.NewID(), "resource": task, "request": map[string]any{"method": "POST", "url": "Task",
			"ifNoneExist": identifierQuery(QuarantineSystem, u.Hash) + "&" + sourceQuery(src.URI)}},
	}}
	_, outs, err := applyBundle(ctx, im.target, b)
	if err != nil {
		return fmt.Errorf("quarantine %s: %w", u.Name, err)
	}
	if len(outs) == 1 && outs[0].Record != nil {
		u.Quarantine = outs[0].Record.Reference()
	}
	return nil
}

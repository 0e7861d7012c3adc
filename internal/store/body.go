package store

import (
	"bytes"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// Stored bodies.
//
// A version's JSON goes into resource_versions.body as it is when it is short,
// and as one zstd frame from bodyCompressMin bytes on. Short resources (most
// Observations, Conditions, Encounters) gain little from compression on their
// own, and reading them stays a copy; long ones gain much: an original kept as a
// Binary (the base64 text of a whole bundle or document) shrinks to about a
// tenth of the bytes it holds. The two forms tell themselves apart by their
// first byte (JSON starts with '{', a zstd frame with its magic number), so rows
// written before compression existed read as they always did, and every reader
// of a body goes through storedBody.

// bodyCompressMin is the body length from which a body is stored compressed.
const bodyCompressMin = 2048

// zstdMagic starts every zstd frame (RFC 8878, section 3.1.1).
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

var (
	// One encoder and one decoder serve every goroutine: EncodeAll and
	// DecodeAll are safe for concurrent use.
	bodyEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	bodyDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxBodyBytes))
)

// maxBodyBytes bounds what one stored body may expand to, so that a damaged or
// hostile row cannot make a read allocate without limit. It is far above the
// largest resource the server accepts (see the limits of internal/fhirapi and
// internal/ingest).
const maxBodyBytes = 1 << 30

// packBody returns the stored form of a resource's JSON.
func packBody(body []byte) []byte {
	if len(body) < bodyCompressMin {
		return body
	}
	packed := bodyEncoder.EncodeAll(body, make([]byte, 0, len(body)/4))
	if len(packed) >= len(body) {
		return body
	}
	return packed
}

// storedBody scans a body column into JSON, whichever form it was stored in. A
// NULL (a deletion) scans as nil.
type storedBody []byte

// Scan implements sql.Scanner.
func (b *storedBody) Scan(src any) error {
	var raw []byte
	switch v := src.(type) {
	case nil:
		*b = nil
		return nil
	case []byte:
		raw = v
	case string:
		raw = []byte(v)
	default:
		return fmt.Errorf("stored body: unexpected %T", src)
	}
	if !bytes.HasPrefix(raw, zstdMagic) {
		// The driver owns raw's memory only until the next scan.
		*b = bytes.Clone(raw)
		return nil
	}
	body, err := bodyDecoder.DecodeAll(raw, nil)
	if err != nil {
		return fmt.Errorf("stored body: %w", err)
	}
	*b = body
	return nil
}

// bodyDest is where a body column scans into p.
func bodyDest(p *[]byte) *storedBody { return (*storedBody)(p) }

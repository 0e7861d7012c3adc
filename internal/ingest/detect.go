package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf16"
)

// Format is the kind of content an original holds.
type Format string

// The formats the pipeline reads.
const (
	FormatUnknown      Format = "unknown"
	FormatFHIRBundle   Format = "fhir-bundle"   // a FHIR JSON Bundle
	FormatFHIRResource Format = "fhir-resource" // one FHIR JSON resource other than a Bundle
	FormatNDJSON       Format = "ndjson"        // FHIR bulk data: one resource per line
	FormatCCDA         Format = "ccda"          // an HL7 C-CDA (CDA R2) XML document
	FormatHL7v2        Format = "hl7v2"         // one or more HL7 v2 messages (ER7 encoding)
)

// ContentType is the MIME type an original of format f is stored with.
func (f Format) ContentType() string {
	switch f {
	case FormatFHIRBundle, FormatFHIRResource:
		return "application/fhir+json"
	case FormatNDJSON:
		return "application/fhir+ndjson"
	case FormatCCDA:
		return "application/xml"
	case FormatHL7v2:
		return "x-application/hl7-v2+er7"
	}
	return "application/octet-stream"
}

// Display is the name of f for people.
func (f Format) Display() string {
	switch f {
	case FormatFHIRBundle:
		return "FHIR Bundle"
	case FormatFHIRResource:
		return "FHIR resource"
	case FormatNDJSON:
		return "FHIR NDJSON"
	case FormatCCDA:
		return "C-CDA document"
	case FormatHL7v2:
		return "HL7 v2 message"
	}
	return "unknown format"
}

// ParseFormat reads a format name as Format values print.
func ParseFormat(s string) (Format, error) {
	for _, f := range []Format{FormatFHIRBundle, FormatFHIRResource, FormatNDJSON, FormatCCDA, FormatHL7v2} {
		if string(f) == s {
			return f, nil
		}
	}
	return FormatUnknown, fmt.Errorf("%q is not a format (fhir-bundle, fhir-resource, ndjson, ccda, hl7v2)", s)
}

// sniffSize is how much of the content Detect looks at.
const sniffSize = 64 << 10

// Detect tells the format of data by its content; name (a file name, possibly
// empty) only breaks ties, such as a one-line .ndjson file. data must already be
// decompressed (see Decompress). Byte order marks (UTF-8, UTF-16) are skipped.
func Detect(data []byte, name string) Format {
	head := sniffText(data)
	head = strings.TrimLeft(head, " \t\r\n\x0b")
	ext := strings.ToLower(filepath.Ext(name))
	switch {
	case head == "":
		return FormatUnknown
	case strings.HasPrefix(head, "MSH") || strings.HasPrefix(head, "FHS") || strings.HasPrefix(head, "BHS"):
		if len(head) > 3 && !isAlnum(head[3]) {
			return FormatHL7v2
		}
	case head[0] == '<':
		if isCDA(head) {
			return FormatCCDA
		}
	case head[0] == '{':
		return detectJSON(data, ext)
	}
	return FormatUnknown
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// isCDA reports whether an XML head holds a CDA ClinicalDocument root: the first
// element that is not a processing instruction, comment or doctype.
func isCDA(head string) bool {
	s := head
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 || i+1 >= len(s) {
			return false
		}
		s = s[i+1:]
		if s[0] == '?' || s[0] == '!' {
			continue
		}
		end := strings.IndexAny(s, " \t\r\n/>")
		if end < 0 {
			return false
		}
		tag := s[:end]
		if _, local, ok := strings.Cut(tag, ":"); ok {
			tag = local
		}
		return tag == "ClinicalDocument"
	}
}

// sniffText returns the start of data as text, without a byte order mark, decoding
// UTF-16 when a BOM says so.
func sniffText(data []byte) string {
	if len(data) > sniffSize {
		data = data[:sniffSize]
	}
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		return string(data[3:])
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		return decodeUTF16(data[2:], false)
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return decodeUTF16(data[2:], true)
	}
	return string(data)
}

func decodeUTF16(b []byte, bigEndian bool) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		if bigEndian {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		} else {
			u = append(u, uint16(b[i+1])<<8|uint16(b[i]))
		}
	}
	return string(utf16.Decode(u))
}

// detectJSON tells NDJSON (several lines, each a complete object) from one JSON
// resource, and a Bundle from any other resource.
func detectJSON(data []byte, ext string) Format {
	data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	first, rest, _ := bytes.Cut(bytes.TrimLeft(data, " \t\r\n"), []byte("\n"))
	first = bytes.TrimSpace(first)
	if json.Valid(first) {
		if len(bytes.TrimSpace(rest)) > 0 || ext == ".ndjson" || ext == ".jsonl" {
			return FormatNDJSON
		}
	}
	// Unreadable JSON is still JSON: the converter reports where it breaks.
	if resourceTypeOf(data) == "Bundle" {
		return FormatFHIRBundle
	}
	return FormatFHIRResource
}

// resourceTypeOf returns the resourceType of the JSON object data holds, read
// key by key from its start: a resource usually names its type first, so a
// large Bundle is told apart without decoding its entries (which the converter
// does next). A value before the key is skipped; "" when there is none or the
// JSON breaks before it.
func resourceTypeOf(data []byte) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return ""
		}
		if key == "resourceType" {
			var typ string
			if dec.Decode(&typ) != nil {
				return ""
			}
			return typ
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
}

// Decompress returns the content of data, decompressing bzip2 (recognised by its
// "BZh" magic, whatever the file is called; Synthea data sets come that way).
// Anything else is returned as it is. Content beyond DefaultMaxDecompressedBytes
// is refused with TooLarge as soon as decompression passes it; ReadInput applies
// other limits.
func Decompress(data []byte) ([]byte, error) {
	if !isBzip2(data) {
		return data, nil
	}
	lim := Limits{MaxDecompressedBytes: DefaultMaxDecompressedBytes, MaxDocumentBytes: DefaultMaxDecompressedBytes}
	return ReadInput(bytes.NewReader(data), int64(len(data)), "", lim)
}

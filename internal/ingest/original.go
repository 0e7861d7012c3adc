package ingest

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/url"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/ingest/hl7v2"
)

const (
	// maxSources bounds the DocumentReferences of one original that are looked at:
	// there is one for each source that sent it.
	maxSources = 100
	// maxSameKey bounds the earlier messages with the same key that are looked at,
	// the most recent first, and maxCompared how many of those are read back to be
	// compared with a new message. Beyond them a re-delivery is imported and
	// reported with ReasonReusedKey: shown twice, never lost.
	maxSameKey  = 100
	maxCompared = 20
)

// sourceQuery is the search criterion "meta.source is uri".
// See https://hl7.org/fhir/R4/search.html#source.
func sourceQuery(uri string) string {
	return "_source=" + url.QueryEscape(escapeSearch(uri))
}

// fromSource reports whether res was written for src (its meta.source).
func fromSource(res fhir.Resource, src Source) bool {
	return fhir.String(fhir.Object(res, "meta"), "source") == src.URI
}

// attachment is the first content attachment of a DocumentReference.
func attachment(doc fhir.Resource) map[string]any {
	for _, c := range fhir.Array(doc, "content") {
		m, _ := c.(map[string]any)
		if a := fhir.Object(m, "attachment"); a != nil {
			return a
		}
	}
	return nil
}

// originalBytes reads the exact bytes of the original a DocumentReference written
// by the pipeline describes. ok is false when they cannot be had (no Binary
// attachment, the Binary removed, data that is not base64): such an original
// cannot be compared and counts as another message. err is for failures to read.
func (im *Importer) originalBytes(ctx context.Context, doc fhir.Resource) (data []byte, ok bool, err error) {
	typ, id, _, isRef := fhir.ParseReference(fhir.String(attachment(doc), "url"))
	if !isRef || typ != "Binary" {
		return nil, false, nil
	}
	bin, err := im.target.Read(ctx, "Binary", id)
	if c := ehr.ErrorCode(err); c == ehr.NotFound || c == ehr.Gone {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	data, err = base64.StdEncoding.DecodeString(fhir.String(bin, "data"))
	return data, err == nil, nil
}

// sameMessage reports whether two HL7 v2 messages say the same: the same
// segments, apart from the value of MSH-7 (Date/Time Of Message, HL7 v2.5.1
// chapter 2), the sender's time stamp on the envelope. Line ends, blank lines and
// the comment lines some files carry between segments are not part of a message
// and do not count: an interface engine that re-sends a message may change them.
func sameMessage(a, b []byte) bool {
	ma, mb := hl7v2.SplitMessages(a), hl7v2.SplitMessages(b)
	if len(ma) != 1 || len(mb) != 1 {
		return bytes.Equal(withoutMessageTime(a), withoutMessageTime(b))
	}
	return bytes.Equal(withoutMessageTime(ma[0]), withoutMessageTime(mb[0]))
}

// withoutMessageTime returns msg with the value of MSH-7 removed, or msg as it is
// when its MSH segment has no MSH-7.
func withoutMessageTime(msg []byte) []byte {
	start := bytes.Index(msg, []byte("MSH"))
	if start < 0 || start+4 > len(msg) {
		return msg
	}
	end := bytes.IndexAny(msg[start:], "\r\n")
	if end < 0 {
		end = len(msg)
	} else {
		end += start
	}
	// MSH-1 is the field separator itself, so the n-th field (n ≥ 2) follows the
	// (n-1)-th separator: MSH-7 lies between the sixth and the seventh.
	sep := msg[start+3]
	fields := bytes.Split(msg[start:end], []byte{sep})
	if len(fields) < 7 {
		return msg
	}
	fields[6] = nil
	out := make([]byte, 0, len(msg))
	out = append(out, msg[:start]...)
	out = append(out, bytes.Join(fields, []byte{sep})...)
	return append(out, msg[end:]...)
}

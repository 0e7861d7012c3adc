package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"html/template"
	"strings"

	"omnichart/internal/docview"
	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/service"
)

// maxShownBytes bounds the bytes of one document a page shows as text.
const maxShownBytes = 256 << 10

// DocumentViewer is the DocumentRenderer of package docview: a Composition's
// narrative and sections, sanitised; a DocumentReference's attachments (inline,
// or the Binary of an original the importer kept, read through svc under the
// caller's scope) as a C-CDA document by section, an HL7 v2 message by segment
// and field, or escaped text.
func DocumentViewer(svc *service.Service) DocumentRenderer {
	return func(ctx context.Context, rec *ehr.Record) (template.HTML, error) {
		res, err := fhir.Decode(rec.Resource)
		if err != nil {
			return "", err
		}
		var b strings.Builder
		switch rec.Type {
		case "Composition":
			b.WriteString(string(docview.Narrative(fhir.String(fhir.Object(res, "text"), "div"))))
			writeSections(&b, fhir.Array(res, "section"), 2)
		case "DocumentReference":
			b.WriteString(string(docview.Narrative(fhir.String(fhir.Object(res, "text"), "div"))))
			for i, c := range fhir.Array(res, "content") {
				att := fhir.Object(c.(map[string]any), "attachment")
				data, contentType, err := attachmentBytes(ctx, svc, att)
				if err != nil {
					return "", err
				}
				if data == nil {
					if title := fhir.String(att, "title"); title != "" {
						fmt.Fprintf(&b, "<p>%s (not stored here)</p>", template.HTMLEscapeString(title))
					}
					continue
				}
				b.WriteString(string(renderBytes(data, contentType, fmt.Sprintf("%s-%d", rec.ID, i))))
			}
		default:
			b.WriteString(string(docview.Narrative(fhir.String(fhir.Object(res, "text"), "div"))))
		}
		return template.HTML(b.String()), nil
	}
}

// writeSections writes a Composition's sections, each a heading and its
// sanitised narrative, nested.
func writeSections(b *strings.Builder, sections []any, level int) {
	level = min(level, 6)
	for _, s := range sections {
		sm, _ := s.(map[string]any)
		b.WriteString("<section>")
		if title := fhir.String(sm, "title"); title != "" {
			fmt.Fprintf(b, "<h%d>%s</h%d>", level, template.HTMLEscapeString(title), level)
		}
		b.WriteString(string(docview.Narrative(fhir.String(fhir.Object(sm, "text"), "div"))))
		writeSections(b, fhir.Array(sm, "section"), level+1)
		b.WriteString("</section>")
	}
}

// attachmentBytes returns an attachment's bytes: its data, or those of the
// Binary its url names (read under the caller's scope). nil without either.
func attachmentBytes(ctx context.Context, svc *service.Service, att map[string]any) ([]byte, string, error) {
	contentType := fhir.String(att, "contentType")
	if d := fhir.String(att, "data"); d != "" {
		data, err := base64.StdEncoding.DecodeString(d)
		if err != nil {
			return []byte("(the attachment's data is not base64)"), "text/plain", nil
		}
		return data, contentType, nil
	}
	id, ok := strings.CutPrefix(fhir.String(att, "url"), "Binary/")
	if !ok || !fhir.ValidID(id) {
		return nil, "", nil
	}
	rec, err := svc.Read(ctx, "Binary", id)
	if c := ehr.ErrorCode(err); err != nil && (c == ehr.NotFound || c == ehr.Gone || c == ehr.Forbidden) {
		return nil, "", nil
	} else if err != nil {
		return nil, "", err
	}
	bin, err := fhir.Decode(rec.Resource)
	if err != nil {
		return nil, "", err
	}
	data, err := base64.StdEncoding.DecodeString(fhir.String(bin, "data"))
	if err != nil {
		return []byte("(the Binary's data is not base64)"), "text/plain", nil
	}
	if ct := fhir.String(bin, "contentType"); ct != "" {
		contentType = ct
	}
	return data, contentType, nil
}

// renderBytes shows a document by what it is: a CDA document, an HL7 v2
// message, or text (anything else, escaped, at most maxShownBytes).
func renderBytes(data []byte, contentType, id string) template.HTML {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	ct := strings.ToLower(contentType)
	switch {
	case bytes.Contains(trimmed[:min(len(trimmed), 4096)], []byte("ClinicalDocument")) || strings.Contains(ct, "cda"):
		doc, err := docview.CCDA(data)
		if err == nil {
			doc.SetID(id)
			if h, err := doc.HTML(); err == nil {
				return h
			}
		}
		return escapedText(data, fmt.Sprintf("The document could not be read as C-CDA (%v); its text follows.", err))
	case bytes.HasPrefix(trimmed, []byte("MSH")) || strings.Contains(ct, "hl7-v2") || strings.Contains(ct, "er7"):
		msg, err := docview.HL7v2(data)
		if err == nil {
			msg.ID = id
			if h, err := msg.HTML(); err == nil {
				return h
			}
		}
		return escapedText(data, fmt.Sprintf("The message could not be read as HL7 v2 (%v); its text follows.", err))
	}
	return escapedText(data, "")
}

func escapedText(data []byte, note string) template.HTML {
	var b strings.Builder
	if note != "" {
		fmt.Fprintf(&b, "<p>%s</p>", template.HTMLEscapeString(note))
	}
	shown := data
	if len(shown) > maxShownBytes {
		shown = shown[:maxShownBytes]
	}
	fmt.Fprintf(&b, `<pre class="document-text">%s</pre>`, template.HTMLEscapeString(strings.ToValidUTF8(string(shown), "\uFFFD")))
	if len(data) > len(shown) {
		fmt.Fprintf(&b, "<p>The first %d KiB of %d KiB are shown.</p>", len(shown)>>10, len(data)>>10)
	}
	return template.HTML(b.String())
}

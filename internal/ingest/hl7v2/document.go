package hl7v2

import (
	"encoding/base64"
	"omnichart/internal/fhir"
	"strings"
)

// mdm converts MDM^T02 to a DocumentReference: metadata from TXA, content from the
// OBX segments (text lines joined into one text/plain attachment, or an embedded
// ED document kept as it was sent).
//
// See the IG's message map "MDM_T02", mappings/segments "TXA[DocumentReference]"
// and "OBX[DocumentReference]".
func (c *converter) mdm() error {
	m := c.msg
	patient, _ := c.patient(m.Segment("PID"), nil, nil, patientCreate, nil)
	enc := c.encounter(m.Segment("PV1"), m.Segment("PV2"), patient, "")
	txa := m.Segment("TXA")
	doc := map[string]any{"resourceType": "DocumentReference", "status": "current", "subject": ref(patient)}
	typ := codeableConcept(txa.Field(2).Rep(0))
	if typ != nil && typ["coding"] != nil && codeSystemURI(txa.Field(2).Rep(0).Comp(3)) == "" {
		// TXA-2 is table 0270 (document type) when no coding system is named.
		for _, cd := range typ["coding"].([]any) {
			if cm := cd.(map[string]any); cm["system"] == nil {
				cm["system"] = v2Table("0270")
			}
		}
	}
	fhir.SetIf(doc, "type", typ)
	if id := identifierEI(txa.Field(12).Rep(0), ""); id != nil {
		doc["masterIdentifier"] = id
	}
	var ids []any
	if id := identifierEI(txa.Field(14).Rep(0), "PLAC"); id != nil {
		ids = append(ids, id)
	}
	if id := identifierEI(txa.Field(15).Rep(0), "FILL"); id != nil {
		ids = append(ids, id)
	}
	fhir.SetIf(doc, "identifier", ids)
	switch val(txa.Field(17).String()) {
	case "AU", "LA", "DO":
		doc["docStatus"] = "final"
	case "IP", "IN", "PA", "DI":
		doc["docStatus"] = "preliminary"
	}
	if d := c.dateTime(txa.Field(4).String()); isInstant(d) {
		doc["date"] = d
	} else if d := c.dateTime(txa.Field(6).String()); isInstant(d) {
		doc["date"] = d
	}
	var authors []any
	for _, r := range txa.Field(9).Reps() {
		if u := c.practitioner(r); u != "" {
			authors = append(authors, ref(u))
		}
	}
	fhir.SetIf(doc, "author", authors)
	if u := c.practitioner(txa.Field(10).Rep(0)); u != "" {
		doc["authenticator"] = ref(u)
	}
	if enc != "" {
		doc["context"] = map[string]any{"encounter": []any{ref(enc)}}
	}
	var lines []string
	var content []any
	for _, obx := range m.Segments("OBX") {
		switch strings.ToUpper(val(obx.Field(2).String())) {
		case "ED":
			if att := c.embedded(obx); att != nil {
				content = append(content, map[string]any{"attachment": att})
			}
		default:
			for _, r := range obx.Field(5).Reps() {
				lines = append(lines, joinComps(r))
			}
		}
	}
	if text := strings.Join(lines, "\n"); strings.TrimSpace(text) != "" {
		att := map[string]any{"contentType": "text/plain; charset=utf-8", "data": base64.StdEncoding.EncodeToString([]byte(text))}
		content = append([]any{map[string]any{"attachment": att}}, content...)
	}
	if len(content) == 0 {
		c.warn("incomplete", "the document has no OBX content; the attachment is empty")
		content = []any{map[string]any{"attachment": map[string]any{"contentType": "text/plain"}}}
	}
	doc["content"] = content
	c.add(doc)
	return nil
}

// embedded maps an ED value (source 1, type 2, subtype 3, encoding 4, data 5) to
// an Attachment.
func (c *converter) embedded(obx *Segment) map[string]any {
	r := obx.Field(5).Rep(0)
	data := r.Comp(5)
	if data == "" {
		return nil
	}
	ct := strings.ToLower(val(r.Comp(2)))
	sub := strings.ToLower(val(r.Comp(3)))
	switch {
	case strings.Contains(sub, "/"):
		ct = sub
	case ct == "ap" || ct == "application":
		ct = "application/" + sub
	case ct == "tx" || ct == "text":
		ct = "text/" + sub
	case ct == "im" || ct == "image":
		ct = "image/" + sub
	default:
		ct = "application/octet-stream"
	}
	att := map[string]any{"contentType": ct}
	switch strings.ToUpper(val(r.Comp(4))) {
	case "BASE64":
		clean := strings.Map(func(r rune) rune {
			if r == '\n' || r == '\r' || r == ' ' {
				return -1
			}
			return r
		}, data)
		if _, err := base64.StdEncoding.DecodeString(clean); err != nil {
			c.warn("value", c.msg.Position(obx)+"-5: embedded document is not valid base64 and was skipped")
			return nil
		}
		att["data"] = clean
	case "A", "":
		att["data"] = base64.StdEncoding.EncodeToString([]byte(data))
	default:
		c.warn("not-supported", c.msg.Position(obx)+"-5: embedded document encoding is not supported and was skipped")
		return nil
	}
	return att
}

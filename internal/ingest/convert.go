package ingest

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"

	"github.com/google/uuid"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
)

// convertBundle prepares a FHIR Bundle. Transaction and batch Bundles are
// processed as they are. Collection, document, message, searchset and history
// Bundles become a transaction of creates: every entry gets a fresh urn:uuid
// fullUrl, and every reference to an entry (by its old fullUrl, or as "Type/id")
// is rewritten to it, so the server assigns ids and the Bundle's links survive.
// See https://hl7.org/fhir/R4/bundle.html#references.
func (im *Importer) convertBundle(data []byte) (fhir.Resource, []fhir.Issue, error) {
	b, err := fhir.Decode(bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF}))
	if err != nil {
		return nil, nil, ehr.Errorf(ehr.Invalid, "%v", err)
	}
	if b["resourceType"] != "Bundle" {
		return nil, nil, ehr.Errorf(ehr.Invalid, "the document is a %v, not a Bundle", b["resourceType"])
	}
	switch kind := fhir.String(b, "type"); kind {
	case "transaction", "batch":
		return b, nil, nil
	case "collection", "document", "message", "searchset", "history":
		return im.collectionToTransaction(b), nil, nil
	default:
		return nil, nil, ehr.Errorf(ehr.NotSupported, "a %q Bundle cannot be imported", kind)
	}
}

func (im *Importer) collectionToTransaction(b fhir.Resource) fhir.Resource {
	urls := map[string]string{}
	var out []any
	for _, e := range fhir.Array(b, "entry") {
		em, _ := e.(map[string]any)
		res := fhir.Object(em, "resource")
		typ, _ := res["resourceType"].(string)
		if res == nil || typ == "" {
			continue
		}
		nu := "urn:uuid:" + im.opts.NewID()
		if old := fhir.String(em, "fullUrl"); old != "" {
			urls[old] = nu
			if !strings.HasPrefix(old, "urn:") {
				// An absolute URL ".../Type/id" is also referred to as "Type/id".
				parts := strings.Split(strings.TrimSuffix(old, "/"), "/")
				if len(parts) >= 2 {
					urls[parts[len(parts)-2]+"/"+parts[len(parts)-1]] = nu
				}
			}
		}
		if id := fhir.String(res, "id"); id != "" {
			urls[typ+"/"+id] = nu
		}
		delete(res, "id")
		if meta, ok := res["meta"].(map[string]any); ok {
			delete(meta, "versionId")
			delete(meta, "lastUpdated")
		}
		out = append(out, map[string]any{"fullUrl": nu, "resource": res, "request": map[string]any{"method": "POST", "url": typ}})
	}
	for _, e := range out {
		rewriteRefs(e.(map[string]any)["resource"], func(ref string) (string, bool) {
			n, ok := urls[ref]
			return n, ok
		})
	}
	return fhir.Resource{"resourceType": "Bundle", "type": "transaction", "entry": out}
}

// convertResource prepares one resource as a transaction of one create.
func (im *Importer) convertResource(data []byte) (fhir.Resource, []fhir.Issue, error) {
	res, err := fhir.Decode(bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF}))
	if err != nil {
		return nil, nil, ehr.Errorf(ehr.Invalid, "%v", err)
	}
	typ, _ := res["resourceType"].(string)
	if err := ehr.CheckType(typ); err != nil {
		return nil, nil, err
	}
	b := fhir.Resource{"resourceType": "Bundle", "type": "collection", "entry": []any{map[string]any{"resource": res}}}
	return im.collectionToTransaction(b), nil, nil
}

// convertNDJSON prepares a chunk of FHIR bulk data. Resources keep their identity
// across chunks and re-imports: each gets the id UUIDv5(source URI + "/Type/id"),
// is written with update-as-create, and every "Type/id" reference is rewritten the
// same way, so references between lines hold whichever chunk they fall in.
// See https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-output-file-format.
func (im *Importer) convertNDJSON(src Source, data []byte) (fhir.Resource, []fhir.Issue, error) {
	var entries []any
	line := 0
	for _, l := range bytes.Split(data, []byte("\n")) {
		line++
		l = bytes.TrimSpace(bytes.TrimPrefix(l, []byte{0xEF, 0xBB, 0xBF}))
		if len(l) == 0 {
			continue
		}
		res, err := fhir.Decode(l)
		if err != nil {
			return nil, nil, ehr.Errorf(ehr.Invalid, "line %d: %v", line, err)
		}
		typ, _ := res["resourceType"].(string)
		if err := ehr.CheckType(typ); err != nil {
			return nil, nil, ehr.Errorf(ehr.Invalid, "line %d: %s", line, ehr.ErrorMessage(err))
		}
		id := fhir.String(res, "id")
		if id == "" {
			id = im.opts.NewID()
		}
		nid := derivedID(src.URI, typ, id)
		res["id"] = nid
		if meta, ok := res["meta"].(map[string]any); ok {
			delete(meta, "versionId")
			delete(meta, "lastUpdated")
		}
		rewriteRefs(res, func(ref string) (string, bool) {
			typ, id, _, ok := fhir.ParseReference(ref)
			if !ok || strings.Contains(ref, "://") || strings.HasPrefix(ref, "urn:") || !fhir.R4().IsResourceType(typ) {
				return "", false
			}
			return typ + "/" + derivedID(src.URI, typ, id), true
		})
		entries = append(entries, map[string]any{
			"fullUrl":  "urn:uuid:" + nid,
			"resource": res,
			"request":  map[string]any{"method": "PUT", "url": typ + "/" + nid},
		})
	}
	if len(entries) == 0 {
		return nil, nil, ehr.Errorf(ehr.Invalid, "the NDJSON holds no resources")
	}
	return fhir.Resource{"resourceType": "Bundle", "type": "transaction", "entry": entries}, nil, nil
}

// derivedID is the stable id of the resource a source calls typ/id.
func derivedID(sourceURI, typ, id string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte(sourceURI+"/"+typ+"/"+id)).String()
}

// rewriteRefs calls fn on every Reference.reference in node and replaces it when
// fn says so.
func rewriteRefs(node any, fn func(string) (string, bool)) {
	switch x := node.(type) {
	case []any:
		for _, e := range x {
			rewriteRefs(e, fn)
		}
	case map[string]any:
		for k, v := range x {
			if s, ok := v.(string); ok && k == "reference" {
				if n, ok := fn(s); ok {
					x[k] = n
				}
				continue
			}
			rewriteRefs(v, fn)
		}
	}
}

// chunkLines cuts NDJSON into runs of whole lines, at most maxLines non-empty lines
// and about maxBytes each, keeping the exact bytes.
func chunkLines(data []byte, maxLines, maxBytes int) [][]byte {
	var out [][]byte
	start, lines := 0, 0
	for pos := 0; pos < len(data); {
		end := bytes.IndexByte(data[pos:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += pos + 1
		}
		if len(bytes.TrimSpace(data[pos:end])) > 0 {
			if lines > 0 && (lines >= maxLines || end-start > maxBytes) {
				out = append(out, data[start:pos])
				start, lines = pos, 0
			}
			lines++
		}
		pos = end
	}
	if lines > 0 {
		out = append(out, data[start:])
	}
	return out
}

// documentCode returns the LOINC document type of a C-CDA (ClinicalDocument/code)
// as a Coding, or nil. See C-CDA R2.1 US Realm Header, CONF:1198-5253.
func documentCode(data []byte) map[string]any {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = false
	// The document's encoding does not matter for the ASCII attributes read here.
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	depth := 0
	for i := 0; i < 10000; i++ {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && t.Name.Local == "code" {
				var code, display, system string
				for _, a := range t.Attr {
					switch a.Name.Local {
					case "code":
						code = a.Value
					case "displayName":
						display = a.Value
					case "codeSystem":
						system = a.Value
					}
				}
				if code == "" || system != "2.16.840.1.113883.6.1" {
					return nil
				}
				c := map[string]any{"system": "http://loinc.org", "code": code}
				if display != "" {
					c["display"] = display
				}
				return c
			}
			if depth == 2 && t.Name.Local == "component" {
				return nil
			}
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

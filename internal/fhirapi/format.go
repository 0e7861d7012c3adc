package fhirapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
)

const fhirJSON = "application/fhir+json"

// checkAccept rejects requests that want a format other than JSON. It returns false
// when it has answered.
func (a *API) checkAccept(w http.ResponseWriter, r *http.Request) bool {
	if f := r.URL.Query().Get("_format"); f != "" {
		switch strings.ToLower(f) {
		case "json", "application/json", "application/fhir+json", "application/json+fhir":
			return true
		}
		a.writeResource(w, r, http.StatusNotAcceptable, notAcceptable(f))
		return false
	}
	accept := r.Header.Get("Accept")
	if accept == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part))
		switch mt {
		case "", "*/*", "application/*", "application/json", fhirJSON, "application/json+fhir", "text/html", "text/plain":
			return true
		}
	}
	a.writeResource(w, r, http.StatusNotAcceptable, notAcceptable(accept))
	return false
}

func notAcceptable(f string) fhir.Resource {
	return fhir.OperationOutcome([]fhir.Issue{{Severity: "error", Code: "not-supported",
		Diagnostics: fmt.Sprintf("format %q is not available; this server answers in JSON (application/fhir+json)", f)}})
}

// readBody reads and decodes a JSON resource body, checking its content type.
func (a *API) readBody(r *http.Request) (fhir.Resource, error) {
	data, err := a.readRaw(r, fhirJSON, "application/json", "application/json+fhir")
	if err != nil {
		return nil, err
	}
	res, err := fhir.Decode(data)
	if err != nil {
		var de *fhir.DecodeError
		if errors.As(err, &de) {
			return nil, ehr.InvalidIssues("the request body is not valid FHIR JSON", de.Issues())
		}
		return nil, ehr.Errorf(ehr.Invalid, "%v", err)
	}
	return res, nil
}

// readRaw reads the body after checking that its content type is one of allowed.
func (a *API) readRaw(r *http.Request, allowed ...string) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil {
		return nil, ehr.Errorf(ehr.Invalid, "Content-Type is missing or malformed; send %s", allowed[0])
	}
	ok := false
	for _, a := range allowed {
		if mt == a {
			ok = true
		}
	}
	if !ok {
		return nil, unsupportedMediaType{fmt.Sprintf("Content-Type %s is not supported here; send %s", mt, allowed[0])}
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, a.bodyReadError(r, err)
	}
	if len(data) == 0 {
		return nil, ehr.Errorf(ehr.Invalid, "the request body is empty")
	}
	return data, nil
}

// writeResource writes a tree or raw JSON with the FHIR JSON content type, honouring
// _pretty.
func (a *API) writeResource(w http.ResponseWriter, r *http.Request, status int, v any) {
	var body []byte
	var err error
	pretty := r.URL.Query().Get("_pretty") == "true"
	if raw, ok := v.([]byte); ok && !pretty {
		body = raw
	} else {
		if raw, ok := v.([]byte); ok {
			v = json.RawMessage(raw)
		}
		if pretty {
			body, err = fhir.MarshalIndent(v)
		} else {
			body, err = fhir.Marshal(v)
		}
		if err != nil {
			a.log.ErrorContext(r.Context(), "encode response", "request_id", requestID(r), "error", err)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", fhirJSON+"; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// setVersionHeaders sets ETag and Last-Modified of a record.
func setVersionHeaders(w http.ResponseWriter, rec *ehr.Record) {
	w.Header().Set("ETag", fmt.Sprintf(`W/"%d"`, rec.Version))
	w.Header().Set("Last-Modified", rec.LastUpdated.UTC().Format(http.TimeFormat))
}

// writeRecord answers a write with the representation Prefer asks for.
// See https://hl7.org/fhir/R4/http.html#ops.
func (a *API) writeRecord(w http.ResponseWriter, r *http.Request, status int, rec *ehr.Record) {
	setVersionHeaders(w, rec)
	switch preferReturn(r) {
	case "minimal":
		w.WriteHeader(status)
	case "OperationOutcome":
		a.writeResource(w, r, status, fhir.OperationOutcome([]fhir.Issue{{Severity: "information", Code: "informational",
			Diagnostics: fmt.Sprintf("%s %s/%s version %d", http.StatusText(status), rec.Type, rec.ID, rec.Version)}}))
	default:
		a.writeResource(w, r, status, rec.Resource)
	}
}

// preferReturn reads the return preference of the Prefer header.
func preferReturn(r *http.Request) string { return prefer(r, "return", "representation") }

// prefer reads one preference of the Prefer header (RFC 7240), or def.
func prefer(r *http.Request, key, def string) string {
	for _, h := range r.Header.Values("Prefer") {
		for _, part := range strings.Split(h, ";") {
			for _, p := range strings.Split(part, ",") {
				k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.TrimSpace(k) == key {
					return strings.Trim(strings.TrimSpace(v), `"`)
				}
			}
		}
	}
	return def
}

// ifMatch reads If-Match as a version; 0 when absent.
func ifMatch(r *http.Request) (int64, error) {
	h := r.Header.Get("If-Match")
	if h == "" {
		return 0, nil
	}
	v, err := ehr.ParseETag(h)
	if err != nil {
		return 0, ehr.Errorf(ehr.Invalid, "If-Match: %v", err)
	}
	return v, nil
}

// location is the versioned URL of a record.
func (a *API) location(r *http.Request, rec *ehr.Record) string {
	return fmt.Sprintf("%s/%s/%s/_history/%d", a.base(r), rec.Type, rec.ID, rec.Version)
}

// httpTime parses an HTTP date header.
func httpTime(v string) (time.Time, bool) {
	t, err := http.ParseTime(v)
	return t, err == nil
}

// unsupportedMediaType is a request body in a format this server does not read; it
// is answered 415, a status with no domain error code of its own.
type unsupportedMediaType struct{ msg string }

func (e unsupportedMediaType) Error() string { return e.msg }

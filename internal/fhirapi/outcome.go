package fhirapi

import (
	"errors"
	"net/http"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
)

// issueCodes maps an error code to the IssueType of its OperationOutcome.
var issueCodes = map[ehr.Code]string{
	ehr.Invalid:            "invalid",
	ehr.NotFound:           "not-found",
	ehr.Gone:               "deleted",
	ehr.Conflict:           "conflict",
	ehr.PreconditionFailed: "conflict",
	ehr.Unauthorized:       "login",
	ehr.Forbidden:          "forbidden",
	ehr.NotSupported:       "not-supported",
	ehr.TooLarge:           "too-costly",
	ehr.Internal:           "exception",
}

// writeError answers err as an OperationOutcome with the status of its code.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		err = ehr.Errorf(ehr.TooLarge, "the request body is larger than the limit of %d bytes", maxErr.Limit)
	}
	var media unsupportedMediaType
	if errors.As(err, &media) {
		a.writeResource(w, r, http.StatusUnsupportedMediaType, fhir.OperationOutcome([]fhir.Issue{{Severity: "error", Code: "not-supported", Diagnostics: media.msg}}))
		return
	}
	code := ehr.ErrorCode(err)
	status := ehr.HTTPStatus(code)
	issues := ehr.ErrorIssues(err)
	msg := ehr.ErrorMessage(err)
	if code == ehr.Internal {
		a.log.ErrorContext(r.Context(), "request failed", "request_id", requestID(r), "method", r.Method, "path", r.URL.Path, "error", err)
		msg = "internal error (request " + requestID(r) + ")"
		issues = nil
	}
	severity := "error"
	if code == ehr.Internal {
		severity = "fatal"
	}
	all := append([]fhir.Issue{{Severity: severity, Code: issueCodes[code], Diagnostics: msg}}, issues...)
	a.writeResource(w, r, status, fhir.OperationOutcome(all))
}

// errorf answers a coded error built on the spot.
func (a *API) errorf(w http.ResponseWriter, r *http.Request, code ehr.Code, format string, args ...any) {
	a.writeError(w, r, ehr.Errorf(code, format, args...))
}

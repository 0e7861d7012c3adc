package fhirapi

import (
	"errors"
	"net/http"
	"strconv"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
)

// statuses is the one table from error codes to HTTP statuses; the issue type of
// each code comes from ehr.IssueType.
var statuses = map[ehr.Code]int{
	ehr.Invalid:            http.StatusBadRequest,
	ehr.NotFound:           http.StatusNotFound,
	ehr.Gone:               http.StatusGone,
	ehr.Conflict:           http.StatusConflict,
	ehr.PreconditionFailed: http.StatusPreconditionFailed,
	ehr.Unauthorized:       http.StatusUnauthorized,
	ehr.Forbidden:          http.StatusForbidden,
	ehr.NotSupported:       http.StatusNotImplemented,
	ehr.TooLarge:           http.StatusRequestEntityTooLarge,
	ehr.Unavailable:        http.StatusServiceUnavailable,
	ehr.Internal:           http.StatusInternalServerError,
}

// httpStatus maps an error code to its HTTP status.
func httpStatus(code ehr.Code) int {
	if st, ok := statuses[code]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// statusClientClosedRequest is logged for a request whose client went away
// before it was answered (nginx's 499); nobody receives it.
const statusClientClosedRequest = 499

// writeError answers err as an OperationOutcome with the status of its code.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if a.writeTimeoutError(w, r, err) || a.pastWriteTimeout(w, r, err) {
		return
	}
	if r.Context().Err() != nil && ehr.ErrorCode(err) == ehr.Internal {
		// The client went away, and what it asked for was stopped: that is no
		// failure of the server, and there is nobody to answer. (A coded error,
		// such as a body cut short, is still answered: a client that closed only
		// its sending side reads it.)
		a.log.InfoContext(r.Context(), "client went away", "request_id", requestID(r), "method", r.Method, "error", err)
		w.WriteHeader(statusClientClosedRequest)
		return
	}
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
	status := httpStatus(code)
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
	if code == ehr.Unavailable {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	all := append([]fhir.Issue{{Severity: severity, Code: ehr.IssueType(code), Diagnostics: msg}}, issues...)
	a.writeResource(w, r, status, fhir.OperationOutcome(all))
}

// errorf answers a coded error built on the spot.
func (a *API) errorf(w http.ResponseWriter, r *http.Request, code ehr.Code, format string, args ...any) {
	a.writeError(w, r, ehr.Errorf(code, format, args...))
}

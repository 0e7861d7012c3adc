package fhirapi

import (
	"errors"
	"net/http"

	"omnichart/internal/ehr"
)

// bodyReadError turns a failure to read a request body into what the client is
// told. A body over the limit stays an *http.MaxBytesError (413). Any other failure
// (the client closed its side before sending the Content-Length it announced, a
// malformed chunked encoding, a connection reset) is the client's: it is Invalid
// (400), and logged as a warning, since nothing on the server went wrong. A body
// that stopped coming within the read timeout stays a bodyTimeoutError (408).
func (a *API) bodyReadError(r *http.Request, err error) error {
	var maxErr *http.MaxBytesError
	var timeout bodyTimeoutError
	if errors.As(err, &maxErr) || errors.As(err, &timeout) {
		return err
	}
	a.log.WarnContext(r.Context(), "request body cut short", "request_id", requestID(r), "error", err)
	return ehr.Errorf(ehr.Invalid, "the request body could not be read to its end (it ended before its announced length, or its chunked encoding is malformed); nothing was written")
}

// formError is what the client is told when a form body cannot be parsed: 413 over
// the body limit, otherwise 400.
func formError(err error) error {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return err
	}
	return ehr.Errorf(ehr.Invalid, "malformed form body: %v", err)
}

package ehr

import (
	"errors"
	"fmt"

	"omnichart/internal/fhir"
)

// Code is the closed set of domain error kinds. Each maps to one HTTP status and one
// OperationOutcome issue type in fhirapi.
type Code string

// The error codes.
const (
	Invalid            Code = "invalid"
	NotFound           Code = "not-found"
	Gone               Code = "gone"
	Conflict           Code = "conflict"
	PreconditionFailed Code = "precondition-failed"
	Unauthorized       Code = "unauthorized"
	Forbidden          Code = "forbidden"
	NotSupported       Code = "not-supported"
	TooLarge           Code = "too-large"
	// Unavailable: the server could not take the request on now (it waited too
	// long for a lock); the same request may succeed when tried again.
	Unavailable Code = "unavailable"
	Internal    Code = "internal"
)

// issueTypes is the one table from error codes to OperationOutcome issue types
// (https://hl7.org/fhir/R4/valueset-issue-type.html). HTTP statuses are mapped in
// fhirapi, the one place that knows HTTP.
var issueTypes = map[Code]string{
	Invalid:            "invalid",
	NotFound:           "not-found",
	Gone:               "deleted",
	Conflict:           "conflict",
	PreconditionFailed: "conflict",
	Unauthorized:       "login",
	Forbidden:          "forbidden",
	NotSupported:       "not-supported",
	TooLarge:           "too-costly",
	Unavailable:        "lock-error",
	Internal:           "exception",
}

// IssueType returns the OperationOutcome issue type of code.
func IssueType(code Code) string {
	if t, ok := issueTypes[code]; ok {
		return t
	}
	return "exception"
}

// Codes lists every error code, for tables that must cover them all.
func Codes() []Code {
	return []Code{Invalid, NotFound, Gone, Conflict, PreconditionFailed, Unauthorized, Forbidden, NotSupported, TooLarge, Unavailable, Internal}
}

// Error is the one domain error type. Message is safe to show to the caller (it never
// holds PHI); Issues carry element-level detail for the OperationOutcome.
type Error struct {
	Code    Code
	Message string
	Issues  []fhir.Issue
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidIssues builds an Invalid error carrying element-level issues.
func InvalidIssues(message string, issues []fhir.Issue) *Error {
	return &Error{Code: Invalid, Message: message, Issues: issues}
}

// ErrorCode returns the code of the first *Error in err's chain, or Internal.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// ErrorMessage returns the caller-safe message of err, or a generic text for internal
// errors, whose details belong in the log only.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorIssues returns the issues of the first *Error in err's chain.
func ErrorIssues(err error) []fhir.Issue {
	var e *Error
	if errors.As(err, &e) {
		return e.Issues
	}
	return nil
}

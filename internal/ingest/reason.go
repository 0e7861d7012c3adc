package ingest

import (
	"errors"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/ingest/hl7v2"
)

// Reasons a unit that did not fail was skipped or imported with a remark
// (Unit.Reason). The import summary groups units by them.
const (
	// ReasonDuplicate: the same source sent the same bytes before; nothing was
	// written.
	ReasonDuplicate = "already imported"
	// ReasonRedelivered: the same source sent an HL7 v2 message with the same
	// MSH-4|MSH-10 before, and the two have the same segments apart from MSH-7
	// (the time the sender built the message, which some interface engines renew
	// when they send a message again) and apart from line ends and comment lines;
	// nothing was written.
	ReasonRedelivered = "re-delivered (same message, new time stamp or line ends)"
	// ReasonReusedKey: the same source sent other HL7 v2 messages with the same
	// MSH-4|MSH-10 before (Unit.SameKey). The key is not unique in practice
	// (senders reset their counters, test systems reuse ids), so the message was
	// imported as the message of its own that it is.
	ReasonReusedKey = "reused message control id"
)

// FailureReason returns a short, stable phrase for why a unit failed, for grouping
// failures in a summary: the kind of HL7 v2 problem ("unsupported message type",
// "required segment missing", …) or the ehr error code ("invalid",
// "precondition-failed", …). ErrorText gives the details.
func FailureReason(err error) string {
	var he *hl7v2.Error
	if errors.As(err, &he) && he.Err != nil {
		return strings.TrimPrefix(he.Err.Error(), "hl7v2: ")
	}
	return string(ehr.ErrorCode(err))
}

package integrate

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"
)

// AlsoRecordedAs is the URL of the extension a fact's shown record carries in the
// integrated record, once per other record of the same fact: a "record"
// (valueReference) and its "source" (valueUri).
const AlsoRecordedAs = "urn:omnichart:extension:also-recorded-as"

// DisagreementSystem and DisagreementCode code the DetectedIssue of a conflict.
const (
	DisagreementSystem = "urn:omnichart:integrated-record"
	DisagreementCode   = "source-disagreement"
)

// Annotated returns a copy of the fact's shown resource with one AlsoRecordedAs
// extension per other record; the source record itself is not changed.
func (f Fact) Annotated() map[string]any {
	res := maps.Clone(f.Record.Resource)
	if len(f.Also) == 0 {
		return res
	}
	ext, _ := res["extension"].([]any)
	ext = slices.Clone(ext)
	for _, o := range f.Also {
		ext = append(ext, map[string]any{
			"url": AlsoRecordedAs,
			"extension": []any{
				map[string]any{"url": "record", "valueReference": map[string]any{"reference": o.Ref}},
				map[string]any{"url": "source", "valueUri": o.Source},
			},
		})
	}
	res["extension"] = ext
	return res
}

// DetectedIssue is the conflict as a DetectedIssue implicating both records; its
// patient is patient when not empty. See https://hl7.org/fhir/R4/detectedissue.html.
func (c Conflict) DetectedIssue(patient string) map[string]any {
	di := map[string]any{
		"resourceType": "DetectedIssue",
		"status":       "preliminary",
		"code": map[string]any{"coding": []any{map[string]any{"system": DisagreementSystem, "code": DisagreementCode,
			"display": "Sources disagree about one fact"}}},
		"severity": "moderate",
		"implicated": []any{
			map[string]any{"reference": c.Records[0].Ref},
			map[string]any{"reference": c.Records[1].Ref},
		},
		"detail": fmt.Sprintf("%s: %s (%s, %s) against %s (%s, %s)", c.Element,
			c.Values[0], c.Records[0].Ref, c.Records[0].Source, c.Values[1], c.Records[1].Ref, c.Records[1].Source),
	}
	if patient != "" {
		di["patient"] = map[string]any{"reference": patient}
	}
	return di
}

// ID names the conflict for as long as its records and element do: a UUID made
// from them, for the fullUrl of its DetectedIssue.
func (c Conflict) ID() string {
	h := sha256.Sum256([]byte(c.Element + "\x00" + c.Records[0].Ref + "\x00" + c.Records[1].Ref))
	h[6] = h[6]&0x0f | 0x50 // version 5 layout: name-based
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

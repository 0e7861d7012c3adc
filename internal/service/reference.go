package service

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
)

// checkFullURLs refuses a transaction or batch in which two entries have the same
// fullUrl: a reference to it could not say which one it means. FHIR allows a
// repeated fullUrl only for versions of one resource (invariant bdl-7), which a
// transaction may not change twice and a batch has no use for. See
// https://hl7.org/fhir/R4/bundle.html#bundle-unique.
func checkFullURLs(changes []ehr.Change) error {
	first := make(map[string]int, len(changes))
	for i, c := range changes {
		if c.FullURL == "" {
			continue
		}
		if j, dup := first[c.FullURL]; dup {
			path := fmt.Sprintf("Bundle.entry[%d].fullUrl", i)
			msg := fmt.Sprintf("entry %d has the same fullUrl as entry %d; each entry of a Bundle needs its own fullUrl", i, j)
			return &ehr.Error{Code: ehr.Invalid, Message: path + ": " + msg,
				Issues: []fhir.Issue{fhir.ErrorIssue("invalid", path, msg)}}
		}
		first[c.FullURL] = i
	}
	return nil
}

// fullURLs is the set of the fullUrls of changes.
func fullURLs(changes []ehr.Change) map[string]bool {
	set := make(map[string]bool, len(changes))
	for _, c := range changes {
		if c.FullURL != "" {
			set[c.FullURL] = true
		}
	}
	return set
}

// checkLocalReferences refuses a reference in res to a urn:uuid: or urn:oid: that is
// not in local, the fullUrls of the Bundle res came in: such a name means something
// only inside one Bundle, so a reference to one that is not there would be stored
// pointing nowhere. A plain create or update has no Bundle, so every such reference
// in it is refused. The entries of a Bundle resource inside res are left alone:
// they refer to that Bundle's own fullUrls. See
// https://hl7.org/fhir/R4/bundle.html#references.
func checkLocalReferences(res map[string]any, local map[string]bool) error {
	typ, _ := res["resourceType"].(string)
	if typ == "Bundle" {
		return nil
	}
	return walkLocalReferences(res, typ, local)
}

func walkLocalReferences(node any, path string, local map[string]bool) error {
	switch x := node.(type) {
	case []any:
		for i, e := range x {
			if err := walkLocalReferences(e, path+"["+strconv.Itoa(i)+"]", local); err != nil {
				return err
			}
		}
	case map[string]any:
		if path != "" && x["resourceType"] == "Bundle" {
			return nil
		}
		for k, v := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if ref, ok := v.(string); ok && k == "reference" && isLocalName(ref) && !local[ref] {
				msg := fmt.Sprintf("the reference %s is not the fullUrl of an entry of the Bundle; a urn:uuid: or urn:oid: reference must name one", shorten(ref))
				return &ehr.Error{Code: ehr.Invalid, Message: msg, Issues: []fhir.Issue{fhir.ErrorIssue("invalid", p, msg)}}
			}
			if err := walkLocalReferences(v, p, local); err != nil {
				return err
			}
		}
	}
	return nil
}

// isLocalName reports whether ref is a urn:uuid: or urn:oid: name, which identifies
// a resource only within one Bundle.
func isLocalName(ref string) bool {
	return hasPrefixFold(ref, "urn:uuid:") || hasPrefixFold(ref, "urn:oid:")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// shorten keeps an echoed reference to a readable length.
func shorten(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}

// resolvePatched gives the result of a patch what references in a created or updated
// resource get: urn:uuid: and urn:oid: references are refused (a patch has no
// Bundle to resolve them in), and conditional references ("Patient?identifier=…")
// are resolved to the one resource they match, among the writer's source's
// records, or refused.
func resolvePatched(ctx context.Context, tx ehr.Tx, res map[string]any) error {
	if err := checkLocalReferences(res, nil); err != nil {
		return err
	}
	return rewriteReferences(ctx, tx, res, nil, "")
}

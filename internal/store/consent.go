package store

import (
	"context"
	"fmt"
	"strings"

	"omnichart/internal/fhir"
)

// The kinds of rows in access_openings, and the grantee of a Consent that shares
// with every organization.
const (
	openingPermit     = "permit"
	openingDeny       = "deny"
	openingBreakGlass = "break-glass"
	everyOrganization = "*"
)

// OrganizationSystem is the identifier system that names an Omnichart
// organization (the organizations of `omnichart admin org add`) in a Consent's
// provision.actor.reference.identifier.
const OrganizationSystem = "urn:omnichart:organization"

// consentRule is one row a Consent contributes to access_openings.
type consentRule struct {
	grantee       string
	kind          string
	opens, closes int64
}

// consentRules reads what a Consent shares: for the organization named in any
// provision's actors, and for every other organization ("*"), whether the
// patient's records are permitted or denied, and when. It follows R4's Consent
// (https://hl7.org/fhir/R4/consent.html): only an active privacy consent
// (scope patient-privacy) counts; policyRule OPTIN permits everyone by default
// and anything else denies; a provision applies to the organizations among its
// actors (to everyone when it names none) and decides with its type, a nested
// provision overriding its parent, deny winning over permit at the same depth; a
// provision's period, within its parents', bounds what it decides; a permit
// narrowed to part of the record or to other actions than reading opens
// nothing, and a narrowed deny denies everything (narrowed). An
// organization is named by a reference whose identifier has OrganizationSystem;
// other actors (people, literal references) open nothing. The result lists
// permits for organizations and for "*", and denies for organizations whose
// answer differs from everyone's.
func consentRules(res map[string]any) []consentRule {
	if fhir.String(res, "status") != "active" || !hasCoding(fhir.Object(res, "scope"), "patient-privacy") {
		return nil
	}
	base := openingDeny
	if pr := fhir.Object(res, "policyRule"); pr != nil && hasCoding(pr, "OPTIN") {
		base = openingPermit
	}
	root := fhir.Object(res, "provision")
	orgs := map[string]bool{}
	collectActorOrgs(root, orgs)

	everyone := decide(root, "", base, 0, MinRange, MaxRange)
	var out []consentRule
	if everyone.kind == openingPermit && everyone.opens < everyone.closes {
		out = append(out, consentRule{grantee: everyOrganization, kind: openingPermit, opens: everyone.opens, closes: everyone.closes})
	}
	for org := range orgs {
		d := decide(root, org, base, 0, MinRange, MaxRange)
		switch {
		case d.opens >= d.closes:
		case d.kind == openingPermit:
			out = append(out, consentRule{grantee: "org:" + org, kind: openingPermit, opens: d.opens, closes: d.closes})
		case everyone.kind == openingPermit:
			out = append(out, consentRule{grantee: "org:" + org, kind: openingDeny, opens: d.opens, closes: d.closes})
		}
	}
	return out
}

// decision is what the provisions decide for one organization, and when.
type decision struct {
	kind          string
	depth         int
	opens, closes int64
}

// decide walks provision p (at depth) for org ("" for an organization no
// provision names) and returns the deepest applicable decision, starting from
// inherited.
func decide(p map[string]any, org, inherited string, depth int, opens, closes int64) decision {
	best := decision{kind: inherited, depth: -1, opens: opens, closes: closes}
	if p == nil {
		return best
	}
	if per := fhir.Object(p, "period"); per != nil {
		if s := fhir.String(per, "start"); s != "" {
			if lo, _, err := DateRange(s); err == nil && lo > opens {
				opens = lo
			} else if err != nil {
				return best // an unreadable period opens nothing
			}
		}
		if e := fhir.String(per, "end"); e != "" {
			if _, hi, err := DateRange(e); err == nil && hi < closes {
				closes = hi
			} else if err != nil {
				return best
			}
		}
	}
	applies := appliesTo(p, org)
	kind := fhir.String(p, "type")
	if kind == openingPermit && narrowed(p) {
		// A permit for part of the record only: not applied (see narrowed).
		applies = false
	}
	if applies && (kind == openingPermit || kind == openingDeny) {
		best = decision{kind: kind, depth: depth, opens: opens, closes: closes}
	}
	for _, c := range fhir.Array(p, "provision") {
		child, ok := c.(map[string]any)
		if !ok {
			continue
		}
		d := decide(child, org, best.kind, depth+1, opens, closes)
		if d.depth < 0 {
			continue
		}
		if d.depth > best.depth || (d.depth == best.depth && d.kind == openingDeny) {
			best = d
		}
	}
	return best
}

// narrowed reports whether provision p limits what it decides to part of the
// patient's record or to some uses (class, code, data, dataPeriod,
// securityLabel, purpose), or to actions that are not reading (action without
// access, use or disclose). Openings are whole compartments, so such a
// provision fails closed: a narrowed permit opens nothing, and a narrowed deny
// denies the whole compartment, never more shared than the patient said.
func narrowed(p map[string]any) bool {
	for _, k := range []string{"class", "code", "data", "dataPeriod", "securityLabel", "purpose"} {
		switch v := p[k].(type) {
		case nil:
		case []any:
			if len(v) > 0 {
				return true
			}
		default:
			return true
		}
	}
	actions := fhir.Array(p, "action")
	if len(actions) == 0 {
		return false
	}
	for _, a := range actions {
		if cc, ok := a.(map[string]any); ok && (hasCoding(cc, "access") || hasCoding(cc, "use") || hasCoding(cc, "disclose")) {
			return false
		}
	}
	return true
}

// appliesTo reports whether provision p applies to org: it names no actor, or
// names org among them.
func appliesTo(p map[string]any, org string) bool {
	actors := fhir.Array(p, "actor")
	if len(actors) == 0 {
		return true
	}
	for _, a := range actors {
		if m, ok := a.(map[string]any); ok && org != "" && actorOrg(m) == org {
			return true
		}
	}
	return false
}

func collectActorOrgs(p map[string]any, orgs map[string]bool) {
	if p == nil {
		return
	}
	for _, a := range fhir.Array(p, "actor") {
		if m, ok := a.(map[string]any); ok {
			if org := actorOrg(m); org != "" {
				orgs[org] = true
			}
		}
	}
	for _, c := range fhir.Array(p, "provision") {
		if m, ok := c.(map[string]any); ok {
			collectActorOrgs(m, orgs)
		}
	}
}

// actorOrg is the Omnichart organization a provision actor names, or "".
func actorOrg(actor map[string]any) string {
	id := fhir.Object(fhir.Object(actor, "reference"), "identifier")
	if fhir.String(id, "system") != OrganizationSystem {
		return ""
	}
	return strings.TrimSpace(fhir.String(id, "value"))
}

func hasCoding(cc map[string]any, code string) bool {
	for _, c := range fhir.Array(cc, "coding") {
		if m, ok := c.(map[string]any); ok && fhir.String(m, "code") == code {
			return true
		}
	}
	return false
}

// syncConsent replaces, in the writing transaction, the openings of
// Consent/id with those of res (nil when the Consent is deleted). A Consent
// counts only when it is in a patient compartment and the source that wrote it
// owns that Patient: the patient's custodian decides who else may see its
// records, no other source.
func (t *tx) syncConsent(ctx context.Context, id, compartment, source string, res map[string]any) error {
	origin := "Consent/" + id
	if err := t.exec(ctx, `DELETE FROM access_openings WHERE origin = ?`, origin); err != nil {
		return fmt.Errorf("clear openings of %s: %w", origin, err)
	}
	if res == nil || !strings.HasPrefix(compartment, "Patient/") {
		return nil
	}
	rules := consentRules(res)
	if len(rules) == 0 {
		return nil
	}
	patient, found, err := t.head(ctx, "Patient", strings.TrimPrefix(compartment, "Patient/"))
	if err != nil {
		return err
	}
	if !found || patient.deleted || patient.source != source {
		return nil
	}
	for i, r := range rules {
		if err := t.exec(ctx, `INSERT INTO access_openings (id, compartment, grantee, kind, opens, closes, origin, reason, granted_by, granted_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, '', ?, ?)`, fmt.Sprintf("%s#%d", origin, i), compartment, r.grantee, r.kind, r.opens, r.closes, origin, source, t.now.UnixMicro()); err != nil {
			return fmt.Errorf("write openings of %s: %w", origin, err)
		}
	}
	return nil
}

// resyncConsents recomputes the openings of every Consent in the compartment of
// Patient/id. Whether a Consent counts depends on who owns the Patient, so it
// changes when the Patient arrives after its Consent (records come in any
// order), is deleted, or comes back under another source; the Patient's write
// calls this in its own transaction.
func (t *tx) resyncConsents(ctx context.Context, patientID string) error {
	compartment := "Patient/" + patientID
	rows, err := t.query(ctx, `SELECT r.res_id, r.source, v.body FROM resources r
		JOIN resource_versions v ON v.compartment = r.compartment AND v.res_type = r.res_type AND v.res_id = r.res_id AND v.version = r.version
		WHERE r.compartment = ? AND r.res_type = 'Consent' AND r.deleted = ?`, compartment, false)
	if err != nil {
		return fmt.Errorf("consents of %s: %w", compartment, err)
	}
	type consentRow struct {
		id, source string
		body       []byte
	}
	var consents []consentRow
	for rows.Next() {
		var c consentRow
		if err := rows.Scan(&c.id, &c.source, bodyDest(&c.body)); err != nil {
			rows.Close()
			return fmt.Errorf("consents of %s: %w", compartment, err)
		}
		consents = append(consents, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("consents of %s: %w", compartment, err)
	}
	for _, c := range consents {
		res, err := fhir.Decode(c.body)
		if err != nil {
			return fmt.Errorf("decode Consent/%s: %w", c.id, err)
		}
		if err := t.syncConsent(ctx, c.id, compartment, c.source, res); err != nil {
			return err
		}
	}
	return nil
}

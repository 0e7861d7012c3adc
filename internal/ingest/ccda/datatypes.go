package ccda

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
)

// concept converts a CD/CE/CV/CO element to a CodeableConcept: the code and each
// translation become codings, originalText (followed into the narrative when it is
// a reference) becomes text. It returns nil when nothing is known.
// See https://build.fhir.org/ig/HL7/ccda-on-fhir/mappingGuidance.html.
func (c *converter) concept(n *node) map[string]any {
	if n == nil {
		return nil
	}
	var codings []any
	if cd := coding(n); cd != nil {
		codings = append(codings, cd)
	}
	for _, t := range n.children("translation") {
		if cd := coding(t); cd != nil {
			codings = append(codings, cd)
		}
	}
	cc := map[string]any{}
	if len(codings) > 0 {
		cc["coding"] = codings
	}
	if txt := c.originalText(n); txt != "" {
		cc["text"] = txt
	} else if len(codings) == 0 {
		if d := strings.TrimSpace(n.attr("displayName")); d != "" {
			cc["text"] = d
		}
	}
	if len(cc) == 0 {
		return nil
	}
	return cc
}

// coding converts the code attributes of one CD, or returns nil for a null code.
func coding(n *node) map[string]any {
	code := strings.TrimSpace(n.attr("code"))
	if code == "" {
		return nil
	}
	cd := map[string]any{}
	if sys := systemURI(n.attr("codeSystem")); sys != "" {
		cd["system"] = sys
	}
	if v := strings.TrimSpace(n.attr("codeSystemVersion")); v != "" {
		cd["version"] = v
	}
	cd["code"] = strings.Join(strings.Fields(code), " ")
	if d := strings.Join(strings.Fields(n.attr("displayName")), " "); d != "" {
		cd["display"] = d
	}
	return cd
}

// originalText resolves originalText, following a reference into the narrative.
func (c *converter) originalText(n *node) string {
	ot := n.child("originalText")
	if ot == nil {
		return ""
	}
	if ref := ot.child("reference"); ref != nil {
		if t := c.narrativeText(ref.attr("value")); t != "" {
			return t
		}
	}
	var b strings.Builder
	for _, k := range ot.kids {
		if k.name == "" {
			b.WriteString(k.text)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// narrativeText returns the text of the narrative element a "#id" reference points to.
func (c *converter) narrativeText(ref string) string {
	ref = strings.TrimSpace(ref)
	id, ok := strings.CutPrefix(ref, "#")
	if !ok || id == "" {
		return ""
	}
	if target := c.ids[id]; target != nil {
		return target.textContent()
	}
	return ""
}

// entryText returns an entry's <text>, resolved through a narrative reference.
func (c *converter) entryText(n *node) string {
	t := n.child("text")
	if t == nil {
		return ""
	}
	if ref := t.child("reference"); ref != nil {
		if s := c.narrativeText(ref.attr("value")); s != "" {
			return s
		}
	}
	var b strings.Builder
	for _, k := range t.kids {
		if k.name == "" {
			b.WriteString(k.text)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// codeValue returns the bare code of a coded element, "" when null.
func codeValue(n *node) string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.attr("code"))
}

// decimal normalises an HL7 REAL/PQ value to a FHIR decimal, or returns false.
func decimal(s string) (json.Number, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "+")
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if intPart == "" && !hasFrac {
		return "", false
	}
	if !allDigits(intPart) || hasFrac && !allDigits(frac) {
		return "", false
	}
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	out := intPart
	if hasFrac && frac != "" {
		out += "." + frac
	}
	if neg && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return json.Number(out), true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// quantity converts a PQ. UCUM is assumed for the unit, as C-CDA requires.
func (c *converter) quantity(n *node) map[string]any {
	if n == nil || n.nullFlavor() != "" && n.attr("value") == "" {
		return nil
	}
	v, ok := decimal(n.attr("value"))
	if !ok {
		if n.attr("value") != "" {
			c.warn("value", n, "physical quantity value is not a number; dropped")
		}
		return nil
	}
	q := map[string]any{"value": v}
	if u := strings.TrimSpace(n.attr("unit")); u != "" {
		q["unit"] = u
		q["system"] = "http://unitsofmeasure.org"
		q["code"] = u
	}
	return q
}

// identifier converts an II. A root without extension is itself the identifier,
// written as a URI under urn:ietf:rfc:3986.
func (c *converter) identifier(n *node) map[string]any {
	if n == nil {
		return nil
	}
	root := strings.TrimSpace(n.attr("root"))
	ext := strings.TrimSpace(n.attr("extension"))
	if root == "" {
		if ext == "" {
			return nil
		}
		return map[string]any{"value": ext}
	}
	var uri string
	switch {
	case oidPattern.MatchString(root):
		uri = "urn:oid:" + root
	case uuidPattern.MatchString(root):
		uri = "urn:uuid:" + strings.ToLower(root)
	case strings.Contains(root, ":"):
		uri = root
	}
	if ext == "" {
		if uri == "" {
			c.warn("value", n, "identifier root is neither an OID nor a UUID; dropped")
			return nil
		}
		return map[string]any{"system": "urn:ietf:rfc:3986", "value": uri}
	}
	id := map[string]any{"value": ext}
	if sys, ok := codeSystems[root]; ok && strings.HasPrefix(sys, "http://hl7.org/fhir/sid/us-") {
		uri = sys
	}
	if uri != "" {
		id["system"] = uri
	}
	return id
}

// identifiers converts every <id> child of n.
func (c *converter) identifiers(n *node) []any {
	var out []any
	for _, idn := range n.children("id") {
		if id := c.identifier(idn); id != nil {
			out = append(out, id)
		}
	}
	return out
}

var nameUse = map[string]string{
	"L": "usual", "C": "official", "P": "nickname", "A": "nickname", "OR": "official",
}

// humanName converts a PN. A name with no parts but text keeps it as text.
func humanName(n *node) map[string]any {
	if n == nil || n.nullFlavor() != "" && len(n.elements()) == 0 {
		return nil
	}
	hn := map[string]any{}
	if u, ok := nameUse[strings.Fields(n.attr("use") + " x")[0]]; ok {
		hn["use"] = u
	}
	var given, prefix, suffix []any
	family := ""
	for _, p := range n.elements() {
		v := strings.Join(strings.Fields(p.textContent()), " ")
		if v == "" || p.nullFlavor() != "" {
			continue
		}
		switch p.name {
		case "family":
			if family == "" {
				family = v
			} else {
				family += " " + v
			}
		case "given":
			given = append(given, v)
		case "prefix":
			prefix = append(prefix, v)
		case "suffix":
			suffix = append(suffix, v)
		}
	}
	if family != "" {
		hn["family"] = family
	}
	if len(given) > 0 {
		hn["given"] = given
	}
	if len(prefix) > 0 {
		hn["prefix"] = prefix
	}
	if len(suffix) > 0 {
		hn["suffix"] = suffix
	}
	if family == "" && len(given) == 0 {
		var b strings.Builder
		for _, k := range n.kids {
			if k.name == "" {
				b.WriteString(k.text)
			}
		}
		if t := strings.Join(strings.Fields(b.String()), " "); t != "" {
			hn["text"] = t
		}
	}
	if len(hn) == 0 || len(hn) == 1 && hn["use"] != nil {
		return nil
	}
	return hn
}

var addressUse = map[string]string{
	"H": "home", "HP": "home", "HV": "home", "WP": "work", "DIR": "work", "PUB": "work",
	"TMP": "temp", "OLD": "old", "BAD": "old",
}

// address converts an AD.
func (c *converter) address(n *node) map[string]any {
	if n == nil || n.nullFlavor() != "" && len(n.elements()) == 0 {
		return nil
	}
	a := map[string]any{}
	for _, u := range strings.Fields(n.attr("use")) {
		if v, ok := addressUse[u]; ok {
			a["use"] = v
			break
		}
		if u == "PST" {
			a["type"] = "postal"
		} else if u == "PHYS" {
			a["type"] = "physical"
		}
	}
	var lines []any
	for _, p := range n.elements() {
		v := strings.Join(strings.Fields(p.textContent()), " ")
		if v == "" || p.nullFlavor() != "" {
			continue
		}
		switch p.name {
		case "streetAddressLine", "houseNumber", "streetName", "additionalLocator", "unitID", "deliveryAddressLine":
			lines = append(lines, v)
		case "city":
			a["city"] = v
		case "state":
			a["state"] = v
		case "postalCode":
			a["postalCode"] = v
		case "country":
			a["country"] = v
		case "county":
			a["district"] = v
		case "useablePeriod":
			if p := c.period(p); p != nil {
				a["period"] = p
			}
		}
	}
	if len(lines) > 0 {
		a["line"] = lines
	}
	if len(a) == 0 || len(a) == 1 && (a["use"] != nil || a["type"] != nil) {
		return nil
	}
	return a
}

var telecomUse = map[string]string{
	"H": "home", "HP": "home", "HV": "home", "WP": "work", "DIR": "work", "PUB": "work",
	"MC": "mobile", "PG": "mobile", "TMP": "temp", "BAD": "old",
}

// contactPoint converts a TEL; the URL scheme says which system it is.
func contactPoint(n *node) map[string]any {
	if n == nil {
		return nil
	}
	v := strings.TrimSpace(n.attr("value"))
	if v == "" {
		return nil
	}
	cp := map[string]any{}
	scheme, rest, ok := strings.Cut(v, ":")
	if !ok {
		scheme, rest = "", v
	}
	switch strings.ToLower(scheme) {
	case "tel":
		cp["system"] = "phone"
	case "fax":
		cp["system"] = "fax"
	case "mailto":
		cp["system"] = "email"
	case "http", "https":
		cp["system"] = "url"
		rest = v
	case "":
		cp["system"] = "other"
	default:
		cp["system"] = "other"
		rest = v
	}
	rest = strings.TrimSpace(strings.TrimPrefix(rest, "//"))
	if rest == "" {
		return nil
	}
	cp["value"] = rest
	for _, u := range strings.Fields(n.attr("use")) {
		if m, ok := telecomUse[u]; ok {
			cp["use"] = m
			break
		}
	}
	return cp
}

// appendAll returns list with every non-nil map of maps appended.
func appendAll(list []any, maps ...map[string]any) []any {
	for _, m := range maps {
		if m != nil {
			list = append(list, m)
		}
	}
	return list
}

// ref builds a Reference to a bundle entry's fullUrl.
func ref(url string) map[string]any {
	if url == "" {
		return nil
	}
	return map[string]any{"reference": url}
}

// cc builds a CodeableConcept with one coding.
func cc(system, code, display string) map[string]any {
	cd := map[string]any{"system": system, "code": code}
	if display != "" {
		cd["display"] = display
	}
	return map[string]any{"coding": []any{cd}}
}

func jsonInt(n int) json.Number { return json.Number(strconv.Itoa(n)) }

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

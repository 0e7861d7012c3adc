package integrate

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"omnichart/internal/fhir"
)

// Code systems the rules name.
const (
	loinc  = "http://loinc.org"
	rxnorm = "http://www.nlm.nih.gov/research/umls/rxnorm"
	cvx    = "http://hl7.org/fhir/sid/cvx"
)

// TimeTolerance is how far apart two sources may put the time of one observation
// or the start of one encounter: sources round times to the minute, or stamp them
// when the result was filed rather than taken.
const TimeTolerance = time.Minute

// kind is the rule of one kind of fact: which resource types state it and how two
// records of it compare.
type kind struct {
	name    string
	compare func(a, b fhir.Resource) verdict
}

var kinds = map[string]*kind{
	"Observation":         {"observation", compareObservations},
	"Condition":           {"condition", compareConditions},
	"AllergyIntolerance":  {"allergy", compareAllergies},
	"MedicationRequest":   {"medication", compareMedications},
	"MedicationStatement": {"medication", compareMedications},
	"Immunization":        {"immunization", compareImmunizations},
	"Procedure":           {"procedure", compareProcedures},
	"Encounter":           {"encounter", compareEncounters},
}

// kindOf is the kind of fact res states, nil when it is none the rules know.
func kindOf(res fhir.Resource) *kind {
	t, _ := res["resourceType"].(string)
	return kinds[t]
}

// enteredInError reports a record its source withdrew: it is shown as it is and
// never joined.
func enteredInError(res fhir.Resource) bool {
	if s, _ := res["status"].(string); s == "entered-in-error" {
		return true
	}
	return slices.Contains(codes(res["verificationStatus"]), "entered-in-error")
}

// compareObservations: one LOINC (or other shared) code, effective times within
// TimeTolerance, then the values decide.
func compareObservations(a, b fhir.Resource) verdict {
	if !sameCode(a["code"], b["code"]) || !sameTime(effective(a), effective(b), TimeTolerance) {
		return verdict{}
	}
	return compareResults(a, b, "Observation")
}

// compareResults compares the values, or the components, of two observations.
func compareResults(a, b fhir.Resource, path string) verdict {
	va, ka := value(a)
	vb, kb := value(b)
	ca, _ := a["component"].([]any)
	cb, _ := b["component"].([]any)
	switch {
	case ka == "" && kb == "" && len(ca) == 0 && len(cb) == 0:
		// A panel, or a result whose value neither gives: nothing to disagree on.
		if reasonA, reasonB := a["dataAbsentReason"], b["dataAbsentReason"]; (reasonA == nil) != (reasonB == nil) {
			return verdict{}
		}
		return verdict{rel: same}
	case ka != "" || kb != "":
		return compareValue(ka, va, kb, vb, path+".value")
	}
	return compareComponents(ca, cb, path)
}

// compareComponents: every component of one has a component of the same code in
// the other, and the values decide.
func compareComponents(ca, cb []any, path string) verdict {
	if len(ca) != len(cb) {
		return verdict{}
	}
	out := verdict{rel: same}
	for _, x := range ca {
		xm, _ := x.(map[string]any)
		var match map[string]any
		for _, y := range cb {
			ym, _ := y.(map[string]any)
			if sameCode(xm["code"], ym["code"]) {
				match = ym
				break
			}
		}
		if match == nil {
			return verdict{}
		}
		v := compareResults(xm, match, path+".component")
		switch v.rel {
		case distinct:
			return v
		case conflict:
			if out.rel == same {
				out = v
			}
		}
	}
	return out
}

// value is the value[x] of an observation or component, and its type ("" when
// there is none).
func value(m map[string]any) (any, string) {
	for k, v := range m {
		if t, ok := strings.CutPrefix(k, "value"); ok && t != "" {
			return v, t
		}
	}
	return nil, ""
}

// compareValue: the same when equal after UCUM conversion (quantities), sharing a
// code (concepts) or equal (text, numbers, booleans, times); a conflict when
// comparable and different; distinct when they cannot be compared (units that do
// not convert into each other, codes of different systems, different types).
func compareValue(ta string, a any, tb string, b any, path string) verdict {
	if ta != tb {
		return verdict{}
	}
	differ := func() verdict {
		return verdict{rel: conflict, element: path, values: [2]string{describe(ta, a), describe(tb, b)}}
	}
	switch ta {
	case "Quantity":
		qa, _ := a.(map[string]any)
		qb, _ := b.(map[string]any)
		if qa["comparator"] != qb["comparator"] {
			return differ()
		}
		xa, ua, oka := canonical(qa)
		xb, ub, okb := canonical(qb)
		if !oka || !okb || ua != ub {
			return verdict{}
		}
		if math.Abs(xa-xb) <= 1e-9*math.Max(math.Abs(xa), math.Abs(xb)) {
			return verdict{rel: same}
		}
		return differ()
	case "CodeableConcept":
		if !shareSystem(a, b) {
			return verdict{}
		}
		if sameCode(a, b) {
			return verdict{rel: same}
		}
		return differ()
	case "String", "Boolean", "Integer", "Time", "DateTime":
		if fmt.Sprint(a) == fmt.Sprint(b) {
			return verdict{rel: same}
		}
		return differ()
	}
	return verdict{}
}

// canonical is a Quantity's value in its canonical UCUM unit; a unit UCUM does
// not convert compares only with itself.
func canonical(q map[string]any) (float64, string, bool) {
	v, ok := number(q["value"])
	if !ok {
		return 0, "", false
	}
	code, _ := q["code"].(string)
	system, _ := q["system"].(string)
	if code == "" || (system != "" && system != fhir.UCUMSystem) {
		code, _ = q["unit"].(string)
		if code == "" {
			return 0, "", false
		}
	}
	if x, unit, ok := fhir.CanonicalUCUM(v, code); ok {
		return x, unit, true
	}
	return v, "unit " + code, true
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case interface{ String() string }:
		f, err := strconv.ParseFloat(x.String(), 64)
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

// describe says a value in words for a conflict.
func describe(typ string, v any) string {
	switch typ {
	case "Quantity":
		q, _ := v.(map[string]any)
		unit, _ := q["unit"].(string)
		if unit == "" {
			unit, _ = q["code"].(string)
		}
		c, _ := q["comparator"].(string)
		return strings.TrimSpace(fmt.Sprintf("%s%v %s", c, q["value"], unit))
	case "CodeableConcept":
		return strings.Join(codings(v), ", ")
	}
	return fmt.Sprint(v)
}

// compareConditions: one code and one onset day; the clinical status decides.
func compareConditions(a, b fhir.Resource) verdict {
	if !sameCode(a["code"], b["code"]) || !sameDay(str(a, "onsetDateTime"), str(b, "onsetDateTime")) {
		return verdict{}
	}
	return compareStatus(activeOrNot(codes(a["clinicalStatus"])), activeOrNot(codes(b["clinicalStatus"])), "Condition.clinicalStatus", a["clinicalStatus"], b["clinicalStatus"])
}

// compareAllergies: one substance; the clinical status decides.
func compareAllergies(a, b fhir.Resource) verdict {
	if !sameCode(a["code"], b["code"]) {
		return verdict{}
	}
	return compareStatus(activeOrNot(codes(a["clinicalStatus"])), activeOrNot(codes(b["clinicalStatus"])), "AllergyIntolerance.clinicalStatus", a["clinicalStatus"], b["clinicalStatus"])
}

// activeOrNot classes a clinical status: "active" (active, recurrence, relapse),
// "inactive" (inactive, remission, resolved), "" when none is given.
func activeOrNot(cs []string) string {
	for _, c := range cs {
		switch c {
		case "active", "recurrence", "relapse":
			return "active"
		case "inactive", "remission", "resolved":
			return "inactive"
		}
	}
	return ""
}

// compareStatus: two classes of status disagree when both are stated and differ;
// what is not stated never contradicts.
func compareStatus(ca, cb, element string, a, b any) verdict {
	if ca == "" || cb == "" || ca == cb {
		return verdict{rel: same}
	}
	return verdict{rel: conflict, element: element, values: [2]string{statusText(a), statusText(b)}}
}

func statusText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return strings.Join(codes(v), ", ")
}

// compareMedications: one RxNorm code (MedicationRequest and MedicationStatement
// alike); whether it is taken decides.
func compareMedications(a, b fhir.Resource) verdict {
	ra, rb := rxnormCodes(a), rxnormCodes(b)
	if len(ra) == 0 || len(rb) == 0 || !intersects(ra, rb) {
		return verdict{}
	}
	return compareStatus(taking(str(a, "status")), taking(str(b, "status")), a["resourceType"].(string)+".status", a["status"], b["status"])
}

func rxnormCodes(res fhir.Resource) []string {
	cc, _ := res["medicationCodeableConcept"].(map[string]any)
	return codesOf(cc, rxnorm)
}

// taking classes a medication status: "taking" (active, on-hold, intended), "not
// taking" (stopped, completed, cancelled, not-taken), "" otherwise (draft,
// unknown).
func taking(s string) string {
	switch s {
	case "active", "on-hold", "intended":
		return "taking"
	case "stopped", "completed", "cancelled", "not-taken":
		return "not taking"
	}
	return ""
}

// compareImmunizations: one CVX code and one day; given or not given decides.
func compareImmunizations(a, b fhir.Resource) verdict {
	ca, cb := codesOf(asMap(a["vaccineCode"]), cvx), codesOf(asMap(b["vaccineCode"]), cvx)
	if len(ca) == 0 || len(cb) == 0 || !intersects(ca, cb) || !sameDay(str(a, "occurrenceDateTime"), str(b, "occurrenceDateTime")) {
		return verdict{}
	}
	return compareStatus(doneOrNot(str(a, "status")), doneOrNot(str(b, "status")), "Immunization.status", a["status"], b["status"])
}

// compareProcedures: one code and one day; done or not done decides.
func compareProcedures(a, b fhir.Resource) verdict {
	if !sameCode(a["code"], b["code"]) || !sameDay(performed(a), performed(b)) {
		return verdict{}
	}
	return compareStatus(doneOrNot(str(a, "status")), doneOrNot(str(b, "status")), "Procedure.status", a["status"], b["status"])
}

func doneOrNot(s string) string {
	switch s {
	case "completed":
		return "done"
	case "not-done":
		return "not done"
	}
	return ""
}

func performed(res fhir.Resource) string {
	if s := str(res, "performedDateTime"); s != "" {
		return s
	}
	p, _ := res["performedPeriod"].(map[string]any)
	s, _ := p["start"].(string)
	return s
}

// compareEncounters: one class, the same types (when either gives any) and
// starts within TimeTolerance; cancelled against held decides.
func compareEncounters(a, b fhir.Resource) verdict {
	ca, cb := asMap(a["class"]), asMap(b["class"])
	if ca == nil || cb == nil || ca["system"] != cb["system"] || ca["code"] != cb["code"] {
		return verdict{}
	}
	ta, _ := a["type"].([]any)
	tb, _ := b["type"].([]any)
	if len(ta) > 0 || len(tb) > 0 {
		if len(ta) == 0 || len(tb) == 0 || !sameCode(ta[0], tb[0]) {
			return verdict{}
		}
	}
	pa, pb := asMap(a["period"]), asMap(b["period"])
	sa, _ := pa["start"].(string)
	sb, _ := pb["start"].(string)
	if !sameTime(sa, sb, TimeTolerance) {
		return verdict{}
	}
	held := func(s string) string {
		switch s {
		case "cancelled":
			return "cancelled"
		case "", "unknown", "entered-in-error":
			return ""
		}
		return "held"
	}
	return compareStatus(held(str(a, "status")), held(str(b, "status")), "Encounter.status", a["status"], b["status"])
}

// effective is the time of an observation: effectiveDateTime, effectiveInstant or
// the start of effectivePeriod.
func effective(res fhir.Resource) string {
	for _, k := range []string{"effectiveDateTime", "effectiveInstant"} {
		if s := str(res, k); s != "" {
			return s
		}
	}
	p := asMap(res["effectivePeriod"])
	s, _ := p["start"].(string)
	return s
}

// sameTime: two date-times with a time of day are the same within tol; two
// dates without one only when written alike; a date against a date-time never
// (one is less precise: in doubt, both are shown).
func sameTime(a, b string, tol time.Duration) bool {
	if a == "" || b == "" {
		return false
	}
	ta, erra := time.Parse(time.RFC3339Nano, a)
	tb, errb := time.Parse(time.RFC3339Nano, b)
	switch {
	case erra == nil && errb == nil:
		d := ta.Sub(tb)
		return d <= tol && d >= -tol
	case erra != nil && errb != nil:
		return a == b
	}
	return false
}

// sameDay: both give at least a day, and it is the same day as written.
func sameDay(a, b string) bool {
	return len(a) >= 10 && len(b) >= 10 && a[:10] == b[:10]
}

// sameCode: two CodeableConcepts (or Codings) share a code system, and in every
// system both use they share a code. Codes of systems only one of them uses are
// no evidence either way, but one shared system is needed.
func sameCode(a, b any) bool {
	ma, mb := codeMap(a), codeMap(b)
	shared := false
	for sys, ca := range ma {
		cb, ok := mb[sys]
		if !ok {
			continue
		}
		if !intersects(ca, cb) {
			return false
		}
		shared = true
	}
	return shared
}

// shareSystem: the two concepts use a code system in common.
func shareSystem(a, b any) bool {
	mb := codeMap(b)
	for sys := range codeMap(a) {
		if _, ok := mb[sys]; ok {
			return true
		}
	}
	return false
}

// codeMap lists the codes of a CodeableConcept or Coding by system; codings
// without a system or a code are left out.
func codeMap(v any) map[string][]string {
	m := asMap(v)
	out := map[string][]string{}
	list, _ := m["coding"].([]any)
	if list == nil && m != nil {
		list = []any{m}
	}
	for _, c := range list {
		cm := asMap(c)
		sys, _ := cm["system"].(string)
		code, _ := cm["code"].(string)
		if sys != "" && code != "" {
			out[sys] = append(out[sys], code)
		}
	}
	return out
}

func codesOf(cc map[string]any, system string) []string { return codeMap(cc)[system] }

// codes lists every code of a CodeableConcept, whatever its system.
func codes(v any) []string {
	var out []string
	for _, cs := range codeMap(v) {
		out = append(out, cs...)
	}
	// Statuses without a system (as some sources send them) count as well.
	list, _ := asMap(v)["coding"].([]any)
	for _, c := range list {
		cm := asMap(c)
		if sys, _ := cm["system"].(string); sys == "" {
			if code, _ := cm["code"].(string); code != "" {
				out = append(out, code)
			}
		}
	}
	slices.Sort(out)
	return out
}

// codings lists a CodeableConcept's codings as "system|code" for a conflict.
func codings(v any) []string {
	var out []string
	for sys, cs := range codeMap(v) {
		for _, c := range cs {
			out = append(out, sys+"|"+c)
		}
	}
	slices.Sort(out)
	return out
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func str(res map[string]any, key string) string {
	s, _ := res[key].(string)
	return s
}

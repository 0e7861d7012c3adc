package hl7v2

import (
	"omnichart/internal/fhir"
	"strconv"
	"strings"
)

// report is the state of one OBR group while an ORU is converted.
type report struct {
	dr, sr    map[string]any
	drURL     string
	idBase    map[string]any // filler (or placer) order number: the report's identity
	obxCount  int
	specimens []string
}

// oru converts ORU^R01: per OBR a ServiceRequest (the order) and a DiagnosticReport,
// per OBX an Observation in the report's result, per SPM a Specimen.
//
// See the IG's message map "ORU_R01" and mappings/segments "OBR[DiagnosticReport]",
// "OBR[ServiceRequest]", "ORC[ServiceRequest]", "OBX[Observation]", "SPM[Specimen]".
func (c *converter) oru() error {
	m := c.msg
	var patient, enc string
	var orc *Segment
	var cur *report
	var lastObs map[string]any
	segs := m.All()
	for i, s := range segs {
		switch s.Name {
		case "PID":
			patient, _ = c.patient(s, nil, nil, patientCreate, nil)
			enc, cur, lastObs, orc = "", nil, nil, nil
		case "PV1":
			var pv2 *Segment
			if i+1 < len(segs) && segs[i+1].Name == "PV2" {
				pv2 = segs[i+1]
			}
			enc = c.encounter(s, pv2, patient, "")
		case "ORC":
			orc = s
		case "OBR":
			cur = c.order(s, orc, patient, enc)
			orc, lastObs = nil, nil
		case "OBX":
			if cur == nil {
				c.warn("structure", m.Position(s)+": OBX before any OBR; it is kept as a stand-alone Observation")
			}
			lastObs = c.observation(s, cur, patient, enc, "")
		case "SPM":
			if cur == nil {
				c.warn("structure", m.Position(s)+": SPM before any OBR was skipped")
				continue
			}
			if u := c.specimen(s, patient); u != "" {
				cur.specimens = append(cur.specimens, u)
				var refs []any
				for _, sp := range cur.specimens {
					refs = append(refs, ref(sp))
				}
				cur.dr["specimen"] = refs
			}
		case "NTE":
			n := note(s)
			switch {
			case n == nil:
			case lastObs != nil:
				lastObs["note"] = append(notes(lastObs), n)
			case cur != nil:
				cur.sr["note"] = append(notes(cur.sr), n)
			}
		}
	}
	return nil
}

func notes(r map[string]any) []any {
	n, _ := r["note"].([]any)
	return n
}

// resultStatus maps OBR-25 (table 0123) to DiagnosticReport.status.
func resultStatus(s string) string {
	switch val(s) {
	case "O", "I", "S":
		return "registered"
	case "P":
		return "preliminary"
	case "A", "R":
		return "partial"
	case "C", "M":
		return "corrected"
	case "F":
		return "final"
	case "X":
		return "cancelled"
	}
	return "unknown"
}

// observationStatus maps OBX-11 (table 0085) to Observation.status.
func observationStatus(s string) string {
	switch val(s) {
	case "C":
		return "corrected"
	case "D", "W":
		return "entered-in-error"
	case "F", "U":
		return "final"
	case "I", "O":
		return "registered"
	case "P", "R", "S":
		return "preliminary"
	case "X", "N":
		return "cancelled"
	case "A":
		return "amended"
	}
	return "unknown"
}

// order adds the ServiceRequest and DiagnosticReport of an OBR (with its ORC).
func (c *converter) order(obr, orc *Segment, patient, enc string) *report {
	placer := identifierEI(obr.Field(2).Rep(0), "PLAC")
	filler := identifierEI(obr.Field(3).Rep(0), "FILL")
	if orc != nil {
		if placer == nil {
			placer = identifierEI(orc.Field(2).Rep(0), "PLAC")
		}
		if filler == nil {
			filler = identifierEI(orc.Field(3).Rep(0), "FILL")
		}
	}
	var ids []any
	for _, id := range []map[string]any{placer, filler} {
		if id != nil {
			ids = append(ids, id)
		}
	}
	code := codeableConcept(obr.Field(4).Rep(0))
	if code == nil {
		c.warn("required", c.msg.Position(obr)+"-4: universal service identifier is empty")
		code = map[string]any{"text": "unknown"}
	}
	status := resultStatus(obr.Field(25).String())
	sr := map[string]any{"resourceType": "ServiceRequest", "intent": "order", "subject": ref(patient), "code": code}
	sr["status"] = "active"
	if status == "final" || status == "corrected" {
		sr["status"] = "completed"
	} else if status == "cancelled" {
		sr["status"] = "revoked"
	}
	fhir.SetIf(sr, "identifier", ids)
	fhir.SetIf(sr, "encounter", ref(enc))
	requester := c.practitioner(obr.Field(16).Rep(0))
	if requester == "" && orc != nil {
		requester = c.practitioner(orc.Field(12).Rep(0))
	}
	fhir.SetIf(sr, "requester", ref(requester))
	if orc != nil {
		fhir.SetIf(sr, "authoredOn", c.dateTime(orc.Field(9).String()))
	}
	srURL := c.add(sr)

	dr := map[string]any{"resourceType": "DiagnosticReport", "status": status, "code": code, "subject": ref(patient), "basedOn": []any{ref(srURL)}}
	if filler != nil {
		dr["identifier"] = []any{filler}
	} else if placer != nil {
		dr["identifier"] = []any{placer}
	}
	fhir.SetIf(dr, "encounter", ref(enc))
	start, end := c.dateTime(obr.Field(7).String()), c.dateTime(obr.Field(8).String())
	if end != "" && start != "" {
		dr["effectivePeriod"] = period(start, end)
	} else {
		fhir.SetIf(dr, "effectiveDateTime", start)
	}
	if iss := c.dateTime(obr.Field(22).String()); isInstant(iss) {
		dr["issued"] = iss
	}
	if cat := tableConcept(obr.Field(24).String(), "0074", ""); cat != nil {
		dr["category"] = []any{cat}
	}
	if status == "unknown" && val(obr.Field(25).String()) != "" {
		c.warn("code-invalid", c.msg.Position(obr)+"-25: result status is not in table 0123")
	}
	r := &report{dr: dr, sr: sr, idBase: filler}
	if r.idBase == nil {
		r.idBase = placer
	}
	r.drURL = c.add(dr)
	return r
}

// isInstant reports whether a converted dateTime is precise enough for a FHIR
// instant (seconds and an offset).
func isInstant(s string) bool {
	return len(s) >= 25 && s[10] == 'T'
}

// observation adds the Observation of an OBX and returns it. Inside a report it is
// listed in DiagnosticReport.result; partOf, when set, is the event it belongs to.
//
// See mappings/segments "OBX[Observation]" of the IG.
func (c *converter) observation(obx *Segment, r *report, patient, enc, partOf string) map[string]any {
	pos := c.msg.Position(obx)
	o := map[string]any{"resourceType": "Observation", "subject": ref(patient)}
	o["status"] = observationStatus(obx.Field(11).String())
	if o["status"] == "unknown" && val(obx.Field(11).String()) != "" {
		c.warn("code-invalid", pos+"-11: result status is not in table 0085")
	}
	code := codeableConcept(obx.Field(3).Rep(0))
	if code == nil {
		c.warn("required", pos+"-3: observation identifier is empty")
		code = map[string]any{"text": "unknown"}
	}
	o["code"] = code
	fhir.SetIf(o, "encounter", ref(enc))
	var ids []any
	if r != nil {
		r.obxCount++
		seq := val(obx.Field(1).String())
		if seq == "" {
			seq = strconv.Itoa(r.obxCount)
		}
		if sub := val(obx.Field(4).String()); sub != "" {
			seq += "-" + sub
		}
		if id := otherIdentifier(r.idBase, "-"+seq); id != nil {
			ids = append(ids, id)
		}
	}
	if id := identifierEI(obx.Field(21).Rep(0), "FILL"); id != nil {
		ids = append(ids, id)
	}
	fhir.SetIf(o, "identifier", ids)
	c.observationValue(obx, o, pos)
	if rr := c.referenceRange(obx.Field(7).String(), o); rr != nil {
		o["referenceRange"] = []any{rr}
	}
	var interp []any
	for _, rep := range obx.Field(8).Reps() {
		code := val(rep.Comp(1))
		if code == "" {
			continue
		}
		cod := map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": code}
		if d := val(rep.Comp(2)); d != "" && d != code {
			cod["display"] = d
		}
		interp = append(interp, map[string]any{"coding": []any{cod}})
	}
	fhir.SetIf(o, "interpretation", interp)
	eff := c.dateTime(obx.Field(14).String())
	if eff == "" && r != nil {
		eff, _ = r.dr["effectiveDateTime"].(string)
	}
	fhir.SetIf(o, "effectiveDateTime", eff)
	var perf []any
	for _, rep := range obx.Field(16).Reps() {
		if u := c.practitioner(rep); u != "" {
			perf = append(perf, ref(u))
		}
	}
	if u := c.organization(obx.Field(23).Rep(0)); u != "" {
		perf = append(perf, ref(u))
	}
	fhir.SetIf(o, "performer", perf)
	fhir.SetIf(o, "method", codeableConcept(obx.Field(17).Rep(0)))
	fhir.SetIf(o, "bodySite", codeableConcept(obx.Field(20).Rep(0)))
	if r != nil && len(r.specimens) > 0 {
		o["specimen"] = ref(r.specimens[len(r.specimens)-1])
	}
	if partOf != "" {
		o["partOf"] = []any{ref(partOf)}
	}
	u := c.add(o)
	if r != nil {
		res, _ := r.dr["result"].([]any)
		r.dr["result"] = append(res, ref(u))
	}
	return o
}

// observationValue sets value[x] from OBX-5 according to the value type in OBX-2.
func (c *converter) observationValue(obx *Segment, o map[string]any, pos string) {
	f := obx.Field(5)
	if f.IsEmpty() {
		return
	}
	typ := strings.ToUpper(val(obx.Field(2).String()))
	first := f.Rep(0)
	if len(f.Reps()) > 1 && typ != "ST" && typ != "TX" && typ != "FT" {
		c.warn("not-supported", pos+"-5: only the first of several values was kept")
	}
	unit := obx.Field(6).Rep(0)
	switch typ {
	case "NM":
		if q := c.quantity(first.String(), unit); q != nil {
			o["valueQuantity"] = q
			return
		}
		c.warn("value", pos+"-5: value of type NM is not a number; kept as text")
		o["valueString"] = val(first.String())
	case "ST", "TX", "FT", "":
		if typ == "" {
			c.warn("required", pos+"-2: value type is empty; the value was kept as text")
		}
		var lines []string
		for _, rep := range f.Reps() {
			lines = append(lines, joinComps(rep))
		}
		if s := strings.TrimRight(strings.Join(lines, "\n"), "\n "); s != "" {
			o["valueString"] = s
		}
	case "CWE", "CE", "CNE", "CF", "IS", "ID", "CV":
		fhir.SetIf(o, "valueCodeableConcept", codeableConcept(first))
	case "SN":
		c.structuredNumeric(first, unit, o, pos)
	case "DT", "DTM", "TS":
		if d := c.dateTime(first.String()); d != "" {
			o["valueDateTime"] = d
		}
	case "TM":
		if t := formatTM(first.String()); t != "" {
			o["valueTime"] = t
		} else if val(first.String()) != "" {
			c.warn("value", pos+"-5: value of type TM is not a valid time and was left out")
		}
	case "DR":
		fhir.SetIf(o, "valuePeriod", period(c.dateTime(first.Component(1).Sub(1)), c.dateTime(first.Component(2).Sub(1))))
	default:
		c.warn("not-supported", pos+"-2: value type "+safeCode(typ)+" is not mapped to an Observation value")
	}
}

// joinComps renders a text value that the sender split on the component separator.
func joinComps(r Rep) string {
	var parts []string
	for i := 1; i <= r.NumComps(); i++ {
		parts = append(parts, r.Comp(i))
	}
	return strings.TrimRight(strings.Join(parts, "^"), "^")
}

// quantity maps a number with its unit (a CWE: code 1, text 2, system 3). The unit
// system is UCUM when the sender says so.
func (c *converter) quantity(num string, unit Rep) map[string]any {
	n, ok := decimal(num)
	if !ok {
		return nil
	}
	q := map[string]any{"value": n}
	code, text, sys := val(unit.Comp(1)), val(unit.Comp(2)), strings.ToUpper(val(unit.Comp(3)))
	if text == "" {
		text = code
	}
	fhir.SetIf(q, "unit", text)
	if code != "" && (sys == "UCUM" || sys == "ANSI+" || sys == "ISO+") {
		q["system"] = "http://unitsofmeasure.org"
		q["code"] = code
	}
	return q
}

// structuredNumeric maps SN: comparator (1), number (2), separator (3), number (4).
func (c *converter) structuredNumeric(r Rep, unit Rep, o map[string]any, pos string) {
	cmp, n1, sep, n2 := val(r.Comp(1)), val(r.Comp(2)), val(r.Comp(3)), val(r.Comp(4))
	text := strings.TrimSpace(strings.Join([]string{cmp, n1, sep, n2}, " "))
	switch {
	case cmp == "<>" || sep == "+":
		o["valueString"] = text
	case sep == ":" || sep == "/":
		num, den := c.quantity(n1, unit), c.quantity(n2, Rep{})
		if num == nil || den == nil {
			o["valueString"] = text
			return
		}
		o["valueRatio"] = map[string]any{"numerator": num, "denominator": den}
	case sep == "-":
		lo, hi := c.quantity(n1, unit), c.quantity(n2, unit)
		if lo == nil || hi == nil {
			o["valueString"] = text
			return
		}
		o["valueRange"] = map[string]any{"low": lo, "high": hi}
	case sep == "":
		q := c.quantity(n1, unit)
		if q == nil {
			c.warn("value", pos+"-5: structured numeric value has no number; kept as text")
			o["valueString"] = text
			return
		}
		switch cmp {
		case "<", ">", "<=", ">=":
			q["comparator"] = cmp
		}
		o["valueQuantity"] = q
	default:
		o["valueString"] = text
	}
}

func formatTM(s string) string {
	s = val(s)
	if i := strings.IndexAny(s, "+-"); i >= 0 {
		s = s[:i]
	}
	frac := ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s, frac = s[:i], s[i:]
	}
	if !isDigits(s) || len(s)%2 != 0 || len(s) < 2 || len(s) > 6 {
		return ""
	}
	for len(s) < 6 {
		s += "00"
	}
	// A time FHIR cannot hold would make the whole Observation invalid.
	if s[0:2] > "23" || s[2:4] > "59" || s[4:6] > "60" {
		return ""
	}
	out := s[0:2] + ":" + s[2:4] + ":" + s[4:6]
	if len(frac) > 1 && isDigits(frac[1:]) {
		out += frac
	}
	return out
}

// referenceRange maps OBX-7: "low-high", "<high", "<=high", ">low", ">=low", else
// text only. Bounds take the unit of the value.
func (c *converter) referenceRange(s string, o map[string]any) map[string]any {
	s = val(s)
	if s == "" {
		return nil
	}
	rr := map[string]any{"text": s}
	var unit Rep
	if q, ok := o["valueQuantity"].(map[string]any); ok {
		unit = Rep{comps: []Comp{{subs: []string{str(q["code"])}}, {subs: []string{str(q["unit"])}}}}
		if q["system"] != nil {
			unit.comps = append(unit.comps, Comp{subs: []string{"UCUM"}})
		}
	}
	bound := func(n string) map[string]any {
		q := c.quantity(n, unit)
		if q == nil {
			return nil
		}
		return q
	}
	t := strings.ReplaceAll(strings.ReplaceAll(s, " to ", "-"), " ", "")
	switch {
	case strings.HasPrefix(t, "<="), strings.HasPrefix(t, "<"):
		fhir.SetIf(rr, "high", bound(strings.TrimLeft(t, "<=")))
	case strings.HasPrefix(t, ">="), strings.HasPrefix(t, ">"):
		fhir.SetIf(rr, "low", bound(strings.TrimLeft(t, ">=")))
	default:
		if i := strings.Index(t[1:], "-"); i >= 0 {
			lo, hi := bound(t[:i+1]), bound(t[i+2:])
			if lo != nil && hi != nil {
				rr["low"], rr["high"] = lo, hi
			}
		}
	}
	return rr
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// specimen adds the Specimen of an SPM and returns its fullUrl.
//
// See mappings/segments "SPM[Specimen]" of the IG.
func (c *converter) specimen(spm *Segment, patient string) string {
	sp := map[string]any{"resourceType": "Specimen", "subject": ref(patient)}
	var ids []any
	for i, typ := range []string{"PGN", "FGN"} {
		cmp := spm.Field(2).Rep(0).Component(i + 1)
		if v := val(cmp.Sub(1)); v != "" {
			id := map[string]any{"value": v, "type": tableConcept(typ, "0203", "")}
			fhir.SetIf(id, "system", hdSystem(cmp.Sub(2), cmp.Sub(3), cmp.Sub(4)))
			ids = append(ids, id)
		}
	}
	fhir.SetIf(sp, "identifier", ids)
	fhir.SetIf(sp, "type", codeableConcept(spm.Field(4).Rep(0)))
	coll := map[string]any{}
	rng := spm.Field(17).Rep(0)
	start, end := c.dateTime(rng.Component(1).Sub(1)), c.dateTime(rng.Component(2).Sub(1))
	if end != "" && start != "" {
		coll["collectedPeriod"] = period(start, end)
	} else {
		fhir.SetIf(coll, "collectedDateTime", start)
	}
	fhir.SetIf(coll, "bodySite", codeableConcept(spm.Field(8).Rep(0)))
	fhir.SetIf(coll, "method", codeableConcept(spm.Field(7).Rep(0)))
	fhir.SetIf(sp, "collection", coll)
	if rt := c.dateTime(spm.Field(18).String()); isInstant(rt) {
		sp["receivedTime"] = rt
	}
	if len(sp) == 2 {
		return ""
	}
	return c.add(sp)
}

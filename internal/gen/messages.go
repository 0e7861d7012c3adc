package gen

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// event is one HL7 v2 message to send, at its time.
type event struct {
	at  time.Time
	msg func(id string) message
}

// hl7File writes what an HL7 v2 source sends about one person: for each visit an
// ADT^A04 (preceded by an ADT^A08 when the person moved since the last one) and
// ORU^R01 for its lab panels and vital signs; a laboratory sends an ORU^R01 per
// panel. Messages are in time order, each ended by a carriage return.
func (w *writer) hl7File(h *history, d *demographics) []byte {
	si := w.si
	var events []event
	lastAddr := d.addressAt(d.from)
	for _, e := range h.encs[si] {
		if a := d.addressAt(e.at); a != lastAddr {
			lastAddr = a
			events = append(events, event{e.at.Add(-2 * time.Minute), func(id string) message {
				return w.adt("A08", id, e.at.Add(-2*time.Minute), d, nil)
			}})
		}
		events = append(events, event{e.at, func(id string) message { return w.adt("A04", id, e.at, d, e) }})
		if w.r.IntN(10) < 7 {
			events = append(events, event{e.at.Add(15 * time.Minute), func(id string) message { return w.vitalsORU(id, d, e) }})
		}
	}
	for _, pn := range h.panels {
		for i, pv := range pn.views {
			if pv.src == si {
				resulted := pn.at.Add(time.Duration(3+w.r.IntN(30)) * time.Hour)
				events = append(events, event{resulted, func(id string) message { return w.labORU(id, d, pn, i, resulted) }})
			}
		}
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].at.Before(events[j].at) })
	var b []byte
	for _, ev := range events {
		b = append(b, ev.msg(w.next()).bytes()...)
	}
	return b
}

// msh is the message header: sending application and facility, the time, the
// type, the control id, processing id P and version 2.5.1.
func (w *writer) msh(typ, structure, id string, at time.Time) *segment {
	code, event, _ := strings.Cut(typ, "^")
	return seg("MSH").set(3, text(strings.ToUpper(w.src.Vendor))).set(4, text(w.src.Facility)).
		set(5, "OMNICHART").set(6, "OMNICHART").set(7, ts(at)).
		set(9, comps(text(code), text(event), text(structure))).set(10, text(id)).set(11, "P").set(12, "2.5.1")
}

// pid writes the patient as the source has them at time t.
func (w *writer) pid(d *demographics, t time.Time) *segment {
	s := seg("PID").set(1, "1")
	s.set(3, comps(text(d.mrn), "", "", hdOID(strings.TrimPrefix(w.src.MRNSystem, "urn:oid:")), "MR"))
	names := []er7{texts(d.text(d.family), d.text(d.given), d.text(d.middle), d.suffix, "", "", "L")}
	if d.p.maiden != "" && d.family != d.p.maiden && w.r.IntN(3) == 0 {
		names = append(names, texts(d.text(d.p.maiden), d.text(d.given), "", "", "", "", "M"))
	}
	s.set(5, reps(names...))
	s.set(7, dt(d.birth))
	s.set(8, er7(map[string]string{"male": "M", "female": "F"}[d.p.sex]))
	a := d.addressAt(t)
	lines := a.lines(w.src.style)
	line2 := ""
	if len(lines) > 1 {
		line2 = lines[1]
	}
	s.set(11, texts(d.text(lines[0]), d.text(line2), d.text(a.town.city), state, a.zip(w.src.style), "USA", "H"))
	if d.home != "" {
		s.set(13, comps(text(d.home), "PRN", "PH"))
	}
	s.set(19, text(d.ssn))
	if d.multipleBirth > 0 {
		s.set(24, "Y").set(25, er7(strconv.Itoa(d.multipleBirth)))
	}
	return s
}

// xcn writes a clinician with their NPI (XCN-13 identifier type NPI).
func xcn(p practitioner) er7 {
	return comps(text(p.npi), text(p.family), text(p.given), "", "", "", "MD", "", "", "", "", "", "NPI")
}

// adt writes an ADT^A04 (registration at a visit) or ADT^A08 (demographics
// updated); a visit's problems go in DG1 and its newly known allergies in AL1.
func (w *writer) adt(event, id string, at time.Time, d *demographics, e *encounter) message {
	m := message{w.msh("ADT^"+event, "ADT_A01", id, at), seg("EVN").set(1, text(event)).set(2, ts(at)), w.pid(d, at)}
	pv1 := seg("PV1").set(1, "1").set(2, "N")
	if e != nil {
		if e.visit == "" {
			e.visit = "V" + w.next()
		}
		loc := map[string]string{"O": "CLINIC", "E": "ED", "I": "MED4"}[e.typ.v2class]
		pv1.set(2, text(e.typ.v2class)).set(3, comps(text(loc), "", "", text(w.src.Facility))).set(7, xcn(e.prac)).
			set(19, comps(text(e.visit), "", "", hdOID(strings.TrimPrefix(w.src.VisitSystem, "urn:oid:")), "VN")).
			set(44, ts(e.at)).set(45, ts(e.end))
	}
	m = append(m, pv1)
	if e == nil {
		return m
	}
	n := 0
	for _, f := range append([]*fact{e.reason}, e.diagnoses...) {
		if f == nil {
			continue
		}
		n++
		v := w.viewOf(f)
		recID := w.recordID(f, v)
		dg := seg("DG1").set(1, er7(strconv.Itoa(n))).set(2, "I10").set(3, texts(f.cond.icd10, f.cond.icdText, "I10")).
			set(5, ts(maxTime(f.at, d.from))).set(6, er7(map[bool]string{true: "F", false: "W"}[f.cond.chronic])).
			set(20, ei(recID, strings.TrimPrefix(w.src.RecordSystem, "urn:oid:")))
		m = append(m, dg)
		w.ref(v, d, "Condition", &Identifier{w.src.RecordSystem, recID}, ICD10CM+"|"+f.cond.icd10, e.at, "", "")
	}
	for i, f := range e.allergies {
		a := f.allergy
		v := w.viewOf(f)
		sys := map[string]string{RxNorm: "RXNORM", SNOMED: "SCT"}[a.system]
		sev := "MO"
		if f.severe {
			sev = "SV"
		}
		m = append(m, seg("AL1").set(1, er7(strconv.Itoa(i+1))).set(2, text(a.v2type)).set(3, texts(a.code, a.display, sys)).
			set(4, text(sev)).set(5, text(f.reaction[1])).set(6, dt(f.at)))
		w.ref(v, d, "AllergyIntolerance", nil, a.system+"|"+a.code, e.at, v.statusOf(f), "")
	}
	return m
}

// labORU writes the ORU^R01 of one lab panel as the source at view i reports it.
func (w *writer) labORU(id string, d *demographics, pn *panel, i int, resulted time.Time) message {
	pv := pn.views[i]
	if pv.accession == "" {
		pv.accession = w.accessionPrefix() + pn.at.In(zone).Format("06") + "-" + w.next()
	}
	orderOID := strings.TrimPrefix(w.src.orderSystem(), "urn:oid:")
	m := message{w.msh("ORU^R01", "ORU_R01", id, resulted), w.pid(d, pn.at),
		seg("ORC").set(1, "RE").set(2, text(pn.placer)).set(3, ei(pv.accession, orderOID)).set(9, ts(pn.at)).set(12, xcn(pv.orderer)),
		seg("OBR").set(1, "1").set(2, text(pn.placer)).set(3, ei(pv.accession, orderOID)).
			set(4, texts(pn.def.loinc, pn.def.display, "LN")).set(7, ts(pn.at)).set(16, xcn(pv.orderer)).
			set(22, ts(resulted)).set(24, text(pn.def.section)).set(25, "F"),
	}
	for k, f := range pn.results {
		v := f.views[i]
		value := v.valueOf(f)
		num := strconv.FormatFloat(value, 'f', f.test.decimals, 64)
		m = append(m, seg("OBX").set(1, er7(strconv.Itoa(k+1))).set(2, "NM").set(3, texts(f.test.loinc, f.test.display, "LN")).
			set(5, text(num)).set(6, texts(f.test.unit, f.test.unit, "UCUM")).set(7, text(rangeText(f.test))).
			set(8, text(flag(f.test, value))).set(11, "F").set(14, ts(pn.at)))
		if w.r.IntN(25) == 0 {
			m = append(m, seg("NTE").set(1, "1").set(2, "L").set(3, text(pick(w.r, noteComments))))
		}
		w.ref(v, d, "Observation", &Identifier{w.src.orderSystem(), pv.accession + "-" + strconv.Itoa(k+1)},
			LOINC+"|"+f.test.loinc, pn.at, "", num+" "+f.test.unit)
	}
	return m
}

// vitalsORU writes the vital signs of a visit as an ORU^R01.
func (w *writer) vitalsORU(id string, d *demographics, e *encounter) message {
	acc := "VS" + w.next()
	orderOID := strings.TrimPrefix(w.src.orderSystem(), "urn:oid:")
	m := message{w.msh("ORU^R01", "ORU_R01", id, e.at.Add(15*time.Minute)), w.pid(d, e.at),
		seg("OBR").set(1, "1").set(3, ei(acc, orderOID)).set(4, texts(panelVitals.loinc, panelVitals.display, "LN")).
			set(7, ts(e.at)).set(16, xcn(e.prac)).set(22, ts(e.at.Add(15*time.Minute))).set(25, "F"),
	}
	for k, vs := range vitalList(e.vitals) {
		m = append(m, seg("OBX").set(1, er7(strconv.Itoa(k+1))).set(2, "NM").set(3, texts(vs.def.loinc, vs.def.display, "LN")).
			set(5, text(strconv.FormatFloat(vs.value, 'f', vs.def.decimals, 64))).set(6, texts(vs.def.unit, vs.def.unit, "UCUM")).
			set(11, "F").set(14, ts(e.at)))
	}
	return m
}

func (w *writer) accessionPrefix() string {
	if w.src.Kind == KindLab {
		return "N"
	}
	return "H"
}

// rangeText is OBX-7: "low-high", "<high" or ">low".
func rangeText(t *labTest) string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', t.decimals, 64) }
	switch {
	case t.low > 0 && t.high > 0:
		return f(t.low) + "-" + f(t.high)
	case t.high > 0:
		return "<" + f(t.high)
	case t.low > 0:
		return ">" + f(t.low)
	}
	return ""
}

// flag is the abnormal flag (OBX-8, table 0078): H, L or N.
func flag(t *labTest, v float64) string {
	switch {
	case t.high > 0 && v > t.high:
		return "H"
	case t.low > 0 && v < t.low:
		return "L"
	}
	return "N"
}

// vitalSign is one measured vital sign.
type vitalSign struct {
	def   vitalDef
	value float64
}

// vitalList lists the separate measurements of a visit's vital signs.
func vitalList(v vitals) []vitalSign {
	bmi := v.weight / (v.height / 100) / (v.height / 100)
	return []vitalSign{
		{vitalSys, float64(v.sys)}, {vitalDia, float64(v.dia)}, {vitalHR, float64(v.hr)}, {vitalRR, float64(v.rr)},
		{vitalTemp, v.temp}, {vitalWeight, v.weight}, {vitalHeight, v.height}, {vitalBMI, bmi}, {vitalSpO2, float64(v.spo2)},
	}
}

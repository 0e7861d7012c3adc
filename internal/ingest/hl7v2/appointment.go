package hl7v2

import (
	"omnichart/internal/fhir"
	"strconv"
	"strings"
)

// siu converts SIU^S12 to an Appointment: identifiers, timing, reason and status
// from SCH, the patient from PID, practitioners from AIP, locations from AIL, and
// comments from NTE.
//
// See the IG's message map "SIU_S12", mappings/segments "SCH[Appointment]",
// "AIL[Appointment]", "AIP[Appointment]" and "NTE[Appointment-Comment]".
func (c *converter) siu() error {
	m := c.msg
	sch := m.Segment("SCH")
	ap := map[string]any{"resourceType": "Appointment"}
	var ids []any
	if id := identifierEI(sch.Field(1).Rep(0), "PLAC"); id != nil {
		ids = append(ids, id)
	}
	if id := identifierEI(sch.Field(2).Rep(0), "FILL"); id != nil {
		ids = append(ids, id)
	}
	fhir.SetIf(ap, "identifier", ids)
	status := "booked"
	switch strings.ToLower(val(sch.Field(25).String())) {
	case "pending":
		status = "pending"
	case "cancelled", "deleted", "dc":
		status = "cancelled"
	case "complete":
		status = "fulfilled"
	case "noshow":
		status = "noshow"
	case "waitlist":
		status = "waitlist"
	case "started":
		status = "arrived"
	}
	ap["status"] = status
	if cc := codeableConcept(sch.Field(7).Rep(0)); cc != nil {
		ap["reasonCode"] = []any{cc}
	}
	fhir.SetIf(ap, "appointmentType", codeableConcept(sch.Field(8).Rep(0)))
	tq := sch.Field(11).Rep(0)
	start, end := c.dateTime(tq.Component(4).Sub(1)), c.dateTime(tq.Component(5).Sub(1))
	if start == "" {
		for _, name := range []string{"AIS", "AIL", "AIP", "AIG"} {
			if s := m.Segment(name); s != nil {
				if start = c.dateTime(s.Field(6).String()); start != "" {
					break
				}
			}
		}
	}
	if isInstant(start) {
		ap["start"] = start
	}
	if isInstant(end) {
		ap["end"] = end
	}
	if d := val(sch.Field(9).String()); isDigits(d) {
		n, _ := strconv.Atoi(d)
		switch strings.ToLower(val(sch.Field(10).Comp(1))) {
		case "h", "hr", "hour", "hours":
			n *= 60
		}
		if n > 0 {
			ap["minutesDuration"] = jsonInt(strconv.Itoa(n))
		}
	}
	var comments []string
	for _, nte := range m.Segments("NTE") {
		if n := note(nte); n != nil {
			comments = append(comments, n["text"].(string))
		}
	}
	fhir.SetIf(ap, "comment", strings.Join(comments, "\n"))
	var parts []any
	if pid := m.Segment("PID"); pid != nil {
		patient, _ := c.patient(pid, m.Segment("PD1"), nil, patientCreate, nil)
		parts = append(parts, map[string]any{"actor": ref(patient), "status": "accepted"})
	}
	for _, aip := range m.Segments("AIP") {
		u := c.practitioner(aip.Field(3).Rep(0))
		if u == "" {
			continue
		}
		p := map[string]any{"actor": ref(u), "status": participantStatus(aip.Field(12).String())}
		if cc := codeableConcept(aip.Field(4).Rep(0)); cc != nil {
			p["type"] = []any{cc}
		}
		parts = append(parts, p)
	}
	for _, ail := range m.Segments("AIL") {
		name := locationText(ail.Field(3).Rep(0))
		if name == "" {
			continue
		}
		loc := map[string]any{"resourceType": "Location", "name": name}
		fhir.SetIf(loc, "type", codeableConcepts(ail.Field(4)))
		u := c.add(loc)
		parts = append(parts, map[string]any{"actor": ref(u), "status": participantStatus(ail.Field(12).String())})
	}
	if len(parts) == 0 {
		c.warn("required", "the appointment names no patient, practitioner or location")
		parts = append(parts, map[string]any{"status": "needs-action", "type": []any{map[string]any{"text": "unknown"}}})
	}
	ap["participant"] = parts
	if _, ok := ap["start"]; !ok && status != "cancelled" && status != "waitlist" {
		c.warn("incomplete", "SCH-11: the appointment has no start time with a UTC offset")
	}
	c.add(ap)
	return nil
}

// participantStatus maps a filler status code (table 0278) to
// Appointment.participant.status.
func participantStatus(s string) string {
	switch strings.ToLower(val(s)) {
	case "pending", "waitlist":
		return "tentative"
	case "cancelled", "deleted", "noshow":
		return "declined"
	}
	return "accepted"
}

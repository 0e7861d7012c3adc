package synth

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// lab is one laboratory test: its LOINC code, its usual unit and range, and an
// alternative unit a second source might report it in (with the factor from the
// usual unit), convertible by UCUM so that quantity search finds both.
type lab struct {
	code, display string
	unit          string
	lo, hi        float64
	decimals      int
	altUnit       string
	altFactor     float64
	altDecimals   int
	reportCode    string
	reportDisplay string
}

var labs = []lab{
	{"2339-0", "Glucose [Mass/volume] in Blood", "mg/dL", 65, 210, 0, "g/L", 0.01, 2, "51990-0", "Basic metabolic panel - Blood"},
	{"2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.5, 1.6, 2, "mg/L", 10, 1, "51990-0", "Basic metabolic panel - Blood"},
	{"2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", 3.3, 5.4, 1, "umol/L", 1000, 0, "51990-0", "Basic metabolic panel - Blood"},
	{"2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 133, 147, 0, "", 0, 0, "51990-0", "Basic metabolic panel - Blood"},
	{"2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", 140, 280, 0, "g/L", 0.01, 2, "57698-3", "Lipid panel - Serum or Plasma"},
	{"2571-8", "Triglycerides [Mass/volume] in Serum or Plasma", "mg/dL", 50, 300, 0, "", 0, 0, "57698-3", "Lipid panel - Serum or Plasma"},
	{"718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 11, 17.5, 1, "g/L", 10, 0, "58410-2", "CBC panel - Blood"},
	{"6690-2", "Leukocytes [#/volume] in Blood", "10*3/uL", 3.5, 12, 1, "10*9/L", 1, 1, "58410-2", "CBC panel - Blood"},
	{"4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 4.5, 10, 1, "", 0, 0, "4548-4", "Hemoglobin A1c"},
}

// vital is one vital sign with an alternative unit, as lab.
type vital struct {
	code, display string
	unit          string
	lo, hi        float64
	decimals      int
	altUnit       string
	altOf         func(float64) float64
	altDecimals   int
}

var vitals = []vital{
	{"8867-4", "Heart rate", "/min", 55, 110, 0, "", nil, 0},
	{"9279-1", "Respiratory rate", "/min", 11, 22, 0, "", nil, 0},
	{"8310-5", "Body temperature", "Cel", 36.1, 38.6, 1, "[degF]", func(c float64) float64 { return c*9/5 + 32 }, 1},
	{"29463-7", "Body weight", "kg", 48, 120, 1, "[lb_av]", func(kg float64) float64 { return kg / 0.45359237 }, 1},
	{"8302-2", "Body height", "cm", 150, 195, 1, "[in_i]", func(cm float64) float64 { return cm / 2.54 }, 1},
	{"39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", 18, 38, 1, "", nil, 0},
}

var encounterTypes = []struct {
	class, code, display string
}{
	{"AMB", "185349003", "Encounter for check up (procedure)"},
	{"AMB", "185345009", "Encounter for symptom (procedure)"},
	{"AMB", "410620009", "Well child visit (procedure)"},
	{"EMER", "50849002", "Emergency room admission (procedure)"},
	{"IMP", "183452005", "Emergency hospital admission (procedure)"},
}

var conditions = []struct{ code, display string }{
	{"44054006", "Diabetes mellitus type 2 (disorder)"},
	{"38341003", "Hypertensive disorder, systemic arterial (disorder)"},
	{"195662009", "Acute viral pharyngitis (disorder)"},
	{"10509002", "Acute bronchitis (disorder)"},
	{"15777000", "Prediabetes"},
	{"40055000", "Chronic sinusitis (disorder)"},
	{"233604007", "Pneumonia (disorder)"},
	{"55822004", "Hyperlipidemia"},
}

var medications = []struct{ code, display string }{
	{"860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet"},
	{"314076", "lisinopril 10 MG Oral Tablet"},
	{"197361", "Amlodipine 5 MG Oral Tablet"},
	{"313782", "Acetaminophen 325 MG Oral Tablet"},
	{"308182", "Amoxicillin 250 MG Oral Capsule"},
	{"316672", "Simvastatin 10 MG Oral Tablet"},
}

var vaccines = []struct{ code, display string }{
	{"140", "Influenza, seasonal, injectable, preservative free"},
	{"08", "Hep B, adolescent or pediatric"},
	{"113", "Td (adult) preservative free"},
	{"133", "Pneumococcal conjugate PCV 13"},
	{"208", "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, 30 mcg/0.3mL dose"},
}

var procedures = []struct{ code, display string }{
	{"430193006", "Medication Reconciliation (procedure)"},
	{"73761001", "Colonoscopy"},
	{"710824005", "Assessment of health and social care needs (procedure)"},
	{"171207006", "Depression screening (procedure)"},
	{"23426006", "Measurement of respiratory function (procedure)"},
}

// patient accumulates the resources of one patient.
type patient struct {
	g    *Generator
	r    *rand.Rand
	id   string
	out  []map[string]any
	seqs map[string]int
	gp   string
	org  string
}

// nextID returns the next id of a resource type within the patient, e.g.
// "pat-000012-obs-00042".
func (p *patient) nextID(short string) string {
	p.seqs[short]++
	return fmt.Sprintf("%s-%s-%05d", p.id, short, p.seqs[short])
}

func (p *patient) add(res map[string]any) { p.out = append(p.out, res) }

// Patient returns all resources of patient i, the Patient first, each with its id.
// Patients are independent: the result depends only on the seed and i.
func (g *Generator) Patient(i int) []map[string]any {
	r := g.rng(uint64(i))
	p := &patient{g: g, r: r, id: PatientID(i), seqs: map[string]int{}}
	p.gp = PractitionerID(r.IntN(max(1, g.Practitioners)))
	p.org = OrganizationID(r.IntN(max(1, g.Organizations)))
	per := max(g.PerPatient, 1)
	target := per/2 + r.IntN(per+1)

	birth := time.Date(1930+r.IntN(90), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
	pat, deceased := p.patientResource(i, birth)
	p.add(pat)

	// Encounters run from the later of birth and 2000 to the death or 2025, in order.
	start := birth
	if floor := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC); start.Before(floor) {
		start = floor
	}
	end := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	if !deceased.IsZero() {
		end = deceased
	}
	if !end.After(start) {
		end = start.Add(24 * time.Hour)
	}
	// Spread the encounters evenly, with jitter, over the record's span; the number
	// of encounters follows from the resource budget (about 11 resources each).
	n := max(1, (target-1)/11)
	span := end.Sub(start)
	for k := 0; k < n && len(p.out) < target; k++ {
		at := start.Add(time.Duration(float64(span) * (float64(k) + r.Float64()) / float64(n)))
		at = at.Truncate(time.Second)
		p.encounter(at)
	}
	return p.out
}

func (p *patient) patientResource(i int, birth time.Time) (map[string]any, time.Time) {
	r := p.r
	female := r.IntN(2) == 0
	gender := map[bool]string{true: "female", false: "male"}[female]
	givens := givenMale
	if female {
		givens = givenFemale
	}
	given := []any{pick(r, givens)}
	if r.IntN(3) == 0 {
		given = append(given, pick(r, givens))
	}
	family := pick(r, families)
	names := []any{map[string]any{"use": "official", "family": family, "given": given}}
	if female && r.IntN(6) == 0 {
		names = append(names, map[string]any{"use": "maiden", "family": pick(r, families), "given": given[:1]})
	}
	var birthDate string
	switch x := r.IntN(20); {
	case x == 0:
		birthDate = birth.Format("2006")
	case x < 3:
		birthDate = birth.Format("2006-01")
	default:
		birthDate = birth.Format("2006-01-02")
	}
	c := pick(r, cities)
	res := map[string]any{
		"resourceType": "Patient",
		"id":           p.id,
		"meta":         profiled(meta(r), usCore+"us-core-patient"),
		"identifier": []any{
			map[string]any{
				"type":   map[string]any{"coding": []any{coding(v2IDType, "MR", "Medical Record Number")}, "text": "Medical Record Number"},
				"system": MRNSystem, "value": fmt.Sprintf("MRN%07d", 1000000+i),
			},
			map[string]any{
				"type":   map[string]any{"coding": []any{coding(v2IDType, "SS", "Social Security number")}},
				"system": "http://hl7.org/fhir/sid/us-ssn", "value": fmt.Sprintf("999-%02d-%04d", i/10000%100, i%10000),
			},
		},
		"active":    r.IntN(10) != 0,
		"name":      names,
		"gender":    gender,
		"birthDate": birthDate,
		"address": []any{map[string]any{
			"use": "home", "line": []any{fmt.Sprintf("%d %s", 1+r.IntN(999), pick(r, streets))},
			"city": c.city, "state": c.state, "postalCode": c.zip, "country": c.country,
		}},
		"telecom": []any{
			map[string]any{"system": "phone", "value": phone(r), "use": pick(r, []string{"home", "mobile"})},
			map[string]any{"system": "email", "value": fmt.Sprintf("patient%d@example.org", i)},
		},
		"communication":        []any{map[string]any{"language": concept("urn:ietf:bcp:47", pick(r, []string{"en-US", "fr-CA", "de-CH", "pt-BR"}), "")}},
		"generalPractitioner":  []any{ref("Practitioner", p.gp)},
		"managingOrganization": ref("Organization", p.org),
	}
	var deceased time.Time
	if r.IntN(12) == 0 {
		deceased = time.Date(2010+r.IntN(15), time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), r.IntN(60), 0, 0, time.UTC)
		if deceased.Before(birth) {
			deceased = birth.AddDate(1, 0, 0)
		}
		if r.IntN(3) == 0 {
			res["deceasedBoolean"] = true
		} else {
			res["deceasedDateTime"] = dateTime(r, deceased)
		}
	}
	return res, deceased
}

// encounter adds one encounter at t with what happened during it.
func (p *patient) encounter(t time.Time) {
	r := p.r
	et := pick(r, encounterTypes)
	dur := time.Duration(15+r.IntN(90)) * time.Minute
	if et.class == "IMP" {
		dur = time.Duration(1+r.IntN(5)) * 24 * time.Hour
	}
	practitioner := PractitionerID(r.IntN(max(1, p.g.Practitioners)))
	if r.IntN(2) == 0 {
		practitioner = p.gp
	}
	encID := p.nextID("enc")
	enc := map[string]any{
		"resourceType":    "Encounter",
		"id":              encID,
		"meta":            meta(r),
		"status":          "finished",
		"class":           map[string]any{"system": actCode, "code": et.class},
		"type":            []any{concept(SNOMED, et.code, et.display)},
		"subject":         ref("Patient", p.id),
		"participant":     []any{map[string]any{"individual": ref("Practitioner", practitioner)}},
		"period":          map[string]any{"start": dateTime(r, t), "end": dateTime(r, t.Add(dur))},
		"serviceProvider": ref("Organization", p.org),
	}
	p.add(enc)
	encRef := ref("Encounter", encID)

	// Vital signs at every visit; each resource written in the encounter's minute.
	p.bloodPressure(t, encRef, practitioner)
	for _, v := range vitals {
		if r.IntN(5) == 0 {
			continue
		}
		p.vitalSign(v, t.Add(time.Duration(r.IntN(600))*time.Second), encRef, practitioner)
	}

	var reportTargets []string
	if r.IntN(2) == 0 {
		panel := pick(r, labs).reportCode
		var results []any
		var display string
		drawn := t.Add(time.Duration(10+r.IntN(50)) * time.Minute)
		for _, l := range labs {
			if l.reportCode != panel {
				continue
			}
			display = l.reportDisplay
			id := p.labResult(l, drawn, encRef, practitioner)
			results = append(results, ref("Observation", id))
		}
		drID := p.nextID("dr")
		p.add(map[string]any{
			"resourceType":      "DiagnosticReport",
			"id":                drID,
			"meta":              meta(r),
			"status":            "final",
			"category":          []any{concept("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB", "Laboratory")},
			"code":              concept(LOINC, panel, display),
			"subject":           ref("Patient", p.id),
			"encounter":         encRef,
			"effectiveDateTime": dateTime(r, drawn),
			"issued":            instant(drawn.Add(time.Duration(2+r.IntN(48)) * time.Hour)),
			"performer":         []any{ref("Organization", p.org)},
			"result":            results,
		})
		reportTargets = append(reportTargets, "DiagnosticReport/"+drID)
	}
	if r.IntN(5) == 0 {
		p.condition(t, encRef, practitioner)
	}
	if r.IntN(3) == 0 {
		p.medicationRequest(t, encRef, practitioner)
	}
	if r.IntN(5) == 0 {
		p.procedure(t, encRef, practitioner)
	}
	if r.IntN(6) == 0 {
		p.immunization(t, encRef, practitioner)
	}
	if r.IntN(10) == 0 {
		p.riskAssessment(t, encRef, practitioner)
	}
	// Provenance of the encounter (and its report, when there is one), as an
	// importing system would record it.
	targets := []any{encRef}
	for _, tr := range reportTargets {
		targets = append(targets, map[string]any{"reference": tr})
	}
	p.add(map[string]any{
		"resourceType": "Provenance",
		"id":           p.nextID("prov"),
		"meta":         meta(r),
		"target":       targets,
		"recorded":     instant(t.Add(dur + time.Duration(r.IntN(3600))*time.Second)),
		"agent": []any{map[string]any{
			"type":       concept("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "author", "Author"),
			"who":        ref("Practitioner", practitioner),
			"onBehalfOf": ref("Organization", p.org),
		}},
	})
}

// effective sets the observation's time: mostly a dateTime in some zone, sometimes
// a Period, sometimes only a day.
func (p *patient) effective(obs map[string]any, t time.Time) {
	switch x := p.r.IntN(20); {
	case x == 0:
		obs["effectivePeriod"] = map[string]any{"start": dateTime(p.r, t), "end": dateTime(p.r, t.Add(time.Duration(1+p.r.IntN(24))*time.Hour))}
	case x == 1:
		obs["effectiveDateTime"] = t.Format("2006-01-02")
	default:
		obs["effectiveDateTime"] = dateTime(p.r, t)
	}
}

func (p *patient) observation(category, code, display string, t time.Time, enc map[string]any, practitioner string) map[string]any {
	obs := map[string]any{
		"resourceType": "Observation",
		"id":           p.nextID("obs"),
		"meta":         profiled(meta(p.r), map[string]string{"laboratory": usCore + "us-core-observation-lab", "vital-signs": "http://hl7.org/fhir/StructureDefinition/vitalsigns"}[category]),
		"status":       "final",
		"category":     []any{concept(obsCat, category, map[string]string{"laboratory": "Laboratory", "vital-signs": "Vital signs"}[category])},
		"code":         concept(LOINC, code, display),
		"subject":      ref("Patient", p.id),
		"encounter":    enc,
		"performer":    []any{ref("Practitioner", practitioner)},
	}
	if p.r.IntN(25) == 0 {
		obs["status"] = pick(p.r, []string{"preliminary", "amended", "cancelled"})
	}
	p.effective(obs, t)
	return obs
}

// missing reports whether a result goes without a value (specimen lost, refused):
// such observations carry a dataAbsentReason instead.
func (p *patient) missing(obs map[string]any) bool {
	if p.r.IntN(30) != 0 {
		return false
	}
	obs["dataAbsentReason"] = concept("http://terminology.hl7.org/CodeSystem/data-absent-reason", "unknown", "Unknown")
	return true
}

func (p *patient) labResult(l lab, t time.Time, enc map[string]any, practitioner string) string {
	obs := p.observation("laboratory", l.code, l.display, t, enc, practitioner)
	if !p.missing(obs) {
		v := l.lo + p.r.Float64()*(l.hi-l.lo)
		if l.altUnit != "" && p.r.IntN(4) == 0 {
			obs["valueQuantity"] = quantity(v*l.altFactor, l.altDecimals, l.altUnit)
		} else {
			obs["valueQuantity"] = quantity(v, l.decimals, l.unit)
		}
		if p.r.IntN(3) == 0 {
			obs["referenceRange"] = []any{map[string]any{"low": quantity(l.lo, l.decimals, l.unit), "high": quantity(l.hi, l.decimals, l.unit)}}
		}
	}
	p.add(obs)
	return obs["id"].(string)
}

func (p *patient) vitalSign(v vital, t time.Time, enc map[string]any, practitioner string) {
	obs := p.observation("vital-signs", v.code, v.display, t, enc, practitioner)
	if !p.missing(obs) {
		x := v.lo + p.r.Float64()*(v.hi-v.lo)
		if v.altUnit != "" && p.r.IntN(4) == 0 {
			obs["valueQuantity"] = quantity(v.altOf(x), v.altDecimals, v.altUnit)
		} else {
			obs["valueQuantity"] = quantity(x, v.decimals, v.unit)
		}
	}
	p.add(obs)
}

func (p *patient) bloodPressure(t time.Time, enc map[string]any, practitioner string) {
	obs := p.observation("vital-signs", "85354-9", "Blood pressure panel with all children optional", t, enc, practitioner)
	sys := 95 + p.r.IntN(70)
	dia := 55 + p.r.IntN(40)
	comp := []any{
		map[string]any{"code": concept(LOINC, "8480-6", "Systolic blood pressure"), "valueQuantity": quantity(float64(sys), 0, "mm[Hg]")},
		map[string]any{"code": concept(LOINC, "8462-4", "Diastolic blood pressure"), "valueQuantity": quantity(float64(dia), 0, "mm[Hg]")},
	}
	if p.r.IntN(30) == 0 {
		// The diastolic value was not recorded.
		comp[1] = map[string]any{"code": concept(LOINC, "8462-4", "Diastolic blood pressure"),
			"dataAbsentReason": concept("http://terminology.hl7.org/CodeSystem/data-absent-reason", "not-performed", "Not Performed")}
	}
	obs["component"] = comp
	p.add(obs)
}

func (p *patient) condition(t time.Time, enc map[string]any, practitioner string) {
	c := pick(p.r, conditions)
	res := map[string]any{
		"resourceType":       "Condition",
		"id":                 p.nextID("cond"),
		"meta":               meta(p.r),
		"clinicalStatus":     concept("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"),
		"verificationStatus": concept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"),
		"category":           []any{concept("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis", "Encounter Diagnosis")},
		"code":               concept(SNOMED, c.code, c.display),
		"subject":            ref("Patient", p.id),
		"encounter":          enc,
		"onsetDateTime":      dateTime(p.r, t),
		"recordedDate":       t.Format("2006-01-02"),
		"asserter":           ref("Practitioner", practitioner),
	}
	if p.r.IntN(2) == 0 {
		res["clinicalStatus"] = concept("http://terminology.hl7.org/CodeSystem/condition-clinical", "resolved", "Resolved")
		res["abatementDateTime"] = dateTime(p.r, t.Add(time.Duration(3+p.r.IntN(60))*24*time.Hour))
	}
	p.add(res)
}

func (p *patient) medicationRequest(t time.Time, enc map[string]any, practitioner string) {
	m := pick(p.r, medications)
	p.add(map[string]any{
		"resourceType":              "MedicationRequest",
		"id":                        p.nextID("med"),
		"meta":                      meta(p.r),
		"status":                    pick(p.r, []string{"active", "completed", "stopped"}),
		"intent":                    "order",
		"medicationCodeableConcept": concept(RxNorm, m.code, m.display),
		"subject":                   ref("Patient", p.id),
		"encounter":                 enc,
		"authoredOn":                dateTime(p.r, t),
		"requester":                 ref("Practitioner", practitioner),
		"dosageInstruction": []any{map[string]any{
			"text":   "Take " + strconv.Itoa(1+p.r.IntN(2)) + " tablet(s) by mouth daily",
			"timing": map[string]any{"repeat": map[string]any{"frequency": json.Number(strconv.Itoa(1 + p.r.IntN(3))), "period": json.Number("1"), "periodUnit": "d"}},
		}},
	})
}

func (p *patient) procedure(t time.Time, enc map[string]any, practitioner string) {
	pr := pick(p.r, procedures)
	res := map[string]any{
		"resourceType": "Procedure",
		"id":           p.nextID("proc"),
		"meta":         meta(p.r),
		"status":       "completed",
		"code":         concept(SNOMED, pr.code, pr.display),
		"subject":      ref("Patient", p.id),
		"encounter":    enc,
		"performer":    []any{map[string]any{"actor": ref("Practitioner", practitioner)}},
	}
	if p.r.IntN(2) == 0 {
		res["performedPeriod"] = map[string]any{"start": dateTime(p.r, t), "end": dateTime(p.r, t.Add(time.Duration(15+p.r.IntN(60))*time.Minute))}
	} else {
		res["performedDateTime"] = dateTime(p.r, t)
	}
	p.add(res)
}

func (p *patient) immunization(t time.Time, enc map[string]any, practitioner string) {
	v := pick(p.r, vaccines)
	p.add(map[string]any{
		"resourceType":       "Immunization",
		"id":                 p.nextID("imm"),
		"meta":               meta(p.r),
		"status":             "completed",
		"vaccineCode":        concept(CVX, v.code, v.display),
		"patient":            ref("Patient", p.id),
		"encounter":          enc,
		"occurrenceDateTime": dateTime(p.r, t),
		"primarySource":      true,
		"performer":          []any{map[string]any{"actor": ref("Practitioner", practitioner)}},
	})
}

// riskAssessment records a ten-year cardiovascular risk score, the one number-typed
// search parameter (probability) a clinical record commonly carries.
func (p *patient) riskAssessment(t time.Time, enc map[string]any, practitioner string) {
	p.add(map[string]any{
		"resourceType":       "RiskAssessment",
		"id":                 p.nextID("risk"),
		"meta":               meta(p.r),
		"status":             "final",
		"code":               concept(SNOMED, "441829007", "Assessment for risk of cardiovascular disease"),
		"subject":            ref("Patient", p.id),
		"encounter":          enc,
		"occurrenceDateTime": dateTime(p.r, t),
		"performer":          ref("Practitioner", practitioner),
		"prediction": []any{map[string]any{
			"outcome":            concept(SNOMED, "22298006", "Myocardial infarction"),
			"probabilityDecimal": num(p.r.Float64()*0.4, 3),
		}},
	})
}

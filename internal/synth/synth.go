// Package synth generates realistic, synthetic clinical data in the shape Synthea
// produces: patients with encounters, lab results and vital signs, conditions,
// medication requests, immunizations, procedures, diagnostic reports and Provenance,
// plus the practitioners and organizations they refer to.
//
// Generation is pure and deterministic: the same seed gives the same resources, and
// Patient(i) depends only on the seed and i, so a data set can be regenerated in any
// order, in parallel, or one patient at a time. It exists to test and measure search
// over data whose variety resembles real records (accents and hyphens in names,
// birth dates at several precisions, quantities in different but convertible units,
// time zones other than UTC, missing values) without any real patient data.
//
// Resources are FHIR R4 JSON trees as package fhir decodes them (numbers are
// json.Number) with stable ids and references written "Type/id".
package synth

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// Generator makes the resources of one synthetic population.
type Generator struct {
	seed uint64
	// PerPatient is the average number of resources generated per patient,
	// the patient included; each patient gets between half and one and a half
	// times as many. It defaults to 1000, the size of a Synthea record with a
	// decade or two of history; smaller values keep tests fast.
	PerPatient int
	// Practitioners and Organizations are the sizes of the shared pools that
	// patients and their records refer to.
	Practitioners, Organizations int
}

// New returns a generator for seed with the default sizes.
func New(seed int64) *Generator {
	return &Generator{seed: uint64(seed), PerPatient: 1000, Practitioners: 40, Organizations: 8}
}

// Code systems used throughout.
const (
	LOINC     = "http://loinc.org"
	SNOMED    = "http://snomed.info/sct"
	RxNorm    = "http://www.nlm.nih.gov/research/umls/rxnorm"
	CVX       = "http://hl7.org/fhir/sid/cvx"
	UCUM      = "http://unitsofmeasure.org"
	MRNSystem = "http://hospital.example.org/mrn"
	TagSystem = "http://omnichart.example/tags"
	v2IDType  = "http://terminology.hl7.org/CodeSystem/v2-0203"
	actCode   = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	obsCat    = "http://terminology.hl7.org/CodeSystem/observation-category"
	npiSystem = "http://hl7.org/fhir/sid/us-npi"
)

// PatientID, PractitionerID and OrganizationID are the ids the generator gives.
func PatientID(i int) string      { return fmt.Sprintf("pat-%06d", i) }
func PractitionerID(i int) string { return fmt.Sprintf("pr-%03d", i) }
func OrganizationID(i int) string { return fmt.Sprintf("org-%03d", i) }

// rng returns the random stream of one stream number, independent of every other.
func (g *Generator) rng(stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(g.seed^0x9e3779b97f4a7c15, stream*0xbf58476d1ce4e5b9+1))
}

const sharedStream = 1 << 62

var (
	givenMale   = []string{"José", "François", "Søren", "Björn", "Jean-Luc", "Peter", "James", "Wei", "Aarav", "Noah", "Mehmet", "Łukasz", "Kwame", "Hiroshi", "Seán"}
	givenFemale = []string{"Zoë", "Renée", "Anaïs", "Chloé", "Mary-Jane", "Olivia", "Ana", "Li", "Ingrid", "Siobhán", "Małgorzata", "Amara", "Yuki", "Beatriz", "Éloïse"}
	families    = []string{"Müller", "García-López", "O'Brien", "Smith", "Nguyễn", "Dvořák", "Østergaard", "Chalmers", "Johnson", "Kowalski", "Smith-Jones", "Zúñiga", "Brontë", "Lefèvre", "Abara", "van der Berg", "Schäfer", "Núñez", "Chalmers-Smith", "Øvergård"}
	cities      = []struct{ city, state, country, zip string }{
		{"Montréal", "QC", "CA", "H2X 1Y4"}, {"Zürich", "ZH", "CH", "8001"}, {"Boston", "MA", "US", "02115"},
		{"Springfield", "IL", "US", "62701"}, {"São Paulo", "SP", "BR", "01310-100"}, {"Köln", "NW", "DE", "50667"},
		{"Worcester", "MA", "US", "01608"}, {"Québec", "QC", "CA", "G1R 4P5"},
	}
	streets = []string{"Rue Saint-Denis", "Bahnhofstrasse", "Boylston St", "Main St", "Avenida Paulista", "Hohe Straße", "Elm St", "Grande Allée"}
	zones   = []string{"Z", "Z", "Z", "-05:00", "-04:00", "+01:00", "+02:00", "+05:30", "-08:00", "+09:00"}
)

// Shared returns the practitioners and organizations every patient's records refer
// to; load them before the patients.
func (g *Generator) Shared() []map[string]any {
	return append(g.organizations(), g.practitioners()...)
}

func (g *Generator) practitioners() []map[string]any {
	r := g.rng(sharedStream)
	out := make([]map[string]any, g.Practitioners)
	for i := range out {
		female := r.IntN(2) == 0
		given := pick(r, givenMale)
		if female {
			given = pick(r, givenFemale)
		}
		out[i] = map[string]any{
			"resourceType": "Practitioner",
			"id":           PractitionerID(i),
			"meta":         meta(r),
			"identifier":   []any{map[string]any{"system": npiSystem, "value": strconv.Itoa(1000000000 + i*7919)}},
			"active":       true,
			"name":         []any{map[string]any{"family": pick(r, families), "given": []any{given}, "prefix": []any{"Dr."}}},
			"gender":       map[bool]string{true: "female", false: "male"}[female],
		}
	}
	return out
}

func (g *Generator) organizations() []map[string]any {
	r := g.rng(sharedStream + 1)
	names := []string{"Hôpital Saint-Luc", "Universitätsspital", "Massachusetts Clinic", "Springfield General", "Clínica São José", "St. Mary's Hospital", "Worcester Family Practice", "Centre Médical Québec"}
	out := make([]map[string]any, g.Organizations)
	for i := range out {
		c := cities[i%len(cities)]
		out[i] = map[string]any{
			"resourceType": "Organization",
			"id":           OrganizationID(i),
			"meta":         meta(r),
			"identifier":   []any{map[string]any{"system": npiSystem, "value": strconv.Itoa(2000000000 + i*104729)}},
			"active":       true,
			"type": []any{map[string]any{"coding": []any{map[string]any{
				"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov", "display": "Healthcare Provider"}}}},
			"name":    names[i%len(names)] + suffix(i, len(names)),
			"address": []any{map[string]any{"line": []any{fmt.Sprintf("%d %s", 1+r.IntN(900), streets[i%len(streets)])}, "city": c.city, "state": c.state, "postalCode": c.zip, "country": c.country}},
			"telecom": []any{map[string]any{"system": "phone", "value": phone(r)}},
		}
	}
	return out
}

func suffix(i, n int) string {
	if i < n {
		return ""
	}
	return " " + strconv.Itoa(i/n+1)
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func phone(r *rand.Rand) string {
	return fmt.Sprintf("555-%03d-%04d", r.IntN(1000), r.IntN(10000))
}

// meta tags every resource as synthetic and a fifth of them with an import batch, so
// that _tag has both a common and a selective value to find.
func meta(r *rand.Rand) map[string]any {
	tags := []any{map[string]any{"system": TagSystem, "code": "synthetic"}}
	if r.IntN(5) == 0 {
		tags = append(tags, map[string]any{"system": TagSystem, "code": "batch-" + strconv.Itoa(r.IntN(4))})
	}
	return map[string]any{"tag": tags}
}

const usCore = "http://hl7.org/fhir/us/core/StructureDefinition/"

func profiled(m map[string]any, profile string) map[string]any {
	m["profile"] = []any{profile}
	return m
}

func ref(typ, id string) map[string]any { return map[string]any{"reference": typ + "/" + id} }

func coding(system, code, display string) map[string]any {
	c := map[string]any{"system": system, "code": code}
	if display != "" {
		c["display"] = display
	}
	return c
}

func concept(system, code, display string) map[string]any {
	c := map[string]any{"coding": []any{coding(system, code, display)}}
	if display != "" {
		c["text"] = display
	}
	return c
}

func num(v float64, decimals int) json.Number {
	return json.Number(strconv.FormatFloat(v, 'f', decimals, 64))
}

func quantity(v float64, decimals int, unit string) map[string]any {
	return map[string]any{"value": num(v, decimals), "unit": unit, "system": UCUM, "code": unit}
}

// dateTime renders t at second precision in one of several time zones (the same
// instant, written as a source in that zone would write it).
func dateTime(r *rand.Rand, t time.Time) string {
	z := pick(r, zones)
	if z == "Z" {
		return t.UTC().Format("2006-01-02T15:04:05Z")
	}
	sign := 1
	if z[0] == '-' {
		sign = -1
	}
	h, _ := strconv.Atoi(z[1:3])
	m, _ := strconv.Atoi(z[4:6])
	loc := time.FixedZone(z, sign*(h*3600+m*60))
	return t.In(loc).Format("2006-01-02T15:04:05") + z
}

func instant(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/ehrtest"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
	"omnichart/internal/store"
	"omnichart/internal/synth"
)

// TestDifferentialSearch loads the same synthetic data set into SQLite, PostgreSQL
// and, where it runs, PostgreSQL distributed on Citus, and runs a few hundred
// generated searches on each: every parameter type, modifier and prefix, chains,
// _has, composites, _sort with paging through every page, _include and
// _revinclude. SQLite and PostgreSQL share no SQL semantics by accident
// (collation, type affinity, NULL and float handling differ), and Citus plans the
// same SQL over shards, so any difference in results is a bug in the SQL the store
// generates. Agreement on an error or on no result tests nothing, so almost every
// query must run and most must match something.
func TestDifferentialSearch(t *testing.T) {
	ehrtest.PostgresURL(t)
	clock := &settableClock{}
	opts := store.Options{Now: clock.Now}
	// Citus, where it runs, is compared with plain PostgreSQL: distribution must not
	// change a single result.
	names := ehrtest.AllEngines
	var engines []*store.Store
	for _, name := range names {
		engines = append(engines, ehrtest.MustOpen(t, name, opts))
	}

	g := synth.New(42)
	g.PerPatient = 60
	g.Practitioners, g.Organizations = 12, 4
	const patients = 40
	data := [][]map[string]any{g.Shared()}
	for i := range patients {
		data = append(data, g.Patient(i))
	}
	// Both engines get the same write times (one per transaction) so that
	// _lastUpdated and its sort agree; patients are a minute apart.
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	total := 0
	for k, resources := range data {
		clock.set(base.Add(time.Duration(k) * time.Minute))
		for _, s := range engines {
			mustWrite(t, s, resources)
		}
		total += len(resources)
	}
	clock.set(base.Add(24 * time.Hour))

	qg := newQueryGen(data, base)
	queries := qg.generate(400)
	differences, failed, matched := 0, 0, 0
	for _, q := range queries {
		results := make([]diffResult, len(engines))
		for i, s := range engines {
			t0 := time.Now()
			results[i] = runAll(s, q)
			if d := time.Since(t0); d > time.Second {
				t.Logf("slow: %s?%s %s %s", q.typ, q.query, names[i], d.Round(time.Millisecond))
			}
		}
		anyFailed, allMatched := false, true
		for i, r := range results {
			anyFailed = anyFailed || r.failed
			allMatched = allMatched && r.matches > 0
			if i > 0 && r.text != results[i-1].text {
				differences++
				t.Errorf("%s?%s differs between engines:\n%s: %s\n%s: %s", q.typ, q.query, names[i-1], results[i-1].text, names[i], r.text)
			}
		}
		switch {
		case anyFailed:
			failed++
			for i, r := range results {
				t.Logf("%s?%s failed: %s: %s", q.typ, q.query, names[i], r.text)
			}
		case allMatched:
			matched++
		}
	}
	t.Logf("%d resources, %d queries, %d differences, %d errors, %d matching something", total, len(queries), differences, failed, matched)
	// Two engines failing the same way, or both finding nothing, agree without
	// testing anything: the generator must produce queries that run and match.
	if failed > len(queries)/50 {
		t.Errorf("%d of %d generated queries failed, want at most 2%%", failed, len(queries))
	}
	if matched < len(queries)*8/10 {
		t.Errorf("%d of %d generated queries ran and matched a resource on every engine, want at least 80%%", matched, len(queries))
	}
}

type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *settableClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func mustWrite(t *testing.T, s *store.Store, resources []map[string]any) {
	t.Helper()
	ctx := context.Background()
	err := s.Transaction(ctx, func(tx ehr.Tx) error {
		for _, res := range resources {
			if _, _, err := tx.Update(ctx, res["resourceType"].(string), res["id"].(string), res, ehr.WriteOptions{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("load %s: %v", resources[0]["id"], err)
	}
}

// diffQuery is one generated search; sorted says whether the order of results is
// defined by _sort (otherwise only the set is compared).
type diffQuery struct {
	typ, query string
	sorted     bool
}

// diffResult is what one engine answered to a diffQuery.
type diffResult struct {
	// text renders everything the engines must agree on: error code, total,
	// matches (in order when sorted) and included resources (a set per page).
	text    string
	failed  bool // the query was refused or failed
	matches int
}

// runAll runs q through all its pages.
func runAll(s *store.Store, dq diffQuery) diffResult {
	ctx := context.Background()
	q, err := search.ParseString(dq.typ, dq.query)
	if err != nil {
		return diffResult{text: "parse error: " + err.Error(), failed: true}
	}
	q.Strict = true
	var matches, included []string
	total := -2
	for page := 0; page < 500; page++ {
		res, err := s.Search(ctx, q)
		if err != nil {
			return diffResult{text: fmt.Sprintf("error %s after %d pages", ehr.ErrorCode(err), page), failed: true}
		}
		if page == 0 {
			total = res.Total
		}
		for _, r := range res.Records {
			matches = append(matches, r.Reference())
		}
		var inc []string
		for _, r := range res.Included {
			inc = append(inc, r.Reference())
		}
		slices.Sort(inc)
		included = append(included, strings.Join(inc, " "))
		if res.Next == "" {
			break
		}
		q.Cursor = res.Next
	}
	if !dq.sorted {
		slices.Sort(matches)
	}
	return diffResult{
		text:    fmt.Sprintf("total %d, %d matches [%s], included [%s]", total, len(matches), strings.Join(matches, " "), strings.Join(included, " | ")),
		matches: len(matches),
	}
}

// queryGen makes searches from values found in the data, so that most of them
// match something and their boundaries fall on real values.
type queryGen struct {
	r      *rand.Rand
	byType map[string][]map[string]any
	loaded time.Time
}

func newQueryGen(data [][]map[string]any, loaded time.Time) *queryGen {
	g := &queryGen{r: rand.New(rand.NewPCG(7, 11)), byType: map[string][]map[string]any{}, loaded: loaded}
	for _, rs := range data {
		for _, res := range rs {
			typ := res["resourceType"].(string)
			g.byType[typ] = append(g.byType[typ], res)
		}
	}
	return g
}

func (g *queryGen) any(typ string) map[string]any { return g.byType[typ][g.r.IntN(len(g.byType[typ]))] }

func (g *queryGen) oneOf(xs ...string) string { return xs[g.r.IntN(len(xs))] }

// kv renders key=value with the value escaped as a client would send it.
func kv(key, value string) string { return key + "=" + url.QueryEscape(value) }

func join(parts ...string) string { return strings.Join(parts, "&") }

var datePrefixes = []string{"", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"}

// dateValue turns a FHIR date or dateTime from the data into a search value at a
// random precision: year, month, day, minute or second, in the source's zone or
// in UTC.
func (g *queryGen) dateValue(s string) string {
	lo, _, err := store.DateRange(s)
	if err != nil {
		return s
	}
	t := time.UnixMicro(lo).UTC()
	switch g.r.IntN(7) {
	case 0:
		return s[:4]
	case 1:
		return s[:min(7, len(s))]
	case 2:
		return s[:min(10, len(s))]
	case 3:
		return t.Format("2006-01-02T15:04Z")
	case 4:
		return t.Format("2006-01-02T15:04:05Z")
	case 5:
		return s // as the source wrote it, zone included
	}
	return t.In(time.FixedZone("", -7*3600)).Format("2006-01-02T15:04:05-07:00")
}

func (g *queryGen) datePrefix() string { return datePrefixes[g.r.IntN(len(datePrefixes))] }

// quantityValue turns a Quantity into a search value: the number alone, with its
// UCUM unit, or converted into another unit of the same dimension.
func (g *queryGen) quantityValue(q map[string]any) string {
	v, _ := strconv.ParseFloat(fmt.Sprint(q["value"]), 64)
	code := fhir.String(q, "code")
	prefix := g.oneOf("", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
	num := fmt.Sprint(q["value"])
	switch g.r.IntN(4) {
	case 0:
		return prefix + num
	case 1:
		return prefix + num + "|http://unitsofmeasure.org|" + code
	case 2:
		return prefix + num + "||" + code
	}
	conv := map[string][2]any{"mg/dL": {"g/L", 0.01}, "g/L": {"mg/dL", 100.0}, "kg": {"g", 1000.0}, "[lb_av]": {"kg", 0.45359237},
		"cm": {"m", 0.01}, "mmol/L": {"umol/L", 1000.0}, "g/dL": {"g/L", 10.0}, "mm[Hg]": {"kPa", 0.133322387415}, "mg/L": {"mg/dL", 0.1}}
	if c, ok := conv[code]; ok {
		return prefix + strconv.FormatFloat(v*c[1].(float64), 'g', 6, 64) + "|http://unitsofmeasure.org|" + c[0].(string)
	}
	return prefix + num + "|http://unitsofmeasure.org|" + code
}

func codingOf(res map[string]any, key string) map[string]any {
	cc := fhir.Object(res, key)
	if cc == nil {
		return nil
	}
	c, _ := fhir.Array(cc, "coding")[0].(map[string]any)
	return c
}

// tokenValue renders a coding as one of the token forms.
func (g *queryGen) tokenValue(c map[string]any) string {
	system, code := fhir.String(c, "system"), fhir.String(c, "code")
	switch g.r.IntN(5) {
	case 0:
		return code
	case 1:
		return "|" + code
	case 2:
		return system + "|"
	}
	return system + "|" + code
}

func (g *queryGen) prefixOf(s string) string {
	runes := []rune(s)
	n := 1 + g.r.IntN(len(runes))
	p := string(runes[:n])
	if g.r.IntN(3) == 0 {
		p = strings.ToUpper(p)
	}
	return p
}

func (g *queryGen) paging(sorts ...string) string {
	// Pages of 20 to 80 keep walking every page of a broad search affordable:
	// each page re-evaluates the sort keys of all matches.
	s := "_count=" + strconv.Itoa(20+g.r.IntN(60))
	if g.r.IntN(5) > 0 {
		s += "&_sort=" + g.oneOf(sorts...)
	}
	return s
}

func (g *queryGen) generate(n int) []diffQuery {
	makers := []func() (string, string){
		g.patientName, g.patientBirthdate, g.patientTokens, g.patientReferences, g.patientHas,
		g.patientMisc, g.resourceParams, g.observationCode, g.observationLabs, g.observationQuantity,
		g.observationComposite, g.observationChain, g.observationDate, g.encounter, g.clinical,
		g.diagnosticReport, g.provenance, g.riskAssessment, g.shared,
	}
	var out []diffQuery
	seen := map[string]bool{}
	for len(out) < n {
		typ, query := makers[len(out)%len(makers)]()
		if g.r.IntN(4) == 0 && !strings.Contains(query, "_count") {
			query += "&" + g.paging(sortsOf[typ]...)
		}
		if seen[typ+"?"+query] {
			continue
		}
		seen[typ+"?"+query] = true
		out = append(out, diffQuery{typ: typ, query: query, sorted: strings.Contains(query, "_sort=")})
	}
	return out
}

var sortsOf = map[string][]string{
	"Patient":           {"family,given", "-birthdate", "birthdate,-_id", "_lastUpdated,_id", "-_lastUpdated", "address-city,family", "gender,-birthdate", "identifier"},
	"Observation":       {"-date", "date", "value-quantity", "-value-quantity", "code,-date", "-_id", "status,date", "patient,-date"},
	"Encounter":         {"-date", "date,_id", "class,-date", "type"},
	"Condition":         {"-onset-date", "code", "recorded-date"},
	"MedicationRequest": {"-authoredon", "code"},
	"Immunization":      {"-date", "vaccine-code"},
	"Procedure":         {"-date", "code"},
	"DiagnosticReport":  {"-date", "-issued", "code"},
	"Provenance":        {"-recorded", "recorded"},
	"RiskAssessment":    {"-probability", "probability,-date"},
	"Practitioner":      {"family", "-name"},
	"Organization":      {"name", "-name"},
}

func (g *queryGen) patientName() (string, string) {
	p := g.any("Patient")
	name := fhir.Array(p, "name")[0].(map[string]any)
	family := fhir.String(name, "family")
	given := fhir.Array(name, "given")[0].(string)
	switch g.r.IntN(7) {
	case 0:
		return "Patient", kv("name", g.prefixOf(family))
	case 1:
		return "Patient", kv("family", g.prefixOf(family)) + "&" + kv("given", g.prefixOf(given))
	case 2:
		return "Patient", kv("name:exact", g.oneOf(family, given, strings.ToLower(family)))
	case 3:
		r := []rune(family)
		i := g.r.IntN(len(r))
		return "Patient", kv("name:contains", string(r[i:min(len(r), i+2+g.r.IntN(3))]))
	case 4:
		return "Patient", kv("given", g.prefixOf(given)) + "," + url.QueryEscape(g.prefixOf(family))
	case 5:
		return "Patient", kv("family:exact", family) + "&" + g.paging(sortsOf["Patient"]...)
	}
	return "Patient", kv("name", strings.ToLower(store.NormalizeString(family)))
}

func (g *queryGen) patientBirthdate() (string, string) {
	p := g.any("Patient")
	v := g.datePrefix() + g.dateValue(fhir.String(p, "birthDate"))
	if g.r.IntN(3) == 0 {
		q := g.any("Patient")
		return "Patient", kv("birthdate", v) + "&" + kv("birthdate", g.oneOf("lt", "le", "ge", "gt")+fhir.String(q, "birthDate"))
	}
	if g.r.IntN(4) == 0 {
		return "Patient", kv("death-date", g.datePrefix()+g.dateValue("2018-06-15T10:00:00Z"))
	}
	return "Patient", kv("birthdate", v)
}

func (g *queryGen) patientTokens() (string, string) {
	p := g.any("Patient")
	ident := fhir.Array(p, "identifier")[0].(map[string]any)
	value, system := fhir.String(ident, "value"), fhir.String(ident, "system")
	switch g.r.IntN(9) {
	case 0:
		return "Patient", kv("gender", g.oneOf("male", "female", "male,female", "other"))
	case 1:
		return "Patient", kv("gender:not", g.oneOf("male", "female"))
	case 2:
		return "Patient", kv("identifier", g.oneOf(value, system+"|"+value, "|"+value, system+"|", "http://hl7.org/fhir/sid/us-ssn|"))
	case 3:
		return "Patient", kv("identifier:of-type", "http://terminology.hl7.org/CodeSystem/v2-0203|"+g.oneOf("MR", "SS")+"|"+value)
	case 4:
		return "Patient", kv("identifier:text", g.oneOf("medical", "Medical Record", "social"))
	case 5:
		return "Patient", kv("active", g.oneOf("true", "false")) + "&" + kv("gender", g.oneOf("male", "female"))
	case 6:
		return "Patient", kv("deceased", g.oneOf("true", "false"))
	case 7:
		return "Patient", kv("language", g.oneOf("fr-CA", "urn:ietf:bcp:47|de-CH", "en-US"))
	}
	tel := fhir.Array(p, "telecom")[g.r.IntN(2)].(map[string]any)
	return "Patient", kv(g.oneOf("telecom", "phone", "email"), fhir.String(tel, "value"))
}

func (g *queryGen) patientReferences() (string, string) {
	p := g.any("Patient")
	gp := fhir.Array(p, "generalPractitioner")[0].(map[string]any)["reference"].(string)
	org := fhir.Object(p, "managingOrganization")["reference"].(string)
	pr := g.any("Practitioner")
	prName := fhir.Array(pr, "name")[0].(map[string]any)
	switch g.r.IntN(6) {
	case 0:
		return "Patient", kv("general-practitioner", gp)
	case 1:
		return "Patient", kv("organization", g.oneOf(org, strings.TrimPrefix(org, "Organization/")))
	case 2:
		return "Patient", kv("general-practitioner:Practitioner.name", g.prefixOf(fhir.String(prName, "family")))
	case 3:
		return "Patient", kv("general-practitioner.family", g.prefixOf(fhir.String(prName, "family")))
	case 4:
		return "Patient", kv("organization.name", g.prefixOf(fhir.String(g.any("Organization"), "name")))
	}
	return "Patient", kv("organization.address-city", g.oneOf("Montréal", "zurich", "Boston"))
}

func (g *queryGen) patientHas() (string, string) {
	switch g.r.IntN(5) {
	case 0:
		return "Patient", kv("_has:Observation:patient:code", g.tokenValue(codingOf(g.any("Observation"), "code")))
	case 1:
		c := g.any("Condition")
		return "Patient", kv("_has:Condition:subject:code", g.tokenValue(codingOf(c, "code")))
	case 2:
		return "Patient", kv("_has:Observation:subject:value-quantity", g.oneOf("gt", "lt")+strconv.Itoa(50+g.r.IntN(150)))
	case 3:
		return "Patient", kv("_has:Immunization:patient:vaccine-code", g.tokenValue(codingOf(g.any("Immunization"), "vaccineCode")))
	}
	e := g.any("Encounter")
	return "Patient", kv("_has:Encounter:patient:date", g.datePrefix()+g.dateValue(fhir.Object(e, "period")["start"].(string)))
}

func (g *queryGen) patientMisc() (string, string) {
	p := g.any("Patient")
	addr := fhir.Array(p, "address")[0].(map[string]any)
	switch g.r.IntN(6) {
	case 0:
		return "Patient", kv("address-city", g.prefixOf(fhir.String(addr, "city")))
	case 1:
		return "Patient", kv("address", g.prefixOf(fhir.Array(addr, "line")[0].(string)))
	case 2:
		return "Patient", kv("address-postalcode", fhir.String(addr, "postalCode"))
	case 3:
		return "Patient", kv(g.oneOf("birthdate:missing", "death-date:missing", "general-practitioner:missing", "address-state:missing"), g.oneOf("true", "false"))
	case 4:
		return "Patient", kv("address-country", fhir.String(addr, "country")) + "&" + g.paging(sortsOf["Patient"]...)
	}
	return "Patient", g.paging(sortsOf["Patient"]...)
}

// resourceParams covers the parameters every resource has.
func (g *queryGen) resourceParams() (string, string) {
	typ := g.oneOf("Patient", "Observation", "Encounter", "Condition", "Provenance")
	res := g.any(typ)
	other := g.any(typ)
	lu := g.loaded.Add(time.Duration(g.r.IntN(45)) * time.Minute)
	switch g.r.IntN(8) {
	case 0:
		return typ, kv("_id", res["id"].(string)+","+other["id"].(string))
	case 1:
		return typ, kv("_id:not", res["id"].(string)) + "&" + kv("_lastUpdated", "lt"+lu.Format(time.RFC3339))
	case 2:
		return typ, kv("_lastUpdated", g.datePrefix()+lu.Format(g.oneOf(time.RFC3339, "2006-01-02T15:04Z", "2006-01-02")))
	case 3:
		return typ, kv("_tag", g.oneOf(synth.TagSystem+"|batch-1", "batch-2", synth.TagSystem+"|", "|synthetic"))
	case 4:
		return typ, kv("_tag:not", synth.TagSystem+"|batch-"+strconv.Itoa(g.r.IntN(4))) + "&" + kv("_lastUpdated", "le"+lu.Format(time.RFC3339))
	case 5:
		return typ, kv("_profile", g.oneOf("http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient", "http://hl7.org/fhir/StructureDefinition/vitalsigns", "http://hl7.org/fhir/us/core/StructureDefinition/us-core-encounter"))
	case 6:
		return typ, kv("_profile:below", g.oneOf("http://hl7.org/fhir/us/core", "http://hl7.org/fhir/StructureDefinition/", "http://example.org"))
	}
	return typ, kv("_profile:above", g.oneOf("http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient/v2", "http://hl7.org/fhir/StructureDefinition/vitalsigns|4.0.1"))
}

func (g *queryGen) observationCode() (string, string) {
	o := g.any("Observation")
	c := codingOf(o, "code")
	switch g.r.IntN(7) {
	case 0:
		return "Observation", kv("code", g.tokenValue(c))
	case 1:
		return "Observation", kv("code:not", g.tokenValue(c)) + "&" + kv("subject", fhir.Object(o, "subject")["reference"].(string))
	case 2:
		return "Observation", kv("code:text", g.oneOf("glucose", "Blood pressure", "body", "hemoglobin a1c", "rate"))
	case 3:
		return "Observation", kv("category", g.oneOf("laboratory", "vital-signs", "http://terminology.hl7.org/CodeSystem/observation-category|laboratory")) + "&" + kv("patient", fhir.Object(o, "subject")["reference"].(string))
	case 4:
		return "Observation", kv("status", g.oneOf("final", "preliminary,amended", "cancelled")) + "&" + kv("code", fhir.String(c, "code"))
	case 5:
		return "Observation", kv("status:not", "final")
	}
	return "Observation", kv("code", fhir.String(c, "code")+","+fhir.String(codingOf(g.any("Observation"), "code"), "code")) + "&" + kv("subject:missing", "false")
}

func (g *queryGen) observationLabs() (string, string) {
	o := g.any("Observation")
	subject := fhir.Object(o, "subject")["reference"].(string)
	c := codingOf(o, "code")
	lo := fmt.Sprint(2005 + g.r.IntN(15))
	q := join(kv("subject", subject), kv("code", fhir.String(c, "system")+"|"+fhir.String(c, "code")), kv("date", "ge"+lo+"-01-01"), kv("date", "lt"+fmt.Sprint(2010+g.r.IntN(15))+"-01-01"))
	if g.r.IntN(2) == 0 {
		q += "&" + g.paging(sortsOf["Observation"]...)
	}
	return "Observation", q
}

func (g *queryGen) observationQuantity() (string, string) {
	for {
		o := g.any("Observation")
		vq := fhir.Object(o, "valueQuantity")
		if vq == nil {
			if g.r.IntN(3) == 0 {
				return "Observation", kv("value-quantity:missing", g.oneOf("true", "false")) + "&" + kv("code", fhir.String(codingOf(o, "code"), "code"))
			}
			continue
		}
		q := kv("value-quantity", g.quantityValue(vq))
		if g.r.IntN(2) == 0 {
			q += "&" + kv("code", fhir.String(codingOf(o, "code"), "code"))
		}
		return "Observation", q
	}
}

func (g *queryGen) observationComposite() (string, string) {
	bp := func() map[string]any {
		for {
			o := g.any("Observation")
			if len(fhir.Array(o, "component")) > 0 {
				return o
			}
		}
	}
	o := bp()
	comp := fhir.Array(o, "component")[g.r.IntN(2)].(map[string]any)
	code := fhir.String(codingOf(comp, "code"), "code")
	switch g.r.IntN(4) {
	case 0, 1:
		if vq := fhir.Object(comp, "valueQuantity"); vq != nil {
			return "Observation", kv("component-code-value-quantity", "http://loinc.org|"+code+"$"+g.quantityValue(vq))
		}
		return "Observation", kv("component-code-value-quantity", "http://loinc.org|"+code+"$gt"+strconv.Itoa(60+g.r.IntN(90)))
	case 2:
		return "Observation", kv("combo-code-value-quantity", g.oneOf("http://loinc.org|8480-6", "8462-4", "http://loinc.org|2339-0")+"$"+g.oneOf("gt", "lt", "ge", "le")+strconv.Itoa(60+g.r.IntN(90)))
	}
	lab := g.any("Observation")
	if vq := fhir.Object(lab, "valueQuantity"); vq != nil {
		return "Observation", kv("code-value-quantity", fhir.String(codingOf(lab, "code"), "code")+"$"+g.quantityValue(vq))
	}
	return "Observation", kv("component-code", code)
}

func (g *queryGen) observationChain() (string, string) {
	p := g.any("Patient")
	name := fhir.Array(p, "name")[0].(map[string]any)
	family := fhir.String(name, "family")
	code := fhir.String(codingOf(g.any("Observation"), "code"), "code")
	switch g.r.IntN(6) {
	case 0:
		return "Observation", kv("subject:Patient.name", g.prefixOf(family)) + "&" + kv("code", code)
	case 1:
		return "Observation", kv("subject.name", g.prefixOf(family)) + "&" + kv("code", code)
	case 2:
		return "Observation", kv("patient.birthdate", g.datePrefix()+g.dateValue(fhir.String(p, "birthDate"))) + "&" + kv("code", code)
	case 3:
		return "Observation", kv("encounter.class", g.oneOf("EMER", "IMP", "http://terminology.hl7.org/CodeSystem/v3-ActCode|AMB")) + "&" + kv("code", code)
	case 4:
		return "Observation", kv("performer:Practitioner.family", g.prefixOf(fhir.String(fhir.Array(g.any("Practitioner"), "name")[0].(map[string]any), "family"))) + "&" + kv("code", code)
	}
	return "Observation", kv("subject:Patient.organization.name", g.prefixOf(fhir.String(g.any("Organization"), "name"))) + "&" + kv("code", code)
}

func effectiveOf(o map[string]any) string {
	if s := fhir.String(o, "effectiveDateTime"); s != "" {
		return s
	}
	if p := fhir.Object(o, "effectivePeriod"); p != nil {
		return fhir.String(p, g0(fhir.String(p, "start") != "", "start", "end"))
	}
	return "2016-01-01"
}

func g0(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}

func (g *queryGen) observationDate() (string, string) {
	o := g.any("Observation")
	v := g.datePrefix() + g.dateValue(effectiveOf(o))
	switch g.r.IntN(3) {
	case 0:
		return "Observation", kv("date", v)
	case 1:
		return "Observation", kv("date", v) + "&" + kv("subject", fhir.Object(o, "subject")["reference"].(string))
	}
	return "Observation", kv("date", v) + "&" + kv("code", fhir.String(codingOf(o, "code"), "code"))
}

func (g *queryGen) encounter() (string, string) {
	e := g.any("Encounter")
	period := fhir.Object(e, "period")
	subject := fhir.Object(e, "subject")["reference"].(string)
	switch g.r.IntN(8) {
	case 0:
		return "Encounter", kv("date", g.datePrefix()+g.dateValue(fhir.String(period, g.oneOf("start", "end"))))
	case 1:
		return "Encounter", kv("date", "ge"+g.dateValue(fhir.String(period, "start"))) + "&" + kv("date", "lt"+fmt.Sprint(2010+g.r.IntN(15)))
	case 2:
		return "Encounter", kv("class", g.oneOf("AMB", "EMER", "IMP", "http://terminology.hl7.org/CodeSystem/v3-ActCode|IMP")) + "&" + kv("subject", subject)
	case 3:
		return "Encounter", kv("type", g.tokenValue(fhir.Array(e, "type")[0].(map[string]any)["coding"].([]any)[0].(map[string]any)))
	case 4:
		return "Encounter", kv("subject", subject) + "&_revinclude=Provenance:target&" + g.paging(sortsOf["Encounter"]...)
	case 5:
		return "Encounter", kv("participant", fhir.Array(e, "participant")[0].(map[string]any)["individual"].(map[string]any)["reference"].(string)) + "&_include=Encounter:subject&_include=Encounter:service-provider"
	case 6:
		return "Encounter", kv("patient", subject) + "&_revinclude=Observation:encounter&_count=" + strconv.Itoa(2+g.r.IntN(5))
	}
	return "Encounter", kv("length", g.oneOf("gt", "lt")+strconv.Itoa(30+g.r.IntN(60))+"|http://unitsofmeasure.org|min")
}

func (g *queryGen) clinical() (string, string) {
	switch g.r.IntN(8) {
	case 0:
		c := g.any("Condition")
		return "Condition", kv("code", g.tokenValue(codingOf(c, "code"))) + "&" + kv("clinical-status", g.oneOf("active", "resolved"))
	case 1:
		c := g.any("Condition")
		return "Condition", kv("onset-date", g.datePrefix()+g.dateValue(fhir.String(c, "onsetDateTime")))
	case 2:
		return "Condition", kv("abatement-date:missing", g.oneOf("true", "false")) + "&" + kv("subject", fhir.Object(g.any("Condition"), "subject")["reference"].(string))
	case 3:
		m := g.any("MedicationRequest")
		return "MedicationRequest", kv("code", g.tokenValue(codingOf(m, "medicationCodeableConcept"))) + "&" + kv("status", g.oneOf("active", "completed,stopped"))
	case 4:
		m := g.any("MedicationRequest")
		return "MedicationRequest", kv("authoredon", g.datePrefix()+g.dateValue(fhir.String(m, "authoredOn"))) + "&" + kv("intent", "order")
	case 5:
		i := g.any("Immunization")
		return "Immunization", kv("vaccine-code", g.tokenValue(codingOf(i, "vaccineCode"))) + "&" + kv("date", g.datePrefix()+g.dateValue(fhir.String(i, "occurrenceDateTime")))
	case 6:
		p := g.any("Procedure")
		d := fhir.String(p, "performedDateTime")
		if d == "" {
			d = fhir.String(fhir.Object(p, "performedPeriod"), "start")
		}
		return "Procedure", kv("date", g.datePrefix()+g.dateValue(d)) + "&" + kv("code", g.tokenValue(codingOf(p, "code")))
	}
	return "Procedure", kv("subject", fhir.Object(g.any("Procedure"), "subject")["reference"].(string)) + "&" + g.paging(sortsOf["Procedure"]...)
}

func (g *queryGen) diagnosticReport() (string, string) {
	d := g.any("DiagnosticReport")
	result := fhir.Array(d, "result")[0].(map[string]any)["reference"].(string)
	switch g.r.IntN(5) {
	case 0:
		return "DiagnosticReport", kv("result", result)
	case 1:
		return "DiagnosticReport", kv("code", g.tokenValue(codingOf(d, "code"))) + "&_include=DiagnosticReport:result&_count=" + strconv.Itoa(2+g.r.IntN(6))
	case 2:
		return "DiagnosticReport", kv("issued", g.datePrefix()+g.dateValue(fhir.String(d, "issued")))
	case 3:
		return "DiagnosticReport", kv("result.value-quantity", g.oneOf("gt", "lt")+strconv.Itoa(50+g.r.IntN(150)))
	}
	return "Observation", kv("_has:DiagnosticReport:result:code", g.tokenValue(codingOf(d, "code"))) + "&" + kv("subject", fhir.Object(d, "subject")["reference"].(string))
}

func (g *queryGen) provenance() (string, string) {
	p := g.any("Provenance")
	target := fhir.Array(p, "target")[0].(map[string]any)["reference"].(string)
	switch g.r.IntN(5) {
	case 0:
		return "Provenance", kv("target", target)
	case 1:
		return "Provenance", kv("recorded", g.datePrefix()+g.dateValue(fhir.String(p, "recorded")))
	case 2:
		return "Provenance", kv("agent", fhir.Array(p, "agent")[0].(map[string]any)["who"].(map[string]any)["reference"].(string)) + "&" + g.paging(sortsOf["Provenance"]...)
	case 3:
		return "Provenance", kv("patient", fhir.Object(g.any("Encounter"), "subject")["reference"].(string))
	}
	return "Encounter", kv("_id", strings.TrimPrefix(target, "Encounter/")) + "&_revinclude=Provenance:target&_include=Encounter:participant"
}

func (g *queryGen) riskAssessment() (string, string) {
	r := g.any("RiskAssessment")
	p := fmt.Sprint(fhir.Array(r, "prediction")[0].(map[string]any)["probabilityDecimal"])
	switch g.r.IntN(3) {
	case 0:
		return "RiskAssessment", kv("probability", g.oneOf("", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")+p)
	case 1:
		return "RiskAssessment", kv("probability", g.oneOf("gt", "lt")+g.oneOf("0.1", "0.25", "0.3", "1e-1", "0.125"))
	}
	return "RiskAssessment", kv("probability", p[:min(3, len(p))]) + "&" + g.paging(sortsOf["RiskAssessment"]...)
}

func (g *queryGen) shared() (string, string) {
	pr := g.any("Practitioner")
	name := fhir.Array(pr, "name")[0].(map[string]any)
	switch g.r.IntN(5) {
	case 0:
		return "Practitioner", kv("name", g.prefixOf(fhir.String(name, "family")))
	case 1:
		return "Practitioner", kv("identifier", "http://hl7.org/fhir/sid/us-npi|"+fhir.String(fhir.Array(pr, "identifier")[0].(map[string]any), "value"))
	case 2:
		return "Organization", kv("name", g.prefixOf(fhir.String(g.any("Organization"), "name"))) + "&" + g.paging(sortsOf["Organization"]...)
	case 3:
		return "Organization", kv("address-city", g.oneOf("montreal", "Zürich", "São", "Köln")) + "&_revinclude=Patient:organization&_count=3"
	}
	return "Practitioner", kv("_has:Encounter:participant:class", g.oneOf("EMER", "IMP")) + "&" + g.paging(sortsOf["Practitioner"]...)
}

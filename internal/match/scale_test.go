package match_test

import (
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"omnichart/internal/fhir"
	"omnichart/internal/gen"
	"omnichart/internal/match"
)

var benchCopies = flag.Int("match.copies", 1, "copies of the generated population BenchmarkBatchMatch matches, each a different set of people (10 copies of 50,000 people make about 1,000,000 records)")

// scaled returns the records of pop repeated copies times, the first copy as
// generated and every other one a different set of people with the same
// variations between their records, and the copy each record is of:
// generating a million records with their clinical histories takes far
// longer than matching them, and a population copied so keeps what makes
// matching costly (name, birth date and household blocks of the sizes a
// population of that size has).
//
// Copy k > 0 changes every record of a person alike: the birth year plus k
// (day and month kept, so a swapped day and month stays a swap), the first
// digit of the SSN plus k (mod 10), the area code of every phone number, the
// first two digits of every ZIP code, and k appended to every other
// identifier value and to the e-mail's local part. Records of one copy are
// then other people than those of another.
func scaled(pop *population, copies int) (records []match.Record, copyOf map[match.Ref]int) {
	copyOf = map[match.Ref]int{}
	for k := 0; k < copies; k++ {
		for _, r := range pop.records {
			c := r
			if k > 0 {
				c = match.Record{Source: r.Source, ID: r.ID + "-" + strconv.Itoa(k), Patient: copyPatient(r.Patient, k)}
			}
			records = append(records, c)
			copyOf[c.Ref()] = k
		}
	}
	return records, copyOf
}

func copyPatient(p map[string]any, k int) map[string]any {
	out := fhir.Clone(p).(map[string]any)
	if b := fhir.String(out, "birthDate"); len(b) >= 4 {
		if y, err := strconv.Atoi(b[:4]); err == nil {
			out["birthDate"] = fmt.Sprintf("%04d", y+k) + b[4:]
		}
	}
	for _, x := range fhir.Array(out, "identifier") {
		id, _ := x.(map[string]any)
		v := fhir.String(id, "value")
		if v == "" {
			continue
		}
		if fhir.String(id, "system") == gen.SSNSystem || strings.Contains(fmt.Sprint(id["type"]), "SS") {
			id["value"] = shiftFirstDigit(v, k)
		} else {
			id["value"] = v + "C" + strconv.Itoa(k)
		}
	}
	area := strconv.Itoa(200 + 37*k%700)
	for _, x := range fhir.Array(out, "telecom") {
		t, _ := x.(map[string]any)
		v := fhir.String(t, "value")
		switch fhir.String(t, "system") {
		case "phone":
			t["value"] = strings.Replace(v, "413", area, 1)
		case "email":
			t["value"] = strings.Replace(v, "@", strconv.Itoa(k)+"@", 1)
		}
	}
	for _, x := range fhir.Array(out, "address") {
		a, _ := x.(map[string]any)
		if z := fhir.String(a, "postalCode"); len(z) >= 2 {
			a["postalCode"] = fmt.Sprintf("%02d", (k*7)%100) + z[2:]
		}
	}
	return out
}

// shiftFirstDigit adds k to the first digit of s, mod 10.
func shiftFirstDigit(s string, k int) string {
	i := strings.IndexFunc(s, func(r rune) bool { return r >= '0' && r <= '9' })
	if i < 0 {
		return s
	}
	return s[:i] + string(rune('0'+(int(s[i]-'0')+k)%10)) + s[i+1:]
}

// TestScaledCopiesAreOtherPeople checks the copies BenchmarkBatchMatch
// scales a population with: matched together, no person holds records of two
// copies, and every copy makes as many persons as the population alone,
// within 2% (a birth year moved by one can undo a typo between two years).
func TestScaledCopiesAreOtherPeople(t *testing.T) {
	pop := MustGenerate(t, "hard", 200, 1)
	const copies = 3
	records, copyOf := scaled(pop, copies)
	if len(records) != copies*len(pop.records) || len(pop.records) < 300 {
		t.Fatalf("scaled() = %d records of %d, want %d times as many and at least 300 generated", len(records), len(pop.records), copies)
	}
	one, err := match.Batch(pop.records, fixedModel())
	if err != nil {
		t.Fatal(err)
	}
	all, err := match.Batch(records, fixedModel())
	if err != nil {
		t.Fatal(err)
	}
	perCopy := make([]int, copies)
	for _, p := range all.Persons {
		k := copyOf[p.Records[0]]
		for _, r := range p.Records[1:] {
			if copyOf[r] != k {
				t.Fatalf("a person holds %s of copy %d and %s of copy %d", p.Records[0], k, r, copyOf[r])
			}
		}
		perCopy[k]++
	}
	for k, got := range perCopy {
		if diff := math.Abs(float64(got - len(one.Persons))); diff > 0.02*float64(len(one.Persons)) {
			t.Errorf("copy %d has %d persons, want %d (as the population alone) within 2%%", k, got, len(one.Persons))
		}
	}
}

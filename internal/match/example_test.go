package match_test

import (
	"fmt"

	"omnichart/internal/match"
)

// Two sources' records of one woman: the hospital writes her in capitals
// with a middle initial and her birth date as the registrar heard it, the
// practice by her nickname with day and month the other way round. Both have
// her SSN.
func ExampleBatch() {
	hospital := match.Record{Source: "urn:omnichart:source:st-marys", ID: "26077227", Patient: map[string]any{
		"resourceType": "Patient", "gender": "female", "birthDate": "1984-03-05",
		"identifier": []any{
			map[string]any{"system": "urn:oid:2.999.1.1.1", "value": "26077227"},
			map[string]any{"system": "http://hl7.org/fhir/sid/us-ssn", "value": "931-65-8832"},
		},
		"name":    []any{map[string]any{"family": "KING", "given": []any{"ELIZABETH", "A"}}},
		"address": []any{map[string]any{"line": []any{"1585 CENTER ST", "#2B"}, "city": "HOLYOKE", "postalCode": "01040"}},
		"telecom": []any{map[string]any{"system": "phone", "value": "413-555-2578"}},
	}}
	practice := match.Record{Source: "urn:omnichart:source:riverside-family", ID: "400215", Patient: map[string]any{
		"resourceType": "Patient", "gender": "female", "birthDate": "1984-05-03",
		"identifier": []any{
			map[string]any{"system": "urn:oid:2.999.1.2.1", "value": "400215"},
			map[string]any{"system": "http://hl7.org/fhir/sid/us-ssn", "value": "931658832"},
		},
		"name":    []any{map[string]any{"family": "King", "given": []any{"Beth", "Ann"}}},
		"address": []any{map[string]any{"line": []any{"1585 Center Street", "Apt 2B"}, "city": "Holyoke", "postalCode": "01040-2214"}},
		"telecom": []any{map[string]any{"system": "phone", "value": "(413) 555-2578"}},
	}}
	cfg := match.DefaultConfig()
	cfg.Model = match.DefaultModel() // two records are too few to estimate from
	r, err := match.Batch([]match.Record{hospital, practice}, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(r.Pairs[0].Explain())
	fmt.Println(len(r.Persons), "person:", r.Persons[0].Records)
	// Output:
	// Patient/400215@urn:omnichart:source:riverside-family ~ Patient/26077227@urn:omnichart:source:st-marys: score 22.7 (upper 5, lower 2): link by threshold
	//   given             nickname     +3.9  (m 0.09 u 0.006)
	//   family            exact        +0.5  (m 0.79 u 0.56)
	//   middle            initial      +3.9  (m 0.52 u 0.035)
	//   suffix            missing         0
	//   birthDate         swapped      -0.6  (m 0.02 u 0.03)
	//   sex               same         +1.1  (m 0.999 u 0.47)
	//   strongIdentifier  exact       +13.2  (m 0.965 u 0.0001)
	//   localIdentifier   missing         0
	//   address           exact        +0.5  (m 0.99 u 0.71)
	//   phone             same         +0.2  (m 0.999 u 0.89)
	//   email             missing         0
	//   multipleBirth     missing         0
	// 1 person: [Patient/400215@urn:omnichart:source:riverside-family Patient/26077227@urn:omnichart:source:st-marys]
}

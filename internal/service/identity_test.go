package service_test

import (
	"testing"

	"omnichart/internal/service"
)

func person(given, family, birth, sex string) map[string]any {
	p := map[string]any{"resourceType": "Patient"}
	if given != "" || family != "" {
		n := map[string]any{}
		if family != "" {
			n["family"] = family
		}
		if given != "" {
			n["given"] = []any{given}
		}
		p["name"] = []any{n}
	}
	if birth != "" {
		p["birthDate"] = birth
	}
	if sex != "" {
		p["gender"] = sex
	}
	return p
}

func TestSameIdentity(t *testing.T) {
	tests := []struct {
		name     string
		old, new map[string]any
		want     bool
	}{
		{"the same demographics are the same person", person("Bernice", "Maxwell", "1940-08-05", "female"), person("Bernice", "Maxwell", "1940-08-05", "female"), true},
		{"a new address is an update", person("Bernice", "Maxwell", "1940-08-05", "female"), func() map[string]any {
			p := person("Bernice", "Maxwell", "1940-08-05", "female")
			p["address"] = []any{map[string]any{"city": "Boston"}}
			return p
		}(), true},
		{"a typo in the family name is an update", person("Bernice", "Maxwell", "1940-08-05", "female"), person("Bernice", "Maxwel", "1940-08-05", "female"), true},
		{"transposed letters are a typo", person("Bernice", "Maxwell", "1940-08-05", "female"), person("Brenice", "Mawxell", "1940-08-05", "female"), true},
		{"a married name with the same birth date is an update", person("Wilma", "Crawford", "1943-09-03", "female"), person("Wilma", "Lambert", "1943-09-03", "female"), true},
		{"a corrected birth date with the same name and sex is an update", person("Felix", "Norris", "1942-02-11", "male"), person("Felix", "Norris", "1942-11-02", "male"), true},
		{"a diacritic and case change is the same name", person("José", "NÚÑEZ", "1970-01-01", "male"), person("Jose", "Nunez", "1970-01-01", "male"), true},
		{"an initial stands for a given name", person("J", "Smith", "1970-01-01", "male"), person("John", "Smith", "1970-01-01", "male"), true},
		{"missing data never contradicts", person("", "", "", ""), person("Felix", "Norris", "1942-02-11", "male"), true},
		{"a year of birth agrees with a full date in it", person("Felix", "Norris", "1942", "male"), person("Felix", "Norris", "1942-02-11", "male"), true},
		{"other birth date and other sex are another person", person("Felix", "Norris", "1942-02-11", "male"), person("Felix", "Norris", "1950-06-01", "female"), false},
		{"other birth date and other name are another person", person("Bernice", "Maxwell", "1940-08-05", "female"), person("Wilma", "Crawford", "1943-09-03", "female"), false},
		{"names that share nothing are another person even born the same day", person("Wilma", "Crawford", "1943-09-03", "female"), person("Jackie", "Lambert", "1943-09-03", "female"), false},
		{"twins: same family and birth date, other sex and given name", person("Anna", "Kowalski", "2001-04-04", "female"), person("Piotr", "Kowalski", "2001-04-04", "male"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := service.SameIdentity(tt.old, tt.new); got != tt.want {
				t.Errorf("SameIdentity(%v, %v) = %v, want %v", tt.old, tt.new, got, tt.want)
			}
		})
	}
}

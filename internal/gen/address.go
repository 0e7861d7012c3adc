package gen

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// town is where people live: every town of the population is in one region, so
// that sources share patients.
type town struct {
	city, zip, area string // area is the telephone area code
}

// towns are the region's towns. The first is the one where common names meet.
var towns = []town{
	{"Springfield", "01103", "413"}, {"Chicopee", "01013", "413"}, {"Holyoke", "01040", "413"},
	{"Westfield", "01085", "413"}, {"Northampton", "01060", "413"}, {"Amherst", "01002", "413"},
	{"Agawam", "01001", "413"}, {"Ludlow", "01056", "413"}, {"Easthampton", "01027", "413"},
	{"Palmer", "01069", "413"},
}

const state = "MA"

// streets, with their type written in full; sources abbreviate it in their own way.
var streets = []string{
	"Main Street", "Maple Street", "Oak Street", "Elm Street", "State Street", "Chestnut Street",
	"Pine Street", "Washington Street", "Park Avenue", "Summer Street", "Liberty Street", "Bridge Street",
	"Mill Road", "Boston Road", "Allen Street", "Sumner Avenue", "Dickinson Street", "Carew Street",
	"Worthington Street", "Belmont Avenue", "Northampton Avenue", "Riverside Drive", "Hillcrest Drive",
	"Orchard Lane", "Birch Lane", "Meadow Lane", "Cedar Court", "Forest Park Avenue", "Center Street",
	"Church Street", "School Street", "High Street", "Prospect Street", "Franklin Street", "Union Street",
	"Walnut Street", "Spruce Street", "Maple Ridge Road", "Sunset Boulevard", "Lakeview Terrace",
}

var streetAbbrev = map[string]string{
	"Street": "St", "Avenue": "Ave", "Road": "Rd", "Drive": "Dr", "Lane": "Ln", "Court": "Ct",
	"Boulevard": "Blvd", "Terrace": "Ter",
}

// address is one home address in canonical form.
type address struct {
	number int
	street string
	unit   string // apartment, "" when none
	town   town
}

func newAddress(r *rand.Rand, t town) address {
	a := address{number: 1 + r.IntN(1999), street: pick(r, streets), town: t}
	if r.IntN(4) == 0 {
		a.unit = strconv.Itoa(1+r.IntN(4)) + string(rune('A'+r.IntN(4)))
	}
	return a
}

// style is how one source writes addresses and phone numbers. It is a property of
// the source's software, not an error, and is not listed as a variation.
type style struct {
	abbreviate bool   // "Main St" for "Main Street"
	unitWord   string // "Apt", "Unit" or "#"
	zipPlus4   bool   // 01103-2214
	phone      int    // 0: 413-555-0134, 1: (413) 555-0134, 2: 4135550134
	upper      bool   // the source writes everything in upper case
}

// lines returns the street lines of a in style s.
func (a address) lines(s style) []string {
	street := a.street
	if s.abbreviate {
		if i := strings.LastIndexByte(street, ' '); i > 0 {
			if ab, ok := streetAbbrev[street[i+1:]]; ok {
				street = street[:i+1] + ab
			}
		}
	}
	l := []string{strconv.Itoa(a.number) + " " + street}
	if a.unit != "" {
		sep := " "
		if s.unitWord == "#" {
			sep = ""
		}
		l = append(l, s.unitWord+sep+a.unit)
	}
	return l
}

func (a address) zip(s style) string {
	if s.zipPlus4 {
		return a.town.zip + "-" + fmt.Sprintf("%04d", (a.number*37+len(a.street)*101)%10000)
	}
	return a.town.zip
}

// canonical is the address on one line, as the truth file gives it.
func (a address) canonical() string {
	s := strconv.Itoa(a.number) + " " + a.street
	if a.unit != "" {
		s += " Apt " + a.unit
	}
	return s + ", " + a.town.city + ", " + state + " " + a.town.zip
}

// phone is a ten-digit number; only 555 exchanges are used, which are not
// assigned to real subscribers.
type phone string

func newPhone(r *rand.Rand, t town) phone {
	return phone(t.area + "555" + fmt.Sprintf("%04d", r.IntN(10000)))
}

func (p phone) format(s style) string {
	d := string(p)
	if len(d) != 10 {
		return d
	}
	switch s.phone {
	case 1:
		return "(" + d[:3] + ") " + d[3:6] + "-" + d[6:]
	case 2:
		return d
	}
	return d[:3] + "-" + d[3:6] + "-" + d[6:]
}

// newSSN returns an SSN in the 900-999 area, which the Social Security
// Administration never issues, so no generated number is a real one.
func newSSN(r *rand.Rand, used map[string]bool) string {
	for {
		s := fmt.Sprintf("9%02d-%02d-%04d", r.IntN(100), 1+r.IntN(99), 1+r.IntN(9999))
		if !used[s] {
			used[s] = true
			return s
		}
	}
}

// ssnTypo changes one digit of an SSN or swaps two neighbouring digits, keeping
// the dashes.
func ssnTypo(r *rand.Rand, ssn string) string {
	b := []byte(ssn)
	var digits []int
	for i, c := range b {
		if c >= '0' && c <= '9' && i > 0 { // keep the 9xx area, so it stays synthetic
			digits = append(digits, i)
		}
	}
	i := pick(r, digits)
	if r.IntN(2) == 0 {
		for j := i + 1; j < len(b); j++ {
			if b[j] >= '0' && b[j] <= '9' {
				if b[i] != b[j] {
					b[i], b[j] = b[j], b[i]
					return string(b)
				}
				break
			}
		}
	}
	b[i] = byte('0' + (int(b[i]-'0')+1+r.IntN(9))%10)
	return string(b)
}

// npi returns a ten-digit National Provider Identifier with a valid check digit
// (Luhn over the prefix 80840 and the first nine digits). The 9-digit bases come
// from the seed, so they are not real providers' numbers except by chance.
func npi(base int) string {
	body := fmt.Sprintf("%09d", base%1_000_000_000)
	digits := "80840" + body
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if (len(digits)-1-i)%2 == 0 { // double every second digit from the right, starting with the last
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	check := (10 - sum%10) % 10
	return body + strconv.Itoa(check)
}

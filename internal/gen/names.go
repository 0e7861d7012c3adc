package gen

import (
	"math/rand/v2"
	"strings"
	"unicode"
)

// Given names by sex, most common first, with the nicknames registries write
// instead of them. Names without a nickname are in the lists too.
var (
	givenMale = []string{
		"James", "Robert", "John", "Michael", "William", "David", "Richard", "Joseph", "Thomas", "Charles",
		"Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Paul", "Andrew", "Joshua",
		"Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald", "Edward", "Jason", "Jeffrey", "Ryan",
		"Jacob", "Gary", "Nicholas", "Eric", "Jonathan", "Stephen", "Larry", "Justin", "Scott", "Brandon",
		"Benjamin", "Samuel", "Gregory", "Alexander", "Frank", "Patrick", "Raymond", "Jack", "Dennis", "Jerry",
		"Jose", "Luis", "Carlos", "Juan", "Miguel", "Wei", "Minh", "Hiroshi", "Raj", "Mohammed",
		"Kwame", "Liam", "Noah", "Elijah", "Mateo", "Francis", "Peter", "Walter", "Henry", "Frederick",
	}
	givenFemale = []string{
		"Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen",
		"Lisa", "Nancy", "Betty", "Margaret", "Sandra", "Ashley", "Kimberly", "Emily", "Donna", "Michelle",
		"Carol", "Amanda", "Dorothy", "Melissa", "Deborah", "Stephanie", "Rebecca", "Sharon", "Laura", "Cynthia",
		"Kathleen", "Amy", "Angela", "Shirley", "Anna", "Brenda", "Pamela", "Emma", "Nicole", "Helen",
		"Samantha", "Katherine", "Christine", "Debra", "Rachel", "Catherine", "Carolyn", "Janet", "Ruth", "Maria",
		"Guadalupe", "Carmen", "Rosa", "Mei", "Lan", "Yuki", "Priya", "Aisha", "Fatima", "Abena",
		"Olivia", "Sophia", "Isabella", "Victoria", "Abigail", "Alexandra", "Theresa", "Judith", "Virginia", "Eleanor",
	}
	nicknames = map[string][]string{
		"James": {"Jim", "Jimmy"}, "Robert": {"Bob", "Rob", "Bobby"}, "John": {"Jack", "Johnny"},
		"Michael": {"Mike"}, "William": {"Bill", "Will", "Billy"}, "David": {"Dave"}, "Richard": {"Rick", "Dick"},
		"Joseph": {"Joe"}, "Thomas": {"Tom", "Tommy"}, "Charles": {"Charlie", "Chuck"}, "Christopher": {"Chris"},
		"Daniel": {"Dan", "Danny"}, "Matthew": {"Matt"}, "Anthony": {"Tony"}, "Donald": {"Don"}, "Steven": {"Steve"},
		"Andrew": {"Andy", "Drew"}, "Joshua": {"Josh"}, "Kenneth": {"Ken", "Kenny"}, "Timothy": {"Tim"},
		"Ronald": {"Ron"}, "Edward": {"Ed", "Ted", "Eddie"}, "Jeffrey": {"Jeff"}, "Jacob": {"Jake"},
		"Nicholas": {"Nick"}, "Jonathan": {"Jon"}, "Stephen": {"Steve"},
		"Benjamin": {"Ben"}, "Samuel": {"Sam"}, "Gregory": {"Greg"}, "Alexander": {"Alex"}, "Patrick": {"Pat"},
		"Raymond": {"Ray"}, "Jose": {"Pepe"}, "Francis": {"Frank"}, "Peter": {"Pete"},
		"Walter": {"Walt"}, "Henry": {"Hank"}, "Frederick": {"Fred"}, "Miguel": {"Mike"},
		"Mary": {"Molly", "Polly"}, "Patricia": {"Pat", "Patty", "Trish"}, "Jennifer": {"Jen", "Jenny"},
		"Elizabeth": {"Liz", "Beth", "Betty"}, "Barbara": {"Barb"}, "Susan": {"Sue", "Susie"},
		"Jessica": {"Jess"}, "Margaret": {"Peggy", "Maggie", "Meg"}, "Sandra": {"Sandy"}, "Kimberly": {"Kim"},
		"Dorothy": {"Dot", "Dottie"}, "Deborah": {"Debbie", "Deb"}, "Rebecca": {"Becky"}, "Cynthia": {"Cindy"},
		"Kathleen": {"Kathy"}, "Pamela": {"Pam"}, "Samantha": {"Sam"}, "Katherine": {"Kate", "Kathy"},
		"Christine": {"Chris", "Tina"}, "Debra": {"Debbie"}, "Catherine": {"Cathy", "Kate"}, "Abigail": {"Abby"},
		"Alexandra": {"Alex"}, "Theresa": {"Terry", "Tess"}, "Judith": {"Judy"}, "Virginia": {"Ginny"},
		"Eleanor": {"Ellie", "Nora"}, "Victoria": {"Vicky"}, "Isabella": {"Bella"}, "Guadalupe": {"Lupe"},
	}
)

// Family names, most common first: plain, two-part (Spanish), hyphenated, and
// with particles or punctuation that registries write in several ways.
var families = []string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
	"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
	"Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
	"Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
	"Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
	"Murphy", "Sullivan", "Kelly", "Fitzgerald", "Tremblay", "Leblanc", "Kowalski", "Nowak", "Tran", "Pham",
	"Kim", "Park", "Chen", "Wang", "Patel", "Shah", "Cohen", "Schmidt", "Rossi", "Santos",
	"Oliveira", "Mensah", "Okafor", "Haddad", "Yamamoto", "Petrov", "Novak", "Lindqvist", "Brennan", "Gallagher",
	"Garcia Lopez", "Rodriguez Martinez", "Hernandez Cruz", "Santos Silva", "Gomez Rivera", "Diaz Ortega",
	"Smith-Jones", "Taylor-Brown", "Murphy-Kelly", "Chen-Wong", "Patel-Shah",
	"O'Brien", "O'Connor", "McDonald", "MacKenzie", "D'Angelo", "De La Cruz", "Van der Berg", "St. Pierre", "Le Blanc", "Du Bois",
}

// commonNames are full names shared by several unrelated people in one town.
var commonNames = []struct{ given, family, sex string }{
	{"James", "Smith", "male"}, {"Maria", "Garcia", "female"}, {"Michael", "Johnson", "male"},
	{"Jennifer", "Williams", "female"}, {"Robert", "Brown", "male"}, {"Linda", "Jones", "female"},
	{"David", "Miller", "male"}, {"Mary", "Davis", "female"},
}

// pickWeighted picks from a list ordered by frequency: earlier names are more
// likely (roughly Zipf), as in real name distributions.
func pickWeighted(r *rand.Rand, xs []string) string {
	// The square of a uniform number favours small indexes.
	u := r.Float64()
	return xs[int(u*u*float64(len(xs)))]
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func givenName(r *rand.Rand, sex string) string {
	if sex == "female" {
		return pickWeighted(r, givenFemale)
	}
	return pickWeighted(r, givenMale)
}

// nickname returns a nickname of given, or "" when it has none.
func nickname(r *rand.Rand, given string) string {
	ns := nicknames[given]
	if len(ns) == 0 {
		return ""
	}
	return pick(r, ns)
}

// keyboard neighbours of each letter on a QWERTY keyboard, for substitutions a
// typist makes.
var neighbours = map[rune]string{
	'a': "qswz", 'b': "vghn", 'c': "xdfv", 'd': "serfcx", 'e': "wsdr", 'f': "drtgvc", 'g': "ftyhbv",
	'h': "gyujnb", 'i': "ujko", 'j': "huikmn", 'k': "jiolm", 'l': "kop", 'm': "njk", 'n': "bhjm",
	'o': "iklp", 'p': "ol", 'q': "wa", 'r': "edft", 's': "awedxz", 't': "rfgy", 'u': "yhji",
	'v': "cfgb", 'w': "qase", 'x': "zsdc", 'y': "tghu", 'z': "asx",
}

// typo makes one typing error in s: a neighbouring key, two letters swapped, a
// letter left out or doubled. Only letters are touched, the first one never, and a
// name of fewer than three letters comes back unchanged.
func typo(r *rand.Rand, s string) string {
	rs := []rune(s)
	var pos []int
	for i := 1; i < len(rs); i++ {
		if unicode.IsLetter(rs[i]) {
			pos = append(pos, i)
		}
	}
	if len(pos) < 2 {
		return s
	}
	i := pick(r, pos)
	switch r.IntN(4) {
	case 0: // a neighbouring key
		lower := unicode.ToLower(rs[i])
		if n := neighbours[lower]; n != "" {
			c := rune(n[r.IntN(len(n))])
			if unicode.IsUpper(rs[i]) {
				c = unicode.ToUpper(c)
			}
			rs[i] = c
			break
		}
		fallthrough
	case 1: // two letters swapped
		j := i + 1
		if j >= len(rs) || !unicode.IsLetter(rs[j]) || rs[j] == rs[i] {
			j = i - 1
		}
		if j < 1 || rs[j] == rs[i] || !unicode.IsLetter(rs[j]) {
			return string(append(rs[:i:i], rs[i+1:]...))
		}
		rs[i], rs[j] = rs[j], rs[i]
	case 2: // a letter left out
		return string(append(rs[:i:i], rs[i+1:]...))
	default: // a letter doubled
		return string(rs[:i+1]) + string(rs[i:])
	}
	return string(rs)
}

// surnameForms returns the other ways registries write a family name: the parts
// of a two-part or hyphenated name joined differently or alone, particles and
// punctuation dropped or spaced. A simple name has none.
func surnameForms(family string) []string {
	var out []string
	add := func(s string) {
		if s != family && s != "" {
			out = append(out, s)
		}
	}
	switch {
	case strings.Contains(family, "-"):
		parts := strings.Split(family, "-")
		add(strings.Join(parts, " "))
		add(parts[0])
		add(parts[len(parts)-1])
	case strings.Contains(family, "'"):
		add(strings.ReplaceAll(family, "'", ""))
		add(strings.ReplaceAll(family, "'", " "))
	case strings.Contains(family, " "):
		parts := strings.Fields(family)
		add(strings.Join(parts, "-"))
		add(strings.Join(parts, ""))
		add(strings.ReplaceAll(strings.ReplaceAll(family, ".", ""), " ", ""))
		if len(parts) == 2 && !isParticle(parts[0]) {
			add(parts[0]) // the first family name alone, as Spanish usage shortens it
		} else {
			add(parts[len(parts)-1])
		}
	case strings.HasPrefix(family, "Mc") || strings.HasPrefix(family, "Mac"):
		add(strings.ToUpper(family[:1]) + strings.ToLower(family[1:]))
	}
	return out
}

func isParticle(s string) bool {
	switch strings.ToLower(strings.TrimSuffix(s, ".")) {
	case "de", "del", "la", "van", "von", "der", "st", "le", "du", "da", "di":
		return true
	}
	return false
}

// hasSurnameForms reports whether family can be written in another form.
func hasSurnameForms(family string) bool { return len(surnameForms(family)) > 0 }

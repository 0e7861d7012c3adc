package fhir

// ucumCanonical maps common UCUM unit codes to a canonical unit and the factor that
// converts a value into it, so that "1 g" and "1000 mg" match the same quantity
// search and two sources' results compare. Temperatures are affine and handled in
// CanonicalUCUM.
var ucumCanonical = map[string]struct {
	unit   string
	factor float64
}{
	// mass
	"kg": {"g", 1e3}, "g": {"g", 1}, "mg": {"g", 1e-3}, "ug": {"g", 1e-6}, "ng": {"g", 1e-9}, "pg": {"g", 1e-12},
	"[lb_av]": {"g", 453.59237}, "[oz_av]": {"g", 28.349523125},
	// length
	"km": {"m", 1e3}, "m": {"m", 1}, "cm": {"m", 1e-2}, "mm": {"m", 1e-3}, "um": {"m", 1e-6}, "nm": {"m", 1e-9},
	"[in_i]": {"m", 0.0254}, "[ft_i]": {"m", 0.3048},
	// volume
	"L": {"L", 1}, "l": {"L", 1}, "dL": {"L", 0.1}, "cL": {"L", 0.01}, "mL": {"L", 1e-3}, "uL": {"L", 1e-6}, "fL": {"L", 1e-15},
	// time
	"s": {"s", 1}, "ms": {"s", 1e-3}, "min": {"s", 60}, "h": {"s", 3600}, "d": {"s", 86400},
	"wk": {"s", 604800}, "mo": {"s", 2629800}, "a": {"s", 31557600},
	// mass concentration
	"g/L": {"g/L", 1}, "g/dL": {"g/L", 10}, "mg/dL": {"g/L", 1e-2}, "mg/L": {"g/L", 1e-3}, "ug/mL": {"g/L", 1e-3},
	"ug/dL": {"g/L", 1e-5}, "ug/L": {"g/L", 1e-6}, "ng/mL": {"g/L", 1e-6}, "ng/dL": {"g/L", 1e-8}, "pg/mL": {"g/L", 1e-9},
	"kg/m2": {"g/m2", 1e3}, "g/m2": {"g/m2", 1},
	// substance concentration
	"mol/L": {"mol/L", 1}, "mmol/L": {"mol/L", 1e-3}, "umol/L": {"mol/L", 1e-6}, "nmol/L": {"mol/L", 1e-9}, "pmol/L": {"mol/L", 1e-12},
	"meq/L": {"eq/L", 1e-3}, "eq/L": {"eq/L", 1},
	// pressure
	"mm[Hg]": {"Pa", 133.322387415}, "kPa": {"Pa", 1e3}, "Pa": {"Pa", 1},
	// rates and counts
	"/min": {"/s", 1.0 / 60}, "/s": {"/s", 1}, "{beats}/min": {"/s", 1.0 / 60}, "{breaths}/min": {"/s", 1.0 / 60},
	"%": {"1", 0.01}, "1": {"1", 1},
	"10*3/uL": {"/L", 1e9}, "10*6/uL": {"/L", 1e12}, "10*9/L": {"/L", 1e9}, "10*12/L": {"/L", 1e12},
}

// CanonicalUCUM converts a UCUM value to its canonical unit; ok is false for units it
// does not know.
func CanonicalUCUM(value float64, code string) (float64, string, bool) {
	switch code {
	case "Cel":
		return value + 273.15, "K", true
	case "[degF]":
		return (value-32)*5/9 + 273.15, "K", true
	case "K":
		return value, "K", true
	}
	c, ok := ucumCanonical[code]
	if !ok {
		return 0, "", false
	}
	return value * c.factor, c.unit, true
}

// UCUMSystem is the code system of UCUM units.
const UCUMSystem = "http://unitsofmeasure.org"

package fhirpath

import (
	"math/big"
	"strings"
)

// Quantity is a FHIRPath System.Quantity: a decimal and a UCUM unit, or one of the
// calendar duration words (year, month, week, day, hour, minute, second,
// millisecond), stored singular.
type Quantity struct {
	Value Decimal
	Unit  string
}

// String formats the quantity as a FHIRPath literal would read.
func (q Quantity) String() string {
	if calendarUnits[q.Unit] != "" {
		return q.Value.String() + " " + q.Unit
	}
	return q.Value.String() + " '" + q.Unit + "'"
}

// calendarUnits maps each calendar duration word (singular and plural) to its
// singular form.
var calendarUnits = map[string]string{
	"year": "year", "years": "year", "month": "month", "months": "month",
	"week": "week", "weeks": "week", "day": "day", "days": "day",
	"hour": "hour", "hours": "hour", "minute": "minute", "minutes": "minute",
	"second": "second", "seconds": "second", "millisecond": "millisecond", "milliseconds": "millisecond",
}

// ucumForCalendar is the UCUM unit a calendar duration is equal to. Years and months
// are not definite durations, so they only match their calendar word.
var ucumForCalendar = map[string]string{
	"week": "wk", "day": "d", "hour": "h", "minute": "min", "second": "s", "millisecond": "ms",
}

// calendarForUCUM maps a UCUM time unit to the calendar word used for date arithmetic.
var calendarForUCUM = map[string]string{
	"wk": "week", "d": "day", "h": "hour", "min": "minute", "s": "second", "ms": "millisecond",
}

// unitDef is a UCUM unit as a multiple of a base dimension.
type unitDef struct {
	dim    string
	factor *big.Rat
}

func rat(a, b int64) *big.Rat { return big.NewRat(a, b) }

// baseUnits are the UCUM atoms the conversions know, in terms of a base unit of
// their dimension. Metric prefixes are applied on top (see unitOf).
var baseUnits = map[string]unitDef{
	"g":       {"mass", rat(1, 1)},
	"[lb_av]": {"mass", big.NewRat(45359237, 100000)},
	"[oz_av]": {"mass", big.NewRat(45359237, 1600000)},
	"m":       {"length", rat(1, 1)},
	"[in_i]":  {"length", rat(254, 10000)},
	"[ft_i]":  {"length", rat(3048, 10000)},
	"L":       {"volume", rat(1, 1)},
	"l":       {"volume", rat(1, 1)},
	"s":       {"time", rat(1, 1)},
	"min":     {"time", rat(60, 1)},
	"h":       {"time", rat(3600, 1)},
	"d":       {"time", rat(86400, 1)},
	"wk":      {"time", rat(604800, 1)},
	"mol":     {"amount", rat(1, 1)},
	"1":       {"one", rat(1, 1)},
	"%":       {"one", rat(1, 100)},
	"Cel":     {"celsius", rat(1, 1)},
	"[degF]":  {"fahrenheit", rat(1, 1)},
	"mm[Hg]":  {"pressure", big.NewRat(133322, 1000)},
	"Pa":      {"pressure", rat(1, 1)},
}

var prefixes = map[string]*big.Rat{
	"k": rat(1000, 1), "h": rat(100, 1), "da": rat(10, 1), "d": rat(1, 10), "c": rat(1, 100),
	"m": rat(1, 1000), "u": rat(1, 1000000), "n": rat(1, 1000000000), "p": rat(1, 1000000000000),
}

// unitOf resolves a simple UCUM unit (an atom with an optional metric prefix and an
// optional power of 2 or 3 for lengths).
func unitOf(u string) (unitDef, bool) {
	if d, ok := baseUnits[u]; ok {
		return d, true
	}
	for _, pow := range []string{"2", "3"} {
		if strings.HasSuffix(u, pow) {
			if d, ok := unitOf(strings.TrimSuffix(u, pow)); ok && d.dim == "length" {
				f := new(big.Rat).Set(d.factor)
				for i := 1; i < int(pow[0]-'0'); i++ {
					f.Mul(f, d.factor)
				}
				return unitDef{dim: "length" + pow, factor: f}, true
			}
		}
	}
	for p, f := range prefixes {
		if strings.HasPrefix(u, p) && len(u) > len(p) {
			if d, ok := baseUnits[u[len(p):]]; ok && d.dim != "time" && d.dim != "one" {
				return unitDef{dim: d.dim, factor: new(big.Rat).Mul(d.factor, f)}, true
			}
		}
	}
	if u == "ms" {
		return unitDef{dim: "time", factor: rat(1, 1000)}, true
	}
	return unitDef{}, false
}

// comparableUnit is the unit q is compared in: calendar words of a definite length
// become their UCUM unit.
func (q Quantity) comparableUnit() string {
	if u, ok := ucumForCalendar[q.Unit]; ok {
		return u
	}
	return q.Unit
}

// convertTo expresses q in unit, when both are known UCUM units of one dimension.
func (q Quantity) convertTo(unit string) (Quantity, bool) {
	from, to := q.comparableUnit(), unit
	if u, ok := ucumForCalendar[to]; ok {
		to = u
	}
	if from == to {
		return Quantity{Value: q.Value, Unit: unit}, true
	}
	if q.Unit == "year" || q.Unit == "month" || unit == "year" || unit == "month" {
		return q, false
	}
	a, ok1 := unitOf(from)
	b, ok2 := unitOf(to)
	if !ok1 || !ok2 || a.dim != b.dim || a.dim == "celsius" || a.dim == "fahrenheit" {
		return q, false
	}
	v := new(big.Rat).Mul(q.Value.rat(), a.factor)
	v.Quo(v, b.factor)
	return Quantity{Value: decimalFromRat(v, max(q.Value.scale, terminatingScale(v, divisionScale))), Unit: unit}, true
}

// compareQuantity orders two quantities, converting units where UCUM allows.
func compareQuantity(a, b Quantity) (int, bool) {
	if c, ok := b.convertTo(a.comparableUnit()); ok {
		return a.Value.Cmp(c.Value), true
	}
	return 0, false
}

// mulUnits and divUnits build the unit of a product or quotient for the simple
// cases the spec's examples use ("g" / "m" = "g/m", "m" / "m" = "1").
func mulUnits(a, b string) string {
	switch {
	case a == "1":
		return b
	case b == "1":
		return a
	case a == b:
		return a + "2"
	}
	return a + "." + b
}

func divUnits(a, b string) string {
	switch {
	case a == b:
		return "1"
	case b == "1":
		return a
	}
	return a + "/" + b
}

package fhirpath

import (
	"errors"
	"math/big"
	"regexp"
	"strings"
)

// divisionScale is how many fraction digits a quotient keeps when it does not
// terminate. FHIRPath requires at least 8 digits of precision for decimals.
const divisionScale = 8

// decimalJSON is the JSON number grammar FHIR decimals follow.
var decimalJSON = regexp.MustCompile(`^-?\d+(\.\d+)?([eE][+-]?\d+)?$`)

// Decimal is an exact FHIRPath decimal. FHIR requires decimals to keep their
// precision ("1.50" is not "1.5"), so the value is a rational number plus the
// number of fraction digits it was written with.
type Decimal struct {
	r     *big.Rat
	scale int
}

// ParseDecimal parses a decimal in FHIR JSON syntax, exponent allowed.
func ParseDecimal(s string) (Decimal, error) {
	if !decimalJSON.MatchString(s) {
		return Decimal{}, errors.New("not a decimal: " + s)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return Decimal{}, errors.New("not a decimal: " + s)
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e, ok := new(big.Int).SetString(strings.TrimPrefix(s[i+1:], "+"), 10)
		if !ok || !e.IsInt64() || e.Int64() > 1000 || e.Int64() < -1000 {
			return Decimal{}, errors.New("decimal exponent out of range: " + s)
		}
		exp = int(e.Int64())
	}
	scale := 0
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		scale = len(mant) - i - 1
	}
	scale -= exp
	if scale < 0 {
		scale = 0
	}
	return Decimal{r: r, scale: scale}, nil
}

// DecimalFromInt converts an integer to a decimal with no fraction digits.
func DecimalFromInt(i int64) Decimal { return Decimal{r: new(big.Rat).SetInt64(i)} }

func decimalFromRat(r *big.Rat, scale int) Decimal { return Decimal{r: r, scale: scale} }

// Rat returns a copy of the exact value.
func (d Decimal) Rat() *big.Rat {
	if d.r == nil {
		return new(big.Rat)
	}
	return new(big.Rat).Set(d.r)
}

// Scale is the number of fraction digits the decimal carries.
func (d Decimal) Scale() int { return d.scale }

func (d Decimal) rat() *big.Rat {
	if d.r == nil {
		return new(big.Rat)
	}
	return d.r
}

// String formats the decimal with its own precision.
func (d Decimal) String() string { return d.rat().FloatString(d.scale) }

// Float64 is an approximation for callers that need one (sorting, display).
func (d Decimal) Float64() float64 {
	f, _ := d.rat().Float64()
	return f
}

// Cmp compares two decimals exactly.
func (d Decimal) Cmp(o Decimal) int { return d.rat().Cmp(o.rat()) }

// Sign is -1, 0 or +1.
func (d Decimal) Sign() int { return d.rat().Sign() }

func (d Decimal) add(o Decimal) Decimal {
	return Decimal{r: new(big.Rat).Add(d.rat(), o.rat()), scale: max(d.scale, o.scale)}
}

func (d Decimal) sub(o Decimal) Decimal {
	return Decimal{r: new(big.Rat).Sub(d.rat(), o.rat()), scale: max(d.scale, o.scale)}
}

func (d Decimal) mul(o Decimal) Decimal {
	return Decimal{r: new(big.Rat).Mul(d.rat(), o.rat()), scale: min(d.scale+o.scale, 2*divisionScale)}
}

func (d Decimal) neg() Decimal { return Decimal{r: new(big.Rat).Neg(d.rat()), scale: d.scale} }

// quo divides; ok is false for division by zero.
func (d Decimal) quo(o Decimal) (Decimal, bool) {
	if o.Sign() == 0 {
		return Decimal{}, false
	}
	q := new(big.Rat).Quo(d.rat(), o.rat())
	return Decimal{r: q, scale: terminatingScale(q, divisionScale)}, true
}

// terminatingScale is the number of fraction digits q needs, or limit when it
// needs more (or never terminates).
func terminatingScale(q *big.Rat, limit int) int {
	den := new(big.Int).Set(q.Denom())
	ten := big.NewInt(10)
	for s := 0; s <= limit; s++ {
		if new(big.Int).Mod(new(big.Int).Mul(q.Num(), new(big.Int).Exp(ten, big.NewInt(int64(s)), nil)), den).Sign() == 0 {
			return s
		}
	}
	return limit
}

// truncInt is the integer part, toward zero.
func (d Decimal) truncInt() *big.Int {
	return new(big.Int).Quo(d.rat().Num(), d.rat().Denom())
}

// floorInt is the largest integer not above d.
func (d Decimal) floorInt() *big.Int {
	q, m := new(big.Int).DivMod(d.rat().Num(), d.rat().Denom(), new(big.Int))
	_ = m
	return q // Euclidean division with a positive denominator floors.
}

// round rounds half away from zero to n fraction digits.
func (d Decimal) round(n int) Decimal {
	p := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil))
	x := new(big.Rat).Mul(d.rat(), p)
	neg := x.Sign() < 0
	if neg {
		x.Neg(x)
	}
	x.Add(x, big.NewRat(1, 2))
	i := new(big.Int).Quo(x.Num(), x.Denom())
	if neg {
		i.Neg(i)
	}
	return Decimal{r: new(big.Rat).Quo(new(big.Rat).SetInt(i), p), scale: n}
}

// isInt reports whether the value has no fraction.
func (d Decimal) isInt() bool { return d.rat().IsInt() }

package fhirpath

import (
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

var (
	integerSyntax  = regexp.MustCompile(`^[+-]?\d+$`)
	decimalSyntax  = regexp.MustCompile(`^[+-]?\d+(\.\d+)?$`)
	quantitySyntax = regexp.MustCompile(`^([+-]?\d+(?:\.\d+)?)\s*(?:'([^']*)'|([a-z]+))?$`)
)

// convert implements the toX and convertsToX functions; convertsToX answers
// whether toX gives a value.
func convert(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
	n, ok, err := singleton(c, fe.pos, fe.name+"()")
	if err != nil || !ok {
		return nil, err
	}
	v, ok := n.System()
	if !ok {
		if strings.HasPrefix(fe.name, "convertsTo") {
			return bools(false), nil
		}
		return nil, nil
	}
	target, test := strings.CutPrefix(fe.name, "convertsTo")
	if !test {
		target = strings.TrimPrefix(fe.name, "to")
	}
	unit := ""
	if len(fe.args) == 1 {
		s, ok, err := ev.stringArg(f, fe, 0)
		if err != nil {
			return nil, err
		}
		if ok {
			unit = s
		}
	}
	r, ok := convertValue(v, target, unit)
	if test {
		return bools(ok), nil
	}
	if !ok {
		return nil, nil
	}
	return Collection{r}, nil
}

func convertValue(v any, target, unit string) (Node, bool) {
	switch target {
	case "Boolean":
		switch x := v.(type) {
		case bool:
			return sysBool(x), true
		case int64:
			if x == 0 || x == 1 {
				return sysBool(x == 1), true
			}
		case Decimal:
			if x.Cmp(DecimalFromInt(1)) == 0 || x.Sign() == 0 {
				return sysBool(x.Sign() != 0), true
			}
		case string:
			switch strings.ToLower(x) {
			case "true", "t", "yes", "y", "1", "1.0":
				return sysBool(true), true
			case "false", "f", "no", "n", "0", "0.0":
				return sysBool(false), true
			}
		}
	case "Integer":
		switch x := v.(type) {
		case int64:
			return sysInt(x), true
		case bool:
			if x {
				return sysInt(1), true
			}
			return sysInt(0), true
		case string:
			if integerSyntax.MatchString(x) {
				i, err := strconv.ParseInt(x, 10, 64)
				return sysInt(i), err == nil
			}
		}
	case "Decimal":
		switch x := v.(type) {
		case int64:
			return sysDecimal(DecimalFromInt(x)), true
		case Decimal:
			return sysDecimal(x), true
		case bool:
			d, _ := ParseDecimal("0.0")
			if x {
				d, _ = ParseDecimal("1.0")
			}
			return sysDecimal(d), true
		case string:
			if decimalSyntax.MatchString(x) {
				d, err := ParseDecimal(strings.TrimPrefix(x, "+"))
				return sysDecimal(d), err == nil
			}
		}
	case "String":
		switch x := v.(type) {
		case string:
			return sysString(x), true
		case bool:
			return sysString(strconv.FormatBool(x)), true
		case int64:
			return sysString(strconv.FormatInt(x, 10)), true
		case Decimal, Temporal:
			return sysString(x.(interface{ String() string }).String()), true
		case Quantity:
			return sysString(x.String()), true
		}
	case "Date":
		switch x := v.(type) {
		case Temporal:
			if x.Kind == KindTime {
				return Node{}, false
			}
			x.Kind = KindDate
			x.Precision = min(x.Precision, PrecDay)
			x.HasZone = false
			return sysTemporal(x), true
		case string:
			if t, err := parseTemporal(x); err == nil {
				t.Kind = KindDate
				t.Precision = min(t.Precision, PrecDay)
				t.HasZone = false
				return sysTemporal(t), true
			}
		}
	case "DateTime":
		switch x := v.(type) {
		case Temporal:
			if x.Kind == KindTime {
				return Node{}, false
			}
			x.Kind = KindDateTime
			return sysTemporal(x), true
		case string:
			if t, err := ParseDateTime(x); err == nil {
				return sysTemporal(t), true
			}
		}
	case "Time":
		switch x := v.(type) {
		case Temporal:
			if x.Kind == KindTime {
				return sysTemporal(x), true
			}
		case string:
			if t, err := ParseTime(strings.TrimPrefix(x, "T")); err == nil {
				return sysTemporal(t), true
			}
		}
	case "Quantity":
		var q Quantity
		switch x := v.(type) {
		case int64:
			q = Quantity{Value: DecimalFromInt(x), Unit: "1"}
		case Decimal:
			q = Quantity{Value: x, Unit: "1"}
		case bool:
			d, _ := ParseDecimal("0.0")
			if x {
				d, _ = ParseDecimal("1.0")
			}
			q = Quantity{Value: d, Unit: "1"}
		case Quantity:
			q = x
		case string:
			m := quantitySyntax.FindStringSubmatch(x)
			if m == nil {
				return Node{}, false
			}
			d, err := ParseDecimal(strings.TrimPrefix(m[1], "+"))
			if err != nil {
				return Node{}, false
			}
			u := "1"
			switch {
			case m[2] != "":
				u = m[2]
			case m[3] != "":
				if u = calendarUnits[m[3]]; u == "" {
					return Node{}, false
				}
			}
			q = Quantity{Value: d, Unit: u}
		default:
			return Node{}, false
		}
		if unit != "" && unit != q.Unit {
			c, ok := q.convertTo(unit)
			if !ok {
				return Node{}, false
			}
			q = c
		}
		return sysQuantity(q), true
	}
	return Node{}, false
}

// withoutZone drops the zone, for counting digits of precision.
func (t Temporal) withoutZone() Temporal {
	t.HasZone = false
	return t
}

// boundary implements lowBoundary and highBoundary: the least and greatest values
// a value of limited precision could stand for, at the precision asked.
func boundary(ev *evaluator, f *frame, c Collection, fe *funcExpr) (Collection, error) {
	v, ok, err := singletonValue(c, fe.pos, fe.name+"()")
	if err != nil || !ok {
		return nil, err
	}
	high := fe.name == "highBoundary"
	prec, hasPrec := int64(-1), false
	if len(fe.args) == 1 {
		p, ok, err := ev.intArg(f, fe, 0)
		if err != nil {
			return nil, err
		}
		prec, hasPrec = p, ok
	}
	switch x := v.(type) {
	case int64:
		r, ok := decimalBoundary(DecimalFromInt(x), prec, hasPrec, high)
		if !ok {
			return nil, nil
		}
		return Collection{sysDecimal(r)}, nil
	case Decimal:
		r, ok := decimalBoundary(x, prec, hasPrec, high)
		if !ok {
			return nil, nil
		}
		return Collection{sysDecimal(r)}, nil
	case Quantity:
		r, ok := decimalBoundary(x.Value, prec, hasPrec, high)
		if !ok {
			return nil, nil
		}
		return Collection{sysQuantity(Quantity{Value: r, Unit: x.Unit})}, nil
	case Temporal:
		r, ok := temporalBoundary(x, prec, hasPrec, high)
		if !ok {
			return nil, nil
		}
		return Collection{sysTemporal(r)}, nil
	}
	return nil, evalErr(fe.pos, "%s() needs a number, quantity or date/time", fe.name)
}

func decimalBoundary(d Decimal, prec int64, hasPrec, high bool) (Decimal, bool) {
	if !hasPrec {
		prec = divisionScale
	}
	if prec < 0 || prec > 28 {
		return Decimal{}, false
	}
	// The value stands for anything within half a unit of its last written digit;
	// the boundary is that interval's end, cut outward to prec digits.
	half := new(big.Rat).SetFrac(big.NewInt(5), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.scale+1)), nil))
	r := new(big.Rat).Set(d.rat())
	if high {
		r.Add(r, half)
	} else {
		r.Sub(r, half)
	}
	p := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(prec), nil))
	x := new(big.Rat).Mul(r, p)
	q, m := new(big.Int).DivMod(x.Num(), x.Denom(), new(big.Int)) // floor
	if high && m.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	return decimalFromRat(new(big.Rat).Quo(new(big.Rat).SetInt(q), p), int(prec)), true
}

func temporalBoundary(t Temporal, prec int64, hasPrec, high bool) (Temporal, bool) {
	var target Precision
	if t.Kind == KindTime {
		if !hasPrec {
			prec = 9
		}
		switch prec {
		case 2:
			target = PrecHour
		case 4:
			target = PrecMinute
		case 6:
			target = PrecSecond
		case 9:
			target = PrecMillisecond
		default:
			return t, false
		}
	} else {
		if !hasPrec {
			prec = 17
			if t.Kind == KindDate {
				prec = 8
			}
		}
		switch prec {
		case 4:
			target = PrecYear
		case 6:
			target = PrecMonth
		case 8:
			target = PrecDay
		case 10:
			target = PrecHour
		case 12:
			target = PrecMinute
		case 14:
			target = PrecSecond
		case 17:
			target = PrecMillisecond
		default:
			return t, false
		}
	}
	r := t
	if t.Kind == KindDateTime && t.Precision == PrecHour {
		// "T08" is not a FHIR time; it is read as "T08:00".
		r.Precision = PrecMinute
		t.Precision = PrecMinute
	}
	fill := func(p Precision) {
		switch p {
		case PrecMonth:
			r.Month = 1
			if high {
				r.Month = 12
			}
		case PrecDay:
			r.Day = 1
			if high {
				r.Day = daysIn(r.Year, r.Month)
			}
		case PrecHour:
			if high {
				r.Hour = 23
			}
		case PrecMinute:
			if high {
				r.Minute = 59
			}
		case PrecSecond:
			if high {
				r.Second = 59
			}
		case PrecMillisecond:
			if high {
				r.Milli = 999
			}
		}
	}
	for p := t.Precision + 1; p <= target; p++ {
		fill(p)
	}
	r.Precision = target
	if t.Kind == KindDateTime && target >= PrecHour && !t.HasZone {
		// An unzoned time could be in any zone: the earliest is +14:00, the latest -12:00.
		r.HasZone, r.ZoneMin = true, 14*60
		if high {
			r.ZoneMin = -12 * 60
		}
	}
	if target < PrecHour && t.Kind == KindDateTime {
		r.Kind = KindDate
		r.HasZone = false
	}
	return r, true
}

package fhirpath

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"omnichart/internal/fhir"
)

// SyntaxError is a compile error at a byte offset of the expression.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("fhirpath: at offset %d: %s", e.Offset, e.Msg)
}

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tDelimited // `identifier`
	tString
	tNumber
	tDate
	tDateTime
	tTime
	tSymbol
	tDollar // $this, $index, $total
)

type token struct {
	kind tokKind
	text string // identifier name, unescaped string, literal text, or the symbol
	pos  int
}

func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for {
		// Skip white space and comments.
		for i < len(src) {
			c := src[i]
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' {
				i++
				continue
			}
			if strings.HasPrefix(src[i:], "//") {
				for i < len(src) && src[i] != '\n' {
					i++
				}
				continue
			}
			if strings.HasPrefix(src[i:], "/*") {
				end := strings.Index(src[i+2:], "*/")
				if end < 0 {
					return nil, &SyntaxError{i, "comment is not closed"}
				}
				i += end + 4
				continue
			}
			break
		}
		if i >= len(src) {
			toks = append(toks, token{kind: tEOF, pos: i})
			return toks, nil
		}
		start := i
		c := src[i]
		switch {
		case isIdentStart(c):
			for i < len(src) && isIdentPart(src[i]) {
				i++
			}
			toks = append(toks, token{tIdent, src[start:i], start})
		case c >= '0' && c <= '9':
			for i < len(src) && src[i] >= '0' && src[i] <= '9' {
				i++
			}
			if i+1 < len(src) && src[i] == '.' && src[i+1] >= '0' && src[i+1] <= '9' {
				i++
				for i < len(src) && src[i] >= '0' && src[i] <= '9' {
					i++
				}
			}
			toks = append(toks, token{tNumber, src[start:i], start})
		case c == '\'' || c == '`':
			s, n, err := unquote(src[i:], c)
			if err != nil {
				return nil, &SyntaxError{i, err.Error()}
			}
			i += n
			k := tString
			if c == '`' {
				k = tDelimited
				if s == "" {
					return nil, &SyntaxError{i - n, "empty delimited identifier"}
				}
			}
			toks = append(toks, token{k, s, start})
		case c == '@':
			i++
			kind := tDate
			if i < len(src) && src[i] == 'T' {
				kind = tTime
				i++
				i = clockEnd(src, i)
			} else {
				for i < len(src) && (src[i] >= '0' && src[i] <= '9' || src[i] == '-') {
					i++
				}
				if i < len(src) && src[i] == 'T' {
					kind = tDateTime
					i++
					i = clockEnd(src, i)
				}
				if i < len(src) && src[i] == 'Z' {
					i++
				} else if i < len(src) && (src[i] == '+' || src[i] == '-') && kind == tDateTime && i+6 <= len(src) && src[i+3] == ':' {
					i += 6
				}
			}
			toks = append(toks, token{kind, src[start+1 : i], start})
		case c == '$':
			i++
			for i < len(src) && isIdentPart(src[i]) {
				i++
			}
			toks = append(toks, token{tDollar, src[start:i], start})
		default:
			two := ""
			if i+1 < len(src) {
				two = src[i : i+2]
			}
			switch two {
			case "<=", ">=", "!=", "!~":
				toks = append(toks, token{tSymbol, two, start})
				i += 2
				continue
			}
			if strings.IndexByte(".[](){},+-*/&|<>=~%", c) < 0 {
				r, _ := utf8.DecodeRuneInString(src[i:])
				return nil, &SyntaxError{i, fmt.Sprintf("unexpected character %q", r)}
			}
			toks = append(toks, token{tSymbol, string(c), start})
			i++
		}
	}
}

// clockEnd skips the hh:mm:ss.fff part of a literal; a '.' belongs to it only
// when a digit follows, so "@T10:00.is(Time)" still invokes is().
func clockEnd(src string, i int) int {
	for i < len(src) {
		c := src[i]
		if c >= '0' && c <= '9' || c == ':' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9' {
			i++
			continue
		}
		break
	}
	return i
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' }

// unquote reads a quoted string or delimited identifier starting at s[0] and
// returns its value and the number of bytes consumed.
func unquote(s string, q byte) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == q {
			return b.String(), i + 1, nil
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			break
		}
		switch s[i] {
		case '\'', '"', '`', '\\', '/':
			b.WriteByte(s[i])
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			if i+4 >= len(s) {
				return "", 0, fmt.Errorf("bad unicode escape")
			}
			r, err := strconv.ParseUint(s[i+1:i+5], 16, 32)
			if err != nil {
				return "", 0, fmt.Errorf("bad unicode escape")
			}
			b.WriteRune(rune(r))
			i += 4
		default:
			return "", 0, fmt.Errorf("unknown escape \\%c", s[i])
		}
	}
	return "", 0, fmt.Errorf("string is not closed")
}

// The expression tree.
type (
	expr interface{}

	litExpr struct{ c Collection }
	// memberExpr navigates to children called name; with no src it starts from $this.
	memberExpr struct {
		src  expr
		name string
		pos  int
	}
	funcExpr struct {
		src  expr
		name string
		args []expr
		pos  int
		fn   *funcDef
		typ  string // the type argument of is, as and ofType
	}
	dollarExpr struct {
		name string
		pos  int
	}
	envExpr struct {
		name string
		pos  int
	}
	indexExpr struct {
		src, idx expr
		pos      int
	}
	unaryExpr struct {
		op  string
		x   expr
		pos int
	}
	binExpr struct {
		op   string
		l, r expr
		pos  int
	}
	typeExpr struct {
		op  string // is, as
		x   expr
		typ string
		pos int
	}
)

type parser struct {
	toks  []token
	i     int
	src   string
	depth int
}

// maxNesting bounds parentheses, unary operators and nested arguments, so that a
// hostile expression cannot exhaust the stack.
const maxNesting = 300

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) isSym(s string) bool {
	t := p.peek()
	return t.kind == tSymbol && t.text == s
}

func (p *parser) isWord(s string) bool {
	t := p.peek()
	return t.kind == tIdent && t.text == s
}

func (p *parser) errf(pos int, format string, a ...any) error {
	return &SyntaxError{pos, fmt.Sprintf(format, a...)}
}

func (p *parser) expect(s string) error {
	if !p.isSym(s) {
		t := p.peek()
		return p.errf(t.pos, "expected %q, found %s", s, describe(t))
	}
	p.next()
	return nil
}

func describe(t token) string {
	if t.kind == tEOF {
		return "end of expression"
	}
	return fmt.Sprintf("%q", t.text)
}

// Binary operators by precedence, loosest first.
var binaryLevels = [][]string{
	{"implies"},
	{"or", "xor"},
	{"and"},
	{"in", "contains"},
	{"=", "~", "!=", "!~"},
	{"<=", "<", ">", ">="},
	{"|"},
	{"is", "as"},
	{"+", "-", "&"},
	{"*", "/", "div", "mod"},
}

func (p *parser) matchOp(level int) (string, bool) {
	t := p.peek()
	if t.kind != tSymbol && t.kind != tIdent {
		return "", false
	}
	for _, op := range binaryLevels[level] {
		if t.text == op {
			return op, true
		}
	}
	return "", false
}

func (p *parser) parseExpr(level int) (expr, error) {
	if level == 0 {
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxNesting {
			return nil, p.errf(p.peek().pos, "expression nests more than %d levels deep", maxNesting)
		}
	}
	if level == len(binaryLevels) {
		return p.parseUnary()
	}
	l, err := p.parseExpr(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		op, ok := p.matchOp(level)
		if !ok {
			return l, nil
		}
		t := p.next()
		if op == "is" || op == "as" {
			typ, err := p.parseTypeSpecifier()
			if err != nil {
				return nil, err
			}
			if !knownType(typ) {
				return nil, p.errf(t.pos, "unknown type %s", typ)
			}
			l = &typeExpr{op: op, x: l, typ: typ, pos: t.pos}
			continue
		}
		if op == "implies" {
			// implies is right associative.
			r, err := p.parseExpr(level)
			if err != nil {
				return nil, err
			}
			return &binExpr{op: op, l: l, r: r, pos: t.pos}, nil
		}
		r, err := p.parseExpr(level + 1)
		if err != nil {
			return nil, err
		}
		l = &binExpr{op: op, l: l, r: r, pos: t.pos}
	}
}

func (p *parser) parseTypeSpecifier() (string, error) {
	var parts []string
	for {
		t := p.next()
		if t.kind != tIdent && t.kind != tDelimited {
			return "", p.errf(t.pos, "expected a type name, found %s", describe(t))
		}
		parts = append(parts, t.text)
		if !p.isSym(".") {
			break
		}
		p.next()
	}
	return strings.Join(parts, "."), nil
}

func (p *parser) parseUnary() (expr, error) {
	if p.isSym("+") || p.isSym("-") {
		t := p.next()
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxNesting {
			return nil, p.errf(t.pos, "expression nests more than %d levels deep", maxNesting)
		}
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if t.text == "+" {
			return x, nil
		}
		return &unaryExpr{op: "-", x: x, pos: t.pos}, nil
	}
	return p.parsePostfix()
}

func (p *parser) parsePostfix() (expr, error) {
	x, err := p.parseTerm()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isSym("."):
			p.next()
			x, err = p.parseInvocation(x)
			if err != nil {
				return nil, err
			}
		case p.isSym("["):
			t := p.next()
			idx, err := p.parseExpr(0)
			if err != nil {
				return nil, err
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			x = &indexExpr{src: x, idx: idx, pos: t.pos}
		default:
			return x, nil
		}
	}
}

// parseInvocation reads a member name or function call applied to src (nil for $this).
func (p *parser) parseInvocation(src expr) (expr, error) {
	t := p.next()
	switch t.kind {
	case tIdent, tDelimited:
	case tDollar:
		if src == nil {
			return p.dollar(t)
		}
		return nil, p.errf(t.pos, "%s cannot follow '.'", t.text)
	default:
		return nil, p.errf(t.pos, "expected a name, found %s", describe(t))
	}
	if t.kind == tIdent && p.isSym("(") {
		p.next()
		var args []expr
		if !p.isSym(")") {
			for {
				a, err := p.parseExpr(0)
				if err != nil {
					return nil, err
				}
				args = append(args, a)
				if p.isSym(",") {
					p.next()
					continue
				}
				break
			}
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return p.function(src, t, args)
	}
	return &memberExpr{src: src, name: t.text, pos: t.pos}, nil
}

func (p *parser) dollar(t token) (expr, error) {
	switch t.text {
	case "$this", "$index", "$total":
		return &dollarExpr{name: t.text, pos: t.pos}, nil
	}
	return nil, p.errf(t.pos, "unknown variable %s", t.text)
}

func (p *parser) function(src expr, t token, args []expr) (expr, error) {
	fd, ok := lookupFunc(t.text)
	if !ok {
		return nil, p.errf(t.pos, "unknown function %s()", t.text)
	}
	if len(args) < fd.min || len(args) > fd.max {
		if fd.min == fd.max {
			return nil, p.errf(t.pos, "%s() takes %d argument(s), got %d", t.text, fd.min, len(args))
		}
		return nil, p.errf(t.pos, "%s() takes %d to %d arguments, got %d", t.text, fd.min, fd.max, len(args))
	}
	f := &funcExpr{src: src, name: t.text, args: args, pos: t.pos, fn: fd}
	if fd.typeArg {
		typ, ok := typeName(args[0])
		if !ok {
			return nil, p.errf(t.pos, "%s() needs a type name", t.text)
		}
		if !knownType(typ) {
			return nil, p.errf(t.pos, "unknown type %s", typ)
		}
		f.typ = typ
	}
	return f, nil
}

// knownType reports whether a type specifier names a type: any System name (an
// unknown one simply matches nothing), or a type of the FHIR model.
func knownType(name string) bool {
	if strings.HasPrefix(name, "System.") {
		return true
	}
	name = strings.TrimPrefix(name, "FHIR.")
	if _, ok := fhir.R4().Type(name); ok {
		return true
	}
	switch name {
	case "String", "Integer", "Decimal", "Boolean", "Date", "DateTime", "Time", "Quantity":
		return true
	}
	return false
}

// typeName reads a type specifier written as an expression (Quantity, FHIR.Patient).
func typeName(e expr) (string, bool) {
	m, ok := e.(*memberExpr)
	if !ok {
		return "", false
	}
	if m.src == nil {
		return m.name, true
	}
	prefix, ok := typeName(m.src)
	if !ok {
		return "", false
	}
	return prefix + "." + m.name, true
}

func (p *parser) parseTerm() (expr, error) {
	t := p.peek()
	switch t.kind {
	case tEOF:
		return nil, p.errf(t.pos, "expression ends too early")
	case tNumber:
		p.next()
		return p.numberOrQuantity(t)
	case tString:
		p.next()
		return &litExpr{Collection{sysString(t.text)}}, nil
	case tDate, tDateTime, tTime:
		p.next()
		v, err := parseTemporalLiteral(t)
		if err != nil {
			return nil, err
		}
		return &litExpr{Collection{sysTemporal(v)}}, nil
	case tDollar:
		p.next()
		return p.dollar(t)
	case tIdent:
		switch t.text {
		case "true", "false":
			p.next()
			return &litExpr{Collection{sysBool(t.text == "true")}}, nil
		}
		return p.parseInvocation(nil)
	case tDelimited:
		return p.parseInvocation(nil)
	case tSymbol:
		switch t.text {
		case "(":
			p.next()
			x, err := p.parseExpr(0)
			if err != nil {
				return nil, err
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			return x, nil
		case "{":
			p.next()
			if err := p.expect("}"); err != nil {
				return nil, err
			}
			return &litExpr{}, nil
		case "%":
			p.next()
			n := p.next()
			if n.kind != tIdent && n.kind != tDelimited && n.kind != tString {
				return nil, p.errf(n.pos, "expected a variable name after %%")
			}
			return &envExpr{name: n.text, pos: t.pos}, nil
		}
	}
	return nil, p.errf(t.pos, "unexpected %s", describe(t))
}

func (p *parser) numberOrQuantity(t token) (expr, error) {
	nt := p.peek()
	unit := ""
	switch {
	case nt.kind == tString:
		unit = nt.text
	case nt.kind == tIdent && calendarUnits[nt.text] != "":
		unit = calendarUnits[nt.text]
	}
	if unit != "" {
		p.next()
		d, err := ParseDecimal(t.text)
		if err != nil {
			return nil, p.errf(t.pos, "bad number %s", t.text)
		}
		return &litExpr{Collection{sysQuantity(Quantity{Value: d, Unit: unit})}}, nil
	}
	if !strings.Contains(t.text, ".") {
		i, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, p.errf(t.pos, "integer %s is out of range", t.text)
		}
		return &litExpr{Collection{sysInt(i)}}, nil
	}
	d, err := ParseDecimal(t.text)
	if err != nil {
		return nil, p.errf(t.pos, "bad number %s", t.text)
	}
	return &litExpr{Collection{sysDecimal(d)}}, nil
}

func parseTemporalLiteral(t token) (Temporal, error) {
	var v Temporal
	var err error
	switch t.kind {
	case tTime:
		v, err = ParseTime(t.text[1:])
	case tDate:
		v, err = ParseDate(t.text)
	default:
		v, err = parseTemporal(t.text)
		v.Kind = KindDateTime
	}
	if err != nil {
		return v, &SyntaxError{t.pos, fmt.Sprintf("bad date/time literal @%s", t.text)}
	}
	return v, nil
}

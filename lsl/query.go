package lsl

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Discovery queries are XPath 1.0 predicates evaluated on the stream's
// <info> element (liblsl hands them to pugixml): "session_id='default' and
// type='EEG'". This is the subset resolvers send and people write: paths of
// child names (desc/manufacturer, * for any), string and number literals,
// = != < <= > >=, and, or, parentheses, and the functions not, true, false,
// starts-with, contains, string-length and count. A query outside it does
// not match, as a query pugixml cannot parse does not match in liblsl.

// maxQueryDepth bounds nesting, so a hostile query cannot exhaust the stack.
const maxQueryDepth = 64

// maxQueryLen bounds the query text (a UDP datagram bounds it anyway).
const maxQueryLen = 8192

type qkind int

const (
	qNodes qkind = iota
	qString
	qNumber
	qBool
)

type qval struct {
	kind  qkind
	nodes []*xnode
	s     string
	n     float64
	b     bool
}

func (v qval) boolean() bool {
	switch v.kind {
	case qNodes:
		return len(v.nodes) > 0
	case qString:
		return v.s != ""
	case qNumber:
		return v.n != 0 && !math.IsNaN(v.n)
	}
	return v.b
}

func (v qval) str() string {
	switch v.kind {
	case qNodes:
		if len(v.nodes) == 0 {
			return ""
		}
		return v.nodes[0].value()
	case qNumber:
		return strconv.FormatFloat(v.n, 'f', -1, 64)
	case qBool:
		if v.b {
			return "true"
		}
		return "false"
	}
	return v.s
}

func toNumber(s string) float64 {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

func (v qval) number() float64 {
	switch v.kind {
	case qNumber:
		return v.n
	case qBool:
		if v.b {
			return 1
		}
		return 0
	}
	return toNumber(v.str())
}

// expr is a parsed query, evaluated against a stream's document.
type expr func(ctx *xnode) qval

// Query is a compiled discovery query.
type Query struct {
	text string
	eval expr
}

// String is the query's text.
func (q *Query) String() string { return q.text }

// Matches says whether a stream matches. The empty query matches every
// stream, as in liblsl.
func (q *Query) Matches(si *StreamInfo) bool { return q.match(si.tree(true)) }

func (q *Query) match(doc *xnode) bool {
	if q.eval == nil {
		return true
	}
	return q.eval(doc).boolean()
}

// CompileQuery parses an XPath predicate of the supported subset.
func CompileQuery(text string) (*Query, error) {
	if len(text) > maxQueryLen {
		return nil, fmt.Errorf("lsl: query longer than %d bytes", maxQueryLen)
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return &Query{}, nil
	}
	toks, err := lex(text)
	if err != nil {
		return nil, fmt.Errorf("lsl: query %q: %w", text, err)
	}
	p := &qparser{toks: toks}
	e, err := p.or(0)
	if err == nil && p.i < len(p.toks) {
		err = fmt.Errorf("unexpected %q", p.toks[p.i].s)
	}
	if err != nil {
		return nil, fmt.Errorf("lsl: query %q: %w", text, err)
	}
	return &Query{text: text, eval: e}, nil
}

type tkind int

const (
	tName tkind = iota
	tLiteral
	tNumber
	tOp // = != < <= > >= / ( ) ,
)

type token struct {
	kind tkind
	s    string
}

func isNameStart(c byte) bool {
	return c == '_' || c == '*' || (c|0x20) >= 'a' && (c|0x20) <= 'z' || c >= 0x80
}

func isNameChar(c byte) bool {
	return isNameStart(c) && c != '*' || c == '-' || c == '.' || c >= '0' && c <= '9'
}

func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, errors.New("unterminated literal")
			}
			out = append(out, token{tLiteral, s[i+1 : i+1+j]})
			i += j + 2
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
				j++
			}
			out = append(out, token{tNumber, s[i:j]})
			i = j
		case c == '!' || c == '<' || c == '>':
			if i+1 < len(s) && s[i+1] == '=' {
				out = append(out, token{tOp, s[i : i+2]})
				i += 2
			} else if c == '!' {
				return nil, errors.New("'!' without '='")
			} else {
				out = append(out, token{tOp, s[i : i+1]})
				i++
			}
		case strings.IndexByte("=/(),", c) >= 0:
			out = append(out, token{tOp, s[i : i+1]})
			i++
		case isNameStart(c):
			j := i + 1
			if c != '*' {
				for j < len(s) && isNameChar(s[j]) {
					j++
				}
			}
			out = append(out, token{tName, s[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q", c)
		}
	}
	return out, nil
}

type qparser struct {
	toks []token
	i    int
}

func (p *qparser) peek() (token, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return token{}, false
}

func (p *qparser) isOp(s string) bool {
	t, ok := p.peek()
	return ok && t.kind == tOp && t.s == s
}

func (p *qparser) isWord(s string) bool {
	t, ok := p.peek()
	return ok && t.kind == tName && t.s == s
}

func (p *qparser) expect(s string) error {
	if !p.isOp(s) {
		if t, ok := p.peek(); ok {
			return fmt.Errorf("want %q, got %q", s, t.s)
		}
		return fmt.Errorf("want %q at the end", s)
	}
	p.i++
	return nil
}

func (p *qparser) or(d int) (expr, error) {
	if d > maxQueryDepth {
		return nil, errors.New("nested too deeply")
	}
	l, err := p.and(d)
	for err == nil && p.isWord("or") {
		p.i++
		var r expr
		if r, err = p.and(d); err == nil {
			a, b := l, r
			l = func(c *xnode) qval { return qval{kind: qBool, b: a(c).boolean() || b(c).boolean()} }
		}
	}
	return l, err
}

func (p *qparser) and(d int) (expr, error) {
	l, err := p.cmp(d)
	for err == nil && p.isWord("and") {
		p.i++
		var r expr
		if r, err = p.cmp(d); err == nil {
			a, b := l, r
			l = func(c *xnode) qval { return qval{kind: qBool, b: a(c).boolean() && b(c).boolean()} }
		}
	}
	return l, err
}

var cmpOps = map[string]bool{"=": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true}

func (p *qparser) cmp(d int) (expr, error) {
	l, err := p.primary(d)
	for err == nil {
		t, ok := p.peek()
		if !ok || t.kind != tOp || !cmpOps[t.s] {
			break
		}
		p.i++
		var r expr
		if r, err = p.primary(d); err == nil {
			a, b, op := l, r, t.s
			l = func(c *xnode) qval { return qval{kind: qBool, b: compare(op, a(c), b(c))} }
		}
	}
	return l, err
}

func (p *qparser) primary(d int) (expr, error) {
	t, ok := p.peek()
	if !ok {
		return nil, errors.New("unexpected end")
	}
	switch t.kind {
	case tLiteral:
		p.i++
		v := qval{kind: qString, s: t.s}
		return func(*xnode) qval { return v }, nil
	case tNumber:
		p.i++
		n, err := strconv.ParseFloat(t.s, 64)
		if err != nil {
			return nil, fmt.Errorf("number %q", t.s)
		}
		v := qval{kind: qNumber, n: n}
		return func(*xnode) qval { return v }, nil
	case tOp:
		if t.s == "(" {
			p.i++
			e, err := p.or(d + 1)
			if err != nil {
				return nil, err
			}
			return e, p.expect(")")
		}
		if t.s == "/" {
			p.i++
			return p.path(true)
		}
		return nil, fmt.Errorf("unexpected %q", t.s)
	}
	// A name followed by "(" is a function call; otherwise a path.
	if p.i+1 < len(p.toks) && p.toks[p.i+1].kind == tOp && p.toks[p.i+1].s == "(" {
		return p.call(d)
	}
	return p.path(false)
}

func (p *qparser) path(absolute bool) (expr, error) {
	var steps []string
	for {
		t, ok := p.peek()
		if !ok || t.kind != tName {
			return nil, errors.New("path step expected")
		}
		steps = append(steps, t.s)
		p.i++
		if !p.isOp("/") {
			break
		}
		p.i++
	}
	return func(c *xnode) qval {
		cur := []*xnode{c}
		if absolute {
			// The document's only child is <info>: the first step names it.
			cur = []*xnode{{children: []*xnode{c}}}
		}
		for _, s := range steps {
			var next []*xnode
			for _, n := range cur {
				for _, ch := range n.children {
					if s == "*" || ch.name == s {
						next = append(next, ch)
					}
				}
			}
			cur = next
		}
		return qval{kind: qNodes, nodes: cur}
	}, nil
}

var funcArity = map[string]int{
	"not": 1, "true": 0, "false": 0, "starts-with": 2, "contains": 2,
	"string-length": 1, "count": 1, "string": 1, "number": 1,
}

func (p *qparser) call(d int) (expr, error) {
	name := p.toks[p.i].s
	p.i += 2 // name and "("
	arity, ok := funcArity[name]
	if !ok {
		return nil, fmt.Errorf("unknown function %s()", name)
	}
	var args []expr
	for !p.isOp(")") {
		if len(args) > 0 {
			if err := p.expect(","); err != nil {
				return nil, err
			}
		}
		a, err := p.or(d + 1)
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		if len(args) > arity {
			break
		}
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	if len(args) != arity {
		return nil, fmt.Errorf("%s() takes %d arguments", name, arity)
	}
	switch name {
	case "not":
		return func(c *xnode) qval { return qval{kind: qBool, b: !args[0](c).boolean()} }, nil
	case "true", "false":
		v := qval{kind: qBool, b: name == "true"}
		return func(*xnode) qval { return v }, nil
	case "starts-with":
		return func(c *xnode) qval {
			return qval{kind: qBool, b: strings.HasPrefix(args[0](c).str(), args[1](c).str())}
		}, nil
	case "contains":
		return func(c *xnode) qval {
			return qval{kind: qBool, b: strings.Contains(args[0](c).str(), args[1](c).str())}
		}, nil
	case "string-length":
		return func(c *xnode) qval {
			return qval{kind: qNumber, n: float64(len([]rune(args[0](c).str())))}
		}, nil
	case "count":
		return func(c *xnode) qval {
			v := args[0](c)
			if v.kind != qNodes {
				return qval{kind: qNumber, n: math.NaN()}
			}
			return qval{kind: qNumber, n: float64(len(v.nodes))}
		}, nil
	case "string":
		return func(c *xnode) qval { return qval{kind: qString, s: args[0](c).str()} }, nil
	default: // number
		return func(c *xnode) qval { return qval{kind: qNumber, n: args[0](c).number()} }, nil
	}
}

// compare follows XPath 1.0: a node-set compares true if any of its nodes
// does; otherwise booleans, then numbers, then strings.
func compare(op string, a, b qval) bool {
	if a.kind == qNodes || b.kind == qNodes {
		if a.kind == qNodes && b.kind == qNodes {
			for _, x := range a.nodes {
				for _, y := range b.nodes {
					if compare(op, qval{kind: qString, s: x.value()}, qval{kind: qString, s: y.value()}) {
						return true
					}
				}
			}
			return false
		}
		ns, other, swapped := a, b, false
		if b.kind == qNodes {
			ns, other, swapped = b, a, true
		}
		if other.kind == qBool {
			x, y := qval{kind: qBool, b: ns.boolean()}, other
			if swapped {
				x, y = y, x
			}
			return compare(op, x, y)
		}
		for _, n := range ns.nodes {
			x, y := qval{kind: qString, s: n.value()}, other
			if other.kind == qNumber {
				x = qval{kind: qNumber, n: toNumber(n.value())}
			}
			if swapped {
				x, y = y, x
			}
			if compare(op, x, y) {
				return true
			}
		}
		return false
	}
	if op == "=" || op == "!=" {
		var eq bool
		switch {
		case a.kind == qBool || b.kind == qBool:
			eq = a.boolean() == b.boolean()
		case a.kind == qNumber || b.kind == qNumber:
			eq = a.number() == b.number()
		default:
			eq = a.str() == b.str()
		}
		return eq == (op == "=")
	}
	x, y := a.number(), b.number()
	switch op {
	case "<":
		return x < y
	case "<=":
		return x <= y
	case ">":
		return x > y
	}
	return x >= y
}

// Predicate builds the query for a property and value, as liblsl's
// resolve_byprop does ("name='Cueroom'"): value is quoted with whichever
// quote it does not contain (XPath has no escapes).
func Predicate(prop, value string) (string, error) {
	if !propRE.MatchString(prop) {
		return "", fmt.Errorf("lsl: property %q is not a name or path (name, type, desc/manufacturer)", prop)
	}
	switch {
	case !strings.Contains(value, "'"):
		return prop + "='" + value + "'", nil
	case !strings.Contains(value, `"`):
		return prop + `="` + value + `"`, nil
	}
	return "", fmt.Errorf("lsl: value %q holds both quote characters", value)
}

var propRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*(/[A-Za-z_][A-Za-z0-9_.-]*)*$`)

// ParseSelector reads a stream selector as cueroom's --sensor lsl:... takes
// it: "NAME" (the stream's name), "prop=value" (type=EEG, source_id=...), or
// an XPath predicate with a quote in it ("type='EEG' and
// starts-with(name,'Neuro')"). It returns the predicate, checked to compile.
func ParseSelector(sel string) (string, error) {
	sel = strings.TrimSpace(sel)
	if sel == "" {
		return "", errors.New("lsl: empty stream selector")
	}
	if strings.ContainsAny(sel, `'"`) {
		_, err := CompileQuery(sel)
		if err == nil {
			return sel, nil
		}
		if _, v, ok := strings.Cut(sel, "="); !ok || strings.HasPrefix(strings.TrimSpace(v), "'") || strings.HasPrefix(strings.TrimSpace(v), `"`) {
			return "", err // a quoted value: meant as XPath, and broken
		}
	}
	var pred string
	var err error
	if k, v, ok := strings.Cut(sel, "="); ok && propRE.MatchString(k) {
		pred, err = Predicate(k, v)
	} else {
		pred, err = Predicate("name", sel)
	}
	if err != nil {
		return "", err
	}
	if _, err := CompileQuery(pred); err != nil {
		return "", err
	}
	return pred, nil
}

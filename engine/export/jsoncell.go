package export

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// fastCell appends raw — JSON as Go's encoder writes it, such as a
// recorded event's data — as compactJSON writes it once decoded: the same
// bytes, but for the escapes of <, > and & that json.Marshal adds. That
// holds only if every object's keys are in order and each number and string
// reads back as itself, so fastCell checks as it copies and returns false
// for anything else (keys out of order, spaces, escapes Go does not write,
// long integers…), which then takes the decode-and-encode way. Exports show
// thousands of events: decoding each into a map made most of an export's
// garbage. FuzzFastCell holds the two ways to the same bytes.
func fastCell(dst, raw []byte) ([]byte, bool) {
	c := cellCopier{b: raw, out: dst}
	if !c.value(0) || c.i != len(c.b) {
		return dst, false
	}
	return c.out, true
}

type cellCopier struct {
	b   []byte
	i   int
	out []byte
}

const maxCellDepth = 16

func (c *cellCopier) value(depth int) bool {
	if c.i >= len(c.b) || depth > maxCellDepth {
		return false
	}
	switch ch := c.b[c.i]; {
	case ch == '{':
		return c.object(depth)
	case ch == '[':
		return c.array(depth)
	case ch == '"':
		return c.str()
	case ch == '-' || ch >= '0' && ch <= '9':
		return c.number()
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if bytes.HasPrefix(c.b[c.i:], []byte(lit)) {
				c.out = append(c.out, lit...)
				c.i += len(lit)
				return true
			}
		}
		return false
	}
}

func (c *cellCopier) object(depth int) bool {
	c.out = append(c.out, '{')
	c.i++
	if c.i < len(c.b) && c.b[c.i] == '}' {
		c.out = append(c.out, '}')
		c.i++
		return true
	}
	var prev []byte
	for first := true; ; first = false {
		// A key without escapes reads as its bytes, so their order is the
		// order encoding/json sorts a map's keys in.
		start := c.i
		if !c.str() {
			return false
		}
		key := c.b[start+1 : c.i-1]
		if bytes.IndexByte(key, '\\') >= 0 || !first && bytes.Compare(prev, key) >= 0 {
			return false
		}
		prev = key
		if c.i >= len(c.b) || c.b[c.i] != ':' {
			return false
		}
		c.out = append(c.out, ':')
		c.i++
		if !c.value(depth + 1) {
			return false
		}
		if end, ok := c.next('}'); !ok || end {
			return ok
		}
	}
}

func (c *cellCopier) array(depth int) bool {
	c.out = append(c.out, '[')
	c.i++
	if c.i < len(c.b) && c.b[c.i] == ']' {
		c.out = append(c.out, ']')
		c.i++
		return true
	}
	for {
		if !c.value(depth + 1) {
			return false
		}
		if end, ok := c.next(']'); !ok || end {
			return ok
		}
	}
}

// next copies what follows a member or an element: a comma (end false),
// or the closing bracket (end true); anything else is not the encoder's
// form (ok false).
func (c *cellCopier) next(closing byte) (end, ok bool) {
	if c.i >= len(c.b) {
		return false, false
	}
	switch b := c.b[c.i]; b {
	case ',', closing:
		c.out = append(c.out, b)
		c.i++
		return b == closing, true
	}
	return false, false
}

// str copies a string, turning the HTML escapes back into their
// characters; it takes only the escapes Go's encoder writes in the same
// form either way.
func (c *cellCopier) str() bool {
	if c.i >= len(c.b) || c.b[c.i] != '"' {
		return false
	}
	c.out = append(c.out, '"')
	c.i++
	for c.i < len(c.b) {
		ch := c.b[c.i]
		switch {
		case ch == '"':
			c.out = append(c.out, '"')
			c.i++
			return true
		case ch < 0x20:
			return false
		case ch == '\\':
			if c.i+1 >= len(c.b) {
				return false
			}
			switch e := c.b[c.i+1]; e {
			case '"', '\\', 'n', 'r', 't':
				c.out = append(c.out, ch, e)
				c.i += 2
			case 'u':
				if c.i+6 > len(c.b) {
					return false
				}
				switch string(c.b[c.i+2 : c.i+6]) {
				case "003c":
					c.out = append(c.out, '<')
				case "003e":
					c.out = append(c.out, '>')
				case "0026":
					c.out = append(c.out, '&')
				case "2028", "2029":
					c.out = append(c.out, c.b[c.i:c.i+6]...)
				default:
					return false
				}
				c.i += 6
			default:
				return false
			}
		case ch < utf8.RuneSelf:
			c.out = append(c.out, ch)
			c.i++
		default:
			r, n := utf8.DecodeRune(c.b[c.i:])
			if r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
				return false // decoding would change it
			}
			c.out = append(c.out, c.b[c.i:c.i+n]...)
			c.i += n
		}
	}
	return false
}

// number copies a number that encoding/json writes back the same once
// read into a float64: a short integer, or one it wrote itself.
func (c *cellCopier) number() bool {
	start := c.i
	if c.b[c.i] == '-' {
		c.i++
	}
	digits, plain := 0, true
	for c.i < len(c.b) {
		ch := c.b[c.i]
		switch {
		case ch >= '0' && ch <= '9':
			digits++
		case ch == '.' || ch == 'e' || ch == 'E' || ch == '+' || ch == '-':
			plain = false
		default:
			goto done
		}
		c.i++
	}
done:
	num := c.b[start:c.i]
	if plain && digits > 0 && digits <= 15 && (digits == 1 || num[len(num)-digits] != '0') {
		c.out = append(c.out, num...)
		return true
	}
	var f float64
	if json.Unmarshal(num, &f) != nil {
		return false
	}
	again, err := json.Marshal(f)
	if err != nil || !bytes.Equal(again, num) {
		return false
	}
	c.out = append(c.out, num...)
	return true
}

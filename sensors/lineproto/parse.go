package lineproto

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// Parsing helpers shared by detection (Start) and the decoder. They work on
// byte slices and never allocate, so the decode path stays allocation-free.

// pow10 holds the exact powers of ten a float64 can represent.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// maxNumber bounds a number's text: an Arduino prints at most a dozen.
const maxNumber = 40

// parseNumber reads a decimal number as an Arduino prints it ("-12",
// "4.52", "1e3"). "nan", "inf" and "ovf" (Arduino's Serial.print for
// non-finite floats and overflow) read as NaN: a value the sketch could not
// measure, kept as missing rather than dropping the line. The result is
// correctly rounded, like strconv.ParseFloat: the common case (up to 15
// digits, no far exponent) is computed exactly here without allocating, the
// rest is handed to strconv.
func parseNumber(b []byte) (float64, bool) {
	if len(b) == 0 || len(b) > maxNumber {
		return 0, false
	}
	if isNonFinite(b) {
		return math.NaN(), true
	}
	i := 0
	neg := false
	if b[0] == '+' || b[0] == '-' {
		neg = b[0] == '-'
		i++
	}
	var (
		m                 uint64
		digits, frac, exp int
		sawDot, sawDigit  bool
		sawExp, expDigit  bool
		expNeg, slow      bool
	)
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case sawExp:
			if c < '0' || c > '9' {
				return 0, false
			}
			if exp < 10000 {
				exp = exp*10 + int(c-'0')
			}
			expDigit = true
		case c >= '0' && c <= '9':
			sawDigit = true
			if m == 0 && c == '0' {
				if sawDot {
					frac++
				}
				continue
			}
			if digits >= 15 {
				slow = true // beyond float64's exact integers: let strconv round
				continue
			}
			m = m*10 + uint64(c-'0')
			digits++
			if sawDot {
				frac++
			}
		case c == '.' && !sawDot:
			sawDot = true
		case (c == 'e' || c == 'E') && sawDigit:
			sawExp = true
			if i+1 < len(b) && (b[i+1] == '+' || b[i+1] == '-') {
				expNeg = b[i+1] == '-'
				i++
			}
		default:
			return 0, false
		}
	}
	if !sawDigit || (sawExp && !expDigit) {
		return 0, false
	}
	if expNeg {
		exp = -exp
	}
	e := exp - frac
	for m != 0 && m%10 == 0 && e < 0 {
		m /= 10
		e++
	}
	f := float64(m)
	switch {
	case m == 0 && !slow:
	case slow || e < -22 || e > 22:
		v, err := strconv.ParseFloat(string(b), 64) // rare: allocates
		if err != nil && !(errors.Is(err, strconv.ErrRange) && math.Abs(v) < 1) {
			return 0, false // overflow: not a reading
		}
		return v, true
	case e < 0:
		f /= pow10[-e]
	case e > 0:
		f *= pow10[e]
	}
	if neg {
		f = -f
	}
	return f, true
}

func isNonFinite(b []byte) bool {
	if b[0] == '+' || b[0] == '-' {
		b = b[1:]
	}
	if len(b) != 3 {
		return false
	}
	var l [3]byte
	for i, c := range b {
		l[i] = c | 0x20
	}
	s := string(l[:])
	return s == "nan" || s == "inf" || s == "ovf"
}

// parseReading reads a Grove line: one non-negative integer.
func parseReading(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 6 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// trimSpace trims ASCII blanks (and the CR of a CRLF line end).
func trimSpace(b []byte) []byte {
	for len(b) > 0 && isBlank(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isBlank(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == 0
}

// separator picks a CSV line's field separator: the first of ',', ';' and
// tab that occurs, else runs of spaces.
func separator(line []byte) byte {
	for _, s := range []byte{',', ';', '\t'} {
		for _, c := range line {
			if c == s {
				return s
			}
		}
	}
	return ' '
}

// nextField splits off the first field of line. With sep ' ' runs of
// blanks separate fields; otherwise each sep does (so "1,,3" has an empty
// middle field). Fields are trimmed.
func nextField(line []byte, sep byte) (field, rest []byte, more bool) {
	if sep == ' ' {
		line = trimSpace(line)
		i := 0
		for i < len(line) && line[i] != ' ' && line[i] != '\t' {
			i++
		}
		if i == len(line) {
			return line, nil, false
		}
		return line[:i], line[i:], true
	}
	for i, c := range line {
		if c == sep {
			return trimSpace(line[:i]), line[i+1:], true
		}
	}
	return trimSpace(line), nil, false
}

// countFields counts a line's fields.
func countFields(line []byte, sep byte) int {
	n := 0
	for more := true; more; n++ {
		_, line, more = nextField(line, sep)
	}
	return n
}

// isName reports whether b can be a column or key name: ASCII letters,
// digits, '_', '-', '%' and '.', starting with a letter or '_'.
func isName(b []byte) bool {
	if len(b) == 0 || len(b) > maxName {
		return false
	}
	if c := b[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
		return false
	}
	for _, c := range b[1:] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '%' || c == '.') {
			return false
		}
	}
	return true
}

const maxName = 32

// kvPair splits "key=value" or "key:value".
func kvPair(tok []byte) (key, val []byte, ok bool) {
	for i, c := range tok {
		if c == '=' || c == ':' {
			key, val = trimSpace(tok[:i]), trimSpace(tok[i+1:])
			return key, val, isName(key)
		}
	}
	return nil, nil, false
}

// nextPair splits off the first token of a key=value line; tokens are
// separated by blanks, ',' or ';'.
func nextPair(line []byte) (tok, rest []byte) {
	i := 0
	for i < len(line) && isPairSep(line[i]) {
		i++
	}
	line = line[i:]
	j := 0
	for j < len(line) && !isPairSep(line[j]) {
		j++
	}
	return line[:j], line[j:]
}

func isPairSep(c byte) bool { return c == ' ' || c == '\t' || c == ',' || c == ';' || c == '\r' }

// equalFold compares ASCII names case-insensitively without allocating.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if x == y {
			continue
		}
		if x|0x20 != y|0x20 || x|0x20 < 'a' || x|0x20 > 'z' {
			return false
		}
	}
	return true
}

// units maps the unit suffixes a column or key name may carry ("eda_uS",
// "hr_bpm") to the unit cueroom records. Matching is case-insensitive.
var units = map[string]string{
	"us": "uS", "microsiemens": "uS",
	"mv": "mV", "v": "V",
	"bpm": "bpm",
	"pct": "%", "percent": "%", "%": "%",
	"ms": "ms", "s": "s",
	"ohm": "ohm", "kohm": "kohm", "mohm": "Mohm",
	"adc": "adc", "raw": "adc",
	"c": "degC", "degc": "degC",
	"hz": "Hz",
}

// splitUnit splits "eda_uS" into ("eda", "uS"). A name whose last '_'
// suffix is not a known unit is all label ("skin_temp" stays whole).
// Labels are lowercased so "GSR" and "gsr" are one channel.
func splitUnit(name string) (label, unit string) {
	if i := strings.LastIndexByte(name, '_'); i > 0 {
		if u, ok := units[strings.ToLower(name[i+1:])]; ok {
			return strings.ToLower(name[:i]), u
		}
	}
	return strings.ToLower(name), ""
}

// signalType guesses a channel's signal type (BIDS/XDF naming) and default
// unit from its label.
func signalType(label string) (typ, unit string) {
	switch label {
	case "eda", "gsr", "sc", "scl", "scr", "skin", "conductance":
		return "EDA", ""
	case "hr", "bpm", "pulse", "pr", "heart_rate":
		return "HR", "bpm"
	case "ecg", "ekg":
		return "ECG", ""
	case "ppg", "pleth", "bvp":
		return "PPG", ""
	case "spo2", "sao2":
		return "SPO2", "%"
	case "ibi", "rr":
		return "IBI", "ms"
	case "resp", "breath", "rsp":
		return "RESP", ""
	case "temp", "skin_temp", "temperature":
		return "TEMP", ""
	}
	return "MISC", ""
}

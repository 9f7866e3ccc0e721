package record

import (
	"bytes"
	"math"
	"strconv"
	"unsafe"
)

// parseSamplesFast reads a samples record in exactly the form appendPayload
// writes, about five times faster than encoding/json (reading a session is
// mostly this). Anything else — other spacing or field order, escapes in
// the device name, a malformed number — returns ok false, and the caller
// falls back to encoding/json, which reads any valid JSON and names what
// is wrong with invalid JSON. FuzzSamplesFastAgrees holds the two to the
// same answer.
func parseSamplesFast(p []byte) (r *samplesJSON, ok bool) {
	r = &samplesJSON{}
	if !parseSamplesFastInto(p, r) {
		return nil, false
	}
	return r, true
}

// parseSamplesFastInto is parseSamplesFast into r, reusing its slices: a
// cursor reads thousands of records one after the other. r's content is
// undefined when it returns false.
func parseSamplesFastInto(p []byte, r *samplesJSON) (ok bool) {
	s := fastScanner{b: p}
	if !s.lit(`{"k":"samples","device":"`) {
		return false
	}
	end := bytes.IndexByte(s.b[s.i:], '"')
	if end < 0 {
		return false
	}
	name := s.b[s.i : s.i+end]
	if bytes.IndexByte(name, '\\') >= 0 || !validPlain(name) {
		return false
	}
	if r.Device != string(name) { // the same device as the last record: no new string
		r.Device = string(name)
	}
	cols := r.V[:cap(r.V)]
	r.T, r.Seq, r.V, r.Arrival = r.T[:0], r.Seq[:0], r.V[:0], r.Arrival[:0]
	s.i += end + 1
	if !s.lit(`,"n":`) {
		return false
	}
	n, ok := s.int()
	if !ok || n < 0 || n > 1<<20 {
		return false
	}
	r.N = int(n)
	if !s.lit(`,"t":[`) {
		return false
	}
	// The times tell how many samples: size every column once.
	for !s.peek(']') {
		if len(r.T) > 0 && !s.lit(",") {
			return false
		}
		v, ok := s.int()
		if !ok {
			return false
		}
		r.T = append(r.T, v)
	}
	s.i++
	if !s.lit(`,"seq":[`) {
		return false
	}
	if cap(r.Seq) < len(r.T) {
		r.Seq = make([]uint32, 0, len(r.T))
	}
	for !s.peek(']') {
		if len(r.Seq) > 0 && !s.lit(",") {
			return false
		}
		v, ok := s.int()
		if !ok || v < 0 || v > math.MaxUint32 {
			return false
		}
		r.Seq = append(r.Seq, uint32(v))
	}
	s.i++
	if !s.lit(`,"v":[`) {
		return false
	}
	for c := 0; !s.peek(']'); c++ {
		if c > 0 && !s.lit(",") {
			return false
		}
		if !s.lit("[") {
			return false
		}
		var col []jfloat
		if c < len(cols) && cap(cols[c]) >= len(r.T) {
			col = cols[c][:0]
		} else {
			col = make([]jfloat, 0, len(r.T))
		}
		for !s.peek(']') {
			if len(col) > 0 && !s.lit(",") {
				return false
			}
			v, ok := s.float()
			if !ok {
				return false
			}
			col = append(col, jfloat(v))
		}
		s.i++
		r.V = append(r.V, col)
	}
	s.i++
	if s.lit(`,"arrival":[`) {
		if cap(r.Arrival) < len(r.T) {
			r.Arrival = make([]int64, 0, len(r.T))
		}
		for !s.peek(']') {
			if len(r.Arrival) > 0 && !s.lit(",") {
				return false
			}
			v, ok := s.int()
			if !ok {
				return false
			}
			r.Arrival = append(r.Arrival, v)
		}
		s.i++
	}
	if !s.lit("}") || s.i != len(s.b) {
		return false
	}
	return true
}

// validPlain says whether a device name needs no JSON escaping: printable
// ASCII. Others go the slow, exact way.
func validPlain(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

type fastScanner struct {
	b []byte
	i int
}

func (s *fastScanner) lit(l string) bool {
	if len(s.b)-s.i < len(l) || string(s.b[s.i:s.i+len(l)]) != l {
		return false
	}
	s.i += len(l)
	return true
}

func (s *fastScanner) peek(c byte) bool { return s.i < len(s.b) && s.b[s.i] == c }

// int reads an optionally negative decimal integer that fits an int64, in
// JSON's form (no leading zeros, no plus sign).
func (s *fastScanner) int() (int64, bool) {
	j := s.i
	neg := j < len(s.b) && s.b[j] == '-'
	if neg {
		j++
	}
	start := j
	var v uint64
	for ; j < len(s.b) && s.b[j] >= '0' && s.b[j] <= '9'; j++ {
		if v > (math.MaxUint64-9)/10 {
			return 0, false
		}
		v = v*10 + uint64(s.b[j]-'0')
	}
	digits := j - start
	if digits == 0 || (digits > 1 && s.b[start] == '0') {
		return 0, false
	}
	if j < len(s.b) && (s.b[j] == '.' || s.b[j] == 'e' || s.b[j] == 'E') {
		return 0, false // a fraction: not an int64 field
	}
	if !neg && v > math.MaxInt64 || neg && v > 1<<63 {
		return 0, false
	}
	s.i = j
	if neg {
		return -int64(v), true
	}
	return int64(v), true
}

// float reads a JSON number or one of appendFloat's strings for NaN and
// the infinities.
func (s *fastScanner) float() (float64, bool) {
	if s.peek('"') {
		for _, w := range []struct {
			lit string
			v   float64
		}{{`"NaN"`, math.NaN()}, {`"Inf"`, math.Inf(1)}, {`"-Inf"`, math.Inf(-1)}} {
			if s.lit(w.lit) {
				return w.v, true
			}
		}
		return 0, false
	}
	j := s.i
	for ; j < len(s.b); j++ {
		c := s.b[j]
		if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			break
		}
	}
	num := s.b[s.i:j]
	if !jsonNumber(num) {
		return 0, false
	}
	// The bytes are not kept: no copy to a string.
	v, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(num), len(num)), 64)
	if err != nil {
		return 0, false
	}
	s.i = j
	return v, true
}

// jsonNumber checks JSON's number grammar, which is stricter than
// ParseFloat's (no "+1", ".5", "1.", "0x1p3", "Inf", leading zeros).
func jsonNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	return i == len(b)
}

package pulsesensor

// maxLine bounds a line, without its line ending: a plotter line of 12
// sensors is at most 12×5 characters plus commas.
const maxLine = 80

// Value limits of a valid line. The ADC is 10-bit on an Uno and 12-bit on
// some boards; BPM and IBI are the library's ints.
const (
	maxSample = 4095
	maxBPM    = 999
	maxIBI    = 99999
)

// kind is what a line says.
type kind uint8

const (
	bad    kind = iota // not a line of this format
	other              // a valid line about another sensor: skipped, not dropped
	sample             // a sample (plotter lines may carry BPM and IBI too)
	bpm
	ibi
)

// line is one parsed line.
type line struct {
	kind     kind
	sample   int
	bpm, ibi int
	hasBeat  bool // a plotter line carried BPM and IBI
	mismatch bool // valid in the other output mode: the mode setting is wrong
}

// parser parses lines for one configuration.
type parser struct {
	mode   Mode
	sensor int // 0: single-sensor sketch
}

// parse reads one line (without its line ending). It does not allocate.
func (p parser) parse(b []byte) line {
	if p.mode == Visualizer {
		l := p.visualizer(b)
		if l.kind == bad && p.plotterish(b) {
			l.mismatch = true
		}
		return l
	}
	l := p.plotter(b)
	if l.kind == bad && len(b) > 1 && letter(b[0]) && digits(b[1:]) {
		l.mismatch = true
	}
	return l
}

func letter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func digits(b []byte) bool {
	_, ok := atoi(b, maxIBI)
	return ok
}

// plotterish reports whether b looks like a plotter line of any width.
func (p parser) plotterish(b []byte) bool {
	n := 0
	for len(b) > 0 {
		_, rest, ok := field(b)
		if !ok {
			return false
		}
		n++
		b = rest
	}
	return n >= 1
}

func (p parser) visualizer(b []byte) line {
	if len(b) < 2 {
		return line{}
	}
	c := b[0]
	v, ok := atoi(b[1:], maxIBI)
	if !ok {
		return line{}
	}
	var k kind
	idx := 0
	switch {
	case p.sensor == 0 && c == 'S':
		k = sample
	case p.sensor == 0 && c == 'B':
		k = bpm
	case p.sensor == 0 && c == 'Q':
		k = ibi
	case p.sensor == 0:
		return line{}
	case c >= 'a' && c < 'a'+maxSensors: // a…l
		k, idx = sample, int(c-'a')+1
	case c >= 'A' && c < 'A'+maxSensors: // A…L
		k, idx = bpm, int(c-'A')+1
	case c >= 'M' && c < 'M'+maxSensors: // M…X
		k, idx = ibi, int(c-'M')+1
	default:
		return line{}
	}
	if idx != p.sensor {
		return line{kind: other}
	}
	l := line{kind: k}
	switch k {
	case sample:
		if v > maxSample {
			return line{}
		}
		l.sample = v
	case bpm:
		if v > maxBPM {
			return line{}
		}
		l.bpm = v
	case ibi:
		l.ibi = v
	}
	return l
}

func (p parser) plotter(b []byte) line {
	if p.sensor == 0 { // bpm,ibi,sample
		var v [3]int
		for i := range v {
			x, rest, ok := field(b)
			if !ok || (i < 2) != (len(rest) > 0) {
				return line{}
			}
			v[i], b = x, rest
		}
		if v[0] > maxBPM || v[2] > maxSample {
			return line{}
		}
		return line{kind: sample, bpm: v[0], ibi: v[1], sample: v[2], hasBeat: true}
	}
	// s0,s1,…: one sample per sensor
	l := line{kind: bad}
	for i := 1; len(b) > 0; i++ {
		x, rest, ok := field(b)
		if !ok || x > maxSample || i > maxSensors {
			return line{}
		}
		if i == p.sensor {
			l = line{kind: sample, sample: x}
		}
		b = rest
	}
	if l.kind == bad {
		return line{kind: other} // fewer sensors than ours on this line: not ours to judge
	}
	return l
}

// field reads one decimal field and the rest after its comma. A trailing
// comma is not valid.
func field(b []byte) (v int, rest []byte, ok bool) {
	i := 0
	for i < len(b) && b[i] != ',' {
		i++
	}
	v, ok = atoi(b[:i], maxIBI)
	if !ok {
		return 0, nil, false
	}
	if i < len(b) {
		rest = b[i+1:]
		if len(rest) == 0 {
			return 0, nil, false
		}
	}
	return v, rest, true
}

// atoi parses 1–5 decimal digits up to limit.
func atoi(b []byte, limit int) (int, bool) {
	if len(b) == 0 || len(b) > 5 {
		return 0, false
	}
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, v <= limit
}

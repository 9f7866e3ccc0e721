package lineproto

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cueroom/cueroom/sensors"
)

// MaxValues is how many values of a line become channels: an Arduino
// rig's analog inputs (sensors.MaxChannels is larger, for EEG over LSL).
const MaxValues = 8

// layout is what a line holds: the format and where each channel's value
// is. It is immutable once built; a new CSV header makes a new one.
type layout struct {
	mode     Mode
	sep      byte   // CSV field separator
	header   bool   // CSV: the names came from a header line
	nfield   int    // CSV: fields per line
	field    []int8 // CSV: per field, a channel index, skipField or counterField
	chans    []sensors.Channel
	counter  string   // the counter's name as found, "" if none
	counters []string // names that hold the counter (lowercase labels)
}

const (
	skipField    = -1
	counterField = -2
)

func groveLayout() *layout {
	return &layout{mode: Grove, nfield: 1, chans: []sensors.Channel{
		{Label: "eda", Unit: "uS", Type: "EDA"},
		{Label: "raw", Unit: "adc", Type: "MISC"}, // the reading itself: the conversion is uncalibrated
	}}
}

func (d *Device) isCounter(name string) bool {
	label, _ := splitUnit(name)
	for _, c := range d.counters {
		if label == c {
			return true
		}
	}
	return false
}

// newLayout builds the channels for a line's names: a CSV line's fields in
// order (from a header, or positional), or key=value keys.
func (d *Device) newLayout(mode Mode, names []string, header bool, sep byte) (*layout, error) {
	l := &layout{mode: mode, sep: sep, header: header, nfield: len(names), counters: d.counters}
	if mode == CSV {
		if len(names) > MaxFields {
			return nil, fmt.Errorf("lineproto: lines have %d fields, at most %d are read", len(names), MaxFields)
		}
		l.field = make([]int8, len(names))
	}
	keep := d.keep()
	if (header || mode == KV) && len(keep) > 0 {
		// The device named its fields and the configuration picks some.
		for _, c := range keep {
			if _, err := l.add(d, c); err != nil {
				return nil, err
			}
		}
		found := make([]bool, len(l.chans))
		for i, n := range names {
			idx := l.match([]byte(n))
			switch {
			case d.isCounter(n):
				l.setCounter(i, n)
			case idx >= 0 && !found[idx]:
				found[idx] = true
				if l.field != nil {
					l.field[i] = int8(idx)
				}
			case l.field != nil:
				l.field[i] = skipField
			}
		}
		if mode == CSV {
			for k, ok := range found {
				if !ok {
					return nil, fmt.Errorf("lineproto: the header has no column %q: it names %s; fix columns=", l.chans[k].Label, strings.Join(names, ", "))
				}
			}
		}
		return l, nil
	}
	for i, n := range names {
		switch {
		case n == "-":
			l.field[i] = skipField
		case d.isCounter(n):
			l.setCounter(i, n)
		default:
			idx, err := l.add(d, n)
			if err != nil {
				return nil, err
			}
			if l.field != nil {
				l.field[i] = int8(idx)
			}
		}
	}
	if len(l.chans) == 0 {
		return nil, fmt.Errorf("lineproto: the lines (%s) hold no channel besides the counter", strings.Join(names, ", "))
	}
	return l, nil
}

func (l *layout) setCounter(i int, name string) {
	if l.field != nil {
		l.field[i] = counterField
	}
	if l.counter == "" {
		l.counter = name
	}
}

// add appends a channel named name ("eda_uS"): label, unit (from the name,
// the Units setting or the label's usual unit) and signal type.
func (l *layout) add(d *Device, name string) (int, error) {
	label, unit := splitUnit(name)
	typ, usual := signalType(label)
	if u := d.cfg.Units[label]; u != "" {
		unit = u
	}
	if unit == "" {
		unit = usual
	}
	for _, c := range l.chans {
		if c.Label == label {
			return 0, fmt.Errorf("lineproto: two columns are named %q: rename one in the sketch, or keep one with columns=", label)
		}
	}
	if len(l.chans) == MaxValues {
		return 0, fmt.Errorf("lineproto: the lines hold more than %d values: name the ones to keep with columns= "+
			"(CSV without a header: a name or - for every field)", MaxValues)
	}
	l.chans = append(l.chans, sensors.Channel{Label: label, Unit: unit, Type: typ})
	return len(l.chans) - 1, nil
}

// match returns the channel a device name belongs to, or -1.
func (l *layout) match(name []byte) int {
	lab := labelOf(name)
	for k := range l.chans {
		if equalFold(lab, l.chans[k].Label) {
			return k
		}
	}
	return -1
}

func (l *layout) isCounter(name []byte) bool {
	lab := labelOf(name)
	for _, c := range l.counters {
		if equalFold(lab, c) {
			return true
		}
	}
	return false
}

// labelOf strips a known unit suffix from a name, without allocating.
func labelOf(name []byte) []byte {
	i := len(name) - 1
	for i > 0 && name[i] != '_' {
		i--
	}
	if i <= 0 || len(name)-i-1 > 16 {
		return name
	}
	var low [16]byte
	suf := low[:len(name)-i-1]
	for k, c := range name[i+1:] {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		suf[k] = c
	}
	if _, ok := units[string(suf)]; ok {
		return name[:i]
	}
	return name
}

// line results
const (
	lineBad    = iota // does not fit: dropped
	lineSample        // a sample
	lineHeader        // a CSV header (consumed)
)

// parse decodes one trimmed, non-empty line into s (N and Values). seq is
// the device's counter when the line holds one.
func (l *layout) parse(line []byte, s *sensors.Sample) (seq uint32, hasSeq, ok bool) {
	switch l.mode {
	case Grove:
		r, ok := parseReading(line)
		if !ok || r > 1023 {
			return 0, false, false
		}
		s.N = 2
		s.Values[0] = math.NaN()
		if us, valid := GroveMicrosiemens(r); valid {
			s.Values[0] = float64(us)
		}
		s.Values[1] = float64(r)
		return 0, false, true
	case CSV:
		s.N = len(l.chans)
		for k := range s.N {
			s.Values[k] = math.NaN()
		}
		i := 0
		rest := line
		for more := true; more; i++ {
			var f []byte
			f, rest, more = nextField(rest, l.sep)
			if i >= l.nfield {
				return 0, false, false
			}
			v := math.NaN() // an empty field: no value this time
			if len(f) > 0 {
				var ok bool
				if v, ok = parseNumber(f); !ok {
					return 0, false, false
				}
			}
			switch m := l.field[i]; m {
			case skipField:
			case counterField:
				seq, hasSeq = counterValue(v)
			default:
				s.Values[m] = v
			}
		}
		if i != l.nfield {
			return 0, false, false
		}
		return seq, hasSeq, true
	case KV:
		s.N = len(l.chans)
		for k := range s.N {
			s.Values[k] = math.NaN()
		}
		matched := 0
		rest := line
		for {
			var tok []byte
			tok, rest = nextPair(rest)
			if len(tok) == 0 {
				break
			}
			key, val, ok := kvPair(tok)
			if !ok {
				return 0, false, false
			}
			v, ok := parseNumber(val)
			if !ok {
				return 0, false, false
			}
			if l.isCounter(key) {
				seq, hasSeq = counterValue(v)
				continue
			}
			if k := l.match(key); k >= 0 {
				s.Values[k] = v
				matched++
			}
		}
		return seq, hasSeq, matched > 0
	}
	return 0, false, false
}

func counterValue(v float64) (uint32, bool) {
	if !(v >= 0 && v < 1<<53) {
		return 0, false
	}
	return uint32(uint64(v)), true // wraps like a 32-bit millis()
}

// remap reads a CSV header arriving mid-stream (the Arduino was reset and
// printed it again): fields are matched by name to the known channels, so a
// reordered sketch still decodes right. It reports false for a line that is
// not a header naming every channel of this stream: a debug message, say.
func (l *layout) remap(line []byte) (*layout, bool) {
	if l.mode != CSV {
		return nil, false
	}
	sep := separator(line)
	n := countFields(line, sep)
	if n > MaxFields {
		return nil, false
	}
	nl := *l
	nl.sep, nl.header, nl.nfield, nl.field = sep, true, n, make([]int8, n)
	nl.counter = ""
	hits := 0
	used := uint8(0)
	rest := line
	for i, more := 0, true; more; i++ {
		var f []byte
		f, rest, more = nextField(rest, sep)
		if !isName(f) {
			return nil, false
		}
		nl.field[i] = skipField
		if l.isCounter(f) {
			nl.field[i] = counterField
			if nl.counter == "" {
				nl.counter = string(f)
			}
			continue
		}
		if k := l.match(f); k >= 0 && used&(1<<k) == 0 {
			used |= 1 << k
			nl.field[i] = int8(k)
			hits++
		}
	}
	if hits < len(l.chans) {
		return nil, false // not every channel named: a message mentioning "hr", not a header
	}
	return &nl, true
}

// names lists a layout's channel labels, for messages.
func (l *layout) names() string {
	var b strings.Builder
	for i, c := range l.chans {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.Label)
		if c.Unit != "" {
			b.WriteString(" (" + c.Unit + ")")
		}
	}
	if l.counter != "" {
		b.WriteString("; counter " + strconv.Quote(l.counter))
	}
	return b.String()
}

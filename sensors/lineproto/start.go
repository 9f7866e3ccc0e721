package lineproto

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/internal/portio"
)

// maxDetectBytes bounds what Start reads looking for lines, so a port
// spewing garbage fails in bounded time even without a read deadline.
const maxDetectBytes = 16 << 10

// detector decides a stream's format from its first lines.
//
// The first line may be the tail of a line sent before the port was opened
// ("12" of "312"), so it counts only if it is a CSV header (a header is
// printed right after the Arduino resets, which opening the port usually
// causes, so it arrives whole). After that: a header and a data line with
// as many fields make CSV with a header; two data lines with the same
// number of fields make headerless CSV, or Grove for single integers
// 0..1023; a key=value line makes KV. When the format is already known
// (Grove, columns naming every field, or what a previous Start found), one
// line that fits is enough.
type detector struct {
	dev   *Device
	known *layout // the format found earlier (a reconnect): a line must fit it
	lines int
	prev  class
	err   error // a fatal configuration mismatch
	// for the error message
	firstBad  string
	lastShape string
}

func newDetector(d *Device) *detector { return &detector{dev: d} }

type lineKind int

const (
	kText    lineKind = iota // anything else: a debug message, garbage
	kHeader                  // names separated like CSV
	kNumeric                 // numbers separated like CSV
	kKV                      // key=value pairs
)

type class struct {
	kind  lineKind
	n     int      // fields or pairs
	sep   byte     // CSV separator
	names []string // header names or keys
	grove bool     // a single integer 0..1023
}

func classify(line []byte) class {
	if c, ok := classifyKV(line); ok {
		return c
	}
	sep := separator(line)
	c := class{sep: sep, grove: true}
	allNames, allNums := true, true
	rest := line
	for more := true; more; c.n++ {
		var f []byte
		f, rest, more = nextField(rest, sep)
		if c.n >= MaxFields*2 {
			return class{kind: kText}
		}
		if isName(f) {
			c.names = append(c.names, string(f))
		} else {
			allNames = false
		}
		if _, ok := parseNumber(f); !ok && !(len(f) == 0 && sep != ' ') {
			allNums = false
		}
	}
	switch {
	case allNums:
		c.kind = kNumeric
		r, ok := parseReading(line)
		c.grove = c.n == 1 && ok && r <= 1023
		c.names = nil
	case allNames:
		c.kind = kHeader
		c.grove = false
	default:
		return class{kind: kText}
	}
	return c
}

func classifyKV(line []byte) (class, bool) {
	c := class{kind: kKV}
	rest := line
	for {
		var tok []byte
		tok, rest = nextPair(rest)
		if len(tok) == 0 {
			break
		}
		key, val, ok := kvPair(tok)
		if !ok {
			return c, false
		}
		if _, ok := parseNumber(val); !ok {
			return c, false
		}
		c.names = append(c.names, string(key))
		c.n++
		if c.n > MaxFields {
			return c, false
		}
	}
	return c, c.n > 0
}

// feed takes one trimmed, non-empty line and returns the layout once the
// format is known.
func (det *detector) feed(line []byte) *layout {
	first := det.lines == 0
	det.lines++
	if det.known != nil {
		var s sensors.Sample
		if _, _, ok := det.known.parse(line, &s); ok && !first {
			return det.known
		}
		if nl, ok := det.known.remap(line); ok {
			det.known = nl
		}
		det.note(line, class{kind: kText})
		return nil
	}
	c := classify(line)
	det.note(line, c)
	if first && c.kind != kHeader {
		return nil
	}
	prev := det.prev
	det.prev = c
	d := det.dev
	mode := d.cfg.Mode
	switch c.kind {
	case kNumeric:
		if mode == Grove {
			if c.grove {
				return groveLayout()
			}
			return nil
		}
		if mode == KV {
			return nil
		}
		if prev.kind == kHeader && prev.n == c.n {
			return det.build(CSV, prev.names, true, prev.sep)
		}
		if mode == CSV && len(d.cfg.Columns) == c.n {
			return det.build(CSV, d.cfg.Columns, false, c.sep)
		}
		if prev.kind == kNumeric && prev.n == c.n {
			if mode == Auto && c.n == 1 && c.grove && prev.grove {
				return groveLayout()
			}
			names := d.cfg.Columns
			if len(names) != c.n {
				if len(names) > 0 {
					det.lastShape = fmt.Sprintf("lines have %d fields but columns= names %d", c.n, len(names))
					return nil
				}
				names = make([]string, c.n)
				for i := range names {
					names[i] = fmt.Sprintf("ch%d", i+1)
				}
			}
			return det.build(CSV, names, false, c.sep)
		}
	case kKV:
		if mode == Auto || mode == KV {
			names := c.names
			if keep := d.keep(); len(keep) > 0 {
				names = keep
			}
			return det.build(KV, names, false, ' ')
		}
	}
	return nil
}

func (det *detector) build(mode Mode, names []string, header bool, sep byte) *layout {
	l, err := det.dev.newLayout(mode, names, header, sep)
	if err != nil {
		det.err = err
		return nil
	}
	return l
}

func (det *detector) note(line []byte, c class) {
	if c.kind == kText && det.firstBad == "" {
		det.firstBad = string(line[:min(len(line), 40)])
	}
}

// Start listens to the port (it never writes) until it has read enough
// lines to know the format, or one line of the format already known (a
// reconnect), within DetectTimeout. The deadline needs a port with
// SetReadDeadline (serialport.Port, *os.File, net.Conn); with a plain
// reader a silent peer blocks until the reader fails. An error wrapping
// ErrNoLines names the port, what arrived and the likely fix (usually the
// baud rate).
func (d *Device) Start(rw io.ReadWriter) error {
	name := portio.Name(rw)
	timeout := d.cfg.DetectTimeout
	deadline := time.Now().Add(timeout)
	defer portio.Deadline(rw, deadline)()
	det := newDetector(d)
	det.known = d.layout()
	lr := lineReader{r: rw, max: d.cfg.MaxLine}
	for {
		line, err := lr.next(deadline)
		if err != nil {
			return d.startError(name, det, &lr, err)
		}
		if line = trimSpace(line); len(line) == 0 {
			continue
		}
		if l := det.feed(line); l != nil {
			d.setLayout(l)
			return nil
		}
		if det.err != nil {
			return fmt.Errorf("%w (on %s)", det.err, name)
		}
	}
}

var errTooMuch = errors.New("too many bytes without a decision")

func (d *Device) startError(name string, det *detector, lr *lineReader, err error) error {
	what := "lines"
	switch d.cfg.Mode {
	case Grove:
		what = "Grove GSR lines (one reading 0..1023 per line)"
	case CSV:
		what = "CSV lines"
	case KV:
		what = "key=value lines"
	case Auto:
		what = "Grove, CSV or key=value lines"
	}
	if det.known != nil && d.cfg.Mode != Grove {
		what = "lines with " + det.known.names()
	}
	var why, fix string
	baudFix := fmt.Sprintf("the device probably sends at another baud rate: this port is set to %d 8N1; "+
		"use the sketch's Serial.begin value (baud=9600 for the Grove GSR example sketch, otherwise usually baud=115200)", d.cfg.Baud)
	switch {
	case lr.total == 0:
		why = "no data"
		if errors.Is(err, os.ErrDeadlineExceeded) {
			why = fmt.Sprintf("no data within %v", d.cfg.DetectTimeout)
		}
		fix = "check that the sketch is running (the board's TX LED blinks), that this is its port, and that the serial monitor is closed"
	case det.lines == 0 || lr.garbage*2 > lr.total:
		why = fmt.Sprintf("%d bytes arrived but they do not read as text lines", lr.total)
		fix = baudFix
	case det.lastShape != "":
		why = det.lastShape
		fix = "fix columns= to name every field (- skips one)"
	default:
		why = fmt.Sprintf("%d lines arrived but none is %s", det.lines, what)
		if det.firstBad != "" {
			why += fmt.Sprintf(" (e.g. %q)", det.firstBad)
		}
		fix = "check the sketch's output format (see sensors/lineproto/README.md) or set mode=; if the lines look garbled, " + baudFix
	}
	e := fmt.Errorf("lineproto: %s did not send %s: %s; %s: %w", name, what, why, fix, ErrNoLines)
	if err != nil && !errors.Is(err, errTooMuch) {
		e = fmt.Errorf("%w (%w)", e, err)
	}
	return e
}

// lineReader reads a port one byte at a time, so Start never consumes a
// byte past the line that decided the format: the decoder then starts on a
// line boundary.
type lineReader struct {
	r       io.Reader
	max     int
	buf     []byte
	one     [1]byte
	total   int
	garbage int // bytes that cannot be in a text line
	zeros   int
}

// next returns the next line without its newline. An overlong line comes
// back truncated to a byte that classifies as text.
func (lr *lineReader) next(deadline time.Time) ([]byte, error) {
	lr.buf = lr.buf[:0]
	over := false
	for {
		if lr.total > maxDetectBytes {
			return nil, errTooMuch
		}
		if time.Now().After(deadline) {
			return nil, os.ErrDeadlineExceeded
		}
		n, err := lr.r.Read(lr.one[:])
		if n == 1 {
			lr.zeros = 0
			lr.total++
			c := lr.one[0]
			if c == '\n' {
				if over {
					return []byte{0x7f}, nil
				}
				return lr.buf, nil
			}
			if (c < 0x20 && c != '\r' && c != '\t') || c >= 0x7f {
				lr.garbage++
			}
			if len(lr.buf) < lr.max {
				lr.buf = append(lr.buf, c)
			} else {
				over = true
			}
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			if lr.zeros++; lr.zeros > 100 {
				return nil, io.ErrNoProgress
			}
		}
	}
}

// Format describes the format in use, e.g. "csv with a header: eda (uS),
// hr (bpm)"; "auto" before Start has found it.
func (d *Device) Format() string {
	l := d.layout()
	if l == nil {
		return string(d.cfg.Mode)
	}
	var b strings.Builder
	b.WriteString(string(l.mode))
	if l.mode == CSV {
		if l.header {
			b.WriteString(" with a header")
		} else {
			b.WriteString(" without a header")
		}
	}
	b.WriteString(": " + l.names())
	return b.String()
}

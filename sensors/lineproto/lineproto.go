// Package lineproto reads DIY Arduino rigs that print one reading per text
// line: a Seeed Grove GSR sketch (one integer a line), CSV with a header
// line, or key=value pairs ("gsr=512 hr=72"). The format is detected from
// the first lines or set in Config. A simulator (Sim) prints the same lines
// for tests and demos. The line formats are documented in README.md.
//
// The device never receives a byte from us: Start only listens, so pointing
// cueroom at the wrong port cannot disturb whatever is there.
package lineproto

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.bug.st/serial"

	"github.com/cueroom/cueroom/sensors"
)

// Mode is a line format.
type Mode string

// Line formats. The zero Mode is Auto.
const (
	Auto  Mode = "auto"  // detect from the first lines
	Grove Mode = "grove" // one analogRead value (0..1023) per line, converted to µS
	CSV   Mode = "csv"   // comma, semicolon, tab or space separated numbers, with an optional header
	KV    Mode = "kv"    // key=value (or key:value) pairs separated by blanks, ',' or ';'
)

// Default line speeds.
const (
	DefaultBaud = 115200
	GroveBaud   = 9600 // the Seeed Grove GSR example sketch
)

// Limits on what a line may hold.
const (
	DefaultMaxLine = 256  // bytes per line, default
	MaxMaxLine     = 4096 // the largest MaxLine allowed
	MaxFields      = 32   // fields per CSV line
)

// ErrNoLines means the port sent nothing readable as the expected lines,
// which usually points at a wrong baud rate or the wrong port.
var ErrNoLines = errors.New("no readable lines")

// Config sets up a Device. The zero value autodetects the format at
// 115200 baud.
type Config struct {
	Name string // instance name; default "grove" in Grove mode, else "arduino"
	Mode Mode   // default Auto
	Baud int    // default 115200, or 9600 in Grove mode

	// Rate is the nominal number of lines per second, for the stream
	// description and the bridge's watchdog; default 20 for Grove (the
	// example sketch averages 10 reads 5 ms apart), else 0 (unknown).
	Rate float64

	// Columns names the channels to keep. CSV with a header and key=value:
	// which names to keep, in this order (default all, up to 8). CSV without
	// a header: the name of every field in order, "-" skipping one (default
	// ch1..chN). A "_unit" suffix gives the unit: "eda_uS", "hr_bpm".
	Columns []string
	// Units gives channels their units by label ("eda": "uS") where the
	// names carry none.
	Units map[string]string
	// Counter names the field or key holding the device's own counter
	// (a line count or millis()), which becomes Sample.Seq instead of a
	// channel; default "seq" or "millis"; "-" for none. Without one, Seq
	// counts lines, dropped ones included, so a step above 1 is a gap.
	Counter string

	MaxLine int // longest line accepted, bytes; default 256
	// DetectTimeout bounds how long Start listens for lines; default 5 s
	// (an Arduino that resets when the port opens needs 1–2 s to boot).
	DetectTimeout time.Duration
}

// Device is a configured line-protocol device. It implements
// sensors.Device.
type Device struct {
	cfg      Config
	counters []string

	mu  sync.Mutex
	lay *layout // nil until the format is known
}

var (
	_ sensors.Device     = (*Device)(nil)
	_ sensors.LineSetter = (*Device)(nil)
)

// New checks cfg and returns a Device.
func New(cfg Config) (*Device, error) {
	switch cfg.Mode {
	case "":
		cfg.Mode = Auto
	case Auto, Grove, CSV, KV:
	default:
		return nil, fmt.Errorf("lineproto: mode %q is unknown: use %s, %s, %s or %s", cfg.Mode, Auto, Grove, CSV, KV)
	}
	if cfg.Name == "" {
		cfg.Name = "arduino"
		if cfg.Mode == Grove {
			cfg.Name = "grove"
		}
	}
	if cfg.Baud == 0 {
		cfg.Baud = DefaultBaud
		if cfg.Mode == Grove {
			cfg.Baud = GroveBaud
		}
	}
	if cfg.Baud < 50 || cfg.Baud > 4_000_000 {
		return nil, fmt.Errorf("lineproto: baud %d is out of range: use the sketch's Serial.begin value, e.g. 9600 or 115200", cfg.Baud)
	}
	if cfg.Rate == 0 && cfg.Mode == Grove {
		cfg.Rate = 20
	}
	if cfg.Rate < 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0) {
		return nil, fmt.Errorf("lineproto: rate %v is not a rate: give lines per second, or 0 if unknown", cfg.Rate)
	}
	switch {
	case cfg.MaxLine == 0:
		cfg.MaxLine = DefaultMaxLine
	case cfg.MaxLine < 8 || cfg.MaxLine > MaxMaxLine:
		return nil, fmt.Errorf("lineproto: line limit %d is out of range: use 8..%d bytes", cfg.MaxLine, MaxMaxLine)
	}
	if cfg.DetectTimeout <= 0 {
		cfg.DetectTimeout = 5 * time.Second
	}
	if cfg.Mode == Grove && len(cfg.Columns) > 0 {
		return nil, errors.New("lineproto: a Grove line has a single reading: columns do not apply (use mode csv or kv)")
	}
	cfg.Columns = slices.Clone(cfg.Columns)
	for _, c := range cfg.Columns {
		if c != "-" && !isName([]byte(c)) {
			return nil, fmt.Errorf("lineproto: column name %q is not a name: use letters, digits and '_' (e.g. eda_uS), or - to skip a field", c)
		}
	}
	if len(cfg.Columns) > MaxFields {
		return nil, fmt.Errorf("lineproto: %d columns named, a line may hold at most %d", len(cfg.Columns), MaxFields)
	}
	units := make(map[string]string, len(cfg.Units))
	for k, v := range cfg.Units {
		units[strings.ToLower(k)] = v
	}
	cfg.Units = units
	d := &Device{cfg: cfg}
	switch cfg.Counter {
	case "":
		d.counters = []string{"seq", "millis"}
	case "-":
	default:
		if !isName([]byte(cfg.Counter)) {
			return nil, fmt.Errorf("lineproto: counter name %q is not a name", cfg.Counter)
		}
		d.counters = []string{strings.ToLower(cfg.Counter)}
	}
	if cfg.Mode == Grove {
		d.lay = groveLayout()
	}
	// Check the columns now (duplicates, too many) rather than at Start.
	if named := d.keep(); len(named) > 0 {
		if _, err := d.newLayout(KV, named, false, ' '); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// keep returns the configured column names that are channels.
func (d *Device) keep() []string {
	var out []string
	for _, c := range d.cfg.Columns {
		if c != "-" && !d.isCounter(c) {
			out = append(out, c)
		}
	}
	return out
}

// Mode returns the format: the configured one, or the detected one after
// Start (Auto before).
func (d *Device) Mode() Mode {
	if l := d.layout(); l != nil {
		return l.mode
	}
	return d.cfg.Mode
}

func (d *Device) layout() *layout {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lay
}

func (d *Device) setLayout(l *layout) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lay = l
}

// SerialMode is the line setting: the configured baud, 8N1.
func (d *Device) SerialMode() serial.Mode {
	return serial.Mode{BaudRate: d.cfg.Baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}
}

// Stream describes the device. Before Start has detected the format, the
// channels are those known from the configuration (none in Auto mode
// without Columns).
func (d *Device) Stream() sensors.Stream {
	set := map[string]string{"mode": string(d.Mode()), "baud": strconv.Itoa(d.cfg.Baud)}
	st := sensors.Stream{Device: d.cfg.Name, Kind: "lineproto", Rate: d.cfg.Rate, Settings: set}
	l := d.layout()
	if l == nil {
		if named := d.keep(); len(named) > 0 {
			if pre, err := d.newLayout(KV, named, false, ' '); err == nil {
				st.Channels = slices.Clone(pre.chans)
			}
		}
		return st
	}
	st.Channels = slices.Clone(l.chans)
	switch l.mode {
	case CSV:
		set["header"] = strconv.FormatBool(l.header)
		set["separator"] = sepName(l.sep)
	case Grove:
		set["conversion"] = "R = (1024+2r)·10000/(512−r) Ω, µS = 10⁶/R; uncalibrated"
	}
	if l.counter != "" {
		set["counter"] = l.counter
	}
	return st
}

func sepName(b byte) string {
	switch b {
	case '\t':
		return "tab"
	case ' ':
		return "space"
	}
	return string(rune(b))
}

// Stop does nothing: the sketch streams on its own.
func (d *Device) Stop(io.Writer) error { return nil }

// NewDecoder returns a decoder of r's lines. After Start it uses the format
// Start found; without Start (a file, a test) it detects the format from the
// stream's first lines itself, as Start would.
func (d *Device) NewDecoder(r io.Reader) sensors.Decoder { return d.newDecoder(r) }

// GroveMicrosiemens converts a Grove GSR reading to skin conductance:
// R(Ω) = ((1024 + 2·r)·10000)/(512 − r), µS = 10⁶/R (Seeed's formula,
// assuming the trim pot reads 512 with open electrodes). Readings of 512 and
// more (open or saturated electrodes) and negative ones have no
// conductance: ok is false. The result is uncalibrated.
func GroveMicrosiemens(reading int) (us sensors.Microsiemens, ok bool) {
	if reading < 0 || reading >= 512 {
		return 0, false
	}
	r := float64(1024+2*reading) * 10000 / float64(512-reading)
	return sensors.Microsiemens(1e6 / r), true
}

// GroveReading is GroveMicrosiemens' inverse, rounded and clamped to what a
// 10-bit ADC can print (0..511): what a Grove sketch would print for us.
func GroveReading(us sensors.Microsiemens) int {
	if us <= 0 || math.IsNaN(float64(us)) {
		return 511
	}
	r := 1e6 / float64(us)
	x := (512*r - 1024*10000) / (r + 2*10000)
	return int(math.Round(min(max(x, 0), 511)))
}

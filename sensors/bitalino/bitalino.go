// Package bitalino drives a PLUX BITalino (r)evolution: its start sequence,
// its frame decoder (CRC-4, resync), unit conversion for EDA and ECG, and a
// simulator (Sim) that speaks the same bytes for tests and demos.
//
// Protocol facts are in docs/devices.md.
package bitalino

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/clock"
)

// Rates the device supports, in Hz, indexed by their command code.
var rates = [4]int{1, 10, 100, 1000}

// Commands (one byte each).
const (
	cmdStop    = 0x00 // leave live/simulated mode (both firmware generations)
	cmdIdle    = 0xFF // firmware 2.x: back to idle from any mode
	cmdVersion = 0x07
)

func cmdRate(code int) byte    { return byte(code<<6) | 0x03 }
func cmdStart(mask uint8) byte { return mask<<2 | 0x01 }

// Baud is the BITalino's line speed (8N1, no flow control).
const Baud = 115200

// ErrNotBITalino means the port did not answer like a BITalino.
var ErrNotBITalino = errors.New("not a BITalino")

// Config sets up a Device. The zero value means: 1000 Hz, A1 = EDA,
// A2 = ECG, current EDA sensor.
type Config struct {
	Name        string      // instance name for samples and the stream; default "bitalino"
	Rate        int         // 1, 10, 100 or 1000 Hz; default 1000
	Inputs      []Input     // selected analog inputs; default A1 = EDA, A2 = ECG
	EDARevision EDARevision // default EDACurrent

	// VersionTimeout bounds the wait for the version reply; default 2 s.
	VersionTimeout time.Duration
	// CommandGap is the pause before each command: the official APIs wait
	// 100–150 ms and the firmware may drop bytes sent faster. Default
	// 100 ms; negative means no pause (simulator, tests).
	CommandGap time.Duration
}

// DefaultInputs is the default channel selection.
var DefaultInputs = []Input{{Analog: 1, Sensor: EDA}, {Analog: 2, Sensor: ECG}}

// Device is a configured BITalino. It implements sensors.Device.
type Device struct {
	cfg    Config
	inputs []Input // ascending by Analog
	mask   uint8
	code   int // rate command code
	labels []string

	mu       sync.Mutex
	firmware string
}

var (
	_ sensors.Device     = (*Device)(nil)
	_ sensors.LineSetter = (*Device)(nil)
)

// New checks cfg and returns a Device.
func New(cfg Config) (*Device, error) {
	if cfg.Name == "" {
		cfg.Name = "bitalino"
	}
	if cfg.Rate == 0 {
		cfg.Rate = 1000
	}
	if cfg.EDARevision == "" {
		cfg.EDARevision = EDACurrent
	}
	if cfg.VersionTimeout <= 0 {
		cfg.VersionTimeout = 2 * time.Second
	}
	if cfg.CommandGap == 0 {
		cfg.CommandGap = 100 * time.Millisecond
	}
	d := &Device{cfg: cfg, code: slices.Index(rates[:], cfg.Rate)}
	if d.code < 0 {
		return nil, fmt.Errorf("bitalino: rate %d Hz is not supported: use 1, 10, 100 or 1000", cfg.Rate)
	}
	if !cfg.EDARevision.valid() {
		return nil, fmt.Errorf("bitalino: EDA sensor revision %q is unknown: use %q, %q or %q",
			cfg.EDARevision, EDACurrent, EDAOlder, EDAOriginal)
	}
	inputs, err := checkInputs(cfg.Inputs)
	if err != nil {
		return nil, err
	}
	d.inputs = inputs
	for _, in := range inputs {
		d.mask |= 1 << (in.Analog - 1)
	}
	d.labels = labels(inputs)
	return d, nil
}

func checkInputs(in []Input) ([]Input, error) {
	if len(in) == 0 {
		in = DefaultInputs
	}
	if len(in) > MaxAnalog {
		return nil, fmt.Errorf("bitalino: %d inputs selected, the device has %d (A1..A6)", len(in), MaxAnalog)
	}
	out := slices.Clone(in)
	var seen uint8
	for i, x := range out {
		if x.Analog < 1 || x.Analog > MaxAnalog {
			return nil, fmt.Errorf("bitalino: input A%d does not exist: use A1..A6", x.Analog)
		}
		if seen&(1<<(x.Analog-1)) != 0 {
			return nil, fmt.Errorf("bitalino: input A%d is selected twice", x.Analog)
		}
		seen |= 1 << (x.Analog - 1)
		switch x.Sensor {
		case EDA, ECG, Raw:
		case "":
			out[i].Sensor = Raw
		default:
			return nil, fmt.Errorf("bitalino: A%d: sensor %q is unknown: use %q, %q or %q", x.Analog, x.Sensor, EDA, ECG, Raw)
		}
	}
	slices.SortFunc(out, func(a, b Input) int { return a.Analog - b.Analog })
	return out, nil
}

// labels names the columns: the sensor's name, qualified by the input when
// the same sensor is plugged in twice; raw inputs are "a1".."a6".
func labels(in []Input) []string {
	count := map[Sensor]int{}
	for _, x := range in {
		count[x.Sensor]++
	}
	out := make([]string, len(in))
	for i, x := range in {
		switch {
		case x.Sensor == Raw:
			out[i] = "a" + strconv.Itoa(x.Analog)
		case count[x.Sensor] > 1:
			out[i] = string(x.Sensor) + "_a" + strconv.Itoa(x.Analog)
		default:
			out[i] = string(x.Sensor)
		}
	}
	return out
}

// Inputs returns the selected inputs in frame order (ascending).
func (d *Device) Inputs() []Input { return slices.Clone(d.inputs) }

// Firmware returns the version line read by Start ("" before).
func (d *Device) Firmware() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.firmware
}

// Stream describes the channels this device will send.
func (d *Device) Stream() sensors.Stream {
	ch := make([]sensors.Channel, len(d.inputs))
	sel := make([]string, len(d.inputs))
	for i, in := range d.inputs {
		ch[i] = channelFor(in, d.labels[i])
		sel[i] = in.String()
	}
	set := map[string]string{
		"rate":         strconv.Itoa(d.cfg.Rate),
		"inputs":       strings.Join(sel, ","),
		"eda_revision": string(d.cfg.EDARevision),
	}
	if fw := d.Firmware(); fw != "" {
		set["firmware"] = fw
	}
	return sensors.Stream{Device: d.cfg.Name, Kind: "bitalino", Rate: float64(d.cfg.Rate), Channels: ch, Settings: set}
}

// Stop asks the device to leave live mode.
func (d *Device) Stop(w io.Writer) error {
	_, err := w.Write([]byte{cmdStop})
	return err
}

// NewDecoder returns a decoder for this device's frames read from r. It
// does not allocate per sample. Values are in the channels' units (µS, mV,
// ADC counts for raw inputs), in the order of Stream().Channels.
//
// Sample.Seq is a running frame counter whose low 4 bits are the device's
// 4-bit sequence number (Seq & 0xF), so both stay visible: a step of more
// than one is a gap. A repeated sequence number reads as a step of 16 (15
// frames lost), as a serial link cannot duplicate frames.
func (d *Device) NewDecoder(r io.Reader) sensors.Decoder { return d.newDecoder(r) }

// Counter says the sequence number counts samples modulo 16: the bridge
// times each frame by it, and counts whole lost wraps from arrival times.
func (d *Device) Counter() clock.Counter { return clock.Counter{Wrap: 16} }

var _ sensors.Clocked = (*Device)(nil)

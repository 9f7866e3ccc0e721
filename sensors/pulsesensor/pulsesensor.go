// Package pulsesensor reads the serial output of an Arduino running the
// PulseSensor Playground library: its two line formats (the visualizer's
// S/B/Q lines and the plotter's "bpm,ibi,sample"), one or several sensors,
// with a resynchronising line decoder and a simulator (Sim) that prints
// what such a sketch prints.
//
// Protocol facts are in docs/devices.md.
package pulsesensor

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"go.bug.st/serial"

	"github.com/cueroom/cueroom/sensors"
)

// Mode is the sketch's output type (setOutputType).
type Mode string

// Output modes.
const (
	// Plotter (SERIAL_PLOTTER, the library's default): one line per
	// sample, "bpm,ibi,sample"; with several sensors, "s0,s1,…" only.
	Plotter Mode = "plotter"
	// Visualizer (PROCESSING_VISUALIZER): "S<sample>" per sample and, on
	// each beat, "B<bpm>" and "Q<ibi>"; with several sensors the letters
	// are a, b… for samples, A, B… for BPM and M, N… for IBI.
	Visualizer Mode = "visualizer"
)

// Rate is the nominal number of sample lines per second (the library's
// examples print every 20 ms).
const Rate = 50

// ErrNotPulseSensor means no PulseSensor line arrived.
var ErrNotPulseSensor = errors.New("no PulseSensor lines")

// Config sets up a Device. The zero value reads a one-sensor sketch in
// plotter mode at 115200 baud.
type Config struct {
	Name string // instance name for samples and the stream; default "pulsesensor"
	Mode Mode   // default Plotter
	// Sensor selects one sensor of a multi-sensor sketch (1 is the first);
	// 0 means a sketch with a single sensor, whose lines differ. In plotter
	// mode a multi-sensor sketch prints no BPM or IBI: they read 0.
	Sensor int
	Baud   int // the sketch's Serial.begin; default 115200
	// Timeout bounds Start's wait for a valid line; default 5 s (opening
	// the port resets an Uno, whose sketch starts about 2 s later).
	Timeout time.Duration
}

// Device is a configured PulseSensor sketch. It implements sensors.Device.
type Device struct {
	cfg Config

	mu       sync.Mutex
	leftover []byte // bytes Start read from the first valid line on
}

var (
	_ sensors.Device     = (*Device)(nil)
	_ sensors.LineSetter = (*Device)(nil)
)

// maxSensors bounds Config.Sensor: past 12 the library's BPM letters
// (A, B…) would run into its IBI letters (M, N…).
const maxSensors = 12

// New checks cfg and returns a Device.
func New(cfg Config) (*Device, error) {
	if cfg.Name == "" {
		cfg.Name = "pulsesensor"
	}
	if cfg.Mode == "" {
		cfg.Mode = Plotter
	}
	if cfg.Baud == 0 {
		cfg.Baud = 115200
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Mode != Plotter && cfg.Mode != Visualizer {
		return nil, fmt.Errorf("pulsesensor: output mode %q is unknown: use %q (bpm,ibi,sample lines) or %q (S/B/Q lines)",
			cfg.Mode, Plotter, Visualizer)
	}
	if cfg.Sensor < 0 || cfg.Sensor > maxSensors {
		return nil, fmt.Errorf("pulsesensor: sensor %d does not exist: use 1..%d for a multi-sensor sketch, 0 for a single sensor",
			cfg.Sensor, maxSensors)
	}
	if cfg.Baud < 300 || cfg.Baud > 2_000_000 {
		return nil, fmt.Errorf("pulsesensor: %d baud is not a serial speed: use the sketch's Serial.begin value (115200 in the examples)", cfg.Baud)
	}
	return &Device{cfg: cfg}, nil
}

// SerialMode is the sketch's line setting: Config.Baud, 8N1.
func (d *Device) SerialMode() serial.Mode {
	return serial.Mode{BaudRate: d.cfg.Baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}
}

// Stream describes the channels: ppg (the raw ADC sample), hr (the
// library's BPM, 0 until it has seen beats) and ibi (its inter-beat
// interval, ms).
func (d *Device) Stream() sensors.Stream {
	set := map[string]string{"mode": string(d.cfg.Mode), "baud": strconv.Itoa(d.cfg.Baud)}
	if d.cfg.Sensor > 0 {
		set["sensor"] = strconv.Itoa(d.cfg.Sensor)
	}
	return sensors.Stream{Device: d.cfg.Name, Kind: "pulsesensor", Rate: Rate,
		Channels: []sensors.Channel{
			{Label: "ppg", Unit: "adc", Type: "PPG"},
			{Label: "hr", Unit: "bpm", Type: "HR"},
			{Label: "ibi", Unit: "ms", Type: "MISC"},
		},
		Settings: set}
}

// Stop does nothing: the sketch prints whatever happens.
func (d *Device) Stop(io.Writer) error { return nil }

// NewDecoder returns a decoder for the lines read from r; bytes Start read
// are decoded first. It does not allocate per sample. Each sample line
// gives a sample carrying the latest BPM and IBI; Sample.Seq counts the
// sample lines decoded (the sketch prints no counter).
func (d *Device) NewDecoder(r io.Reader) sensors.Decoder { return d.newDecoder(r) }

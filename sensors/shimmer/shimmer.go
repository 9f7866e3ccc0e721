// Package shimmer drives a Shimmer3 GSR+ (LogAndStream firmware) over its
// Bluetooth serial port: the start sequence (inquiry, sensors, rate, GSR
// range, optional link CRC), a resynchronising packet decoder that turns
// GSR into µS and the A13 PPG input into mV, and a simulator (Sim) that
// answers the commands with the device's bytes.
//
// Protocol facts are in docs/devices.md.
package shimmer

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"sync"
	"time"

	"go.bug.st/serial"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/clock"
)

// Commands and replies (one byte each; arguments follow some commands).
const (
	ack          = 0xFF // precedes every reply
	dataPacket   = 0x00
	cmdInquiry   = 0x01
	rspInquiry   = 0x02
	cmdGetRate   = 0x03
	rspRate      = 0x04
	cmdSetRate   = 0x05 // + u16 LE divider (32768/fs)
	cmdStart     = 0x07
	cmdSensors   = 0x08 // + 3-byte LE bitmap
	cmdStop      = 0x20
	cmdSetRange  = 0x21 // + range byte (0..3, 4 = auto)
	rspRange     = 0x22
	cmdGetRange  = 0x23
	rspHWVersion = 0x25
	cmdFirmware  = 0x2E
	rspFirmware  = 0x2F
	cmdHWVersion = 0x3F
	cmdStatus    = 0x72
	rspInstream  = 0x8A // in-stream reply prefix (status)
	rspStatus    = 0x71
	cmdCRC       = 0x8B // + 0, 1 or 2 CRC bytes on everything the device sends
)

// Sensor bitmap bits (set sensors, inquiry config bytes), as a 24-bit value.
const (
	sensorGSR   = 0x04
	sensorA13   = 0x01 << 8
	sensorVBatt = 0x20 << 8
)

// Channel ids as listed by the inquiry reply.
const (
	chanVBatt = 0x03
	chanA13   = 0x12 // internal ADC A13: the PPG input of a GSR+ unit
	chanGSR   = 0x1C
)

// TicksPerSecond is the rate of the device's clock (timestamps, rate divider).
const TicksPerSecond = 32768

// Baud is the line setting of the Bluetooth serial port (the radio ignores it).
const Baud = 115200

// ErrNotShimmer means the port did not answer like a Shimmer3.
var ErrNotShimmer = errors.New("not a Shimmer3")

// GSRRange is the GSR amplifier's reference resistor: fixed, or chosen by
// the device per sample (auto). The zero value is auto.
type GSRRange int

// GSR ranges. The wire value is 0..3 for the fixed ranges and 4 for auto.
const (
	GSRAuto   GSRRange = iota // the device picks the range per sample, reporting it in the top 2 bits
	GSRRange0                 // 40.2 kΩ reference: 8–63 kΩ (16–125 µS)
	GSRRange1                 // 287 kΩ: 63–220 kΩ (4.5–16 µS)
	GSRRange2                 // 1 MΩ: 220–680 kΩ (1.5–4.5 µS)
	GSRRange3                 // 3.3 MΩ: 680–4700 kΩ (0.2–1.5 µS)
)

func (r GSRRange) valid() bool { return r >= GSRAuto && r <= GSRRange3 }

// wire is the range's argument to the set-range command.
func (r GSRRange) wire() byte {
	if r == GSRAuto {
		return 4
	}
	return byte(r - 1)
}

func rangeFromWire(b byte) (GSRRange, bool) {
	switch {
	case b == 4:
		return GSRAuto, true
	case b < 4:
		return GSRRange(b + 1), true
	}
	return 0, false
}

func (r GSRRange) String() string {
	if r == GSRAuto {
		return "auto"
	}
	return strconv.Itoa(int(r) - 1)
}

// Config sets up a Device. The zero value means 128 Hz, auto GSR range, no
// link CRC.
type Config struct {
	Name     string   // instance name for samples and the stream; default "shimmer"
	Rate     float64  // Hz, 1..1024; default 128. The device runs at 32768/round(32768/Rate).
	GSRRange GSRRange // default GSRAuto
	// CRC is how many CRC-16 bytes the device appends to everything it
	// sends: 0 (off), 1 (low byte) or 2. Firmware without the link CRC
	// command (0x8B) must use 0. Default 0.
	CRC int
	// Timeout bounds the wait for each reply during Start; default 2 s.
	Timeout time.Duration
	// Settle is the pause after the initial stop command before stale
	// bytes are discarded; default 100 ms, negative none.
	Settle time.Duration
}

// Device is a configured Shimmer3 GSR+. It implements sensors.Device.
type Device struct {
	cfg Config
	div uint16 // rate divider sent to the device

	mu       sync.Mutex
	lay      layout // packet layout: the configured one, then what the device reported
	leftover []byte // bytes Start read past the last reply, for the next decoder
}

var (
	_ sensors.Device     = (*Device)(nil)
	_ sensors.LineSetter = (*Device)(nil)
)

// New checks cfg and returns a Device.
func New(cfg Config) (*Device, error) {
	if cfg.Name == "" {
		cfg.Name = "shimmer"
	}
	if cfg.Rate == 0 {
		cfg.Rate = 128
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Settle == 0 {
		cfg.Settle = 100 * time.Millisecond
	}
	if !(cfg.Rate >= 1 && cfg.Rate <= 1024) {
		return nil, fmt.Errorf("shimmer: rate %v Hz is not supported: use 1..1024 Hz (128 suits GSR and PPG)", cfg.Rate)
	}
	if !cfg.GSRRange.valid() {
		return nil, fmt.Errorf("shimmer: GSR range %d is unknown: use GSRAuto or GSRRange0..GSRRange3", int(cfg.GSRRange))
	}
	if cfg.CRC < 0 || cfg.CRC > 2 {
		return nil, fmt.Errorf("shimmer: CRC mode %d is unknown: use 0 (off), 1 or 2 bytes", cfg.CRC)
	}
	d := &Device{cfg: cfg, div: uint16(math.Round(TicksPerSecond / cfg.Rate))}
	lay, err := newLayout([]byte{chanA13, chanGSR}) // the firmware's order: A13 before GSR
	if err != nil {
		return nil, err
	}
	d.lay = lay
	return d, nil
}

// SerialMode is the line setting: 115200 8N1.
func (d *Device) SerialMode() serial.Mode {
	return serial.Mode{BaudRate: Baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}
}

// Rate returns the sampling rate the device runs at (32768/divider).
func (d *Device) Rate() float64 { return TicksPerSecond / float64(d.div) }

// Stream describes the channels: eda (µS) and ppg (mV).
func (d *Device) Stream() sensors.Stream {
	crc := "off"
	if d.cfg.CRC > 0 {
		crc = strconv.Itoa(d.cfg.CRC)
	}
	return sensors.Stream{Device: d.cfg.Name, Kind: "shimmer", Rate: d.Rate(),
		Channels: []sensors.Channel{
			{Label: "eda", Unit: "uS", Type: "EDA"},
			{Label: "ppg", Unit: "mV", Type: "PPG"},
		},
		Settings: map[string]string{
			"rate":      strconv.FormatFloat(d.Rate(), 'g', -1, 64),
			"gsr_range": d.cfg.GSRRange.String(),
			"crc":       crc,
		}}
}

// Stop asks the device to stop streaming.
func (d *Device) Stop(w io.Writer) error {
	_, err := w.Write([]byte{cmdStop})
	return err
}

// NewDecoder returns a decoder for the data packets read from r, laid out
// as the device reported at Start (A13 then GSR before). Bytes Start read
// past its last reply are decoded first. It does not allocate per sample.
//
// Values are eda (µS) and ppg (mV). Sample.Seq is the device's 24-bit
// timestamp (32768 Hz ticks) unwrapped: it starts at the first packet's
// timestamp and grows by the ticks between packets, so a gap shows as a
// step of more than 32768/Rate.
func (d *Device) NewDecoder(r io.Reader) sensors.Decoder { return d.newDecoder(r) }

// Counter says Seq is the device's own clock: 32768 Hz ticks, unwrapped by
// the decoder. The bridge times each packet by it.
func (d *Device) Counter() clock.Counter { return clock.Counter{TicksPerSecond: TicksPerSecond} }

var _ sensors.Clocked = (*Device)(nil)

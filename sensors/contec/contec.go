// Package contec drives a Contec CMS50D+ / CMS50E pulse oximeter over its
// USB serial cable, in either of its two live-data protocols: the old one
// (19200 8O1, unprompted 5-byte packets) and the one of firmware 4.6
// (115200 8N1, a start command, 9-byte packets, and units that stop after
// 30 s unless started again). It has a resynchronising decoder and a
// simulator (Sim) that sends the device's bytes.
//
// Protocol facts are in docs/devices.md.
package contec

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

// Protocol is the live-data protocol a unit speaks.
type Protocol string

// Protocols.
const (
	ProtocolNew Protocol = "new" // firmware 4.6: 115200 8N1, start command, 9-byte packets
	ProtocolOld Protocol = "old" // 19200 8O1, 5-byte packets sent unprompted
)

// startCommand asks a firmware 4.6 unit to stream live data.
var startCommand = [9]byte{0x7D, 0x81, 0xA1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}

// Rate is the nominal number of packets per second (both protocols).
const Rate = 60

// Bits of the status channel.
const (
	FingerOut    = 1 << 0 // no finger in the probe: pulse rate and SpO₂ are not readings
	Searching    = 1 << 1 // the unit is looking for a pulse
	PulseBeat    = 1 << 2 // a pulse was detected (new: beat marker; old: beep)
	ProbeError   = 1 << 3 // old protocol only
	SpO2Dropping = 1 << 4 // old protocol only
)

// ErrNotContec means no valid CMS50D+ packet arrived.
var ErrNotContec = errors.New("no CMS50D+ packets")

// Config sets up a Device. The zero value is a firmware 4.6 unit.
type Config struct {
	Name     string   // instance name for samples and the stream; default "contec"
	Protocol Protocol // default ProtocolNew
	// Timeout bounds Start's wait for valid packets; default 3 s.
	Timeout time.Duration
	// Restart (new protocol) is how long the decoder waits for a packet
	// before sending the start command again, as some units stop after
	// 30 s; default 1 s, negative never. It needs a port that can be
	// written and has read deadlines (serialport.Port does). After three
	// start commands in a row go unanswered the decoder fails.
	Restart time.Duration
}

// Device is a configured CMS50D+. It implements sensors.Device.
type Device struct {
	cfg Config

	mu       sync.Mutex
	leftover []byte // bytes Start read from the first valid packet on
	port     any    // the port Start was given, to restart the stream on
}

var (
	_ sensors.Device     = (*Device)(nil)
	_ sensors.LineSetter = (*Device)(nil)
)

// New checks cfg and returns a Device.
func New(cfg Config) (*Device, error) {
	if cfg.Name == "" {
		cfg.Name = "contec"
	}
	if cfg.Protocol == "" {
		cfg.Protocol = ProtocolNew
	}
	if cfg.Protocol != ProtocolNew && cfg.Protocol != ProtocolOld {
		return nil, fmt.Errorf("contec: protocol %q is unknown: use %q (firmware 4.6, 115200 baud) or %q (19200 baud, odd parity)",
			cfg.Protocol, ProtocolNew, ProtocolOld)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	if cfg.Restart == 0 {
		cfg.Restart = time.Second
	}
	return &Device{cfg: cfg}, nil
}

// SerialMode is the line setting: 115200 8N1 (new protocol) or 19200 8O1
// (old). Software flow control stays off although some tools set it: the
// binary packets may contain the XON/XOFF bytes.
func (d *Device) SerialMode() serial.Mode {
	if d.cfg.Protocol == ProtocolOld {
		return serial.Mode{BaudRate: 19200, DataBits: 8, Parity: serial.OddParity, StopBits: serial.OneStopBit}
	}
	return serial.Mode{BaudRate: 115200, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}
}

// Stream describes the channels: ppg (pleth, 0–127), hr (pulse rate, bpm),
// spo2 (%), strength (signal strength, 0–15) and status (the bits above).
func (d *Device) Stream() sensors.Stream {
	return sensors.Stream{Device: d.cfg.Name, Kind: "contec", Rate: Rate,
		Channels: []sensors.Channel{
			{Label: "ppg", Unit: "adc", Type: "PPG"},
			{Label: "hr", Unit: "bpm", Type: "HR"},
			{Label: "spo2", Unit: "%", Type: "SPO2"},
			{Label: "strength", Unit: "level", Type: "MISC"},
			{Label: "status", Unit: "flags", Type: "MISC"},
		},
		Settings: map[string]string{"protocol": string(d.cfg.Protocol), "baud": strconv.Itoa(d.SerialMode().BaudRate)}}
}

// Stop does nothing: the unit stops by itself (after 30 s, or when the
// port closes), and no stop command is documented.
func (d *Device) Stop(io.Writer) error { return nil }

// NewDecoder returns a decoder for the packets read from r; bytes Start
// read are decoded first. It does not allocate per sample. Sample.Seq
// counts the packets decoded: the protocols carry no counter, so a lost
// packet does not show in it (Dropped counts the bytes skipped).
//
// With the new protocol the decoder sends the start command again after
// Config.Restart without a packet. It does so on r if r can be written and
// has read deadlines, else on the port Start was given (a caller may hand
// the decoder a wrapper of that port).
func (d *Device) NewDecoder(r io.Reader) sensors.Decoder { return d.newDecoder(r) }

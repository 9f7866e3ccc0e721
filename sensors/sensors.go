// Package sensors holds what every physiological device shares: samples in
// physical units, the description of a device's channels, and the two small
// seams a device driver implements (Device to start and stop the stream on a
// port, Decoder to turn its bytes into samples).
//
// Data flows one way: serial bytes → Decoder → Sample → bus.
package sensors

import (
	"io"
	"time"

	"go.bug.st/serial"

	"github.com/cueroom/cueroom/sensors/clock"
)

// Physical units as types, so a conversion cannot be forgotten.
type (
	Microsiemens float64 // skin conductance
	Millivolts   float64 // ECG, PPG
	BPM          float64 // heart or pulse rate
	Percent      float64 // SpO2
)

// MaxChannels bounds the values of one sample so samples need no
// allocation: 32, so an EEG cap or an eye tracker recorded over LSL fits
// (a 6-channel BITalino uses the first six; a sample is 300 bytes).
const MaxChannels = 32

// Channel describes one column of a device's samples.
type Channel struct {
	Label string `json:"label"` // "eda", "ecg", "ppg", "hr", "spo2"
	Unit  string `json:"unit"`  // "uS", "mV", "bpm", "%"
	Type  string `json:"type"`  // signal type: EDA, ECG, PPG, HR, SPO2 (BIDS/XDF naming)
}

// Stream describes what a device sends: its name, nominal rate and channels.
type Stream struct {
	Device   string            `json:"device"` // instance name, e.g. "bitalino"
	Kind     string            `json:"kind"`   // driver, e.g. "bitalino"
	Rate     float64           `json:"rate"`   // nominal samples per second
	Channels []Channel         `json:"channels"`
	Settings map[string]string `json:"settings,omitempty"`
}

// Sample is one multi-channel reading.
//
// T is when the device took it, on the session clock: its counter read on
// the device's clock and mapped onto the session clock (package
// sensors/clock), so a stalled process or a bursty link does not move it.
// Arrival is when it reached us on the session clock, kept for audit (0 when
// unknown: a decoder's output before the bridge stamps it, an old
// recording). Seq is the device's own counter (BITalino's 4-bit sequence,
// Shimmer's timestamp ticks...), kept so gaps and drift stay visible.
type Sample struct {
	Device  string               `json:"device"`
	T       time.Duration        `json:"t"`
	Arrival time.Duration        `json:"arrival,omitempty"`
	Seq     uint32               `json:"seq"`
	N       int                  `json:"-"`
	Values  [MaxChannels]float64 `json:"-"`
}

// Vals returns the sample's channel values.
func (s *Sample) Vals() []float64 { return s.Values[:s.N] }

// Decoder turns a device's byte stream into samples. It reads an io.Reader,
// never a serial port, so tests feed it bytes, files or a pseudo-terminal.
type Decoder interface {
	// Next blocks until one sample is decoded. It returns io.EOF at the end
	// of the stream; corrupt bytes are skipped (see Dropped), not errors.
	// T is left zero: the caller stamps arrival time.
	Next() (Sample, error)
	// Dropped counts bytes discarded while resynchronising.
	Dropped() uint64
}

// Device knows how to start and stop a device's stream on a port and how to
// decode it.
type Device interface {
	Stream() Stream
	// Start sends the device's start sequence (rate, channels, start).
	Start(rw io.ReadWriter) error
	// Stop asks the device to stop streaming.
	Stop(w io.Writer) error
	NewDecoder(r io.Reader) Decoder
}

// Optional abilities. A device, decoder or port that has one says so by
// implementing its interface; the bridge and the drivers look for it with a
// type assertion and do without when it is absent.

// LineSetter is a Device that says how its serial line must be set up
// (baud rate, data bits, parity, stop bits). Without it the bridge opens
// the port at 115200 8N1; with it, a wrong setting is recognised when bytes
// arrive that never decode.
type LineSetter interface{ SerialMode() serial.Mode }

// LossCounter is a Decoder that knows how many samples it could not
// deliver (a device whose sequence number counts something other than
// samples, or a line protocol with numbered lines). Without it the bridge
// counts steps of Sample.Seq above one, which is right only for devices
// whose Seq counts samples.
type LossCounter interface{ SamplesLost() uint64 }

// InputFlusher is a port that can throw away what it has received and not
// yet read: a device's Start uses it to drop a stream still arriving from
// an earlier run before it reads the device's answer.
type InputFlusher interface{ ResetInputBuffer() error }

// Clocked is a Device, or a Decoder once it has seen the stream, that says
// what its samples' Seq counts (a sample counter and its wrap, or a tick
// clock), so the bridge times each sample by the device's own clock
// (package clock). Without it samples are numbered as they are received:
// the same estimate, with a loss seen only from arrival times.
type Clocked interface{ Counter() clock.Counter }

// Restarter is a Decoder that starts the device's stream again within a
// connection (a Contec oximeter that stops now and then): the device's
// clock does not run while it is stopped, so the bridge re-anchors it
// whenever Restarts changes.
type Restarter interface{ Restarts() uint64 }

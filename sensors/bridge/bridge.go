// Package bridge connects a device on a serial port to the rest of the
// engine: it opens the port, starts the device, decodes its stream, stamps
// each sample's arrival time and hands it on.
//
// One Run is one connection. Reconnecting with backoff (a later issue) wraps
// Run: errors wrapping serialport.ErrGone or serialport.ErrSilent are the
// ones worth retrying; Now keeps the session's time base across attempts.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.bug.st/serial"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/serialport"
)

// Config says what to run.
type Config struct {
	Port   string         // path of the serial port, e.g. /dev/rfcomm0
	Device sensors.Device // how to start and decode the device

	// Now returns the session clock used to stamp arrival times; default:
	// time since Run started (monotonic).
	Now func() time.Duration
	// Sink receives every sample, in order, from Run's goroutine. It should
	// not block for long: the device keeps sending meanwhile.
	Sink func(sensors.Sample)
	// OnStream, if set, receives the device's stream description once the
	// device has answered, before its first sample.
	OnStream func(sensors.Stream)

	// Silence is the data watchdog: Run fails when no byte arrives for this
	// long. Default: 3 s or five sample periods, whichever is longer.
	Silence time.Duration
	// Open opens the port; default serialport.Open with the device's line
	// setting (a device with a SerialMode method) or 115200 8N1. Tests and
	// future transports (TCP, a recording) plug in here.
	Open func(path string, silence time.Duration) (io.ReadWriteCloser, error)
}

// modeDevice is a device that says how its line must be set up.
type modeDevice interface{ SerialMode() serial.Mode }

// Run opens the port, starts the device, and streams its samples to Sink
// until ctx is done (it then asks the device to stop, closes the port and
// returns ctx.Err()) or the port fails. A device that does not answer like
// the expected one yields the device's own error (for a BITalino, wrapping
// bitalino.ErrNotBITalino), naming the port.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Port == "" || cfg.Device == nil || cfg.Sink == nil {
		return errors.New("bridge: Config needs Port, Device and Sink")
	}
	now := cfg.Now
	if now == nil {
		t0 := time.Now()
		now = func() time.Duration { return time.Since(t0) }
	}
	stream := cfg.Device.Stream()
	silence := cfg.Silence
	if silence <= 0 {
		silence = 3 * time.Second
		if stream.Rate > 0 {
			silence = max(silence, time.Duration(5*float64(time.Second)/stream.Rate))
		}
	}
	open := cfg.Open
	if open == nil {
		open = func(path string, silence time.Duration) (io.ReadWriteCloser, error) {
			var opt serialport.Options
			if m, ok := cfg.Device.(modeDevice); ok {
				opt.Mode = m.SerialMode()
			}
			opt.Silence = silence
			return serialport.Open(path, opt)
		}
	}

	if err := ctx.Err(); err != nil {
		return err
	}
	port, err := open(cfg.Port, silence)
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	defer port.Close()
	// Cancelling ctx stops the device and closes the port, which interrupts
	// a Start or a Read in progress.
	stop := context.AfterFunc(ctx, func() {
		_ = cfg.Device.Stop(port)
		_ = port.Close()
	})
	defer func() {
		if stop() { // not cancelled: still ask the device to stop (best effort)
			_ = cfg.Device.Stop(port)
		}
	}()

	if err := cfg.Device.Start(port); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("bridge: starting %s on %s: %w", stream.Kind, cfg.Port, err)
	}
	stream = cfg.Device.Stream() // now with what Start learned (firmware)
	if cfg.OnStream != nil {
		cfg.OnStream(stream)
	}
	dec := cfg.Device.NewDecoder(port)
	for {
		s, err := dec.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("bridge: %s on %s: %w (%d bytes dropped while resynchronising)",
				stream.Device, cfg.Port, err, dec.Dropped())
		}
		s.T = now()
		if s.Device == "" {
			s.Device = stream.Device
		}
		cfg.Sink(s)
	}
}

package pulsesensor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/cueroom/cueroom/sensors/internal/portio"
)

// Start sends nothing (a sketch prints unprompted) and waits at most
// Config.Timeout for a valid line (the first line is skipped: it may have
// begun before the port was open), so that a wrong port, baud rate or
// output mode fails here with an error naming the likely setting. The
// timeout needs a port with read deadlines (serialport.Port, *os.File,
// net.Conn). The lines read are handed to the next decoder. Errors wrap
// ErrNotPulseSensor.
func (d *Device) Start(rw io.ReadWriter) error {
	name := portio.Name(rw)
	deadline := time.Now().Add(d.cfg.Timeout)
	defer portio.Deadline(rw, deadline)()
	p := parser{mode: d.cfg.Mode, sensor: d.cfg.Sensor}
	var (
		buf      [512]byte
		pend     []byte // from the start of the current line
		total    int
		zeros    int
		mismatch bool
		first    = true // the first line is skipped
	)
	for {
		for {
			i := bytes.IndexByte(pend, '\n')
			if i < 0 {
				break
			}
			if first { // it may have begun before we listened: its tail can parse with wrong values
				first = false
				pend = pend[i+1:]
				continue
			}
			l := p.parse(bytes.TrimSuffix(pend[:i], []byte{'\r'}))
			if l.kind != bad && l.kind != other {
				d.mu.Lock()
				d.leftover = slices.Clone(pend)
				d.mu.Unlock()
				return nil
			}
			mismatch = mismatch || l.mismatch
			pend = pend[i+1:]
		}
		if len(pend) > maxLine+2 { // no line is that long: keep a tail
			pend = pend[len(pend)-maxLine-2:]
		}
		if time.Now().After(deadline) || total > portio.MaxScan {
			return d.noLines(name, total, mismatch, nil)
		}
		n, err := rw.Read(buf[:])
		total += n
		pend = append(pend, buf[:n]...)
		if err != nil {
			if bytes.IndexByte(pend, '\n') >= 0 {
				continue // the lines before the error count
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return d.noLines(name, total, mismatch, err)
			}
			return fmt.Errorf("pulsesensor: reading %s after %d bytes: %w: %w", name, total, err, ErrNotPulseSensor)
		}
		if n == 0 {
			if zeros++; zeros > 100 {
				return fmt.Errorf("pulsesensor: %s keeps returning no data: %w: %w", name, io.ErrNoProgress, ErrNotPulseSensor)
			}
		} else {
			zeros = 0
		}
	}
}

// noLines explains a Start that saw no valid line.
func (d *Device) noLines(name string, total int, mismatch bool, err error) error {
	other := map[Mode]Mode{Plotter: Visualizer, Visualizer: Plotter}[d.cfg.Mode]
	var e error
	switch {
	case total == 0:
		e = fmt.Errorf("pulsesensor: no data from %s within %v: is the Arduino plugged in, running a PulseSensor "+
			"Playground sketch that prints to Serial, and is this its port (usually /dev/ttyACM0 or /dev/ttyUSB0)?", name, d.cfg.Timeout)
	case mismatch:
		e = fmt.Errorf("pulsesensor: %s prints %s lines, not %s ones: set mode=%s (the sketch's setOutputType)",
			name, other, d.cfg.Mode, other)
	default:
		e = fmt.Errorf("pulsesensor: bytes arrive on %s but no PulseSensor line (%d bytes in %v): wrong baud? "+
			"This port is set to %d 8N1: it must match the sketch's Serial.begin. Or the sketch prints something else "+
			"(expected %s lines%s)", name, total, d.cfg.Timeout, d.cfg.Baud, d.cfg.Mode, sensorNote(d.cfg.Sensor))
	}
	if err != nil {
		return fmt.Errorf("%w: %w (%w)", e, ErrNotPulseSensor, err)
	}
	return fmt.Errorf("%w: %w", e, ErrNotPulseSensor)
}

func sensorNote(n int) string {
	if n == 0 {
		return " of a one-sensor sketch"
	}
	return fmt.Sprintf(" of sensor %d of a multi-sensor sketch", n)
}

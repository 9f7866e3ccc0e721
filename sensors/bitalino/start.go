package bitalino

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.bug.st/serial"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/internal/portio"
)

// SerialMode is the line setting the device needs: 115200 8N1.
func (d *Device) SerialMode() serial.Mode {
	return serial.Mode{BaudRate: Baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}
}

// An optional ability of the port Start is given.

// maxVersionScan bounds how many bytes Start reads looking for the version
// line: a device still streaming (up to 8 kB/s) or a port spewing garbage
// must fail in bounded time even if the port cannot time out reads.
const maxVersionScan = 64 << 10

// Start puts the device in idle mode, checks it is a BITalino by asking its
// version, sets the rate and starts live acquisition of the selected inputs.
//
// The version reply is awaited at most Config.VersionTimeout when rw
// supports SetReadDeadline (serialport.Port, *os.File, net.Conn); with a
// plain reader a silent peer blocks until the reader fails. An error
// wrapping ErrNotBITalino means the peer did not answer like a BITalino.
func (d *Device) Start(rw io.ReadWriter) error {
	name := portio.Name(rw)
	// 0x00 leaves live mode on every firmware (0xFF, "idle", is 2.x only);
	// on an idle device it sets the low-battery LED threshold to its
	// minimum, which is harmless.
	if err := d.send(rw, name, cmdStop); err != nil {
		return err
	}
	d.pause()
	if f, ok := rw.(sensors.InputFlusher); ok {
		_ = f.ResetInputBuffer() // best effort: stale frames are skipped below anyway
	}
	if err := d.send(rw, name, cmdVersion); err != nil {
		return err
	}
	fw, err := readVersion(rw, name, d.cfg.VersionTimeout)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.firmware = fw
	d.mu.Unlock()
	d.pause()
	if err := d.send(rw, name, cmdRate(d.code)); err != nil {
		return err
	}
	d.pause()
	return d.send(rw, name, cmdStart(d.mask))
}

func (d *Device) pause() {
	if d.cfg.CommandGap > 0 {
		time.Sleep(d.cfg.CommandGap)
	}
}

func (d *Device) send(w io.Writer, name string, cmd byte) error {
	if _, err := w.Write([]byte{cmd}); err != nil {
		return fmt.Errorf("bitalino: sending command %#02x to %s: %w", cmd, name, err)
	}
	return nil
}

var versionTag = []byte("BITalino")

// readVersion reads until a line containing "BITalino" ends, skipping any
// bytes before it (frames still in flight after the stop command), and
// returns the line from "BITalino" on, without line ending.
func readVersion(r io.Reader, name string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	defer portio.Deadline(r, deadline)()
	var (
		buf   [256]byte
		acc   []byte // bytes kept for matching: a tag tail, or the line so far
		found = -1   // index of the tag in acc
		total int
		zeros int
	)
	fail := func(why string, err error) error {
		e := fmt.Errorf("bitalino: %s did not answer the version query (0x07) with a \"BITalino…\" line: %s. "+
			"Check that this is the BITalino's port (Bluetooth: /dev/rfcommN bound to the device's MAC, channel 1), "+
			"that the device is switched on and paired, and that no other program is connected to it: %w",
			name, why, ErrNotBITalino)
		if err != nil {
			e = fmt.Errorf("%w (%w)", e, err)
		}
		return e
	}
	for {
		if time.Now().After(deadline) {
			return "", fail(fmt.Sprintf("no version line within %v (%d bytes received)", timeout, total), os.ErrDeadlineExceeded)
		}
		n, err := r.Read(buf[:])
		total += n
		if n == 0 && err == nil {
			if zeros++; zeros > 100 {
				return "", fail("the port keeps returning no data", io.ErrNoProgress)
			}
			continue
		}
		zeros = 0
		acc = append(acc, buf[:n]...)
		if found < 0 {
			if i := bytes.Index(acc, versionTag); i >= 0 {
				found = i
			} else if len(acc) > len(versionTag) {
				// keep only a possible partial tag at the end
				acc = append(acc[:0], acc[len(acc)-len(versionTag)+1:]...)
			}
		}
		if found >= 0 {
			line := acc[found:]
			if i := bytes.IndexByte(line, '\n'); i >= 0 {
				return string(bytes.TrimRight(line[:i], "\r")), nil
			}
			if len(line) > 128 {
				return "", fail(fmt.Sprintf("the line starting %q is too long", line[:32]), nil)
			}
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return "", fail(fmt.Sprintf("no version line within %v (%d bytes received)", timeout, total), err)
			}
			return "", fail(fmt.Sprintf("reading failed after %d bytes", total), err)
		}
		if total > maxVersionScan {
			return "", fail(fmt.Sprintf("%d bytes received without one", total), nil)
		}
	}
}

package contec

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/cueroom/cueroom/sensors/internal/portio"
)

// Start sends the start command (new protocol) and waits at most
// Config.Timeout for valid packets (one of the new protocol, two in a row
// of the old), so that a wrong port, baud rate or parity fails here with
// an error naming the likely setting. The timeout needs a port with read
// deadlines (serialport.Port, *os.File, net.Conn). The packets read are
// handed to the next decoder. Errors wrap ErrNotContec.
func (d *Device) Start(rw io.ReadWriter) error {
	name := portio.Name(rw)
	if d.cfg.Protocol == ProtocolNew {
		if _, err := rw.Write(startCommand[:]); err != nil {
			return fmt.Errorf("contec: sending the start command to %s: %w", name, err)
		}
	}
	deadline := time.Now().Add(d.cfg.Timeout)
	defer portio.Deadline(rw, deadline)()
	var (
		buf   [512]byte
		pend  []byte
		total int
		zeros int
	)
	for {
		if i := d.firstPackets(pend); i >= 0 {
			d.mu.Lock()
			d.leftover = slices.Clone(pend[i:])
			d.port = rw
			d.mu.Unlock()
			return nil
		}
		if len(pend) > 2*newLen { // keep only what may start a packet
			pend = append(pend[:0], pend[len(pend)-2*newLen:]...)
		}
		if time.Now().After(deadline) || total > portio.MaxScan {
			return d.noPackets(name, total, nil)
		}
		n, err := rw.Read(buf[:])
		total += n
		pend = append(pend, buf[:n]...)
		if err != nil {
			if d.firstPackets(pend) >= 0 {
				continue // the packets before the error count
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return d.noPackets(name, total, err)
			}
			return fmt.Errorf("contec: reading %s after %d bytes: %w: %w", name, total, err, ErrNotContec)
		}
		if n == 0 {
			if zeros++; zeros > 100 {
				return fmt.Errorf("contec: %s keeps returning no data: %w: %w", name, io.ErrNoProgress, ErrNotContec)
			}
		} else {
			zeros = 0
		}
	}
}

// firstPackets returns where the first valid packet (new protocol) or
// pair of packets (old) starts in b, or -1.
func (d *Device) firstPackets(b []byte) int {
	if d.cfg.Protocol == ProtocolNew {
		for i := 0; i+newLen <= len(b); i++ {
			if syncNew(b[i:]) {
				return i
			}
		}
		return -1
	}
	for i := 0; i+2*oldLen <= len(b); i++ {
		if syncOld(b[i:]) && syncOld(b[i+oldLen:]) {
			return i
		}
	}
	return -1
}

// noPackets explains a Start that saw no valid packet.
func (d *Device) noPackets(name string, total int, err error) error {
	var e error
	switch {
	case total == 0 && d.cfg.Protocol == ProtocolNew:
		e = fmt.Errorf("contec: no data from %s within %v of the start command: is the oximeter switched on with a finger in, "+
			"and is this its port (its cable's CP210x adapter, usually /dev/ttyUSB0)? A unit with the old protocol streams "+
			"unprompted at 19200 8O1: set protocol=old", name, d.cfg.Timeout)
	case total == 0:
		e = fmt.Errorf("contec: no data from %s within %v: the old protocol streams unprompted, so the oximeter is off or "+
			"has no finger in, or this is not its port; a unit with firmware 4.6 waits for a start command at 115200 8N1: "+
			"set protocol=new", name, d.cfg.Timeout)
	case d.cfg.Protocol == ProtocolNew:
		e = fmt.Errorf("contec: bytes arrive on %s but no valid CMS50D+ packet (%d bytes in %v): wrong baud or parity? "+
			"The new protocol is 115200 8N1; a unit with the old one needs protocol=old (19200 8O1)", name, total, d.cfg.Timeout)
	default:
		e = fmt.Errorf("contec: bytes arrive on %s but no valid CMS50D+ packet (%d bytes in %v): wrong baud or parity? "+
			"The old protocol is 19200 8O1; a unit with firmware 4.6 needs protocol=new (115200 8N1)", name, total, d.cfg.Timeout)
	}
	if err != nil {
		return fmt.Errorf("%w: %w (%w)", e, ErrNotContec, err)
	}
	return fmt.Errorf("%w: %w", e, ErrNotContec)
}

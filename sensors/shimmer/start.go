package shimmer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/internal/portio"
)

// An optional ability of the port Start is given.

// inquiryReply is the device's answer to the inquiry command.
type inquiryReply struct {
	Divider  uint16  // sampling rate divider: 32768/fs
	Config   [4]byte // configuration bytes
	Buffer   byte    // buffer size
	Channels []byte  // channel ids in packet order
}

// Start stops any stream in progress, identifies the device by its
// inquiry reply, switches the link CRC on if configured, enables GSR and
// PPG (A13), sets the rate and the GSR range, checks the result with a
// second inquiry and starts streaming. Each reply is awaited at most
// Config.Timeout when rw supports SetReadDeadline (serialport.Port,
// *os.File, net.Conn). An error wrapping ErrNotShimmer means the peer did
// not answer like a Shimmer3.
func (d *Device) Start(rw io.ReadWriter) error {
	l := &link{rw: rw, name: portio.Name(rw), timeout: d.cfg.Timeout}
	if dl, ok := rw.(portio.ReadDeadliner); ok {
		l.dl = dl
		defer dl.SetReadDeadline(time.Time{})
	}
	// A device still streaming from an earlier connection would bury the
	// replies in data: stop it and discard what is in flight.
	if err := l.send("stop", cmdStop); err != nil {
		return err
	}
	if d.cfg.Settle > 0 {
		time.Sleep(d.cfg.Settle)
	}
	if f, ok := rw.(sensors.InputFlusher); ok {
		_ = f.ResetInputBuffer() // best effort: the replies are scanned for anyway
	}
	if _, err := l.inquiry(); err != nil {
		return fmt.Errorf("shimmer: %s did not answer the inquiry (0x01) like a Shimmer3: %w. "+
			"Check that this is the Shimmer's port (Bluetooth: /dev/rfcommN bound to its MAC, channel 1), "+
			"that it is switched on and runs LogAndStream firmware, and that no other program is connected to it: %w",
			l.name, err, ErrNotShimmer)
	}
	if d.cfg.CRC > 0 {
		mode := byte(d.cfg.CRC)
		if err := l.send("set link CRC", cmdCRC, mode); err != nil {
			return err
		}
		l.crc = d.cfg.CRC // the device switches before it acknowledges
		if err := l.ack("set link CRC (0x8B)"); err != nil {
			return fmt.Errorf("%w. Its firmware may not support the link CRC: set crc=0", err)
		}
	}
	sensors := uint32(sensorGSR | sensorA13)
	steps := []struct {
		what string
		cmd  []byte
	}{
		{"set sensors (0x08)", []byte{cmdSensors, byte(sensors), byte(sensors >> 8), byte(sensors >> 16)}},
		{"set rate (0x05)", []byte{cmdSetRate, byte(d.div), byte(d.div >> 8)}},
		{"set GSR range (0x21)", []byte{cmdSetRange, d.cfg.GSRRange.wire()}},
	}
	for _, s := range steps {
		if err := l.send(s.what, s.cmd...); err != nil {
			return err
		}
		if err := l.ack(s.what); err != nil {
			return err
		}
	}
	inq, err := l.inquiry()
	if err != nil {
		return fmt.Errorf("shimmer: %s did not answer the inquiry after the setup: %w", l.name, err)
	}
	if inq.Divider != d.div {
		return fmt.Errorf("shimmer: %s runs at %v Hz (divider %d) after being set to %v Hz (divider %d): "+
			"pick a rate the firmware supports", l.name, TicksPerSecond/float64(inq.Divider), inq.Divider, d.Rate(), d.div)
	}
	lay, err := newLayout(inq.Channels)
	if err != nil {
		return err
	}
	if !lay.hasAll {
		return fmt.Errorf("shimmer: %s streams channels % x without GSR (0x1c) and PPG A13 (0x12) after "+
			"enabling them: is this a Shimmer3 with a GSR+ expansion board?", l.name, inq.Channels)
	}
	if err := l.send("start streaming", cmdStart); err != nil {
		return err
	}
	if err := l.ack("start streaming (0x07)"); err != nil {
		return err
	}
	d.mu.Lock()
	d.lay = lay
	d.leftover = slices.Clone(l.pend) // data packets that followed the last ACK
	d.mu.Unlock()
	return nil
}

// link is one Start's conversation with the device.
type link struct {
	rw      io.ReadWriter
	dl      portio.ReadDeadliner
	name    string
	timeout time.Duration
	crc     int
	pend    []byte // read, not yet consumed
	buf     [512]byte
}

func (l *link) send(what string, cmd ...byte) error {
	if _, err := l.rw.Write(cmd); err != nil {
		return fmt.Errorf("shimmer: sending %s (% x) to %s: %w", what, cmd, l.name, err)
	}
	return nil
}

// ack waits for a bare acknowledgement.
func (l *link) ack(what string) error {
	if _, err := l.await(nil, 0, nil); err != nil {
		return fmt.Errorf("shimmer: %s did not acknowledge %s: %w", l.name, what, err)
	}
	return nil
}

// inquiry sends the inquiry command and parses the reply.
func (l *link) inquiry() (inquiryReply, error) {
	if err := l.send("inquiry", cmdInquiry); err != nil {
		return inquiryReply{}, err
	}
	// <HIBB: divider, 4 config bytes, channel count, buffer size; then ids.
	// A reply naming a channel we cannot size is taken for stale data.
	unknown := -1
	p, err := l.await([]byte{rspInquiry}, 8, func(p []byte) int {
		n := int(p[6])
		if n > maxChans {
			return -1
		}
		if len(p) >= 8+n {
			for _, id := range p[8 : 8+n] {
				if chanSize(id) == 0 {
					unknown = int(id)
					return -1
				}
			}
		}
		return n
	})
	if err != nil && unknown >= 0 {
		return inquiryReply{}, fmt.Errorf("%w; a reply listed channel id %#02x, which this driver does not know: "+
			"disable that sensor (Consensys or another tool) and retry", err, unknown)
	}
	if err != nil {
		return inquiryReply{}, err
	}
	inq := inquiryReply{Divider: binary.LittleEndian.Uint16(p), Buffer: p[7], Channels: slices.Clone(p[8:])}
	copy(inq.Config[:], p[2:6])
	return inq, nil
}

// await reads until a reply ACK + code + payload (+ CRC) arrives and
// returns the payload: fixed bytes, then extra(payload so far) more (-1:
// this cannot be the reply). Bytes before the reply (stale data, the ACK
// of an earlier stop) are skipped, and so is a reply whose CRC fails.
func (l *link) await(code []byte, fixed int, extra func([]byte) int) ([]byte, error) {
	deadline := time.Now().Add(l.timeout)
	if l.dl != nil {
		_ = l.dl.SetReadDeadline(deadline)
	}
	head := append([]byte{ack}, code...)
	scanned, zeros := 0, 0
	for {
		if p, ok := l.find(head, fixed, extra); ok {
			return p, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no reply within %v (%d bytes received): %w", l.timeout, scanned, os.ErrDeadlineExceeded)
		}
		if scanned > portio.MaxScan {
			return nil, fmt.Errorf("%d bytes received without the reply", scanned)
		}
		n, err := l.rw.Read(l.buf[:])
		scanned += n
		l.pend = append(l.pend, l.buf[:n]...)
		if len(l.pend) > 4096 { // keep a bounded tail: no reply is that long
			l.pend = append(l.pend[:0], l.pend[len(l.pend)-1024:]...)
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, fmt.Errorf("no reply within %v (%d bytes received): %w", l.timeout, scanned, err)
			}
			return nil, fmt.Errorf("reading failed after %d bytes: %w", scanned, err)
		}
		if n == 0 {
			if zeros++; zeros > 100 {
				return nil, fmt.Errorf("the port keeps returning no data: %w", io.ErrNoProgress)
			}
		} else {
			zeros = 0
		}
	}
}

// find takes the first complete, valid reply out of the pending bytes. A
// candidate still incomplete does not hide a complete one after it: stale
// data can hold a reply's first bytes by chance.
func (l *link) find(head []byte, fixed int, extra func([]byte) int) ([]byte, bool) {
	for i := range l.pend {
		rest := l.pend[i:]
		need := len(head) + fixed
		if len(rest) < need || !bytes.HasPrefix(rest, head) {
			continue
		}
		if extra != nil {
			x := extra(rest[len(head):])
			if x < 0 {
				continue
			}
			need += x
		}
		if len(rest) < need+l.crc || !crcOK(rest[:need+l.crc], l.crc) {
			continue
		}
		payload := slices.Clone(rest[len(head):need])
		l.pend = append(l.pend[:0], rest[need+l.crc:]...)
		return payload, true
	}
	return nil, false
}

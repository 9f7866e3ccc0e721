package contec

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/internal/portio"
	"github.com/cueroom/cueroom/sensors/serialport"
)

// maxRestarts is how many start commands in a row may go unanswered before
// the decoder gives up.
const maxRestarts = 3

// restarter is a port the start command can be sent on again, with read
// deadlines to notice that the stream stopped.
type restarter interface {
	io.Writer
	SetReadDeadline(time.Time) error
}

// decoder turns a CMS50D+ byte stream into samples without allocating.
//
// New protocol: a packet's 01 E0…FF FF framing is strong enough to trust
// alone. Old protocol: only bit 7 marks the first byte, so a packet is
// delivered once the next one has checked too (one packet of latency; at
// the end of the stream a packet in step needs no confirmation). Lost or
// cut bytes then cost the packet before them but never yield wrong
// values; five or more inserted garbage bytes can still pass for a packet
// (1 time in 32).
type decoder struct {
	r       io.Reader
	name    string
	port    string
	old     bool
	L       int
	buf     [2048]byte
	lo, hi  int // unread bytes are buf[lo:hi]
	err     error
	synced  bool
	seq     uint32
	started bool
	dropped uint64
	zeros   int

	// restarting the stream (new protocol)
	w        io.Writer
	dl       interface{ SetReadDeadline(time.Time) error }
	restart  time.Duration
	restarts int
}

var _ sensors.Decoder = (*decoder)(nil)

func (d *Device) newDecoder(r io.Reader) *decoder {
	d.mu.Lock()
	left, port := d.leftover, d.port
	d.leftover = nil
	d.mu.Unlock()
	dec := &decoder{r: r, name: d.cfg.Name, port: portio.Name(r), old: d.cfg.Protocol == ProtocolOld, L: newLen}
	if dec.old {
		dec.L = oldLen
	} else if d.cfg.Restart > 0 {
		if _, ok := r.(restarter); ok {
			port = r
		}
		if p, ok := port.(restarter); ok {
			dec.w, dec.dl, dec.restart, dec.port = p, p, d.cfg.Restart, portio.Name(p)
		}
	}
	dec.hi = copy(dec.buf[:], left)
	return dec
}

// Dropped counts bytes discarded while resynchronising.
func (dec *decoder) Dropped() uint64 { return dec.dropped }

// fill reads more bytes, keeping buf[lo:hi]. It reports false when no more
// will come (dec.err is then set).
func (dec *decoder) fill() bool {
	if dec.err != nil {
		return false
	}
	if dec.lo > 0 {
		dec.hi = copy(dec.buf[:], dec.buf[dec.lo:dec.hi])
		dec.lo = 0
	}
	if dec.dl != nil {
		_ = dec.dl.SetReadDeadline(time.Now().Add(dec.restart))
	}
	n, err := dec.r.Read(dec.buf[dec.hi:])
	dec.hi += n
	if err != nil && dec.dl != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		err = dec.restartStream()
	}
	switch {
	case err != nil:
		dec.err = err
		if dec.dl != nil {
			_ = dec.dl.SetReadDeadline(time.Time{})
		}
	case n == 0:
		// A reader that keeps returning (0, nil) would spin us forever.
		if dec.zeros++; dec.zeros >= 100 {
			dec.err = io.ErrNoProgress
		}
	default:
		dec.zeros = 0
	}
	return n > 0 || dec.err == nil
}

// restartStream sends the start command again after a silence, or gives
// up when the last ones went unanswered.
func (dec *decoder) restartStream() error {
	if dec.restarts >= maxRestarts {
		return fmt.Errorf("contec: no packet from %s for %v after %d start commands: the oximeter stopped "+
			"(switched off, or the cable pulled?): %w", dec.port, time.Duration(maxRestarts+1)*dec.restart, dec.restarts, serialport.ErrSilent)
	}
	dec.restarts++
	dec.zeros = 0
	if _, err := dec.w.Write(startCommand[:]); err != nil {
		return fmt.Errorf("contec: %s: sending the start command again: %w", dec.port, err)
	}
	return nil
}

// Next returns the next sample, skipping bytes that do not form a packet
// (counted in Dropped). It returns io.EOF at the end of the stream, or the
// reader's error.
func (dec *decoder) Next() (sensors.Sample, error) {
	L := dec.L
	for {
		avail := dec.hi - dec.lo
		if avail < L {
			if dec.fill() {
				continue
			}
			// the stream ended: the tail is an incomplete packet
			dec.dropped += uint64(avail)
			dec.lo = dec.hi
			return sensors.Sample{}, dec.err
		}
		b := dec.buf[dec.lo : dec.lo+L]
		if !dec.old {
			if syncNew(b) {
				return dec.emit(parseNew(b)), nil
			}
		} else if syncOld(b) {
			if avail < 2*L && dec.fill() {
				continue
			}
			if avail >= 2*L && syncOld(dec.buf[dec.lo+L:dec.lo+2*L]) ||
				avail < 2*L && dec.synced { // the end: nothing follows to confirm it
				dec.synced = true
				return dec.emit(parseOld(b)), nil
			}
		}
		dec.synced = false
		dec.lo++
		dec.dropped++
	}
}

func (dec *decoder) emit(p Packet) sensors.Sample {
	dec.lo += dec.L
	dec.restarts = 0
	if dec.started {
		dec.seq++
	}
	dec.started = true
	s := sensors.Sample{Device: dec.name, Seq: dec.seq, N: 5}
	s.Values[0] = float64(p.Pleth)
	s.Values[1] = float64(p.PR)
	s.Values[2] = float64(p.SpO2)
	s.Values[3] = float64(p.Strength)
	s.Values[4] = float64(p.Status)
	return s
}

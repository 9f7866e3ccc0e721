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
	r      io.Reader
	name   string
	port   string
	old    bool
	L      int
	buf    [2048]byte
	lo, hi int // unread bytes are buf[lo:hi]
	err    error
	synced bool
	// scanning: bytes were dropped since the last packet delivered, so
	// oldLock packets must agree before the stream is trusted again
	scanning bool
	seq      uint32
	started  bool
	dropped  uint64
	zeros    int

	// restarting the stream (new protocol)
	w         io.Writer
	dl        interface{ SetReadDeadline(time.Time) error }
	restart   time.Duration
	restarts  int
	restreams uint64 // start commands sent again: each begins a new stream
}

var (
	_ sensors.Decoder   = (*decoder)(nil)
	_ sensors.Restarter = (*decoder)(nil)
)

// Restarts counts the streams restarted after the oximeter stopped: each
// counts its samples afresh, so the bridge re-anchors its clock.
func (dec *decoder) Restarts() uint64 { return dec.restreams }

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
	dec.restreams++
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
			need := 2
			if dec.scanning {
				need = oldLock
			}
			if avail < need*L && dec.fill() {
				continue
			}
			n := dec.oldRun(need)
			ended := avail < need*L // fill gave up: nothing more will come
			if n >= need ||
				ended && dec.synced && n == 1 && avail < 2*L || // the end: nothing follows to confirm it
				ended && n >= 2 && n == avail/L { // the end: every packet left checks
				dec.synced, dec.scanning = true, false
				return dec.emit(parseOld(b)), nil
			}
		}
		dec.synced, dec.scanning = false, true
		dec.lo++
		dec.dropped++
	}
}

// oldLock is how many old-protocol packets in a row must check before the
// decoder trusts the stream again once it has dropped bytes looking for a
// packet (issue #12: noise on the line must not become data). The only
// framing is bit 7, set in the first byte and clear in the other four, so
// a random offset passes for a packet one time in 32 and K packets in a
// row with p = 2^-5K; there is no counter or checksum to add to it. Two
// (the rule before) let 1 offset in 1024 through: 20 samples from 10 s of
// noise at 19200 baud. K = 4 gives 9.5e-7 per offset: 0.018 false locks
// in 10 s of noise at the line's full speed (one per ~9 min of pure
// noise, which the bridge reports meanwhile), and a false lock yields
// about one sample (the next packet passes one time in 32). K = 5 or more
// would be safer against noise but loses real packets on a damaged line:
// a lock needs K clean packets between two damages, and the simulator's
// fault test (damage every 4 packets on average) then loses over 40% of
// them. The packets are not dropped while locking but delivered once
// locked (50 ms at 60 packets/s). At the end of the stream the packets
// left, at least two and all checking, are trusted: nothing more can be
// asked of them.
//
// Where only one offset is tried (the first byte of the stream, the byte
// after a trusted packet) the next packet confirming it is enough, as
// before: that chance is taken once, not at every byte of noise.
const oldLock = 4

// oldRun counts the packets in a row, up to max, that pass the old
// protocol's framing from the read position.
func (dec *decoder) oldRun(max int) int {
	n := 0
	for i := dec.lo; n < max && i+dec.L <= dec.hi && syncOld(dec.buf[i:i+dec.L]); i += dec.L {
		n++
	}
	return n
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

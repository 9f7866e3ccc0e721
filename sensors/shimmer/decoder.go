package shimmer

import (
	"io"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/internal/readbuf"
)

// decoder turns a Shimmer byte stream into samples without allocating.
//
// A data packet has no length or sync field beyond its 0x00 header, so a
// packet is trusted when its header, the unused bits of its ADC fields
// (and its CRC, if on) check and its timestamp follows the previous
// packet's by a whole number of sample periods (allowing clock jitter and
// up to maxSkip lost samples). After a resync, or a step that is not in
// sequence, the packet after it must check too and follow it in sequence.
// Without the CRC a corrupted value bit cannot be seen.
type decoder struct {
	r       io.Reader
	name    string
	lay     layout
	crc     int
	L       int    // packet length with CRC
	div     uint32 // ticks per sample
	tol     uint32 // jitter allowed around a multiple of div
	rng     GSRRange
	buf     [4096]byte
	lo, hi  int // unread bytes are buf[lo:hi]
	err     error
	synced  bool
	started bool
	last    uint32 // raw timestamp of the last packet delivered
	seq     uint32
	dropped uint64
	zeros   int
}

var _ sensors.Decoder = (*decoder)(nil)

// maxSkip is how many lost samples a timestamp step may span and still
// count as "in sequence".
const maxSkip = 16

func (d *Device) newDecoder(r io.Reader) *decoder {
	d.mu.Lock()
	lay, left := d.lay, d.leftover
	d.leftover = nil
	d.mu.Unlock()
	dec := &decoder{r: r, name: d.cfg.Name, lay: lay, crc: d.cfg.CRC, rng: d.cfg.GSRRange,
		div: uint32(d.div), tol: max(2, uint32(d.div)/16)}
	dec.L = lay.size + dec.crc
	dec.hi = copy(dec.buf[:], left)
	return dec
}

// Dropped counts bytes discarded while resynchronising.
func (dec *decoder) Dropped() uint64 { return dec.dropped }

// fill reads more bytes, keeping buf[lo:hi]. It reports false when no more
// will come (dec.err is then set).
func (dec *decoder) fill() bool {
	return readbuf.Fill(dec.r, dec.buf[:], &dec.lo, &dec.hi, &dec.err, &dec.zeros)
}

// valid checks one packet's header, the unused bits of its 12-bit ADC
// fields (A13: 15..12; GSR: 13..12, the range being in 15..14) and its CRC.
func (dec *decoder) valid(b []byte) bool {
	if b[0] != dataPacket {
		return false
	}
	if g := dec.lay.gsr; g >= 0 && b[g+1]&0x30 != 0 {
		return false
	}
	if p := dec.lay.ppg; p >= 0 && b[p+1]&0xF0 != 0 {
		return false
	}
	return crcOK(b, dec.crc)
}

// inStep reports whether a timestamp step is a whole number of sample
// periods (1..maxSkip), give or take the jitter.
func (dec *decoder) inStep(step uint32) bool {
	step &= 0xFFFFFF
	k := (step + dec.div/2) / dec.div
	if k < 1 || k > maxSkip {
		return false
	}
	off := int64(step) - int64(k*dec.div)
	return off >= -int64(dec.tol) && off <= int64(dec.tol)
}

// Next returns the next sample, skipping bytes that do not form a packet
// in sequence (counted in Dropped). It returns io.EOF at the end of the
// stream, or the reader's error.
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
		if dec.valid(b) {
			ts := ts24(b)
			if dec.synced && dec.inStep(ts-dec.last) {
				return dec.emit(b), nil
			}
			if avail < 2*L && dec.fill() {
				continue
			}
			if avail >= 2*L {
				nb := dec.buf[dec.lo+L : dec.lo+2*L]
				if dec.valid(nb) && dec.inStep(ts24(nb)-ts) {
					dec.synced = true
					return dec.emit(b), nil
				}
			}
		}
		dec.synced = false
		dec.lo++
		dec.dropped++
	}
}

func (dec *decoder) emit(b []byte) sensors.Sample {
	dec.lo += len(b)
	p := parsePacket(b, &dec.lay)
	if !dec.started {
		dec.started = true
		dec.seq = p.Timestamp
	} else {
		dec.seq += (p.Timestamp - dec.last) & 0xFFFFFF
	}
	dec.last = p.Timestamp
	s := sensors.Sample{Device: dec.name, Seq: dec.seq, N: 2}
	s.Values[0] = float64(GSRuS(p.GSR, dec.rng))
	s.Values[1] = float64(PPGmV(p.PPG))
	return s
}

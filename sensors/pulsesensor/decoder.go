package pulsesensor

import (
	"bytes"
	"io"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/internal/readbuf"
)

// decoder turns a sketch's text output into samples without allocating.
// A line that does not parse (garbage, a line cut short and run into the
// next, a banner) is dropped whole, its bytes counted in Dropped.
type decoder struct {
	r        io.Reader
	name     string
	p        parser
	buf      [2048]byte
	lo, hi   int // unread bytes are buf[lo:hi]
	err      error
	skipping bool // inside an over-long line: drop up to its end
	bpm, ibi float64
	seq      uint32
	started  bool
	dropped  uint64
	zeros    int
}

var _ sensors.Decoder = (*decoder)(nil)

func (d *Device) newDecoder(r io.Reader) *decoder {
	d.mu.Lock()
	left := d.leftover
	d.leftover = nil
	d.mu.Unlock()
	dec := &decoder{r: r, name: d.cfg.Name, p: parser{mode: d.cfg.Mode, sensor: d.cfg.Sensor}}
	dec.hi = copy(dec.buf[:], left)
	return dec
}

// Dropped counts bytes discarded: lines that did not parse.
func (dec *decoder) Dropped() uint64 { return dec.dropped }

// fill reads more bytes, keeping buf[lo:hi]. It reports false when no more
// will come (dec.err is then set).
func (dec *decoder) fill() bool {
	return readbuf.Fill(dec.r, dec.buf[:], &dec.lo, &dec.hi, &dec.err, &dec.zeros)
}

// Next returns the sample of the next sample line, taking in the BPM and
// IBI lines before it. It returns io.EOF at the end of the stream (a last
// line without its line ending is dropped), or the reader's error.
func (dec *decoder) Next() (sensors.Sample, error) {
	for {
		i := bytes.IndexByte(dec.buf[dec.lo:dec.hi], '\n')
		if i < 0 {
			if n := dec.hi - dec.lo; n > maxLine+1 || dec.skipping && n > 0 {
				dec.dropped += uint64(n) // too long for a line: drop it to its end
				dec.lo, dec.skipping = dec.hi, true
			}
			if dec.fill() {
				continue
			}
			dec.dropped += uint64(dec.hi - dec.lo)
			dec.lo = dec.hi
			return sensors.Sample{}, dec.err
		}
		b := dec.buf[dec.lo : dec.lo+i]
		dec.lo += i + 1
		if dec.skipping {
			dec.dropped += uint64(i + 1)
			dec.skipping = false
			continue
		}
		if len(b) > 0 && b[len(b)-1] == '\r' {
			b = b[:len(b)-1]
		}
		l := dec.p.parse(b)
		switch l.kind {
		case bad:
			dec.dropped += uint64(i + 1)
		case bpm:
			dec.bpm = float64(l.bpm)
		case ibi:
			dec.ibi = float64(l.ibi)
		case sample:
			if l.hasBeat {
				dec.bpm, dec.ibi = float64(l.bpm), float64(l.ibi)
			}
			if dec.started {
				dec.seq++
			}
			dec.started = true
			s := sensors.Sample{Device: dec.name, Seq: dec.seq, N: 3}
			s.Values[0], s.Values[1], s.Values[2] = float64(l.sample), dec.bpm, dec.ibi
			return s, nil
		}
	}
}

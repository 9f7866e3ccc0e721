package lineproto

import (
	"bytes"
	"io"
	"math"

	"github.com/cueroom/cueroom/sensors"
)

// Decoder reads samples from lines. It does not allocate per sample.
// Besides the sensors.Decoder methods it counts dropped lines and invalid
// Grove readings.
type Decoder struct {
	r   io.Reader
	dev *Device
	lay *layout // nil while the format is being detected
	det *detector

	buf      [MaxMaxLine + 512]byte
	lo, hi   int // unread bytes are buf[lo:hi]
	maxLine  int
	skipping bool // discarding the rest of an overlong line
	err      error
	zeros    int

	lines   uint32 // non-blank lines seen: Seq when the device sends no counter
	dropped uint64
	lost    uint64
	invalid uint64
}

var (
	_ sensors.Decoder     = (*Decoder)(nil)
	_ sensors.LossCounter = (*Decoder)(nil)
)

func (d *Device) newDecoder(r io.Reader) *Decoder {
	dec := &Decoder{r: r, dev: d, lay: d.layout(), maxLine: d.cfg.MaxLine}
	if dec.lay == nil {
		dec.det = newDetector(d)
	}
	return dec
}

// Dropped counts bytes discarded: lines that did not fit the format
// (garbage, a truncated line, a debug message) and overlong lines.
func (dec *Decoder) Dropped() uint64 { return dec.dropped }

// SamplesLost counts dropped lines: the samples the device sent that did
// not decode.
func (dec *Decoder) SamplesLost() uint64 { return dec.lost }

// Invalid counts Grove readings of 512 or more (open or saturated
// electrodes): they are delivered with a NaN conductance and the raw
// reading, not dropped.
func (dec *Decoder) Invalid() uint64 { return dec.invalid }

// fill reads more bytes after compacting; false when no more will come.
func (dec *Decoder) fill() bool {
	if dec.err != nil {
		return false
	}
	if dec.lo > 0 {
		dec.hi = copy(dec.buf[:], dec.buf[dec.lo:dec.hi])
		dec.lo = 0
	}
	n, err := dec.r.Read(dec.buf[dec.hi:])
	dec.hi += n
	switch {
	case err != nil:
		dec.err = err
	case n == 0:
		if dec.zeros++; dec.zeros >= 100 { // a reader stuck at (0, nil)
			dec.err = io.ErrNoProgress
		}
	default:
		dec.zeros = 0
	}
	return n > 0 || dec.err == nil
}

// Next returns the next sample. Lines that do not fit are skipped and
// counted (Dropped, SamplesLost); a line longer than the limit is dropped
// up to its end, so the decoder resynchronises at the next newline. At the
// end of the stream a last line without a newline is still read; Next then
// returns io.EOF, or the reader's error.
func (dec *Decoder) Next() (sensors.Sample, error) {
	for {
		if dec.det != nil && dec.det.err != nil && dec.lay == nil {
			return sensors.Sample{}, dec.det.err // the lines cannot fit the configuration
		}
		i := bytes.IndexByte(dec.buf[dec.lo:dec.hi], '\n')
		if i < 0 {
			if dec.hi-dec.lo > dec.maxLine {
				// overlong: drop what we have and the rest up to the newline
				dec.dropped += uint64(dec.hi - dec.lo)
				dec.lo = dec.hi
				if !dec.skipping {
					dec.skipping = true
					dec.lines++
					dec.lost++
				}
			}
			if dec.fill() {
				continue
			}
			// the stream ended
			tail := dec.buf[dec.lo:dec.hi]
			dec.lo = dec.hi
			if len(tail) > 0 && !dec.skipping && dec.err == io.EOF {
				if s, ok := dec.line(tail, uint64(len(tail))); ok {
					return s, nil
				}
			} else {
				dec.dropped += uint64(len(tail))
			}
			return sensors.Sample{}, dec.err
		}
		raw := dec.buf[dec.lo : dec.lo+i]
		dec.lo += i + 1
		if dec.skipping {
			dec.skipping = false
			dec.dropped += uint64(len(raw) + 1)
			continue
		}
		if len(raw) > dec.maxLine {
			dec.lines++
			dec.lost++
			dec.dropped += uint64(len(raw) + 1)
			continue
		}
		if s, ok := dec.line(raw, uint64(len(raw)+1)); ok {
			return s, nil
		}
	}
}

// line handles one line of n bytes (its newline included): a sample, or
// false for a blank, dropped, header or detection line.
func (dec *Decoder) line(raw []byte, n uint64) (sensors.Sample, bool) {
	line := trimSpace(raw)
	if len(line) == 0 {
		return sensors.Sample{}, false
	}
	if dec.lay == nil {
		lay := dec.det.feed(line)
		if lay == nil {
			return sensors.Sample{}, false // still detecting: not a sample
		}
		dec.lay = lay
		dec.dev.setLayout(lay)
		// the line that decided is a sample; those before it are not
	}
	seq := dec.lines
	dec.lines++
	s := sensors.Sample{Device: dec.dev.cfg.Name}
	devSeq, hasSeq, ok := dec.lay.parse(line, &s)
	if !ok {
		if nl, isHeader := dec.lay.remap(line); isHeader {
			dec.lay = nl
			dec.lines-- // a header is not a sample
			return sensors.Sample{}, false
		}
		dec.dropped += n
		dec.lost++
		return sensors.Sample{}, false
	}
	if hasSeq {
		seq = devSeq
	}
	s.Seq = seq
	if dec.lay.mode == Grove && math.IsNaN(s.Values[0]) {
		dec.invalid++
	}
	return s, true
}

package bitalino

import (
	"io"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/internal/readbuf"
)

// column says how to convert one frame position.
type column struct {
	sensor Sensor
	bits   uint
}

// decoder turns a BITalino byte stream into samples without allocating.
type decoder struct {
	r       io.Reader
	name    string
	n, L    int
	rev     EDARevision
	cols    [MaxAnalog]column
	buf     [4096]byte
	lo, hi  int // unread bytes are buf[lo:hi]
	err     error
	synced  bool
	started bool
	seq     uint32
	dropped uint64
	zeros   int
}

var _ sensors.Decoder = (*decoder)(nil)

func (d *Device) newDecoder(r io.Reader) *decoder {
	dec := &decoder{r: r, name: d.cfg.Name, n: len(d.inputs), L: FrameLen(len(d.inputs)), rev: d.cfg.EDARevision}
	for k, in := range d.inputs {
		dec.cols[k] = column{sensor: in.Sensor, bits: fieldBits(k)}
	}
	return dec
}

// Dropped counts bytes discarded while resynchronising.
func (dec *decoder) Dropped() uint64 { return dec.dropped }

// fill reads more bytes, keeping buf[lo:hi]. It reports false when no more
// will come (dec.err is then set).
func (dec *decoder) fill() bool {
	return readbuf.Fill(dec.r, dec.buf[:], &dec.lo, &dec.hi, &dec.err, &dec.zeros)
}

// Next returns the next sample. Frames failing their CRC are skipped one
// byte at a time (counted in Dropped). A 4-bit CRC passes one random offset
// in 16, so a frame is accepted at once only when it also carries the
// expected sequence number; otherwise (at the start, after a resync or a
// gap) the frame after it must check too and follow it in sequence, so a
// lone frame at the very end of a stream after a resync is dropped.
// Next returns io.EOF at the end of the stream, or the reader's error.
func (dec *decoder) Next() (sensors.Sample, error) {
	L := dec.L
	for {
		avail := dec.hi - dec.lo
		if avail < L {
			if dec.fill() {
				continue
			}
			// the stream ended: the tail is an incomplete frame
			dec.dropped += uint64(avail)
			dec.lo = dec.hi
			return sensors.Sample{}, dec.err
		}
		b := dec.buf[dec.lo : dec.lo+L]
		if crcOK(b) {
			seq := b[L-1] >> 4
			if dec.synced && seq == uint8(dec.seq+1)&0x0F {
				return dec.emit(b), nil
			}
			if avail < 2*L && dec.fill() {
				continue
			}
			if avail >= 2*L {
				nb := dec.buf[dec.lo+L : dec.lo+2*L]
				if crcOK(nb) && nb[L-1]>>4 == (seq+1)&0x0F {
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
	f := parseFrame(b, dec.n)
	raw := uint32(f.Seq)
	if !dec.started {
		dec.started = true
		dec.seq = raw
	} else {
		step := (raw - dec.seq) & 0x0F
		if step == 0 {
			step = 16
		}
		dec.seq += step
	}
	s := sensors.Sample{Device: dec.name, Seq: dec.seq, N: dec.n}
	for k := 0; k < dec.n; k++ {
		c := dec.cols[k]
		switch c.sensor {
		case EDA:
			s.Values[k] = float64(EDAuS(dec.rev, f.ADC[k], c.bits))
		case ECG:
			s.Values[k] = float64(ECGmV(f.ADC[k], c.bits))
		default:
			s.Values[k] = float64(f.ADC[k])
		}
	}
	return s
}

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
	r      io.Reader
	name   string
	n, L   int
	rev    EDARevision
	cols   [MaxAnalog]column
	buf    [4096]byte
	lo, hi int // unread bytes are buf[lo:hi]
	err    error
	synced bool
	// scanning: bytes were dropped since the last frame delivered, so
	// lockFrames frames must agree before the stream is trusted again
	scanning bool
	started  bool
	seq      uint32
	dropped  uint64
	zeros    int
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

// lockFrames is how many frames in a row must check, each carrying the
// sequence number after the one before, before the decoder trusts the
// stream again after a resync, once it has dropped bytes looking for a
// frame (issue #12: noise on the line must not become data). A 4-bit CRC
// passes one random frame in 16 and the 4-bit counter follows by chance
// one time in 16, so at a random offset K frames pass with
// p = 1/16 · (1/256)^(K-1). Scanning noise tries every byte offset: two
// frames (the rule before) let 1/4096 of them through, 46–60 samples from
// 10 s of noise at 115200 baud. K = 4 gives 3.7e-9 per offset, 4e-4 false
// locks in 10 s of noise at the line's full speed (one per ~6 h of pure
// noise), and a false lock yields about one sample before the next frame
// fails. A larger K buys little and delays the first sample after a
// resync at the slow rates (4 frames: 4 ms at 1000 Hz, 4 s at 1 Hz, still
// within the bridge's five-period watchdog). The frames are not dropped:
// they stay in the buffer and are delivered one by one once locked.
//
// Where only one offset is tried — the first byte of the stream, or the
// byte right after a trusted frame (a gap of whole frames, a counter
// that jumped) — the chance is taken once, not at every byte, so the
// frame after it confirming it (p = 1/4096) is enough, as before.
const lockFrames = 4

// Next returns the next sample. Frames failing their CRC are skipped one
// byte at a time (counted in Dropped). A frame is accepted at once only
// when the stream is locked and it carries the expected sequence number.
// Otherwise the frames after it must check and follow it in sequence: one
// at a frame boundary (the start, after a trusted frame), lockFrames-1
// once bytes were dropped. Frames short of that at the very end of the
// stream are dropped. Next returns io.EOF at the end of the stream, or
// the reader's error.
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
			need := 2
			if dec.scanning {
				need = lockFrames
			}
			if avail < need*L && dec.fill() {
				continue
			}
			if avail >= need*L && dec.locks(dec.buf[dec.lo:dec.lo+need*L]) {
				dec.synced, dec.scanning = true, false
				return dec.emit(b), nil
			}
		}
		dec.synced, dec.scanning = false, true
		dec.lo++
		dec.dropped++
	}
}

// locks reports whether b holds lockFrames frames that all check, each
// numbered one after the one before.
func (dec *decoder) locks(b []byte) bool {
	L := dec.L
	for i := 0; i+L <= len(b); i += L {
		f := b[i : i+L]
		if !crcOK(f) || i > 0 && f[L-1]>>4 != (b[i-1]>>4+1)&0x0F {
			return false
		}
	}
	return true
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

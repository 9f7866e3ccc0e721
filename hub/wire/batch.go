package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cueroom/cueroom/sensors"
)

// A sample batch is consecutive samples of one device, binary and compact
// (about 4 + 8×channels bytes a sample: a BITalino's 1 kHz × 2 channels is
// ~20 kB/s), lossless (float64 values, times to the nanosecond):
//
//	'B' 1                      magic, version
//	uvarint len, device bytes  the device's name
//	byte channels              values per sample (≤ sensors.MaxChannels)
//	uvarint n                  samples (≤ MaxBatch)
//	int64 sent                 wall clock when the batch was sent (unix ns; latency)
//	n × { varint ΔT (ns), varint ΔSeq, channels × float64 }  deltas from the previous sample (the first from 0)

// MaxBatch bounds the samples of one batch a decoder accepts.
const MaxBatch = 1 << 16

const batchMagic, batchVersion = 'B', 1

// Batch is a decoded sample batch.
type Batch struct {
	Device  string
	Sent    time.Time
	Samples []sensors.Sample
}

// AppendBatch encodes samples of one device (all with the same channel
// count) onto dst.
func AppendBatch(dst []byte, device string, sent time.Time, samples []sensors.Sample) []byte {
	nch := 0
	if len(samples) > 0 {
		nch = samples[0].N
	}
	dst = append(dst, batchMagic, batchVersion)
	dst = binary.AppendUvarint(dst, uint64(len(device)))
	dst = append(dst, device...)
	dst = append(dst, byte(nch))
	dst = binary.AppendUvarint(dst, uint64(len(samples)))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(sent.UnixNano()))
	var lastT time.Duration
	var lastSeq int64
	for i := range samples {
		s := &samples[i]
		dst = binary.AppendVarint(dst, int64(s.T-lastT))
		dst = binary.AppendVarint(dst, int64(s.Seq)-lastSeq)
		lastT, lastSeq = s.T, int64(s.Seq)
		for k := 0; k < nch; k++ {
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(s.Values[k]))
		}
	}
	return dst
}

var errShort = errors.New("wire: sample batch cut short")

// DecodeBatch reads a batch; malformed input is an error, never a panic.
func DecodeBatch(b []byte) (Batch, error) {
	var out Batch
	if len(b) < 2 || b[0] != batchMagic {
		return out, errors.New("wire: not a sample batch")
	}
	if b[1] != batchVersion {
		return out, fmt.Errorf("wire: sample batch version %d; this cueroom reads %d", b[1], batchVersion)
	}
	b = b[2:]
	dl, k := binary.Uvarint(b)
	if k <= 0 || dl > uint64(len(b)-k) || dl > 256 {
		return out, errShort
	}
	out.Device = string(b[k : k+int(dl)])
	b = b[k+int(dl):]
	if len(b) < 1 {
		return out, errShort
	}
	nch := int(b[0])
	if nch > sensors.MaxChannels {
		return out, fmt.Errorf("wire: %d channels; at most %d", nch, sensors.MaxChannels)
	}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return out, errShort
	}
	if n > MaxBatch {
		return out, fmt.Errorf("wire: %d samples in one batch; at most %d", n, MaxBatch)
	}
	b = b[k:]
	if len(b) < 8 {
		return out, errShort
	}
	out.Sent = time.Unix(0, int64(binary.LittleEndian.Uint64(b)))
	b = b[8:]
	// Each sample takes at least 2 + 8×nch bytes: refuse a count the
	// bytes cannot hold before allocating for it.
	if n > uint64(len(b)/(2+8*nch)) {
		return out, errShort
	}
	out.Samples = make([]sensors.Sample, n)
	var t, seq int64
	for i := range out.Samples {
		dt, k := binary.Varint(b)
		if k <= 0 {
			return out, errShort
		}
		b = b[k:]
		ds, k := binary.Varint(b)
		if k <= 0 {
			return out, errShort
		}
		b = b[k:]
		t += dt
		seq += ds
		if len(b) < 8*nch {
			return out, errShort
		}
		s := &out.Samples[i]
		s.Device, s.T, s.Seq, s.N = out.Device, time.Duration(t), uint32(seq), nch
		for c := 0; c < nch; c++ {
			s.Values[c] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*c:]))
		}
		b = b[8*nch:]
	}
	if len(b) != 0 {
		return out, fmt.Errorf("wire: %d bytes after the batch", len(b))
	}
	return out, nil
}

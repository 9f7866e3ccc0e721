package ecg_test

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors/physio/ecg"
)

// FuzzDetector feeds arbitrary samples (with extremes, non-finite values and
// gaps mixed in) at an arbitrary rate: the detector must not panic, beats
// must be finite, increasing and never ahead of the samples, and every
// verdict must be finite and ordered.
func FuzzDetector(f *testing.F) {
	f.Add([]byte{}, uint16(250))
	f.Add([]byte{0, 0, 255, 127, 0, 128, 13, 1, 14, 2, 15, 8}, uint16(0))
	beat := make([]byte, 0, 4000)
	for i := range 2000 { // a spike every 0.8 s at 250 Hz, and its echoes
		v := int16(0)
		switch i % 200 {
		case 0:
			v = 1000
		case 1, 60:
			v = -300
		}
		beat = binary.LittleEndian.AppendUint16(beat, uint16(v))
	}
	f.Add(beat, uint16(200))
	f.Fuzz(func(t *testing.T, data []byte, rate uint16) {
		fs := float64(ecg.MinRate) + float64(rate%4000)
		d, err := ecg.New(fs, ecg.Polarity(rate%3))
		require.NoError(t, err)
		var n int64
		last := math.Inf(-1)
		for i := 0; i+2 <= len(data); i += 2 {
			x := float64(int16(binary.LittleEndian.Uint16(data[i:]))) / 1000
			switch data[i] % 32 {
			case 29:
				x = math.Copysign(1e300, x)
			case 30:
				x = math.NaN()
			case 31:
				if data[i+1]%4 == 0 {
					d.Reset()
				}
			}
			n++
			for _, b := range d.Push(x) {
				require.False(t, math.IsNaN(b) || math.IsInf(b, 0), "beat at %v", b)
				require.Greater(t, b, last, "beats in order")
				require.Less(t, b, float64(n), "beat ahead of the samples")
				require.GreaterOrEqual(t, b, 0.0)
				last = b
			}
			q := d.Quality()
			for _, v := range []float64{q.From, q.To, q.HR, q.Corr, q.Kurtosis} {
				require.False(t, math.IsNaN(v) || math.IsInf(v, 0), "verdict %+v", q)
			}
			require.LessOrEqual(t, q.From, q.To)
			require.LessOrEqual(t, q.To, float64(n))
		}
	})
}

// FuzzRefiner refines arbitrary signals (extremes and non-finite values
// mixed in) with arbitrary first-pass beats and stretches, part of the
// signal forgotten: it must not panic, and the beats must be finite,
// strictly ascending and inside the stretch asked for.
func FuzzRefiner(f *testing.F) {
	f.Add([]byte{}, []byte{}, uint16(250), int16(0), int16(0), uint16(0))
	spikes := make([]byte, 0, 4000)
	var beats []byte
	for i := range 2000 { // a spike every 0.8 s at 250 Hz
		v := int16(0)
		switch i % 200 {
		case 0:
			v = 1000
			beats = binary.LittleEndian.AppendUint16(beats, uint16(i))
		case 1, 60:
			v = -300
		}
		spikes = binary.LittleEndian.AppendUint16(spikes, uint16(v))
	}
	f.Add(spikes, beats, uint16(200), int16(0), int16(2000), uint16(0))
	f.Add(spikes, beats, uint16(200), int16(-50), int16(1500), uint16(300))
	f.Fuzz(func(t *testing.T, data, bs []byte, rate uint16, from, to int16, forget uint16) {
		fs := float64(ecg.MinRate) + float64(rate%4000)
		r := ecg.NewRefiner(fs)
		for i := 0; i+2 <= len(data); i += 2 {
			x := float64(int16(binary.LittleEndian.Uint16(data[i:]))) / 1000
			switch data[i] % 32 {
			case 29:
				x = math.Copysign(1e300, x)
			case 30:
				x = math.NaN()
			}
			r.Push(x)
		}
		r.Forget(int64(forget % 4096))
		var first []float64
		for i := 0; i+2 <= len(bs); i += 2 {
			b := float64(int16(binary.LittleEndian.Uint16(bs[i:])))
			if bs[i]%17 == 16 {
				b = math.NaN()
			}
			first = append(first, b+float64(bs[i+1]%8)/8)
		}
		out := r.Refine(first, int64(from), int64(to))
		for i, b := range out {
			require.False(t, math.IsNaN(b) || math.IsInf(b, 0), "beat %v", b)
			require.GreaterOrEqual(t, b, float64(from))
			require.Less(t, b, float64(to))
			if i > 0 {
				require.Greater(t, b, out[i-1], "beats in order: %v", out)
			}
		}
	})
}

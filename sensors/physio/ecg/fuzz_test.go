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

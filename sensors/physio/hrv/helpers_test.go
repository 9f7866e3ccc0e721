package hrv_test

import (
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cueroom/cueroom/sensors/physio/internal/testsig"

	"github.com/stretchr/testify/require"
)

// readColumn reads one named column of a shared recording.
func readColumn(t testing.TB, file, col string) []float64 {
	t.Helper()
	return testsig.SharedColumns(t, file, col)[0]
}

// readRef reads a committed reference beat file of the physio package
// (sensors/physio/testdata/ref, made by an independent re-implementation of
// NeuroKit2's R-peak detector: see make_refs.py there): 0-based sample
// indices, one per line.
func readRef(t testing.TB, name string) []float64 {
	t.Helper()
	return testsig.RefBeats(t, name)
}

// detectR is the simple R-peak detector of these tests, deliberately
// unlike both the project's Pan–Tompkins detector and NeuroKit2's: remove
// the baseline (a centred 1 s moving average), take every sample that is
// the largest within ±0.3 s and above half the median of the 2 s block
// maxima, and place the peak on the parabola through it and its two
// neighbours. Non-causal; for clean recordings with upright R waves.
// Returns beat times in seconds.
func detectR(x []float64, fs float64) []float64 {
	n := len(x)
	half := int(fs / 2)
	pre := make([]float64, n+1)
	for i, v := range x {
		pre[i+1] = pre[i] + v
	}
	y := make([]float64, n)
	for i := range x {
		a, b := max(0, i-half), min(n, i+half+1)
		y[i] = x[i] - (pre[b]-pre[a])/float64(b-a)
	}
	var blocks []float64
	for a := 0; a < n; a += int(2 * fs) {
		blocks = append(blocks, slices.Max(y[a:min(n, a+int(2*fs))]))
	}
	slices.Sort(blocks)
	thr := blocks[len(blocks)/2] / 2
	w := int(0.3 * fs)
	var out []float64
	for i := 1; i < n-1; i++ {
		if y[i] < thr {
			continue
		}
		a, b := max(0, i-w), min(n, i+w+1)
		if slices.Index(y[a:b], slices.Max(y[a:b]))+a != i {
			continue
		}
		d := 0.0
		if den := y[i-1] - 2*y[i] + y[i+1]; den < 0 {
			d = 0.5 * (y[i-1] - y[i+1]) / den
		}
		out = append(out, (float64(i)+d)/fs)
	}
	return out
}

// refTime is the reference time-domain computation: straight from the
// definitions as NeuroKit2's hrv_time states them (no correction; SDNN
// with n − 1; RMSSD over all successive differences; pNN50 = NN50 over the
// number of intervals, as the Task Force defines it), in two passes with
// 256-bit floats, written independently of the package's one-pass code.
func refTime(beats []float64) (meanNN, sdnn, rmssd, pnn50 float64) {
	const prec = 256
	f := func() *big.Float { return new(big.Float).SetPrec(prec) }
	ms := make([]*big.Float, 0, len(beats))
	for i := 1; i < len(beats); i++ {
		d := f().Sub(f().SetFloat64(beats[i]), f().SetFloat64(beats[i-1]))
		ms = append(ms, d.Mul(d, f().SetInt64(1000)))
	}
	n := f().SetInt64(int64(len(ms)))
	sum := f()
	for _, v := range ms {
		sum.Add(sum, v)
	}
	mean := f().Quo(sum, n)
	ss := f()
	for _, v := range ms {
		d := f().Sub(v, mean)
		ss.Add(ss, d.Mul(d, d))
	}
	ss.Quo(ss, f().SetInt64(int64(len(ms)-1)))
	sq := f()
	nn50 := 0
	for i := 1; i < len(ms); i++ {
		d := f().Sub(ms[i], ms[i-1])
		// Over 50 ms, with the package's nanosecond of slack for
		// intervals given in whole milliseconds.
		if d.Abs(d).Cmp(f().SetFloat64(50+1e-6)) > 0 {
			nn50++
		}
		sq.Add(sq, d.Mul(d, d))
	}
	sq.Quo(sq, f().SetInt64(int64(len(ms)-1)))
	meanNN, _ = mean.Float64()
	v, _ := ss.Sqrt(ss).Float64()
	r, _ := sq.Sqrt(sq).Float64()
	return meanNN, v, r, 100 * float64(nn50) / float64(len(ms))
}

// toSeconds turns sample indices into seconds.
func toSeconds(idx []float64, fs float64) []float64 {
	out := make([]float64, len(idx))
	for i, v := range idx {
		out[i] = v / fs
	}
	return out
}

func relErr(got, want float64) float64 { return math.Abs(got-want) / math.Abs(want) }

// mod is a sinusoidal modulation of the RR interval: amplitude (s) and
// frequency (Hz).
type mod struct{ amp, f float64 }

// synthBeats makes beat times over dur seconds whose intervals are mean
// plus the modulations (at the time of the interval's first beat) plus
// white noise of s.d. noise (s), from a fixed seed.
func synthBeats(seed uint64, dur, mean, noise float64, mods ...mod) []float64 {
	return synthAR(seed, dur, mean, noise, 0, mods...)
}

// synthAR is synthBeats with noise of s.d. noise whose successive values
// correlate by phi (an AR(1) process). Real RR series are smooth from beat
// to beat (RMSSD below SDNN); white noise has RMSSD = √2 SDNN and is full
// of the short-long patterns ectopic beats make, so it is the wrong model
// for testing how often clean beats are called artefacts.
func synthAR(seed uint64, dur, mean, noise, phi float64, mods ...mod) []float64 {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	t, e := 0.0, 0.0
	out := []float64{0}
	for t < dur {
		e = phi*e + math.Sqrt(1-phi*phi)*noise*rng.NormFloat64()
		rr := mean + e
		for _, m := range mods {
			rr += m.amp * math.Sin(2*math.Pi*m.f*t)
		}
		t += rr
		out = append(out, t)
	}
	return out
}

// fromRR turns intervals (ms) into beat times (s) starting at 0.
func fromRR(rr []float64) []float64 {
	out := make([]float64, 1, len(rr)+1)
	for _, v := range rr {
		out = append(out, out[len(out)-1]+v/1000)
	}
	return out
}

// readRR reads one interval (ms) per line.
func readRR(t testing.TB, name string) []float64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	var out []float64
	for _, f := range strings.Fields(string(b)) {
		v, err := strconv.ParseFloat(f, 64)
		require.NoError(t, err)
		out = append(out, v)
	}
	return out
}

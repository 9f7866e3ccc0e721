package hrv

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// directBands is the Lomb–Scargle periodogram written out the textbook way
// (τ from its defining equation, every cos and sin computed), summed over
// the same bins with the same scaling: a check on the rotation recurrence
// and the decoupling algebra of lomb.bands.
func directBands(nn []NN) (lf, hf float64) {
	n := len(nn)
	t0 := nn[0].End
	t := make([]float64, n)
	y := make([]float64, n)
	for i, v := range nn {
		t[i], y[i] = v.End-t0, v.Length
	}
	// Detrend by least squares.
	var mt, my float64
	for i := range n {
		mt += t[i]
		my += y[i]
	}
	mt /= float64(n)
	my /= float64(n)
	var sxx, sxy float64
	for i := range n {
		sxx += (t[i] - mt) * (t[i] - mt)
		sxy += (t[i] - mt) * (y[i] - my)
	}
	for i := range n {
		y[i] = 1000 * (y[i] - my - sxy/sxx*(t[i]-mt))
	}
	T := t[n-1] * float64(n) / float64(n-1)
	for k := range nBins {
		f := LFLow + (float64(k)+0.5)*df
		w := 2 * math.Pi * f
		var s2, c2 float64
		for i := range n {
			s2 += math.Sin(2 * w * t[i])
			c2 += math.Cos(2 * w * t[i])
		}
		tau := math.Atan2(s2, c2) / (2 * w)
		var yc, ys, cc, ss float64
		for i := range n {
			c, s := math.Cos(w*(t[i]-tau)), math.Sin(w*(t[i]-tau))
			yc += y[i] * c
			ys += y[i] * s
			cc += c * c
			ss += s * s
		}
		p := 0.5 * (yc*yc/cc + ys*ys/ss) * 2 * T / float64(n) * df
		if k < nLF {
			lf += p
		} else {
			hf += p
		}
	}
	return lf, hf
}

func TestLombMatchesDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var nn []NN
	tm := 100.0 // away from zero, as in a session
	for tm < 400 {
		l := 0.8 + 0.05*math.Sin(2*math.Pi*0.1*tm) + 0.03*math.Sin(2*math.Pi*0.3*tm) + 0.02*rng.NormFloat64()
		nn = append(nn, NN{Start: tm, End: tm + l, Length: l})
		tm += l
		if tm > 200 && tm < 201 {
			tm += 20 // a gap
		}
	}
	var l lomb
	lf, hf := l.bands(nn)
	dlf, dhf := directBands(nn)
	t.Logf("recurrence LF %.6f HF %.6f; direct LF %.6f HF %.6f", lf, hf, dlf, dhf)
	assert.InDelta(t, dlf, lf, 1e-9*dlf)
	assert.InDelta(t, dhf, hf, 1e-9*dhf)
}

// TestRollingMatchesSort checks the sliding sorted window against sorting
// each window afresh.
func TestRollingMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 2, 7, 11, 50, 300} {
		x := make([]float64, n)
		for i := range x {
			x[i] = math.Round(rng.NormFloat64()*10) / 10 // ties on purpose
		}
		for _, h := range []int{ltMedHalf, ltQDHalf} {
			var got, want []float64
			rolling(x, h, nil, func(i int, w []float64) {
				got = append(got, quantile(w, 0.5), qd(w))
			})
			for i := range n {
				w := slices.Clone(x[max(0, i-h):min(n, i+h+1)])
				slices.Sort(w)
				want = append(want, quantile(w, 0.5), qd(w))
			}
			require.Equal(t, want, got, "n=%d h=%d", n, h)
		}
	}
}

func TestQuantile(t *testing.T) {
	v := []float64{1, 2, 3, 4}
	assert.Equal(t, 2.5, quantile(v, 0.5))
	assert.Equal(t, 1.75, quantile(v, 0.25))
	assert.Equal(t, 3.25, quantile(v, 0.75))
	assert.Equal(t, 0.75, qd(v))
	assert.Equal(t, 0.0, quantile(nil, 0.5))
	assert.Equal(t, 7.0, quantile([]float64{7}, 0.75))
}

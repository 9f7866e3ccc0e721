package dsp

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gainAt is the amplitude of f's steady-state response to a unit sine at
// hz: √2 × RMS over the last whole cycles, after 5 s to settle.
func gainAt(f Filter, hz, fs float64) float64 {
	settle := int(5 * fs)
	cycles := int(math.Round(20 * fs / hz))
	var ss float64
	for i := range settle + cycles {
		y := f.Step(math.Sin(2 * math.Pi * hz * float64(i) / fs))
		if i >= settle {
			ss += y * y
		}
	}
	return math.Sqrt(2 * ss / float64(cycles))
}

func TestButterworthGains(t *testing.T) {
	const fs = 1000.0
	cases := []struct {
		name string
		f    func() Filter
		hz   float64
		want float64
	}{
		{"low-pass passes low", func() Filter { return LowPass(10, fs, 2) }, 1, 1},
		{"low-pass -3 dB at cut-off", func() Filter { return LowPass(10, fs, 2) }, 10, 1 / math.Sqrt2},
		{"low-pass order 2 at 10x", func() Filter { return LowPass(10, fs, 2) }, 100, 0.01},
		{"low-pass order 4 at 10x", func() Filter { return LowPass(10, fs, 4) }, 100, 0.0001},
		{"high-pass -3 dB at cut-off", func() Filter { return HighPass(5, fs, 2) }, 5, 1 / math.Sqrt2},
		{"high-pass passes high", func() Filter { return HighPass(5, fs, 2) }, 100, 1},
		{"band-pass centre", func() Filter { return BandPass(5, 15, fs, 2) }, math.Sqrt(75), 0.9},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := gainAt(c.f(), c.hz, fs)
			assert.InDelta(t, c.want, g, 0.02*max(c.want, 0.05)+0.002, "gain at %g Hz", c.hz)
		})
	}
}

func TestSettleStartsWithoutTransient(t *testing.T) {
	lp := LowPass(1, 100, 2)
	assert.InDelta(t, 12.5, lp.Settle(12.5), 1e-9)
	for range 100 {
		assert.InDelta(t, 12.5, lp.Step(12.5), 1e-9)
	}
	hp := HighPass(0.5, 100, 2)
	assert.InDelta(t, 0, hp.Settle(7), 1e-9)
	assert.InDelta(t, 0, hp.Step(7), 1e-9)
}

// The low-frequency group delay of a causal low-pass is ButterDelay: a slow
// ramp comes out late by that much.
func TestButterDelayMatchesRamp(t *testing.T) {
	const fs = 1000.0
	for _, order := range []int{2, 4} {
		f := LowPass(5, fs, order)
		f.Settle(0)
		var y float64
		for i := range 5000 {
			y = f.Step(float64(i) / fs)
		}
		lag := 4999/fs - y
		assert.InDelta(t, ButterDelay(5, order), lag, 1e-4, "order %d", order)
	}
}

func TestFiltFiltHasNoPhaseShift(t *testing.T) {
	const fs = 200.0
	x := make([]float64, 2000)
	for i := range x {
		x[i] = math.Sin(2 * math.Pi * 1 * float64(i) / fs)
	}
	y := append([]float64(nil), x...)
	FiltFilt(LowPass(5, fs, 2), y, 300)
	// A 1 Hz sine through a 5 Hz zero-phase low-pass keeps its peaks.
	for i := 400; i < 1600; i++ {
		require.InDelta(t, x[i], y[i], 0.01, "sample %d", i)
	}
	FiltFilt(LowPass(5, fs, 2), []float64{1}, 10) // tiny input: no panic
	FiltFilt(LowPass(5, fs, 2), nil, 10)
}

func TestMovingSumForgetsSpikes(t *testing.T) {
	m := NewMovingSum(4)
	for _, v := range []float64{1, 2, 3, 4} {
		m.Push(v)
	}
	assert.Equal(t, 10.0, m.Push(0)+1) // 2+3+4+0 = 9
	m.Push(1e300)
	for range 8 {
		m.Push(0.5)
	}
	assert.Equal(t, 2.0, m.Push(0.5), "exact after the spike has left the window")
	assert.Equal(t, 0.5, m.Mean())
	m.Reset()
	assert.Equal(t, 0.0, m.Mean())
}

func TestRing(t *testing.T) {
	r := NewRing(5)
	for i := range 8 {
		r.Push(float64(i % 4)) // 0 1 2 3 0 1 2 3
	}
	assert.Equal(t, int64(3), r.Oldest())
	i, ok := r.ArgMax(0, 100, 1)
	require.True(t, ok)
	assert.Equal(t, int64(3), i, "first of the equal largest values held")
	i, ok = r.ArgMax(3, 7, -1)
	require.True(t, ok)
	assert.Equal(t, int64(4), i)
	_, ok = r.ArgMax(9, 12, 1)
	assert.False(t, ok)

	p := NewRing(3)
	for _, v := range []float64{0, 1, 0} {
		p.Push(v)
	}
	assert.InDelta(t, 1.0, p.Refine(1), 1e-12, "symmetric peak")
	q := NewRing(3)
	for _, v := range []float64{0, 1, 1} {
		q.Push(v)
	}
	assert.InDelta(t, 1.5, q.Refine(1), 1e-12, "peak between two equal samples")
	assert.Equal(t, 2.0, q.Refine(2), "edge: unrefined")
}

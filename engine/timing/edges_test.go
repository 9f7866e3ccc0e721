package timing

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const ms = time.Millisecond

func TestDetector(t *testing.T) {
	lv := Levels{Dark: 0, Light: 100, Threshold: 50, Hysteresis: 10}
	nan := math.NaN()
	tests := []struct {
		name   string
		values []float64 // one a millisecond from 0
		times  []time.Duration
		edges  []Edge
	}{
		{"a clean flash", []float64{0, 0, 100, 100, 0, 0}, nil,
			[]Edge{{1500 * time.Microsecond, true, false}, {3500 * time.Microsecond, false, false}}},
		{"a ramp: timed where it crosses", []float64{0, 25, 75, 100, 100, 60, 20}, nil,
			[]Edge{{1500 * time.Microsecond, true, false}, {5*ms + 250*time.Microsecond, false, false}}},
		{"noise about the threshold on the way up: timed at the last crossing", []float64{0, 0, 49, 51, 49, 51, 70, 100}, nil,
			[]Edge{{4500 * time.Microsecond, true, false}}},
		{"a dip short of the hysteresis is no edge", []float64{0, 100, 100, 45, 100, 100}, nil,
			[]Edge{{500 * time.Microsecond, true, false}}},
		{"lit from the start: no edge", []float64{100, 100, 100}, nil, nil},
		{"not a number is skipped", []float64{0, nan, 0, 100, nan, math.Inf(1), 100}, nil,
			[]Edge{{2500 * time.Microsecond, true, false}}},
		{"an edge across a gap is seen, not timed", []float64{0, 0, 100, 100, 0}, []time.Duration{0, ms, 10 * ms, 11 * ms, 12 * ms},
			[]Edge{{10 * ms, true, true}, {11500 * time.Microsecond, false, false}}},
		{"time going back is a gap", []float64{0, 0, 100}, []time.Duration{5 * ms, 6 * ms, 4 * ms}, []Edge{{4 * ms, true, true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := detector{lv: lv, maxGap: 2500 * time.Microsecond}
			for i, v := range tc.values {
				at := time.Duration(i) * ms
				if tc.times != nil {
					at = tc.times[i]
				}
				d.add(at, v)
			}
			assert.Equal(t, tc.edges, d.edges)
		})
	}
}

func TestHistogram(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name        string
		gen         func(i int) float64
		n           int
		dark, light float64
		tol         float64
		err         string
	}{
		{"0.2 % light", func(i int) float64 {
			if i%1000 < 2 {
				return 900 + rng.NormFloat64()*3
			}
			return 60 + rng.NormFloat64()*3
		}, 200_000, 60, 900, 5, ""},
		{"90 % light, growing down", func(i int) float64 {
			if i%10 != 0 {
				return 5000 + rng.NormFloat64()*10
			}
			return -3000 + rng.NormFloat64()*10
		}, 20_000, -3000, 5000, 40, ""},
		{"tiny values", func(i int) float64 { return 1e-6 * float64(i%2) }, 100, 0, 1e-6, 1e-8, ""},
		{"one value", func(int) float64 { return 42 }, 100, 0, 0, 0, "reads one value throughout"},
		{"noise", func(int) float64 { return rng.NormFloat64() }, 10_000, 0, 0, 0, "does not switch between two levels"},
		{"uniform", func(int) float64 { return rng.Float64() }, 10_000, 0, 0, 0, "does not switch between two levels"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h histogram
			for i := range tc.n {
				h.add(tc.gen(i))
			}
			var total int64
			for _, c := range h.counts {
				total += c
			}
			require.Equal(t, int64(tc.n), total, "no value is lost when the bins grow")
			lv, err := h.levels()
			if tc.err != "" {
				require.ErrorIs(t, err, ErrNoEdges)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.InDelta(t, tc.dark, lv.Dark, tc.tol)
			assert.InDelta(t, tc.light, lv.Light, tc.tol)
		})
	}
}

// FuzzEdges: any values at any times give levels or an error, and edges in
// time order, alternating, each between the samples either side of it.
func FuzzEdges(f *testing.F) {
	f.Add([]byte{0, 0, 200, 200, 0, 0, 200, 0}, uint8(1))
	f.Add([]byte{1, 2, 3, 250, 251, 3, 2, 255, 0}, uint8(3))
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		var h histogram
		vals := make([]float64, len(data))
		for i, b := range data {
			switch b {
			case 253:
				vals[i] = math.NaN()
			case 254:
				vals[i] = math.Inf(-1)
			case 255:
				vals[i] = 1e308
			default:
				vals[i] = float64(b) - 100
			}
			h.add(vals[i])
		}
		lv, err := h.levels()
		if err != nil {
			return
		}
		if !(lv.Dark <= lv.Threshold && lv.Threshold <= lv.Light) {
			t.Fatalf("levels out of order: %+v", lv)
		}
		d := detector{lv: lv, maxGap: 3 * ms}
		at := time.Duration(0)
		for _, v := range vals {
			d.add(at, v)
			at += time.Duration(step%4) * ms // 0: samples at one time
		}
		for i, e := range d.edges {
			if e.T < 0 || e.T > at {
				t.Fatalf("edge %d at %v, outside the samples (0 to %v)", i, e.T, at)
			}
			if i > 0 && (e.T < d.edges[i-1].T && !e.Untimed || e.Rise == d.edges[i-1].Rise) {
				t.Fatalf("edges out of order or not alternating: %+v", d.edges)
			}
		}
	})
}

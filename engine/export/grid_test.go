package export

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors"
)

// arrivals builds samples whose arrival times are arrive(i) seconds.
func arrivals(n int, arrive func(i int) float64) []sensors.Sample {
	s := make([]sensors.Sample, 0, n)
	for i := 0; i < n; i++ {
		if t := arrive(i); !math.IsNaN(t) {
			s = append(s, sensors.Sample{T: time.Duration(math.Round(t * 1e9)), N: 1})
		}
	}
	return s
}

// TestPlace puts arrival patterns on a 100 Hz grid and checks rows, gaps
// and the timing error against what really happened.
func TestPlace(t *testing.T) {
	const rate = 100.0
	lost := func(from, to int, f func(i int) float64) func(i int) float64 {
		return func(i int) float64 {
			if i >= from && i < to {
				return math.NaN()
			}
			return f(i)
		}
	}
	regular := func(i int) float64 { return 1 + float64(i)/rate + 0.002 }
	for _, tc := range []struct {
		name       string
		n          int
		arrive     func(i int) float64
		start      float64 // expected de-jittered first time
		gaps       int
		missing    int64
		maxErr     float64 // upper bound
		minErr     float64 // lower bound
		cut        int
		lastRow    int64
		consecutiv bool
	}{
		{name: "regular", n: 500, arrive: regular, start: 1.002, lastRow: 499, maxErr: 1e-9, consecutiv: true},
		{name: "bursts of four, 3 ms after the last", n: 500,
			arrive: func(i int) float64 { return 1 + float64(i|3)/rate + 0.003 },
			start:  1.003, lastRow: 499, maxErr: 1e-9, consecutiv: true},
		{name: "a 300 ms stall, then a catch-up burst: nothing lost", n: 500,
			arrive: func(i int) float64 {
				if i >= 100 && i < 130 {
					return 1 + 130.0/rate + 0.002
				}
				return regular(i)
			},
			start: 1.002, lastRow: 499, maxErr: 1e-9, consecutiv: true},
		{name: "half a second lost", n: 500, arrive: lost(100, 150, regular),
			start: 1.002, gaps: 1, missing: 50, lastRow: 499, maxErr: 1e-9},
		{name: "50 ms lost: under the tolerance, rows stay consecutive", n: 500, arrive: lost(100, 105, regular),
			start: 1.002, lastRow: 494, minErr: 0.049, maxErr: 0.051, consecutiv: true},
		// 200.2 s of samples fill 20020 rows: the 20 missing come as two
		// runs, each when the lag passes the 0.1 s tolerance.
		{name: "device 0.1% slow: short n/a runs keep it on time", n: 20000,
			arrive: func(i int) float64 { return 1 + float64(i)/(rate*0.999) + 0.002 },
			start:  1.002, gaps: 2, missing: 20, lastRow: 20019, maxErr: gapTolerance(rate) + 1/rate},
		// Within the first second drift looks like latency: 1 ms of it.
		{name: "device 0.1% fast: drift grows and is reported", n: 20000,
			arrive: func(i int) float64 { return 1 + float64(i)/(rate*1.001) + 0.002 },
			start:  1.001011, lastRow: 19999, minErr: 0.19, maxErr: 0.21, consecutiv: true},
		{name: "a day's gap in damaged time stamps: the rest is cut", n: 40,
			arrive: func(i int) float64 {
				if i >= 20 {
					return 86400 + float64(i)/rate
				}
				return regular(i)
			},
			start: 1.002, lastRow: 19, cut: 20, maxErr: 1e-9, consecutiv: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := arrivals(tc.n, tc.arrive)
			d := dejitter(s, rate)
			require.Len(t, d, len(s))
			for j := range d {
				require.LessOrEqual(t, d[j], seconds(s[j].T)+1e-12, "de-jittering only removes delay")
			}
			start := d[0]
			assert.InDelta(t, tc.start, start, 1e-6)
			p := place(d, start, rate)
			assert.Equal(t, tc.gaps, p.gaps, "gaps")
			assert.Equal(t, tc.missing, p.missing, "missing rows")
			assert.Equal(t, tc.cut, p.cut, "cut samples")
			require.Len(t, p.rows, len(s)-tc.cut)
			assert.Equal(t, tc.lastRow, p.rows[len(p.rows)-1])
			assert.LessOrEqual(t, p.maxErr, tc.maxErr)
			assert.GreaterOrEqual(t, p.maxErr, tc.minErr)
			for j := 1; j < len(p.rows); j++ {
				require.Greater(t, p.rows[j], p.rows[j-1], "rows strictly increase")
				if tc.consecutiv {
					require.Equal(t, p.rows[j-1]+1, p.rows[j], "row %d", j)
				}
			}
		})
	}
}

// TestDejitterWindow: the minimum is taken over about a second ahead, not
// the whole recording, so a later lower latency does not pull early
// samples away from where they were.
func TestDejitterWindow(t *testing.T) {
	const rate = 10.0
	s := arrivals(100, func(i int) float64 {
		if i < 50 {
			return float64(i)/rate + 0.2 // 200 ms latency for 5 s
		}
		return float64(i)/rate + 0.01 // then 10 ms
	})
	d := dejitter(s, rate)
	assert.InDelta(t, 0.2, d[0], 1e-9)
	assert.InDelta(t, 4.0+0.2, d[40], 1e-9)
	assert.InDelta(t, 5.0+0.01, d[50], 1e-9)
	assert.InDelta(t, 4.9+0.01, d[49], 1e-9, "within a second of the change it is seen")
}

// dejitter de-jitters a whole slice through the streaming dejitterer.
func dejitter(s []sensors.Sample, rate float64) []float64 {
	dj := newDejitterer(&sliceSamples{s: s, i: -1}, len(s), rate)
	var out []float64
	for {
		_, t, ok := dj.next()
		if !ok {
			return out
		}
		out = append(out, t)
	}
}

// placedRows is a placement with every row, for the tests.
type placedRows struct {
	placement
	rows []int64
}

// place places a whole slice of de-jittered times through the placer.
func place(d []float64, start, rate float64) placedRows {
	pl := newPlacer(start, rate, len(d))
	var p placedRows
	for _, t := range d {
		r, ok := pl.place(t)
		if !ok {
			break
		}
		p.rows = append(p.rows, r)
	}
	p.placement = pl.p
	return p
}

// dejitterWhole is the de-jittering over a whole recording in memory, as
// the export did before it streamed: the reference for the streaming one.
func dejitterWhole(samples []sensors.Sample, rate float64) []float64 {
	n := len(samples)
	w := max(min(int(math.Ceil(rate)), n), 2)
	e := make([]float64, n)
	for i := range samples {
		e[i] = seconds(samples[i].T) - float64(i)/rate
	}
	d := make([]float64, n)
	q := make([]int, 0, w+1)
	head := 0
	for j := n - 1; j >= 0; j-- {
		for len(q) > head && e[q[len(q)-1]] >= e[j] {
			q = q[:len(q)-1]
		}
		q = append(q, j)
		for q[head] >= j+w {
			head++
		}
		d[j] = e[q[head]] + float64(j)/rate
		if head > w && head*2 > len(q) {
			q = append(q[:0], q[head:]...)
			head = 0
		}
	}
	return d
}

// TestDejitterStreamsAsWhole: the streaming de-jitterer, holding a second
// of samples, gives bit for bit what the whole-recording one gave.
func TestDejitterStreamsAsWhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, rate := range []float64{1, 4, 100, 1000, 0.5} {
		for _, n := range []int{0, 1, 2, 3, 50, 5000} {
			s := arrivals(n, func(i int) float64 {
				jitter := rng.Float64() * 0.05
				if rng.IntN(50) == 0 {
					jitter += rng.Float64() // a stall
				}
				return float64(i)/rate + jitter
			})
			want := dejitterWhole(s, rate)
			got := dejitter(s, rate)
			require.Len(t, got, len(want))
			for j := range want {
				require.Equal(t, math.Float64bits(want[j]), math.Float64bits(got[j]), "rate %v n %d sample %d", rate, n, j)
			}
		}
	}
}

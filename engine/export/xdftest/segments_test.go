package xdftest

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// regular is n time stamps from t0, one period apart.
func regular(t0 float64, n int, rate float64) []float64 {
	ts := make([]float64, n)
	for i := range ts {
		ts[i] = t0 + float64(i)/rate
	}
	return ts
}

func join(parts ...[]float64) []float64 {
	var out []float64
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestSegments follows pyxdf's own cases for _detect_breaks
// (test/test_detect_breaks.py: steps of either sign, a step equal to the
// threshold is no break) and adds the rates cueroom records at.
func TestSegments(t *testing.T) {
	for _, tc := range []struct {
		name  string
		times []float64
		rate  float64
		want  int
	}{
		{"no samples", nil, 1000, 0},
		{"one sample", []float64{3}, 1000, 1},
		{"clean 1 kHz", regular(0.2, 5000, 1000), 1000, 1},
		{"1 kHz: a 0.9 s hole is within the 1 s floor", join(regular(0, 100, 1000), regular(1.0, 100, 1000)), 1000, 1},
		{"1 kHz: a 1.1 s hole breaks", join(regular(0, 100, 1000), regular(1.2, 100, 1000)), 1000, 2},
		{"1 kHz: two holes, three segments", join(regular(0, 10, 1000), regular(5, 10, 1000), regular(60, 10, 1000)), 1000, 3},
		{"a step of exactly 1 s is no break", []float64{0, 1, 2, 3}, 1000, 1},
		{"a step back in time breaks by its size", []float64{0, 0.001, -1.5, -1.499}, 1000, 2},
		{"a small step back does not", []float64{0, 0.002, 0.001, 0.003}, 1000, 1},
		{"10 Hz: 500 periods (50 s) is the threshold", []float64{0, 50, 100.0001}, 10, 2},
		{"1 Hz: a 400 s hole is within 500 periods", []float64{0, 400, 401}, 1, 1},
		{"irregular stream: never split", []float64{0, 100, 5000, -20}, 0, 1},
		{"negative rate: tdiff 0, the 1 s floor", []float64{0, 0.5, 2}, -10, 2},
		{"NaN step: never a break", []float64{0, math.NaN(), 10}, 1000, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Segments(tc.times, tc.rate))
		})
	}
}

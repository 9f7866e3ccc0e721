package ibi_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cueroom/cueroom/sensors/physio/ibi"
)

// feed returns every interval reported, in seconds.
func feed(tr *ibi.Tracker, beats []float64) []ibi.Interval {
	var out []ibi.Interval
	for _, b := range beats {
		out = append(out, tr.Beat(b)...)
	}
	return out
}

// regular returns n beats every p seconds from t0.
func regular(t0, p float64, n int) []float64 {
	b := make([]float64, n)
	for i := range b {
		b[i] = t0 + float64(i)*p
	}
	return b
}

func lengths(iv []ibi.Interval) []float64 {
	var out []float64
	for _, i := range iv {
		out = append(out, i.Length)
	}
	return out
}

func TestArtefactRejection(t *testing.T) {
	cases := []struct {
		name      string
		beats     []float64
		want      []float64 // interval lengths reported
		corrected int
		rejected  int
	}{
		{"regular", regular(0, 1, 6), []float64{1, 1, 1, 1, 1}, 0, 0},
		{"extra beat merged", []float64{0, 1, 2, 3, 3.3, 4, 5}, []float64{1, 1, 1, 1, 1}, 1, 0},
		{"missed beat split", []float64{0, 1, 2, 3, 5, 6}, []float64{1, 1, 1, 1, 1, 1}, 2, 0},
		{"two missed beats split in three", []float64{0, 1, 2, 3, 6, 7}, []float64{1, 1, 1, 1, 1, 1, 1}, 3, 0},
		{"too fast to be a heart", []float64{0, 0.2, 0.4}, nil, 0, 2},
		{"too slow to be a heart", []float64{0, 3, 6}, nil, 0, 2},
		{"premature beat and pause rejected", []float64{0, 1, 2, 3, 3.5, 5.1, 6.1}, []float64{1, 1, 1, 1}, 0, 2},
		{"out-of-order beat ignored", []float64{0, 1, 0.5, 2}, []float64{1, 1}, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := ibi.New(30, 220, 1)
			got := feed(tr, c.beats)
			assert.InDeltaSlice(t, c.want, lengths(got), 1e-9)
			n := 0
			for _, g := range got {
				if g.Corrected {
					n++
				}
			}
			assert.Equal(t, c.corrected, n, "corrected intervals")
			assert.Equal(t, c.rejected, tr.Rejected, "rejected intervals")
		})
	}
}

// A real jump in rate is followed after a few rejections, not rejected for
// ever.
func TestFollowsSuddenChange(t *testing.T) {
	tr := ibi.New(30, 220, 1)
	beats := regular(0, 1, 10)                            // 60 bpm
	beats = append(beats, regular(9.45, 0.45, 12)[1:]...) // 133 bpm from here
	got := feed(tr, beats)
	last := got[len(got)-1]
	assert.InDelta(t, 0.45, last.Length, 1e-9, "the new rate is reported")
	assert.LessOrEqual(t, tr.Rejected, 5)
}

func TestSampleUnits(t *testing.T) {
	tr := ibi.New(30, 220, 1.0/250) // beats in samples at 250 Hz
	got := feed(tr, regular(0, 200, 4))
	assert.Equal(t, []float64{200, 200, 200}, lengths(got), "75 bpm at 250 Hz is 200 samples")
	tr.Reset()
	assert.Empty(t, tr.Beat(10000), "after a reset the first beat starts afresh")
	assert.Len(t, tr.Beat(10200), 1)
}

package export

import (
	"math"

	"github.com/cueroom/cueroom/sensors"
)

// BIDS physio files are sampled on a regular grid (StartTime +
// row/SamplingFrequency) but the recording stamps each sample when it
// arrives, in bursts and with latency. Placing samples on the grid:
//
//  1. De-jitter: a sample's time is the least-delayed projection of the
//     next second of samples onto it, d_j = min over i in [j, j+W) of
//     t_i − (i−j)/rate. Arrival only ever adds delay, so the minimum is the
//     best estimate, and a burst after a stall is put back in its place.
//  2. Samples take consecutive rows, never interpolated or dropped; only
//     when a sample is later than its row by more than gapTolerance were
//     samples lost (a reconnect, a dropout), and the missing rows are
//     written as n/a so everything after stays on time.
//
// A device slower than its nominal rate therefore drifts at most
// gapTolerance before a short n/a run brings it back; one faster than
// nominal drifts without bound, so the largest error is reported.
// Exact per-sample times are in the XDF and CSV exports.

// gapTolerance is how late a sample may be before rows are left empty.
func gapTolerance(rate float64) float64 { return max(0.1, 2/rate) }

// maxFill bounds the n/a rows a gap may add (ten minutes, and two million
// rows), so absurd time stamps in a damaged recording cannot make an
// endless file.
func maxFill(rate float64) int64 { return int64(max(min(600*rate, 2e6), 1)) }

// maxRate is the highest nominal rate put on a BIDS grid; a recording that
// claims more is damaged.
const maxRate = 100_000

// placement is where one device's samples go on a grid.
type placement struct {
	rows    []int64 // row of each placed sample, strictly increasing
	gaps    int     // runs of n/a rows inserted between samples
	missing int64   // n/a rows inserted between samples
	maxErr  float64 // seconds: the largest |row time − de-jittered time|
	cut     int     // samples not placed (after a gap longer than maxFill)
	cutAt   float64 // de-jittered time of the first sample not placed
}

// dejitter returns each sample's de-jittered time in seconds.
func dejitter(samples []sensors.Sample, rate float64) []float64 {
	n := len(samples)
	w := max(min(int(math.Ceil(rate)), n), 2) // about a second of samples
	e := make([]float64, n)                   // t_i − i/rate
	for i := range samples {
		e[i] = seconds(samples[i].T) - float64(i)/rate
	}
	d := make([]float64, n)
	// Sliding minimum over the forward window [j, j+w), walking j down:
	// q holds indices with values increasing from q[head] (the window's
	// minimum, the largest index) to the end (the newest, smallest index).
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
		if head > w && head*2 > len(q) { // reclaim the dead front
			q = append(q[:0], q[head:]...)
			head = 0
		}
	}
	return d
}

// place puts de-jittered times d on the grid start + row/rate.
func place(d []float64, start, rate float64) placement {
	p := placement{rows: make([]int64, 0, len(d))}
	tol := gapTolerance(rate) * rate
	limit := maxFill(rate)
	row := int64(-1)
	for j, dj := range d {
		want := (dj - start) * rate
		next := row + 1
		r := next
		if j == 0 || want-float64(next) > tol {
			if want-float64(next) > float64(limit) {
				p.cut, p.cutAt = len(d)-j, dj
				return p
			}
			r = max(next, int64(math.Round(want)))
			if j > 0 && r > next {
				p.gaps++
				p.missing += r - next
			}
		}
		p.maxErr = max(p.maxErr, math.Abs(start+float64(r)/rate-dj))
		p.rows = append(p.rows, r)
		row = r
	}
	return p
}

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

// placement says how one device's samples went on a grid.
type placement struct {
	placed  int     // samples placed, on strictly increasing rows
	last    int64   // the row of the last one
	gaps    int     // runs of n/a rows inserted between samples
	missing int64   // n/a rows inserted between samples
	maxErr  float64 // seconds: the largest |row time − de-jittered time|
	cut     int     // samples not placed (after a gap longer than maxFill)
	cutAt   float64 // de-jittered time of the first sample not placed
}

// dejitterer yields a device's samples with their de-jittered times in
// seconds, reading about a second ahead: d_j needs samples j…j+w−1. It
// holds w samples, however long the recording.
type dejitterer struct {
	src  samples
	rate float64
	w    int
	ring []sensors.Sample // sample i of the window is at ring[i%w]
	// q holds the window's candidates for the minimum of e_i = t_i − i/rate:
	// indices increasing and values increasing from q[head] (the minimum).
	q    []candidate
	head int
	read int // samples read from src
	j    int // the next sample to yield
	eof  bool
}

type candidate struct {
	i int
	e float64
}

// newDejitterer de-jitters src's n samples nominally at rate.
func newDejitterer(src samples, n int, rate float64) *dejitterer {
	w := max(min(int(math.Ceil(rate)), n), 2) // about a second of samples
	return &dejitterer{src: src, rate: rate, w: w, ring: make([]sensors.Sample, w), q: make([]candidate, 0, w+1)}
}

// next returns the next sample (valid until the following call) and its
// de-jittered time; false at the end (or on a read error: src.Err).
func (d *dejitterer) next() (*sensors.Sample, float64, bool) {
	for !d.eof && d.read < d.j+d.w {
		if !d.src.Next() {
			d.eof = true
			break
		}
		s := d.src.Sample()
		i := d.read
		d.ring[i%d.w] = *s
		e := seconds(s.T) - float64(i)/d.rate
		for len(d.q) > d.head && d.q[len(d.q)-1].e >= e {
			d.q = d.q[:len(d.q)-1]
		}
		d.q = append(d.q, candidate{i, e})
		d.read++
	}
	if d.j >= d.read {
		return nil, 0, false
	}
	for d.q[d.head].i < d.j {
		d.head++
	}
	dj := d.q[d.head].e + float64(d.j)/d.rate
	s := &d.ring[d.j%d.w]
	d.j++
	if d.head > d.w && d.head*2 > len(d.q) { // reclaim the dead front
		d.q = append(d.q[:0], d.q[d.head:]...)
		d.head = 0
	}
	return s, dj, true
}

// placer puts de-jittered times on the grid start + row/rate, one sample
// at a time, in order.
type placer struct {
	start, rate float64
	tol         float64 // rows a sample may be late before rows are left empty
	limit       int64
	n           int // samples in all, to count what a cut leaves out
	j           int // samples seen
	row         int64
	p           placement
}

func newPlacer(start, rate float64, n int) *placer {
	return &placer{start: start, rate: rate, tol: gapTolerance(rate) * rate, limit: maxFill(rate), n: n, row: -1}
}

// place returns the row of the sample with de-jittered time dj; false when
// it (and so every later one) is cut.
func (pl *placer) place(dj float64) (int64, bool) {
	if pl.p.cut > 0 {
		return 0, false
	}
	want := (dj - pl.start) * pl.rate
	next := pl.row + 1
	r := next
	if pl.j == 0 || want-float64(next) > pl.tol {
		if want-float64(next) > float64(pl.limit) {
			pl.p.cut, pl.p.cutAt = max(pl.n-pl.j, 1), dj
			return 0, false
		}
		r = max(next, int64(math.Round(want)))
		if pl.j > 0 && r > next {
			pl.p.gaps++
			pl.p.missing += r - next
		}
	}
	pl.p.maxErr = max(pl.p.maxErr, math.Abs(pl.start+float64(r)/pl.rate-dj))
	pl.p.placed++
	pl.p.last = r
	pl.row = r
	pl.j++
	return r, true
}

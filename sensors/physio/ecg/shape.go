package ecg

import (
	"math"

	"github.com/cueroom/cueroom/sensors/physio/internal/dsp"
)

// Shape check: under white noise the MWI's noise peaks can reach a third of
// its QRS peaks, but the ECG around such a peak correlates poorly with the
// average QRS, while a real beat, even that noisy, correlates well.
const (
	shapeHalf = 0.100 // s each side of R compared
	shapeLag  = 0.020 // s of misalignment tolerated (R placement under noise)
	shapeMin  = 0.66  // correlation that counts as alike (Orphanidou et al.'s ECG threshold)
	shapeKeep = 8     // the average is a running mean over about this many beats
	sqiRate   = 200   // Hz: shapes are compared at about this rate
)

// shape keeps the average QRS (the cleaned ECG ±100 ms around R) of the
// beats accepted, decimated to about sqiRate. Allocated once.
type shape struct {
	dec, half, lags int
	tmpl            []float64 // 2*half+1
	seg             []float64 // 2*(half+lags)+1: the segment being compared
	n               int       // beats averaged
}

func (s *shape) init(fs float64) {
	s.dec = max(1, int(fs/sqiRate))
	s.half = max(2, int(math.Round(shapeHalf*fs/float64(s.dec))))
	s.lags = max(1, int(math.Round(shapeLag*fs/float64(s.dec))))
	s.tmpl = make([]float64, 2*s.half+1)
	s.seg = make([]float64, 2*(s.half+s.lags)+1)
}

// span is how many input samples either side of R a comparison reads.
func (s *shape) span() int64 { return int64((s.half + s.lags) * s.dec) }

func (s *shape) ready() bool { return s.n > 0 }

func (s *shape) reset() { s.n = 0 }

// load copies the decimated segment around ring index c; false if the ring
// does not hold it.
func (s *shape) load(ring *dsp.Ring, c int64) bool {
	lo, hi := c-s.span(), c+s.span()
	if lo < ring.Oldest() || hi >= ring.Len() {
		return false
	}
	for k := range s.seg {
		s.seg[k] = ring.At(lo + int64(k*s.dec))
	}
	return true
}

// match returns the best correlation of the ECG around ring index c with
// the average QRS over the tolerated misalignments, and at that alignment
// the least-squares size of the ECG relative to the average (1: as large).
func (s *shape) match(ring *dsp.Ring, c int64) (corr, amp float64, ok bool) {
	if !s.load(ring, c) {
		return 0, 0, false
	}
	best, bl := math.Inf(-1), 0
	for l := -s.lags; l <= s.lags; l++ {
		if r, _ := fit(s.seg[s.lags+l:s.lags+l+len(s.tmpl)], s.tmpl); r > best {
			best, bl = r, l
		}
	}
	_, amp = fit(s.seg[s.lags+bl:s.lags+bl+len(s.tmpl)], s.tmpl)
	return best, amp, true
}

// add averages the ECG around ring index c into the average QRS.
func (s *shape) add(ring *dsp.Ring, c int64) {
	if !s.load(ring, c) {
		return
	}
	w := 1 / float64(min(s.n+1, shapeKeep))
	for k := range s.tmpl {
		s.tmpl[k] += w * (s.seg[s.lags+k] - s.tmpl[k])
	}
	s.n++
}

// fit returns the correlation coefficient of x and y (equally long) and the
// least-squares scale of y that fits x, both with the means removed.
func fit(x, y []float64) (corr, scale float64) {
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(len(x))
	my /= float64(len(y))
	var sxy, sxx, syy float64
	for i := range x {
		a, b := x[i]-mx, y[i]-my
		sxy += a * b
		sxx += a * a
		syy += b * b
	}
	if sxx <= 0 || syy <= 0 {
		return 0, 0
	}
	return sxy / math.Sqrt(sxx*syy), sxy / syy
}

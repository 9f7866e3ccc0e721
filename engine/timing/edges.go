package timing

import (
	"fmt"
	"math"
	"time"
)

// Levels are a light sensor's two levels and where an edge is timed.
type Levels struct {
	Dark  float64 `json:"dark"`  // the median of the samples below the split
	Light float64 `json:"light"` // the median of those above it
	// Threshold is midway: an edge is timed where the signal crosses it,
	// interpolated between the samples either side.
	Threshold float64 `json:"threshold"`
	// Hysteresis: the signal must pass Threshold by this much (a tenth of
	// the swing) before the crossing counts, so noise on a slow edge is one
	// edge, not several.
	Hysteresis float64 `json:"hysteresis"`
	// Noise is the larger of the two levels' interquartile ranges.
	Noise float64 `json:"noise"`
}

// minContrast is how many times the summed spread of the two levels their
// distance must be. Noise alone, split in two, gives about 1 (Gaussian
// 0.8, uniform 1.0); a photodiode seeing a white patch gives hundreds.
const minContrast = 4

// histBins is the histogram's resolution: the data's range is covered by
// at least half of it.
const histBins = 1024

// histogram counts values in equal bins over a range that doubles as
// values fall outside it, so one pass over the samples finds the levels
// in bounded memory, whatever the channel's unit.
type histogram struct {
	lo, width float64
	counts    [histBins]int64
	n         int64
}

// maxValue bounds the values taken as readings: beyond it (or not a
// number) a value is a fault, and the histogram's range must not overflow.
const maxValue = 1e100

func reading(v float64) bool { return math.Abs(v) <= maxValue } // false for NaN too

func (h *histogram) add(v float64) {
	if !reading(v) {
		return
	}
	if h.n == 0 {
		h.width = max(math.Abs(v)*1e-9, 1e-9)
		h.lo = v - h.width*histBins/2
	}
	for v < h.lo {
		h.growDown()
	}
	for v >= h.lo+h.width*histBins {
		h.growUp()
	}
	i := min(int((v-h.lo)/h.width), histBins-1)
	h.counts[max(i, 0)]++
	h.n++
}

// growUp doubles the bin width, keeping lo.
func (h *histogram) growUp() {
	for i := range histBins / 2 {
		h.counts[i] = h.counts[2*i] + h.counts[2*i+1]
	}
	clear(h.counts[histBins/2:])
	h.width *= 2
}

// growDown doubles the bin width, keeping the top: the old range becomes
// the upper half.
func (h *histogram) growDown() {
	var c [histBins]int64
	for i, n := range h.counts {
		c[histBins/2+i/2] += n
	}
	h.counts = c
	h.lo -= h.width * histBins
	h.width *= 2
}

func (h *histogram) center(i int) float64 { return h.lo + (float64(i)+0.5)*h.width }

// quantile is the centre of the bin holding the q-th quantile of bins
// [from, to).
func (h *histogram) quantile(from, to int, q float64) float64 {
	var n int64
	for i := from; i < to; i++ {
		n += h.counts[i]
	}
	want := int64(math.Ceil(q * float64(n)))
	var acc int64
	for i := from; i < to; i++ {
		acc += h.counts[i]
		if acc >= max(want, 1) {
			return h.center(i)
		}
	}
	return h.center(to - 1)
}

// split is Otsu's threshold: the bin boundary that best divides the
// values in two classes (the most variance between them). It finds a
// patch's light level even when the light is on for a small share of the
// session. 0 when there is only one occupied bin.
func (h *histogram) split() int {
	var total, sum float64
	for i, n := range h.counts {
		total += float64(n)
		sum += float64(i) * float64(n)
	}
	best, at := -1.0, 0
	var w0, s0 float64
	for i := 0; i < histBins-1; i++ {
		w0 += float64(h.counts[i])
		s0 += float64(i) * float64(h.counts[i])
		w1 := total - w0
		if w0 == 0 || w1 == 0 {
			continue
		}
		d := s0/w0 - (sum-s0)/w1
		if v := w0 * w1 * d * d; v > best {
			best, at = v, i+1
		}
	}
	return at
}

// levels finds the two levels in h, or says why there are not two.
func (h *histogram) levels() (Levels, error) {
	at := h.split()
	if h.n < 2 || at == 0 {
		return Levels{}, fmt.Errorf("%w: the channel reads one value throughout", ErrNoEdges)
	}
	dark, light := h.quantile(0, at, 0.5), h.quantile(at, histBins, 0.5)
	iqrDark := h.quantile(0, at, 0.75) - h.quantile(0, at, 0.25)
	iqrLight := h.quantile(at, histBins, 0.75) - h.quantile(at, histBins, 0.25)
	lv := Levels{Dark: dark, Light: light, Threshold: (dark + light) / 2, Hysteresis: (light - dark) / 10,
		Noise: max(iqrDark, iqrLight)}
	if light-dark < minContrast*(iqrDark+iqrLight) {
		return lv, fmt.Errorf("%w: the channel does not switch between two levels (the best split gives %.4g and %.4g, "+
			"with a spread of %.4g within them): is the photodiode on the patch, and is the patch on (run --sync-patch)?",
			ErrNoEdges, dark, light, iqrDark+iqrLight)
	}
	return lv, nil
}

// Edge is a change of the light.
type Edge struct {
	T    time.Duration // session time of the threshold crossing
	Rise bool          // dark to light
	// Untimed: the samples either side are too far apart (a gap) or out
	// of order, so T is only somewhere between them.
	Untimed bool
}

// detector finds the edges in a channel's samples, fed in time order. A
// change is confirmed when the signal passes the threshold by the
// hysteresis; it is timed where the signal crossed the threshold itself.
type detector struct {
	lv     Levels
	maxGap time.Duration // samples further apart than this: an edge between them is not timed

	started bool
	lit     bool
	prevT   time.Duration
	prevV   float64
	cand    time.Duration // the crossing of the threshold the next confirmed edge gets
	hasCand bool
	candOK  bool // cand lies between two samples close enough to time it

	edges []Edge
}

func (d *detector) add(t time.Duration, v float64) {
	if !reading(v) {
		return
	}
	if !d.started {
		d.started, d.lit = true, v >= d.lv.Threshold
		d.prevT, d.prevV = t, v
		return
	}
	thr := d.lv.Threshold
	above, wasAbove := v >= thr, d.prevV >= thr
	switch {
	case above != wasAbove && above != d.lit:
		// crossing towards the other state: time it
		d.hasCand = true
		d.candOK = t > d.prevT && t-d.prevT <= d.maxGap
		d.cand = t // somewhere before t; the last sample's time if it cannot be timed
		if d.candOK {
			d.cand = d.prevT + time.Duration((thr-d.prevV)/(v-d.prevV)*float64(t-d.prevT))
		}
	case above == d.lit:
		d.hasCand = false // back where it was: noise, not an edge
	}
	if d.hasCand && (d.lit && v <= thr-d.lv.Hysteresis || !d.lit && v >= thr+d.lv.Hysteresis) {
		d.lit = !d.lit
		d.edges = append(d.edges, Edge{T: d.cand, Rise: d.lit, Untimed: !d.candOK})
		d.hasCand = false
	}
	d.prevT, d.prevV = t, v
}

package ecg

import (
	"math"
	"slices"

	"github.com/cueroom/cueroom/sensors/physio/internal/dsp"
)

// Offline second pass: matched filter and beat-sequence search.
//
// The live detector must decide within 0.2 s of a beat from what it has
// seen; offline the whole recording is known, so the beats can be found
// again with the two things white noise cannot fake: the shape of this
// recording's own QRS, and the regularity of the rhythm.
//
//  1. Matched filter (North 1943; Turin 1960, IRE Trans. Inf. Theory 6(3):
//     311–329): the ECG band-passed 5–30 Hz is correlated with the average
//     of itself ±60 ms around the first pass's beats (the template), which
//     gives the best signal-to-noise ratio of any linear filter for a known
//     shape in white noise. Template-matching QRS detectors report
//     sensitivity and positive predictivity of 99.5–99.8 % on MIT/BIH
//     (e.g. Chanwimalueang, von Rosenberg & Mandic 2015, "Enhancing the
//     detection of QRS complexes by a template matching approach", EMBC
//     1366–1369, template built from the recording's own beats as here).
//  2. Beat-sequence search by dynamic programming (Ellis 2007, "Beat tracking
//     by dynamic programming", J. New Music Res. 36(1):51–60): of the
//     matched filter's peaks, the sequence chosen maximises the sum of their
//     sizes (1: an average beat) minus a cost per beat (searchCost) and a
//     cost for each interval's departure from the local median interval of
//     the first pass (rrCost·ln²(RR/median)). It is the search-back of Pan &
//     Tompkins made global: a weak beat where one is due is taken, a strong
//     noise peak where none is due is not.
//
// On the shared recordings with white noise of 0.25 R amplitudes at 100 Hz
// and 0.375 at 250 Hz the second pass finds the clean recording's beats
// with sensitivity and positive predictivity of at least 0.98 where the
// live detector falls to 0.79 (VALIDATION.md). It cannot judge whether a
// stretch is ECG at all — it always finds the most regular sequence — so
// Score measures how far its beats stand out of the matched filter's noise,
// which sensors/physio/offline's quality index judges (`cueroom analyze`).
const (
	refineRate = 250.0 // Hz: the second pass works at about this rate
	refineLo   = 5.0   // Hz: the matched filter's band
	refineHi   = 30.0
	tmplHalf   = 0.060 // s each side of R in the template
	candSpan   = 0.100 // s: a candidate is the largest peak within this
	candMin    = 0.15  // smallest peak kept as a candidate, in average beats
	searchCost = 0.45  // cost of a beat, in average beats
	rrCost     = 4.0   // cost of an interval of e·median (or median/e)
	rrMinFrac  = 0.4   // intervals below this × the median are not considered…
	rrMaxFrac  = 2.5   // …nor above this (the sequence starts again, at gapCost)
	gapCost    = 2.0
	edgeMin    = 0.5   // a first-pass beat too near an end for the whole template needs this much of what is left
	rrAround   = 8     // the local median interval is over this many first-pass intervals each side
	minRefine  = 5     // fewer first-pass beats give no template: the first pass stands
	keepWithin = 0.050 // s: a beat the first pass also found keeps its position
	moveWithin = 0.350 // s: a first-pass beat this near a new one may be put back (keepFitting)
)

// Refiner keeps a band-passed copy of an ECG, at about 250 Hz, while the
// live detector runs (Push every sample), so Refine can find the beats
// again with the whole recording known. 2 h at 1 kHz keep 14 MB.
type Refiner struct {
	fs      float64
	dec     int // input samples per kept sample
	f       dsp.Filter
	y       []float64
	off     int64 // kept samples forgotten before y[0]
	z       []float64
	n       int64
	lastX   float64
	started bool
}

// NewRefiner returns a Refiner for a signal sampled at fs Hz (at least
// MinRate).
func NewRefiner(fs float64) *Refiner {
	return &Refiner{
		fs:  fs,
		dec: max(1, int(fs/refineRate)),
		f:   dsp.BandPass(refineLo, refineHi, fs, 2),
	}
}

// Push keeps one sample (non-finite: a repeat of the last finite one).
func (r *Refiner) Push(x float64) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		x = r.lastX
	}
	r.lastX = x
	if !r.started {
		r.f.Settle(x)
		r.started = true
	}
	v := r.f.Step(x)
	if !r.f.Healthy() {
		v = r.f.Settle(0)
	}
	if r.n%int64(r.dec) == 0 {
		r.y = append(r.y, v)
	}
	r.n++
}

// Forget drops what was kept before input sample before, so a long
// recording can be refined a stretch at a time in bounded memory; Refine
// then sees only the samples from there on.
func (r *Refiner) Forget(before int64) {
	k := min(before/int64(r.dec)-r.off, int64(len(r.y)))
	if k <= 0 {
		return
	}
	r.y = r.y[:copy(r.y, r.y[k:])]
	r.off += k
}

// Refine returns the beats (input sample positions, ascending) of the
// stretch [from, to) of the samples pushed, found again from the first
// pass's beats there (beats). A beat both passes find keeps the first
// pass's position; with fewer than 5 first-pass beats, or a template
// without a peak, the first pass's beats in [from, to) are returned,
// ascending. Samples forgotten (Forget) are not looked at.
func (r *Refiner) Refine(beats []float64, from, to int64) []float64 {
	in := make([]float64, 0, len(beats))
	for _, b := range beats {
		if b >= float64(from) && b < float64(to) { // NaN is neither
			in = append(in, b)
		}
	}
	if !slices.IsSorted(in) {
		slices.Sort(in)
	}
	in = slices.Compact(in)
	// Twice: the second time the template and the local intervals come
	// from the first time's beats, free of most of the first pass's
	// errors (which, early in a short recording, can bias the median
	// interval).
	return keepFitting(r.once(r.once(in, from, to), from, to), in, r.fs)
}

// keepFitting puts back a first-pass beat the second pass moved (dropped
// for a new one within moveWithin) when it lies closer to where the rhythm
// puts the beat, halfway between its neighbours. The matched filter's
// output grows with amplitude, so a movement artefact or a wide ectopic
// complex next to an R can draw the beat onto itself; the rhythm, which
// the first pass's position then fits better, tells (bio_resting_5min
// at 127 and 258 s, VALIDATION.md).
func keepFitting(out, first []float64, fs float64) []float64 {
	near := moveWithin * fs
	for k := 1; k+1 < len(out); k++ {
		t := out[k]
		j := sortedIndex(first, t)
		if j < len(first) && first[j] == t {
			continue // a first-pass beat
		}
		// The one first-pass beat near t that the output lacks.
		cand, n := 0.0, 0
		for i := max(0, j-2); i < min(len(first), j+2); i++ {
			f := first[i]
			if math.Abs(f-t) <= near && f > out[k-1] && f < out[k+1] {
				cand, n = f, n+1
			}
		}
		if n != 1 {
			continue
		}
		mid := (out[k-1] + out[k+1]) / 2
		if math.Abs(cand-mid) < math.Abs(t-mid) {
			out[k] = cand
		}
	}
	return out
}

func sortedIndex(xs []float64, v float64) int {
	i, _ := slices.BinarySearch(xs, v)
	return i
}

func (r *Refiner) once(beats []float64, from, to int64) []float64 {
	if len(beats) < minRefine {
		return beats
	}
	w, ok := r.window(beats, from, to)
	if !ok {
		return beats
	}
	dec, lo, y, h, at, tmpl, ss := w.dec, w.lo, w.y, w.h, w.at, w.tmpl, w.ss
	fw := r.fs / dec
	// z: the matched filter, 1 at an average beat.
	// The matched filter's output, in a buffer kept between calls (a long
	// recording is refined a window at a time).
	if cap(r.z) < len(y) {
		r.z = make([]float64, len(y))
	}
	z := r.z[:len(y)]
	clear(z)
	for i := h; i+h < len(y); i++ {
		s := 0.0
		w := y[i-h : i+h+1]
		for k, t := range tmpl {
			s += t * w[k]
		}
		z[i] = s / ss
	}
	cands := candidates(z, max(1, int(math.Round(candSpan*fw))))
	if len(cands) == 0 {
		return beats
	}
	med := localMedians(beats, r.fs)
	// The local median interval at a candidate: that of the nearest
	// first-pass beat, in y samples.
	mAt := make([]float64, len(cands))
	j := 0
	for k, c := range cands {
		t := (float64(c+lo) * dec)
		for j+1 < len(beats) && math.Abs(beats[j+1]-t) <= math.Abs(beats[j]-t) {
			j++
		}
		mAt[k] = med[j] / dec
	}
	chosen := bestSequence(z, cands, mAt, max(1, refractory*fw), len(z))
	// The matched filter cannot look at the first and last 60 ms (and
	// its candidates need 100 ms more): first-pass beats there stand.
	edge := h + max(1, int(math.Round(candSpan*fw)))
	var head, tail []float64
	for _, b := range beats {
		i := at(b)
		if i >= edge && i < len(y)-edge {
			continue
		}
		// Of the template, only what lies inside the recording.
		var sxy, sxx float64
		for k, t := range tmpl {
			if j := i - h + k; j >= 0 && j < len(y) {
				sxy += t * y[j]
				sxx += t * t
			}
		}
		if !(sxx > 0) || sxy/sxx < edgeMin {
			continue
		}
		switch {
		case i < edge && (len(chosen) == 0 || float64(chosen[0]-i) >= refractory*fw):
			head = append(head, b)
		case i >= len(y)-edge && (len(chosen) == 0 || float64(i-chosen[len(chosen)-1]) >= refractory*fw):
			tail = append(tail, b)
		}
	}
	// Back to input positions: a beat the first pass has within 50 ms
	// keeps its position (the R extreme); a new one sits at the matched
	// filter's peak, which the template centres on the first pass's R.
	out := make([]float64, 0, len(head)+len(chosen)+len(tail))
	out = append(out, head...)
	keep := keepWithin * r.fs
	j = 0
	for _, c := range chosen {
		t := (float64(c+lo) + vertex(z, c)) * dec
		for j+1 < len(beats) && math.Abs(beats[j+1]-t) <= math.Abs(beats[j]-t) {
			j++
		}
		if math.Abs(beats[j]-t) <= keep && (len(out) == 0 || beats[j] > out[len(out)-1]) {
			t = beats[j]
		}
		t = min(max(t, float64(from)), float64(to-1))
		if len(out) > 0 && t <= out[len(out)-1] {
			continue
		}
		out = append(out, t)
	}
	for _, b := range tail {
		if len(out) == 0 || b > out[len(out)-1] {
			out = append(out, b)
		}
	}
	return out
}

// ceilDiv is ⌈a/b⌉ for b > 0.
func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a > 0 {
		q++
	}
	return q
}

// candidates are the peaks of z of at least candMin that are the largest
// within span samples on either side.
func candidates(z []float64, span int) []int {
	var out []int
	for i := 1; i+1 < len(z); i++ {
		if z[i] < candMin || z[i] <= z[i-1] || z[i] < z[i+1] {
			continue
		}
		ok := true
		for k := max(0, i-span); k <= min(len(z)-1, i+span); k++ {
			if z[k] > z[i] || (z[k] == z[i] && k < i) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, i)
		}
	}
	return out
}

// localMedians is, for each first-pass beat, the median of the intervals
// (input samples) up to rrAround either side, kept within 0.25–2.5 s.
func localMedians(beats []float64, fs float64) []float64 {
	rr := make([]float64, len(beats)-1)
	for i := range rr {
		rr[i] = beats[i+1] - beats[i]
	}
	out := make([]float64, len(beats))
	buf := make([]float64, 0, 2*rrAround+1)
	for i := range beats {
		buf = append(buf[:0], rr[max(0, i-rrAround):min(len(rr), i+rrAround)]...)
		slices.Sort(buf)
		m := buf[len(buf)/2]
		out[i] = min(max(m, 0.25*fs), 2.5*fs)
	}
	return out
}

// bestSequence is the dynamic programme: score[j] is the best total over
// sequences ending at candidate j, each beat adding its z minus searchCost
// and each interval costing rrCost·ln²(RR/median); an interval outside
// 0.4–2.5 medians is not a step of the sequence, which may instead start
// again after any earlier beat at gapCost.
func bestSequence(z []float64, cands []int, m []float64, refr float64, n0 int) []int {
	n := len(cands)
	score := make([]float64, n)
	prev := make([]int, n)
	bestUpTo := make([]int, n) // index of the best score among 0..j
	for j, c := range cands {
		// The first beat: the recording's start counts as the beat
		// before it, at most one median interval earlier.
		l0 := math.Log(max(1, float64(c)/m[j]))
		score[j], prev[j] = z[c]-searchCost-rrCost*l0*l0, -1
		// Start again after the best sequence ending long enough ago.
		far := float64(c) - rrMaxFrac*m[j]
		for i := j - 1; i >= 0; i-- {
			if float64(cands[i]) <= far {
				b := bestUpTo[i]
				if v := score[b] + z[c] - searchCost - gapCost; v > score[j] {
					score[j], prev[j] = v, b
				}
				break
			}
			rr := float64(c - cands[i])
			if rr < max(rrMinFrac*m[j], refr) {
				continue
			}
			l := math.Log(rr / m[j])
			if v := score[i] + z[c] - searchCost - rrCost*l*l; v > score[j] {
				score[j], prev[j] = v, i
			}
		}
		bestUpTo[j] = j
		if j > 0 && score[bestUpTo[j-1]] > score[j] {
			bestUpTo[j] = bestUpTo[j-1]
		}
	}
	// The sequence ends at the best score among the candidates of the
	// last 2.5 median intervals, so the end of the recording is not lost
	// to a better-scoring sequence that stopped earlier.
	// The last beat likewise: the end counts as the beat after it.
	endScore := func(k int) float64 {
		l := math.Log(max(1, float64(n0-cands[k])/m[k]))
		return score[k] - rrCost*l*l
	}
	end := n - 1
	for k := n - 1; k >= 0 && float64(cands[n-1]-cands[k]) <= rrMaxFrac*m[n-1]; k-- {
		if endScore(k) > endScore(end) {
			end = k
		}
	}
	if b := bestUpTo[n-1]; score[b]-gapCost > endScore(end) {
		end = b
	}
	var out []int
	for k := end; k >= 0; k = prev[k] {
		out = append(out, cands[k])
	}
	slices.Reverse(out)
	return out
}

// vertex is the sub-sample offset of the parabola through z at i−1, i, i+1.
func vertex(z []float64, i int) float64 {
	if i <= 0 || i+1 >= len(z) {
		return 0
	}
	den := z[i-1] - 2*z[i] + z[i+1]
	if den >= 0 {
		return 0
	}
	return 0.5 * (z[i-1] - z[i+1]) / den
}

// Score is, for each of beats (input sample positions, ascending, in the
// stretch [from, to) of the samples kept), how far the matched filter's
// output at the beat stands above the filter's own noise floor around it:
// the largest output within keepWithin of the beat over the RMS of the
// output more than scoreClear from any beat, over scoreSpan either side.
// The template is the beats' own average, as in Refine. A beat the
// template cannot reach, a template without energy or a floor of zero
// scores 0: there is nothing to judge it by. Noise, a flat line, a random
// walk, mains hum or a lead off cannot give a high score where a real
// QRS, even in strong noise, does (the matched filter's gain; Turin 1960):
// the offline quality index judges a stretch by it.
func (r *Refiner) Score(beats []float64, from, to int64) []float64 {
	out := make([]float64, len(beats))
	if len(beats) < minRefine {
		return out
	}
	w, ok := r.window(beats, from, to)
	if !ok {
		return out
	}
	y, h, at, tmpl, ss := w.y, w.h, w.at, w.tmpl, w.ss
	fw := r.fs / w.dec
	z := make([]float64, len(y))
	for i := h; i+h < len(y); i++ {
		s := 0.0
		w := y[i-h : i+h+1]
		for k, t := range tmpl {
			s += t * w[k]
		}
		z[i] = s / ss
	}
	// near marks the output samples within scoreClear of a beat: the
	// floor is measured elsewhere.
	near := make([]bool, len(z))
	clr := int(math.Round(scoreClear * fw))
	for _, b := range beats {
		i := at(b)
		for k := max(0, i-clr); k <= min(len(z)-1, i+clr); k++ {
			near[k] = true
		}
	}
	// Prefix sums of the floor's squares and counts, so each beat's
	// floor over its own span costs nothing more.
	sq := make([]float64, len(z)+1)
	cnt := make([]int, len(z)+1)
	for i, v := range z {
		sq[i+1], cnt[i+1] = sq[i], cnt[i]
		if !near[i] && i >= h && i+h < len(y) {
			sq[i+1] += v * v
			cnt[i+1]++
		}
	}
	span := int(math.Round(scoreSpan * fw))
	kw := max(1, int(math.Round(keepWithin*fw)))
	for n, b := range beats {
		i := at(b)
		if i-h < 0 || i+h >= len(y) {
			continue
		}
		peak := math.Inf(-1)
		for k := max(h, i-kw); k <= min(len(z)-1-h, i+kw); k++ {
			peak = max(peak, z[k])
		}
		a, e := max(0, i-span), min(len(z), i+span+1)
		if c := cnt[e] - cnt[a]; c > 0 {
			if rms := math.Sqrt((sq[e] - sq[a]) / float64(c)); rms > 0 && peak > 0 {
				out[n] = peak / rms
			}
		}
	}
	return out
}

const (
	scoreClear = 0.120 // s around each beat left out of the floor
	scoreSpan  = 2.0   // s either side of a beat over which its floor is measured
)

// beatWindow is the band-passed signal over [from, to) and the average
// beat (the matched filter's template) of the beats in it.
type beatWindow struct {
	dec  float64
	lo   int       // kept-sample number of y[0] (kept sample k is input sample k·dec)
	y    []float64 // the kept, band-passed signal
	h    int       // the template's half width, kept samples
	at   func(b float64) int
	tmpl []float64
	ss   float64 // the template's energy
}

// window averages the beats' template over [from, to); false when there
// is too little to average.
func (r *Refiner) window(beats []float64, from, to int64) (beatWindow, bool) {
	if len(beats) < minRefine {
		return beatWindow{}, false
	}
	dec := float64(r.dec)
	lo := int(max(r.off, ceilDiv(from, int64(r.dec))))
	hi := int(min(r.off+int64(len(r.y)), ceilDiv(to, int64(r.dec))))
	if hi-lo < 3 {
		return beatWindow{}, false
	}
	y := r.y[lo-int(r.off) : hi-int(r.off)]
	fw := r.fs / dec
	h := max(1, int(math.Round(tmplHalf*fw)))
	// The filter's delay is the same for every beat: a beat at input
	// sample b is at y index round(b/dec) − lo, plus a delay the template
	// absorbs.
	at := func(b float64) int { return int(math.Round(b/dec)) - lo }
	tmpl := make([]float64, 2*h+1)
	used := 0
	for _, b := range beats {
		i := at(b)
		if i-h < 0 || i+h >= len(y) {
			continue
		}
		for k := range tmpl {
			tmpl[k] += y[i-h+k]
		}
		used++
	}
	var ss float64
	for k := range tmpl {
		tmpl[k] /= float64(max(1, used))
		ss += tmpl[k] * tmpl[k]
	}
	if used < minRefine || !(ss > 0) || math.IsInf(ss, 0) {
		return beatWindow{}, false
	}
	return beatWindow{dec: dec, lo: lo, y: y, h: h, at: at, tmpl: tmpl, ss: ss}, true
}

package hrv

import (
	"math"
	"sort"
)

// Correction tunes Correct; zero fields take the default in brackets.
type Correction struct {
	// Off builds the NN series from every interval as it is (no artefact
	// correction; only intervals across a gap or over MaxInterval are left
	// out): what a standard implementation given the same beats computes.
	Off bool
	// MaxInterval is the longest interval that is still one [3 s = 20 bpm]:
	// a longer one is the detector losing the signal, a gap.
	MaxInterval float64
	// MinInterval is the shortest interval kept after correction
	// [0.25 s = 240 bpm]; shorter ones are dropped, not measured.
	MinInterval float64
}

func (c *Correction) defaults() {
	if !(c.MaxInterval > 0) || math.IsInf(c.MaxInterval, 0) {
		c.MaxInterval = 3
	}
	if !(c.MinInterval > 0) || c.MinInterval >= c.MaxInterval {
		c.MinInterval = min(0.25, c.MaxInterval/2)
	}
}

// The constants of Lipponen & Tarvainen (2019), J. Med. Eng. Technol.
// 43(3):173–181.
const (
	ltAlpha   = 5.2  // threshold = alpha × quartile deviation
	ltC1      = 0.13 // ectopic decision boundary: slope
	ltC2      = 0.17 // ectopic decision boundary: offset
	ltQDHalf  = 45   // the quartile deviations are over 91 beats
	ltMedHalf = 5    // the local median is over 11 beats
	// ltPasses bounds the classify-and-fix passes: after extra beats are
	// removed and missed ones put back, the series is classified again,
	// since one fix can reveal the next artefact.
	ltPasses = 10
	// qdFloor keeps the quartile deviations above 1 % of the local median
	// interval (the thresholds above 5.2 %), so an almost constant series
	// (a pacemaker, a simulator) does not call every small change an
	// artefact. Not in the paper: real series always vary more.
	qdFloor = 0.01
	// qdMedian keeps each quartile deviation above 0.4 × the median of the
	// same |dRR| or |mRR| values. For beat-to-beat noise (a half-normal
	// |dRR|) the deviation is 0.62 × the median and this does nothing; but
	// a strong respiratory sinus arrhythmia locked to 4 beats a breath
	// makes every |dRR| about equal, the deviation near zero, and without
	// this every crest of the breathing would be called a long beat. Not in
	// the paper.
	qdMedian = 0.4
	// th1Cap and th2Cap bound the thresholds from above, as shares of the
	// local median interval. The quartile deviations are over 91 beats;
	// when artefacts make up a good part of them (a noisy minute) the
	// thresholds grow until the artefacts no longer stand out. Sinus
	// rhythm seldom changes by 20 % from one beat to the next (Malik et
	// al. 1989), nor lies 45 % above or 22 % below its local median (mRR
	// doubles shortening), so intervals beyond that are always examined.
	// Not in the paper; on the real recordings tested the caps change no
	// label.
	th1Cap = 0.2
	th2Cap = 0.15
)

// Correct makes the NN series of the beats (times in seconds, any order;
// non-finite ones are ignored) with the gaps where the signal was unusable.
// Intervals are never formed across a gap or over MaxInterval; each run of
// beats between them is corrected on its own.
func Correct(beats []float64, gaps []Span, c Correction) *Series {
	c.defaults()
	b := make([]float64, 0, len(beats))
	for _, t := range beats {
		if !math.IsNaN(t) && !math.IsInf(t, 0) {
			b = append(b, t)
		}
	}
	if !sort.Float64sAreSorted(b) {
		sort.Float64s(b)
	}
	k := 0
	for i, t := range b {
		if i == 0 || t > b[k-1] {
			b[k] = t
			k++
		}
	}
	b = b[:k]
	gs := make([]Span, 0, len(gaps))
	for _, g := range gaps {
		if math.IsNaN(g.From) || math.IsNaN(g.To) {
			continue
		}
		if g.To < g.From {
			g.From, g.To = g.To, g.From
		}
		gs = append(gs, g)
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].From < gs[j].From })

	s := &Series{Beats: len(b), NN: make([]NN, 0, max(0, len(b)-1))}
	var w work
	start, gi := 0, 0
	for i := 1; i <= len(b); i++ {
		if i < len(b) {
			// Gaps ending before this interval starts are behind us for good.
			for gi < len(gs) && gs[gi].To <= b[i-1] {
				gi++
			}
			if b[i]-b[i-1] <= c.MaxInterval && (gi == len(gs) || gs[gi].From >= b[i]) {
				continue
			}
			s.Dropped++
		}
		s.segment(b[start:i], c, &w)
		start = i
	}
	return s
}

// work is the scratch space of one classification.
type work struct {
	rr, drr, mrr, med, th1, th2 []float64
	abs, win                    []float64
	lab                         []Kind
}

func (w *work) size(n int) {
	if cap(w.rr) < n {
		w.rr, w.drr, w.mrr = make([]float64, n), make([]float64, n), make([]float64, n)
		w.med, w.th1, w.th2 = make([]float64, n), make([]float64, n), make([]float64, n)
		w.abs = make([]float64, n)
		w.lab = make([]Kind, n)
	}
	w.rr, w.drr, w.mrr = w.rr[:n], w.drr[:n], w.mrr[:n]
	w.med, w.th1, w.th2, w.lab, w.abs = w.med[:n], w.th1[:n], w.th2[:n], w.lab[:n], w.abs[:n]
}

// segment appends the NN intervals of one run of beats.
func (s *Series) segment(b []float64, c Correction, w *work) {
	if len(b) < 2 {
		return
	}
	if c.Off {
		for i := 1; i < len(b); i++ {
			s.NN = append(s.NN, NN{Start: b[i-1], End: b[i], Length: b[i] - b[i-1]})
		}
		return
	}
	beats := append([]float64(nil), b...)
	marks := make([]Kind, len(beats)-1) // Missed / Extra from the fixes so far
	var lab []Kind
	for pass := 0; ; pass++ {
		lab = w.classify(beats)
		if pass == ltPasses {
			break
		}
		nb := make([]float64, 1, len(beats)+4)
		nm := make([]Kind, 0, len(beats)+4)
		nb[0] = beats[0]
		changed := false
		for i := 0; i < len(lab); i++ {
			switch {
			case lab[i] == Extra && i+1 < len(lab):
				// Remove the beat between intervals i and i+1.
				nb = append(nb, beats[i+2])
				nm = append(nm, Extra)
				s.Artefacts.Extra++
				changed = true
				i++
				continue
			case lab[i] == Missed:
				// Put the lost beat back halfway.
				nb = append(nb, beats[i]+(beats[i+1]-beats[i])/2, beats[i+1])
				nm = append(nm, Missed, Missed)
				s.Artefacts.Missed++
				changed = true
				continue
			}
			nb = append(nb, beats[i+1])
			nm = append(nm, marks[i])
		}
		if !changed {
			break
		}
		beats, marks = nb, nm
	}
	// Labels left from the last pass that were not fixed count as what
	// they are without the fix.
	for i, l := range lab {
		switch l {
		case Missed:
			lab[i] = Long
		case Extra:
			lab[i] = Short
		}
	}
	s.interpolate(beats, marks, lab, c)
}

func interpolated(k Kind) bool { return k == Ectopic || k == Long || k == Short }

// interpolate appends the run's intervals, replacing the ectopic, long and
// short ones by linear interpolation, in time, between the nearest
// intervals on each side that were not replaced (Lipponen & Tarvainen
// interpolate with a cubic spline; for the isolated artefacts this is for,
// a straight line between neighbours differs from it by far less than the
// artefact did).
func (s *Series) interpolate(beats []float64, marks, lab []Kind, c Correction) {
	first := len(s.NN)
	prevGood := -1
	for i := range lab {
		nn := NN{Start: beats[i], End: beats[i+1], Length: beats[i+1] - beats[i], Kind: marks[i]}
		if interpolated(lab[i]) {
			nn.Kind = lab[i]
			s.Artefacts.add(lab[i], 1)
		} else {
			// Fill the replaced intervals since the last good one.
			for j := prevGood + 1; j < i; j++ {
				s.NN[first+j].Length = s.lerp(first, prevGood, i, j, nn)
			}
			prevGood = i
		}
		s.NN = append(s.NN, nn)
	}
	if prevGood >= 0 {
		for j := prevGood + 1; j < len(lab); j++ {
			s.NN[first+j].Length = s.NN[first+prevGood].Length
		}
	}
	// Drop what is still implausible (a run too damaged to repair).
	k := first
	for _, nn := range s.NN[first:] {
		if nn.Length < c.MinInterval || nn.Length > c.MaxInterval {
			s.Dropped++
			continue
		}
		s.NN[k] = nn
		k++
	}
	s.NN = s.NN[:k]
}

// lerp is the interpolated length of interval j of the run (starting at
// s.NN[first]) between good interval a (−1: none) and good interval b, not
// yet appended (bnn).
func (s *Series) lerp(first, a, b, j int, bnn NN) float64 {
	if a < 0 {
		return bnn.Length
	}
	an := s.NN[first+a]
	x := s.NN[first+j].End
	f := (x - an.End) / (bnn.End - an.End)
	return an.Length + f*(bnn.Length-an.Length)
}

// classify labels each interval between the beats following figure 1 of
// Lipponen & Tarvainen (2019). The returned slice is reused.
func (w *work) classify(b []float64) []Kind {
	n := len(b) - 1
	w.size(n)
	rr, drr, mrr, med, th1, th2, lab := w.rr, w.drr, w.mrr, w.med, w.th1, w.th2, w.lab
	for i := range n {
		rr[i] = b[i+1] - b[i]
		lab[i] = Normal
	}
	if n < 4 {
		return lab // too few to judge against their neighbours
	}
	// dRR: successive differences; the first has none before it.
	drr[0] = 0
	for i := 1; i < n; i++ {
		drr[i] = rr[i] - rr[i-1]
	}
	// medRR over 11 beats; mRR = RR − medRR with negative values doubled,
	// so short beats (extra detections) stand out more than long ones.
	w.win = rolling(rr, ltMedHalf, w.win, func(i int, v []float64) { med[i] = quantile(v, 0.5) })
	for i := range n {
		mrr[i] = rr[i] - med[i]
		if mrr[i] < 0 {
			mrr[i] *= 2
		}
	}
	// Time-varying thresholds: alpha × the quartile deviation of |dRR| and
	// |mRR| over 91 beats.
	abs := w.abs
	for i := range n {
		abs[i] = math.Abs(drr[i])
	}
	spread := func(v []float64) float64 { return max(qd(v), qdMedian*quantile(v, 0.5)) }
	w.win = rolling(abs, ltQDHalf, w.win, func(i int, v []float64) { th1[i] = spread(v) })
	for i := range n {
		abs[i] = math.Abs(mrr[i])
	}
	w.win = rolling(abs, ltQDHalf, w.win, func(i int, v []float64) { th2[i] = spread(v) })
	for i := range n {
		floor := qdFloor * med[i]
		th1[i] = min(ltAlpha*max(th1[i], floor), th1Cap*med[i])
		th2[i] = min(ltAlpha*max(th2[i], floor), th2Cap*med[i])
	}
	drrs := func(i int) float64 {
		if i < 0 || i >= n {
			return 0
		}
		return drr[i] / th1[i]
	}
	for i := range n {
		d, m := drrs(i), mrr[i]/th2[i]
		if math.Abs(d) <= 1 && math.Abs(m) <= 3 {
			continue
		}
		// S12: the neighbour differences that an ectopic beat's
		// compensation would make of the opposite sign.
		var s12, s22 float64
		if d > 0 {
			s12 = max(drrs(i-1), drrs(i+1))
		} else {
			s12 = min(drrs(i-1), drrs(i+1))
		}
		if (d > 1 && s12 < -ltC1*d-ltC2) || (d < -1 && s12 > -ltC1*d+ltC2) {
			lab[i] = Ectopic
			continue
		}
		// S22: the next two differences, for a long or short beat followed
		// by a return.
		if d >= 0 {
			s22 = min(drrs(i+1), drrs(i+2))
		} else {
			s22 = max(drrs(i+1), drrs(i+2))
		}
		long := m > 3 || (d > 1 && s22 < -1)
		short := m < -3 || (d < -1 && s22 > 1)
		if long && short {
			long, short = m > 0, m < 0
		}
		switch {
		case long:
			lab[i] = Long
			if math.Abs(rr[i]/2-med[i]) < th2[i] {
				lab[i] = Missed
			}
		case short:
			lab[i] = Short
			if i+1 < n && math.Abs(rr[i]+rr[i+1]-med[i]) < th2[i] {
				lab[i] = Extra
			}
		}
	}
	return lab
}

// rolling calls f(i, sorted window) for every i, with the window x[i−h …
// i+h] clamped to the slice, kept sorted as it slides (each step is a
// binary search and a short copy, so a day of beats takes milliseconds).
// It returns the buffer for reuse.
func rolling(x []float64, h int, buf []float64, f func(i int, sorted []float64)) []float64 {
	n := len(x)
	win := buf[:0]
	insert := func(v float64) {
		j := lowerBound(win, v)
		win = append(win, 0)
		copy(win[j+1:], win[j:])
		win[j] = v
	}
	remove := func(v float64) {
		j := lowerBound(win, v)
		copy(win[j:], win[j+1:])
		win = win[:len(win)-1]
	}
	for j := 0; j <= h && j < n; j++ {
		insert(x[j])
	}
	for i := range n {
		f(i, win)
		if j := i + 1 + h; j < n {
			insert(x[j])
		}
		if j := i - h; j >= 0 {
			remove(x[j])
		}
	}
	return win
}

// lowerBound is the index of the first value not below v in sorted s
// (sort.SearchFloat64s without the closure: this is the hot loop of a
// day's correction).
func lowerBound(s []float64, v float64) int {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m] < v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// quantile of sorted values, interpolating linearly between order
// statistics (the usual "type 7" definition).
func quantile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	h := p * float64(len(v)-1)
	lo := int(h)
	if lo+1 >= len(v) {
		return v[len(v)-1]
	}
	return v[lo] + (h-float64(lo))*(v[lo+1]-v[lo])
}

// qd is the quartile deviation, half the interquartile range.
func qd(v []float64) float64 { return (quantile(v, 0.75) - quantile(v, 0.25)) / 2 }

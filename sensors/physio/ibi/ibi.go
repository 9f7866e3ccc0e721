// Package ibi turns beat times into inter-beat intervals and heart rate,
// rejecting the usual artefacts causally:
//
//   - impossible intervals (outside the configured heart-rate range);
//   - an extra beat (a false detection splitting one interval in two): an
//     interval shorter than 70 % of the recent median is held back, and if it
//     and the next one add up to a normal interval they are merged;
//   - a missed beat: an interval close to 2 or 3 times the median is split
//     evenly and reported as corrected;
//   - anything else more than 30 % shorter or 50 % longer than the median is
//     rejected. After four rejections in a row the history is dropped, so a
//     real, sudden change of rate is followed rather than rejected forever;
//     likewise after three merges in a row.
//
// The median is over the last 9 accepted intervals; until 3 are known only
// the range check applies. A held-back short interval delays that one value
// by one beat; everything else is reported at the beat that ends it.
package ibi

import "slices"

// Interval is one accepted inter-beat interval.
type Interval struct {
	End       float64 // time of the beat that ends it, in the caller's unit
	Length    float64 // interval, same unit
	Corrected bool    // merged over an extra beat or split over missed ones
}

// Tracker follows one beat stream. The zero value is not usable: use New.
type Tracker struct {
	minLen, maxLen float64
	hist           []float64
	last           float64
	haveLast       bool
	pending        float64 // held-back short interval, 0 if none
	rejects        int
	merges         int // merges in a row
	out            []Interval
	// Counters since New, for reports.
	Accepted, Rejected, Corrected int
}

// New returns a tracker accepting heart rates in [minBPM, maxBPM], with
// times in units of unit seconds (1 for seconds, 1/fs for samples).
func New(minBPM, maxBPM, unit float64) *Tracker {
	return &Tracker{minLen: 60 / maxBPM / unit, maxLen: 60 / minBPM / unit}
}

// Reset forgets the last beat (after a gap in the signal) but keeps the
// recent intervals as the reference.
func (t *Tracker) Reset() {
	t.haveLast = false
	t.pending = 0
}

func (t *Tracker) median() float64 {
	var buf [9]float64
	s := buf[:len(t.hist)]
	copy(s, t.hist)
	slices.Sort(s)
	return s[len(s)/2]
}

func (t *Tracker) keep(l float64) {
	if len(t.hist) == 9 {
		copy(t.hist, t.hist[1:])
		t.hist = t.hist[:8]
	}
	t.hist = append(t.hist, l)
}

// Beat feeds the time of a beat and returns the intervals it completes (zero,
// one or, when a missed beat is filled in, several). The slice is reused by
// the next call. Beats must come in increasing time; others are ignored.
func (t *Tracker) Beat(at float64) []Interval {
	t.out = t.out[:0]
	if !t.haveLast {
		t.last, t.haveLast = at, true
		return t.out
	}
	if at <= t.last {
		return t.out
	}
	l := at - t.last
	t.last = at
	if t.pending > 0 {
		merged := t.pending + l
		t.pending = 0
		if m := t.median(); merged >= 0.75*m && merged <= 1.25*m && t.inRange(merged) {
			t.accept(at, merged, true)
			t.merges++
			if t.merges >= 3 {
				// Extra beats every time is a rate that really doubled:
				// start the reference afresh.
				t.hist, t.merges = t.hist[:0], 0
			}
			return t.out
		}
		t.Rejected++
	}
	if len(t.hist) < 3 {
		if t.inRange(l) {
			t.accept(at, l, false)
		} else {
			t.reject()
		}
		return t.out
	}
	m := t.median()
	switch r := l / m; {
	case r < 0.7:
		t.pending = l
	case r <= 1.5 && t.inRange(l):
		t.accept(at, l, false)
	default:
		k := int(r + 0.5)
		if k >= 2 && k <= 3 && l/float64(k) >= 0.8*m && l/float64(k) <= 1.2*m && t.inRange(l/float64(k)) {
			// Missed beats: report the interval split evenly.
			part := l / float64(k)
			for i := k - 1; i >= 0; i-- {
				t.accept(at-float64(i)*part, part, true)
			}
			return t.out
		}
		t.reject()
	}
	return t.out
}

func (t *Tracker) inRange(l float64) bool { return l >= t.minLen && l <= t.maxLen }

func (t *Tracker) accept(at, l float64, corrected bool) {
	t.rejects = 0
	if !corrected {
		t.merges = 0
	}
	t.keep(l)
	t.Accepted++
	if corrected {
		t.Corrected++
	}
	t.out = append(t.out, Interval{End: at, Length: l, Corrected: corrected})
}

func (t *Tracker) reject() {
	t.Rejected++
	t.rejects++
	if t.rejects >= 4 {
		t.hist = t.hist[:0]
		t.rejects = 0
	}
}

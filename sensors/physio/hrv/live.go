package hrv

import "math"

// Live is RMSSD over a sliding window, for the dashboard: Add each interval
// as the live pipeline accepts it and read the value; no allocation after
// NewLive. It must be called from one goroutine.
//
// It is causal, so it cannot classify beats as Correct does (that looks 45
// beats ahead). A successive difference counts only when both intervals
// were accepted uncorrected, they share a beat, and they differ by at most
// 20 % of the first: the rule Malik et al. (1989) used to keep intervals
// around ectopic beats out of HRV. What is left out shortens the covered
// time, and the value is only reported (ok) while the differences in the
// window cover at least half of it.
type Live struct {
	window float64
	ring   []liveDiff // oldest at head
	head   int
	n      int
	pushes int
	sum    float64 // Σ d² in the window, ms²
	cover  float64 // Σ of the later intervals' lengths, s

	prevEnd, prevLen float64
	prevOK, havePrev bool
	last             float64
}

type liveDiff struct {
	t  float64 // end of the later interval
	l  float64 // its length, s
	sq float64 // squared difference, ms²
}

// DefaultLiveWindow is Live's window when NewLive is given none, s.
const DefaultLiveWindow = 60.0

// minLive is the shortest interval Live keeps room for (300 bpm), s.
const minLive = 0.2

// NewLive returns a live RMSSD over the last window seconds (≤ 0:
// DefaultLiveWindow).
func NewLive(window float64) *Live {
	if !(window > 0) || window > 3600 {
		window = DefaultLiveWindow
	}
	return &Live{window: window, ring: make([]liveDiff, int(window/minLive)+2)}
}

// Window is the span RMSSD is taken over, s.
func (l *Live) Window() float64 { return l.window }

// Add feeds an accepted interval: the time of the beat that ends it and its
// length, in seconds, and whether the live tracker corrected it (merged or
// split). It returns RMSSD now, in ms, and whether it is valid. Intervals
// not after the previous one, or not finite and positive, are ignored.
func (l *Live) Add(end, length float64, corrected bool) (rmssd float64, ok bool) {
	if math.IsNaN(end) || math.IsInf(end, 0) || !(length > 0) || math.IsInf(length, 0) ||
		(l.havePrev && end <= l.prevEnd) {
		return l.At(l.last)
	}
	if l.havePrev && l.prevOK && !corrected && math.Abs(end-length-l.prevEnd) <= 1e-3 &&
		math.Abs(length-l.prevLen) <= 0.2*l.prevLen {
		d := 1000 * (length - l.prevLen)
		l.push(liveDiff{t: end, l: length, sq: d * d})
	}
	l.prevEnd, l.prevLen, l.prevOK, l.havePrev = end, length, !corrected, true
	l.last = end
	return l.At(end)
}

// Break forgets the previous interval (after a gap in the signal), so the
// next one is not paired with it; the window keeps its differences.
func (l *Live) Break() { l.havePrev = false }

// Reset empties the window.
func (l *Live) Reset() {
	*l = Live{window: l.window, ring: l.ring}
}

// At returns RMSSD over the window ending at now (not before the last
// Add), in ms, and whether enough of the window is covered.
func (l *Live) At(now float64) (rmssd float64, ok bool) {
	from := now - l.window
	for l.n > 0 && l.ring[l.head].t-l.ring[l.head].l < from {
		l.pop()
	}
	if l.n < 2 || l.cover < l.window/2 {
		return 0, false
	}
	return math.Sqrt(max(0, l.sum) / float64(l.n)), true
}

func (l *Live) push(d liveDiff) {
	if l.n == len(l.ring) {
		l.pop()
	}
	l.ring[(l.head+l.n)%len(l.ring)] = d
	l.n++
	l.sum += d.sq
	l.cover += d.l
	l.pushes++
	if l.pushes%len(l.ring) == 0 {
		// Adding and subtracting leaves rounding behind: start the sums
		// afresh once per turn of the ring.
		l.sum, l.cover = 0, 0
		for i := range l.n {
			e := l.ring[(l.head+i)%len(l.ring)]
			l.sum += e.sq
			l.cover += e.l
		}
	}
}

func (l *Live) pop() {
	e := l.ring[l.head]
	l.head = (l.head + 1) % len(l.ring)
	l.n--
	l.sum -= e.sq
	l.cover -= e.l
	if l.n == 0 {
		l.sum, l.cover = 0, 0
	}
}

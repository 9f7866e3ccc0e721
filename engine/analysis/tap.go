package analysis

import (
	"math"
	"sort"

	"github.com/cueroom/cueroom/engine/report"
)

// edaTap takes the laid-out skin conductance as it streams past and keeps
// what the report measures on it — sums over the step spans (known from
// the events before the samples come), each step's highest rolling 1-s
// mean, and bins for the plot — so the signal itself is never held. The
// sums are taken in sample order, as a loop over the whole channel would:
// the numbers are the same to the bit.
type edaTap struct {
	n int // samples seen

	sums   map[[2]int64]*sclSum
	rolls  map[[2]int64]*rollPeak
	order  []tapSpan // by start
	next   int
	active []tapSpan

	// The last r samples (a ring): the one leaving a rolling 1-s window.
	r    int
	ring []float64

	// Plot bins of size samples (doubled as the session grows, so there
	// are never more than 4·maxPoints), and the one filling.
	size int
	bins []bin
	cur  bin
}

// tapSpan is a span being summed: one of sum or roll.
type tapSpan struct {
	from, to int64
	sum      *sclSum
	roll     *rollPeak
}

type sclSum struct {
	sum float64
	n   int
}

// rollPeak follows the highest rolling mean over r samples in a step.
type rollPeak struct {
	i0    int64 // first sample (clipped at 0)
	count int
	sum   float64
	n     int
	best  float64
	at    int64
}

type bin struct {
	sum  float64
	k, c int // finite samples, samples
}

// newEDATap registers the spans the report asks about: each step's span
// (its level, and against the baseline step's), the baseline before it and
// the end of it (within), and its rolling peak.
func newEDATap(sig *signals, steps []shown, set report.Settings) *edaTap {
	rate := sig.in.Rate
	t := &edaTap{sums: map[[2]int64]*sclSum{}, rolls: map[[2]int64]*rollPeak{},
		r: max(1, int(rate)), size: max(1, int(math.Round(0.25*rate)))}
	t.ring = make([]float64, t.r)
	addSum := func(from, to float64) {
		k := [2]int64{sig.index(from), sig.index(to)}
		if t.sums[k] == nil {
			t.sums[k] = &sclSum{}
			t.order = append(t.order, tapSpan{from: k[0], to: k[1], sum: t.sums[k]})
		}
	}
	for _, st := range steps {
		from, to := st.on, st.off
		addSum(from, to)
		if to > from {
			// As within asks.
			tail := min(set.EndWindow, (to-from)/2)
			addSum(from-set.Baseline, from)
			addSum(to-tail, to)
			k := [2]int64{sig.index(from), sig.index(to)}
			if t.rolls[k] == nil {
				t.rolls[k] = &rollPeak{i0: max(0, k[0]), best: math.Inf(-1), at: -1}
				t.order = append(t.order, tapSpan{from: k[0], to: k[1], roll: t.rolls[k]})
			}
		}
	}
	sort.SliceStable(t.order, func(i, j int) bool { return t.order[i].from < t.order[j].from })
	return t
}

// add takes the next sample (NaN: missing).
func (t *edaTap) add(v float64) {
	i := int64(t.n)
	t.n++
	for t.next < len(t.order) && max(0, t.order[t.next].from) <= i {
		t.active = append(t.active, t.order[t.next])
		t.next++
	}
	ok := finite(v)
	keep := t.active[:0]
	for _, sp := range t.active {
		if sp.to <= i {
			continue
		}
		keep = append(keep, sp)
		if s := sp.sum; s != nil {
			if ok {
				s.sum, s.n = s.sum+v, s.n+1
			}
			continue
		}
		// The rolling mean over [i−r+1, i], as measures.within computed
		// it on the whole channel with win = r; finish redoes a step
		// shorter than r (win is its length then).
		p := sp.roll
		p.count++
		if ok {
			p.sum, p.n = p.sum+v, p.n+1
		}
		if j := i - int64(t.r); j >= p.i0 {
			if old := t.ring[j%int64(t.r)]; finite(old) {
				p.sum, p.n = p.sum-old, p.n-1
			}
		}
		if p.count >= t.r && 2*p.n >= t.r && p.sum/float64(p.n) > p.best {
			p.best, p.at = p.sum/float64(p.n), i-int64(t.r-1)/2
		}
	}
	clear(t.active[len(keep):])
	t.active = keep
	t.ring[i%int64(t.r)] = v

	t.cur.c++
	if ok {
		t.cur.sum, t.cur.k = t.cur.sum+v, t.cur.k+1
	}
	if t.cur.c == t.size {
		t.bins, t.cur = append(t.bins, t.cur), bin{}
		if len(t.bins) > 4*maxPoints {
			t.coarsen()
		}
	}
}

// coarsen merges the bins in pairs; an odd last one is the bin filling.
func (t *edaTap) coarsen() {
	k := 0
	for i := 0; i+1 < len(t.bins); i += 2 {
		a, b := t.bins[i], t.bins[i+1]
		t.bins[k] = bin{sum: a.sum + b.sum, k: a.k + b.k, c: a.c + b.c}
		k++
	}
	if len(t.bins)%2 == 1 {
		t.cur = t.bins[len(t.bins)-1]
	}
	t.bins, t.size = t.bins[:k], 2*t.size
}

// finish ends the stream: a step shorter than one rolling window (or cut
// short by the end of the recording) is one window of its length.
func (t *edaTap) finish() {
	for _, p := range t.rolls {
		if p.count > 0 && p.count < t.r && 2*p.n >= p.count && p.sum/float64(p.n) > p.best {
			p.best, p.at = p.sum/float64(p.n), p.i0+int64(p.count-1)-int64(p.count-1)/2
		}
	}
	if t.cur.c > 0 {
		t.bins, t.cur = append(t.bins, t.cur), bin{}
	}
}

// sum is the sum and count of the valid samples in [from, to) (sample
// indices as registered).
func (t *edaTap) sum(from, to int64) (float64, int) {
	if s := t.sums[[2]int64{from, to}]; s != nil {
		return s.sum, s.n
	}
	panic("analysis: skin conductance asked over a span not registered")
}

// peak is the highest rolling 1-s mean in [from, to) and its time from the
// span's (clipped) start, s; ok is false with none.
func (t *edaTap) peak(from, to int64, rate float64) (best, at float64, ok bool) {
	p := t.rolls[[2]int64{from, to}]
	if p == nil {
		panic("analysis: skin conductance peak asked over a span not registered")
	}
	if p.at < 0 {
		return 0, 0, false
	}
	return p.best, float64(p.at-p.i0) / rate, true
}

// series averages the samples into bins of at least a quarter second, wider
// for long sessions so at most about maxPoints remain: bins of the size
// measures.series used, rounded to a multiple of the size kept.
func (t *edaTap) series(sig *signals, maxPoints int) []report.Point {
	rate := sig.in.Rate
	dur := float64(t.n) / rate
	width := max(0.25, dur/float64(maxPoints))
	want := max(1, int(math.Round(width*rate)))
	g := max(1, int(math.Round(float64(want)/float64(t.size))))
	n := g * t.size
	var out []report.Point
	for i := 0; i < len(t.bins); i += g {
		var b bin
		for _, x := range t.bins[i:min(i+g, len(t.bins))] {
			b.sum, b.k, b.c = b.sum+x.sum, b.k+x.k, b.c+x.c
		}
		if g == 1 {
			b = t.bins[i] // the same sum, not a sum of one
		}
		v := math.NaN()
		if b.k > 0 && b.k*2 >= b.c {
			v = b.sum / float64(b.k)
		}
		start := i * t.size
		out = append(out, report.Point{T: sig.time((float64(start) + float64(n)/2) / rate), V: v})
	}
	return out
}

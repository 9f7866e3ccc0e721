package clock

import (
	"math"
	"slices"
)

// point is one block's least-delayed sample: device time d and observed
// offset o = arrival − d, both in seconds.
type point struct{ d, o float64 }

// envelope estimates the line o = alpha + beta·d lying under the
// least-delayed envelope of the offsets (Moon, Skelly & Towsley 1999).
//
// It keeps the minimum offset of each block of device time (a ring of the
// completed blocks inside the window, plus the block being filled). The
// drift beta and the completed blocks' intercept are refitted once per
// block, when one completes; the block being filled only lowers the
// intercept, so a sample costs O(1) and no allocation.
type envelope struct {
	block, window, minSpan, maxDrift float64

	ring        []point // completed blocks, oldest first from head
	head, count int
	hull        []point // scratch for the lower hull

	cur      point   // the block being filled: its least offset so far
	curStart float64 // device time where it began
	d0       float64 // device time of the first point since clear
	hasCur   bool

	prior     float64 // drift used until the completed blocks span minSpan
	beta      float64
	alphaC    float64 // intercept under the completed blocks (+Inf: none)
	alpha     float64 // intercept under every point
	estimated bool    // beta comes from the data, not the prior
}

func newEnvelope(block, window, minSpan, maxDrift float64) envelope {
	n := int(math.Ceil(window/block)) + 16 // + the short blocks of the start
	return envelope{block: block, window: window, minSpan: minSpan, maxDrift: maxDrift,
		ring: make([]point, n), hull: make([]point, 0, n), alphaC: math.Inf(1), alpha: math.Inf(1)}
}

// ok reports whether the envelope has a point, so line is defined.
func (v *envelope) ok() bool { return v.hasCur || v.count > 0 }

// line returns the estimated offset at device time d.
func (v *envelope) line(d float64) float64 { return v.alpha + v.beta*d }

// settled returns how far a sample lies above the line of the completed
// blocks alone (negative: below it). A sample far below that line arrived
// before its count says it was taken, even when the samples just before
// it had already pulled the block being filled down one by one.
func (v *envelope) settled(a, d float64) float64 {
	if v.count == 0 {
		return a - d - v.line(d)
	}
	return a - d - (v.alphaC + v.beta*d)
}

// clear forgets every point (a new anchor); the drift stays as the prior,
// unless it sat at its bound: then the points were not a line (a backlog
// falling, a count running ahead), and the prior before them stands.
func (v *envelope) clear() {
	if v.estimated && math.Abs(v.beta) < v.maxDrift {
		v.prior = v.beta
	}
	v.forget()
}

// forget forgets every point and keeps the prior: the points were not
// the device's line.
func (v *envelope) forget() {
	v.head, v.count, v.hasCur, v.estimated = 0, 0, false, false
	v.beta = v.prior
	v.alphaC, v.alpha = math.Inf(1), math.Inf(1)
}

func (v *envelope) at(i int) point { return v.ring[(v.head+i)%len(v.ring)] }

// add takes one sample's device time and offset.
//
// Blocks start short (a quarter block) and grow to a block as the anchor
// ages, so the drift is estimated within the first second or two: with a
// crystal 500 ppm off, a drift held at 0 for its first 3 s would put those
// samples up to 1.5 ms off the line.
func (v *envelope) add(d, o float64) {
	switch {
	case !v.hasCur:
		if v.count == 0 {
			v.d0 = d
		}
		v.cur, v.curStart, v.hasCur = point{d, o}, d, true
	case d >= v.curStart+min(v.block, max(v.block/4, (v.curStart-v.d0)/4)):
		v.push(v.cur)
		v.cur, v.curStart = point{d, o}, d
		v.refit()
	case o < v.cur.o:
		v.cur = point{d, o}
	default:
		return
	}
	v.alpha = min(v.alphaC, v.cur.o-v.beta*v.cur.d)
}

// push appends a completed block and drops those older than the window.
func (v *envelope) push(p point) {
	if v.count == len(v.ring) {
		v.head = (v.head + 1) % len(v.ring)
		v.count--
	}
	v.ring[(v.head+v.count)%len(v.ring)] = p
	v.count++
	for v.count > 1 && v.at(0).d < p.d-v.window {
		v.head = (v.head + 1) % len(v.ring)
		v.count--
	}
}

// refit recomputes the drift and intercept from the completed blocks.
//
// The line below all points that minimises the summed distance to them
// maximises its height at their mean device time; that optimum is the edge
// of their lower convex hull spanning the mean (Moon et al. 1999, §4).
// Points above the hull — blocks whose every sample came late, as during
// a stall — do not move it. The drift is clamped to ±maxDrift, and held at
// the prior until the blocks span minSpan.
func (v *envelope) refit() {
	n := v.count
	beta := v.prior
	v.estimated = false
	if n >= 2 && v.at(n-1).d-v.at(0).d >= v.minSpan {
		h := v.hull[:0]
		mean := 0.0
		for i := range n {
			p := v.at(i)
			mean += p.d
			for len(h) >= 2 && cross(h[len(h)-2], h[len(h)-1], p) <= 0 {
				h = h[:len(h)-1]
			}
			h = append(h, p)
		}
		v.hull = h
		mean /= float64(n)
		beta = hullSlope(h, mean, v.prior)
		v.estimated = true
	}
	v.beta = math.Max(-v.maxDrift, math.Min(v.maxDrift, beta))
	v.alphaC = math.Inf(1)
	for i := range n {
		p := v.at(i)
		v.alphaC = min(v.alphaC, p.o-v.beta*p.d)
	}
}

// cross is positive when a→b→c turns counter-clockwise (c above a→b).
func cross(a, b, c point) float64 {
	return (b.d-a.d)*(c.o-a.o) - (b.o-a.o)*(c.d-a.d)
}

// hullSlope returns the slope of the lower hull h at device time x: the
// edge spanning x; at a vertex, where any slope between its two edges is
// optimal, the one nearest prior.
func hullSlope(h []point, x, prior float64) float64 {
	if len(h) < 2 {
		return prior
	}
	slope := func(j int) float64 { return (h[j+1].o - h[j].o) / (h[j+1].d - h[j].d) }
	j := 0
	for j < len(h)-2 && h[j+1].d <= x {
		j++
	}
	if j > 0 && h[j].d == x {
		return math.Max(slope(j-1), math.Min(slope(j), prior))
	}
	return slope(j)
}

// spread returns the median height of the completed blocks' minima above
// the line: how far the envelope itself wanders (0 without blocks).
func (v *envelope) spread() float64 {
	if v.count == 0 {
		return 0
	}
	h := make([]float64, v.count)
	for i := range h {
		p := v.at(i)
		h[i] = p.o - v.line(p.d)
	}
	slices.Sort(h)
	return h[len(h)/2]
}

package offline

import (
	"math"
	"slices"
)

// analogEvents finds events in a marker column that moves between two
// levels with noise on both (an analogue photosensor, a trigger line read
// by an ADC): the threshold between the levels is Otsu's (1979) on the
// histogram of the column clipped to its 0.1–99.9 % quantiles (so a few
// spikes cannot become a level of their own), the level held most of the
// time is rest, and the column counts as at the other level from where it
// passes 75 % of the way there until it falls back under 75 % (hysteresis:
// noise around either level never crosses both bands). An event starts at
// the last sample still within 25 % of rest before that crossing, so a
// slow edge is timed from where it left rest, and lasts until the level is
// left again; one held for under 10 ms (and 2 samples) is a spike, not an
// event. Labels are the other level, rounded to a twentieth of the
// step between the two. A column whose two classes are not well apart
// (less than 5 within-class standard deviations: noise only, no levels) has
// no events. NaN counts as rest.
func analogEvents(v []float64, rate float64) []Event {
	var vals []float64
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			vals = append(vals, x)
		}
	}
	if len(vals) < 2 {
		return nil
	}
	slices.Sort(vals)
	lo := vals[int(0.001*float64(len(vals)-1))]
	hi := vals[int(math.Ceil(0.999*float64(len(vals)-1)))]
	if !(hi > lo) {
		return nil
	}
	// Otsu on a 256-bin histogram.
	const bins = 256
	var hist [bins]float64
	var sum [bins]float64
	bin := func(x float64) int {
		return min(bins-1, max(0, int((x-lo)/(hi-lo)*bins)))
	}
	for _, x := range vals {
		x = min(max(x, lo), hi)
		b := bin(x)
		hist[b]++
		sum[b] += x
	}
	total, all := float64(len(vals)), 0.0
	for b := range bins {
		all += sum[b]
	}
	best, cut := -1.0, 0
	w0, s0 := 0.0, 0.0
	for b := 0; b < bins-1; b++ {
		w0 += hist[b]
		s0 += sum[b]
		w1 := total - w0
		if w0 == 0 || w1 == 0 {
			continue
		}
		m0, m1 := s0/w0, (all-s0)/w1
		if between := w0 * w1 * (m1 - m0) * (m1 - m0); between > best {
			best, cut = between, b
		}
	}
	if best < 0 {
		return nil
	}
	// The two classes: means, spread, and which is rest.
	var n0, n1, m0, m1 float64
	for _, x := range vals {
		x = min(max(x, lo), hi)
		if bin(x) <= cut {
			n0++
			m0 += x
		} else {
			n1++
			m1 += x
		}
	}
	m0, m1 = m0/n0, m1/n1
	var ss float64
	for _, x := range vals {
		x = min(max(x, lo), hi)
		if bin(x) <= cut {
			ss += (x - m0) * (x - m0)
		} else {
			ss += (x - m1) * (x - m1)
		}
	}
	within := math.Sqrt(ss / total)
	if m1-m0 < 5*within {
		return nil
	}
	rest, other := m0, m1
	if n1 > n0 {
		rest, other = m1, m0
	}
	// along is how far x is from rest toward the other level (0 at rest, 1
	// there).
	along := func(x float64) float64 {
		if math.IsNaN(x) {
			return 0
		}
		return (x - rest) / (other - rest)
	}
	res := (m1 - m0) / 20
	minHold := max(2, int(math.Round(0.01*rate)))
	var out []Event
	lastRest := -1 // last sample within 25 % of rest
	for i := 0; i < len(v); i++ {
		a := along(v[i])
		if a <= 0.25 {
			lastRest = i
		}
		if a < 0.75 {
			continue
		}
		on := lastRest + 1
		j := i
		var at []float64
		for ; j < len(v) && along(v[j]) >= 0.75; j++ {
			at = append(at, v[j])
		}
		if len(at) < minHold {
			i = j - 1
			continue // a spike
		}
		slices.Sort(at)
		label := math.Round(at[len(at)/2]/res) * res
		if label == 0 {
			label = 0 // not -0
		}
		out = append(out, Event{Index: int64(on), Duration: int64(j - on), Label: fmtVal(roundSig(label, res))})
		// Back at rest before the next event can start.
		for j < len(v) && along(v[j]) > 0.25 {
			j++
		}
		lastRest = j
		i = j
	}
	return out
}

// roundSig drops the binary noise of a value rounded to a multiple of res
// (0.30000000000000004 → 0.3).
func roundSig(x, res float64) float64 {
	d := max(0, math.Ceil(-math.Log10(res))) + 1
	p := math.Pow(10, d)
	return math.Round(x*p) / p
}

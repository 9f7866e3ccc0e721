package hrv

import (
	"fmt"
	"math"
	"sort"
)

// The spectrum is the Lomb–Scargle periodogram (Lomb 1976; Scargle 1982) of
// the NN series at its own, uneven, times: no resampling. Interpolating to
// an even grid (for Welch's method) low-passes the series, lowering HF, and
// has to invent values across gaps and dropped intervals; Lomb–Scargle
// simply has no samples there, which is why it is recommended for RR series
// with missing beats (Clifford & Tarassenko 2005, IEEE Trans. Biomed. Eng.
// 52(4):630–638). Powers are scaled so that the periodogram integrates to
// the series' variance, as a Welch PSD does: band powers are in ms².
//
// The frequencies are a fixed grid of bin centres, df apart, from LFLow to
// HFHigh; each band's power is the sum of its bins times df.
const (
	df    = 0.001
	nBins = 360 // (HFHigh − LFLow) / df
	nLF   = 110 // (LFHigh − LFLow) / df
)

// lomb is the scratch space of one periodogram.
type lomb struct {
	yc, ys, c2, s2 [nBins]float64
}

// freqDomain returns LF, HF and LF/HF of the intervals, or why not.
func freqDomain(nn []NN, o Options) (Freq, string) {
	t0, t1 := nn[0].Start, nn[len(nn)-1].End
	span := t1 - t0
	nseg, seglen := 1, span
	if span > o.Segment {
		nseg, seglen = int(math.Ceil(span/o.Segment)), o.Segment
	}
	need := max(o.MinFreq, seglen/2)
	var l lomb
	var lf, hf float64
	used := 0
	for k := range nseg {
		a := t0
		if nseg > 1 {
			// Segments spread evenly from start to end, overlapping just
			// enough to cover the window.
			a = t0 + (span-seglen)*float64(k)/float64(nseg-1)
		}
		b := a + seglen
		lo := sort.Search(len(nn), func(i int) bool { return nn[i].Start >= a-1e-9 })
		hi := sort.Search(len(nn), func(i int) bool { return nn[i].End > b+1e-9 })
		if hi-lo < 8 {
			continue
		}
		covered := 0.0
		for _, v := range nn[lo:hi] {
			covered += v.Length
		}
		if covered < need {
			continue
		}
		sl, sh := l.bands(nn[lo:hi])
		lf += sl
		hf += sh
		used++
	}
	if used == 0 {
		return Freq{}, fmt.Sprintf("not enough data: no %.0f s stretch with %.0f s of NN intervals", seglen, need)
	}
	lf /= float64(used)
	hf /= float64(used)
	if !(hf > 0) || math.IsNaN(lf) || math.IsInf(lf, 0) || math.IsInf(hf, 0) {
		return Freq{}, "no power in the HF band"
	}
	return Freq{LF: lf, HF: hf, LFHF: lf / hf, Segments: used, Method: Method}, ""
}

// bands returns the LF and HF power (ms²) of the intervals, placed at the
// beat that ends each, linearly detrended.
func (l *lomb) bands(nn []NN) (lf, hf float64) {
	n := len(nn)
	t0 := nn[0].End
	// Least-squares line through (t, y), removed so the trend's leakage
	// does not land in LF.
	var st, sy float64
	for _, v := range nn {
		st += v.End - t0
		sy += v.Length
	}
	tm, ym := st/float64(n), sy/float64(n)
	var stt, sty float64
	for _, v := range nn {
		dt := v.End - t0 - tm
		stt += dt * dt
		sty += dt * (v.Length - ym)
	}
	slope := 0.0
	if stt > 0 {
		slope = sty / stt
	}
	l.yc, l.ys, l.c2, l.s2 = [nBins]float64{}, [nBins]float64{}, [nBins]float64{}, [nBins]float64{}
	const w0, dw = 2 * math.Pi * (LFLow + df/2), 2 * math.Pi * df
	for _, v := range nn {
		t := v.End - t0
		y := 1000 * (v.Length - ym - slope*(t-tm))
		// cos and sin of ωt along the grid by rotation: 4 trig calls per
		// interval instead of 2 per bin.
		c, s := math.Cos(w0*t), math.Sin(w0*t)
		dc, ds := math.Cos(dw*t), math.Sin(dw*t)
		for k := range nBins {
			l.yc[k] += y * c
			l.ys[k] += y * s
			l.c2[k] += c*c - s*s
			l.s2[k] += 2 * c * s
			c, s = c*dc-s*ds, s*dc+c*ds
		}
	}
	// P(ω) = ½[(Σy cos ω(t−τ))² / Σcos² ω(t−τ) + (Σy sin ω(t−τ))² / Σsin² ω(t−τ)],
	// τ chosen so the two terms decouple: tan 2ωτ = Σ sin 2ωt / Σ cos 2ωt.
	// The one-sided density is P·2T/N, T the span covered by the N points.
	span := (nn[n-1].End - t0) * float64(n) / float64(n-1)
	scale := 2 * span / float64(n) * df
	half := float64(n) / 2
	for k := range nBins {
		r := math.Hypot(l.c2[k], l.s2[k])
		phi := math.Atan2(l.s2[k], l.c2[k]) / 2 // ωτ
		ct, stau := math.Cos(phi), math.Sin(phi)
		yc := ct*l.yc[k] + stau*l.ys[k]
		ys := ct*l.ys[k] - stau*l.yc[k]
		cc, ss := half+r/2, half-r/2
		p := 0.0
		if cc > 1e-9*half {
			p += yc * yc / cc
		}
		if ss > 1e-9*half {
			p += ys * ys / ss
		}
		p *= 0.5 * scale
		if k < nLF {
			lf += p
		} else {
			hf += p
		}
	}
	return lf, hf
}

// Package dsp holds the small filters the physiology stages share: Butterworth
// biquad cascades (causal, and zero-phase for offline use) and O(1) moving
// windows. Everything works sample by sample without allocation.
package dsp

import "math"

// Biquad is one second-order IIR section in transposed direct form II, which
// keeps float64 state well conditioned even for low cut-offs at high rates.
type Biquad struct {
	b0, b1, b2, a1, a2 float64
	z1, z2             float64
}

// Step filters one sample.
func (q *Biquad) Step(x float64) float64 {
	y := q.b0*x + q.z1
	q.z1 = q.b1*x - q.a1*y + q.z2
	q.z2 = q.b2*x - q.a2*y
	return y
}

// gain is the section's response to a constant input.
func (q *Biquad) gain() float64 { return (q.b0 + q.b1 + q.b2) / (1 + q.a1 + q.a2) }

// settle sets the state to the steady state for a constant input x, so a
// filter started on a signal far from zero does not ring.
func (q *Biquad) settle(x float64) float64 {
	y := q.gain() * x
	q.z2 = q.b2*x - q.a2*y
	q.z1 = q.b1*x - q.a1*y + q.z2
	return y
}

// Coefficients follow the bilinear transform with frequency pre-warping (the
// "Audio EQ Cookbook" forms), normalised so a0 = 1.
func section(highpass bool, fc, fs, q float64) Biquad {
	w := 2 * math.Pi * fc / fs
	cw, sw := math.Cos(w), math.Sin(w)
	alpha := sw / (2 * q)
	a0 := 1 + alpha
	var b0, b1, b2 float64
	if highpass {
		b0, b1, b2 = (1+cw)/2, -(1 + cw), (1+cw)/2
	} else {
		b0, b1, b2 = (1-cw)/2, 1-cw, (1-cw)/2
	}
	return Biquad{b0: b0 / a0, b1: b1 / a0, b2: b2 / a0, a1: -2 * cw / a0, a2: (1 - alpha) / a0}
}

// Filter is a cascade of biquads: a Butterworth low-pass, high-pass or
// band-pass of even order.
type Filter struct{ s []Biquad }

// butterQ returns the Q of each second-order section of an even-order
// Butterworth filter: poles at angles (2k-1)π/(2n) from the real axis.
func butterQ(order int) []float64 {
	order = max(2, order+order%2)
	qs := make([]float64, order/2)
	for k := range qs {
		qs[k] = 1 / (2 * math.Cos(float64(2*k+1)*math.Pi/float64(2*order)))
	}
	return qs
}

// clampFc keeps a cut-off strictly inside (0, fs/2) so the design never
// degenerates on a low sampling rate.
func clampFc(fc, fs float64) float64 { return min(max(fc, 1e-6*fs), 0.45*fs) }

// LowPass returns a Butterworth low-pass of the given even order.
func LowPass(fc, fs float64, order int) Filter {
	var f Filter
	for _, q := range butterQ(order) {
		f.s = append(f.s, section(false, clampFc(fc, fs), fs, q))
	}
	return f
}

// HighPass returns a Butterworth high-pass of the given even order.
func HighPass(fc, fs float64, order int) Filter {
	var f Filter
	for _, q := range butterQ(order) {
		f.s = append(f.s, section(true, clampFc(fc, fs), fs, q))
	}
	return f
}

// BandPass is a high-pass at lo followed by a low-pass at hi, each of the
// given even order.
func BandPass(lo, hi, fs float64, order int) Filter {
	f := HighPass(lo, fs, order)
	f.s = append(f.s, LowPass(hi, fs, order).s...)
	return f
}

// Step filters one sample through the cascade.
func (f *Filter) Step(x float64) float64 {
	for i := range f.s {
		x = f.s[i].Step(x)
	}
	return x
}

// Settle puts the cascade in the steady state for a constant input x and
// returns the output there.
func (f *Filter) Settle(x float64) float64 {
	for i := range f.s {
		x = f.s[i].settle(x)
	}
	return x
}

// Healthy reports whether the state is finite; a caller resets on false so one
// overflow cannot poison a filter forever.
func (f *Filter) Healthy() bool {
	for i := range f.s {
		if math.IsNaN(f.s[i].z1+f.s[i].z2) || math.IsInf(f.s[i].z1+f.s[i].z2, 0) {
			return false
		}
	}
	return true
}

// ButterDelay is the low-frequency group delay, in seconds, of an even-order
// Butterworth low-pass at fc: the sum over its sections of 1/(Q·ωc). Causal
// stages subtract it so event times line up with the unfiltered signal.
func ButterDelay(fc float64, order int) float64 {
	d := 0.0
	for _, q := range butterQ(order) {
		d += 1 / (q * 2 * math.Pi * fc)
	}
	return d
}

// FiltFilt runs f forward then backward over x (zero phase, squared
// magnitude), in place. The ends are padded with an odd reflection of pad
// samples and the filter started in its steady state there, so edges do not
// ring. f's state is clobbered. Only the pads are allocated (not a padded
// copy of x), so a long x costs no second copy.
func FiltFilt(f Filter, x []float64, pad int) {
	n := len(x)
	if n == 0 {
		return
	}
	pad = min(max(pad, 0), n-1)
	head, tail := make([]float64, pad), make([]float64, pad)
	for i := 0; i < pad; i++ {
		head[i] = 2*x[0] - x[pad-i]
		tail[i] = 2*x[n-1] - x[n-2-i]
	}
	// The padded signal is head, x, tail.
	parts := [3][]float64{head, x, tail}
	if pad > 0 {
		f.Settle(head[0])
	} else {
		f.Settle(x[0])
	}
	for _, p := range parts {
		for i, v := range p {
			p[i] = f.Step(v)
		}
	}
	if pad > 0 {
		f.Settle(tail[pad-1])
	} else {
		f.Settle(x[n-1])
	}
	for k := 2; k >= 0; k-- {
		p := parts[k]
		for i := len(p) - 1; i >= 0; i-- {
			p[i] = f.Step(p[i])
		}
	}
}

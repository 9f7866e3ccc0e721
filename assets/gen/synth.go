package main

import "math"

// Sounds are built from noise and sines. Every random number comes from a
// seeded rng, so the files are the same on every run.

// svf is a state-variable filter (trapezoidal form), stable while its
// frequency moves, which the pour's rising resonance needs.
type svf struct{ ic1, ic2 float64 }

// run filters one sample at centre fc (Hz) and quality q, returning the
// low-, band- and high-pass outputs.
func (f *svf) run(v0, fc, q float64) (lp, bp, hp float64) {
	g := math.Tan(math.Pi * math.Min(fc, sampleRate*0.45) / sampleRate)
	k := 1 / q
	a1 := 1 / (1 + g*(g+k))
	a2 := g * a1
	a3 := g * a2
	v3 := v0 - f.ic2
	v1 := a1*f.ic1 + a2*v3
	v2 := f.ic2 + a2*f.ic1 + a3*v3
	f.ic1 = 2*v1 - f.ic1
	f.ic2 = 2*v2 - f.ic2
	return v2, v1, v0 - k*v1 - v2
}

// onePole is a gentle low-pass used to smooth random control signals.
type onePole struct{ y float64 }

func (p *onePole) run(x, fc float64) float64 {
	a := 1 - math.Exp(-2*math.Pi*fc/sampleRate)
	p.y += a * (x - p.y)
	return p.y
}

func secs(s float64) int { return int(s * sampleRate) }

// normalize scales s so its peak is at db dBFS.
func normalize(s []float64, db float64) []float64 {
	peak := 0.0
	for _, v := range s {
		peak = math.Max(peak, math.Abs(v))
	}
	if peak == 0 {
		return s
	}
	k := math.Pow(10, db/20) / peak
	for i := range s {
		s[i] *= k
	}
	return s
}

// fadeEnds ramps the first and last samples so the sound starts and stops
// without a click.
func fadeEnds(s []float64, in, out float64) {
	ni, no := secs(in), secs(out)
	for i := 0; i < ni && i < len(s); i++ {
		s[i] *= smooth(float64(i) / float64(ni))
	}
	for i := 0; i < no && i < len(s); i++ {
		s[len(s)-1-i] *= smooth(float64(i) / float64(no))
	}
}

// clinkInto adds the ring of a glass struck at sample at: a few inharmonic
// partials (glass modes do not sit on a harmonic series), each a pair of
// slightly detuned sines so they beat, decaying at their own rates, plus a
// short bright tick for the strike. Samples past the end wrap round when
// wrap is set, for loops.
func clinkInto(s []float64, at int, f0, amp float64, r *rng, wrap bool) {
	ratios := []float64{1, 1.594, 2.42, 3.31, 4.53}
	decays := []float64{0.55, 0.38, 0.24, 0.15, 0.08}
	gains := []float64{1, 0.7, 0.5, 0.32, 0.2}
	n := secs(1.4)
	release := secs(0.3) // the ring is cut short smoothly, not clipped
	put := func(i int, v float64) {
		j := at + i
		if wrap {
			j %= len(s)
		}
		if j >= 0 && j < len(s) {
			s[j] += v
		}
	}
	for p := range ratios {
		f := f0 * ratios[p] * (1 + r.rangef(-0.004, 0.004))
		beat := r.rangef(1.5, 4)
		ph := r.rangef(0, 2*math.Pi)
		for i := 0; i < n; i++ {
			t := float64(i) / sampleRate
			env := math.Exp(-t/decays[p]) * (1 - math.Exp(-t*3000))
			if i > n-release {
				env *= smooth(float64(n-i) / float64(release))
			}
			v := math.Sin(2*math.Pi*f*t+ph) + 0.6*math.Sin(2*math.Pi*(f+beat)*t)
			put(i, amp*gains[p]*env*v/1.6)
		}
	}
	var hp svf
	for i := 0; i < secs(0.006); i++ {
		_, _, h := hp.run(r.float()*2-1, 5000, 0.7)
		put(i, amp*0.5*h*math.Exp(-float64(i)/40))
	}
}

// synthPour is beer poured into a glass: a noisy stream through a resonance
// that rises as the air column above the beer shortens, gurgling at the
// start, then fizz that carries on after the pour stops.
func synthPour() []float64 {
	const dur, pourEnd = 4.0, 3.2
	s := make([]float64, secs(dur))
	r := newRNG(101)
	var res1, res2, hiss svf
	var glug, wob onePole
	for i := range s {
		t := float64(i) / sampleRate
		noise := r.float()*2 - 1
		prog := clamp(t/pourEnd, 0, 1)
		fc := 380 * math.Pow(5.2, prog) // the pitch rises ~2.4 octaves as the glass fills
		g := glug.run(r.float(), 14)
		fc *= 1 + 0.25*(wob.run(r.float()-0.5, 6))
		_, b1, _ := res1.run(noise, fc, 7)
		_, b2, _ := res2.run(noise, fc*2.1, 5)
		_, h, _ := hiss.run(noise, 4500, 0.9) // splash, kept below the highest octaves
		env := smooth(t/0.12) * (1 - smooth((t-pourEnd)/0.25))
		gurgle := 0.55 + 0.9*g*(1-prog*0.6)
		s[i] = env * (gurgle*(b1*1.0+b2*0.45) + h*0.1)
	}
	// Fizz: tiny bubbles bursting, more as the head builds, dying away.
	var fz svf
	for i := range s {
		t := float64(i) / sampleRate
		rate := 60 + 700*smooth(t/pourEnd)
		if t > pourEnd {
			rate *= math.Exp(-(t - pourEnd) / 0.45)
		}
		if r.float() < rate/sampleRate {
			a := r.rangef(0.03, 0.12)
			f := r.rangef(3000, 9000)
			for k := 0; k < 160 && i+k < len(s); k++ {
				s[i+k] += a * math.Sin(2*math.Pi*f*float64(k)/sampleRate) * math.Exp(-float64(k)/25)
			}
		}
		_, _, h := fz.run(r.float()*2-1, 6000, 0.7)
		s[i] += h * 0.012 * smooth(t/pourEnd) * math.Exp(-math.Max(0, t-pourEnd)/0.5)
	}
	fadeEnds(s, 0.01, 0.15)
	return normalize(s, -3)
}

// synthClink is two glasses touching: the ring of both, a little apart in
// pitch, and a faint second touch as they part.
func synthClink() []float64 {
	s := make([]float64, secs(1.5))
	r := newRNG(202)
	clinkInto(s, secs(0.01), 2240, 1, r, false)
	clinkInto(s, secs(0.012), 2710, 0.8, r, false)
	clinkInto(s, secs(0.085), 2240, 0.18, r, false)
	fadeEnds(s, 0.002, 0.08)
	return normalize(s, -3)
}

// synthBar is a loop of bar ambience: many far voices (noise through
// moving formant filters, gated into syllables and phrases), room rumble,
// and now and then a glass. It is made longer than the loop and its tail is
// cross-faded into its head, so the seam cannot be heard.
func synthBar() []float64 {
	const loop, xfade = 8.0, 1.0
	n, nx := secs(loop), secs(xfade)
	s := make([]float64, n+nx)
	r := newRNG(303)
	for v := 0; v < 14; v++ {
		var f1, f2 svf
		var gate, form onePole
		pitch := r.rangef(0.8, 1.3)
		talking := r.float() < 0.6
		level := r.rangef(0.4, 1)
		next := 0
		for i := range s {
			if i >= next { // a talker speaks in phrases with pauses between
				talking = !talking
				if talking {
					next = i + secs(r.rangef(0.8, 2.6))
				} else {
					next = i + secs(r.rangef(0.3, 1.5))
				}
			}
			syl := 0.0
			if talking {
				syl = math.Max(0, math.Sin(2*math.Pi*float64(i)/sampleRate*4.3*pitch+float64(v)))
			}
			g := gate.run(syl, 9)
			fm := form.run(r.float(), 3)
			noise := r.float()*2 - 1
			_, b1, _ := f1.run(noise, (350+500*fm)*pitch, 4)
			_, b2, _ := f2.run(noise, (1100+900*fm)*pitch, 5)
			s[i] += level * g * (b1 + 0.4*b2)
		}
	}
	var rumble, rumble2 svf
	var air svf
	for i := range s {
		noise := r.float()*2 - 1
		lp, _, _ := rumble.run(noise, 180, 0.7)
		lp, _, _ = rumble2.run(lp, 180, 0.7)
		s[i] += lp * 1.2
		l, _, _ := air.run(s[i], 2600, 0.7) // a far room: the highs go first
		s[i] = l
	}
	// Glasses, kept clear of the cross-fade so each rings whole.
	for _, c := range [][2]float64{{1.7, 2600}, {3.9, 2150}, {4.05, 2480}, {6.3, 2900}} {
		clinkInto(s, secs(c[0]), c[1], 0.22, r, false)
	}
	out := make([]float64, n)
	copy(out, s[:n])
	for i := 0; i < nx; i++ {
		// Equal-power cross-fade: the two noises are unrelated, so their
		// powers add.
		a := float64(i) / float64(nx) * math.Pi / 2
		out[i] = s[i]*math.Sin(a) + s[n+i]*math.Cos(a)
	}
	return normalize(out, -6)
}

// calmLoop is the length of calm.wav in seconds.
const calmLoop = 8.0

// synthCalm is a soft pad: a few sines of a D major chord, each swelling in
// its own slow cycle. Every frequency and cycle divides the loop length, so
// the loop joins exactly.
func synthCalm() []float64 {
	s := make([]float64, secs(calmLoop))
	for i := range s {
		s[i] = calmAt(float64(i) / sampleRate)
	}
	return normalize(s, -6)
}

// calmAt is the pad at time t, periodic in calmLoop.
func calmAt(t float64) float64 {
	// Multiples of 1/8 Hz, close to D3, A3, D4, F#4, A4.
	freqs := [...]float64{146.875, 220, 293.625, 370, 440}
	gains := [...]float64{1, 0.7, 0.5, 0.32, 0.22}
	phases := [...]float64{0, 1.3, 2.9, 4.2, 5.5}
	v := 0.0
	for k, f := range freqs {
		swell := 0.55 + 0.45*math.Sin(2*math.Pi*t/calmLoop+phases[k])
		// Two voices an eighth of a hertz apart beat once per loop.
		tone := math.Sin(2*math.Pi*f*t) + math.Sin(2*math.Pi*(f+0.125)*t+phases[k])
		tone += 0.12 * math.Sin(2*math.Pi*2*f*t)
		v += gains[k] * swell * tone
	}
	return v * (0.85 + 0.15*math.Sin(2*math.Pi*t/(calmLoop/2)))
}

package synth

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/cueroom/cueroom/sensors"
)

// PulseTransit is the delay from a heartbeat (R peak) to the arrival of its
// pulse wave at the finger, where PPG sensors sit.
const PulseTransit = 200 * time.Millisecond

// optical is the state of the optical signals. It draws from its own random
// source so that adding it left the ECG and EDA of every seed unchanged.
type optical struct {
	rng        *rand.Rand
	fingerOut  bool
	spo2Ph     [2]float64
	nextMotion float64 // time of the next random motion artefact
	motion     burst

	// The schedule (Config.FingerOutAt, MotionAt) and how far it has run.
	fingerEdges []edge
	motions     []Window
	nf, nm      int
}

// edge is a scheduled change of the finger's place.
type edge struct {
	at  float64
	out bool
}

// burst is one motion artefact: a slow, large swing of the PPG baseline
// (the probe moving on the finger) and a smaller one of skin conductance
// (electrode pressure).
type burst struct {
	from, to    float64
	amp, f1, f2 float64
	ph1, ph2    float64
}

func (o *optical) init(cfg Config) {
	o.rng = rand.New(rand.NewPCG(cfg.Seed^0x5eed0b71ca1, cfg.Seed+0x9bb))
	o.spo2Ph = [2]float64{o.rng.Float64() * 2 * math.Pi, o.rng.Float64() * 2 * math.Pi}
	o.nextMotion = math.Inf(1)
	if cfg.MotionPerMin > 0 {
		o.nextMotion = o.rng.ExpFloat64() * 60 / cfg.MotionPerMin
	}
	for _, w := range cfg.FingerOutAt {
		o.fingerEdges = append(o.fingerEdges, edge{at: w.From.Seconds(), out: true})
		if w.To > 0 {
			o.fingerEdges = append(o.fingerEdges, edge{at: w.To.Seconds()})
		}
	}
	// Stable: a window's end stays before a next window starting then.
	slices.SortStableFunc(o.fingerEdges, func(a, b edge) int { return cmp.Compare(a.at, b.at) })
	for _, w := range cfg.MotionAt {
		if w.To > w.From {
			o.motions = append(o.motions, w)
		}
	}
	slices.SortStableFunc(o.motions, func(a, b Window) int { return cmp.Compare(a.From, b.From) })
}

// schedule applies the scheduled faults due by t. A SetFingerOut call
// holds until the next scheduled change.
func (o *optical) schedule(t float64) {
	for ; o.nf < len(o.fingerEdges) && t >= o.fingerEdges[o.nf].at; o.nf++ {
		o.fingerOut = o.fingerEdges[o.nf].out
	}
	for ; o.nm < len(o.motions) && t >= o.motions[o.nm].From.Seconds(); o.nm++ {
		w := o.motions[o.nm]
		o.newBurst(w.From.Seconds(), (w.To - w.From).Seconds())
	}
}

func (o *optical) newBurst(from, d float64) {
	o.motion = burst{from: from, to: from + d,
		amp: 1 + 2*o.rng.Float64(), f1: 0.3 + 1.2*o.rng.Float64(), f2: 1.5 + 2*o.rng.Float64(),
		ph1: o.rng.Float64() * 2 * math.Pi, ph2: o.rng.Float64() * 2 * math.Pi}
}

// swing is the artefact at t (0 outside the burst), in PPG pulse amplitudes.
func (b *burst) swing(t float64) float64 {
	if t < b.from || t >= b.to {
		return 0
	}
	env := math.Sin(math.Pi * (t - b.from) / (b.to - b.from)) // no step at either end
	return env * b.amp * (math.Sin(2*math.Pi*b.f1*t+b.ph1) + 0.5*math.Sin(2*math.Pi*b.f2*t+b.ph2))
}

// SetFingerOut takes the finger out of the probe (or puts it back): the PPG
// goes flat and no pulses arrive, as an oximeter or a PulseSensor would see.
func (g *Generator) SetFingerOut(out bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.opticsInit()
	g.opt.fingerOut = out
}

// Motion starts a motion artefact lasting d from the generator's current
// time: large slow swings of the PPG and small ones of skin conductance.
func (g *Generator) Motion(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.opticsInit()
	g.opt.newBurst(g.t, max(d.Seconds(), 0))
}

func (g *Generator) opticsInit() {
	if g.opt.rng == nil {
		g.opt.init(g.cfg)
	}
}

// optics fills p's optical fields at time t (the step just taken) and
// returns the motion artefact to add to skin conductance (µS).
//
// A pulse is two Gaussian waves after its foot: the systolic peak and the
// smaller diastolic wave past the dicrotic notch, the latter moving with the
// RR interval as the T wave does. Breathing modulates amplitude and baseline.
func (g *Generator) optics(p *Point, t, step float64) (edaArtefact float64) {
	g.opticsInit()
	o := &g.opt
	o.schedule(t)
	for t >= o.nextMotion {
		o.newBurst(o.nextMotion, 1+3*o.rng.Float64())
		o.nextMotion += o.rng.ExpFloat64() * 60 / g.cfg.MotionPerMin
	}
	ptt := PulseTransit.Seconds()
	var v float64
	for _, b := range g.recent {
		foot := b.t + ptt
		if foot > t-step && foot <= t {
			p.Pulse = true
		}
		u := t - foot
		if u < -0.1 || u > 1.6 {
			continue
		}
		q := math.Sqrt(b.rr)
		v += b.amp * (gauss(u, 0.14, 0.05, 1) + gauss(u, 0.14+0.3*q, 0.085*q, 0.45))
	}
	br := g.breath(t)
	v = v*(1+0.08*br) + 0.06*br + g.cfg.PPGNoise*o.rng.NormFloat64()
	sw := o.motion.swing(t)
	p.Motion = sw != 0
	v += sw
	spo2 := g.cfg.SpO2 + 0.5*math.Sin(2*math.Pi*t/53+o.spo2Ph[0]) + 0.3*math.Sin(2*math.Pi*t/17+o.spo2Ph[1])
	p.SpO2 = sensors.Percent(min(max(spo2, 50), 100))
	if o.fingerOut {
		v, p.Pulse = 0, false
	}
	p.PPG, p.FingerOut = v, o.fingerOut
	return 0.08 * sw
}

// Package synth generates physiologically plausible ECG and skin
// conductance, deterministic for a given seed, with the ground truth (beat
// times, SCR onsets) kept so detectors can be validated against it.
//
// Time is the generator's own: it advances only by Next(dt), so output does
// not depend on the wall clock. Stimulus and SetArousal are safe to call from
// other goroutines; their effect starts at the generator's current time.
package synth

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/cueroom/cueroom/sensors"
)

// Config tunes the generator. Zero fields take the default in brackets;
// where noted, a negative value switches the feature off.
type Config struct {
	Seed uint64

	HeartRate  float64 // resting heart rate, bpm [70]
	RSA        float64 // peak-to-peak heart-rate swing with breathing, bpm [6]; <0 none
	BreathRate float64 // breaths per minute [15]
	HRJitter   float64 // s.d. of beat-to-beat heart-rate noise, bpm [1.5]; <0 none
	ECGNoise   float64 // s.d. of ECG measurement noise, mV [0.01]; <0 none

	SCL               float64 // resting tonic skin conductance, µS [4]
	Drift             float64 // amplitude of the slow tonic drift, µS [0.6]; <0 none
	SpontaneousPerMin float64 // non-specific SCRs per minute at rest [2]; <0 none
	Response          float64 // SCR amplitude to a first stimulus, µS [0.8]
	Habituation       float64 // amplitude ratio from one stimulus to the next [0.7]
	EDANoise          float64 // s.d. of EDA measurement noise, µS [0.003]; <0 none

	// Optical signals (ppg.go).
	PPGNoise     float64 // s.d. of PPG noise, in pulse amplitudes [0.02]; <0 none
	SpO2         float64 // resting oxygen saturation, % [97.5]
	MotionPerMin float64 // random motion artefacts per minute [0: none]

	// Scheduled faults, in generator time (0 at New, so a simulator's
	// stream time): what SetFingerOut and Motion do, at set times, so a
	// simulated session can be written down and replayed.
	FingerOutAt []Window // the finger out of the probe; a zero To: for good
	MotionAt    []Window // motion artefacts; a window with no To is ignored
}

// Window is a stretch of generator time, From to To.
type Window struct{ From, To time.Duration }

func (c *Config) defaults() {
	def := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		} else if *p < 0 {
			*p = 0
		}
	}
	def(&c.HeartRate, 70)
	def(&c.RSA, 6)
	def(&c.BreathRate, 15)
	def(&c.HRJitter, 1.5)
	def(&c.ECGNoise, 0.01)
	def(&c.SCL, 4)
	def(&c.Drift, 0.6)
	def(&c.SpontaneousPerMin, 2)
	def(&c.Response, 0.8)
	def(&c.Habituation, 0.7)
	def(&c.EDANoise, 0.003)
	def(&c.PPGNoise, 0.02)
	def(&c.SpO2, 97.5)
	def(&c.MotionPerMin, 0)
}

// Point is one output sample with its ground-truth components.
type Point struct {
	T   time.Duration        // generator time
	ECG sensors.Millivolts   // what an ECG lead would read
	EDA sensors.Microsiemens // skin conductance: tonic + phasic + noise
	HR  sensors.BPM          // true instantaneous heart rate of the current beat
	SCL sensors.Microsiemens // true tonic level

	PPG       float64         // pulse wave, normalised: ≈0 at a pulse's foot, ≈1 at its systolic peak
	Pulse     bool            // a pulse wave's foot reached the finger during this step
	SpO2      sensors.Percent // true oxygen saturation
	FingerOut bool            // the finger is out of the probe: PPG is flat
	Motion    bool            // a motion artefact is under way (ground truth)
}

// SCR is one skin conductance response (ground truth).
type SCR struct {
	Onset      time.Duration
	Amplitude  sensors.Microsiemens
	Rise       time.Duration // onset to peak
	Recovery   time.Duration // exponential time constant after the peak
	Stimulus   bool          // elicited by Stimulus (else spontaneous)
	StimulusAt time.Duration // when Stimulus was called
}

// Generator produces the signals. Use New.
type Generator struct {
	mu  sync.Mutex
	cfg Config
	rng *rand.Rand

	t                  float64 // seconds
	target             float64 // arousal asked for, 0..1
	aroHR, aroSCL      float64 // arousal as the body follows it (lagged)
	breathPh, ph1, ph2 float64
	ou                 float64 // slow random walk of the tonic level

	beats   []float64 // R-peak times, including scheduled ones ahead of t
	recent  []beat    // the last few beats, for the waveform
	scrs    []SCR
	active  []scr
	stimuli int
	spont   float64 // time of the next spontaneous SCR

	opt optical // PPG, SpO2 and their faults (ppg.go)
}

type beat struct{ t, amp, rr float64 }

type scr struct{ onset, amp, rise, tau float64 }

// New returns a generator at time zero.
func New(cfg Config) *Generator {
	cfg.defaults()
	g := &Generator{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))}
	g.breathPh = g.rng.Float64() * 2 * math.Pi
	g.ph1 = g.rng.Float64() * 2 * math.Pi
	g.ph2 = g.rng.Float64() * 2 * math.Pi
	// The first beat falls somewhere in the first cardiac cycle.
	first := g.rng.Float64() * 60 / cfg.HeartRate
	g.beats = append(g.beats, first)
	g.recent = append(g.recent, beat{t: first, amp: g.rAmp(), rr: 60 / cfg.HeartRate})
	g.spont = g.nextSpont(0)
	return g
}

func (g *Generator) rAmp() float64 { return 1 + 0.03*g.rng.NormFloat64() }

func (g *Generator) nextSpont(from float64) float64 {
	if g.cfg.SpontaneousPerMin <= 0 {
		return math.Inf(1)
	}
	rate := g.cfg.SpontaneousPerMin / 60 * (1 + g.target)
	return from + g.rng.ExpFloat64()/rate
}

// SetArousal sets the arousal knob (0 rest .. 1 high). Heart rate follows
// within seconds (up to +25 bpm), tonic skin conductance within tens of
// seconds (up to +4 µS); SCRs grow and spontaneous ones become more frequent.
func (g *Generator) SetArousal(a float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.target = min(max(a, 0), 1)
}

// Stimulus marks a cue onset now. It schedules an SCR after a latency of
// 1–3 s, smaller with each repetition (habituation), and returns its onset.
func (g *Generator) Stimulus() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	lat := 1 + 2*g.rng.Float64()
	amp := g.cfg.Response * math.Pow(g.cfg.Habituation, float64(g.stimuli)) *
		(1 + 0.5*g.target) * (0.9 + 0.2*g.rng.Float64())
	g.stimuli++
	s := g.addSCR(g.t+lat, min(max(amp, 0.05), 1))
	s.Stimulus = true
	s.StimulusAt = dur(g.t)
	return s.Onset
}

func (g *Generator) addSCR(onset, amp float64) *SCR {
	x := scr{onset: onset, amp: amp, rise: 1 + g.rng.Float64(), tau: 3 + 5*g.rng.Float64()}
	g.active = append(g.active, x)
	g.scrs = append(g.scrs, SCR{Onset: dur(onset), Amplitude: sensors.Microsiemens(amp),
		Rise: dur(x.rise), Recovery: dur(x.tau)})
	return &g.scrs[len(g.scrs)-1]
}

// Now returns the generator's time.
func (g *Generator) Now() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return dur(g.t)
}

// Beats returns the R-peak times up to now.
func (g *Generator) Beats() []time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]time.Duration, 0, len(g.beats))
	for _, b := range g.beats {
		if b > g.t {
			break
		}
		out = append(out, dur(b))
	}
	return out
}

// SCRs returns every SCR so far, including those scheduled by a stimulus
// whose onset is still ahead, in the order they were created.
func (g *Generator) SCRs() []SCR {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.scrs)
}

// Next advances time by dt and returns the signals there.
func (g *Generator) Next(dt time.Duration) Point {
	g.mu.Lock()
	defer g.mu.Unlock()
	step := max(dt.Seconds(), 0)
	g.t += step
	t := g.t
	g.aroHR += (g.target - g.aroHR) * (1 - math.Exp(-step/5))
	g.aroSCL += (g.target - g.aroSCL) * (1 - math.Exp(-step/20))

	for g.beats[len(g.beats)-1] < t+0.4 {
		g.scheduleBeat()
	}
	for t >= g.spont {
		g.addSCR(g.spont, 0.05+0.25*g.rng.Float64())
		g.spont = g.nextSpont(g.spont)
	}
	ecg, hr := g.ecg(t)
	scl := g.tonic(t, step)
	eda := scl + g.phasic(t) + g.cfg.EDANoise*g.rng.NormFloat64()
	p := Point{T: dur(t), ECG: sensors.Millivolts(ecg), HR: sensors.BPM(hr), SCL: sensors.Microsiemens(scl)}
	eda += g.optics(&p, t, step)
	p.EDA = sensors.Microsiemens(max(eda, 0))
	return p
}

func (g *Generator) breath(t float64) float64 {
	return math.Sin(2*math.Pi*g.cfg.BreathRate/60*t + g.breathPh)
}

// scheduleBeat adds the beat after the last one. Heart rate rises with
// arousal and with inspiration (respiratory sinus arrhythmia).
func (g *Generator) scheduleBeat() {
	last := g.beats[len(g.beats)-1]
	hr := g.cfg.HeartRate + 25*g.aroHR + g.cfg.RSA/2*g.breath(last) + g.cfg.HRJitter*g.rng.NormFloat64()
	hr = min(max(hr, 35), 190)
	rr := 60 / hr
	b := beat{t: last + rr, amp: g.rAmp(), rr: rr}
	g.beats = append(g.beats, b.t)
	g.recent = append(g.recent, b)
	if len(g.recent) > 8 {
		g.recent = append(g.recent[:0], g.recent[len(g.recent)-8:]...)
	}
}

// A beat's waveform is a sum of Gaussians (P, Q, R, S, T) around its R peak;
// the T wave moves with the RR interval as the QT interval does.
func (g *Generator) ecg(t float64) (mv, hr float64) {
	hr = g.cfg.HeartRate
	for _, b := range g.recent { // ascending: the last beat at or before t sets hr
		u := t - b.t
		if u >= 0 {
			hr = 60 / b.rr
		}
		if u < -0.35 || u > 0.9 {
			continue
		}
		q := math.Sqrt(b.rr)
		mv += gauss(u, -0.160, 0.022, 0.12) +
			gauss(u, -0.028, 0.008, -0.10) +
			gauss(u, 0, 0.010, b.amp) +
			gauss(u, 0.030, 0.010, -0.22) +
			gauss(u, 0.26*q, 0.045*q, 0.28)
	}
	mv += 0.04 * g.breath(t)
	mv += g.cfg.ECGNoise * g.rng.NormFloat64()
	return mv, hr
}

func gauss(u, mu, w, a float64) float64 {
	d := (u - mu) / w
	return a * math.Exp(-d*d/2)
}

// tonic is the skin conductance level: baseline, slow drift (two slow
// oscillations and a mean-reverting random walk), and arousal.
func (g *Generator) tonic(t, step float64) float64 {
	d := g.cfg.Drift
	if step > 0 && d > 0 {
		const tau = 30.0
		g.ou += -g.ou*step/tau + 0.4*d*math.Sqrt(2*step/tau)*g.rng.NormFloat64()
	}
	v := g.cfg.SCL + d*(0.6*math.Sin(2*math.Pi*t/97+g.ph1)+0.4*math.Sin(2*math.Pi*t/231+g.ph2)) + g.ou + 4*g.aroSCL
	return max(v, 0.5)
}

// phasic sums the SCRs: a smooth rise to the peak, then exponential recovery.
func (g *Generator) phasic(t float64) float64 {
	sum := 0.0
	keep := g.active[:0]
	for _, s := range g.active {
		u := t - s.onset
		switch {
		case u < 0:
		case u < s.rise:
			sum += s.amp * (1 - math.Cos(math.Pi*u/s.rise)) / 2
		default:
			sum += s.amp * math.Exp(-(u-s.rise)/s.tau)
		}
		if u < s.rise+10*s.tau {
			keep = append(keep, s)
		}
	}
	g.active = keep
	return sum
}

func dur(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

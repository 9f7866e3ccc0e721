// Package testsig makes test recordings with known answers: ECG and skin
// conductance from the synth generator (its beats and SCRs are the ground
// truth) and a PPG built on the same beats, with extra noise as asked.
package testsig

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/cueroom/cueroom/sensors/synth"
)

// Config says what to make. Zero fields take the default in brackets.
type Config struct {
	Seed     uint64
	Rate     float64       // Hz [250]
	Duration time.Duration // [60 s]
	Synth    synth.Config  // Seed is taken from Seed
	PPGNoise float64       // s.d. of PPG noise, in pulse amplitudes [0]
	EDANoise float64       // extra s.d. of skin conductance noise, µS [0]
	Stimuli  []time.Duration
	// Arousal, if set, is the arousal knob over time (0 rest … 1 high).
	Arousal func(t time.Duration) float64
}

// PTT is the pulse transit time from R peak to the foot of the pulse, and
// SystolicDelay the time from the foot to the systolic peak.
const (
	PTT           = 0.20
	SystolicDelay = 0.12
)

// Rec is a recording and its truth.
type Rec struct {
	Rate          float64
	ECG, PPG, EDA []float64
	Beats         []float64 // R-peak times, s
	Pulses        []float64 // systolic peak times, s (Beats + PTT + SystolicDelay)
	SCRs          []synth.SCR
	Stimuli       []float64 // s
	HR            []float64 // true heart rate per sample
	SCL           []float64 // true tonic level per sample
}

// Make generates the recording.
func Make(c Config) Rec {
	if c.Rate <= 0 {
		c.Rate = 250
	}
	if c.Duration <= 0 {
		c.Duration = 60 * time.Second
	}
	sc := c.Synth
	sc.Seed = c.Seed
	g := synth.New(sc)
	rng := rand.New(rand.NewPCG(c.Seed+1, c.Seed^0x5bd1e995))
	n := int(c.Duration.Seconds() * c.Rate)
	dt := time.Duration(float64(time.Second) / c.Rate)
	r := Rec{Rate: c.Rate, ECG: make([]float64, n), EDA: make([]float64, n), HR: make([]float64, n), SCL: make([]float64, n)}
	stim := 0
	for i := range n {
		t := time.Duration(float64(i+1) * float64(time.Second) / c.Rate)
		if c.Arousal != nil {
			g.SetArousal(c.Arousal(t))
		}
		for stim < len(c.Stimuli) && c.Stimuli[stim] <= t {
			g.Stimulus()
			r.Stimuli = append(r.Stimuli, t.Seconds()-1/c.Rate)
			stim++
		}
		p := g.Next(dt)
		r.ECG[i] = float64(p.ECG)
		r.EDA[i] = float64(p.EDA) + c.EDANoise*rng.NormFloat64()
		r.HR[i] = float64(p.HR)
		r.SCL[i] = float64(p.SCL)
	}
	// Sample i is at time (i+1)/rate on the generator's clock: shift the
	// truth so it is in sample-index seconds (index/rate).
	off := 1 / c.Rate
	for _, b := range g.Beats() {
		r.Beats = append(r.Beats, b.Seconds()-off)
	}
	r.SCRs = g.SCRs()
	for i := range r.SCRs {
		r.SCRs[i].Onset -= time.Duration(off * float64(time.Second))
	}
	r.PPG = make([]float64, n)
	for _, b := range r.Beats {
		foot := b + PTT
		r.Pulses = append(r.Pulses, foot+SystolicDelay)
		lo := max(0, int((foot-0.2)*c.Rate))
		hi := min(n, int((foot+1.0)*c.Rate))
		for i := lo; i < hi; i++ {
			u := float64(i)/c.Rate - foot
			r.PPG[i] += gauss(u, SystolicDelay, 0.06, 1) + gauss(u, 0.38, 0.10, 0.35)
		}
	}
	for i := range r.PPG {
		t := float64(i) / c.Rate
		r.PPG[i] += 0.2*math.Sin(2*math.Pi*0.25*t) + c.PPGNoise*rng.NormFloat64()
	}
	// Drop truth past the end of the recording.
	end := float64(n) / c.Rate
	for len(r.Pulses) > 0 && r.Pulses[len(r.Pulses)-1] >= end {
		r.Pulses = r.Pulses[:len(r.Pulses)-1]
	}
	return r
}

func gauss(u, mu, w, a float64) float64 {
	d := (u - mu) / w
	return a * math.Exp(-d*d/2)
}

// Match pairs detected times with true ones within tol (all in seconds, both
// sorted) and returns the matched count and the absolute timing errors.
func Match(truth, got []float64, tol float64) (matched int, errs []float64) {
	j := 0
	for _, r := range truth {
		for j < len(got) && got[j] < r-tol {
			j++
		}
		if j < len(got) && math.Abs(got[j]-r) <= tol {
			matched++
			errs = append(errs, math.Abs(got[j]-r))
			j++
		}
	}
	return matched, errs
}

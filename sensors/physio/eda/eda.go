// Package eda follows skin conductance causally: it low-passes the signal,
// splits it into a tonic level (SCL) and a phasic part, and finds skin
// conductance responses (SCRs) with their onset, peak, amplitude, rise time
// and half-recovery time.
//
// SCRs are found trough to peak: the low-passed signal is followed with a
// small hysteresis; at each confirmed local maximum, the onset is the last
// point before the steepest rise where the slope was under 10 % of that
// steepest slope (so a slow tonic drift before the response is not counted),
// and the response is kept when its amplitude reaches the threshold (0.01 µS
// by default, absolute) and its rise time lies in [0.1 s, 7 s]. When the
// input is coarsely quantised, the threshold is raised to 1.5 quantisation
// steps, since smaller "responses" are only the last bit toggling; offline,
// a response under 0.05 µS made of one or two jumps of the raw signal is
// dropped too (dropSteps).
//
// The minimum amplitude is absolute by default: 0.01 µS, the criterion
// Boucsein (2012, Electrodermal Activity, 2nd ed.) gives for computerised
// scoring (0.05 µS is his figure for scoring by hand); the SPR committee's
// publication recommendations (Boucsein et al. 2012, Psychophysiology 49:
// 1017–1034) ask that the criterion used be reported, which Threshold does.
// Offline, Config.Relative adds a criterion relative to the recording's
// largest response (e.g. 0.1: 10 %), as NeuroKit2 and BIOPAC's AcqKnowledge
// offer; a live detector cannot know the largest response in advance and
// applies only the absolute one.
//
// The tonic level (SCL) is the low-passed conductance below TonicCutoff
// (0.05 Hz), the phasic part the rest: the "high-pass" decomposition of
// BIOPAC's AcqKnowledge and of NeuroKit2's eda_phasic (Makowski et al. 2021),
// here causal (a 2nd-order Butterworth low-pass) so it runs live. Offline,
// Decompose also offers cvxEDA (Greco et al. 2016).
//
// All times returned are corrected for the low-pass filter's delay.
package eda

import (
	"fmt"
	"math"
	"slices"

	"github.com/cueroom/cueroom/sensors/physio/internal/dsp"
)

// Config tunes the detector; zero fields take the default in brackets.
type Config struct {
	Threshold float64 // minimum SCR amplitude, µS [0.01]
	// Relative is a second minimum amplitude, as a fraction of the largest
	// SCR of the recording (0.1: 10 %); 0: none. Offline only (Find,
	// KeepAbove): a live detector cannot know the largest response.
	Relative    float64
	LowPass     float64 // low-pass cut-off, Hz [1]; lowered to 0.45·fs on slow streams
	MinRise     float64 // shortest rise time, s [0.1]
	MaxRise     float64 // longest rise time, s [7]
	TonicCutoff float64 // tonic level: the conductance below this, Hz [0.05]
}

func (c *Config) defaults() {
	if !(c.Threshold > 0) {
		c.Threshold = DefaultThreshold
	}
	if !(c.LowPass > 0) {
		c.LowPass = 1
	}
	if !(c.MinRise >= 0) || c.MinRise == 0 {
		c.MinRise = 0.1
	}
	if !(c.MaxRise > 0) {
		c.MaxRise = 7
	}
	if !(c.Relative > 0) || c.Relative > 1 {
		c.Relative = 0
	}
	if !(c.TonicCutoff > 0) {
		c.TonicCutoff = DefaultTonicCutoff
	}
}

// DefaultThreshold is the default minimum SCR amplitude, µS.
const DefaultThreshold = 0.01

// DefaultTonicCutoff is the default tonic/phasic boundary, Hz.
const DefaultTonicCutoff = 0.05

// SCR is one skin conductance response. Positions are fractional sample
// indices from the first sample, delay-corrected.
type SCR struct {
	Onset, Peak  float64
	OnsetLevel   float64 // µS at onset
	Amplitude    float64 // µS, peak minus onset level
	HalfRecovery float64 // samples from peak to half recovery; 0 until known
}

// Rise is the rise time in samples.
func (s SCR) Rise() float64 { return s.Peak - s.Onset }

// Event is something the detector found at this sample.
type Event struct {
	Recovered bool // false: a new SCR (at its peak); true: an earlier SCR reached half recovery
	SCR       SCR
}

// Levels are the current values, delayed by the low-pass filter (Delay).
type Levels struct {
	SC     float64 // low-passed skin conductance, µS
	SCL    float64 // tonic level: SC low-passed below TonicCutoff (lagging it by that filter's delay too), µS
	Phasic float64 // SC - SCL, µS; negative while SC falls below its recent level
}

// MinRate is the lowest sampling rate accepted.
const MinRate = 1

// Detector is the streaming EDA stage. Use New.
type Detector struct {
	cfg     Config
	fs      float64
	lp      dsp.Filter
	delay   float64 // samples
	ring    *dsp.Ring
	started bool
	n       int64
	prevX   float64
	quant   float64 // smallest non-zero step seen in the raw input
	fixedQ  bool    // quant was measured on the raw input (Find)

	rising   bool
	trough   float64
	troughAt int64
	peak     float64
	peakAt   int64

	tonic      dsp.Filter
	rec        SCR // SCR awaiting half recovery
	recActive  bool
	recLevel   float64
	recTimeout int64

	out []Event
}

// New returns a detector for skin conductance sampled at fs Hz.
func New(fs float64, cfg Config) (*Detector, error) {
	if !(fs >= MinRate) || math.IsInf(fs, 0) {
		return nil, fmt.Errorf("eda: sampling rate %g Hz is too low: need at least %d Hz", fs, MinRate)
	}
	cfg.defaults()
	fc := min(cfg.LowPass, 0.45*fs)
	d := &Detector{
		cfg:        cfg,
		fs:         fs,
		lp:         dsp.LowPass(fc, fs, 2),
		delay:      dsp.ButterDelay(fc, 2) * fs,
		ring:       dsp.NewRing(int((cfg.MaxRise+2)*fs) + 4),
		quant:      math.Inf(1),
		tonic:      dsp.LowPass(min(cfg.TonicCutoff, 0.45*fs), fs, 2),
		recTimeout: int64(60 * fs),
	}
	return d, nil
}

// Delay is the low-pass filter's delay, in samples, by which Levels lag the
// input.
func (d *Detector) Delay() float64 { return d.delay }

// Threshold is the amplitude threshold in use (raised on quantised input).
func (d *Detector) Threshold() float64 {
	return max(d.cfg.Threshold, 1.5*d.quantStep())
}

func (d *Detector) quantStep() float64 {
	if math.IsInf(d.quant, 1) {
		return 0
	}
	return d.quant
}

// Reset forgets the signal after a gap; the next sample starts afresh.
func (d *Detector) Reset() {
	d.started = false
	d.recActive = false
}

// Push feeds one sample (µS) and returns the levels now and the events found.
// The event slice is reused by the next call. Non-finite values must not be
// fed.
func (d *Detector) Push(x float64) (Levels, []Event) {
	d.out = d.out[:0]
	if !d.started {
		d.lp.Settle(x)
		d.started = true
		d.rising = false
		d.trough, d.troughAt = x, d.n
		d.tonic.Settle(x)
		d.prevX = x
	}
	if dx := math.Abs(x - d.prevX); !d.fixedQ && dx > 0 && dx < d.quant {
		d.quant = dx
	}
	d.prevX = x
	y := d.lp.Step(x)
	if !d.lp.Healthy() {
		y = d.lp.Settle(x)
	}
	d.ring.Push(y)
	n := d.n
	d.n++

	thr := d.Threshold()
	h := 0.2 * thr
	if d.rising {
		if y > d.peak {
			d.peak, d.peakAt = y, n
		} else if y <= d.peak-h {
			d.confirm(thr)
			d.rising = false
			d.trough, d.troughAt = y, n
		}
	} else {
		if y < d.trough {
			d.trough, d.troughAt = y, n
		} else if y >= d.trough+h {
			d.rising = true
			d.peak, d.peakAt = y, n
		}
	}

	if d.recActive {
		switch {
		case y <= d.recLevel:
			d.rec.HalfRecovery = float64(n) - d.delay - d.rec.Peak
			d.out = append(d.out, Event{Recovered: true, SCR: d.rec})
			d.recActive = false
		case n-int64(d.rec.Peak) > d.recTimeout:
			d.recActive = false
		}
	}

	if d.fixedQ {
		return Levels{SC: y}, d.out // Find: no live tonic level wanted
	}
	scl := d.tonic.Step(y)
	if !d.tonic.Healthy() {
		scl = d.tonic.Settle(y)
	}
	return Levels{SC: y, SCL: scl, Phasic: y - scl}, d.out
}

// confirm judges the rise from the trough to the peak just confirmed.
func (d *Detector) confirm(thr float64) {
	from, to := max(d.troughAt, d.ring.Oldest()+1), d.peakAt
	if to <= from {
		return
	}
	// Steepest slope of the rise, then back to where the slope was under
	// 10 % of it: the onset.
	steep, at := 0.0, from
	for i := from; i <= to; i++ {
		if s := d.ring.At(i) - d.ring.At(i-1); s > steep {
			steep, at = s, i
		}
	}
	if steep <= 0 {
		return
	}
	onset := from - 1
	for i := at; i >= from; i-- {
		if d.ring.At(i)-d.ring.At(i-1) <= 0.1*steep {
			onset = i
			break
		}
	}
	if onset < from {
		onset = from - 1 // steep from the start of what we hold
	}
	level := d.ring.At(onset)
	amp := d.peak - level
	rise := float64(to-onset) / d.fs
	if amp < thr || rise < d.cfg.MinRise || rise > d.cfg.MaxRise {
		return
	}
	s := SCR{
		Onset:      max(0, float64(onset)-d.delay),
		Peak:       max(0, d.ring.Refine(to)-d.delay),
		OnsetLevel: level,
		Amplitude:  amp,
	}
	d.out = append(d.out, Event{SCR: s})
	d.rec, d.recActive = s, true
	d.recLevel = d.peak - amp/2
}

// Find analyses a whole recording offline: the same response rules, run on
// the signal low-passed with zero phase (forward and backward), so there is
// no delay to correct. It returns the SCRs, with HalfRecovery where reached,
// and the low-passed signal. x must hold no NaN (interpolate gaps first).
// With cfg.Relative, SCRs under that share of the largest are dropped
// (KeepAbove).
func Find(x []float64, fs float64, cfg Config) ([]SCR, []float64, error) {
	return FindInto(nil, x, fs, cfg)
}

// FindInto is Find with the low-passed signal written into dst's storage
// (grown when too small), so a caller analysing many stretches of a long
// recording reuses one buffer. dst must not overlap x.
func FindInto(dst, x []float64, fs float64, cfg Config) ([]SCR, []float64, error) {
	d, err := New(fs, cfg)
	if err != nil {
		return nil, nil, err
	}
	fc := min(d.cfg.LowPass, 0.45*fs)
	y := append(dst[:0], x...)
	dsp.FiltFilt(dsp.LowPass(fc, fs, 2), y, int(3*fs/fc))
	d.lp, d.delay = dsp.Filter{}, 0 // already filtered
	// The quantisation step comes from the raw input, not the smooth y.
	for i := 1; i < len(x); i++ {
		if dx := math.Abs(x[i] - x[i-1]); dx > 0 && dx < d.quant {
			d.quant = dx
		}
	}
	d.fixedQ = true
	var out []SCR
	for _, v := range y {
		_, evs := d.Push(v)
		for _, e := range evs {
			if !e.Recovered {
				out = append(out, e.SCR)
				continue
			}
			for i := len(out) - 1; i >= 0; i-- {
				if out[i].Peak == e.SCR.Peak {
					out[i].HalfRecovery = e.SCR.HalfRecovery
					break
				}
			}
		}
	}
	out = dropSteps(out, x)
	out, _ = KeepAbove(out, 0, d.cfg.Relative)
	return out, y, nil
}

// dropSteps drops, in place, small SCRs (under 0.05 µS, the criterion for
// scoring by hand) that are one or two jumps of the raw signal x rather
// than a rise: amplitude under 2.5 times the largest one-sample increase of
// x within the rise (over at least 5 samples), that increase being a jump —
// over 6 times the signal's median sample-to-sample change, which white
// noise's largest changes over a rise are not. A response rises
// gradually; a level step of a coarsely quantised or resampled recording
// (NeuroKit2's BIOPAC example at 100 Hz steps by about 0.012 µS between
// plateaus that wiggle by 0.0003 µS) or an electrode artefact jumps.
func dropSteps(scrs []SCR, x []float64) []SCR {
	if len(scrs) == 0 || len(x) < 2 {
		return scrs
	}
	// Median |Δx| over up to 100 000 evenly spread samples.
	stride := max(1, (len(x)-1)/100000)
	var dx []float64
	for i := 1; i < len(x); i += stride {
		dx = append(dx, math.Abs(x[i]-x[i-1]))
	}
	slices.Sort(dx)
	typ := dx[len(dx)/2]
	out := scrs[:0]
	for _, s := range scrs {
		from, to := int(math.Floor(s.Onset)), int(math.Ceil(s.Peak))
		if s.Amplitude < stepCheckBelow && to-from >= 5 && from >= 0 && to < len(x) {
			jump := 0.0
			for i := from + 1; i <= to; i++ {
				jump = max(jump, x[i]-x[i-1])
			}
			if s.Amplitude < 2.5*jump && jump > 6*typ {
				continue
			}
		}
		out = append(out, s)
	}
	return out
}

// stepCheckBelow is the amplitude, µS, under which dropSteps looks.
const stepCheckBelow = 0.05

// KeepAbove drops, in place, the SCRs under the minimum amplitude: abs µS,
// or rel times the largest amplitude among scrs (rel 0.1: 10 %), whichever
// is higher. It returns the SCRs kept and that minimum.
func KeepAbove(scrs []SCR, abs, rel float64) ([]SCR, float64) {
	thr := max(abs, 0)
	if rel > 0 {
		big := 0.0
		for _, s := range scrs {
			big = max(big, s.Amplitude)
		}
		thr = max(thr, rel*big)
	}
	out := scrs[:0]
	for _, s := range scrs {
		if s.Amplitude >= thr {
			out = append(out, s)
		}
	}
	return out, thr
}

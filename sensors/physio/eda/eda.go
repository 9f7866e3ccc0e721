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
// steps, since smaller "responses" are only the last bit toggling.
//
// The tonic level is a lower envelope: it follows any fall at once and rises
// with a 20 s time constant while a response is rising or has not yet
// recovered halfway, 2 s otherwise. The phasic part is the signal minus it.
//
// All times returned are corrected for the low-pass filter's delay.
package eda

import (
	"fmt"
	"math"

	"github.com/cueroom/cueroom/sensors/physio/internal/dsp"
)

// Config tunes the detector; zero fields take the default in brackets.
type Config struct {
	Threshold float64 // minimum SCR amplitude, µS [0.01]
	LowPass   float64 // low-pass cut-off, Hz [1]; lowered to 0.45·fs on slow streams
	MinRise   float64 // shortest rise time, s [0.1]
	MaxRise   float64 // longest rise time, s [7]
}

func (c *Config) defaults() {
	if !(c.Threshold > 0) {
		c.Threshold = 0.01
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
}

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
	SCL    float64 // tonic level, µS
	Phasic float64 // SC - SCL, µS
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

	scl        float64
	upFast     float64
	upSlow     float64
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
		upFast:     1 - math.Exp(-1/(2*fs)),
		upSlow:     1 - math.Exp(-1/(20*fs)),
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
		d.scl = x
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

	// Tonic level: a lower envelope, slow to rise during a response.
	if y < d.scl {
		d.scl = y
	} else if d.rising || d.recActive {
		d.scl += (y - d.scl) * d.upSlow
	} else {
		d.scl += (y - d.scl) * d.upFast
	}
	return Levels{SC: y, SCL: d.scl, Phasic: y - d.scl}, d.out
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
	return out, y, nil
}

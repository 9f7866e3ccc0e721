// Package ecg finds QRS complexes (heartbeats) in an ECG, causally and with a
// bounded delay, in the manner of Pan & Tompkins (1985): band-pass 5–15 Hz,
// derivative, squaring, a 150 ms moving-window integral, and adaptive signal
// and noise thresholds with a refractory period, T-wave rejection and a
// search-back for missed beats.
//
// Differences from the paper, and why: filters are Butterworth biquads so any
// sampling rate works; the R peak is placed on the 0.5 Hz high-passed ECG
// (not on the integrator), refined to a sub-sample position, so beat times
// match the usual R-peak definition; candidates found during the 2 s learning
// period are replayed once the thresholds exist, so no early beat is lost;
// and the signal threshold decays after 3 s without a beat, so one huge
// artefact cannot blind the detector.
package ecg

import (
	"fmt"
	"math"
	"slices"

	"github.com/cueroom/cueroom/sensors/physio/internal/dsp"
)

// MinRate is the lowest sampling rate the detector accepts: below it the
// QRS band (5–15 Hz) is not resolved.
const MinRate = 50

// Polarity says which way the R wave points in this lead.
type Polarity int

// Polarity values.
const (
	Auto     Polarity = iota // decide from the first beats; switches only on strong evidence
	Positive                 // R is the maximum (the usual lead II / BITalino chest placement)
	Negative                 // R is the minimum (an inverted lead)
)

// candidate is one local maximum of the integrated signal.
type candidate struct {
	val   float64 // integrator peak
	at    int64   // integrator peak index
	r     float64 // R-peak position (sub-sample)
	slope float64 // max |derivative| in the QRS, for T-wave rejection
	pos   float64 // largest positive deflection of the high-passed ECG
	neg   float64 // largest negative deflection, as a positive number
}

// Detector is a streaming QRS detector. Use New; feed every sample to Push.
type Detector struct {
	fs  float64
	pol Polarity

	bp, hp     dsp.Filter
	d          [5]float64 // last band-passed values, for the 5-point derivative
	mwi        *dsp.MovingSum
	hpRing     *dsp.Ring // high-passed ECG, to place R peaks
	dRing      *dsp.Ring // |derivative|, for slopes
	n          int64     // samples seen
	started    bool
	prevM      float64
	armed      bool
	cand       candidate
	learnN     int64
	learnMax   float64
	learnSum   float64
	learning   []candidate
	spki, npki float64
	last       candidate // last accepted beat
	haveLast   bool
	rr         []float64 // recent RR intervals (samples), newest last
	noise      []candidate
	posAmp     float64
	negAmp     float64
	inverted   bool
	lastDecay  int64
	out        []float64

	refractory, twave, confirm int64
	lookback                   int64
}

// New returns a detector for a signal sampled at fs Hz.
func New(fs float64, pol Polarity) (*Detector, error) {
	if !(fs >= MinRate) || math.IsInf(fs, 0) {
		return nil, fmt.Errorf("ecg: sampling rate %g Hz is too low for QRS detection: need at least %d Hz", fs, MinRate)
	}
	d := &Detector{
		fs:  fs,
		pol: pol,
		bp:  dsp.BandPass(5, 15, fs, 2),
		hp:  dsp.HighPass(0.5, fs, 2),
		mwi: dsp.NewMovingSum(int(math.Round(0.15 * fs))),
		// R lies before the integrator's peak by about the integrator
		// length plus the band-pass delay: look back 0.3 s.
		lookback:   int64(math.Round(0.30 * fs)),
		refractory: int64(math.Round(0.20 * fs)),
		twave:      int64(math.Round(0.36 * fs)),
		confirm:    int64(math.Round(0.20 * fs)),
		learnN:     int64(math.Round(2 * fs)),
	}
	d.hpRing = dsp.NewRing(int(d.lookback) + 4)
	d.dRing = dsp.NewRing(int(d.lookback) + 4)
	d.inverted = pol == Negative
	return d, nil
}

// Reset forgets the signal (after a gap), keeping the learned thresholds so
// detection resumes at once.
func (d *Detector) Reset() {
	d.haveLast = false
	d.rr = d.rr[:0]
	d.noise = d.noise[:0]
	d.armed = false
	d.cand = candidate{}
	d.mwi.Reset()
	d.prevM = 0
	d.d = [5]float64{}
	d.started = false
}

// Push feeds one sample and returns the R-peak positions (sample indices,
// fractional, counted from the first sample) confirmed by it, oldest first.
// The slice is reused by the next call. Non-finite values must not be fed.
func (d *Detector) Push(x float64) []float64 {
	d.out = d.out[:0]
	if !d.started {
		d.bp.Settle(x)
		d.hp.Settle(x)
		d.started = true
	}
	b := d.bp.Step(x)
	h := d.hp.Step(x)
	if !d.bp.Healthy() || !d.hp.Healthy() {
		// An overflow (a spike near the float range) poisons IIR state:
		// start the filters again rather than output NaN forever.
		b, h = d.bp.Settle(0), d.hp.Settle(0)
	}
	copy(d.d[1:], d.d[:4])
	d.d[0] = b
	deriv := (2*d.d[0] + d.d[1] - d.d[3] - 2*d.d[4]) / 8
	sq := deriv * deriv
	if math.IsInf(sq, 0) || math.IsNaN(sq) {
		sq = math.MaxFloat64 / 1e6
	}
	m := d.mwi.Push(sq)
	d.hpRing.Push(h)
	d.dRing.Push(math.Abs(deriv))
	n := d.n
	d.n++

	if n < d.learnN {
		d.learnMax = max(d.learnMax, m)
		d.learnSum += m
	}
	d.track(n, m)
	if n == d.learnN-1 {
		d.endLearning()
	}
	if d.n > d.learnN {
		d.searchBack(n)
	}
	return d.out
}

// track finds local maxima of the integrator: a peak is confirmed when the
// integrator falls to half of it or stays below it for 200 ms.
func (d *Detector) track(n int64, m float64) {
	if !d.armed {
		if m > d.prevM && m > 0 {
			d.armed = true
			d.cand = candidate{val: m, at: n}
		}
		d.prevM = m
		return
	}
	d.prevM = m
	if m >= d.cand.val {
		d.cand.val, d.cand.at = m, n
		return
	}
	if m < 0.5*d.cand.val || n-d.cand.at >= d.confirm {
		c := d.cand
		d.armed = false
		d.locate(&c)
		if n < d.learnN {
			if len(d.learning) < 64 {
				d.learning = append(d.learning, c)
			}
			return
		}
		d.classify(c)
	}
}

// locate places the R peak of a candidate and measures its steepest slope.
func (d *Detector) locate(c *candidate) {
	from, to := c.at-d.lookback, c.at
	pi, ok1 := d.hpRing.ArgMax(from, to, 1)
	ni, ok2 := d.hpRing.ArgMax(from, to, -1)
	if !ok1 || !ok2 {
		c.r = float64(c.at)
		return
	}
	pos, neg := d.hpRing.At(pi), -d.hpRing.At(ni)
	if d.inverted {
		c.r = d.hpRing.Refine(ni)
	} else {
		c.r = d.hpRing.Refine(pi)
	}
	c.pos, c.neg = pos, neg
	si, _ := d.dRing.ArgMax(from, to, 1)
	c.slope = d.dRing.At(si)
}

func (d *Detector) endLearning() {
	d.spki = 0.5 * d.learnMax
	d.npki = d.learnSum / float64(d.learnN)
	for _, c := range d.learning {
		d.classify(c)
	}
	d.learning = nil
	d.lastDecay = d.n
}

func (d *Detector) thr1() float64 { return d.npki + 0.25*(d.spki-d.npki) }

// classify decides whether a candidate is a beat, a T wave or noise.
func (d *Detector) classify(c candidate) {
	if c.val > d.thr1() {
		if d.haveLast {
			gap := int64(c.r) - int64(d.last.r)
			if gap < d.refractory {
				// A second peak within 200 ms of a beat already
				// reported is never a new beat.
				d.noisePeak(c, false)
				return
			}
			if gap < d.twave && c.slope < 0.5*d.last.slope {
				d.noisePeak(c, false)
				return
			}
		}
		d.accept(c, 0.125)
		return
	}
	d.noisePeak(c, true)
}

func (d *Detector) noisePeak(c candidate, keep bool) {
	// A "noise" peak above the signal level (an artefact in the refractory
	// period) must not lift the noise level over the beats.
	d.npki = 0.125*min(c.val, d.spki) + 0.875*d.npki
	if keep && d.haveLast && len(d.noise) < 32 {
		d.noise = append(d.noise, c)
	}
}

// accept records a beat. w is the weight of its peak in the running signal
// level (1/8 normally, 1/4 for a beat found by search-back, as in the paper).
func (d *Detector) accept(c candidate, w float64) {
	// Cap the update so one artefact far above the usual beats cannot lift
	// the threshold out of reach.
	v := c.val
	if d.spki > 0 {
		v = min(v, 3*d.spki)
	}
	d.spki = w*v + (1-w)*d.spki
	if d.haveLast {
		if len(d.rr) == 8 {
			copy(d.rr, d.rr[1:])
			d.rr = d.rr[:7]
		}
		d.rr = append(d.rr, c.r-d.last.r)
	}
	d.polarity(c)
	d.last, d.haveLast = c, true
	d.noise = d.noise[:0]
	d.lastDecay = d.n
	d.out = append(d.out, c.r)
}

// polarity follows the relative size of the positive and negative deflections
// of the QRS and flips which one is R only on strong, sustained evidence.
func (d *Detector) polarity(c candidate) {
	if d.pol != Auto {
		return
	}
	if d.posAmp == 0 && d.negAmp == 0 {
		d.posAmp, d.negAmp = c.pos, c.neg
	} else {
		d.posAmp = 0.9*d.posAmp + 0.1*c.pos
		d.negAmp = 0.9*d.negAmp + 0.1*c.neg
	}
	switch {
	case !d.inverted && d.negAmp > 2*d.posAmp:
		d.inverted = true
	case d.inverted && d.posAmp > d.negAmp:
		d.inverted = false
	}
}

func (d *Detector) medianRR() float64 {
	if len(d.rr) == 0 {
		return 0
	}
	var buf [8]float64
	s := buf[:len(d.rr)]
	copy(s, d.rr)
	slices.Sort(s)
	return s[len(s)/2]
}

// searchBack looks again at the noise peaks since the last beat when no beat
// came for 1.66 RR, taking the largest above half the threshold; after 3 s
// with nothing it lowers the signal level so detection recovers.
func (d *Detector) searchBack(n int64) {
	rr := d.medianRR()
	if d.haveLast && rr > 0 && float64(n)-d.last.r > 1.66*rr && len(d.noise) > 0 {
		best := -1
		thr2 := 0.5 * d.thr1()
		for i, c := range d.noise {
			if c.r-d.last.r < float64(d.refractory) || c.val <= thr2 {
				continue
			}
			if best < 0 || c.val > d.noise[best].val {
				best = i
			}
		}
		if best >= 0 {
			c := d.noise[best]
			var buf [32]candidate
			rest := buf[:copy(buf[:], d.noise[best+1:])]
			d.accept(c, 0.25)
			for _, r := range rest {
				if r.r-c.r >= float64(d.refractory) {
					d.noise = append(d.noise, r)
				}
			}
			return
		}
	}
	if n-d.lastDecay > int64(3*d.fs) {
		d.spki *= 0.5
		d.npki = min(d.npki, 0.5*d.spki)
		d.lastDecay = n
	}
}

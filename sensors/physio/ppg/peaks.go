// Package ppg finds systolic peaks (pulse beats) in a photoplethysmogram,
// causally and with a bounded delay, after Elgendi et al. (2013, PLoS ONE
// 8(10):e76585): band-pass 0.5–8 Hz, keep the positive part squared, and
// mark "blocks of interest" where a 111 ms moving average rises above a
// 667 ms moving average plus a small offset; each block at least 111 ms wide
// holds one systolic peak.
//
// The paper's moving averages are centred; here both are trailing and the
// short one is delayed by half the difference of their lengths, which lines
// their centres up again, so the decision is the paper's, made about 0.33 s
// late. The offset uses a running mean of the squared signal (30 s time
// constant) instead of the whole-record mean. The peak is placed on the
// signal low-passed at 8 Hz only, with the filter's delay taken off and a
// sub-sample refinement, so it lines up with the unfiltered pulse.
package ppg

import (
	"fmt"
	"math"

	"github.com/cueroom/cueroom/sensors/physio/internal/dsp"
)

// MinRate is the lowest sampling rate the detector accepts.
const MinRate = 20

// Detector is a streaming systolic-peak detector. Use New; feed every sample
// to Push.
type Detector struct {
	fs      float64
	bp, lp  dsp.Filter
	started bool
	w1, w2  int
	maPeak  *dsp.MovingSum
	maBeat  *dsp.MovingSum
	peakLag *dsp.Ring // MA_peak values, to delay them
	lpRing  *dsp.Ring
	zMean   float64 // running mean of the squared signal
	zTau    float64
	n       int64
	inBlock bool
	start   int64 // block start (aligned index)
	last    float64
	haveLst bool
	minGap  float64
	lpDelay float64 // samples
	maxBlk  int64
	out     []float64
}

// New returns a detector for a signal sampled at fs Hz.
func New(fs float64) (*Detector, error) {
	if !(fs >= MinRate) || math.IsInf(fs, 0) {
		return nil, fmt.Errorf("ppg: sampling rate %g Hz is too low for pulse detection: need at least %d Hz", fs, MinRate)
	}
	w1 := max(1, int(math.Round(0.111*fs)))
	w2 := max(w1+1, int(math.Round(0.667*fs)))
	d := &Detector{
		fs:      fs,
		bp:      dsp.BandPass(0.5, 8, fs, 2),
		lp:      dsp.LowPass(8, fs, 2),
		w1:      w1,
		w2:      w2,
		maPeak:  dsp.NewMovingSum(w1),
		maBeat:  dsp.NewMovingSum(w2),
		peakLag: dsp.NewRing((w2-w1)/2 + 2),
		zTau:    30 * fs,
		minGap:  0.3 * fs,
		lpDelay: dsp.ButterDelay(8, 2) * fs,
		maxBlk:  int64(math.Round(1.5 * fs)),
	}
	// The ring must reach back over the alignment lag, a whole block and
	// the look-around margin.
	d.lpRing = dsp.NewRing(w2 + int(d.maxBlk) + int(0.3*fs) + 8)
	return d, nil
}

// Reset forgets the signal after a gap.
func (d *Detector) Reset() {
	d.started = false
	d.inBlock = false
	d.haveLst = false
	d.maPeak.Reset()
	d.maBeat.Reset()
}

// Push feeds one sample and returns the systolic peak positions (fractional
// sample indices from the first sample) confirmed by it. The slice is reused
// by the next call. Non-finite values must not be fed.
func (d *Detector) Push(x float64) []float64 {
	d.out = d.out[:0]
	if !d.started {
		d.bp.Settle(x)
		d.lp.Settle(x)
		d.started = true
	}
	y := d.bp.Step(x)
	l := d.lp.Step(x)
	if !d.bp.Healthy() || !d.lp.Healthy() {
		y, l = d.bp.Settle(0), d.lp.Settle(0)
	}
	d.lpRing.Push(l)
	z := 0.0
	if y > 0 {
		z = min(y*y, math.MaxFloat64/1e6)
	}
	n := d.n
	d.n++
	// Running mean of z: cumulative at first, then exponential.
	k := min(float64(d.n), d.zTau)
	d.zMean += (z - d.zMean) / k

	mp := d.maPeak.Push(z) / float64(d.w1)
	mb := d.maBeat.Push(z) / float64(d.w2)
	d.peakLag.Push(mp)
	lag := int64((d.w2 - d.w1) / 2)
	if d.n <= int64(d.w2) {
		return d.out // windows not full yet
	}
	mpAligned := d.peakLag.At(d.peakLag.Len() - 1 - lag)
	c := n - int64(d.w2-1)/2 // centre of the long window
	on := mpAligned > mb+0.02*d.zMean
	switch {
	case on && !d.inBlock:
		d.inBlock, d.start = true, c
	case d.inBlock && (!on || c-d.start >= d.maxBlk):
		d.inBlock = false
		if c-d.start >= int64(d.w1) {
			d.peak(d.start, c-1)
		}
	}
	return d.out
}

// peak places the systolic peak of a block [from, to] (indices of the
// band-passed signal) on the low-passed signal, whose peaks come lpDelay
// samples later.
func (d *Detector) peak(from, to int64) {
	dl := int64(math.Round(d.lpDelay))
	i, ok := d.lpRing.ArgMax(from+dl, to+dl, 1)
	if !ok {
		return
	}
	p := d.lpRing.Refine(i) - d.lpDelay
	if d.haveLst && p-d.last < d.minGap {
		return
	}
	d.last, d.haveLst = p, true
	d.out = append(d.out, p)
}

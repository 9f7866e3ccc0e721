// Package ecg finds QRS complexes (heartbeats) in an ECG, causally and with
// a bounded delay, and says when the signal is too poor for a heart rate.
//
// The detector is Pan & Tompkins' (1985, IEEE TBME 32(3):230–236; on the
// MIT/BIH arrhythmia database 99.3 % of 116,137 beats right, 277 missed and
// 507 false) with the decision rules Hamilton & Tompkins (1986, IEEE TBME
// 33(12):1157–1165) optimised on the same database (sensitivity 99.69 %,
// positive predictivity 99.77 %):
//
//   - band-pass 5–15 Hz, five-point derivative, squaring, 150 ms moving-window
//     integral (MWI);
//   - a peak of the MWI counts only if no larger peak lies within 200 ms of
//     it;
//   - a peak is a QRS when it exceeds DT = NPK + TH·(QRSPK − NPK), QRSPK and
//     NPK being the medians of the last 8 QRS and noise peaks (the paper's
//     best estimator), TH = 0.3125;
//   - nothing within 200 ms of a QRS is a QRS; within 360 ms, a peak whose
//     steepest slope is under half the last QRS's is a T wave;
//   - when no QRS came for 1.5 median RR intervals, the largest peak since
//     the last QRS, at least 360 ms after it and above DT/2, is taken
//     (search-back).
//
// Additions, because white noise of a fifth of the R amplitude at 100 Hz
// lifts the MWI's noise peaks to a third of its QRS peaks, so the rules
// above alone count noise as beats and then lower their own threshold on
// those false beats until the rate doubles:
//
//   - Shape check (shape.go). A peak over DT is a QRS only if the ECG ±100 ms
//     around it correlates at ≥ 0.66 (Orphanidou et al.'s threshold, below)
//     with the running average QRS of the beats accepted so far, or, if not
//     (an ectopic beat), its MWI peak reaches the QRS level. Within 360 ms of
//     a beat it must correlate in any case (a T wave, or a wide complex's
//     second half, does not). Only beats like the average update QRSPK, the
//     average and the RR median, so a false beat cannot teach the detector
//     to accept more. Three unlike beats in a row restart the average
//     (learned on an artefact, or the electrodes moved).
//   - Premature check. A peak under 70 % of the median RR after the last beat
//     (before an RR is known: under 360 ms) needs half the QRS level; an
//     ectopic beat has it, noise seldom does.
//   - Replacement. A doubtful beat (under half the QRS level, premature, or
//     unlike the average) is reported only 360 ms after its MWI peak: a
//     beat that comes within that time and is twice as large, or nearer
//     when the next beat was due (last beat + median RR), takes its place.
//   - Search-back also takes a candidate that fits the average QRS at 40 %
//     of its size or more, even below DT/2: noise can cancel much of one
//     QRS's energy in the MWI, not its shape.
//
// Other differences from the papers, and why: filters are Butterworth
// biquads so any rate from 50 Hz works; a peak is also confirmed as soon as
// the MWI falls to half of it, so a clear beat is reported 0.2 s after its
// R (the refractory and replacement rules then do what waiting the full
// 200 ms would); the thresholds are learned from the first 2 s and the peaks
// of those 2 s classified once they exist, so no early beat is lost; when
// nothing is accepted for 3 s the QRS level halves and the average QRS is
// forgotten, so one huge artefact cannot blind the detector; the R peak is
// placed on the ECG band-limited to 0.5–30 Hz (not on the integrator), at
// the extreme within 60 ms of where the QRS's steepest slope puts it,
// refined to a sub-sample position, so beat times match the usual R-peak
// definition and white noise cannot pull them onto a P or T wave.
//
// Signal quality (Quality, quality.go) follows Orphanidou et al. (2015,
// IEEE JBHI 19(3):832–838; the method's first report, 2012 IEEE BIBE
// 193–196, gives sensitivity 98 % and specificity 94 % against 1500
// hand-labelled ECG segments): each 10 s window must give a plausible
// rhythm (40–180 bpm, no gap over 3 s, longest interval at most 2.2 × the
// shortest) and the mean correlation of its beats (each over one median RR
// centred on R) with their average must reach 0.66. Added, because a
// detector that misses every other beat in noise still gives a regular
// rhythm of beats that look alike: at least 5 beats; every interval within
// 0.7–1.5 × the window's median (the limits the ibi package rejects an
// interval outside of); and the kurtosis of the 5–30 Hz band at least 4
// (the kSQI of Li, Mark & Clifford 2008, Physiol Meas 29(1):15–32, who call
// an ECG with kurtosis over 5 clean; Gaussian noise has 3). A window failing
// any rule is unusable and its heart rate must be withheld or flagged.
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

// Rules, in seconds unless stated.
const (
	mwiLen      = 0.150  // moving-window integral
	peakSpan    = 0.200  // an MWI peak must be the largest within this on both sides
	refractory  = 0.200  // no QRS this soon after one
	twaveWindow = 0.360  // a peak this soon after a QRS needs a QRS-like slope
	threshTH    = 0.3125 // DT = NPK + TH·(QRSPK − NPK)
	searchBack  = 1.5    // median RR intervals without a QRS before looking back
	learnTime   = 2.0    // s of signal for the first thresholds
	decayAfter  = 3.0    // s without a QRS before QRSPK halves
	bpDelay     = 0.026  // steepest slope of the band-passed QRS after R (measured on the shared recordings)
	rSearch     = 0.060  // R is searched this far either side of the QRS's steepest slope
	cleanLo     = 0.5    // Hz, band of the ECG R peaks are placed on
	cleanHi     = 30.0
	rWidth      = 0.010 // s: standard deviation of a Gaussian like an R wave

	premature = 0.7 // of the median RR: a beat sooner than this is premature
	weak      = 0.5 // of QRSPK: a weaker beat is held, a premature one this weak is noise
	replace   = 2.0 // a peak this many times a held beat's replaces it
	searchAmp = 0.4 // search-back takes a QRS-shaped candidate at this fraction of the average QRS
)

// peak is one MWI peak that passed the 200 ms rule.
type peak struct {
	val      float64 // MWI value
	at       int64   // MWI index
	r        float64 // R-peak position (input samples, sub-sample)
	slope    float64 // steepest |derivative| in the QRS
	pos      float64 // largest positive deflection of the cleaned ECG near the QRS
	neg      float64 // largest negative deflection, as a positive number
	corr     float64 // correlation with the average QRS (0 when not compared)
	amp      float64 // size relative to the average QRS (least-squares fit)
	like     bool    // looks like the average QRS, or there is none yet
	compared bool    // corr, amp and like are set
}

// median8 keeps the last 8 values of a level and their median (of as many
// as were pushed until there are 8), recomputed only when they change.
type median8 struct {
	v   [8]float64
	n   int // values pushed
	med float64
}

func (m *median8) push(x float64) {
	m.v[m.n%len(m.v)] = x
	m.n++
	m.update()
}

func (m *median8) scale(f float64) {
	for i := range m.v {
		m.v[i] *= f
	}
	m.med *= f
}

func (m *median8) update() {
	k := min(m.n, len(m.v))
	s := m.v
	slices.Sort(s[:k])
	if k%2 == 1 {
		m.med = s[k/2]
	} else {
		m.med = 0.5 * (s[k/2-1] + s[k/2])
	}
}

// Detector is a streaming QRS detector. Use New; feed every sample to Push.
type Detector struct {
	fs  float64
	pol Polarity

	bpHi, bpLo, cl dsp.Filter // the QRS band-pass (two halves) and the cleaned ECG
	clDelay        float64    // how far cl delays an R peak, samples
	d              [5]float64 // last band-passed values, for the derivative
	mwi            *dsp.MovingSum
	clRing         *dsp.Ring // cleaned ECG
	slRing         *dsp.Ring // |derivative|
	n              int64     // samples seen
	lastX          float64   // last finite input
	floor          int64     // first sample since New or Reset: no beat before it
	started        bool
	m1, m2         float64 // MWI at n-1 and n-2
	pend           peak    // largest recent MWI peak, not yet confirmed
	havePend       bool

	// the first 2 s
	learnN             int64
	learnMax, learnSum float64
	learnBuf           [64]peak
	nLearn             int
	learned            bool

	qrsPk, noisePk median8
	rr             median8 // intervals between beats like the average QRS, samples
	last           peak    // last beat reported
	haveLast       bool
	hold           peak // a doubtful beat not reported yet
	holding        bool
	holdMax        float64  // largest MWI since the held beat's peak
	cands          [32]peak // noise peaks since the last beat, for search-back
	nCands         int
	lastDecay      int64
	posAmp, negAmp float64
	nPol           int
	inverted       bool
	shape          shape
	unlike         int // beats unlike the average QRS reported in a row

	// the rules in samples
	span, refr, twave, rs, bpLag int64

	q   quality
	out []float64
}

// New returns a detector for a signal sampled at fs Hz.
func New(fs float64, pol Polarity) (*Detector, error) {
	if !(fs >= MinRate) || math.IsInf(fs, 0) {
		return nil, fmt.Errorf("ecg: sampling rate %g Hz is too low for QRS detection: need at least %d Hz", fs, MinRate)
	}
	sec := func(s float64) int64 { return max(1, int64(math.Round(s*fs))) }
	d := &Detector{
		fs:     fs,
		pol:    pol,
		bpHi:   dsp.HighPass(5, fs, 2),
		bpLo:   dsp.LowPass(15, fs, 2),
		cl:     dsp.BandPass(cleanLo, cleanHi, fs, 2),
		mwi:    dsp.NewMovingSum(int(sec(mwiLen))),
		span:   sec(peakSpan),
		refr:   sec(refractory),
		twave:  sec(twaveWindow),
		rs:     sec(rSearch),
		bpLag:  int64(math.Round(bpDelay * fs)),
		learnN: sec(learnTime),
	}
	d.clDelay = peakDelay(dsp.BandPass(cleanLo, cleanHi, fs, 2), fs)
	d.inverted = pol == Negative
	d.shape.init(fs)
	d.q.init(fs)
	// The slopes are searched back over one MWI window from a peak that
	// is at most 200 ms old; the cleaned ECG is kept for the quality
	// windows, which is far longer.
	back := int(int64(d.mwi.Len()) + d.span + 2*d.rs + d.bpLag + 8)
	d.slRing = dsp.NewRing(back)
	d.clRing = dsp.NewRing(max(back, d.q.ringNeed(fs)))
	return d, nil
}

// Reset forgets the signal (after a gap), keeping the learned thresholds,
// intervals and average QRS so detection resumes at once. A doubtful beat
// still on hold is dropped.
func (d *Detector) Reset() {
	d.haveLast, d.holding, d.havePend = false, false, false
	d.nCands = 0
	d.mwi.Reset()
	d.m1, d.m2 = 0, 0
	d.d = [5]float64{}
	d.started = false
	d.lastDecay = d.n
	d.floor = d.n
	d.q.reset()
}

// Push feeds one sample and returns the R-peak positions (sample indices,
// fractional, counted from the first sample) confirmed by it, oldest first.
// The slice is reused by the next call. A non-finite value counts as a
// repeat of the last finite one; callers mark longer holes as gaps (Reset).
func (d *Detector) Push(x float64) []float64 {
	d.out = d.out[:0]
	if math.IsNaN(x) || math.IsInf(x, 0) {
		x = d.lastX
	}
	d.lastX = x
	if !d.started {
		d.bpLo.Settle(d.bpHi.Settle(x))
		d.cl.Settle(x)
		d.started = true
	}
	b := d.bpLo.Step(d.bpHi.Step(x))
	c := d.cl.Step(x)
	if !d.bpHi.Healthy() || !d.bpLo.Healthy() || !d.cl.Healthy() {
		// An overflow (a spike near the float range) poisons IIR state:
		// start the filters again rather than output NaN forever.
		b, c = d.bpLo.Settle(d.bpHi.Settle(0)), d.cl.Settle(0)
	}
	copy(d.d[1:], d.d[:4])
	d.d[0] = b
	deriv := (2*d.d[0] + d.d[1] - d.d[3] - 2*d.d[4]) / 8
	sq := deriv * deriv
	if math.IsInf(sq, 0) || math.IsNaN(sq) {
		sq = math.MaxFloat64 / 1e6
	}
	m := d.mwi.Push(sq)
	d.clRing.Push(c)
	d.slRing.Push(math.Abs(deriv))
	n := d.n
	d.n++

	if !d.learned {
		d.learnMax = max(d.learnMax, m)
		d.learnSum += m
	}
	if d.m1 > d.m2 && d.m1 >= m { // a local maximum at n-1
		d.offer(peak{val: d.m1, at: n - 1})
	}
	d.m2, d.m1 = d.m1, m
	if d.havePend && (n-d.pend.at >= d.span || m < 0.5*d.pend.val) {
		d.havePend = false
		d.confirm(d.pend)
	}
	if !d.learned && n >= d.learnN-1 {
		d.endLearning()
	}
	if d.holding {
		d.holdMax = max(d.holdMax, m)
		// Report the held beat once no peak twice its size can still
		// come within 360 ms of it (or one that did has been judged).
		if w := n - d.hold.at; w >= d.twave && (d.holdMax < replace*d.hold.val || w >= d.twave+d.span+int64(d.mwi.Len())) {
			d.release()
		}
	}
	if d.learned {
		d.searchBack(n)
	}
	d.q.push(n, c, d)
	return d.out
}

// offer applies the 200 ms rule to a new local maximum of the MWI: of two
// peaks closer than that, only the larger counts.
func (d *Detector) offer(p peak) {
	if !d.havePend {
		d.pend, d.havePend = p, true
		return
	}
	if p.at-d.pend.at < d.span {
		if p.val > d.pend.val {
			d.pend = p
		}
		return
	}
	q := d.pend
	d.pend = p
	d.confirm(q)
}

// confirm locates a peak's QRS and classifies it (or keeps it for the end
// of the learning period).
func (d *Detector) confirm(p peak) {
	d.locate(&p)
	if !d.learned {
		if d.nLearn < len(d.learnBuf) {
			d.learnBuf[d.nLearn] = p
			d.nLearn++
		}
		return
	}
	d.classify(p)
}

// locate finds the steepest slope inside the MWI window that peaked at p.at
// (the QRS), then the R peak: the extreme of the cleaned ECG within 60 ms
// of it, in the lead's polarity.
func (d *Detector) locate(p *peak) {
	defer func() {
		// Never before the first sample since New or Reset, nor after
		// the newest.
		p.r = min(max(p.r, float64(d.floor)), float64(d.n-1))
	}()
	si, ok := d.slRing.ArgMax(max(d.floor, p.at-int64(d.mwi.Len())+1), p.at, 1)
	if !ok {
		p.r = float64(p.at)
		return
	}
	p.slope = d.slRing.At(si)
	// The steepest slope of the band-passed QRS comes bpDelay after R,
	// plus the derivative's two samples; the cleaned ECG lags by its own.
	centre := si - 2 - d.bpLag + int64(math.Round(d.clDelay))
	from, to := max(d.floor, centre-d.rs), centre+d.rs
	pi, ok1 := d.clRing.ArgMax(from, to, 1)
	ni, ok2 := d.clRing.ArgMax(from, to, -1)
	if !ok1 || !ok2 {
		p.r = float64(si - 2 - d.bpLag)
		return
	}
	p.pos, p.neg = d.clRing.At(pi), -d.clRing.At(ni)
	ri := pi
	if d.inverted {
		ri = ni
	}
	p.r = d.clRing.Refine(ri) - d.clDelay
}

// endLearning sets the first levels, as Pan & Tompkins: the QRS level from
// the largest peak of the first 2 s, the noise level from the MWI's mean.
// That largest peak's ECG is the first average QRS, so the shape check
// applies from the first beat on. Then the peaks of the 2 s are classified.
func (d *Detector) endLearning() {
	d.learned = true
	d.qrsPk.push(d.learnMax)
	d.noisePk.push(d.learnSum / float64(d.n))
	d.lastDecay = d.n
	best := -1
	for i, p := range d.learnBuf[:d.nLearn] {
		if best < 0 || p.val > d.learnBuf[best].val {
			best = i
		}
	}
	if best >= 0 {
		d.shape.add(d.clRing, d.ringIndex(d.learnBuf[best].r))
	}
	for _, p := range d.learnBuf[:d.nLearn] {
		d.classify(p)
	}
	d.nLearn = 0
}

// peakDelay is how many samples filter f moves the peak of an R-wave-like
// pulse (a Gaussian of standard deviation rWidth): the filter's delay where
// it matters here. (The textbook low-frequency delay of the low-pass is off
// by 2 ms at 100 Hz, where 30 Hz is near Nyquist.)
func peakDelay(f dsp.Filter, fs float64) float64 {
	n := int(2 * fs)
	t0 := float64(n / 2)
	sd := rWidth * fs
	best, bi := math.Inf(-1), 0
	var y [3]float64 // around the running maximum, for the refinement
	prev := 0.0
	for i := range n + int(0.2*fs) {
		u := (float64(i) - t0) / sd
		v := f.Step(math.Exp(-0.5 * u * u))
		if v > best {
			best, bi = v, i
			y = [3]float64{prev, v, 0}
		} else if i == bi+1 {
			y[2] = v
		}
		prev = v
	}
	off := 0.0
	if den := y[0] - 2*y[1] + y[2]; den != 0 {
		off = 0.5 * (y[0] - y[2]) / den
	}
	return float64(bi) + off - t0
}

// ringIndex is where R at input position r lies in the cleaned-ECG ring.
func (d *Detector) ringIndex(r float64) int64 { return int64(math.Round(r + d.clDelay)) }

func (d *Detector) threshold() float64 {
	return d.noisePk.med + threshTH*(d.qrsPk.med-d.noisePk.med)
}

// recent is the latest beat: the one on hold, else the last reported.
func (d *Detector) recent() (peak, bool) {
	if d.holding {
		return d.hold, true
	}
	return d.last, d.haveLast
}

// isPremature says whether a beat at r comes under 70 % of the median RR
// after the latest one (before any RR is known: within 360 ms).
func (d *Detector) isPremature(r float64) bool {
	prev, ok := d.recent()
	if !ok {
		return false
	}
	if d.rr.n == 0 {
		return r-prev.r < float64(d.twave)
	}
	return r-prev.r < premature*d.rr.med
}

// closerToDue says whether a beat at r is nearer than one at h to when the
// next beat was due (the last one plus the median RR).
func (d *Detector) closerToDue(r, h float64) bool {
	if !d.haveLast || d.rr.n == 0 {
		return false
	}
	due := d.last.r + d.rr.med
	return math.Abs(r-due) < math.Abs(h-due)
}

// classify decides whether a peak is a QRS, a T wave or noise.
func (d *Detector) classify(p peak) {
	if p.val <= d.threshold() {
		d.noise(p, true)
		return
	}
	qpk := d.qrsPk.med
	if prev, ok := d.recent(); ok && p.r-prev.r < float64(d.twave) {
		d.compare(&p)
		if d.holding && (p.like || p.val >= qpk) && (p.val >= replace*d.hold.val || d.closerToDue(p.r, d.hold.r)) {
			// Of a doubtful beat on hold and this one, too close
			// together to both be beats, keep this one: it is far
			// larger, or nearer when the next beat was due.
			d.holding = false
			d.stage(p)
			return
		}
		// Refractory; or a T wave: under half the slope of the beat
		// before, or (an addition) unlike the average QRS.
		if p.r-prev.r < float64(d.refr) || p.slope < 0.5*prev.slope || !p.like {
			d.noise(p, false)
			return
		}
	}
	d.compare(&p)
	switch {
	case p.like && (p.val >= weak*qpk || !d.isPremature(p.r)):
	case !p.like && p.val >= qpk: // an ectopic beat
	default:
		d.noise(p, true)
		return
	}
	d.stage(p)
}

// compare checks a peak's ECG against the average QRS, once.
func (d *Detector) compare(p *peak) {
	if p.compared {
		return
	}
	p.like = true
	if !d.shape.ready() {
		return
	}
	p.compared = true
	corr, amp, ok := d.shape.match(d.clRing, d.ringIndex(p.r))
	if !ok {
		return
	}
	p.corr, p.amp = corr, amp
	p.like = corr >= shapeMin
}

// noise records a noise peak; keep also makes it a search-back candidate.
func (d *Detector) noise(p peak, keep bool) {
	// A peak above the QRS level (an artefact in the refractory period)
	// must not lift the noise level over the beats.
	d.noisePk.push(min(p.val, d.qrsPk.med))
	if _, ok := d.recent(); keep && ok && d.nCands < len(d.cands) {
		d.cands[d.nCands] = p
		d.nCands++
	}
}

// stage takes a beat. A clear one (like the average QRS, at least half the
// QRS level, not premature) is reported at once; a doubtful one is held
// (see Push and classify).
func (d *Detector) stage(p peak) {
	if d.holding {
		d.release()
	}
	sure := p.like && p.val >= weak*d.qrsPk.med && !d.isPremature(p.r)
	d.hold, d.holding = p, true
	d.holdMax = 0
	d.nCands = 0
	d.lastDecay = d.n
	if sure {
		d.release()
	}
}

// release reports the beat on hold. Only beats like the average QRS update
// the QRS level, the average QRS and the intervals: an ectopic beat or an
// accepted artefact must not teach the detector to take more of them.
func (d *Detector) release() {
	p := d.hold
	d.holding = false
	if !p.like {
		// Three unlike beats in a row mean the average QRS is wrong:
		// start it again from this beat.
		if d.unlike++; d.unlike >= 3 {
			d.shape.reset()
			p.like = true
		}
	}
	if p.like {
		d.unlike = 0
		d.qrsPk.push(p.val)
		d.shape.add(d.clRing, d.ringIndex(p.r))
		if d.haveLast && d.last.like {
			d.rr.push(p.r - d.last.r)
		}
		d.polarity(p)
	}
	d.last, d.haveLast = p, true
	d.out = append(d.out, p.r)
	d.q.beat(p.r)
}

// polarity follows the relative size of the positive and negative
// deflections of the QRS (running means over about 10 beats, the first 4
// averaged before any decision) and flips which one is R only on strong,
// sustained evidence: a negative deflection twice the positive one.
func (d *Detector) polarity(p peak) {
	if d.pol != Auto {
		return
	}
	d.nPol++
	w := 1 / float64(min(d.nPol, 10))
	d.posAmp += w * (p.pos - d.posAmp)
	d.negAmp += w * (p.neg - d.negAmp)
	if d.nPol < 4 {
		return
	}
	switch {
	case !d.inverted && d.negAmp > 2*d.posAmp:
		d.inverted = true
	case d.inverted && d.posAmp > d.negAmp:
		d.inverted = false
	}
}

// searchBack takes the largest QRS-shaped candidate since the latest beat
// (at least 360 ms after it; above DT/2, or fitting the average QRS at 40 %
// of its size) when no beat came for 1.5 median RR. After 3 s with nothing
// accepted it halves the QRS level and forgets the average QRS, so
// detection recovers from an artefact or a change of lead.
func (d *Detector) searchBack(n int64) {
	prev, ok := d.recent()
	if ok && d.rr.n > 0 && d.nCands > 0 && float64(n)-prev.r > searchBack*d.rr.med+float64(d.span) {
		best := -1
		thr := 0.5 * d.threshold()
		for i := range d.cands[:d.nCands] {
			c := &d.cands[i]
			if c.r-prev.r < float64(d.twave) {
				continue
			}
			if d.compare(c); !c.like || (c.val <= thr && c.amp < searchAmp) {
				continue
			}
			if best < 0 || c.val > d.cands[best].val {
				best = i
			}
		}
		if best >= 0 {
			c := d.cands[best]
			var buf [len(d.cands)]peak
			rest := buf[:copy(buf[:], d.cands[best+1:d.nCands])]
			d.stage(c)
			for _, r := range rest {
				if r.r-c.r >= float64(d.refr) && d.nCands < len(d.cands) {
					d.cands[d.nCands] = r
					d.nCands++
				}
			}
			return
		}
	}
	if n-d.lastDecay > int64(decayAfter*d.fs) {
		d.qrsPk.scale(0.5)
		d.shape.reset()
		d.lastDecay = n
	}
}

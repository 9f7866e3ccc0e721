package ecg

import (
	"math"
	"sort"
	"strings"

	"github.com/cueroom/cueroom/sensors/physio/internal/dsp"
)

// Signal quality after Orphanidou et al. (2015), with the additions the
// package comment gives: over each window the beats must give a plausible
// rhythm, each beat (the ECG over one median RR interval centred on its R)
// must correlate with the window's average beat, at 0.66 on average, and the
// QRS band must not look like Gaussian noise.
const (
	QualityWindow = 10.0 // s of ECG each judgement covers (the paper's window)
	QualityStep   = 1.0  // s between judgements
	// QualityLag is how far, in seconds, the end of a judged window trails
	// the newest sample, so beats found late (search-back) are in it.
	QualityLag = 1.0

	minWindow    = 5.0 // s: a shorter window (the start, after a gap) is not judged
	minBeats     = 5   // fewer beats make the average beat mostly themselves
	minHR, maxHR = 40.0, 180.0
	maxGap       = 3.0 // s
	maxRRRatio   = 2.2 // longest / shortest interval
	rrShort      = 0.7 // every interval at least this × the median (else an extra beat)…
	rrLong       = 1.5 // …and at most this × the median (else a missed beat)
	minCorr      = 0.66
	maxHalf      = 0.6 // s: a beat's segment is ± half the median interval, at most this
	minKurtosis  = 4.0 // of the 5–30 Hz band (white noise: 3)
)

// Problem is a set of reasons a window is unusable.
type Problem uint8

// Problems.
const (
	FewBeats  Problem = 1 << iota // fewer than 5 beats, or not judged yet
	Rate                          // heart rate outside 40–180 bpm
	Gap                           // more than 3 s without a beat
	Irregular                     // longest interval over 2.2 × the shortest, or one outside 0.7–1.5 × the median
	Shape                         // beats unlike each other (mean correlation under 0.66)
	Noise                         // the QRS band is close to Gaussian noise (kurtosis under 4)
)

var problemNames = [...]string{"too few beats", "implausible rate", "gap between beats", "irregular intervals", "beats unlike each other", "noise"}

// String lists the problems, e.g. "irregular intervals, beats unlike each
// other"; "ok" when none.
func (p Problem) String() string {
	if p == 0 {
		return "ok"
	}
	var parts []string
	for i, s := range problemNames {
		if p&(1<<i) != 0 {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

// Quality is the verdict on one window of ECG. The heart rate of a window
// that is not Usable must be withheld or flagged: its beats are too likely
// to include noise or to miss real ones.
type Quality struct {
	Seq      int64   // increases with every verdict; 0: none yet
	From, To float64 // the window, sample indices [From, To)
	Beats    int     // beats with R in the window
	HR       float64 // bpm: beats−1 over the time they span; 0 under 2 beats
	Corr     float64 // mean correlation of the beats with their average
	Kurtosis float64 // of the ECG's 5–30 Hz band over the window
	Problem  Problem // why not usable; 0 when usable
}

// Usable says whether the window's beats can be trusted for a heart rate.
func (q Quality) Usable() bool { return q.Seq > 0 && q.Problem == 0 }

// Quality returns the latest verdict: every QualityStep seconds, on the
// QualityWindow seconds that end QualityLag seconds before the newest
// sample. Seq tells a new verdict from the last one. After New and after
// Reset the verdict is "too few beats" until 5 s of signal are judged.
func (d *Detector) Quality() Quality { return d.q.last }

// quality judges windows of the cleaned ECG (kept in the detector's ring)
// by the beats found in them. Everything is allocated in init.
type quality struct {
	fs         float64
	step       int64     // samples per block; a verdict every block
	lag        int64     // blocks the window's end trails the newest sample
	winB, minB int64     // blocks in a full and in the shortest judged window
	start      int64     // first sample since New or Reset; -1 before it
	nextJudge  int64     // sample index of the next verdict
	beats      []float64 // ring of the latest R positions
	nBeats     int       // pushed since New or Reset
	rs         []float64 // beats of the window being judged
	rr         []float64 // their intervals
	tmpl       []float64 // their average
	kb         dsp.Filter
	cur        moments   // the block being filled
	blocks     []moments // ring of finished blocks
	nBlocks    int64     // finished since start
	seq        int64
	last       Quality
}

// moments are the sums of the powers of a signal over a block.
type moments struct{ n, s1, s2, s3, s4 float64 }

func (m *moments) add(o moments) {
	m.n, m.s1, m.s2, m.s3, m.s4 = m.n+o.n, m.s1+o.s1, m.s2+o.s2, m.s3+o.s3, m.s4+o.s4
}

// kurtosis is the fourth central moment over the squared variance (3 for
// Gaussian noise; a clean ECG's QRS band is far more peaked).
func (m moments) kurtosis() float64 {
	if m.n < 4 {
		return 0
	}
	mu := m.s1 / m.n
	m2 := m.s2/m.n - mu*mu
	m4 := m.s4/m.n - 4*mu*m.s3/m.n + 6*mu*mu*m.s2/m.n - 3*mu*mu*mu*mu
	if !(m2 > 0) {
		return 0
	}
	return m4 / (m2 * m2)
}

// ringNeed is how much cleaned ECG, in samples, the verdicts read back.
func (q *quality) ringNeed(fs float64) int {
	return int(math.Ceil((QualityWindow+QualityLag+QualityStep+maxHalf+0.5)*fs)) + 4
}

func (q *quality) init(fs float64) {
	q.fs = fs
	q.step = max(1, int64(math.Round(QualityStep*fs)))
	q.lag = int64(math.Round(QualityLag / QualityStep))
	q.winB = int64(math.Round(QualityWindow / QualityStep))
	q.minB = int64(math.Ceil(minWindow / QualityStep))
	// The refractory period allows 5 beats a second.
	maxBeats := int((QualityWindow+QualityLag+QualityStep+1)/refractory) + 2
	q.beats = make([]float64, maxBeats)
	q.rs = make([]float64, 0, maxBeats)
	q.rr = make([]float64, 0, maxBeats)
	q.tmpl = make([]float64, int(2*maxHalf*fs)+3)
	q.kb = dsp.HighPass(5, fs, 2)
	q.blocks = make([]moments, q.winB+q.lag+2)
	q.start = -1
}

// reset starts again after a gap: no verdict until minWindow of new signal.
func (q *quality) reset() {
	q.nBeats = 0
	q.start = -1
	if q.seq > 0 {
		q.seq++
		q.last = Quality{Seq: q.seq, From: q.last.To, To: q.last.To, Problem: FewBeats}
	}
}

func (q *quality) beat(r float64) {
	q.beats[q.nBeats%len(q.beats)] = r
	q.nBeats++
}

// push is called once per sample with the cleaned ECG, after the sample's
// beats. Samples fall in blocks of QualityStep from the first; a verdict
// comes when the block QualityLag after a window's last is complete.
func (q *quality) push(n int64, c float64, d *Detector) {
	if q.start < 0 {
		q.start = n
		q.kb.Settle(c)
		q.cur, q.nBlocks = moments{}, 0
		q.nextJudge = n + (q.minB+q.lag)*q.step - 1
	}
	k := q.kb.Step(c)
	if !q.kb.Healthy() {
		k = q.kb.Settle(0)
	}
	k2 := k * k
	q.cur.add(moments{1, k, k2, k2 * k, k2 * k2})
	if int64(q.cur.n) == q.step {
		q.blocks[q.nBlocks%int64(len(q.blocks))] = q.cur
		q.nBlocks++
		q.cur = moments{}
	}
	if n < q.nextJudge {
		return
	}
	q.nextJudge = n + q.step
	end := q.nBlocks - q.lag // blocks [first, end) make the window
	first := max(0, end-q.winB)
	var m moments
	for b := first; b < end; b++ {
		m.add(q.blocks[b%int64(len(q.blocks))])
	}
	from, to := q.start+first*q.step, q.start+end*q.step
	q.judge(float64(from), float64(to), m.kurtosis(), d)
}

func (q *quality) judge(from, to, kurtosis float64, d *Detector) {
	q.seq++
	res := Quality{Seq: q.seq, From: from, To: to, Kurtosis: kurtosis}
	if !(kurtosis >= minKurtosis) {
		res.Problem |= Noise
	}
	defer func() { q.last = res }()
	q.rs = q.rs[:0]
	for i := max(0, q.nBeats-len(q.beats)); i < q.nBeats; i++ {
		if r := q.beats[i%len(q.beats)]; r >= from && r < to {
			q.rs = append(q.rs, r)
		}
	}
	rs := q.rs
	res.Beats = len(rs)
	if len(rs) < 2 {
		res.Problem |= FewBeats | Gap
		return
	}
	if len(rs) < minBeats {
		res.Problem |= FewBeats
	}
	res.HR = 60 * q.fs * float64(len(rs)-1) / (rs[len(rs)-1] - rs[0])
	if res.HR < minHR || res.HR > maxHR {
		res.Problem |= Rate
	}
	q.rr = q.rr[:0]
	for i := 1; i < len(rs); i++ {
		q.rr = append(q.rr, rs[i]-rs[i-1])
	}
	minRR, maxRR := q.rr[0], q.rr[0]
	for _, l := range q.rr {
		minRR, maxRR = min(minRR, l), max(maxRR, l)
	}
	if max(rs[0]-from, to-rs[len(rs)-1], maxRR) > maxGap*q.fs {
		res.Problem |= Gap
	}
	insertionSort(q.rr)
	medRR := q.rr[len(q.rr)/2]
	if maxRR > maxRRRatio*minRR || maxRR > rrLong*medRR || minRR < rrShort*medRR {
		res.Problem |= Irregular
	}
	res.Corr = q.correlation(rs, medRR, d)
	if !(res.Corr >= minCorr) {
		res.Problem |= Shape
	}
}

// correlation is Orphanidou's template match: each beat's segment (centred
// on R, as long as the median interval) against the average of them all,
// compared at about sqiRate.
func (q *quality) correlation(rs []float64, medRR float64, d *Detector) float64 {
	dec := d.shape.dec
	half := int(min(0.5*medRR, maxHalf*q.fs)) / dec
	if half < 2 {
		return 0
	}
	l := 2*half + 1
	tmpl := q.tmpl[:l]
	clear(tmpl)
	ring := d.clRing
	// seg returns the first ring index of the beat's segment; ok false when
	// the ring does not hold it.
	seg := func(r float64) (int64, bool) {
		lo := d.ringIndex(r) - int64(half*dec)
		return lo, lo >= ring.Oldest() && lo+int64(2*half*dec) < ring.Len()
	}
	used := 0
	for _, r := range rs {
		if lo, ok := seg(r); ok {
			for k := range tmpl {
				tmpl[k] += ring.At(lo + int64(k*dec))
			}
			used++
		}
	}
	if used < 2 {
		return 0
	}
	var tm, tss float64
	for _, v := range tmpl {
		tm += v
	}
	tm /= float64(l)
	for k := range tmpl {
		tmpl[k] -= tm
		tss += tmpl[k] * tmpl[k]
	}
	if tss <= 0 {
		return 0
	}
	sum := 0.0
	for _, r := range rs {
		lo, ok := seg(r)
		if !ok {
			continue
		}
		var xm float64
		for k := range tmpl {
			xm += ring.At(lo + int64(k*dec))
		}
		xm /= float64(l)
		var sxy, sxx float64
		for k, t := range tmpl {
			x := ring.At(lo+int64(k*dec)) - xm
			sxy += x * t
			sxx += x * x
		}
		if sxx > 0 {
			sum += sxy / math.Sqrt(sxx*tss)
		}
	}
	return sum / float64(used)
}

// insertionSort sorts a short slice in place without allocating.
func insertionSort(s []float64) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// QualityLog keeps every verdict of a recording (one a second, about 4 kB a
// minute) so an offline analysis can ask whether the ECG at any moment was
// usable, e.g. to leave an interval out of a heart-rate summary. Rate is
// the sampling rate (Hz); the zero value works without the tail rule of At.
type QualityLog struct {
	Rate float64
	v    []Quality
}

// Add records a verdict; one already recorded (same Seq) is ignored. Feed
// it d.Quality() after every Push.
func (l *QualityLog) Add(q Quality) {
	if q.Seq == 0 || (len(l.v) > 0 && l.v[len(l.v)-1].Seq == q.Seq) {
		return
	}
	l.v = append(l.v, q)
}

// Verdicts returns the verdicts recorded, oldest first.
func (l *QualityLog) Verdicts() []Quality { return l.v }

// At returns the verdict on sample position i: of the windows that contain
// it, the one centred nearest to it; for the last QualityLag seconds before
// a gap or the end, which no window reaches, the last window before. ok is
// false when there is none (no signal judged yet, or i is past the end).
func (l *QualityLog) At(i float64) (q Quality, ok bool) {
	// Windows start and end later and later: those containing i are
	// the run from the first ending after i to the first starting after
	// it.
	lo := sort.Search(len(l.v), func(k int) bool { return l.v[k].To > i })
	hi := sort.Search(len(l.v), func(k int) bool { return l.v[k].From > i })
	best := math.Inf(1)
	for k := lo; k < hi; k++ {
		if v := l.v[k]; v.From <= i && i < v.To {
			if dist := math.Abs((v.From+v.To)/2 - i); dist < best {
				q, ok, best = v, true, dist
			} else if ok {
				break // the centres only move further away
			}
		}
	}
	if ok || lo == 0 {
		return q, ok
	}
	// The tail no window reached: the last window before, if i is
	// within the lag after its end (beyond that nothing was recorded).
	for k := lo - 1; k >= 0; k-- {
		if v := l.v[k]; v.To > v.From {
			return v, i < v.To+QualityLag*l.Rate
		}
	}
	return q, false
}

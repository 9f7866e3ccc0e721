package offline

import (
	"errors"
	"math"
	"sort"

	"github.com/cueroom/cueroom/sensors/physio/eda"
)

// DefaultWindow is the span, in seconds, of skin conductance a Stream
// analyses at a time (plus its margins): five minutes keeps a window of a
// 1 kHz recording a few MB whatever the session's length.
const DefaultWindow = 300.0

// StreamInput describes a recording fed to a Stream sample by sample.
type StreamInput struct {
	Rate          float64
	ECG, PPG, EDA bool // the channels recorded
	// Names of the source columns, for the report.
	ECGName, PPGName, EDAName string
	// Event sets: Finish returns one Report per set, as Analyze would for
	// Input.Events = the set.
	Events [][]Event
	// Window is the span of skin conductance analysed at a time, s (0:
	// DefaultWindow); a recording no longer than one window and its two
	// margins is analysed whole, as Analyze does.
	Window float64
}

// Stream is Analyze for recordings too long to hold: samples are pushed one
// at a time and only compact results are kept (beats, SCRs, sums over the
// spans the events measure, a few summary numbers), never the whole signal
// (the ECG's second pass keeps its current 6 minutes, at 250 Hz).
//
// Beats come from the causal detectors fed sample by sample, so they are
// exactly Analyze's. Skin conductance is low-passed with zero phase, which
// needs the samples on both sides: it is analysed in windows of
// StreamInput.Window seconds (the window's core) plus a margin on each side
// (edaMargin), with eda.Find as Analyze uses it, and each window keeps only
// the SCRs peaking in its core and the low-passed samples of its core, so
// every SCR and every sample is counted once. A recording no longer than one
// window and both margins is one window: byte-identical to Analyze.
type Stream struct {
	in       StreamInput
	cfg      Config
	n        int
	ecg, ppg *heartStream
	eda      *skinStream
}

// NewStream starts a stream.
func NewStream(in StreamInput, cfg Config) (*Stream, error) {
	cfg.defaults()
	if !(in.Rate > 0) || math.IsInf(in.Rate, 0) {
		return nil, errors.New("offline: the sampling rate must be a positive number of Hz")
	}
	if !in.ECG && !in.PPG && !in.EDA {
		return nil, errors.New("offline: no signal to analyse: give an ECG, PPG or EDA channel")
	}
	s := &Stream{in: in, cfg: cfg}
	var err error
	if in.ECG {
		if s.ecg, err = newHeartStream(in.Rate, cfg, true); err != nil {
			return nil, err
		}
	}
	if in.PPG {
		if s.ppg, err = newHeartStream(in.Rate, cfg, false); err != nil {
			return nil, err
		}
	}
	if in.EDA {
		if _, err := eda.New(in.Rate, cfg.SCR); err != nil {
			return nil, err // what eda.Find would say on the first window
		}
		win := in.Window
		if !(win > 0) {
			win = DefaultWindow
		}
		s.eda = newSkinStream(in.Rate, cfg, win, in.Events)
	}
	return s, nil
}

// Push feeds the next sample of each channel (NaN: missing; a channel not
// recorded is ignored). The error is the skin conductance analysis's.
func (s *Stream) Push(ecgV, ppgV, edaV float64) error {
	s.n++
	if s.ecg != nil {
		s.ecg.add(ecgV)
	}
	if s.ppg != nil {
		s.ppg.add(ppgV)
	}
	if s.eda != nil {
		return s.eda.add(edaV)
	}
	return nil
}

// Finish ends the stream and measures each event set: the Reports Analyze
// gives for the same samples and events.
func (s *Stream) Finish() ([]*Report, error) {
	if s.n == 0 {
		return nil, errors.New("offline: no signal to analyse: give an ECG, PPG or EDA channel")
	}
	var ecgH, ppgH *Heart
	var skn *Skin
	if s.ecg != nil {
		ecgH = s.ecg.finish()
		ecgH.Column = name(s.in.ECGName, "ECG")
	}
	if s.ppg != nil {
		ppgH = s.ppg.finish()
		ppgH.Column = name(s.in.PPGName, "PPG")
	}
	if s.eda != nil {
		var err error
		if skn, err = s.eda.finish(); err != nil {
			return nil, err
		}
		skn.Column = name(s.in.EDAName, "EDA")
	}
	out := make([]*Report, 0, len(s.in.Events))
	for _, evs := range s.in.Events {
		r := &Report{Rate: s.in.Rate, Samples: s.n, Duration: float64(s.n) / s.in.Rate}
		r.Settings = ReportSettings{Baseline: s.cfg.Baseline, Response: s.cfg.Response, SCRFrom: s.cfg.SCRFrom, SCRTo: s.cfg.SCRTo}
		// Each report its own copy, as separate Analyze calls give.
		if ecgH != nil {
			c := *ecgH
			r.ECG = &c
		}
		if ppgH != nil {
			c := *ppgH
			r.PPG = &c
		}
		if skn != nil {
			c := *skn
			r.EDA = &c
		}
		r.finish(evs, s.cfg)
		out = append(out, r)
	}
	return out, nil
}

// edaMargin is how much skin conductance a window analyses on each side of
// its core, s, so that what it keeps from the core is what a whole-signal
// pass finds:
//   - after the core, an SCR peaking at its end must be confirmed (the
//     signal falls back by the hysteresis), have its half recovery found
//     (eda's detector gives up 60 s after the peak) and lie clear of the
//     zero-phase filter's edge transient;
//   - before the core, the detector must have fallen into step with the
//     signal (a trough, a rise) and hold the rise of an SCR peaking at the
//     core's start (MaxRise, plus the 2 s the detector's ring keeps), again
//     clear of the filter's transient.
//
// The filter is eda's 2nd-order Butterworth low-pass at fc (1 Hz, lower on
// slow streams): its transient falls below 1e-12 of a step within about
// 20/fc s. So: 60 s + MaxRise + 2 s + 20/fc s — 89 s by default.
//
// With a decomposition, the tonic level (the Filter one) is the same filter at
// TonicCutoff (0.05 Hz), zero phase: its transient decays by e^(−ωc·t/√2),
// below 1e-15 of a step after 8/TonicCutoff s: 160 s by default, which
// then sets the margin. (cvxEDA's fit near a window's edge differs from
// a whole-recording fit more than that; see eda.Decompose.)
func edaMargin(fs float64, c eda.Config, tonic bool) float64 {
	maxRise, lp, tc := c.MaxRise, c.LowPass, c.TonicCutoff
	if !(maxRise > 0) {
		maxRise = 7
	}
	if !(lp > 0) {
		lp = 1
	}
	if !(tc > 0) {
		tc = eda.DefaultTonicCutoff
	}
	fc := min(lp, 0.45*fs)
	m := 60 + maxRise + 2 + 20/fc
	if tonic {
		m = max(m, 8/min(tc, 0.45*fs))
	}
	return m
}

// skinStream fills gaps (as fillGaps does, holding only the count of a NaN
// run until its end) and analyses the filled signal in windows.
type skinStream struct {
	fs     float64
	cfg    Config
	core   int // window core, samples
	margin int // samples

	// Gap filling and the quantisation step (thresholdFor).
	gaps     int
	pending  int     // NaN run not yet filled
	prev     float64 // last valid value
	havePrev bool
	lastY    float64
	haveY    bool
	q        float64 // smallest non-zero step of the filled signal

	// The window being filled: filled samples from base on.
	base int
	y    []float64
	gap  []bool    // the sample was missing (filled)
	done int       // samples up to here were analysed (their window's core)
	sc   []float64 // the window low-passed: eda.FindInto's buffer, reused

	scrs     []SCR
	lv       *spanLevels
	ton, pha *spanLevels // the decomposition's tonic and phasic parts
	w, wt    welford
	lo       float64
	hi       float64
	level    bool // a low-passed sample was kept
}

func newSkinStream(fs float64, cfg Config, window float64, sets [][]Event) *skinStream {
	margin := int(math.Ceil(edaMargin(fs, cfg.SCR, cfg.Decomposition != "") * fs))
	core := max(1, int(math.Ceil(window*fs)))
	s := &skinStream{fs: fs, cfg: cfg, core: core, margin: margin, q: math.Inf(1),
		lo: math.Inf(1), hi: math.Inf(-1), lv: newSpanLevels(fs, cfg, sets)}
	if cfg.Decomposition != "" {
		s.ton, s.pha = newSpanLevels(fs, cfg, sets), newSpanLevels(fs, cfg, sets)
	}
	if c := core + 2*margin; c <= 1<<23 {
		s.y, s.gap, s.sc = make([]float64, 0, c), make([]bool, 0, c), make([]float64, 0, c)
	}
	return s
}

// add takes the next raw sample.
func (s *skinStream) add(v float64) error {
	if math.IsNaN(v) || math.Abs(v) >= 1e12 {
		s.gaps++
		s.pending++
		return nil
	}
	if !s.havePrev {
		// Before the first valid value: held at it.
		for range s.pending {
			if err := s.emit(v, true); err != nil {
				return err
			}
		}
	} else {
		// Linearly across the gap, as fillGaps computes it.
		a, k := s.prev, s.pending+1
		for j := 1; j < k; j++ {
			if err := s.emit(a+(v-a)*float64(j)/float64(k), true); err != nil {
				return err
			}
		}
	}
	s.pending = 0
	s.prev, s.havePrev = v, true
	return s.emit(v, false)
}

// emit appends a filled sample to the window, analysing the window first
// when it is full.
func (s *skinStream) emit(y float64, gap bool) error {
	if s.haveY {
		if dx := math.Abs(y - s.lastY); dx > 0 && dx < s.q {
			s.q = dx
		}
	}
	s.lastY, s.haveY = y, true
	if len(s.y) == s.core+2*s.margin {
		if err := s.analyse(false); err != nil {
			return err
		}
	}
	s.y, s.gap = append(s.y, y), append(s.gap, gap)
	return nil
}

// analyse runs the window [base, base+len(y)) and keeps its core: from
// done to the margin before its end, or to the end on the last window.
func (s *skinStream) analyse(last bool) error {
	end := s.base + len(s.y)
	coreTo := end
	if !last {
		coreTo = end - s.margin
	}
	scrs, sc, err := eda.FindInto(s.sc, s.y, s.fs, absolute(s.cfg.SCR))
	if err != nil {
		return err
	}
	s.sc = sc
	dec, err := decompose(sc, s.fs, s.cfg)
	if err != nil {
		return err
	}
	for _, c := range scrs {
		if p := s.base + int(math.Round(c.Peak)); p < s.done || p >= coreTo {
			continue // another window's
		}
		// An SCR reaching into a filled gap is not trusted.
		if spansGapMask(s.gap, int(c.Onset), int(math.Ceil(c.Peak))) {
			continue
		}
		s.scrs = append(s.scrs, scrAt(c, s.base, s.fs))
	}
	for i := s.done; i < coreTo; i++ {
		v := sc[i-s.base]
		s.lv.add(i, v)
		if dec != nil {
			s.ton.add(i, dec.Tonic[i-s.base])
			s.pha.add(i, dec.Phasic[i-s.base])
		}
		if s.gap[i-s.base] {
			continue
		}
		s.w.add(v)
		if dec != nil {
			s.wt.add(dec.Tonic[i-s.base])
		}
		s.lo, s.hi = min(s.lo, v), max(s.hi, v)
		s.level = true
	}
	s.done = coreTo
	if !last {
		// Keep the next window's leading margin.
		from := coreTo - s.margin
		k := copy(s.y, s.y[from-s.base:])
		copy(s.gap, s.gap[from-s.base:])
		s.y, s.gap = s.y[:k], s.gap[:k]
		s.base = from
	}
	return nil
}

func spansGapMask(gap []bool, from, to int) bool {
	for i := max(0, from); i <= min(to, len(gap)-1); i++ {
		if gap[i] {
			return true
		}
	}
	return false
}

// finish fills a trailing gap, analyses the last window and returns what
// skin gives for the whole signal.
func (s *skinStream) finish() (*Skin, error) {
	out := &Skin{SCRs: []SCR{}, Gaps: s.gaps, Decomposition: string(s.cfg.Decomposition)}
	if !s.havePrev {
		return out, nil // no valid value at all
	}
	for range s.pending {
		if err := s.emit(s.prev, true); err != nil {
			return nil, err
		}
	}
	s.pending = 0
	if err := s.analyse(true); err != nil {
		return nil, err
	}
	out.SCRs = append(out.SCRs, s.scrs...)
	out.Threshold = s.cfg.SCR.Threshold
	if !(out.Threshold > 0) {
		out.Threshold = 0.01
	}
	if !math.IsInf(s.q, 1) {
		out.Threshold = max(out.Threshold, 1.5*s.q)
	}
	out.SCRs, out.Threshold = keepAbove(out.SCRs, out.Threshold, s.cfg.SCR.Relative)
	out.Mean = s.w.mean
	if s.level {
		out.Min, out.Max = s.lo, s.hi
	}
	s.lv.n = s.done
	out.lv = s.lv
	if s.cfg.Decomposition != "" {
		s.ton.n, s.pha.n = s.done, s.done
		out.ton, out.pha = s.ton, s.pha
		m := s.wt.mean
		out.TonicMean = &m
	}
	return out, nil
}

// spanLevels sums the low-passed signal over the spans react will measure,
// known from the events before the samples come: the same sums, in the
// same order, as meanOf over the whole signal.
type spanLevels struct {
	spans  []*spanSum // by start
	by     map[[2]int]*spanSum
	next   int
	active []*spanSum
	tail   []float64 // the last second, for a span ending at the end: a ring
	head   int       // where the next sample goes in tail
	filled bool      // tail went round
	n      int       // samples, once finished
}

// toEnd marks a span running to the end of the recording (its length not
// yet known).
const toEnd = math.MaxInt

type spanSum struct {
	from, to  int
	sum, peak float64
}

// newSpanLevels registers every span react asks for on the events of sets
// (a superset: react skips events outside the recording).
func newSpanLevels(fs float64, cfg Config, sets [][]Event) *spanLevels {
	l := &spanLevels{by: map[[2]int]*spanSum{}, tail: make([]float64, max(1, int(fs)))}
	reg := func(from, to int) {
		k := [2]int{from, to}
		if l.by[k] == nil {
			sp := &spanSum{from: from, to: to, peak: math.Inf(-1)}
			l.by[k] = sp
			l.spans = append(l.spans, sp)
		}
	}
	for _, set := range sets {
		evs := sortedEvents(set)
		for k, e := range evs {
			on := float64(e.Index)
			b0, r1 := on-cfg.Baseline*fs, on+cfg.Response*fs
			reg(int(b0), int(on))
			reg(int(on), int(r1))
			if k+1 < len(evs) {
				end := int(evs[k+1].Index)
				reg(int(on), end)
				reg(end-int(fs), end)
			} else {
				reg(int(on), toEnd) // and the last second: tail
			}
		}
	}
	sort.SliceStable(l.spans, func(i, j int) bool { return l.spans[i].from < l.spans[j].from })
	return l
}

// add takes low-passed sample i (called for i = 0, 1, 2 …).
func (l *spanLevels) add(i int, v float64) {
	for l.next < len(l.spans) && max(0, l.spans[l.next].from) <= i {
		l.active = append(l.active, l.spans[l.next])
		l.next++
	}
	keep := l.active[:0]
	for _, sp := range l.active {
		if sp.to <= i {
			continue
		}
		sp.sum += v
		sp.peak = max(sp.peak, v)
		keep = append(keep, sp)
	}
	clear(l.active[len(keep):])
	l.active = keep
	l.tail[l.head] = v
	if l.head++; l.head == len(l.tail) {
		l.head, l.filled = 0, true
	}
}

func (l *spanLevels) mean(from, to int) (float64, float64, bool) {
	f, t := max(0, from), min(l.n, to)
	if t <= f {
		return 0, 0, false
	}
	sp := l.by[[2]int{from, to}]
	if sp == nil && to >= l.n {
		sp = l.by[[2]int{from, toEnd}]
	}
	if sp != nil {
		return sp.sum / float64(t-f), sp.peak, true
	}
	if k := t - f; t == l.n && (k <= l.head || l.filled && k <= len(l.tail)) {
		// The last k samples, oldest first.
		last := make([]float64, 0, k)
		for j := l.head - k; j < l.head; j++ {
			last = append(last, l.tail[(j+len(l.tail))%len(l.tail)])
		}
		return meanOf(last, 0, k)
	}
	return 0, 0, false // not a span react asks for
}

package physio

import (
	"math"
	"time"

	"github.com/cueroom/cueroom/sensors"
)

// Floors of the baseline standard deviations (see the package comment).
const (
	minSDHR = 2.0 // bpm
	minSDSC = 0.1 // µS
)

// welford is a running mean and variance.
type welford struct {
	n    int
	mean float64
	m2   float64
}

func (w *welford) add(x float64) {
	w.n++
	d := x - w.mean
	w.mean += d / float64(w.n)
	w.m2 += d * (x - w.mean)
}

func (w *welford) sd() float64 {
	if w.n < 2 {
		return 0
	}
	return math.Sqrt(w.m2 / float64(w.n-1))
}

type baseline struct{ hr, sc welford }

// minBaseTicks is how many ticks of a signal a baseline needs (2 s at 4 Hz).
const minBaseTicks = 8

// StartBaseline starts a new baseline period at session time t, replacing
// any earlier baseline (including the automatic one). Until EndBaseline, no
// arousal index is given.
func (p *Processor) StartBaseline(t time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.base = baseline{}
	p.baseSet, p.baseFrom, p.baseTo = true, t, 0
}

// EndBaseline ends the baseline period at session time t.
func (p *Processor) EndBaseline(t time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.baseSet {
		p.baseSet, p.baseFrom = true, t
	}
	p.baseTo = t
}

func (p *Processor) inBaseline(now time.Duration) bool {
	return p.baseSet && now >= p.baseFrom && (p.baseTo == 0 || now < p.baseTo)
}

// judgedUsable says whether an ECG channel's latest window was judged
// usable. Before the first verdict (the first ~6 s, and again after a gap)
// noise would pass as beats without a Noisy flag, so its HR waits for one.
// Other channels have no verdict and pass.
func (c *channel) judgedUsable() bool {
	return c.ecg == nil || c.ecg.Quality().Usable()
}

// tickLevels computes the periodic levels and the arousal index.
func (p *Processor) tickLevels(n int64, now time.Duration, out []Derived) []Derived {
	lv := Levels{InBaseline: p.inBaseline(now)}
	for _, want := range []kind{kindECG, kindPPG, kindHR} {
		if lv.HasHR {
			break
		}
		for _, c := range p.chans {
			if c.kind != want || c.flags != 0 || !c.judgedUsable() {
				continue
			}
			if hr, ok := c.meanHR(now); ok {
				lv.HR, lv.HRSource, lv.HasHR = sensors.BPM(hr), c.label, true
				if c.rmssd != nil {
					lv.RMSSD, lv.HasRMSSD = c.rmssd.At(now.Seconds())
				}
				break
			}
		}
	}
	for _, c := range p.chans {
		if c.kind == kindEDA && c.flags == 0 && c.hasLv {
			lv.SC, lv.Tonic, lv.Phasic = sensors.Microsiemens(c.lv.SC), sensors.Microsiemens(c.lv.SCL), sensors.Microsiemens(c.lv.Phasic)
			lv.HasSC = true
			break
		}
	}
	if lv.InBaseline {
		if lv.HasHR {
			p.base.hr.add(float64(lv.HR))
		}
		if lv.HasSC {
			p.base.sc.add(float64(lv.SC))
		}
	} else if p.baseSet && p.baseTo != 0 && now >= p.baseTo {
		z, k := 0.0, 0
		if lv.HasHR && p.base.hr.n >= minBaseTicks {
			lv.ZHR = (float64(lv.HR) - p.base.hr.mean) / max(p.base.hr.sd(), minSDHR)
			lv.HasZHR = true
			z += lv.ZHR
			k++
		}
		if lv.HasSC && p.base.sc.n >= minBaseTicks {
			lv.ZSC = (float64(lv.SC) - p.base.sc.mean) / max(p.base.sc.sd(), minSDSC)
			lv.HasZSC = true
			z += lv.ZSC
			k++
		}
		if k > 0 {
			lv.Arousal, lv.HasArousal = z/float64(k), true
		}
	}
	p.hab.push(now, float64(lv.SC), lv.HasSC)
	p.levels = lv
	return append(out, Derived{Kind: KindLevels, T: now, Known: now, Index: n, Levels: lv})
}

// State is a snapshot of the processor's live state.
type State struct {
	Levels  Levels             // as last emitted
	Quality map[string]Quality // by channel label
}

// State returns the latest levels and the quality of every channel.
func (p *Processor) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := State{Levels: p.levels, Quality: make(map[string]Quality, len(p.chans))}
	for _, c := range p.chans {
		st.Quality[c.label] = c.flags
	}
	return st
}

// Habituation is a condition on skin conductance since the last MarkStep:
// SC has come back to within Within of its rise (peak − level at the mark)
// and stayed there for For. A rise under MinRise counts as none, so a
// participant who does not react is habituated once For has passed. Zero
// fields take the default in brackets.
type Habituation struct {
	Within  float64              // fraction of the rise [0.5]
	For     time.Duration        // how long it must hold [10 s]; at most 10 min
	MinRise sensors.Microsiemens // [0.05 µS]
}

const maxHabFor = 10 * time.Minute

type habTick struct {
	t        time.Duration
	sc, peak float64
	good     bool
}

// habituation keeps the SC ticks since the last mark, up to maxHabFor.
type habituation struct {
	marked bool
	markAt time.Duration
	refSet bool
	ref    float64
	peak   float64
	ticks  []habTick
	head   int // index of the oldest
	count  int
}

func (h *habituation) init(rate float64) {
	h.ticks = make([]habTick, int(maxHabFor.Seconds()*rate)+2)
}

func (h *habituation) push(now time.Duration, sc float64, good bool) {
	if !h.marked || now < h.markAt {
		return
	}
	if good && !h.refSet {
		h.ref, h.peak, h.refSet = sc, sc, true
	}
	if good {
		h.peak = max(h.peak, sc)
	}
	tk := habTick{t: now, sc: sc, peak: h.peak, good: good && h.refSet}
	if h.count == len(h.ticks) {
		h.head = (h.head + 1) % len(h.ticks)
		h.count--
	}
	h.ticks[(h.head+h.count)%len(h.ticks)] = tk
	h.count++
}

// MarkStep sets the reference for Habituated: the skin conductance at the
// first tick at or after session time t (a step start or cue onset).
func (p *Processor) MarkStep(t time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := &p.hab
	h.marked, h.markAt, h.refSet = true, t, false
	h.head, h.count = 0, 0
}

// Habituated reports whether the condition holds as of the latest sample.
// It is false before MarkStep, before For has passed since the mark, and
// while the EDA channel is missing or flagged.
func (p *Processor) Habituated(c Habituation) bool {
	if !(c.Within > 0) {
		c.Within = 0.5
	}
	if c.For <= 0 {
		c.For = 10 * time.Second
	}
	c.For = min(c.For, maxHabFor)
	if c.MinRise <= 0 {
		c.MinRise = 0.05
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	h := &p.hab
	if !h.marked || !h.refSet || h.count == 0 {
		return false
	}
	last := h.ticks[(h.head+h.count-1)%len(h.ticks)]
	if last.t-h.markAt < c.For {
		return false
	}
	for i := h.count - 1; i >= 0; i-- {
		tk := h.ticks[(h.head+i)%len(h.ticks)]
		if last.t-tk.t > c.For {
			break
		}
		if !tk.good {
			return false
		}
		rise := tk.peak - h.ref
		if rise >= float64(c.MinRise) && tk.sc-h.ref > c.Within*rise {
			return false
		}
	}
	return true
}

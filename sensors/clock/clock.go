// Package clock puts each sample of a device stream on the session clock
// from the device's own counter, not from when the sample happened to
// arrive.
//
// # Model
//
// Sample n of a connection was taken at device time d_n: its count of
// sample periods since the connection started (lost samples included)
// over the nominal rate, or its tick counter over the tick rate. It
// arrives at a_n = d_n + offset(d_n) + delay_n on the session clock, where
// delay_n ≥ 0 (transmission, OS buffering, our own process being stopped)
// and offset(d) = o0 + drift·d is unknown (crystal error, |drift| ≤
// MaxDriftPPM). A Mapper estimates offset online from the least-delayed
// envelope of o_n = a_n − d_n, as LSL and LabRecorder do: the least o in
// each block of device time (1 s; shorter while an anchor is young) over
// the last Config.Window, the lower convex hull of those minima, and the
// line under all of them that minimises the summed distance to them —
// the hull edge spanning their mean device time (S. B. Moon, P. Skelly,
// D. Towsley, "Estimation and removal of clock skew from network delay
// measurements", IEEE INFOCOM 1999). A sample's time is t_n = d_n +
// offset(d_n): when the device's clock says it was taken, so a stall of
// our process, a bursty link or a loaded machine delays samples without
// moving them. Samples that came late lie above the hull and do not move
// it; samples far above the line (a stall's backlog) are not even added.
//
// # Counting samples
//
// The counter says how many samples were lost between two that arrived:
//
//   - A sample counter modulo Counter.Wrap (BITalino: 16) gives the loss
//     only modulo Wrap. The mapper takes the smallest count that fits;
//     whole wraps lost then show as every later sample lying a whole
//     number of wrap periods above the line (it was taken later than the
//     count says). A stall looks the same at first, but its backlog then
//     arrives faster than real time and comes back down to the line. So a
//     sample more than half a wrap period above the line is held back,
//     with every sample after it, until a sample comes back near the line
//     (a delay: nothing lost) or the least excess has stayed level, within
//     a quarter wrap of a whole number of wraps, for Config.Confirm of
//     arrival time (that many wraps lost, put at the gap where the counter
//     showed a loss, or else from the earliest held sample that stays
//     above the new line). Time without arrivals does not count: a stopped
//     process sees nothing until it wakes.
//   - A tick counter (Shimmer: 32768 Hz) gives device time directly, and
//     the loss as the step in ticks over the ticks per sample, less one.
//   - Without a counter, n counts the samples received, and the same
//     held-back test, one sample period standing for a wrap, is the only
//     way to see a loss. A loss under 2 ms (a single sample, above 500 Hz)
//     goes unseen until the envelope absorbs it; Stats.Uncertainty says so.
//
// What timing cannot tell apart: a latency that rises and stays up by
// about a whole number of wraps (without a counter: by anything over 2 ms)
// reads as a loss, and its end as a re-anchor; a whole wrap lost inside a
// draining backlog is counted, but put at the stall.
//
// # Anchors
//
// A sample that arrives more than half a wrap period (at least 2 ms; for
// counters that do not wrap, 100 ms) before the line allows could not
// have been taken yet: the count ran ahead (a corrupt or reset counter, a
// latency step read as a loss). The mapper re-anchors there: it learns
// the envelope anew, keeping the drift; the loss just before that sample
// is unknown and counted as none (a counter that wraps keeps its residue).
// Reset does the same for a new connection. Nothing else re-anchors:
// neither a stall nor a loss.
//
// The first samples of an anchor arrive with whatever delay their burst
// had, and the envelope has no history yet: each anchor holds back
// Config.Hold of device time before it emits anything, so those samples
// are mapped with an envelope that has seen the least delayed of them.
// A device with a sample counter or clock holds on while the least delay
// is still falling (the second half of the hold arrives earlier than the
// first): a connection that starts
// while our process is behind delivers a backlog, draining slowly on a
// loaded machine, and a line learned from it would be too high, the first
// sample on time then re-anchoring with times stepping back. The anchor
// then learns afresh from the later half, keeping its prior drift.
// Emitted times are strictly increasing.
package clock

import (
	"fmt"
	"math"
	"time"
)

// MaxDriftPPM bounds the drift estimate: crystal error, parts per million.
const MaxDriftPPM = 500

// Fixed parameters of the estimate.
const (
	block   = 1.0     // s of device time per envelope point
	minSpan = 0.5     // s the completed blocks span before the drift is estimated
	minStep = 2e-3    // s: the smallest excess read as a loss or a re-anchor
	farStep = 0.1     // s: re-anchor threshold for a counter that never wraps
	maxHeld = 1 << 16 // samples held at most (a very long stall)
	// slewRate: how fast emitted times follow a moving line, as a share
	// of device time (5 %: a sample interval is never off by more).
	slewRate = 0.05
	// lateAgain: a held sample this far above the level (at least; twice
	// the link's ordinary lateness when that is more) is late again
	// (another stall): the level must then stand afresh for Confirm.
	// Above the jitter of a loaded machine's bursts, below a stall.
	lateAgain = 50e-3
)

// Counter says what a stream's Seq counts. The zero value: nothing (n =
// samples received).
type Counter struct {
	// Wrap is the modulus of the raw counter. For a sample counter
	// (TicksPerSecond 0) it makes Seq a sample counter: BITalino 16, a
	// 32-bit count of samples 1<<32. For a tick counter, 0 means the
	// decoder has unwrapped it (to a uint32, which may itself wrap).
	Wrap uint64
	// TicksPerSecond makes Seq a clock: device time = ticks / TicksPerSecond
	// (Shimmer: 32768).
	TicksPerSecond float64
}

// Config describes a stream. Zero durations take their defaults.
type Config struct {
	Rate    float64 // nominal samples per second; 0 (unknown) with no tick counter: arrival times, made strictly increasing
	Counter Counter
	Hold    time.Duration // device time held back at each anchor's start; default 500 ms
	Window  time.Duration // how much device time the envelope remembers; default 10 min
	// Confirm is how long an excess of whole wrap periods must last, in
	// arrival time, to count as a loss (at least four sample periods);
	// default 500 ms. It is the extra latency of samples after a loss.
	Confirm time.Duration
}

// Stats describes the mapping, for a session's metadata.
type Stats struct {
	// Method is how device time is known: "counter" (a sample counter),
	// "ticks" (a tick counter), "count" (no counter: samples received) or
	// "arrival" (no rate known: times are arrival times).
	Method   string        `json:"method"`
	Offset   time.Duration `json:"offset"`    // session time minus device time at the latest sample
	DriftPPM float64       `json:"drift_ppm"` // session seconds per device second, less one, in ppm
	// Spread is the median height of the per-block least offsets above the
	// line: how far the least-delayed envelope itself wanders.
	Spread time.Duration `json:"spread"`
	// Uncertainty of an emitted time: Spread, plus for "count" the excess a
	// loss must reach to be seen.
	Uncertainty time.Duration `json:"uncertainty"`
	Samples     uint64        `json:"samples"` // samples emitted
	Lost        uint64        `json:"lost"`    // samples counted lost, as emitted
	Anchors     int           `json:"anchors"` // anchors started: the first, each Reset, each re-anchor
}

type method uint8

const (
	byArrival method = iota
	byCount
	bySamples
	byTicks
)

var methodNames = [...]string{"arrival", "count", "counter", "ticks"}

// entry is a sample not yet emitted.
type entry[T any] struct {
	v       T
	pos     int64   // device position in counter units (samples or ticks)
	a       float64 // arrival, s
	e       float64 // excess over the line when it arrived, s
	jump    float64 // e minus the previous sample's e
	lost    uint64
	visible bool // the counter itself showed a loss before it
}

// Mapper maps one stream's samples onto the session clock. It is not safe
// for concurrent use. Push, Flush and Reset call emit synchronously, in
// sample order.
type Mapper[T any] struct {
	emit func(v T, t time.Duration, lost uint64)

	how      method
	wrap     uint64  // modulus of the raw counter, 0: none (or 1<<32)
	secPer   float64 // seconds per counter unit
	perSamp  float64 // counter units per sample
	unit     int64   // counter units a missed wrap adds (0: no held-back test)
	unitSec  float64
	thr      float64 // excess that starts a hold
	far      float64 // deficit that re-anchors
	late     float64 // excess above which a sample is late: it does not feed the envelope
	qtol     float64 // how close to whole wraps an excess must be to count
	confirm  float64
	hold     float64
	rate     float64
	env      envelope
	q        ring[entry[T]]
	npend    int     // the last npend entries of q await a loss decision
	best     int     // held entry (counted from the first held) where wraps would be lost
	level    float64 // least excess from best on
	since    float64 // arrival when level last dropped by qtol/2 or more
	sinceLvl float64 // level then
	// lateQ is this link's ordinary lateness: the largest excess of
	// decided samples lately (decaying), so a link that delivers in
	// bursts does not look like one stalling again at every burst.
	lateQ, lateQAt float64
	// The offset the last emitted sample got, at its device time: the
	// next follows the line from there (slewRate).
	slewOK         bool
	slewD, slewOff float64
	started        bool
	holding        bool
	prevSeq        uint32
	pos            int64
	segStart       int64
	lastE          float64
	tPrev          time.Duration
	emitted        bool
	st             Stats
}

// New returns a mapper for the stream cfg describes; emit receives each
// sample with its time on the session clock and the number of samples
// lost just before it.
func New[T any](cfg Config, emit func(v T, t time.Duration, lost uint64)) *Mapper[T] {
	rate := cfg.Rate
	if !(rate > 0) || math.IsInf(rate, 0) {
		rate = 0
	}
	def := func(d, v time.Duration) float64 {
		if d <= 0 {
			d = v
		}
		return d.Seconds()
	}
	m := &Mapper[T]{emit: emit, rate: rate,
		hold:    def(cfg.Hold, 500*time.Millisecond),
		confirm: def(cfg.Confirm, 500*time.Millisecond),
		env:     newEnvelope(block, def(cfg.Window, 10*time.Minute), minSpan, MaxDriftPPM*1e-6),
		holding: true}
	wrap := cfg.Counter.Wrap
	if wrap >= 1<<32 {
		wrap = 0 // a uint32 wraps there by itself
	}
	m.wrap = wrap
	switch tps := cfg.Counter.TicksPerSecond; {
	case tps > 0 && !math.IsInf(tps, 0):
		m.how, m.secPer = byTicks, 1/tps
		if rate > 0 {
			m.perSamp = tps / rate
		}
		m.unit = int64(wrap)
	case rate == 0:
		m.how = byArrival
	case cfg.Counter.Wrap > 0:
		m.how, m.secPer, m.perSamp = bySamples, 1/rate, 1
		m.unit = int64(wrap)
	default:
		m.how, m.secPer, m.perSamp, m.unit = byCount, 1/rate, 1, 1
	}
	if rate > 0 {
		m.confirm = max(m.confirm, 4/rate)
	}
	m.unitSec = float64(m.unit) * m.secPer
	m.thr = max(m.unitSec/2, minStep)
	m.far = m.thr
	if m.unit == 0 {
		m.thr = math.Inf(1)
		m.far = farStep
		if rate > 0 {
			m.far = max(farStep, 2/rate)
		}
	}
	m.late = min(m.thr, max(minStep, 2*m.secPer*m.perSamp))
	m.qtol = max(m.unitSec/4, minStep)
	m.st = Stats{Method: methodNames[m.how], Anchors: 1}
	return m
}

// Push takes one decoded sample: seq as the decoder gives it (ignored
// without a counter) and its arrival on the session clock. It calls emit
// for every sample now ready, possibly none (held back) or several.
func (m *Mapper[T]) Push(v T, seq uint32, arrival time.Duration) {
	if m.how == byArrival {
		m.out(v, arrival, 0)
		return
	}
	a := arrival.Seconds()
	var lost uint64
	visible := false
	if !m.started {
		m.started = true
		m.segStart = m.pos
	} else {
		step := uint64(seq - m.prevSeq)
		if m.wrap > 0 {
			step %= m.wrap
		}
		switch m.how {
		case bySamples:
			w := m.wrap
			if w == 0 {
				w = 1 << 32
			}
			k := (step + w - 1) % w
			m.pos += 1 + int64(k)
			lost = k
		case byTicks:
			m.pos += int64(step)
			if m.perSamp > 0 {
				if n := math.Round(float64(step)/m.perSamp) - 1; n > 0 {
					lost = uint64(n)
				}
			}
		default:
			m.pos++
		}
		visible = lost > 0
	}
	m.prevSeq = seq
	d := float64(m.pos) * m.secPer
	e := m.excess(a, d)
	if m.npend > 0 {
		if e >= m.thr {
			m.pend(entry[T]{v: v, pos: m.pos, a: a, e: e, jump: e - m.lastE, lost: lost, visible: visible})
			m.lastE = e
			m.drain()
			return
		}
		m.resolve(0, 0) // back near the line: it was a delay
		m.drain()
		e = m.excess(a, d)
	}
	jump := e - m.lastE
	if !m.holding && m.env.settled(a, d) < -m.far {
		// It arrived before it could have been taken: the count ran
		// ahead. How many samples were lost here, if any, is unknown.
		if m.unit == 0 {
			lost, visible = 0, false
		}
		m.reanchor()
		e, jump = 0, 0
	}
	m.lastE = e
	ent := entry[T]{v: v, pos: m.pos, a: a, e: e, jump: jump, lost: lost, visible: visible}
	if e > m.thr {
		m.pend(ent)
		m.drain()
		return
	}
	if e <= m.late {
		m.env.add(d, a-d)
	}
	m.noteLate(e, a)
	m.q.push(ent)
	m.drain()
}

// lateQHalf is how fast lateQ forgets, in arrival seconds.
const lateQHalf = 30.0

// noteLate adds a decided sample's excess (its delay above the line) to
// the link's ordinary lateness.
func (m *Mapper[T]) noteLate(e, a float64) {
	if a > m.lateQAt {
		m.lateQ *= math.Exp2(-(a - m.lateQAt) / lateQHalf)
		m.lateQAt = a
	}
	m.lateQ = max(m.lateQ, e)
}

// lateThr is how far above the level a held sample must lie to be late
// again: twice the ordinary lateness, but never more than Confirm (a
// process that stalls for longer is stalling, however bursty its link).
func (m *Mapper[T]) lateThr() float64 { return max(m.thr, lateAgain, min(2*m.lateQ, m.confirm)) }

// excess returns how far a sample lies above the line (0 with no line).
func (m *Mapper[T]) excess(a, d float64) float64 {
	if !m.env.ok() {
		return 0
	}
	return a - d - m.env.line(d)
}

// pend holds a sample awaiting the loss decision, and decides once the
// excess after the likeliest gap has stayed at the same whole number of
// wraps for Confirm of arrival time. Time without arrivals does not count:
// a stalled process sees the next sample only when it wakes.
func (m *Mapper[T]) pend(x entry[T]) {
	m.q.push(x)
	m.npend++
	newBest := m.npend == 1
	if !newBest {
		b := m.q.at(m.q.n - m.npend + m.best)
		newBest = x.visible && !b.visible || x.visible == b.visible && x.jump > b.jump
	}
	late := x.e > m.level+m.lateThr()
	if newBest {
		m.best, m.level, m.since, m.sinceLvl = m.npend-1, x.e, x.a, x.e
	} else if x.e < m.level {
		// Still coming down: a backlog draining, however slowly, is not
		// a level yet.
		if m.level = x.e; x.e < m.sinceLvl-m.qtol/2 {
			m.since, m.sinceLvl = x.a, x.e
		}
	} else if late {
		// Well above the level, further than this link's ordinary
		// lateness: late again (another stall). Only samples arriving at
		// the level show a loss; a backlog that rises and drains back
		// through it does not.
		m.since = x.a
	}
	switch {
	case m.q.n >= maxHeld:
		m.resolve(0, 0)
	case x.a-m.since >= m.confirm && !late:
		m.resolve(m.decide())
	}
}

// decide returns how many whole wraps were lost, if the least excess
// since the largest jump is close to a whole number of them, and before
// which held sample: where the counter itself showed a loss, or else the
// earliest from which every held sample lies at or above the new line —
// the placement that leaves the least total delay (Moon et al.'s
// criterion again).
func (m *Mapper[T]) decide() (at int, wraps int64) {
	k := math.Round(m.level / m.unitSec)
	if k < 1 || math.Abs(m.level-k*m.unitSec) > m.qtol || k*float64(m.unit) > 1<<40 {
		return 0, 0
	}
	base := m.q.n - m.npend
	floor := min(m.level, k*m.unitSec-m.qtol/2)
	at = m.npend
	for i := m.npend - 1; i >= 0 && m.q.at(base+i).e >= floor; i-- {
		at = i
	}
	for i := at; i < m.npend; i++ {
		if m.q.at(base + i).visible {
			return i, int64(k)
		}
	}
	if at == m.npend {
		return 0, 0
	}
	return at, int64(k)
}

// resolve ends the hold: wraps whole wraps were lost before the held
// entry at (counted from the first held). Only the samples the lost wraps
// bring back near the line join the envelope; the others were late.
func (m *Mapper[T]) resolve(at int, wraps int64) {
	if wraps > 0 {
		at += m.q.n - m.npend
		add := wraps * m.unit
		shift := float64(add) * m.secPer
		x := m.q.at(at)
		if m.perSamp > 0 {
			x.lost += uint64(math.Round(float64(add) / m.perSamp))
		}
		x.visible = true
		for i := at; i < m.q.n; i++ {
			x := m.q.at(i)
			x.pos += add
			if d := float64(x.pos) * m.secPer; x.e-shift <= m.late {
				m.env.add(d, x.a-d)
			}
		}
		m.pos += add
		m.lastE -= shift
		for i := m.q.n - m.npend; i < at; i++ {
			m.noteLate(m.q.at(i).e, m.q.at(i).a)
		}
		for i := at; i < m.q.n; i++ {
			m.noteLate(m.q.at(i).e-shift, m.q.at(i).a)
		}
	} else {
		// A delay after all: what the held samples' excess was.
		for i := m.q.n - m.npend; i < m.q.n; i++ {
			m.noteLate(m.q.at(i).e, m.q.at(i).a)
		}
	}
	m.npend = 0
}

// reanchor starts learning the envelope anew from the current sample,
// keeping the drift.
func (m *Mapper[T]) reanchor() {
	m.env.clear()
	m.slewOK = false
	m.segStart = m.pos
	m.holding = true
	m.st.Anchors++
}

// drain emits the samples that are ready, unless the anchor is holding
// back its start.
func (m *Mapper[T]) drain() {
	if m.holding && (float64(m.pos-m.segStart)*m.secPer >= m.hold && m.arrivesLevel() || m.q.n >= maxHeld) {
		m.holding = false
	}
	if m.holding {
		return
	}
	for m.q.n > m.npend {
		x := m.q.front()
		d := float64(x.pos) * m.secPer
		off := m.env.line(d)
		if m.slewOK && m.how != byArrival && d > m.slewD {
			// The line moves as the envelope learns (most early in an
			// anchor): follow it by at most slewRate of the device time
			// between two samples, so no interval between emitted times
			// is off its period by more than that.
			step := slewRate * (d - m.slewD)
			off = min(max(off, m.slewOff-step), m.slewOff+step)
		}
		m.slewOK, m.slewD, m.slewOff = true, d, off
		m.st.Offset = seconds(off)
		m.out(x.v, seconds(d+off), x.lost)
		m.q.pop()
	}
}

// fallTol is how much lower the least offset of the hold's second half
// may be than its first half's and still count as level: well above how
// much the least of a few hundred jittered arrivals wanders, below the
// fall of a backlog draining 1 % faster than real time.
const fallTol = 1e-3

// arrivesLevel reports whether the anchor's held samples arrive at a level
// least delay: the least offset over the second half of the hold is not
// below the first half's by more than fallTol. A connection that starts
// while our process is behind delivers a backlog that drains (on a loaded
// machine, slowly): every sample of the hold came late, by less and less,
// and a line learned from them would be too high, then contradicted by
// the first sample on time (a re-anchor, times stepping back). While it
// falls, the anchor learns afresh from the second half, keeping the drift
// it started with, and holds on.
func (m *Mapper[T]) arrivesLevel() bool {
	// Only a device that counts its own samples or ticks: its rate is its
	// own, so a least delay falling for a whole hold is a backlog. Without
	// a counter the nominal rate may be wrong (a line device configured at
	// 100 Hz sending 250), and the delay then falls for ever.
	if (m.how != bySamples && m.how != byTicks) || m.q.n < 4 {
		return true
	}
	mid := m.segStart + (m.pos-m.segStart)/2
	first, second := math.Inf(1), math.Inf(1)
	from := m.q.n
	for i := m.q.n - 1; i >= 0; i-- {
		x := m.q.at(i)
		if x.pos < m.segStart {
			break
		}
		o := x.a - float64(x.pos)*m.secPer
		if x.pos >= mid {
			second, from = min(second, o), i
		} else {
			first = min(first, o)
		}
	}
	if math.IsInf(first, 1) || second >= first-fallTol {
		return true
	}
	m.env.forget()
	for i := from; i < m.q.n; i++ {
		x := m.q.at(i)
		d := float64(x.pos) * m.secPer
		m.env.add(d, x.a-d)
	}
	m.segStart = m.q.at(from).pos
	return false
}

// out emits one sample, keeping times strictly increasing.
func (m *Mapper[T]) out(v T, t time.Duration, lost uint64) {
	if m.emitted && t <= m.tPrev && m.tPrev < math.MaxInt64 {
		t = m.tPrev + 1
	}
	m.tPrev, m.emitted = t, true
	m.st.Samples++
	m.st.Lost += lost
	m.emit(v, t, lost)
}

// Flush emits every sample held back (at the end of a stream): held
// samples count as delayed, not lost.
func (m *Mapper[T]) Flush() {
	if m.npend > 0 {
		m.resolve(0, 0)
	}
	if m.q.n > 0 {
		m.holding = false
	}
	m.drain()
}

// Reset starts a new anchor for a new connection: it flushes what is
// held, then counts device time afresh from the next sample. The drift
// estimate is kept as the new anchor's prior; emitted times stay strictly
// increasing.
func (m *Mapper[T]) Reset() {
	m.Flush()
	if m.how == byArrival {
		return
	}
	m.env.clear()
	m.slewOK = false
	m.started, m.holding = false, true
	m.pos, m.segStart, m.lastE = 0, 0, 0
	m.st.Anchors++
}

// Stats describes the mapping so far.
func (m *Mapper[T]) Stats() Stats {
	s := m.st
	if m.how == byArrival {
		return s
	}
	s.DriftPPM = m.env.beta * 1e6
	sp := m.env.spread()
	s.Spread = seconds(sp)
	if m.how == byCount {
		sp += m.thr
	}
	s.Uncertainty = seconds(sp)
	return s
}

// seconds converts seconds to a Duration, saturating.
func seconds(s float64) time.Duration {
	ns := math.Round(s * 1e9)
	switch {
	case ns >= math.MaxInt64:
		return math.MaxInt64
	case ns <= math.MinInt64:
		return math.MinInt64
	case ns != ns:
		return 0
	}
	return time.Duration(ns)
}

// ring is a FIFO that grows by doubling and then reuses its storage.
type ring[T any] struct {
	buf     []T
	head, n int
}

func (r *ring[T]) at(i int) *T { return &r.buf[(r.head+i)&(len(r.buf)-1)] }
func (r *ring[T]) front() *T   { return &r.buf[r.head] }

func (r *ring[T]) push(x T) {
	if r.n == len(r.buf) {
		nb := make([]T, max(64, 2*len(r.buf)))
		for i := range r.n {
			nb[i] = *r.at(i)
		}
		r.buf, r.head = nb, 0
	}
	*r.at(r.n) = x
	r.n++
}

func (r *ring[T]) pop() {
	var zero T
	r.buf[r.head] = zero // let the payload go
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
}

// String says how the samples were timed, for a session's record.
func (s Stats) String() string {
	how := map[string]string{
		"counter": "the device's sample counter",
		"ticks":   "the device's clock",
		"count":   "samples counted as received (the device sends no counter)",
		"arrival": "arrival (no nominal rate)",
	}[s.Method]
	if how == "" {
		how = s.Method
	}
	if s.Method == "arrival" {
		return "timed by " + how
	}
	return fmt.Sprintf("timed by %s: drift %+.1f ppm, uncertainty ±%.2f ms, %d samples, %d lost, %d anchor(s)",
		how, s.DriftPPM, float64(s.Uncertainty)/1e6, s.Samples, s.Lost, s.Anchors)
}

// Package physio turns raw physiological samples into what a therapist and a
// researcher look at: heartbeats and heart rate (from ECG, PPG or a device's
// own HR), skin conductance level and responses (SCRs), an arousal index
// against a baseline period, and signal-quality alerts.
//
// A Processor is fed the samples of one device (sensors.Sample, with the
// channels of its sensors.Stream) and emits Derived values as soon as they
// are known, causally and with bounded delay and memory. Known − T on each
// value is its latency. Offline (non-causal) analysis of whole recordings
// lives in physio/offline.
//
// Arousal index: during the baseline period (by default the first 60 s;
// StartBaseline/EndBaseline set it explicitly) the processor collects, four
// times a second, the heart rate (mean of the beats in the last 5 s, from the
// best good source: ECG, then PPG, then device HR) and the skin conductance
// level (SC, the 1 Hz low-passed conductance). Afterwards each is expressed
// as a z-score against its baseline mean and standard deviation, with the
// deviation floored at 2 bpm and 0.1 µS so a very steady baseline does not
// blow the scores up; the arousal index is the mean of the z-scores
// available. Channels with any quality flag are left out of both the
// baseline and the index; an ECG channel also until its detector has judged
// a window usable (about 6 s from the start and after a gap).
package physio

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/physio/ecg"
	"github.com/cueroom/cueroom/sensors/physio/eda"
	"github.com/cueroom/cueroom/sensors/physio/hrv"
	"github.com/cueroom/cueroom/sensors/physio/ibi"
	"github.com/cueroom/cueroom/sensors/physio/ppg"
)

// Range is a channel's input range in its unit; a value at either end is
// saturated.
type Range struct{ Min, Max float64 }

// Config tunes a Processor; zero fields take the default in brackets.
type Config struct {
	SCR         eda.Config    // SCR threshold (0.01 µS) and filter settings
	ECGPolarity ecg.Polarity  // which way R points [Auto]
	MinHR       sensors.BPM   // lowest plausible heart rate [30]
	MaxHR       sensors.BPM   // highest plausible heart rate [220]
	TickRate    float64       // how often Levels are emitted, Hz [4]
	Baseline    time.Duration // automatic baseline from the first sample [60 s]; <0 none
	// Ranges gives the input range of channels by label (e.g. BITalino ECG
	// ±1.5 mV, EDA 0–25 µS) so a value stuck at a limit is flagged.
	Ranges map[string]Range
	// GapAfter is how late a sample may arrive, against the nominal rate,
	// before the stream counts as interrupted [1 s].
	GapAfter time.Duration
}

func (c *Config) defaults() {
	if c.MinHR <= 0 {
		c.MinHR = 30
	}
	if c.MaxHR <= c.MinHR {
		c.MaxHR = max(220, c.MinHR+1)
	}
	if !(c.TickRate > 0) {
		c.TickRate = 4
	}
	if c.Baseline == 0 {
		c.Baseline = 60 * time.Second
	}
	if c.GapAfter <= 0 {
		c.GapAfter = time.Second
	}
}

// Kind says what a Derived value is.
type Kind uint8

// Kinds of derived values.
const (
	KindBeat     Kind = iota + 1 // a heartbeat: R peak or systolic peak
	KindHR                       // heart rate from an accepted interval, or a device's HR
	KindSCR                      // a skin conductance response, at its peak
	KindRecovery                 // an SCR reached half recovery
	KindLevels                   // periodic levels and arousal (TickRate)
	KindAlert                    // a channel's quality flags changed
)

var kindNames = [...]string{"", "beat", "hr", "scr", "scr_recovery", "levels", "alert"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && k > 0 {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// MarshalText writes the kind's name.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind's name.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if i > 0 && n == string(b) {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("physio: unknown kind %q", b)
}

// SCR describes one skin conductance response.
type SCR struct {
	Onset        time.Duration        `json:"onset"`
	Peak         time.Duration        `json:"peak"`
	Amplitude    sensors.Microsiemens `json:"amplitude"`
	Rise         time.Duration        `json:"rise"`
	HalfRecovery time.Duration        `json:"half_recovery,omitzero"` // peak to half recovery; 0 until known
}

// Levels are the periodic values: current heart rate, skin conductance and
// arousal. Has* say which are valid (a missing or flagged source, or no
// baseline yet, leaves them false).
type Levels struct {
	HR       sensors.BPM          `json:"hr"`
	HRSource string               `json:"hr_source,omitempty"`
	SC       sensors.Microsiemens `json:"sc"`     // 1 Hz low-passed skin conductance
	Tonic    sensors.Microsiemens `json:"tonic"`  // tonic level
	Phasic   sensors.Microsiemens `json:"phasic"` // SC − tonic
	ZHR      float64              `json:"z_hr"`
	ZSC      float64              `json:"z_sc"`
	Arousal  float64              `json:"arousal"`
	// RMSSD of the last minute's beat intervals (ms), from the channel HR
	// comes from (ECG or PPG); HasRMSSD once half a minute is covered.
	RMSSD    float64 `json:"rmssd_ms"`
	HasHR    bool    `json:"has_hr"`
	HasRMSSD bool    `json:"has_rmssd"`
	HasSC    bool    `json:"has_sc"`
	HasZHR   bool    `json:"has_z_hr"`
	HasZSC   bool    `json:"has_z_sc"`
	// HasArousal is true once a baseline exists and at least one z-score
	// is valid.
	HasArousal bool `json:"has_arousal"`
	InBaseline bool `json:"in_baseline"`
}

// Derived is one value the processor found. Which fields are set depends on
// Kind.
type Derived struct {
	Kind   Kind          `json:"kind"`
	Source string        `json:"source,omitempty"` // channel label; empty for Levels
	T      time.Duration `json:"t"`                // when it happened (beat, SCR peak, tick)
	Known  time.Duration `json:"known"`            // T of the sample that revealed it
	Index  int64         `json:"index"`            // sample index of T since the first sample

	HR        sensors.BPM   `json:"hr,omitzero"`        // KindHR
	IBI       time.Duration `json:"ibi,omitzero"`       // KindHR: the interval behind HR
	Corrected bool          `json:"corrected,omitzero"` // KindHR: over a missed or extra beat
	// Unreliable (KindHR): the channel was flagged Noisy when the value was
	// found, so it may come from noise rather than beats.
	Unreliable bool `json:"unreliable,omitzero"`

	SCR    SCR    `json:"scr,omitzero"`    // KindSCR, KindRecovery
	Levels Levels `json:"levels,omitzero"` // KindLevels

	Quality Quality `json:"quality,omitzero"` // KindAlert: the flags now
	Raised  Quality `json:"raised,omitzero"`  // KindAlert: flags just set
	Cleared Quality `json:"cleared,omitzero"` // KindAlert: flags just cleared
}

// Message is a one-line text for an alert, naming the channel, what is wrong
// and what to do.
func (d Derived) Message() string {
	if d.Kind != KindAlert {
		return ""
	}
	switch {
	case d.Raised != 0:
		return fmt.Sprintf("%s: %s — %s", d.Source, d.Raised, d.Raised.Hint())
	case d.Quality == 0:
		return fmt.Sprintf("%s: signal usable again (%s cleared)", d.Source, d.Cleared)
	}
	return fmt.Sprintf("%s: %s cleared; still %s — %s", d.Source, d.Cleared, d.Quality, d.Quality.Hint())
}

// AlertEvent turns an alert into a session event (an event.Alert from
// source "signal", on the session clock at Known; the caller stamps Wall and
// names the device), so it is recorded, shown and available to the
// session's rules like any other event. ok is false for other kinds.
//
// A channel's problems are one incident ("signal:" and the channel; a
// caller with several devices puts the device in it too), a warning, until
// the alert that clears its last flag (Resolved).
func (d Derived) AlertEvent() (event.Event, bool) {
	if d.Kind != KindAlert {
		return event.Event{}, false
	}
	return event.Event{T: d.Known, Step: -1, Data: event.Alert{
		Source:   "signal",
		Channel:  d.Source,
		Level:    event.LevelWarning,
		Incident: "signal:" + d.Source,
		Quality:  d.Quality.Names(),
		Raised:   d.Raised.Names(),
		Cleared:  d.Cleared.Names(),
		Resolved: d.Quality == 0 && d.Cleared != 0,
		Message:  d.Message(),
	}}, true
}

type kind uint8

const (
	kindNone kind = iota
	kindECG
	kindPPG
	kindEDA
	kindHR
)

// channelKind maps a stream channel to a stage by Type, then Label.
func channelKind(c sensors.Channel) kind {
	for _, s := range []string{c.Type, c.Label} {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "ecg", "ekg":
			return kindECG
		case "ppg", "pleth", "bvp", "pulse":
			return kindPPG
		case "eda", "gsr", "sc", "scl":
			return kindEDA
		case "hr", "bpm", "pr", "pulse_rate":
			return kindHR
		}
	}
	return kindNone
}

type hrPoint struct {
	t  time.Duration
	hr float64
}

type channel struct {
	label string
	col   int
	kind  kind
	ecg   *ecg.Detector
	ppg   *ppg.Detector
	eda   *eda.Detector
	ibi   *ibi.Tracker
	rmssd *hrv.Live // RMSSD of the last minute's intervals (ECG, PPG)
	q     *qualityCheck
	flags Quality

	last     float64
	haveLast bool
	missRun  int64
	lastBeat int64 // sample index of the last beat or valid device HR
	hr       [32]hrPoint
	hrN      int
	devHR    float64
	devHRAt  int64
	lv       eda.Levels
	hasLv    bool
}

// Processor is the live physiology pipeline of one device. Push must be
// called from one goroutine; the other methods are safe from any goroutine.
type Processor struct {
	mu      sync.Mutex
	cfg     Config
	rate    float64
	chans   []*channel
	n       int64
	t0      time.Duration
	nAnchor int64
	tick    float64 // samples per tick
	ticks   int64   // ticks emitted

	base     baseline
	baseFrom time.Duration
	baseTo   time.Duration // 0: open-ended
	baseSet  bool
	autoBase bool // the automatic baseline starts at the first sample
	levels   Levels
	hab      habituation
	gapUntil int64
}

// New returns a processor for a device's stream. Channels of type (or label)
// ECG, PPG, EDA and HR are processed; others are ignored. It fails when the
// stream has no rate or a channel's rate is too low for its stage.
func New(st sensors.Stream, cfg Config) (*Processor, error) {
	cfg.defaults()
	if !(st.Rate > 0) || math.IsInf(st.Rate, 0) {
		return nil, fmt.Errorf("physio: stream %q has no sampling rate: set Stream.Rate", st.Device)
	}
	p := &Processor{cfg: cfg, rate: st.Rate}
	p.tick = max(1, st.Rate/cfg.TickRate)
	var errs []error
	for i, c := range st.Channels {
		if i >= sensors.MaxChannels {
			break
		}
		k := channelKind(c)
		if k == kindNone {
			continue
		}
		ch := &channel{label: c.Label, col: i, kind: k, lastBeat: -1}
		if ch.label == "" {
			ch.label = fmt.Sprintf("ch%d", i+1)
		}
		rng, hasRng := cfg.Ranges[c.Label]
		ch.q = newQualityCheck(k, st.Rate, rng, hasRng)
		var err error
		switch k {
		case kindECG:
			ch.ecg, err = ecg.New(st.Rate, cfg.ECGPolarity)
		case kindPPG:
			ch.ppg, err = ppg.New(st.Rate)
		case kindEDA:
			ch.eda, err = eda.New(st.Rate, cfg.SCR)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("channel %q: %w", ch.label, err))
			continue
		}
		if k == kindECG || k == kindPPG {
			ch.ibi = ibi.New(float64(cfg.MinHR), float64(cfg.MaxHR), 1/st.Rate)
			ch.rmssd = hrv.NewLive(0)
		}
		p.chans = append(p.chans, ch)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("physio: stream %q: %w", st.Device, errors.Join(errs...))
	}
	p.autoBase = cfg.Baseline > 0
	p.hab.init(cfg.TickRate)
	return p, nil
}

// at is the session time of sample index i.
func (p *Processor) at(i float64) time.Duration {
	return p.t0 + time.Duration((i-float64(p.nAnchor))/p.rate*float64(time.Second))
}

// Push processes one sample and appends what it revealed to out. Sample
// times are taken from the nominal rate, anchored at the first sample's T
// and re-anchored when a sample arrives more than GapAfter late (samples were
// lost: the stages restart and a Gap alert is raised).
func (p *Processor) Push(s sensors.Sample, out []Derived) []Derived {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.n
	if n == 0 {
		p.t0, p.nAnchor = s.T, 0
		if p.autoBase && !p.baseSet {
			p.baseSet, p.baseFrom, p.baseTo = true, s.T, s.T+p.cfg.Baseline
		}
	} else if s.T-p.at(float64(n)) > p.cfg.GapAfter {
		p.t0, p.nAnchor = s.T, n
		p.gapUntil = n + 1
		for _, c := range p.chans {
			c.restart()
		}
	}
	p.n++
	now := p.at(float64(n))
	for _, c := range p.chans {
		v := math.NaN()
		if c.col < s.N {
			v = s.Values[c.col]
		}
		out = p.pushChannel(c, n, now, v, out)
	}
	if float64(n) >= math.Ceil(float64(p.ticks)*p.tick) {
		p.ticks++
		out = p.tickLevels(n, now, out)
	}
	return out
}

func (c *channel) restart() {
	if c.ecg != nil {
		c.ecg.Reset()
	}
	if c.ppg != nil {
		c.ppg.Reset()
	}
	if c.eda != nil {
		c.eda.Reset()
	}
	if c.ibi != nil {
		c.ibi.Reset()
	}
	if c.rmssd != nil {
		c.rmssd.Break() // no difference across a restart
	}
	c.hrN = 0
}

// usable says whether a raw value can be fed to the filters.
func usable(v float64) bool { return !math.IsNaN(v) && math.Abs(v) < 1e12 }

func (p *Processor) pushChannel(c *channel, n int64, now time.Duration, v float64, out []Derived) []Derived {
	missing := !usable(v)
	if missing {
		c.missRun++
		if !c.haveLast {
			return out
		}
		v = c.last // hold the last good value so the filters keep their time base
	} else {
		if c.missRun > int64(0.25*p.rate) {
			c.restart() // a long hole is a gap: do not read beats across it
		}
		c.missRun = 0
		c.last, c.haveLast = v, true
	}
	c.q.push(v, missing)
	if n < p.gapUntil {
		c.q.set(Gap)
	}
	switch c.kind {
	case kindECG:
		for _, b := range c.ecg.Push(v) {
			out = p.beat(c, n, now, b, out)
		}
		// Too few beats alone is the detector starting (or NoBeats, judged
		// here already); anything else means the beats cannot be trusted.
		// Set on every sample while the verdict stands, it clears a second
		// after a usable verdict, like the other flags.
		if q := c.ecg.Quality(); q.Seq > 0 && !q.Usable() && q.Problem != ecg.FewBeats {
			c.q.set(Noisy)
		}
	case kindPPG:
		for _, b := range c.ppg.Push(v) {
			out = p.beat(c, n, now, b, out)
		}
	case kindEDA:
		lv, evs := c.eda.Push(v)
		c.lv, c.hasLv = lv, true
		for _, e := range evs {
			out = append(out, p.scr(c, now, e))
		}
	case kindHR:
		if !missing && v >= float64(p.cfg.MinHR) && v <= float64(p.cfg.MaxHR) {
			c.lastBeat = n
			if v != c.devHR || n-c.devHRAt >= int64(p.rate) {
				c.devHR, c.devHRAt = v, n
				c.addHR(now, v)
				out = append(out, Derived{Kind: KindHR, Source: c.label, T: now, Known: now, Index: n, HR: sensors.BPM(v)})
			}
		}
	}
	// No beat for 5 s (once 5 s have passed) is its own flag.
	if c.kind != kindEDA && n > int64(5*p.rate) && (c.lastBeat < 0 || n-c.lastBeat > int64(5*p.rate)) {
		c.q.set(NoBeats)
		if c.kind == kindPPG {
			c.q.set(FingerOut)
		}
	}
	if f := c.q.flags(); f != c.flags {
		out = append(out, Derived{Kind: KindAlert, Source: c.label, T: now, Known: now, Index: n,
			Quality: f, Raised: f &^ c.flags, Cleared: c.flags &^ f})
		c.flags = f
	}
	return out
}

func (p *Processor) beat(c *channel, n int64, now time.Duration, b float64, out []Derived) []Derived {
	c.lastBeat = n
	bt := p.at(b)
	out = append(out, Derived{Kind: KindBeat, Source: c.label, T: bt, Known: now, Index: int64(math.Round(b))})
	for _, iv := range c.ibi.Beat(b) {
		hr := 60 * p.rate / iv.Length
		t := p.at(iv.End)
		c.addHR(t, hr)
		if c.rmssd != nil {
			c.rmssd.Add(t.Seconds(), iv.Length/p.rate, iv.Corrected)
		}
		out = append(out, Derived{Kind: KindHR, Source: c.label, T: t, Known: now, Index: int64(math.Round(iv.End)),
			HR: sensors.BPM(hr), IBI: time.Duration(iv.Length / p.rate * float64(time.Second)), Corrected: iv.Corrected,
			Unreliable: c.flags&Noisy != 0})
	}
	return out
}

func (c *channel) addHR(t time.Duration, hr float64) {
	c.hr[c.hrN%len(c.hr)] = hrPoint{t, hr}
	c.hrN++
}

// meanHR is the mean of the HR values in the 5 s up to now.
func (c *channel) meanHR(now time.Duration) (float64, bool) {
	sum, k := 0.0, 0
	for i := 0; i < min(c.hrN, len(c.hr)); i++ {
		h := c.hr[i]
		if now-h.t <= 5*time.Second && h.t <= now+time.Second {
			sum += h.hr
			k++
		}
	}
	if k == 0 {
		return 0, false
	}
	return sum / float64(k), true
}

func (p *Processor) scr(c *channel, now time.Duration, e eda.Event) Derived {
	s := e.SCR
	d := Derived{Kind: KindSCR, Source: c.label, T: p.at(s.Peak), Known: now, Index: int64(math.Round(s.Peak)),
		SCR: SCR{
			Onset:     p.at(s.Onset),
			Peak:      p.at(s.Peak),
			Amplitude: sensors.Microsiemens(s.Amplitude),
			Rise:      time.Duration(s.Rise() / p.rate * float64(time.Second)),
		}}
	if e.Recovered {
		d.Kind = KindRecovery
		d.SCR.HalfRecovery = time.Duration(s.HalfRecovery / p.rate * float64(time.Second))
		d.T = d.SCR.Peak + d.SCR.HalfRecovery
		d.Index = int64(math.Round(s.Peak + s.HalfRecovery))
	}
	return d
}

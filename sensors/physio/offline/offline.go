// Package offline analyses whole recordings for reports, non-causally: it
// finds beats (with the live detectors, whose delay does not matter here,
// and for the ECG a second pass that sees the whole signal, ecg.Refiner),
// corrects inter-beat intervals against the median of their neighbours on
// both sides, finds SCRs on the zero-phase low-passed skin conductance, and
// measures every event (cue onset): heart rate and skin conductance before
// and after it, SCRs starting 1–4 s after it, recovery within the event's
// span, and habituation across repeats of the same event.
package offline

import (
	"errors"
	"math"
	"slices"
	"sort"
	"strconv"

	"github.com/cueroom/cueroom/sensors/physio/ecg"
	"github.com/cueroom/cueroom/sensors/physio/eda"
	"github.com/cueroom/cueroom/sensors/physio/hrv"
	"github.com/cueroom/cueroom/sensors/physio/ppg"
)

// Input is one recording: channels at one rate, NaN marking gaps.
type Input struct {
	Rate          float64
	ECG, PPG, EDA []float64 // nil when absent
	Events        []Event   // cue onsets, in any order
	// Names of the source columns, for the report.
	ECGName, PPGName, EDAName string
}

// Event is a cue onset.
type Event struct {
	Index    int64  // onset, sample index
	Duration int64  // samples; 0 when unknown
	Label    string // what was shown; repeats share a label
}

// Config tunes the analysis; zero fields take the default in brackets.
type Config struct {
	SCR eda.Config // SCR criteria; SCR.Relative is applied to the whole recording
	// Decomposition, when set, splits the skin conductance into tonic and
	// phasic parts and reports the events' tonic and phasic changes:
	// eda.Filter (fast) or eda.CvxEDA (slower; separates overlapping
	// responses from the level better; Cvx tunes it). "": none (as before).
	Decomposition eda.Method
	Cvx           eda.CvxConfig
	Polarity      ecg.Polarity
	MinHR         float64 // [30] bpm
	MaxHR         float64 // [220] bpm
	Baseline      float64 // seconds before onset for the baseline [3]
	Response      float64 // seconds after onset for the response means [4]
	SCRFrom       float64 // SCR window after onset, seconds [1]
	SCRTo         float64 // [4]
}

func (c *Config) defaults() {
	def := func(p *float64, v float64) {
		if !(*p > 0) {
			*p = v
		}
	}
	def(&c.MinHR, 30)
	def(&c.MaxHR, 220)
	def(&c.Baseline, 3)
	def(&c.Response, 4)
	def(&c.SCRFrom, 1)
	def(&c.SCRTo, 4)
	if c.SCRTo <= c.SCRFrom {
		c.SCRTo = c.SCRFrom + 3
	}
}

// Report is the result of Analyze. Times are seconds from the first sample;
// indices are 0-based sample numbers.
type Report struct {
	Rate     float64       `json:"rate"`
	Samples  int           `json:"samples"`
	Duration float64       `json:"duration_s"`
	ECG      *Heart        `json:"ecg,omitempty"`
	PPG      *Heart        `json:"ppg,omitempty"`
	EDA      *Skin         `json:"eda,omitempty"`
	Events   []Reactivity  `json:"events,omitempty"`
	Repeats  []Habituation `json:"habituation,omitempty"`
	// HRV is the whole session's heart rate variability, from the heart
	// rate source's beats (Settings.HRSource).
	HRV      *hrv.Result    `json:"hrv,omitempty"`
	Settings ReportSettings `json:"settings"`
}

// ReportSettings records the windows used.
type ReportSettings struct {
	Baseline     float64 `json:"baseline_s"`
	Response     float64 `json:"response_s"`
	SCRFrom      float64 `json:"scr_from_s"`
	SCRTo        float64 `json:"scr_to_s"`
	SCRThreshold float64 `json:"scr_threshold_us"`
	// SCRRelative is the relative criterion asked for (0.1: SCRs under 10 %
	// of the largest are not counted); SCRThreshold is then the larger of
	// the two in µS.
	SCRRelative   float64 `json:"scr_relative,omitempty"`
	Decomposition string  `json:"decomposition,omitempty"` // tonic/phasic method
	HRSource      string  `json:"hr_source,omitempty"`
}

// Heart is what a beat channel (ECG or PPG) gave.
type Heart struct {
	Column  string    `json:"column"`
	Beats   []int64   `json:"beats"` // sample index of each beat
	HR      []HRPoint `json:"hr"`    // one per accepted interval
	Summary HRSummary `json:"summary"`
	Gaps    int       `json:"gap_samples"`
	// Unusable are the stretches the ECG's signal quality index judged
	// unusable (merged); the intervals there are withheld from HR,
	// Summary and the events (Summary.Withheld counts them).
	Unusable []Span `json:"unusable,omitempty"`
	// Warning says why there is no heart rate, when quality withheld it all.
	Warning string      `json:"warning,omitempty"`
	beatPos []float64   // fractional positions
	ivs     []interval  // accepted intervals, usable ones only
	nn      *hrv.Series // the beats' NN series, never across a gap or an unusable stretch
}

// Span is a stretch of the recording, seconds from the first sample.
type Span struct {
	From float64 `json:"from_s"`
	To   float64 `json:"to_s"`
}

// HRPoint is the heart rate over one accepted inter-beat interval.
type HRPoint struct {
	T         float64 `json:"t"`   // end of the interval (its second beat), s
	BPM       float64 `json:"bpm"` // 60 / interval
	Corrected bool    `json:"corrected,omitempty"`
}

// HRSummary summarises the accepted intervals.
type HRSummary struct {
	Mean      float64 `json:"mean_bpm"`
	SD        float64 `json:"sd_bpm"`
	Min       float64 `json:"min_bpm"`
	Max       float64 `json:"max_bpm"`
	Beats     int     `json:"beats"`
	Intervals int     `json:"intervals"`
	Rejected  int     `json:"rejected"`
	Corrected int     `json:"corrected"`
	// Withheld counts the accepted intervals left out because the signal
	// quality index judged the ECG unusable there (noise, not the heart).
	Withheld int `json:"withheld,omitempty"`
}

// Skin is what the EDA channel gave.
type Skin struct {
	Column    string  `json:"column"`
	Threshold float64 `json:"threshold_us"` // amplitude threshold in use
	SCRs      []SCR   `json:"scrs"`
	Mean      float64 `json:"mean_us"`
	Min       float64 `json:"min_us"`
	Max       float64 `json:"max_us"`
	Gaps      int     `json:"gap_samples"`
	// Decomposition is the tonic/phasic method, when one was asked for;
	// TonicMean the tonic level's mean over the valid samples.
	Decomposition string   `json:"decomposition,omitempty"`
	TonicMean     *float64 `json:"tonic_mean_us,omitempty"`
	lv            levels   // the low-passed signal's means over spans; nil without a valid value
	ton, pha      levels   // the tonic and phasic parts' means; nil likewise
}

// SCR is one skin conductance response.
type SCR struct {
	Onset        int64   `json:"onset"`
	Peak         int64   `json:"peak"`
	OnsetS       float64 `json:"onset_s"`
	PeakS        float64 `json:"peak_s"`
	Amplitude    float64 `json:"amplitude_us"`
	Rise         float64 `json:"rise_s"`
	HalfRecovery float64 `json:"half_recovery_s,omitempty"` // peak to half recovery; absent if not reached
}

// Reactivity is the response to one event.
type Reactivity struct {
	Index    int64   `json:"onset"`
	T        float64 `json:"onset_s"`
	Duration float64 `json:"duration_s,omitempty"`
	Label    string  `json:"label,omitempty"`
	Repeat   int     `json:"repeat"` // 1 for the first event with this label
	HR       *Change `json:"hr,omitempty"`
	SC       *Change `json:"sc,omitempty"`
	SCR      SCRSum  `json:"scr"`
	// Recovery is how much of the SC rise after onset was lost again by the
	// end of the event's span (until the next event): (peak − end) /
	// (peak − baseline); absent when SC rose less than 0.05 µS.
	Recovery *float64 `json:"sc_recovery,omitempty"`
	// Tonic and Phasic are the decomposition's parts over the same windows
	// as SC.
	Tonic  *Change `json:"tonic,omitempty"`
	Phasic *Change `json:"phasic,omitempty"`
	// HRV is over the event's span (onset to onset + duration) when it has
	// a duration; short spans say so in its *_withheld fields.
	HRV *hrv.Result `json:"hrv,omitempty"`
}

// Change is a baseline and a response mean.
type Change struct {
	Baseline float64 `json:"baseline"`
	Response float64 `json:"response"`
	Delta    float64 `json:"delta"`
	Peak     float64 `json:"peak"` // highest value in the response window
}

// SCRSum counts the SCRs whose onset lies in the SCR window (1–4 s after
// the event by default). MaxAmplitude is the event-related score as it is
// usually reported: the trough-to-peak amplitude of the largest response
// starting in the window, 0 for no response; Largest is that response.
type SCRSum struct {
	Count        int     `json:"count"`
	MaxAmplitude float64 `json:"max_amplitude_us"`
	SumAmplitude float64 `json:"sum_amplitude_us"`
	Latency      float64 `json:"latency_s,omitempty"` // onset of the first, after the event
	Largest      *SCR    `json:"largest,omitempty"`   // the largest; absent: no response
	// LargestLatency is the largest response's onset after the event, s.
	LargestLatency float64 `json:"largest_latency_s,omitempty"`
}

// Habituation follows one label's events in order: the responses of each
// repeat and their least-squares slope per repeat.
type Habituation struct {
	Label       string    `json:"label"`
	Repeats     int       `json:"repeats"`
	SCRAmp      []float64 `json:"scr_max_amplitude_us"`
	SCRSlope    float64   `json:"scr_amplitude_slope"`
	SCDelta     []float64 `json:"sc_delta_us,omitempty"`
	SCSlope     float64   `json:"sc_delta_slope"`
	HRDelta     []float64 `json:"hr_delta_bpm,omitempty"`
	HRSlope     float64   `json:"hr_delta_slope"`
	FirstToLast float64   `json:"scr_last_over_first,omitempty"` // last / first SCR amplitude
}

// Analyze runs the offline analysis.
func Analyze(in Input, cfg Config) (*Report, error) {
	cfg.defaults()
	if !(in.Rate > 0) || math.IsInf(in.Rate, 0) {
		return nil, errors.New("offline: the sampling rate must be a positive number of Hz")
	}
	n := max(len(in.ECG), len(in.PPG), len(in.EDA))
	if n == 0 {
		return nil, errors.New("offline: no signal to analyse: give an ECG, PPG or EDA channel")
	}
	r := &Report{Rate: in.Rate, Samples: n, Duration: float64(n) / in.Rate}
	r.Settings = ReportSettings{Baseline: cfg.Baseline, Response: cfg.Response, SCRFrom: cfg.SCRFrom, SCRTo: cfg.SCRTo}
	var err error
	if in.ECG != nil {
		if r.ECG, err = heart(in.ECG, in.Rate, cfg, true); err != nil {
			return nil, err
		}
		r.ECG.Column = name(in.ECGName, "ECG")
	}
	if in.PPG != nil {
		if r.PPG, err = heart(in.PPG, in.Rate, cfg, false); err != nil {
			return nil, err
		}
		r.PPG.Column = name(in.PPGName, "PPG")
	}
	if in.EDA != nil {
		if r.EDA, err = skin(in.EDA, in.Rate, cfg); err != nil {
			return nil, err
		}
		r.EDA.Column = name(in.EDAName, "EDA")
	}
	r.finish(in.Events, cfg)
	return r, nil
}

// finish picks the heart-rate source and measures the events on what the
// channels gave.
func (r *Report) finish(events []Event, cfg Config) {
	if r.EDA != nil {
		r.Settings.SCRThreshold = r.EDA.Threshold
		r.Settings.SCRRelative = cfg.SCR.Relative
		r.Settings.Decomposition = r.EDA.Decomposition
	}
	hr := r.ECG
	if hr == nil || len(hr.ivs) == 0 {
		if r.PPG != nil {
			hr = r.PPG
		}
	}
	if hr != nil {
		r.Settings.HRSource = hr.Column
	}
	r.Events = react(events, r.Samples, r.Rate, cfg, hr, r.EDA)
	r.Repeats = habituate(r.Events)
	if hr != nil && hr.nn != nil {
		r.HRV = ptr(hr.nn.Whole(hrv.Options{}))
		for i := range r.Events {
			if e := &r.Events[i]; e.Duration > 0 {
				e.HRV = ptr(hr.nn.Analyze(e.T, e.T+e.Duration, hrv.Options{}))
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

func name(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

type interval struct {
	from, to  float64 // beat positions, samples
	corrected bool
}

// heart finds beats and accepted intervals on one channel.
func heart(x []float64, fs float64, cfg Config, isECG bool) (*Heart, error) {
	hs, err := newHeartStream(fs, cfg, isECG)
	if err != nil {
		return nil, err
	}
	for _, v := range x {
		hs.add(v)
	}
	return hs.finish(), nil
}

// heartStream finds beats one sample at a time: the detectors are causal,
// and the ECG's second pass works on 300 s at a time (twoPass), so a
// recording of any length is followed in bounded memory (the beats, and
// for the ECG about 6 minutes of it at 250 Hz) with exactly the beats a
// whole-array pass gives.
type heartStream struct {
	fs    float64
	cfg   Config
	push  func(float64) []float64
	reset func()
	h     *Heart
	last  float64
	have  bool
	miss  int
	lead  int   // missing samples before the first valid one
	segs  []int // segment starts: beats across a gap are never paired
	// ECG only: the signal quality verdicts, to withhold what is noise,
	// and the second pass, which finds the beats again from the whole
	// signal; its beats are judged by the offline quality index
	// (sqi.go), qlog's live verdicts only say where they stand.
	quality func() ecg.Quality
	qlog    *ecg.QualityLog
	second  *twoPass
	// lastVerdicts are the offline verdicts finish used (tests read them).
	lastVerdicts *ecg.QualityLog
}

func newHeartStream(fs float64, cfg Config, isECG bool) (*heartStream, error) {
	hs := &heartStream{fs: fs, cfg: cfg, h: &Heart{Beats: []int64{}, HR: []HRPoint{}}}
	if isECG {
		d, err := ecg.New(fs, cfg.Polarity)
		if err != nil {
			return nil, err
		}
		hs.push, hs.reset = d.Push, d.Reset
		hs.quality, hs.qlog = d.Quality, &ecg.QualityLog{Rate: fs}
		hs.second = newTwoPass(fs)
	} else {
		d, err := ppg.New(fs)
		if err != nil {
			return nil, err
		}
		hs.push, hs.reset = d.Push, d.Reset
	}
	return hs, nil
}

// add feeds the next sample (NaN: missing).
func (hs *heartStream) add(v float64) {
	h := hs.h
	if math.IsNaN(v) || math.Abs(v) >= 1e12 {
		h.Gaps++
		hs.miss++
		if !hs.have {
			hs.lead++ // the detectors start at the first valid sample
			return
		}
		v = hs.last
	} else {
		if hs.miss > int(0.25*hs.fs) {
			hs.reset()
			hs.segs = append(hs.segs, len(h.beatPos))
			if hs.second != nil {
				hs.second.endSegment()
			}
		}
		hs.miss = 0
		hs.last, hs.have = v, true
	}
	if b := hs.push(v); hs.second != nil {
		hs.second.push(v, b) // it keeps the beats
	} else {
		h.beatPos = append(h.beatPos, b...)
	}
	if hs.qlog != nil {
		hs.qlog.Add(hs.quality())
	}
}

// finish corrects the intervals between the beats found.
func (hs *heartStream) finish() *Heart {
	h := hs.h
	qlog := hs.qlog
	if hs.second != nil {
		var score []float64
		h.beatPos, score, hs.segs = hs.second.finish(hs.qlog)
		// The refined beats are judged, not the live detector's.
		qlog = hs.second.verdicts(h.beatPos, score, hs.fs)
		hs.lastVerdicts = qlog
	}
	ivs, sum := correct(h.beatPos, hs.segs, hs.fs, hs.cfg)
	var bad []Span // samples
	if qlog != nil {
		bad = unusable(qlog)
		if hs.second != nil {
			// The offline windows reach the end: the lag after the
			// last one would run past it.
			for i := range bad {
				bad[i].To = min(bad[i].To, float64(hs.second.n))
			}
		}
		kept := ivs[:0:0]
		for _, iv := range ivs {
			if q, ok := qlog.At((iv.from + iv.to) / 2); ok && judged(q) {
				sum.Withheld++
				continue
			}
			kept = append(kept, iv)
		}
		if sum.Withheld > 0 {
			ivs = kept
			summarise(&sum, ivs, hs.fs)
		}
		if len(ivs) == 0 && len(bad) > 0 {
			h.Warning = "the ECG is too noisy for a heart rate: the signal quality index judged all of it unusable"
			if sum.Withheld > 0 {
				h.Warning = "the ECG is too noisy for a heart rate: all " + strconv.Itoa(sum.Withheld) +
					" intervals were withheld where the signal quality index judged it unusable"
			}
		}
	}
	// The detectors count from the first valid sample: the missing
	// samples before it come back here.
	if d := float64(hs.lead); d > 0 {
		for i := range h.beatPos {
			h.beatPos[i] += d
		}
		for i := range ivs {
			ivs[i].from, ivs[i].to = ivs[i].from+d, ivs[i].to+d
		}
		for i := range bad {
			bad[i].From, bad[i].To = bad[i].From+d, bad[i].To+d
		}
	}
	for _, b := range h.beatPos {
		h.Beats = append(h.Beats, int64(math.Round(b)))
	}
	h.ivs, h.Summary = ivs, sum
	h.HR = hrPoints(h.ivs, hs.fs)
	for _, s := range bad {
		h.Unusable = append(h.Unusable, Span{s.From / hs.fs, s.To / hs.fs})
	}
	h.nn = nnSeries(h.beatPos, hs.segs, h.Unusable, hs.fs)
	return h
}

// judged says the verdict q finds the ECG unusable for a reason other than
// too few beats, which is also the verdict on the first seconds and after a
// gap, before any judgement.
func judged(q ecg.Quality) bool { return !q.Usable() && q.Problem&^ecg.FewBeats != 0 }

// unusable merges the stretches, in samples, where l.At gives a judged
// verdict: each verdict rules from halfway to the previous overlapping
// window's centre to halfway to the next's (At picks the window centred
// nearest), and the last window before a gap or the end also rules the
// QualityLag after it.
func unusable(l *ecg.QualityLog) []Span {
	var v []ecg.Quality
	for _, q := range l.Verdicts() {
		if q.To > q.From {
			v = append(v, q)
		}
	}
	var out []Span
	for k, q := range v {
		if !judged(q) {
			continue
		}
		from, to := q.From, q.To
		c := (q.From + q.To) / 2
		if k > 0 && v[k-1].To > q.From {
			from = max(from, (c+(v[k-1].From+v[k-1].To)/2)/2)
		}
		if k+1 < len(v) && v[k+1].From < q.To {
			to = min(to, (c+(v[k+1].From+v[k+1].To)/2)/2)
		} else {
			to += ecg.QualityLag * l.Rate
		}
		if n := len(out); n > 0 && from <= out[n-1].To {
			out[n-1].To = max(out[n-1].To, to)
			continue
		}
		out = append(out, Span{from, to})
	}
	return out
}

// nnSeries is the corrected NN series of the beats (samples), never formed
// across a gap in the signal (segs: first beat after each) or an unusable
// stretch (seconds).
func nnSeries(beatPos []float64, segs []int, bad []Span, fs float64) *hrv.Series {
	beats := make([]float64, len(beatPos))
	for i, b := range beatPos {
		beats[i] = b / fs
	}
	gaps := make([]hrv.Span, 0, len(segs)+len(bad))
	for _, s := range segs {
		if s > 0 && s < len(beats) {
			gaps = append(gaps, hrv.Span{From: beats[s-1], To: beats[s]})
		}
	}
	for _, s := range bad {
		gaps = append(gaps, hrv.Span{From: s.From, To: s.To})
	}
	return hrv.Correct(beats, gaps, hrv.Correction{})
}

func hrPoints(ivs []interval, fs float64) []HRPoint {
	out := []HRPoint{}
	for _, iv := range ivs {
		out = append(out, HRPoint{T: iv.to / fs, BPM: 60 * fs / (iv.to - iv.from), Corrected: iv.corrected})
	}
	return out
}

// HeartRate applies the offline interval correction to beat positions
// (sample indices, fractional allowed, increasing) found by any detector,
// so beats from elsewhere are summarised exactly as Analyze does.
func HeartRate(beats []float64, fs float64, cfg Config) ([]HRPoint, HRSummary) {
	cfg.defaults()
	ivs, sum := correct(beats, nil, fs, cfg)
	return hrPoints(ivs, fs), sum
}

// correct judges each inter-beat interval against the median of up to five
// accepted-looking intervals on each side: an interval under 70 % of it that
// makes a normal one with the next is merged (an extra beat); one near 2 or 3
// times it is split (missed beats); one outside the heart-rate range or more
// than 30 % short or 50 % long is rejected.
func correct(beats []float64, segs []int, fs float64, cfg Config) ([]interval, HRSummary) {
	sum := HRSummary{Beats: len(beats)}
	minL, maxL := 60*fs/cfg.MaxHR, 60*fs/cfg.MinHR
	isSegStart := make(map[int]bool, len(segs))
	for _, s := range segs {
		isSegStart[s] = true
	}
	raw := make([]float64, 0, len(beats))
	for i := 1; i < len(beats); i++ {
		l := beats[i] - beats[i-1]
		if isSegStart[i] {
			l = math.NaN()
		}
		raw = append(raw, l)
	}
	med := func(i int) float64 {
		var w []float64
		for j := max(0, i-5); j <= min(len(raw)-1, i+5); j++ {
			if j != i && raw[j] >= minL && raw[j] <= maxL {
				w = append(w, raw[j])
			}
		}
		if len(w) == 0 {
			return math.NaN()
		}
		slices.Sort(w)
		return w[len(w)/2]
	}
	var out []interval
	for i := 0; i < len(raw); i++ {
		l := raw[i]
		if math.IsNaN(l) {
			continue
		}
		m := med(i)
		if math.IsNaN(m) {
			if l >= minL && l <= maxL {
				out = append(out, interval{beats[i], beats[i+1], false})
			} else {
				sum.Rejected++
			}
			continue
		}
		r := l / m
		switch {
		case r < 0.7:
			if i+1 < len(raw) && !math.IsNaN(raw[i+1]) {
				if mm := l + raw[i+1]; mm >= 0.75*m && mm <= 1.25*m && mm >= minL && mm <= maxL {
					out = append(out, interval{beats[i], beats[i+2], true})
					sum.Corrected++
					i++
					continue
				}
			}
			sum.Rejected++
		case r <= 1.5 && l >= minL && l <= maxL:
			out = append(out, interval{beats[i], beats[i+1], false})
		default:
			k := int(r + 0.5)
			if part := l / float64(k); k >= 2 && k <= 3 && part >= 0.8*m && part <= 1.2*m && part >= minL && part <= maxL {
				for j := 0; j < k; j++ {
					out = append(out, interval{beats[i] + float64(j)*part, beats[i] + float64(j+1)*part, true})
				}
				sum.Corrected++
				continue
			}
			sum.Rejected++
		}
	}
	summarise(&sum, out, fs)
	return out, sum
}

// summarise sets the interval count and heart-rate statistics of sum from ivs.
func summarise(sum *HRSummary, ivs []interval, fs float64) {
	sum.Intervals = len(ivs)
	sum.Mean, sum.SD, sum.Min, sum.Max = 0, 0, 0, 0
	if len(ivs) > 0 {
		var w welford
		sum.Min, sum.Max = math.Inf(1), math.Inf(-1)
		for _, iv := range ivs {
			hr := 60 * fs / (iv.to - iv.from)
			w.add(hr)
			sum.Min, sum.Max = min(sum.Min, hr), max(sum.Max, hr)
		}
		sum.Mean, sum.SD = w.mean, w.sd()
	}
}

type welford struct {
	n       int
	mean, s float64
}

func (w *welford) add(x float64) {
	w.n++
	d := x - w.mean
	w.mean += d / float64(w.n)
	w.s += d * (x - w.mean)
}

func (w *welford) sd() float64 {
	if w.n < 2 {
		return 0
	}
	return math.Sqrt(w.s / float64(w.n-1))
}

// skin finds SCRs on the whole EDA channel.
func skin(x []float64, fs float64, cfg Config) (*Skin, error) {
	s := &Skin{SCRs: []SCR{}, Decomposition: string(cfg.Decomposition)}
	y, gaps := fillGaps(x)
	s.Gaps = gaps
	if y == nil {
		return s, nil // no valid value at all
	}
	scrs, sc, err := eda.Find(y, fs, absolute(cfg.SCR))
	if err != nil {
		return nil, err
	}
	s.lv = sliceLevels(sc)
	dec, err := decompose(sc, fs, cfg)
	if err != nil {
		return nil, err
	}
	if dec != nil {
		s.ton, s.pha = sliceLevels(dec.Tonic), sliceLevels(dec.Phasic)
	}
	var w, wt welford
	s.Min, s.Max = math.Inf(1), math.Inf(-1)
	for i, v := range sc {
		if math.IsNaN(x[i]) {
			continue
		}
		w.add(v)
		if dec != nil {
			wt.add(dec.Tonic[i])
		}
		s.Min, s.Max = min(s.Min, v), max(s.Max, v)
	}
	s.Mean = w.mean
	if dec != nil {
		s.TonicMean = &wt.mean
	}
	if w.n == 0 {
		s.Min, s.Max = 0, 0
	}
	for _, c := range scrs {
		// An SCR reaching into a filled gap is not trusted.
		if spansGap(x, int(c.Onset), int(math.Ceil(c.Peak))) {
			continue
		}
		s.SCRs = append(s.SCRs, scrAt(c, 0, fs))
	}
	s.SCRs, s.Threshold = keepAbove(s.SCRs, thresholdFor(y, cfg.SCR), cfg.SCR.Relative)
	return s, nil
}

// decompose is the decomposition asked for of the low-passed sc, or nil.
func decompose(sc []float64, fs float64, cfg Config) (*eda.Decomposition, error) {
	if cfg.Decomposition == "" {
		return nil, nil
	}
	return eda.Decompose(sc, fs, cfg.Decomposition, cfg.SCR.TonicCutoff, cfg.Cvx)
}

// absolute is c without its relative criterion, which the analysis applies
// to the SCRs it keeps from the whole recording.
func absolute(c eda.Config) eda.Config {
	c.Relative = 0
	return c
}

// keepAbove drops the SCRs under rel times the largest (rel ≤ 0: none);
// thr is the absolute threshold already applied. It returns the SCRs kept
// and the threshold now in force, µS.
func keepAbove(scrs []SCR, thr, rel float64) ([]SCR, float64) {
	if !(rel > 0) || rel > 1 {
		return scrs, thr
	}
	big := 0.0
	for _, c := range scrs {
		big = max(big, c.Amplitude)
	}
	thr = max(thr, rel*big)
	out := scrs[:0]
	for _, c := range scrs {
		if c.Amplitude >= thr {
			out = append(out, c)
		}
	}
	return out, thr
}

// scrAt is c, found in samples from `from` on, in samples and seconds from
// the first sample.
func scrAt(c eda.SCR, from int, fs float64) SCR {
	if from != 0 {
		c.Onset += float64(from)
		c.Peak += float64(from)
	}
	o := SCR{Onset: int64(math.Round(c.Onset)), Peak: int64(math.Round(c.Peak)), OnsetS: c.Onset / fs, PeakS: c.Peak / fs,
		Amplitude: c.Amplitude, Rise: c.Rise() / fs}
	if c.HalfRecovery > 0 {
		o.HalfRecovery = c.HalfRecovery / fs
	}
	return o
}

// thresholdFor is the SCR threshold eda.Find applies to y: the configured
// one, raised to 1.5 quantisation steps of the input.
func thresholdFor(x []float64, c eda.Config) float64 {
	thr := c.Threshold
	if !(thr > 0) {
		thr = 0.01
	}
	q := math.Inf(1)
	for i := 1; i < len(x); i++ {
		if dx := math.Abs(x[i] - x[i-1]); dx > 0 && dx < q {
			q = dx
		}
	}
	if math.IsInf(q, 1) {
		return thr
	}
	return max(thr, 1.5*q)
}

func spansGap(x []float64, from, to int) bool {
	for i := max(0, from); i <= min(to, len(x)-1); i++ {
		if math.IsNaN(x[i]) {
			return true
		}
	}
	return false
}

// fillGaps returns x with NaN runs linearly interpolated (held at the ends),
// and how many there were; nil if x has no valid value.
func fillGaps(x []float64) ([]float64, int) {
	y := append([]float64(nil), x...)
	gaps := 0
	prev := -1
	for i, v := range y {
		if math.IsNaN(v) || math.Abs(v) >= 1e12 {
			y[i] = math.NaN()
			gaps++
			continue
		}
		if prev < 0 {
			for j := 0; j < i; j++ {
				y[j] = v
			}
		} else if prev < i-1 {
			a := y[prev]
			for j := prev + 1; j < i; j++ {
				y[j] = a + (v-a)*float64(j-prev)/float64(i-prev)
			}
		}
		prev = i
	}
	if prev < 0 {
		return nil, gaps
	}
	for j := prev + 1; j < len(y); j++ {
		y[j] = y[prev]
	}
	return y, gaps
}

// hrMean is the time-weighted mean heart rate over [from, to) (samples):
// each accepted interval contributes its rate over the part of it inside the
// window. ok is false when intervals cover less than half the window.
func hrMean(ivs []interval, fs, from, to float64) (mean, peak float64, ok bool) {
	i := sort.Search(len(ivs), func(i int) bool { return ivs[i].to > from })
	cover, sum := 0.0, 0.0
	peak = math.Inf(-1)
	for ; i < len(ivs) && ivs[i].from < to; i++ {
		a, b := max(ivs[i].from, from), min(ivs[i].to, to)
		if b <= a {
			continue
		}
		hr := 60 * fs / (ivs[i].to - ivs[i].from)
		cover += b - a
		sum += hr * (b - a)
		peak = max(peak, hr)
	}
	if cover < 0.5*(to-from) || cover == 0 {
		return 0, 0, false
	}
	return sum / cover, peak, true
}

// levels gives the low-passed skin conductance's mean and highest value
// over a span of samples [from, to), clipped to the recording; ok is false
// when nothing of it is left.
type levels interface {
	mean(from, to int) (mean, peak float64, ok bool)
}

// sliceLevels are the levels of a whole low-passed signal in memory.
type sliceLevels []float64

func (x sliceLevels) mean(from, to int) (float64, float64, bool) { return meanOf(x, from, to) }

func meanOf(x []float64, from, to int) (mean, peak float64, ok bool) {
	from, to = max(0, from), min(len(x), to)
	if to <= from {
		return 0, 0, false
	}
	s := 0.0
	peak = math.Inf(-1)
	for _, v := range x[from:to] {
		s += v
		peak = max(peak, v)
	}
	return s / float64(to-from), peak, true
}

// sortedEvents are events in onset order (repeats of one onset in the
// order given): the order react measures them in.
func sortedEvents(events []Event) []Event {
	evs := slices.Clone(events)
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Index < evs[j].Index })
	return evs
}

// react measures each event on a recording of n samples at fs Hz.
func react(events []Event, n int, fs float64, cfg Config, h *Heart, s *Skin) []Reactivity {
	evs := sortedEvents(events)
	seen := map[string]int{}
	var out []Reactivity
	for k, e := range evs {
		if e.Index < 0 || e.Index >= int64(n) {
			continue
		}
		on := float64(e.Index)
		seen[e.Label]++
		rv := Reactivity{Index: e.Index, T: on / fs, Duration: float64(e.Duration) / fs, Label: e.Label, Repeat: seen[e.Label]}
		b0, r1 := on-cfg.Baseline*fs, on+cfg.Response*fs
		if h != nil {
			bm, _, ok1 := hrMean(h.ivs, fs, b0, on)
			rm, pk, ok2 := hrMean(h.ivs, fs, on, r1)
			if ok1 && ok2 {
				rv.HR = &Change{Baseline: bm, Response: rm, Delta: rm - bm, Peak: pk}
			}
		}
		if s != nil && s.lv != nil {
			rv.Tonic = changeOf(s.ton, int(b0), int(on), int(r1))
			rv.Phasic = changeOf(s.pha, int(b0), int(on), int(r1))
			bm, _, ok1 := s.lv.mean(int(b0), int(on))
			rm, pk, ok2 := s.lv.mean(int(on), int(r1))
			if ok1 && ok2 {
				rv.SC = &Change{Baseline: bm, Response: rm, Delta: rm - bm, Peak: pk}
				// Recovery over the span until the next event.
				end := n
				if k+1 < len(evs) {
					end = int(evs[k+1].Index)
				}
				if _, peak, ok := s.lv.mean(int(on), end); ok && peak-bm >= 0.05 {
					endMean, _, _ := s.lv.mean(end-int(fs), end)
					f := (peak - endMean) / (peak - bm)
					rv.Recovery = &f
				}
			}
			// SCRs are in onset order: start at the window.
			first := sort.Search(len(s.SCRs), func(i int) bool { return s.SCRs[i].OnsetS >= on/fs+cfg.SCRFrom })
			for _, c := range s.SCRs[first:] {
				lat := c.OnsetS - on/fs
				if lat > cfg.SCRTo {
					break
				}
				if lat >= cfg.SCRFrom {
					if rv.SCR.Count == 0 {
						rv.SCR.Latency = lat
					}
					rv.SCR.Count++
					rv.SCR.SumAmplitude += c.Amplitude
					if c.Amplitude > rv.SCR.MaxAmplitude {
						rv.SCR.MaxAmplitude = c.Amplitude
						l := c
						rv.SCR.Largest, rv.SCR.LargestLatency = &l, lat
					}
				}
			}
		}
		out = append(out, rv)
	}
	return out
}

// changeOf is the mean of l over [b0, on) and [on, r1), or nil.
func changeOf(l levels, b0, on, r1 int) *Change {
	if l == nil {
		return nil
	}
	bm, _, ok1 := l.mean(b0, on)
	rm, pk, ok2 := l.mean(on, r1)
	if !ok1 || !ok2 {
		return nil
	}
	return &Change{Baseline: bm, Response: rm, Delta: rm - bm, Peak: pk}
}

// habituate groups events by label and fits a line to each response over
// the repeats.
func habituate(rs []Reactivity) []Habituation {
	var labels []string
	by := map[string][]Reactivity{}
	for _, r := range rs {
		if _, ok := by[r.Label]; !ok {
			labels = append(labels, r.Label)
		}
		by[r.Label] = append(by[r.Label], r)
	}
	var out []Habituation
	for _, l := range labels {
		g := by[l]
		if len(g) < 2 {
			continue
		}
		h := Habituation{Label: l, Repeats: len(g)}
		var scX, scY, hrX, hrY, ampX []float64
		for i, r := range g {
			h.SCRAmp = append(h.SCRAmp, r.SCR.MaxAmplitude)
			ampX = append(ampX, float64(i+1))
			if r.SC != nil {
				h.SCDelta = append(h.SCDelta, r.SC.Delta)
				scX, scY = append(scX, float64(i+1)), append(scY, r.SC.Delta)
			}
			if r.HR != nil {
				h.HRDelta = append(h.HRDelta, r.HR.Delta)
				hrX, hrY = append(hrX, float64(i+1)), append(hrY, r.HR.Delta)
			}
		}
		h.SCRSlope = slope(ampX, h.SCRAmp)
		h.SCSlope = slope(scX, scY)
		h.HRSlope = slope(hrX, hrY)
		if h.SCRAmp[0] > 0 {
			h.FirstToLast = h.SCRAmp[len(h.SCRAmp)-1] / h.SCRAmp[0]
		}
		out = append(out, h)
	}
	return out
}

// slope is the least-squares slope of y on x; 0 with fewer than two points.
func slope(x, y []float64) float64 {
	if len(x) < 2 {
		return 0
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(len(x))
	my /= float64(len(x))
	var sxy, sxx float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
	}
	if sxx == 0 {
		return 0
	}
	return sxy / sxx
}

// EventsFromColumn finds event onsets in a marker column (a photosensor, a
// trigger channel): the column's most common value is "rest"; an event
// starts where the column leaves it, or where it jumps to another value
// held for at least 20 ms (a new code without a return to rest). Values held
// for less than that at a transition (a photosensor passing 2.5 on its way
// from 5 to 0) do not start an event of their own. An event lasts while the
// value it settled on is held. NaN counts as rest. Labels are the settled
// values.
//
// A column with no value held most of the time (an analogue photosensor
// with noise, where no two samples are equal) is read as two levels
// instead (analogEvents): Otsu's threshold on its histogram, with
// hysteresis.
func EventsFromColumn(v []float64, rate float64) []Event {
	if len(v) == 0 {
		return nil
	}
	rest, held := modeShare(v)
	if held < 0.5 {
		return analogEvents(v, rate)
	}
	hold := max(2, int(math.Round(0.02*rate)))
	// Runs of equal values (NaN counts as rest), and for each run the first
	// run at or after it, before rest, held for `hold` samples: one pass
	// each way, so the whole scan is linear.
	type run struct {
		val        float64
		start, len int
		rest       bool
	}
	var runs []run
	for i, x := range v {
		if math.IsNaN(x) {
			x = rest
		}
		if len(runs) > 0 && runs[len(runs)-1].val == x {
			runs[len(runs)-1].len++
			continue
		}
		runs = append(runs, run{val: x, start: i, len: 1, rest: x == rest})
	}
	next := make([]int, len(runs)+1)
	next[len(runs)] = -1
	for r := len(runs) - 1; r >= 0; r-- {
		switch {
		case runs[r].rest:
			next[r] = -1
		case runs[r].len >= hold:
			next[r] = r
		default:
			next[r] = next[r+1]
		}
	}
	var out []Event
	r := 0
	for r < len(runs) {
		if runs[r].rest {
			r++
			continue
		}
		at := runs[r].start
		h := next[r]
		if h < 0 {
			// Only short runs before rest (a brief pulse): the longest.
			h = r
			for k := r; k < len(runs) && !runs[k].rest; k++ {
				if runs[k].len > runs[h].len {
					h = k
				}
			}
		}
		val := runs[h].val
		out = append(out, Event{Index: int64(at), Duration: int64(runs[h].start + runs[h].len - at), Label: fmtVal(val)})
		// Transitional values after the held one belong to no event; a
		// different held value starts the next one.
		r = h + 1
		for r < len(runs) && !runs[r].rest {
			if n := next[r]; n >= 0 && runs[n].val != val {
				break
			}
			r++
		}
	}
	return out
}

// modeShare is the most common value of v and the share of v's valid
// values that hold it (0 with none).
func modeShare(v []float64) (float64, float64) {
	counts := map[float64]int{}
	best, bc, n := math.NaN(), 0, 0
	for _, x := range v {
		if math.IsNaN(x) {
			continue
		}
		n++
		counts[x]++
		if c := counts[x]; c > bc || (c == bc && x < best) {
			best, bc = x, c
		}
	}
	if n == 0 {
		return best, 0
	}
	return best, float64(bc) / float64(n)
}

func fmtVal(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// Package hrv computes heart rate variability from beat times, as the Task
// Force of the ESC and NASPE (1996) defines it: mean NN, SDNN, RMSSD and
// pNN50 in the time domain, LF (0.04–0.15 Hz) and HF (0.15–0.4 Hz) power and
// LF/HF in the frequency domain.
//
// The NN series comes from Correct, which builds intervals between beats
// (never across a gap in the signal) and corrects artefacts with the beat
// classification of Lipponen & Tarvainen (2019): extra beats are removed,
// missed beats are put back, and the intervals around ectopic beats and
// other long or short intervals are replaced by interpolation. Analyze then
// measures any window of the series (a step, a cue, the whole session) and
// withholds what the window is too short for, rather than return a number
// nobody should read. Live is a sliding-window RMSSD for the dashboard.
//
// Times are in seconds; NN statistics in milliseconds, powers in ms².
package hrv

import (
	"fmt"
	"math"
	"sort"
)

// Span is a stretch of time, in seconds, where the signal was unusable: no
// interval is formed across it.
type Span struct{ From, To float64 }

// Kind says what correction, if any, an NN interval had.
type Kind uint8

// Kinds of NN interval.
const (
	Normal  Kind = iota
	Ectopic      // one of the two intervals around an ectopic beat: interpolated
	Long         // too long, not a missed beat: interpolated
	Short        // too short, not an extra beat: interpolated
	Missed       // half of an interval split by a beat put back
	Extra        // two intervals merged over a removed extra beat
)

var kindNames = [...]string{"normal", "ectopic", "long", "short", "missed", "extra"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// MarshalText names the kind in JSON.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// NN is one interval of the corrected series.
type NN struct {
	Start, End float64 // the beats that bound it, s
	// Length is the interval, s: End − Start, except for interpolated
	// kinds (Ectopic, Long, Short) where it is the value that replaced it.
	Length float64
	Kind   Kind
}

// Artefacts counts the corrections: beats removed (Extra) or put back
// (Missed), and intervals interpolated (Ectopic, Long, Short).
type Artefacts struct {
	Ectopic int `json:"ectopic"`
	Long    int `json:"long"`
	Short   int `json:"short"`
	Missed  int `json:"missed"`
	Extra   int `json:"extra"`
}

func (a *Artefacts) add(k Kind, n int) {
	switch k {
	case Ectopic:
		a.Ectopic += n
	case Long:
		a.Long += n
	case Short:
		a.Short += n
	case Missed:
		a.Missed += n
	case Extra:
		a.Extra += n
	}
}

// Series is a corrected NN series: Correct makes it, Analyze measures it.
type Series struct {
	NN        []NN // in time order; consecutive ones share a beat unless a gap or a dropped interval lies between
	Beats     int  // usable beats given (finite, distinct)
	Dropped   int  // intervals not kept: across a gap, or implausible even after correction
	Artefacts Artefacts
}

// Options set how much data each domain needs; zero fields take the default
// in brackets.
type Options struct {
	// MinTime is the NN time a window needs for the time domain [60 s]:
	// RMSSD from one minute agrees with 5-minute values (Munoz et al. 2015,
	// PLoS ONE 10(9):e0138921); SDNN grows with the window's length, so
	// compare it only between windows of similar length.
	MinTime float64
	// MinFreq is the NN time a window needs for the frequency domain
	// [120 s]: the Task Force asks for 10 cycles of the band's lowest
	// frequency, "approximately 2 min" for LF (1 min for HF).
	MinFreq float64
	// MaxCorrected is the largest share of corrected intervals a window may
	// have [0.2]: beyond it the numbers describe the correction more than
	// the heart.
	MaxCorrected float64
	// MaxIrregular is the largest share of successive intervals that may
	// still differ by over 20 % after correction [0.05] (Result.Irregular):
	// sinus rhythm seldom does (Malik et al. 1989; under 1 % in every
	// recording tested here), so more means artefacts the correction could
	// not place, or an arrhythmia, where HRV does not apply either.
	MaxIrregular float64
	// Segment is the length of the spectral segments [300 s]: longer
	// windows are cut into segments of this length whose spectra are
	// averaged, as the Task Force advises for long recordings.
	Segment float64
}

func (o *Options) defaults() {
	def := func(p *float64, v float64) {
		if !(*p > 0) || math.IsInf(*p, 0) {
			*p = v
		}
	}
	def(&o.MinTime, 60)
	def(&o.MinFreq, 120)
	def(&o.MaxCorrected, 0.2)
	def(&o.MaxIrregular, 0.05)
	def(&o.Segment, 300)
	o.Segment = max(o.Segment, o.MinFreq)
}

// Result is the HRV of one window. A domain the window cannot support is
// nil, with the reason in its *Withheld field.
type Result struct {
	From      float64   `json:"from_s"`
	To        float64   `json:"to_s"`
	NN        int       `json:"nn"`        // intervals in the window
	Seconds   float64   `json:"nn_s"`      // their total length
	Corrected int       `json:"corrected"` // of which corrected
	Irregular int       `json:"irregular"` // successive intervals differing by over 20 %
	Artefacts Artefacts `json:"artefacts"` // the corrections in the window
	Time      *Time     `json:"time"`      // nil when withheld
	Freq      *Freq     `json:"freq"`      // nil when withheld
	TimeWhy   string    `json:"time_withheld,omitempty"`
	FreqWhy   string    `json:"freq_withheld,omitempty"`
}

// Time holds the time-domain measures.
type Time struct {
	MeanNN float64 `json:"mean_nn_ms"`
	SDNN   float64 `json:"sdnn_ms"`   // sample standard deviation (n − 1)
	RMSSD  float64 `json:"rmssd_ms"`  // over successive differences of adjacent intervals
	PNN50  float64 `json:"pnn50_pct"` // successive differences over 50 ms, per NN interval (Task Force)
	Diffs  int     `json:"successive"`
}

// Freq holds the frequency-domain measures.
type Freq struct {
	LF       float64 `json:"lf_ms2"` // 0.04–0.15 Hz
	HF       float64 `json:"hf_ms2"` // 0.15–0.4 Hz
	LFHF     float64 `json:"lf_hf"`
	Segments int     `json:"segments"` // spectra averaged
	Method   string  `json:"method"`
}

// Method is the spectral estimate used (Freq.Method).
const Method = "lomb-scargle"

// Bands (Task Force 1996), Hz.
const (
	LFLow, LFHigh = 0.04, 0.15
	HFLow, HFHigh = 0.15, 0.40
)

// Whole measures the whole series.
func (s *Series) Whole(o Options) Result {
	return s.Analyze(math.Inf(-1), math.Inf(1), o)
}

// Analyze measures the intervals lying wholly within [from, to] (seconds,
// the beats' time base; infinite bounds for open ends).
func (s *Series) Analyze(from, to float64, o Options) Result {
	o.defaults()
	lo := sort.Search(len(s.NN), func(i int) bool { return s.NN[i].Start >= from })
	hi := sort.Search(len(s.NN), func(i int) bool { return s.NN[i].End > to })
	if math.IsNaN(from) || math.IsNaN(to) {
		lo, hi = 0, 0
	}
	hi = max(hi, lo)
	nn := s.NN[lo:hi]
	r := Result{From: from, To: to}
	if math.IsInf(from, 0) || math.IsNaN(from) {
		r.From = 0
		if len(nn) > 0 {
			r.From = nn[0].Start
		}
	}
	if math.IsInf(to, 0) || math.IsNaN(to) {
		r.To = r.From
		if len(nn) > 0 {
			r.To = nn[len(nn)-1].End
		}
	}
	r.NN = len(nn)
	missed, pairs := 0, 0
	for i, v := range nn {
		r.Seconds += v.Length
		if i > 0 && nn[i-1].End == v.Start {
			pairs++
			if p := nn[i-1].Length; math.Abs(v.Length-p) > 0.2*p {
				r.Irregular++
			}
		}
		if v.Kind != Normal {
			r.Corrected++
			if v.Kind == Missed {
				missed++
			} else {
				r.Artefacts.add(v.Kind, 1)
			}
		}
	}
	// A beat put back splits one interval in two Missed ones.
	r.Artefacts.Missed = (missed + 1) / 2
	share := 0.0
	if r.NN > 0 {
		share = float64(r.Corrected) / float64(r.NN)
	}
	tooMany := ""
	if share > o.MaxCorrected {
		tooMany = fmt.Sprintf("too many artefacts: %.0f%% of intervals corrected, at most %.0f%% allowed", 100*share, 100*o.MaxCorrected)
	} else if pairs > 0 && float64(r.Irregular) > o.MaxIrregular*float64(pairs) {
		tooMany = fmt.Sprintf("too irregular: %.0f%% of successive intervals differ by more than 20%%, at most %.0f%% allowed",
			100*float64(r.Irregular)/float64(pairs), 100*o.MaxIrregular)
	}
	switch {
	case r.Seconds < o.MinTime:
		r.TimeWhy = notEnough(r.Seconds, o.MinTime)
	case tooMany != "":
		r.TimeWhy = tooMany
	default:
		if t, ok := timeDomain(nn); ok {
			r.Time = &t
		} else {
			r.TimeWhy = "not enough data: no two adjacent intervals"
		}
	}
	switch {
	case r.Seconds < o.MinFreq:
		r.FreqWhy = notEnough(r.Seconds, o.MinFreq)
	case tooMany != "":
		r.FreqWhy = tooMany
	default:
		f, why := freqDomain(nn, o)
		if why == "" {
			r.Freq = &f
		} else {
			r.FreqWhy = why
		}
	}
	return r
}

func notEnough(have, need float64) string {
	return fmt.Sprintf("not enough data: %.0f s of NN intervals, at least %.0f s needed", math.Floor(have), need)
}

// timeDomain computes the time-domain measures in one pass (Welford's
// update for the standard deviation, so a day of beats loses no precision).
func timeDomain(nn []NN) (Time, bool) {
	var n, nd, nn50 int
	var mean, m2, sq float64
	for i, v := range nn {
		x := v.Length * 1000
		n++
		d := x - mean
		mean += d / float64(n)
		m2 += d * (x - mean)
		if i > 0 && nn[i-1].End == v.Start {
			dd := x - nn[i-1].Length*1000
			sq += dd * dd
			nd++
			// Over 50 ms; a nanosecond's slack so intervals given in whole
			// milliseconds or samples, turned into beat times and back,
			// count an exact 50 ms as not over.
			if math.Abs(dd) > 50+1e-6 {
				nn50++
			}
		}
	}
	if n < 2 || nd < 1 {
		return Time{}, false
	}
	return Time{MeanNN: mean, SDNN: math.Sqrt(m2 / float64(n-1)), RMSSD: math.Sqrt(sq / float64(nd)),
		PNN50: 100 * float64(nn50) / float64(n), Diffs: nd}, true
}

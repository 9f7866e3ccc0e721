package analysis

import (
	"fmt"
	"math"
	"strings"

	"github.com/cueroom/cueroom/engine/report"
	"github.com/cueroom/cueroom/sensors/physio/hrv"
	"github.com/cueroom/cueroom/sensors/physio/offline"
)

// measures reads a session's signals for the report: levels over spans,
// peaks within steps, and the series the plots draw.
type measures struct {
	sig     *signals // nil when nothing was measured
	a       *Result
	set     report.Settings
	hr      []offline.HRPoint // session clock
	hrFrom  string            // ECG or PPG
	eda     *edaTap           // nil when not measured
	arousal []report.Point
	hasAr   bool
}

func newMeasures(rec Recording, info Info, sig *signals, tap *edaTap, a *Result, set report.Settings) (*measures, error) {
	m := &measures{sig: sig, a: a, set: set, eda: tap}
	if sig != nil && a != nil && a.Steps != nil {
		r := a.Steps
		var h *offline.Heart
		switch {
		case r.ECG != nil && r.Settings.HRSource == r.ECG.Column:
			h, m.hrFrom = r.ECG, "ECG"
		case r.PPG != nil && r.Settings.HRSource == r.PPG.Column:
			h, m.hrFrom = r.PPG, "PPG"
		}
		if h != nil {
			for _, p := range h.HR {
				p.T = sig.time(p.T)
				m.hr = append(m.hr, p)
			}
		}
	}
	// The live arousal index, as the therapist saw it.
	for _, st := range info.Streams {
		if st.Kind != "derived" {
			continue
		}
		for i, c := range st.Channels {
			if c.Label != "arousal" {
				continue
			}
			for smp, err := range rec.Samples(st.Device) {
				if err != nil {
					return nil, err
				}
				v := math.NaN()
				if i < smp.N {
					v = smp.Values[i]
				}
				m.arousal = append(m.arousal, report.Point{T: smp.T.Seconds(), V: v})
				m.hasAr = m.hasAr || finite(v)
			}
		}
	}
	return m, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func (m *measures) measured(base report.Measured) report.Measured {
	out := base
	out.Arousal = m.hasAr
	if m.sig == nil {
		return out
	}
	out.Device = m.sig.devices()
	out.GapSamples = m.sig.gaps
	in := m.sig.in
	if m.hrFrom != "" {
		col := in.ECGName
		if m.hrFrom == "PPG" {
			col = in.PPGName
		}
		v := fmt.Sprintf("%s (%s %s)", m.hrFrom, m.sig.stream.Device, col)
		out.HR = &v
		if len(m.hr) == 0 {
			out.Note = strings.TrimPrefix(out.Note+"; no usable heartbeats were found", "; ")
		}
	}
	if m.eda != nil {
		v := fmt.Sprintf("EDA (%s %s)", m.sig.edaDevice(), in.EDAName)
		out.SCL = &v
		if m.a != nil && m.a.Steps != nil && m.a.Steps.EDA != nil {
			out.SCRThreshold = m.a.Steps.EDA.Threshold
		}
	}
	return out
}

// hrMean is the time-weighted mean heart rate over [from, to] (session
// seconds), each accepted interval counted for its part inside; nil when
// intervals cover less than half the span.
func (m *measures) hrMean(from, to float64) *float64 {
	if len(m.hr) == 0 || !(to > from) {
		return nil
	}
	cover, sum := 0.0, 0.0
	for _, p := range m.hr {
		a, b := p.T-60/p.BPM, p.T
		if b <= from {
			continue
		}
		if a >= to {
			break
		}
		d := min(b, to) - max(a, from)
		cover += d
		sum += d * p.BPM
	}
	if cover < 0.5*(to-from) || cover == 0 {
		return nil
	}
	v := sum / cover
	return &v
}

// sclMean is the mean skin conductance over [from, to); nil with fewer
// than half the samples valid. The span must be one newEDATap registered.
func (m *measures) sclMean(from, to float64) *float64 {
	if m.eda == nil {
		return nil
	}
	sum, n := m.eda.sum(m.sig.index(from), m.sig.index(to))
	want := (to - from) * m.sig.in.Rate
	if n == 0 || float64(n) < 0.5*want {
		return nil
	}
	v := sum / float64(n)
	return &v
}

// onsetLocked copies the offline analysis of p's onset (Baseline seconds
// before vs Response seconds after, SCRs SCRFrom–SCRTo s) into p.
func (m *measures) onsetLocked(p *report.Presentation, r *offline.Report) {
	if r == nil || m.sig == nil {
		return
	}
	idx := m.sig.index(p.Onset)
	for i := range r.Events {
		e := &r.Events[i]
		if e.Index != idx || e.Label != p.ID {
			continue
		}
		p.HR, p.SCL = e.HR, e.SC
		p.HRV = m.sessionTime(e.HRV)
		if r.EDA != nil {
			scr := e.SCR
			p.SCR = &scr
		}
		return
	}
}

// sessionTime is h with its window moved from the offline analysis's
// time (seconds from the first sample) to session time.
func (m *measures) sessionTime(h *hrv.Result) *hrv.Result {
	if h == nil {
		return nil
	}
	c := *h
	c.From, c.To = m.sig.time(c.From), m.sig.time(c.To)
	return &c
}

// quality is what the ECG's quality index withheld, in session time.
func (m *measures) quality() *report.Quality {
	if m.a == nil || m.sig == nil {
		return nil
	}
	h := m.a.Steps.ECG // the quality index judges ECG only
	if h == nil || (len(h.Unusable) == 0 && h.Warning == "" && h.Summary.Withheld == 0) {
		return nil
	}
	q := &report.Quality{Unusable: []offline.Span{}, Withheld: h.Summary.Withheld, Warning: h.Warning}
	for _, s := range h.Unusable {
		q.Unusable = append(q.Unusable, offline.Span{From: m.sig.time(s.From), To: m.sig.time(s.To)})
		q.Seconds += s.To - s.From
	}
	return q
}

// within measures habituation inside one step: skin conductance from its
// level before onset to its peak (highest 1-s mean) and to the step's end,
// and the live arousal index's peak and end.
func (m *measures) within(from, to float64) *report.Within {
	w := &report.Within{}
	tail := min(m.set.EndWindow, (to-from)/2)
	if m.eda != nil && to > from {
		w.SCLOnset = m.sclMean(from-m.set.Baseline, from)
		w.SCLEnd = m.sclMean(to-tail, to)
		// Highest rolling 1-s mean (edaTap), its time from the onset.
		if best, peakAt, ok := m.eda.peak(m.sig.index(from), m.sig.index(to), m.sig.in.Rate); ok {
			w.SCLPeak, w.SCLPeakAt = &best, &peakAt
			if w.SCLOnset != nil && w.SCLEnd != nil && best-*w.SCLOnset >= 0.05 {
				f := (best - *w.SCLEnd) / (best - *w.SCLOnset)
				w.SCLRecovered = &f
			}
		}
	}
	if m.hasAr {
		best, at := math.Inf(-1), math.NaN()
		sum, n := 0.0, 0
		for _, p := range m.arousal {
			if p.T < from || p.T > to || !finite(p.V) {
				continue
			}
			if p.V > best {
				best, at = p.V, p.T-from
			}
			if p.T >= to-tail {
				sum, n = sum+p.V, n+1
			}
		}
		if !math.IsNaN(at) {
			w.ArousalPeak, w.ArousalAt = &best, &at
		}
		if n > 0 {
			v := sum / float64(n)
			w.ArousalEnd = &v
		}
	}
	return w
}

// maxPoints bounds a plotted series: more would not show at page width
// and would only make the file heavy.
const maxPoints = 3000

// series are the signals for the plots, averaged into bins of at least a
// quarter second (longer for long sessions).
func (m *measures) series() *report.Series {
	out := &report.Series{}
	if m.sig == nil {
		return out
	}
	if m.eda != nil {
		out.SCL = m.eda.series(m.sig, maxPoints)
		if m.a != nil && m.a.Steps != nil && m.a.Steps.EDA != nil {
			for _, c := range m.a.Steps.EDA.SCRs {
				out.SCRs = append(out.SCRs, report.Point{T: m.sig.time(c.PeakS), V: c.Amplitude})
			}
		}
	}
	for _, p := range m.hr {
		out.HR = append(out.HR, report.Point{T: p.T, V: p.BPM})
	}
	out.HR = thin(out.HR, maxPoints)
	out.Arousal = thin(m.arousal, maxPoints)
	return out
}

// thin averages consecutive points so at most n remain; NaN points stay
// NaN so gaps still break the lines.
func thin(pts []report.Point, n int) []report.Point {
	if len(pts) <= n {
		return pts
	}
	k := (len(pts) + n - 1) / n
	out := make([]report.Point, 0, n)
	for i := 0; i < len(pts); i += k {
		g := pts[i:min(i+k, len(pts))]
		st, sv, c := 0.0, 0.0, 0
		for _, p := range g {
			if finite(p.V) {
				st, sv, c = st+p.T, sv+p.V, c+1
			}
		}
		if c == 0 {
			out = append(out, report.Point{T: g[0].T, V: math.NaN()})
			continue
		}
		out = append(out, report.Point{T: st / float64(c), V: sv / float64(c)})
	}
	return out
}

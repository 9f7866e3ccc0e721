package analysis

import (
	"fmt"
	"math"
	"sort"

	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/engine/report"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors/physio/offline"
)

// Report computes one session's part of the reactivity report. A session
// that recorded no signal the analysis reads is still reported (its steps,
// ratings and log), with Measured.Note saying so; the analysis (nil then)
// feeds Across. Errors are the recording's (an I/O failure) or the offline
// analysis's.
func Report(rec Recording, opt Options) (report.Session, *Result, error) {
	info := rec.Info()
	rs := report.Session{
		Dir: info.Dir, Title: info.Meta.Title, Substance: info.Meta.Substance, Software: info.Meta.Software,
		Start: info.Meta.Start, Complete: info.Complete, Notes: info.Notes, RecordingError: info.Error,
		Devices: info.Streams, Steps: []report.Presentation{}, Cues: []report.Presentation{},
		Repeats: []report.Habituation{}, Log: []report.LogEntry{}, Manifest: []report.Cue{},
		Series: &report.Series{}, Recovered: info.Recovered,
	}
	evs, err := events(rec)
	if err != nil {
		return rs, nil, err
	}
	end := sessionEnd(info, evs)
	rs.Duration = end
	if !info.End.IsZero() {
		e := info.End
		rs.End = &e
	}
	if len(rs.Devices) == 0 {
		rs.Devices = info.Meta.Streams
	}
	if p, ok := info.Meta.Extra["protocol_file"].(string); ok {
		rs.ProtocolFile = p
	}
	if info.Meta.Manifest != nil {
		if err := info.Meta.DecodeManifest(&rs.Manifest); err != nil {
			rs.Notes = append(rs.Notes, fmt.Sprintf("the cue manifest in %s could not be read (%v)", record.MetaFile, err))
			rs.Manifest = []report.Cue{}
		}
	}
	for _, e := range evs {
		if d, ok := e.Data.(event.SessionEnd); ok {
			rs.EndReason = d.Reason
		}
	}
	steps, cues := presentations(evs, end)
	paused := pauses(evs, end)

	l, err := layoutSignals(info, evs)
	var a *Result
	var sig *signals
	var tap *edaTap
	switch {
	case err == ErrNoSignal || noSamples(err):
		rs.Measured.Note = err.Error() + ": heart rate and skin conductance are not measured"
	case err != nil:
		return rs, nil, err
	default:
		sig, a = l.g, newResult(info)
		if l.has(edaCol) {
			tap = newEDATap(sig, steps, opt.Settings())
		}
		if err := a.measure(rec, l, evs, steps, cues, opt.offline(), tap); err != nil {
			return rs, nil, err
		}
	}
	m, err := newMeasures(rec, info, sig, tap, a, opt.Settings())
	if err != nil {
		return rs, nil, err
	}
	rs.Measured = m.measured(rs.Measured)
	rs.Series = m.series()
	for _, e := range evs {
		if _, ok := e.Data.(event.PatientStop); ok {
			rs.Series.Stops = append(rs.Series.Stops, e.T.Seconds())
		}
	}

	// The baseline step: the resting level every step is compared with.
	for _, st := range steps {
		if st.id == "baseline" {
			rs.Baseline = &report.Baseline{From: st.on, To: st.off, HR: m.hrMean(st.on, st.off), SCL: m.sclMean(st.on, st.off)}
			break
		}
	}

	ratings := ratingsByStep(evs)
	repeat := map[string]int{}
	for i, st := range steps {
		repeat[st.id]++
		p := report.Presentation{
			N: i + 1, ID: st.id, Step: st.id, Name: st.start.Name, Repeat: repeat[st.id],
			Intensity: st.start.Intensity, Neutral: st.start.Neutral,
			Onset: st.on, End: st.off, Exposure: st.off - st.on - overlap(paused, st.on, st.off), EndReason: st.endReason,
			Ratings: ratings[i],
		}
		m.onsetLocked(&p, a.stepsOrNil())
		if b := rs.Baseline; b != nil {
			p.HRLevel = levelOf(b.HR, m.hrMean(st.on, st.off))
			p.SCLLevel = levelOf(b.SCL, m.sclMean(st.on, st.off))
		}
		if !p.Neutral {
			p.Within = m.within(st.on, st.off)
			rs.Exposure += p.Exposure
		}
		rs.Steps = append(rs.Steps, p)
	}
	dwell := looks(evs, cues, paused)
	repeat = map[string]int{}
	for i, c := range cues {
		repeat[c.id]++
		p := report.Presentation{N: i + 1, ID: c.id, Modality: c.modality, Repeat: repeat[c.id],
			Onset: c.on, End: c.off, Exposure: c.off - c.on - overlap(paused, c.on, c.off)}
		if k := c.step; k >= 0 {
			p.Step = steps[k].id
			p.Intensity, p.Neutral = rs.Steps[k].Intensity, rs.Steps[k].Neutral
		}
		m.onsetLocked(&p, a.cuesOrNil())
		p.Look = dwell[i]
		rs.Cues = append(rs.Cues, p)
	}
	if a != nil {
		for _, h := range a.Steps.Repeats {
			rs.Repeats = append(rs.Repeats, report.Habituation{Kind: "step", Habituation: h})
		}
		for _, h := range a.Cues.Repeats {
			rs.Repeats = append(rs.Repeats, report.Habituation{Kind: "cue", Habituation: h})
		}
	}
	if a != nil && a.Steps != nil {
		rs.HRV = m.sessionTime(a.Steps.HRV)
	}
	rs.Quality = m.quality()
	rs.Log = sessionLog(evs)
	return rs, a, nil
}

func (a *Result) stepsOrNil() *offline.Report {
	if a == nil {
		return nil
	}
	return a.Steps
}

func (a *Result) cuesOrNil() *offline.Report {
	if a == nil {
		return nil
	}
	return a.Cues
}

func levelOf(base, during *float64) *report.Level {
	if base == nil || during == nil {
		return nil
	}
	return &report.Level{Baseline: *base, During: *during, Delta: *during - *base}
}

// Across compares the first presentation of each step over the sessions it
// appears in (two at least), in the order given: does the response
// habituate from session to session? Nil with fewer than two sessions.
func Across(all []*Result) []report.Across {
	if len(all) < 2 {
		return nil
	}
	by := map[string]*report.Across{}
	var order []string
	for _, a := range all {
		if a == nil || a.Steps == nil {
			continue // nothing was measured
		}
		for _, r := range a.Steps.Events {
			if r.Repeat != 1 {
				continue
			}
			x := by[r.Label]
			if x == nil {
				x = &report.Across{Step: r.Label}
				by[r.Label] = x
				order = append(order, r.Label)
			}
			x.Sessions = append(x.Sessions, a.Dir)
			x.SCRAmp = append(x.SCRAmp, r.SCR.MaxAmplitude)
			x.SCDelta = append(x.SCDelta, change(r.SC))
			x.HRDelta = append(x.HRDelta, change(r.HR))
			x.Craving = append(x.Craving, a.LastRating(r.Label, 1, "craving"))
		}
	}
	var out []report.Across
	sort.Strings(order)
	for _, k := range order {
		x := by[k]
		if len(x.Sessions) < 2 {
			continue
		}
		x.SCRSlope = slope(x.SCRAmp)
		out = append(out, *x)
	}
	return out
}

// LastRating is the last rating on scale given in a step's repeat-th
// presentation; nil when none was answered.
func (a *Result) LastRating(step string, repeat int, scale string) *float64 {
	var c *float64
	for _, sr := range a.Ratings {
		if sr.Step == step && sr.Repeats == repeat && sr.Scale == scale && len(sr.Values) > 0 {
			v := sr.Values[len(sr.Values)-1]
			c = &v
		}
	}
	return c
}

func change(c *offline.Change) *float64 {
	if c == nil || math.IsNaN(c.Delta) {
		return nil
	}
	v := c.Delta
	return &v
}

// slope is the least-squares slope of v over 0, 1, 2…
func slope(v []float64) float64 {
	n := float64(len(v))
	var sx, sy, sxx, sxy float64
	for i, y := range v {
		x := float64(i)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// Package analysis measures recorded sessions: the reactivity to every cue
// onset and step start, the ratings of each step, habituation over repeats
// within a session and across a participant's sessions, and the numbers of
// the reactivity report. `cueroom analyze` and `cueroom report` print what it
// returns; the dashboard and the hub can call it the same way.
//
// The signal processing itself (beats, heart rate, SCRs, onset-locked
// changes) is sensors/physio/offline's; this package lays a recording's
// samples out on the session clock for it, reads the session's events to
// say where the onsets are, and builds the report's model (engine/report
// renders it).
//
// Its input is a Recording: the session's header, its events and each
// device's samples as iterators. FromIndex reads a session indexed by
// record.OpenIndex, its samples from data.rec as they are needed (what the
// commands do); FromSession one read whole by record.Open.
package analysis

import (
	"errors"
	"iter"
	"math"
	"time"

	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/engine/report"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/physio/eda"
	"github.com/cueroom/cueroom/sensors/physio/offline"
)

// Recording is a recorded session as the analysis reads it. Each call of
// Session or Report walks the events once and each device's samples at
// most once — two devices side by side when heart rate comes from one and
// skin conductance from another, so each Samples sequence must read on its
// own (an index's cursors do) — and holds only what it keeps of them
// (beats, SCRs, low-rate levels), so an implementation may read them from
// disk on demand (an index gives Info up front).
type Recording interface {
	// Info is what is known before the data: session.json, the stream
	// announcements and where each device's samples start and end.
	Info() Info
	// Events yields the session's events in session-time order; an error
	// (an I/O failure while streaming) ends the iteration.
	Events() iter.Seq2[event.Event, error]
	// Samples yields one device's samples in recorded order.
	Samples(device string) iter.Seq2[sensors.Sample, error]
}

// Info describes a recording.
type Info struct {
	Dir       string
	Meta      record.Meta
	Streams   []sensors.Stream // announced in data.rec, in recorded order
	End       time.Time        // zero: the session was never closed (a crash)
	Complete  bool             // closed normally with no write error
	Error     string           // the write error that stopped recording
	Notes     []string         // session.json's notes (repairs)
	Recovered string           // the reader's note on damage in data.rec; "" when none
	Samples   map[string]Extent
}

// newInfo is what both readers say before the samples.
func newInfo(f record.Folder, streams []sensors.Stream, rec *record.Recovery) Info {
	info := Info{Dir: f.Dir, Meta: f.Meta, Streams: streams, End: f.End, Complete: f.Complete,
		Error: f.Error, Notes: f.Notes, Samples: map[string]Extent{}}
	if rec != nil {
		info.Recovered = rec.Note
	}
	return info
}

// Extent says where one device's samples lie on the session clock.
type Extent struct {
	N           int           // samples recorded
	First, Last time.Duration // session times of the first and the last
}

// FromSession is the Recording of a session read whole by record.Open.
func FromSession(s *record.Session) Recording {
	info := newInfo(s.Folder, s.Streams, s.Recovered)
	for dev, smp := range s.Samples {
		if n := len(smp); n > 0 {
			info.Samples[dev] = Extent{N: n, First: smp[0].T, Last: smp[n-1].T}
		}
	}
	return whole{s, info}
}

type whole struct {
	s    *record.Session
	info Info
}

func (w whole) Info() Info { return w.info }

func (w whole) Events() iter.Seq2[event.Event, error] { return inMemory(w.s.Events) }

// inMemory yields events already read.
func inMemory(evs []event.Event) iter.Seq2[event.Event, error] {
	return func(yield func(event.Event, error) bool) {
		for _, e := range evs {
			if !yield(e, nil) {
				return
			}
		}
	}
}

func (w whole) Samples(device string) iter.Seq2[sensors.Sample, error] {
	return func(yield func(sensors.Sample, error) bool) {
		for _, s := range w.s.Samples[device] {
			if !yield(s, nil) {
				return
			}
		}
	}
}

// FromIndex is the Recording of a session indexed by record.OpenIndex: each
// device's samples are read from data.rec as the analysis asks for them, so
// they are never all in memory at once. The caller closes x afterwards.
func FromIndex(x *record.Index) Recording {
	info := newInfo(x.Folder, x.Streams, x.Recovered)
	for _, dev := range x.Devices() {
		if st := x.Stats(dev); st.Count > 0 {
			info.Samples[dev] = Extent{N: st.Count, First: st.First, Last: st.Last}
		}
	}
	return indexed{x, info}
}

type indexed struct {
	x    *record.Index
	info Info
}

func (r indexed) Info() Info { return r.info }

func (r indexed) Events() iter.Seq2[event.Event, error] { return inMemory(r.x.Events) }

func (r indexed) Samples(device string) iter.Seq2[sensors.Sample, error] {
	return func(yield func(sensors.Sample, error) bool) {
		c := r.x.Cursor(device)
		for c.Next() {
			if !yield(*c.Sample(), nil) {
				return
			}
		}
		if err := c.Err(); err != nil {
			yield(sensors.Sample{}, err)
		}
	}
}

// Options are the analysis windows, the same for every session compared.
type Options struct {
	SCRThreshold float64 // smallest SCR amplitude, µS (0: offline's 0.01)
	Baseline     float64 // seconds before each onset for the onset-locked baseline (0: 3)
	Response     float64 // seconds after it for the onset-locked response (0: 4)
	// The SCRs counted start this long after an onset (0: 1 to 4 s).
	SCRFrom, SCRTo float64
	EndWindow      float64 // the end of a step, for habituation within it (reports)
	// SCRRelative is a second minimum SCR amplitude, as a fraction of the
	// recording's largest response (0.1: 10 %); 0: none.
	SCRRelative float64
	// Decomposition is the tonic/phasic method reported (eda.Filter or
	// eda.CvxEDA); "": none.
	Decomposition eda.Method
	// TrustRate analyses a CSV recording even when its rate does not seem
	// to fit the signal (offline.CheckRate).
	TrustRate bool
}

func (o Options) offline() offline.Config {
	return offline.Config{SCR: eda.Config{Threshold: o.SCRThreshold, Relative: o.SCRRelative},
		Decomposition: o.Decomposition, Baseline: o.Baseline, Response: o.Response, SCRFrom: o.SCRFrom, SCRTo: o.SCRTo}
}

// Settings are the options as a report states them.
func (o Options) Settings() report.Settings {
	return report.Settings{Baseline: o.Baseline, Response: o.Response, SCRFrom: o.SCRFrom, SCRTo: o.SCRTo,
		SCRThreshold: o.SCRThreshold, EndWindow: o.EndWindow, SCRRelative: o.SCRRelative, Decomposition: string(o.Decomposition)}
}

// Result is the offline analysis of one recorded session: the reactivity
// to every cue onset (on screen) and every step start, the ratings of each
// step, and habituation over repeats within the session.
type Result struct {
	Dir     string          `json:"dir"`
	Title   string          `json:"title"`
	Start   string          `json:"start"`
	Device  string          `json:"device"`
	Cues    *offline.Report `json:"cues"`  // events: cue onsets (first frame, or first sample of a sound), labelled by cue id
	Steps   *offline.Report `json:"steps"` // events: step starts, labelled by step id
	Ratings []StepRatings   `json:"ratings"`
	// Looks are where the patient looked in each 360° scene shown (cues
	// with recorded look events), in onset order.
	Looks []CueLook `json:"look_dwell,omitempty"`
}

// CueLook is one cue presentation's look dwell.
type CueLook struct {
	Cue    string  `json:"cue"`
	Onset  float64 `json:"onset_s"`
	Repeat int     `json:"repeat"`
	report.Look
}

// StepRatings are the ratings given in one step presentation, on one scale.
type StepRatings struct {
	Step    string    `json:"step"`
	Scale   string    `json:"scale"`
	Values  []float64 `json:"values"`
	Onset   float64   `json:"step_onset_s"`
	Repeats int       `json:"repeat"`
}

// ErrNoSignal: the session recorded nothing the offline analysis reads.
var ErrNoSignal = errors.New("no ECG, PPG or skin-conductance channel was recorded")

// Session analyses a recording against the session's own events: each
// step start and each cue onset is an event for the offline analysis.
func Session(rec Recording, opt Options) (*Result, error) {
	info := rec.Info()
	evs, err := events(rec)
	if err != nil {
		return nil, err
	}
	l, err := layoutSignals(info, evs)
	if err != nil {
		return nil, err
	}
	end := sessionEnd(info, evs)
	steps, cues := presentations(evs, end)
	a := newResult(info)
	dwell := looks(evs, cues, pauses(evs, end))
	repeat := map[string]int{}
	for i, c := range cues {
		repeat[c.id]++
		if l := dwell[i]; l != nil {
			a.Looks = append(a.Looks, CueLook{Cue: c.id, Onset: c.on, Repeat: repeat[c.id], Look: *l})
		}
	}
	return a, a.measure(rec, l, evs, steps, cues, opt.offline(), nil)
}

func newResult(info Info) *Result {
	return &Result{Dir: info.Dir, Title: info.Meta.Title, Start: info.Meta.Start.Format("2006-01-02 15:04")}
}

// events reads the recording's events once: every pass over them is then
// in memory (they are few next to the samples).
func events(rec Recording) ([]event.Event, error) {
	var out []event.Event
	for e, err := range rec.Events() {
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// window is the span of skin conductance the offline analysis takes at a
// time (offline.StreamInput.Window), s; the tests change it to compare a
// session analysed in windows with the same analysed whole.
var window = offline.DefaultWindow

// measure fills a: the laid-out samples are read once and streamed through
// the offline analysis of both event sets (cue onsets, step starts) and,
// for the report, through tap (nil: none). Only compact results are kept,
// so memory does not grow with the session's length beyond its beats,
// SCRs and a few points a second.
func (a *Result) measure(rec Recording, l *layout, evs []event.Event, steps, cues []shown, cfg offline.Config, tap *edaTap) error {
	sig := l.g
	a.Device = sig.devices()
	onsets := func(ps []shown) []offline.Event {
		out := make([]offline.Event, 0, len(ps))
		for _, p := range ps {
			out = append(out, offline.Event{Index: sig.index(p.on), Duration: int64(math.Round((p.off - p.on) * sig.in.Rate)), Label: p.id})
		}
		return out
	}
	a.Ratings = stepRatings(evs)
	st, err := offline.NewStream(offline.StreamInput{Rate: sig.in.Rate,
		ECG: l.has(ecgCol), PPG: l.has(ppgCol), EDA: l.has(edaCol),
		ECGName: sig.in.ECGName, PPGName: sig.in.PPGName, EDAName: sig.in.EDAName,
		Events: [][]offline.Event{onsets(cues), onsets(steps)}, Window: window}, cfg)
	if err != nil {
		return err
	}
	for r, err := range l.rows(rec) {
		if err != nil {
			return err
		}
		if err := st.Push(r[ecgCol], r[ppgCol], r[edaCol]); err != nil {
			return err
		}
		if tap != nil {
			tap.add(r[edaCol])
		}
	}
	if tap != nil {
		tap.finish()
	}
	reps, err := st.Finish()
	if err != nil {
		return err
	}
	a.Cues, a.Steps = reps[0], reps[1]
	return nil
}

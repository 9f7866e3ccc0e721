package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/cueroom/cueroom/engine/bus"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/physio/offline"
)

// SessionAnalysis is the offline analysis of one recorded session: the
// reactivity to every cue onset (on screen) and every step start, the
// ratings of each step, and habituation over repeats within the session.
type SessionAnalysis struct {
	Dir     string          `json:"dir"`
	Title   string          `json:"title"`
	Start   string          `json:"start"`
	Device  string          `json:"device"`
	Cues    *offline.Report `json:"cues"`  // events: visual cue onsets, labelled by cue id
	Steps   *offline.Report `json:"steps"` // events: step starts, labelled by step id
	Ratings []StepRatings   `json:"ratings"`
}

// StepRatings are the ratings given in one step.
type StepRatings struct {
	Step    string    `json:"step"`
	Scale   string    `json:"scale"`
	Values  []float64 `json:"values"`
	Onset   float64   `json:"step_onset_s"`
	Repeats int       `json:"repeat"`
}

// AcrossSessions follows one step over the sessions of a participant, in
// the order given: does the response habituate from session to session?
type AcrossSessions struct {
	Step     string     `json:"step"`
	Sessions []string   `json:"sessions"`
	SCRAmp   []float64  `json:"scr_max_amplitude_us"` // first presentation in each session
	SCDelta  []*float64 `json:"sc_delta_us"`          // null where not measurable
	HRDelta  []*float64 `json:"hr_delta_bpm"`
	Craving  []*float64 `json:"craving"` // last craving rating of the step, null when none
	SCRSlope float64    `json:"scr_amplitude_slope_per_session"`
}

// analyzeSessions runs the offline analysis on recorded session folders.
func analyzeSessions(dirs []string, cfg offline.Config, asJSON bool, stdout io.Writer) error {
	var all []SessionAnalysis
	for _, dir := range dirs {
		s, err := record.Open(dir)
		if err != nil {
			return usagef("analyze: %v", err)
		}
		if s.Recovered != nil {
			fmt.Fprintf(os.Stderr, "cueroom: warning: %s: %s\n", dir, s.Recovered.Note)
		}
		a, err := analyzeSession(s, cfg)
		if err != nil {
			return usagef("analyze: %s: %v", dir, err)
		}
		all = append(all, a)
	}
	across := acrossSessions(all)
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Sessions []SessionAnalysis `json:"sessions"`
			Across   []AcrossSessions  `json:"across_sessions,omitempty"`
		}{all, across})
	}
	for _, a := range all {
		fmt.Fprintf(stdout, "%s — %s (%s, %s)\n", a.Dir, a.Title, a.Start, a.Device)
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "step\trepeat\tonset s\tΔHR bpm\tΔSC µS\tSCRs 1–4 s\tmax amp µS\tcraving\t")
		for _, r := range a.Steps.Events {
			fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%d\t%.3f\t%s\t\n", r.Label, r.Repeat, r.T,
				delta(r.HR), delta(r.SC), r.SCR.Count, r.SCR.MaxAmplitude, craving(a.Ratings, r.Label, r.Repeat))
		}
		tw.Flush()
		fmt.Fprintln(stdout)
	}
	for _, x := range across {
		fmt.Fprintf(stdout, "step %s over %d sessions: SCR amplitude %s µS (slope %+.3f per session)\n",
			x.Step, len(x.Sessions), floats(x.SCRAmp), x.SCRSlope)
	}
	fmt.Fprintln(stdout, "(--json prints every cue's and step's measures, the ratings and habituation)")
	return nil
}

func delta(c *offline.Change) string {
	if c == nil {
		return "—"
	}
	return fmt.Sprintf("%+.2f", c.Delta)
}

func craving(rs []StepRatings, step string, repeat int) string {
	for _, r := range rs {
		if r.Step == step && r.Repeats == repeat && r.Scale == "craving" && len(r.Values) > 0 {
			return fmt.Sprintf("%.0f", r.Values[len(r.Values)-1])
		}
	}
	return "—"
}

func floats(v []float64) string {
	var b strings.Builder
	for i, x := range v {
		if i > 0 {
			b.WriteString(" → ")
		}
		fmt.Fprintf(&b, "%.3f", x)
	}
	return b.String()
}

// analyzeSession lays a recording's samples out at the device's nominal
// rate (arrival jitter does not matter at the windows used: seconds) and
// analyses them against the session's own events.
func analyzeSession(s *record.Session, cfg offline.Config) (SessionAnalysis, error) {
	a := SessionAnalysis{Dir: s.Dir, Title: s.Meta.Title, Start: s.Meta.Start.Format("2006-01-02 15:04")}
	st, ok := physiologicalStream(s.Streams)
	if !ok {
		return a, fmt.Errorf("no ECG, PPG or skin-conductance channel was recorded")
	}
	a.Device = st.Device
	samples := s.Samples[st.Device]
	if len(samples) == 0 {
		return a, fmt.Errorf("device %s recorded no samples", st.Device)
	}
	in := offline.Input{Rate: st.Rate}
	for i, c := range st.Channels {
		col := make([]float64, len(samples))
		for k := range samples {
			col[k] = samples[k].Values[i]
		}
		switch strings.ToUpper(c.Type) {
		case "ECG":
			in.ECG, in.ECGName = col, c.Label
		case "PPG":
			in.PPG, in.PPGName = col, c.Label
		case "EDA":
			in.EDA, in.EDAName = col, c.Label
		}
	}
	t0 := samples[0].T
	index := func(t float64) int64 { return int64(math.Round((t - t0.Seconds()) * st.Rate)) }

	var cueEvents, stepEvents []offline.Event
	repeats := map[string]int{}
	var cur *StepRatings
	for _, e := range s.Events {
		switch e.Kind {
		case bus.CueOnset:
			if e.Data["channel"] == "visual" {
				cueEvents = append(cueEvents, offline.Event{Index: index(e.T.Seconds()), Label: fmt.Sprint(e.Data["cue"])})
			}
		case bus.StepStart:
			id := fmt.Sprint(e.Data["id"])
			repeats[id]++
			stepEvents = append(stepEvents, offline.Event{Index: index(e.T.Seconds()), Label: id})
			a.Ratings = append(a.Ratings, StepRatings{Step: id, Onset: e.T.Seconds(), Repeats: repeats[id]})
			cur = &a.Ratings[len(a.Ratings)-1]
		case bus.Rating:
			if v, ok := e.Data["value"].(float64); ok && cur != nil {
				cur.Scale = fmt.Sprint(e.Data["scale"])
				cur.Values = append(cur.Values, v)
			}
		}
	}
	var err error
	in.Events = cueEvents
	if a.Cues, err = offline.Analyze(in, cfg); err != nil {
		return a, err
	}
	in.Events = stepEvents
	a.Steps, err = offline.Analyze(in, cfg)
	return a, err
}

// physiologicalStream picks the first recorded sensor (not derived) with a
// channel the analysis understands.
func physiologicalStream(streams []sensors.Stream) (sensors.Stream, bool) {
	for _, st := range streams {
		if st.Kind == "derived" || !(st.Rate > 0) {
			continue
		}
		for _, c := range st.Channels {
			switch strings.ToUpper(c.Type) {
			case "ECG", "PPG", "EDA":
				return st, true
			}
		}
	}
	return sensors.Stream{}, false
}

// acrossSessions compares the first presentation of each step over the
// sessions it appears in (two at least).
func acrossSessions(all []SessionAnalysis) []AcrossSessions {
	if len(all) < 2 {
		return nil
	}
	by := map[string]*AcrossSessions{}
	var order []string
	for _, a := range all {
		for _, r := range a.Steps.Events {
			if r.Repeat != 1 {
				continue
			}
			x := by[r.Label]
			if x == nil {
				x = &AcrossSessions{Step: r.Label}
				by[r.Label] = x
				order = append(order, r.Label)
			}
			x.Sessions = append(x.Sessions, a.Dir)
			x.SCRAmp = append(x.SCRAmp, r.SCR.MaxAmplitude)
			x.SCDelta = append(x.SCDelta, change(r.SC))
			x.HRDelta = append(x.HRDelta, change(r.HR))
			var c *float64
			for _, sr := range a.Ratings {
				if sr.Step == r.Label && sr.Repeats == 1 && sr.Scale == "craving" && len(sr.Values) > 0 {
					v := sr.Values[len(sr.Values)-1]
					c = &v
				}
			}
			x.Craving = append(x.Craving, c)
		}
	}
	var out []AcrossSessions
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

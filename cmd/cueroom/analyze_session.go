package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/cueroom/cueroom/engine/bus"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/engine/report"
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
	Cues    *offline.Report `json:"cues"`  // events: cue onsets (first frame, or first sample of a sound), labelled by cue id
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
type AcrossSessions = report.Across

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

// errNoSignal: the session recorded nothing the offline analysis reads.
var errNoSignal = errors.New("no ECG, PPG or skin-conductance channel was recorded")

// analyzeSession analyses a recording against the session's own events.
func analyzeSession(s *record.Session, cfg offline.Config) (SessionAnalysis, error) {
	a := SessionAnalysis{Dir: s.Dir, Title: s.Meta.Title, Start: s.Meta.Start.Format("2006-01-02 15:04")}
	sig, err := layoutSignals(s)
	if err != nil {
		return a, err
	}
	steps, cues := presentations(s.Events, sessionEnd(s))
	return a, analyzeSignals(&a, s, sig, steps, cues, cfg)
}

// analyzeSignals fills a from signals already laid out.
func analyzeSignals(a *SessionAnalysis, s *record.Session, sig *signals, steps, cues []shown, cfg offline.Config) error {
	a.Device = sig.devices()
	events := func(ps []shown) []offline.Event {
		out := make([]offline.Event, 0, len(ps))
		for _, p := range ps {
			out = append(out, offline.Event{Index: sig.index(p.on), Duration: int64(math.Round((p.off - p.on) * sig.in.Rate)), Label: p.id})
		}
		return out
	}
	a.Ratings = stepRatings(s.Events)
	var err error
	in := sig.in
	in.Events = events(cues)
	if a.Cues, err = offline.Analyze(in, cfg); err != nil {
		return err
	}
	in.Events = events(steps)
	a.Steps, err = offline.Analyze(in, cfg)
	return err
}

// stepRatings collects the answered ratings of each step presentation, one
// entry per scale.
func stepRatings(events []bus.Event) []StepRatings {
	var out []StepRatings
	repeats := map[string]int{}
	cur := -1 // first entry of the current step presentation
	for _, e := range events {
		switch e.Kind {
		case bus.StepStart:
			id := fmt.Sprint(e.Data["id"])
			repeats[id]++
			out = append(out, StepRatings{Step: id, Onset: e.T.Seconds(), Repeats: repeats[id]})
			cur = len(out) - 1
		case bus.Rating:
			v, ok := e.Data["value"].(float64)
			if !ok || cur < 0 {
				continue
			}
			scale := fmt.Sprint(e.Data["scale"])
			k := -1
			for i := cur; i < len(out); i++ {
				if out[i].Scale == scale || out[i].Scale == "" {
					k = i
					break
				}
			}
			if k < 0 {
				// Another scale in the same step: an entry of its own.
				out = append(out, StepRatings{Step: out[cur].Step, Onset: out[cur].Onset, Repeats: out[cur].Repeats})
				k = len(out) - 1
			}
			out[k].Scale = scale
			out[k].Values = append(out[k].Values, v)
		}
	}
	return out
}

// shown is one step presentation, or one cue's onset within one.
type shown struct {
	id        string         // step or cue id
	step      int            // index of the step presentation (a cue's own step); -1 before any
	modality  string         // cues
	start     map[string]any // steps: the step_start event's data (name, intensity, neutral)
	on, off   float64        // session seconds
	endReason string         // steps: why the step ended; "" when not recorded
}

// presentations lists the step presentations and cue onsets of a session.
// A cue's onset is its first onset event in a step presentation, on any
// channel: the first frame for pictures and text, the first sample played
// for sounds. A step that never ended ends at the next one or at end; a cue
// with no offset, at its step's end.
func presentations(events []bus.Event, end float64) (steps, cues []shown) {
	seen := map[string]bool{}
	cur := -1
	for _, e := range events {
		t := e.T.Seconds()
		switch e.Kind {
		case bus.StepStart:
			if cur >= 0 && math.IsNaN(steps[cur].off) {
				steps[cur].off = t
			}
			steps = append(steps, shown{id: fmt.Sprint(e.Data["id"]), step: len(steps), start: e.Data, on: t, off: math.NaN()})
			cur = len(steps) - 1
		case bus.StepEnd:
			if cur >= 0 && math.IsNaN(steps[cur].off) {
				steps[cur].off = t
				if r, ok := e.Data["reason"].(string); ok {
					steps[cur].endReason = r
				}
			}
		case bus.CueOnset:
			id := fmt.Sprint(e.Data["cue"])
			key := id + "\x00" + strconv.Itoa(cur)
			if seen[key] {
				continue
			}
			seen[key] = true
			m, _ := e.Data["modality"].(string)
			cues = append(cues, shown{id: id, step: cur, modality: m, on: t, off: math.NaN()})
		case bus.CueOffset:
			// Offsets of one cue come per channel: the last one ends it.
			id := fmt.Sprint(e.Data["cue"])
			for i := len(cues) - 1; i >= 0; i-- {
				if cues[i].id == id {
					if math.IsNaN(cues[i].off) || t > cues[i].off {
						cues[i].off = t
					}
					break
				}
			}
		}
	}
	for i := range steps {
		if math.IsNaN(steps[i].off) {
			steps[i].off = max(end, steps[i].on)
		}
	}
	for i := range cues {
		if math.IsNaN(cues[i].off) {
			cues[i].off = end
			if k := cues[i].step; k >= 0 {
				cues[i].off = steps[k].off
			}
			cues[i].off = max(cues[i].off, cues[i].on)
		}
	}
	return steps, cues
}

// sessionEnd is the session clock at the end: the session_end event, or
// the last thing recorded.
func sessionEnd(s *record.Session) float64 {
	end := 0.0
	for _, e := range s.Events {
		if e.Kind == bus.SessionEnd {
			return e.T.Seconds()
		}
		end = max(end, e.T.Seconds())
	}
	for _, smp := range s.Samples {
		if n := len(smp); n > 0 {
			end = max(end, smp[n-1].T.Seconds())
		}
	}
	return end
}

// signals are a sensor's channels laid out for the offline analysis.
type signals struct {
	stream sensors.Stream  // the device the samples are laid out at (beats come from it when it has them)
	eda    *sensors.Stream // where skin conductance came from when another device measured it
	in     offline.Input
	t0     float64 // session time of sample 0, s
	gaps   int     // samples missing (NaN) where the sensor's data was lost
}

// index is the sample at session time t; time is the session time of a
// (fractional) sample index, or of seconds from sample 0.
func (g *signals) index(t float64) int64          { return int64(math.Round((t - g.t0) * g.in.Rate)) }
func (g *signals) time(fromFirst float64) float64 { return g.t0 + fromFirst }

// layoutSignals lays a recording's samples out at the device's nominal
// rate: arrival times come in bursts, and the jitter does not matter at
// the windows used (seconds). Where the sensor was lost (a gap event, or
// samples more than five seconds behind the clock: a device slower than it
// says) the missing span is NaN, so what follows stays on the session clock.
func layoutSignals(s *record.Session) (*signals, error) {
	beat, eda := physiologicalStreams(s.Streams)
	st := beat
	if st == nil {
		st = eda
	}
	if st == nil {
		return nil, errNoSignal
	}
	g, err := layoutStream(s, *st)
	if err != nil {
		return nil, err
	}
	// An oximeter for the heart and an Arduino for the skin: the skin
	// conductance is brought onto the heart device's samples.
	if g.in.EDA == nil && eda != nil && eda.Device != st.Device {
		if h, err := layoutStream(s, *eda); err == nil && h.in.EDA != nil {
			g.in.EDA, g.in.EDAName, g.eda = resampleOnto(h, g), h.in.EDAName, eda
		}
	}
	return g, nil
}

// devices names the device(s) the analysis used.
func (g *signals) devices() string {
	if g.eda != nil {
		return g.stream.Device + " + " + g.eda.Device
	}
	return g.stream.Device
}

// edaDevice is the device skin conductance came from.
func (g *signals) edaDevice() string {
	if g.eda != nil {
		return g.eda.Device
	}
	return g.stream.Device
}

// resampleOnto interpolates h's skin conductance linearly at g's sample
// times (NaN outside h's recording and across its gaps).
func resampleOnto(h, g *signals) []float64 {
	n := max(len(g.in.ECG), len(g.in.PPG), len(g.in.EDA))
	out := make([]float64, n)
	src := h.in.EDA
	for i := range out {
		u := (g.t0 + float64(i)/g.in.Rate - h.t0) * h.in.Rate
		k := int(math.Floor(u))
		switch {
		case k < 0 || k >= len(src):
			out[i] = math.NaN()
		case k == len(src)-1:
			out[i] = src[k]
		default:
			f := u - float64(k)
			out[i] = src[k] + (src[k+1]-src[k])*f // NaN in, NaN out
		}
	}
	return out
}

// layoutStream lays out one device's samples.
func layoutStream(s *record.Session, st sensors.Stream) (*signals, error) {
	samples := s.Samples[st.Device]
	if len(samples) == 0 {
		return nil, fmt.Errorf("device %s recorded no samples", st.Device)
	}
	g := &signals{stream: st, in: offline.Input{Rate: st.Rate}, t0: samples[0].T.Seconds()}
	var gapEnds []float64
	for _, e := range s.Events {
		if e.Kind == bus.Gap && fmt.Sprint(e.Data["device"]) == st.Device {
			if v, ok := e.Data["gap_end"].(float64); ok {
				gapEnds = append(gapEnds, v)
			}
		}
	}
	sort.Float64s(gapEnds)
	type col struct {
		ch int
		x  *[]float64
	}
	var cols []col
	for i, c := range st.Channels {
		switch strings.ToUpper(c.Type) {
		case "ECG":
			cols, g.in.ECGName = append(cols, col{i, &g.in.ECG}), c.Label
		case "PPG":
			cols, g.in.PPGName = append(cols, col{i, &g.in.PPG}), c.Label
		case "EDA":
			cols, g.in.EDAName = append(cols, col{i, &g.in.EDA}), c.Label
		}
	}
	for _, c := range cols {
		*c.x = make([]float64, 0, len(samples))
	}
	rate := st.Rate
	// A time hours away is corrupt, not a gap: never fill that much.
	maxFill := int(6 * 3600 * rate)
	pos, next := 0, 0
	for _, smp := range samples {
		t := smp.T.Seconds()
		want := int(math.Round((t - g.t0) * rate))
		resync := want-pos > int(5*rate)
		for next < len(gapEnds) && t >= gapEnds[next]-0.01 {
			resync, next = true, next+1
		}
		if resync && want > pos && want-pos <= maxFill {
			for _, c := range cols {
				for k := pos; k < want; k++ {
					*c.x = append(*c.x, math.NaN())
				}
			}
			g.gaps += want - pos
			pos = want
		}
		for _, c := range cols {
			v := math.NaN()
			if c.ch < smp.N {
				v = smp.Values[c.ch]
			}
			*c.x = append(*c.x, v)
		}
		pos++
	}
	return g, nil
}

// physiologicalStreams picks the first recorded sensor (not derived) with a
// heart channel (ECG or PPG) and the first with skin conductance: the same
// device, or two (an oximeter and a GSR rig).
func physiologicalStreams(streams []sensors.Stream) (beat, eda *sensors.Stream) {
	for i := range streams {
		st := &streams[i]
		if st.Kind == "derived" || !(st.Rate > 0) {
			continue
		}
		for _, c := range st.Channels {
			switch strings.ToUpper(c.Type) {
			case "ECG", "PPG":
				if beat == nil {
					beat = st
				}
			case "EDA":
				if eda == nil {
					eda = st
				}
			}
		}
	}
	// One device with both is better than two, whichever came first.
	if beat != nil && eda != nil && beat != eda && hasType(*eda, "ECG", "PPG") {
		beat = eda
	} else if beat != nil && eda != nil && beat != eda && hasType(*beat, "EDA") {
		eda = beat
	}
	return beat, eda
}

func hasType(st sensors.Stream, types ...string) bool {
	for _, c := range st.Channels {
		for _, t := range types {
			if strings.EqualFold(c.Type, t) {
				return true
			}
		}
	}
	return false
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
		if a.Steps == nil {
			continue // nothing was measured
		}
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

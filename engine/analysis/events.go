package analysis

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cueroom/cueroom/engine/report"
	"github.com/cueroom/cueroom/event"
)

// shown is one step presentation, or one cue's onset within one.
type shown struct {
	id        string          // step or cue id
	step      int             // index of the step presentation (a cue's own step); -1 before any
	modality  string          // cues
	start     event.StepStart // steps: what the step_start said (name, intensity, neutral)
	on, off   float64         // session seconds
	endReason string          // steps: why the step ended; "" when not recorded
	headset   bool            // cues: on is the headset's onset (SourceHeadset)
}

// SourceHeadset is the source of the cue onsets a headset reports (the
// frame it showed: engine/xr), beside the window's.
const SourceHeadset = "headset"

// presentations lists the step presentations and cue onsets of a session.
// A cue's onset is its first onset event in a step presentation, on any
// channel: the first frame for pictures and text, the first sample played
// for sounds. When a headset showed the session, the window and the
// headset both report a visual cue's onset: the headset's first onset in
// the presentation wins, wherever it lies in the recording, since that is
// what the patient saw (the window is the therapist's view then). A step
// that never ended ends at the next one or at end; a cue with no offset,
// at its step's end.
func presentations(evs []event.Event, end float64) (steps, cues []shown) {
	seen := map[string]int{} // cue and presentation → index in cues
	cur := -1
	for _, e := range evs {
		t := e.T.Seconds()
		switch d := e.Data.(type) {
		case event.StepStart:
			if cur >= 0 && math.IsNaN(steps[cur].off) {
				steps[cur].off = t
			}
			steps = append(steps, shown{id: d.ID, step: len(steps), start: d, on: t, off: math.NaN()})
			cur = len(steps) - 1
		case event.StepEnd:
			if cur >= 0 && math.IsNaN(steps[cur].off) {
				steps[cur].off = t
				steps[cur].endReason = d.Reason
			}
		case event.CueOnset:
			if d.Modality == event.ModalityRating {
				continue // a rating prompt on screen, not a cue
			}
			key := d.Cue + "\x00" + strconv.Itoa(cur)
			headset := d.Source == SourceHeadset
			if i, ok := seen[key]; ok {
				if headset && !cues[i].headset {
					cues[i].on, cues[i].headset = t, true
				}
				continue
			}
			seen[key] = len(cues)
			cues = append(cues, shown{id: d.Cue, step: cur, modality: d.Modality, on: t, off: math.NaN(), headset: headset})
		case event.CueOffset:
			if d.Modality == event.ModalityRating {
				continue
			}
			// Offsets of one cue come per channel: the last one ends it.
			for i := len(cues) - 1; i >= 0; i-- {
				if cues[i].id == d.Cue {
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
		if cues[i].headset {
			// The headset's frame may come after the window took the cue off.
			cues[i].off = max(cues[i].off, cues[i].on)
		}
	}
	return steps, cues
}

// sessionEnd is the session clock at the end: the session_end event, or
// the last thing recorded.
func sessionEnd(info Info, evs []event.Event) float64 {
	end := 0.0
	for _, e := range evs {
		if _, ok := e.Data.(event.SessionEnd); ok {
			return e.T.Seconds()
		}
		end = max(end, e.T.Seconds())
	}
	for _, x := range info.Samples {
		if x.N > 0 {
			end = max(end, x.Last.Seconds())
		}
	}
	return end
}

// stepRatings collects the answered ratings of each step presentation, one
// entry per scale.
func stepRatings(evs []event.Event) []StepRatings {
	var out []StepRatings
	repeats := map[string]int{}
	cur := -1 // first entry of the current step presentation
	for _, e := range evs {
		switch d := e.Data.(type) {
		case event.StepStart:
			repeats[d.ID]++
			out = append(out, StepRatings{Step: d.ID, Onset: e.T.Seconds(), Repeats: repeats[d.ID]})
			cur = len(out) - 1
		case event.Rating:
			if d.Value == nil || cur < 0 {
				continue
			}
			k := -1
			for i := cur; i < len(out); i++ {
				if out[i].Scale == d.Scale || out[i].Scale == "" {
					k = i
					break
				}
			}
			if k < 0 {
				// Another scale in the same step: an entry of its own.
				out = append(out, StepRatings{Step: out[cur].Step, Onset: out[cur].Onset, Repeats: out[cur].Repeats})
				k = len(out) - 1
			}
			out[k].Scale = d.Scale
			out[k].Values = append(out[k].Values, float64(*d.Value))
		}
	}
	return out
}

// ratingsByStep lists every rating prompt's outcome by step presentation
// (indexed as presentations lists them).
func ratingsByStep(evs []event.Event) map[int][]report.Rating {
	out := map[int][]report.Rating{}
	cur := -1
	for _, e := range evs {
		switch d := e.Data.(type) {
		case event.StepStart:
			cur++
		case event.Rating:
			if cur < 0 {
				continue
			}
			r := report.Rating{Scale: d.Scale, T: e.T.Seconds(), By: d.By}
			if d.Value != nil {
				v := float64(*d.Value)
				r.Value = &v
			}
			out[cur] = append(out[cur], r)
		}
	}
	return out
}

// pauses are the spans the cues were off while the step's clock stood
// still (a pause, or the calm scene after a patient stop or panic) until
// resumed, moved on from, or the end, on the session clock.
func pauses(evs []event.Event, end float64) [][2]float64 {
	var out [][2]float64
	from := math.NaN()
	stop := func(t float64) {
		if !math.IsNaN(from) {
			out = append(out, [2]float64{from, max(t, from)})
			from = math.NaN()
		}
	}
	for _, e := range evs {
		t := e.T.Seconds()
		switch d := e.Data.(type) {
		case event.PatientStop:
			if math.IsNaN(from) {
				from = t
			}
		case event.Command:
			switch d.Cmd {
			case "pause", "panic":
				if math.IsNaN(from) {
					from = t
				}
			case "resume":
				stop(t)
			}
		case event.StepStart, event.SessionEnd:
			stop(t)
		}
	}
	stop(end)
	return out
}

func overlap(spans [][2]float64, from, to float64) float64 {
	total := 0.0
	for _, s := range spans {
		total += max(0, min(s[1], to)-max(s[0], from))
	}
	return total
}

// gapSpan is the span a gap event says the sensor's data is missing. A
// reconnection whose bridge could not say when the data stopped is
// recorded without gap_start and gap_end, which decode as zeros: such a gap
// has no span (a real one from 0 s to 0 s would be empty anyway).
func gapSpan(g event.Gap) (from, to float64, ok bool) {
	if g.Start == 0 && g.End == 0 {
		return 0, 0, false
	}
	return float64(g.Start), float64(g.End), true
}

// sessionLog keeps what a clinician reviewing the session needs to see:
// stops, commands, markers, alerts and sensor gaps.
func sessionLog(evs []event.Event) []report.LogEntry {
	out := []report.LogEntry{}
	for _, e := range evs {
		var text string
		switch d := e.Data.(type) {
		case event.PatientStop:
			text = "the patient stopped the exposure"
			if d.By != "" {
				text += " (" + d.By + ")"
			}
		case event.Command:
			text = d.Cmd
			if d.Cmd == "rate" {
				text = "asked for a " + d.Scale + " rating"
			}
			if d.By != "" {
				text += " — by " + d.By
			}
		case event.Marker:
			text = d.Text
			if d.By != "" {
				text += " — by " + d.By
			}
		case event.Alert:
			text = d.Message
		case event.Gap:
			text = d.Message
			if from, to, ok := gapSpan(d); ok {
				text = fmt.Sprintf("%s: no data from %s to %s (%.1f s)", d.Device, report.Clock(from), report.Clock(to), to-from)
			}
		default:
			continue
		}
		out = append(out, report.LogEntry{T: e.T.Seconds(), Kind: strings.ReplaceAll(string(e.Kind()), "_", " "), Text: text})
	}
	return out
}

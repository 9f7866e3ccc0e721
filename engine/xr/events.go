package xr

import (
	"math"

	"github.com/cueroom/cueroom/event"
)

// SourceHeadset is event.Cue's Source for onsets the headset reported.
const SourceHeadset = "headset"

// Onset is the cue_onset a frame report stands for: the cue's first
// displayed frame on the headset, stamped (by the caller) at m.TSession.
// The cue's kind and file come from the plan, not from the page; ok is
// false for a cue the plan does not have, or one nothing is seen of (a
// sound).
func (p *Plan) Onset(m Msg) (event.CueOnset, bool) {
	if m.Cmd != CmdFrame || m.Refused != "" {
		return event.CueOnset{}, false
	}
	c, ok := p.Cue(m.Cue)
	if !ok || c.Kind == "sound" {
		return event.CueOnset{}, false
	}
	return event.CueOnset{Channel: "visual", Cue: c.ID, File: c.File, Modality: c.Kind, Source: SourceHeadset}, true
}

// Look is the look event of a look message, rounded to a tenth of a degree
// as the window records them.
func (m Msg) Look() event.Look {
	return event.Look{Cue: m.Cue, YawDeg: tenth(m.YawDeg), PitchDeg: tenth(m.PitchDeg), RollDeg: tenth(m.RollDeg)}
}

func tenth(deg float64) float64 { return math.Round(deg*10) / 10 }

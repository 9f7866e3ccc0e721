package xr

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"path"

	"github.com/cueroom/cueroom/scenes"
)

// Plan is what the headset page needs of a protocol to draw any step: each
// step's cues with their media files and SHA-256 (the page refuses a file
// whose digest differs). It holds no title, names or descriptions: the
// headset shows the patient the scene, not what it is called. Served as
// JSON at /xr/plan.
type Plan struct {
	V     int        `json:"v"` // 1
	Steps []PlanStep `json:"steps"`
}

// PlanStep is one step, in the order the session plays them (step_index).
type PlanStep struct {
	ID        string    `json:"id"`
	Neutral   bool      `json:"neutral,omitempty"`
	Duration  float64   `json:"duration_s"`
	Crossfade float64   `json:"crossfade_s,omitempty"`
	Cues      []PlanCue `json:"cues"`
}

// PlanCue is one cue as the page draws or plays it (scenes.Cue).
type PlanCue struct {
	ID        string        `json:"id"`
	Kind      string        `json:"kind"` // scenes.Kind
	File      string        `json:"file,omitempty"`
	SHA256    string        `json:"sha256,omitempty"` // hex, of File
	Size      int64         `json:"size,omitempty"`   // bytes of File
	Text      string        `json:"text,omitempty"`   // text cue; narration's words
	Subtitles string        `json:"subtitles,omitempty"`
	Captions  []PlanCaption `json:"captions,omitempty"`
	BPM       float64       `json:"bpm,omitempty"`     // breathing
	FOV       float64       `json:"fov_deg,omitempty"` // panorama, inline view
	Yaw       float64       `json:"yaw_deg,omitempty"` // panorama: opening direction
	Fit       string        `json:"fit,omitempty"`
	Loop      bool          `json:"loop,omitempty"`
	End       string        `json:"end,omitempty"` // video: loop, hold, blank
	GainDB    float64       `json:"gain_db,omitempty"`
	FadeIn    float64       `json:"fade_in_s,omitempty"`
	FadeOut   float64       `json:"fade_out_s,omitempty"`
}

// PlanCaption is a narration's timed subtitle.
type PlanCaption struct {
	At   float64 `json:"at_s"`
	Text string  `json:"text"`
}

// NewPlan describes p's steps for the headset, reading every media file
// once for its digest (as the session manifest does).
func NewPlan(p *scenes.Protocol) (*Plan, error) {
	out := &Plan{V: 1}
	for _, st := range p.All() {
		ps := PlanStep{ID: st.ID, Neutral: st.Neutral, Duration: st.Duration.Seconds(), Crossfade: st.Crossfade.Seconds(),
			Cues: make([]PlanCue, 0, len(st.Cues))}
		for _, c := range st.Cues {
			pc := PlanCue{ID: c.ID, Kind: string(c.Kind), File: c.Path, Text: c.Text, Subtitles: c.Subtitles,
				BPM: c.BreathsPerMin, FOV: c.FOV, Yaw: c.Yaw, Fit: c.Fit, Loop: c.Loop, End: c.End,
				GainDB: c.GainDB, FadeIn: c.FadeIn.Seconds(), FadeOut: c.FadeOut.Seconds()}
			for _, cap := range c.Captions {
				pc.Captions = append(pc.Captions, PlanCaption{At: cap.At.Seconds(), Text: cap.Text})
			}
			if c.Path != "" {
				sum, err := p.AssetSHA256(c)
				if err != nil {
					return nil, fmt.Errorf("xr: %w", err)
				}
				pc.SHA256 = sum
				if fi, err := fs.Stat(p.FS, c.Path); err == nil {
					pc.Size = fi.Size()
				}
			}
			ps.Cues = append(ps.Cues, pc)
		}
		out.Steps = append(out.Steps, ps)
	}
	return out, out.check()
}

// check refuses a plan the page could not use: a media path that is not a
// clean relative one, or numbers JSON cannot carry.
func (p *Plan) check() error {
	for _, st := range p.Steps {
		for _, c := range st.Cues {
			if c.File != "" && (!fs.ValidPath(c.File) || path.Clean(c.File) != c.File) {
				return fmt.Errorf("xr: cue %s: media path %q is not a clean path inside the protocol's folder", c.ID, c.File)
			}
			for _, v := range []float64{c.BPM, c.FOV, c.Yaw, c.GainDB, c.FadeIn, c.FadeOut} {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return fmt.Errorf("xr: cue %s: a number is not finite", c.ID)
				}
			}
		}
	}
	return nil
}

// Cue finds a cue of the plan by id (a frame report names one).
func (p *Plan) Cue(id string) (PlanCue, bool) {
	for _, st := range p.Steps {
		for _, c := range st.Cues {
			if c.ID == id {
				return c, true
			}
		}
	}
	return PlanCue{}, false
}

// files is the plan's media, path → digest: the only files /xr/media serves.
func (p *Plan) files() map[string]string {
	m := map[string]string{}
	for _, st := range p.Steps {
		for _, c := range st.Cues {
			if c.File != "" {
				m[c.File] = c.SHA256
			}
		}
	}
	return m
}

// MarshalJSON writes the plan, steps as [] rather than null when empty.
func (p Plan) MarshalJSON() ([]byte, error) {
	type plain Plan
	if p.Steps == nil {
		p.Steps = []PlanStep{}
	}
	return json.Marshal(plain(p))
}

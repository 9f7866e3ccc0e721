package engine

import (
	"github.com/cueroom/cueroom/scenes"
)

// ManifestCue describes one cue exactly, so a study's cues can be reported
// and replicated (cue descriptions are what CET studies most often lack).
type ManifestCue struct {
	ID           string  `json:"id"`
	Step         string  `json:"step"`
	StepName     string  `json:"step_name"`
	Intensity    int     `json:"intensity"`
	Neutral      bool    `json:"neutral"`
	Modality     string  `json:"modality"`
	Substance    string  `json:"substance"`
	Duration     float64 `json:"duration_s"` // of the step that shows it
	Personalised bool    `json:"personalised"`
	Description  string  `json:"description,omitempty"`
	File         string  `json:"file,omitempty"`
	SHA256       string  `json:"sha256,omitempty"`
	Text         string  `json:"text,omitempty"`
	Voice        string  `json:"voice,omitempty"` // spoken narration: espeak-ng voice
	Fit          string  `json:"fit,omitempty"`
	Loop         bool    `json:"loop,omitempty"`
	GainDB       float64 `json:"gain_db,omitempty"`
	FadeIn       float64 `json:"fade_in_s,omitempty"`
	FadeOut      float64 `json:"fade_out_s,omitempty"`
}

// Manifest lists every cue of a protocol with its file's SHA-256.
func Manifest(p *scenes.Protocol) ([]ManifestCue, error) {
	var out []ManifestCue
	for _, st := range p.All() {
		for _, c := range st.Cues {
			m := ManifestCue{
				ID: c.ID, Step: st.ID, StepName: st.Name, Intensity: st.Intensity, Neutral: st.Neutral,
				Modality: string(c.Kind), Substance: p.Substance, Duration: st.Duration.Seconds(),
				Personalised: c.Personalised, Description: c.Description, File: c.Path,
				Text: c.Text, Fit: c.Fit, Loop: c.Loop, GainDB: c.GainDB,
				FadeIn: c.FadeIn.Seconds(), FadeOut: c.FadeOut.Seconds(),
			}
			if c.Kind == scenes.KindNarration && c.Text == "" {
				m.Text = c.Subtitles
			}
			if c.Spoken() {
				m.Voice = c.Voice
			}
			if c.Path != "" {
				sum, err := p.AssetSHA256(c)
				if err != nil {
					return nil, err
				}
				m.SHA256 = sum
			}
			out = append(out, m)
		}
	}
	return out, nil
}

package feed

import (
	"encoding/json"
	"math"

	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
)

// Summary is what a session came to, sent to every dashboard as a
// "summary" message when the session ends (and to any that connects
// after): the feed sees every message of the session, so the figures cover
// all of it even for a page that joined late, when its history is thinned.
type Summary struct {
	Start    float64 `json:"start"`      // session time of session_start (0 when not seen)
	End      float64 `json:"end"`        // session time of session_end
	Duration float64 `json:"duration_s"` // the session clock at the end, as the report counts it (a --hold wait included)
	Reason   string  `json:"reason,omitempty"`
	// Steps are the steps presented, in order (a repeat is listed again).
	Steps []SummaryStep `json:"steps"`
	// Peaks of the derived physiology ("hr", "scl", "arousal", "rmssd"):
	// the largest value and when; absent when never measured.
	Peaks   map[string]Peak `json:"peaks"`
	Ratings []SummaryRating `json:"ratings"`
	Stops   []float64       `json:"stops"`  // session times the patient stopped
	Panics  []float64       `json:"panics"` // session times of the therapist's panic
	Alerts  int             `json:"alerts"` // alert events (not counting setup notices)
	Markers int             `json:"markers"`
}

// SummaryStep is one step presentation.
type SummaryStep struct {
	Index     int     `json:"index"`
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Intensity int     `json:"intensity"`
	T         float64 `json:"t"`
}

// Peak is a channel's largest value and its session time.
type Peak struct {
	Value float64 `json:"value"`
	T     float64 `json:"t"`
}

// SummaryRating is one answer (or an unanswered prompt: Value nil).
type SummaryRating struct {
	T     float64 `json:"t"`
	Step  int     `json:"step"`
	Scale string  `json:"scale"`
	Value *int    `json:"value"`
}

// summarizer builds the Summary from the bus; Run's goroutine only.
type summarizer struct {
	sum     Summary
	derived map[string]bool // devices of kind "derived"
}

// peakChannels are the derived channels whose peaks the summary gives.
var peakChannels = map[string]bool{"hr": true, "scl": true, "arousal": true, "rmssd": true}

func newSummarizer() *summarizer {
	return &summarizer{sum: Summary{Steps: []SummaryStep{}, Peaks: map[string]Peak{}, Ratings: []SummaryRating{},
		Stops: []float64{}, Panics: []float64{}}, derived: map[string]bool{}}
}

func (z *summarizer) stream(st sensors.Stream) { z.derived[st.Device] = st.Kind == "derived" }

func (z *summarizer) sample(sm *sensors.Sample, labels []string) {
	if !z.derived[sm.Device] {
		return
	}
	for i := range min(max(sm.N, 0), len(labels), sensors.MaxChannels) {
		v := sm.Values[i]
		if !peakChannels[labels[i]] || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if p, ok := z.sum.Peaks[labels[i]]; !ok || v > p.Value {
			z.sum.Peaks[labels[i]] = Peak{Value: v, T: sm.T.Seconds()}
		}
	}
}

// event takes one event; true when it ended the session (the summary is
// then complete).
func (z *summarizer) event(e *event.Event) bool {
	t := e.T.Seconds()
	switch d := e.Data.(type) {
	case event.SessionStart:
		z.sum.Start = t
	case event.StepStart:
		z.sum.Steps = append(z.sum.Steps, SummaryStep{Index: e.Step, ID: d.ID, Name: d.Name, Intensity: d.Intensity, T: t})
	case event.Rating:
		z.sum.Ratings = append(z.sum.Ratings, SummaryRating{T: t, Step: e.Step, Scale: d.Scale, Value: d.Value})
	case event.PatientStop:
		z.sum.Stops = append(z.sum.Stops, t)
	case event.Command:
		if d.Cmd == CmdPanic {
			z.sum.Panics = append(z.sum.Panics, t)
		}
	case event.Alert:
		if d.Severity() != event.LevelInfo {
			z.sum.Alerts++
		}
	case event.Marker:
		z.sum.Markers++
	case event.SessionEnd:
		z.sum.End, z.sum.Reason = t, d.Reason
		z.sum.Duration = max(0, t)
		return true
	}
	return false
}

// encode is the "summary" message; peaks are rounded for people.
func (z *summarizer) encode() []byte {
	s := z.sum
	s.Peaks = make(map[string]Peak, len(z.sum.Peaks))
	for k, p := range z.sum.Peaks {
		s.Peaks[k] = Peak{Value: math.Round(p.Value*100) / 100, T: math.Round(p.T*1000) / 1000}
	}
	b, err := json.Marshal(struct {
		Type    string  `json:"type"`
		V       int     `json:"v"`
		Summary Summary `json:"summary"`
	}{"summary", Version, s})
	if err != nil {
		return nil // only NaN could fail, and none is kept
	}
	return b
}

// setSummary remembers the session's summary for dashboards that connect
// later and sends it to those connected (nil forgets it: a replay jumped).
func (s *Server) setSummary(msg []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.summary = msg
	if msg != nil {
		s.broadcastLocked(msg, false)
	}
}

package feed

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cueroom/cueroom/sensors"
)

// What a dashboard drives and shows exists once, here, for cueroom run (a
// live session) and cueroom replay (a recorded one): each fills a Commands
// table and a SessionInfo, and gives Config.State; the feed validates,
// serialises and answers the commands, and keeps every dashboard's state
// current.

// Commands is a dispatch table: what applies each command one kind of
// session takes. Build it before New and do not change it after.
type Commands struct {
	apply  map[string]func(Command) error
	refuse error
}

// NewCommands makes an empty table. refuse is the answer to a valid command
// the table has no handler for (a replay refuses "rate"): nil says the
// command is not available in this session.
func NewCommands(refuse error) *Commands {
	return &Commands{apply: map[string]func(Command) error{}, refuse: refuse}
}

// Handle registers what applies cmd (a Cmd constant): fn returns nil when
// the command was applied, or why not, in words for the therapist. It
// panics on a name the protocol does not have and on a second handler for
// the same command: both are mistakes in the program, found at start.
func (cs *Commands) Handle(cmd string, fn func(Command) error) *Commands {
	if !validCmds[cmd] {
		panic(fmt.Sprintf("feed: Commands.Handle(%q): not a command of the protocol", cmd))
	}
	if _, dup := cs.apply[cmd]; dup {
		panic(fmt.Sprintf("feed: Commands.Handle(%q) twice", cmd))
	}
	cs.apply[cmd] = fn
	return cs
}

// Apply runs c's handler: nil when applied, otherwise the refusal.
func (cs *Commands) Apply(c Command) error {
	fn, ok := cs.apply[c.Cmd]
	switch {
	case ok:
		return fn(c)
	case cs.refuse != nil:
		return fmt.Errorf("%s: %w", c.Cmd, cs.refuse)
	}
	return fmt.Errorf("%s is not available in this session", c.Cmd)
}

// The arguments of a validated command (parseClientMessage checked them),
// so handlers read no maps.

// Text is a marker's note.
func (c Command) Text() string { s, _ := c.Args["text"].(string); return s }

// Scale is the scale a rate command asks for: "craving", "suds", or "" when
// the dashboard did not say (the session's default).
func (c Command) Scale() string { s, _ := c.Args["scale"].(string); return s }

// Seek says where a seek command jumps: to step index step when byStep,
// otherwise to session time t.
func (c Command) Seek() (t time.Duration, step int, byStep bool) {
	if st, ok := c.Args["step"].(float64); ok {
		return 0, int(st), true
	}
	sec, _ := c.Args["t"].(float64)
	return time.Duration(sec * float64(time.Second)), 0, false
}

// Speed is a speed command's factor, times real time (0.25..16).
func (c Command) Speed() float64 { x, _ := c.Args["x"].(float64); return x }

// SessionInfo is the hello's "session": what a dashboard shows before the
// first state (docs/feed.md, "hello"). cueroom run and cueroom replay both
// return one from Config.Hello.
type SessionInfo struct {
	Title     string           `json:"title"`
	Substance string           `json:"substance"`
	Steps     []Step           `json:"steps"` // the hierarchy, in the order played
	Streams   []sensors.Stream `json:"streams"`
	// State is the state when the dashboard connected (what Config.State
	// returns); nil before the session exists.
	State any `json:"state,omitempty"`
	// Replay is set for a replay (cueroom replay), nil for a live session.
	Replay *ReplayInfo `json:"-"`
}

// Step is one step of the hierarchy as the dashboard lists it.
type Step struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Intensity int     `json:"intensity"` // 0..10
	Duration  float64 `json:"duration"`  // seconds
	Neutral   bool    `json:"neutral"`
	// Cues say what the step presents, so the dashboard names a cue by
	// its description rather than its id (cue events carry the id).
	Cues []StepCue `json:"cues,omitempty"`
}

// StepCue is one cue of a step as the dashboard names it.
type StepCue struct {
	ID          string `json:"id"`                    // as in cue_onset's data.cue
	Kind        string `json:"kind"`                  // image, sound, video, text, ...
	File        string `json:"file,omitempty"`        // media path in the protocol's folder
	Text        string `json:"text,omitempty"`        // a text or say cue's words (clipped)
	Description string `json:"description,omitempty"` // the protocol's description
}

// ReplayInfo is what a replay's hello adds: "replay":true and these fields,
// beside the others (the page shows its transport bar).
type ReplayInfo struct {
	Dir      string        // the session folder
	Start    time.Time     // when the session was recorded
	Duration time.Duration // of the whole session
	Window   bool          // false: no patient window (--no-window)
}

// MarshalJSON writes the fields of SessionInfo, and a replay's flat beside
// them: "replay":true, "dir", "start", "duration_s" (seconds), "window".
func (s SessionInfo) MarshalJSON() ([]byte, error) {
	type plain SessionInfo // without this method
	out := struct {
		plain
		Replay   bool       `json:"replay,omitempty"`
		Dir      string     `json:"dir,omitempty"`
		Start    *time.Time `json:"start,omitempty"`
		Duration *float64   `json:"duration_s,omitempty"`
		Window   *bool      `json:"window,omitempty"`
	}{plain: plain(s)}
	if r := s.Replay; r != nil {
		d := r.Duration.Seconds()
		out.Replay, out.Dir, out.Start, out.Duration, out.Window = true, r.Dir, &r.Start, &d, &r.Window
	}
	return json.Marshal(out)
}

// followState sends Config.State's value to every dashboard when it
// changes, from Start until Close.
func (s *Server) followState() {
	defer s.wg.Done()
	t := time.NewTicker(s.lim.stateEvery)
	defer t.Stop()
	for {
		if st := s.cfg.State(); st != nil {
			s.SetState(st)
		}
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
	}
}

// Package pipeline wires a session's parts in one place and shuts them down
// in one order. Data flows one way:
//
//	producers (sensor bridges, or a replay) ─┐
//	session / replay events ─────────────────┼─▶ bus ─▶ recording (lossless)
//	physiology (derived samples, SCRs) ──────┘       ├▶ physiology (lossless)
//	                                                 ├▶ feed: dashboards (lossy)
//	                                                 └▶ followers (e.g. simulators)
//	driver (live session or replay) ─▶ window ─▶ presenter ─▶ bus
//
// `cueroom run` and `cueroom replay` both build a Pipeline; they differ only
// in the Driver (a live engine.Session, or a replay.Player that publishes a
// recording's samples and events) and in which consumers they ask for.
// The dashboard's hello and state and the command dispatch are wired here
// once (feed.SessionInfo, Driver.State, Driver.Commands).
package pipeline

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/feed"
	"github.com/cueroom/cueroom/engine/present"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/engine/window"
	"github.com/cueroom/cueroom/engine/xr"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/scenes"
	"github.com/cueroom/cueroom/sensors"
)

// Driver is what a pipeline plays: the live session or a replay. It is what
// the window shows and where the patient's input goes (window.Source), and
// what the therapist's commands act on.
type Driver interface {
	window.Source
	// Run plays until the driver ends or ctx is cancelled.
	Run(ctx context.Context)
	// State is the dashboard's picture of the session (a JSON object).
	State() any
	// Commands are the dashboard commands the driver takes.
	Commands() *feed.Commands
	// Replay describes a replay for the dashboard's hello; nil when live.
	Replay() *feed.ReplayInfo
}

// Options say which parts a pipeline has.
type Options struct {
	Title, Substance string
	Steps            []scenes.Step // the played order, for the dashboard's step list
	// Feed configures the dashboard server; its hello, state and commands
	// are the pipeline's and must be unset.
	Feed feed.Config
	// LosslessFeed queues every message for the dashboards (a replay: a
	// seek sends a minute of context at once); live, a slow dashboard
	// drops samples rather than hold up the session.
	LosslessFeed bool
	// Record subscribes the recording before any producer starts; the
	// Writer itself is given to Run (it is made once the dashboard is up).
	Record bool
	// Physiology derives heart rate, skin conductance, SCRs and arousal
	// from the sensors' samples (live); a replay publishes the recorded ones.
	Physiology bool
	// Present publishes the presenter's cue onsets, offsets and looks (live);
	// a replay re-presents what was recorded and publishes none.
	Present bool
	// Headset serves the headset page (engine/xr) for this protocol at
	// /xr with a display token (Feed.DisplayURL), when the driver is a live
	// session: its display's onsets, looks, stop and answers act on the
	// session (Pipeline.Headset). Nil: no headset.
	Headset *scenes.Protocol
	Logf    func(format string, args ...any)
}

// Pipeline is one session's wiring. Make it with New, give it a Driver with
// Run; Close releases what New started if Run is never called.
type Pipeline struct {
	Bus   *bus.Bus
	Clock *engine.Clock
	Feed  *feed.Server
	// Physiology is the live physiology (nil unless Options.Physiology).
	Physiology *engine.Physiology
	// Streams lists the devices' channels for the dashboard's hello, called
	// at each connection (sensors may announce themselves late). Set it
	// before Listen.
	Streams func() []sensors.Stream
	// Presenter makes the cue onsets, offsets and looks from what the
	// window drew and the speakers played (see Options.Present).
	Presenter *present.Presenter
	// Headset is the live session as the headset's display acts on it;
	// nil without Options.Headset or for a replay. Made by Listen.
	Headset *Headset

	opt             Options
	recSub, physSub *bus.Sub
	feedSub         *bus.Sub
	followers       []follower
	mu              sync.Mutex
	driver          Driver
	cmdMu           sync.Mutex
	closeOnce       sync.Once
}

type follower struct {
	sub *bus.Sub
	fn  func(*bus.Sub)
}

// New makes the bus and subscribes the consumers asked for, before
// anything publishes. Producers (sensors, the session) are made on p.Bus;
// Listen then opens the dashboard for the driver.
func New(clock *engine.Clock, o Options) (*Pipeline, error) {
	if o.Feed.Hello != nil || o.Feed.OnCommand != nil || o.Feed.Commands != nil || o.Feed.State != nil {
		return nil, fmt.Errorf("pipeline: the dashboard's hello, state and commands are the pipeline's")
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	p := &Pipeline{Bus: bus.New(), Clock: clock, opt: o}
	var sink func(event.Event)
	if o.Present {
		sink = func(e event.Event) { p.Bus.Publish(bus.Msg{Event: &e}) }
	}
	p.Presenter = present.New(sink, clock.Wall)
	// The recording subscribes first and loses nothing.
	if o.Record {
		p.recSub = p.Bus.Subscribe(4096, true)
	}
	if o.LosslessFeed {
		p.feedSub = p.Bus.Subscribe(1<<16, true)
	} else {
		p.feedSub = p.Bus.Subscribe(8192, false)
	}
	if o.Physiology {
		// Live physiology sees every sample and step.
		p.physSub = p.Bus.Subscribe(4096, true)
		p.Physiology = engine.NewPhysiology(p.Bus, clock)
	}
	return p, nil
}

// Listen makes the dashboard server for d (its hello, state and commands)
// and opens its port. Call it before making a session folder, so a bad
// address or a busy port fails before anything is written.
func (p *Pipeline) Listen(d Driver) error {
	fc := p.opt.Feed
	fc.State = d.State
	fc.Commands = d.Commands()
	fc.Hello = func() any {
		h := feed.SessionInfo{Title: p.opt.Title, Substance: p.opt.Substance, Steps: StepList(p.opt.Steps),
			State: d.State(), Replay: d.Replay()}
		if p.Streams != nil {
			h.Streams = p.Streams()
		}
		return h
	}
	if proto := p.opt.Headset; proto != nil {
		if live, ok := d.(Live); ok {
			plan, err := xr.NewPlan(proto)
			if err != nil {
				return fmt.Errorf("headset: %w", err)
			}
			p.Headset = NewHeadset(live.Session, p.Bus, p.Clock)
			fc.Headset = &feed.Headset{Plan: plan, Media: proto.FS, Session: p.Headset}
		}
	}
	srv, err := feed.New(fc)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	p.Feed = srv
	return nil
}

// Follow runs fn on its own lossy subscription while the pipeline runs
// (a simulator that answers cue onsets). Call it before Run.
func (p *Pipeline) Follow(size int, fn func(*bus.Sub)) {
	p.followers = append(p.followers, follower{p.Bus.Subscribe(size, false), fn})
}

// Publish puts an event on the bus stamped now on the session clock.
func (p *Pipeline) Publish(step int, d event.Data) {
	t := p.Clock.Now()
	p.Bus.Publish(bus.Msg{Event: &event.Event{T: t, Wall: p.Clock.Wall(t), Step: step, Data: d}})
}

// Alert tells the therapist something outside the session went wrong: a
// warning of its own, with no incident. Notify says more.
func (p *Pipeline) Alert(source, message string) {
	p.Publish(-1, event.Alert{Source: source, Message: message})
}

// Notify publishes an alert made by its producer, with its level and
// incident (see event.Alert), stamped now.
func (p *Pipeline) Notify(a event.Alert) {
	p.Publish(-1, a)
}

// IncidentRecording is the incident of the recording's trouble: it fails,
// then resumes.
const IncidentRecording = "recording"

// StepList is the protocol's steps as the dashboard's hello lists them.
func StepList(steps []scenes.Step) []feed.Step {
	out := make([]feed.Step, 0, len(steps))
	for _, st := range steps {
		fs := feed.Step{ID: st.ID, Name: st.Name, Intensity: st.Intensity,
			Duration: st.Duration.Seconds(), Neutral: st.Neutral}
		// The cues described, so the dashboard names what is on screen
		// ("picture: a bottle of lager") rather than an id.
		for _, c := range st.Cues {
			fs.Cues = append(fs.Cues, feed.StepCue{ID: c.ID, Kind: string(c.Kind), File: c.Path,
				Text: clip(c.Text, 80), Description: c.Description})
		}
		out = append(out, fs)
	}
	return out
}

// clip shortens s to at most n runes, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// Run says what the pipeline plays and how it ends.
type Run struct {
	Driver Driver
	// Recorder records what the bus carries (with Options.Record).
	Recorder *record.Writer
	// Window shows the driver; nil: no window (the dashboard only), and
	// the pipeline runs until the driver ends or ctx is cancelled.
	Window *Window
	// StopProducers stops what publishes besides the driver (sensor
	// bridges and simulators); called once the driver has ended.
	StopProducers func()
	// Drain lets the last sounds fade out, once producers have stopped.
	Drain func()
}

// Window is the patient window a run shows.
type Window struct {
	Media   *engine.Media
	Clock   window.Clock
	Options window.Options
	// ViewEvery is how often the dashboard gets the patient's view; 0: never.
	ViewEvery time.Duration
}

// Result says how a run ended.
type Result struct {
	WindowErr error // the window failed (the session was ended for it)
	RecordErr error // the recording failed or did not close cleanly
}

// Run plays r.Driver with everything New wired and returns when the
// driver has ended and every part has stopped, in data-flow order:
// producers, the bus, the recording, then the dashboards.
func (p *Pipeline) Run(ctx context.Context, r Run) Result {
	var res Result
	if p.Feed == nil {
		if err := p.Listen(r.Driver); err != nil {
			res.WindowErr = err
			return res
		}
	}

	recDone := make(chan error, 1)
	if p.recSub != nil && r.Recorder != nil {
		go func() { recDone <- r.Recorder.Run(p.recSub) }()
	} else {
		if p.recSub != nil {
			go drain(p.recSub)
		}
		recDone <- nil
	}

	var wg sync.WaitGroup
	feedCtx, stopFeed := context.WithCancel(context.Background())
	start := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	start(func() { p.Feed.Run(feedCtx, p.feedSub) })
	if p.Physiology != nil {
		start(func() { p.Physiology.Run(p.physSub) })
	}
	for _, f := range p.followers {
		start(func() { f.fn(f.sub) })
	}

	driverDone := make(chan struct{})
	go func() { r.Driver.Run(ctx); close(driverDone) }()
	// A signal ends the driver, and so the window.
	stopWatch := context.AfterFunc(ctx, func() { r.Driver.End("interrupted") })
	defer stopWatch()

	if r.Window != nil {
		res.WindowErr = p.runWindow(r)
	} else {
		select {
		case <-ctx.Done():
		case <-r.Driver.Done():
		}
	}
	r.Driver.End("interrupted")
	<-driverDone

	// Producers, then the bus: every consumer then sees the end of its
	// subscription after the last message.
	if r.StopProducers != nil {
		r.StopProducers()
	}
	if r.Drain != nil {
		r.Drain()
	}
	p.Bus.Close()
	res.RecordErr = <-recDone
	if r.Recorder != nil {
		if err := r.Recorder.Close(); err != nil && res.RecordErr == nil {
			res.RecordErr = err
		}
	}
	stopFeed()
	wg.Wait()
	p.Close()
	return res
}

// runWindow shows the driver until the window closes; it ends the driver
// when the window fails or is closed.
func (p *Pipeline) runWindow(r Run) error {
	w := r.Window
	opt := w.Options
	opt.Present = p.Presenter
	if w.ViewEvery > 0 {
		// The therapist sees what the patient sees.
		view := window.NewViewSampler(w.ViewEvery, 320, 180, p.Feed.SetView)
		defer view.Close()
		opt.OnFrame = view.OnFrame
	}
	g, err := window.New(r.Driver, w.Media, w.Clock, opt)
	if err == nil {
		err = g.Run()
	}
	if err != nil {
		r.Driver.End("window failed")
		return err
	}
	return nil
}

// RecordingTrouble alerts the therapist when the recording fails (a full
// disk) and when it resumes: the session goes on on screen, what was
// written stays intact, and session.json lists the outage. Give it to
// record.Create as record.OnTrouble(p.RecordingTrouble).
func (p *Pipeline) RecordingTrouble(t record.Trouble) {
	p.opt.Logf("recording %s: %v", t.Kind, t.Err)
	p.Notify(RecordingAlert(t))
}

// RecordingAlert is the alarm for the recording's trouble: one incident
// from the failure until recording resumes (Resolved).
func RecordingAlert(t record.Trouble) event.Alert {
	a := event.Alert{Source: "recording", Level: event.LevelAlarm, Incident: IncidentRecording,
		Message: t.Message(), Resolved: t.Kind == record.TroubleResumed}
	if t.Err != nil {
		a.Detail = t.Err.Error()
	}
	return a
}

// Close stops the dashboard server and the bus; Run calls it. Safe to call
// more than once.
func (p *Pipeline) Close() {
	p.closeOnce.Do(func() {
		p.Bus.Close()
		if p.Feed != nil {
			p.Feed.Close()
		}
	})
}

func drain(s *bus.Sub) {
	for range s.C {
	}
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/audio"
	"github.com/cueroom/cueroom/engine/feed"
	"github.com/cueroom/cueroom/engine/lslout"
	"github.com/cueroom/cueroom/engine/pipeline"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/engine/replay"
	"github.com/cueroom/cueroom/engine/window"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/lsl"
	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/rig"
	"github.com/cueroom/cueroom/sensors/spec"
	"github.com/cueroom/cueroom/sensors/synth"
)

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type runOptions struct {
	listen, sessions, token string
	observerToken           string
	tlsCert, tlsKey         string
	sensors                 multiFlag
	fullscreen, noSound     bool
	stereo, hold, syncPatch bool
	lsl                     bool
	room                    stationFlags
	width, height           int
	protocol                string
}

func cmdRun(args []string) error {
	var o runOptions
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.listen, "listen", feed.DefaultListen, "dashboard address host:port (loopback unless you say otherwise)")
	fs.StringVar(&o.sessions, "sessions", "sessions", "folder that session recordings go under")
	fs.StringVar(&o.token, "token", "", "dashboard control token (default: a new random one each run)")
	fs.StringVar(&o.observerToken, "observer-token", "", "dashboard observe-only token (default: a new random one each run)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate (PEM) for a dashboard beyond loopback (default: a self-signed one)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "TLS private key (PEM) for --tls-cert")
	fs.Var(&o.sensors, "sensor", "sensor KIND:PORT or sim:KIND, repeatable (default sim:bitalino)")
	fs.BoolVar(&o.fullscreen, "fullscreen", false, "patient window fullscreen")
	fs.BoolVar(&o.syncPatch, "sync-patch", false, "draw a square in the bottom-left corner that turns white at each visual cue onset, for a photodiode (then: cueroom timing SESSION)")
	fs.BoolVar(&o.stereo, "stereo", false, "side-by-side stereo, for a headset used as a display (combine with --fullscreen)")
	fs.BoolVar(&o.hold, "hold", false, "wait for Start on the dashboard before the baseline begins")
	o.room.add(fs)
	fs.BoolVar(&o.lsl, "lsl", false, "offer the session on Lab Streaming Layer: one stream per sensor, the derived physiology, and every event as a marker (for LabRecorder)")
	fs.BoolVar(&o.noSound, "no-sound", false, "play sound to a silent null sink")
	fs.IntVar(&o.width, "width", 1280, "window width")
	fs.IntVar(&o.height, "height", 720, "window height")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fs.SetOutput(os.Stdout)
			fmt.Println("Usage: cueroom run [flags] [PROTOCOL.yaml]")
			fs.PrintDefaults()
			return nil
		}
		return usagef("run: %v (see 'cueroom run -h')", err)
	}
	if fs.NArg() > 1 {
		return usagef("run: give at most one protocol file, got %d (flags go before the file)", fs.NArg())
	}
	if err := checkWindowSize("run", o.width, o.height); err != nil {
		return err
	}
	if err := o.room.check(); err != nil {
		return err
	}
	o.protocol = fs.Arg(0)
	if len(o.sensors) == 0 {
		o.sensors = multiFlag{"sim:bitalino"}
	}
	for _, s := range o.sensors {
		if sp, err := spec.Parse(s); err == nil && sp.WantsLight() && !o.syncPatch {
			logf("--sensor %s: its photodiode watches the sync patch, which only --sync-patch draws: it will read dark", s)
		}
	}
	return runSession(o)
}

// Window sizes a patient window can have: room for the rating scale and
// captions at the small end; at the large end 8K, within every GPU's
// texture limit (ebiten panics beyond it, after the session has begun).
const minWindow, maxWindowW, maxWindowH = 320, 7680, 4320

// checkWindowSize refuses a window size before anything starts: no
// session folder, no sensor, no window.
func checkWindowSize(cmd string, w, h int) error {
	if w < minWindow || h < minWindow*3/4 || w > maxWindowW || h > maxWindowH {
		return usagef("%s: --width %d --height %d: give a window size in pixels from %d×%d to %d×%d, e.g. 1280 and 720",
			cmd, w, h, minWindow, minWindow*3/4, maxWindowW, maxWindowH)
	}
	return nil
}

// startLSL offers the session on LSL (package lslout): the outlets follow
// the bus from now on.
func startLSL(pl *pipeline.Pipeline, clock lsl.SessionClock, source string) (*lslout.Publisher, error) {
	pub, err := lslout.New(clock, source, func(f string, a ...any) { logf(f, a...) })
	if err != nil {
		return nil, fmt.Errorf("--lsl: %w", err)
	}
	// Lossless: a dropped marker would be a hole in a lab's record. Run
	// ends when the bus closes.
	go pub.Run(pl.Bus.Subscribe(1024, true))
	return pub, nil
}

// lslNames lists the outlets offered so far (the sensors' come as they
// announce themselves).
func lslNames(p *lslout.Publisher) string {
	var names []string
	for _, s := range p.Streams() {
		names = append(names, fmt.Sprintf("%q", s.Name))
	}
	return fmt.Sprintf("%s and one per sensor (LSL time = session time + %.6f s)", strings.Join(names, ", "), p.Clock().Origin)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "cueroom: "+format+"\n", args...)
}

// runSession plays a live session through the pipeline: sensors → bus →
// {recording, physiology, feed, session rules}, the session state machine,
// the sound and the window. Everything that can fail on bad input is
// checked before the session folder is made.
func runSession(o runOptions) error {
	p, err := loadProtocol(o.protocol)
	if err != nil {
		return err
	}
	media, err := engine.LoadMedia(p)
	if err != nil {
		return usageError{err.Error()}
	}
	manifest, err := engine.Manifest(p)
	if err != nil {
		return usageError{err.Error()}
	}
	tlsConf, fingerprint, err := feed.TLSFor(o.listen, o.tlsCert, o.tlsKey)
	if err != nil {
		return usageError{err.Error()}
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer cancel()

	clock := engine.NewClock()
	audit := &pipeline.AuditLog{}
	pl, err := pipeline.New(clock, pipeline.Options{
		Title: p.Title, Substance: p.Substance, Steps: p.All(),
		Feed: feed.Config{Listen: o.listen, Token: o.token, ObserverToken: o.observerToken, TLS: tlsConf, Audit: audit.Log,
			Logf: func(f string, a ...any) { logf("dashboard: "+f, a...) }},
		Record: true, Physiology: true, Present: true, Headset: p, Logf: logf,
	})
	if err != nil {
		return usageError{err.Error()}
	}
	defer pl.Close()

	// A room of a clinic joins its hub before the sensors announce
	// their streams; with no --hub nothing changes.
	var room *roomLink
	if o.room.hub != "" {
		room, err = startStation(ctx, o.room, o.sessions, pl, fingerprint)
		if err != nil {
			return err
		}
		defer room.st.Close()
	}

	// LSL outlets subscribe before the sensors announce their streams.
	var lslPub *lslout.Publisher
	if o.lsl {
		lslPub, err = startLSL(pl, lsl.SessionClockAt(clock.Start()), clock.Start().Format("20060102-150405"))
		if err != nil {
			return err
		}
		defer lslPub.Close()
	}

	// A simulated photodiode watches the sync patch through this light.
	light := &synth.Light{}
	sens, err := rig.Start(ctx, o.sensors, clock, pl.Bus, os.Stdout, spec.WithLight(light))
	if err != nil {
		if se := (*rig.SpecError)(nil); errors.As(err, &se) {
			return usageError{se.Msg}
		}
		return err
	}
	defer sens.Stop()
	pl.Streams = sens.Streams
	pl.Follow(256, sens.FollowCues)

	// What audio says while opening is a setup notice (no sound device:
	// the null sink plays); later, the output failing mid-session is a
	// warning.
	var soundOpen atomic.Bool
	out := audio.Open(audio.Options{NoDevice: o.noSound, Warn: func(s string) {
		logf("sound: %s", s)
		level := event.LevelInfo
		if soundOpen.Load() {
			level = event.LevelWarning
		}
		pl.Notify(event.Alert{Source: "sound", Level: level, Incident: "sound", Message: s})
	}})
	soundOpen.Store(true)
	defer out.Close()
	sess := engine.New(p, pl.Bus, clock, engine.NewSoundPlayer(out, media, clock, pl.Presenter))
	sess.SetArousal(pl.Physiology)
	if o.hold {
		sess.HoldForStart()
	}
	driver := pipeline.Live{Session: sess}
	if err := pl.Listen(driver); err != nil {
		return usageError{err.Error()}
	}
	if room != nil {
		room.driver.Store(&driver)
		room.dash.Store(pl.Feed)
	}

	stopDisplay, err := window.EnsureDisplay(logf)
	if err != nil {
		return asDisplayErr(err)
	}
	defer stopDisplay()

	rec, err := record.Create(o.sessions, record.Meta{
		Title: p.Title, Substance: p.Substance, Software: "cueroom " + version,
		Start: clock.Start(), Streams: sens.Streams(), Manifest: manifest,
		Extra: replay.Origin(o.protocol, p, o.sensors),
	}, p.Source, record.OnTrouble(pl.RecordingTrouble))
	if err != nil {
		return err
	}
	checkFreeSpace(pl, rec.Dir(), sens.Streams(), total(p))
	if a, err := record.OpenAudit(rec.Dir()); err != nil {
		logf("%v: the dashboard's audit trail is not recorded", err)
	} else {
		audit.Attach(a)
		defer a.Close()
	}

	fmt.Printf("cueroom %s — %s\n", version, p.Title)
	fmt.Printf("  dashboard: %s\n", pl.Feed.URL())
	fmt.Printf("  observer:  %s (watch only)\n", pl.Feed.ObserverURL())
	if u := pl.Feed.DisplayURL(); u != "" {
		fmt.Printf("  headset:   %s (the patient's headset browser only)\n", u)
	}
	if fingerprint != "" {
		fmt.Printf("  TLS certificate SHA-256 fingerprint: %s (check it when the browser asks)\n", fingerprint)
	}
	if lslPub != nil {
		fmt.Printf("  lsl:       %s\n", lslNames(lslPub))
	}
	fmt.Printf("  recording: %s\n", rec.Dir())
	fmt.Printf("  sensors:   %s\n", sens.Describe())
	fmt.Printf("  sound:     %s\n", out.Sink())

	fmt.Println("  The patient presses Esc to stop at any moment.")

	// With a headset connected, the window shows where it looks.
	var headView func() (yawDeg, pitchDeg float64, ok bool)
	if pl.Headset != nil {
		headView = pl.Headset.HeadView
	}
	res := pl.Run(ctx, pipeline.Run{
		Driver: driver, Recorder: rec,
		Window: &pipeline.Window{Media: media, Clock: clock, ViewEvery: 250 * time.Millisecond,
			// A neutral title: the taskbar and the window switcher are seen
			// by anyone in the room, and the protocol's title names the drug.
			Options: window.Options{Title: window.DefaultTitle, Width: o.width, Height: o.height,
				Fullscreen: o.fullscreen, Stereo: o.stereo, SyncPatch: o.syncPatch, HeadView: headView,
				OnPatch: func(on bool, t time.Duration) { light.Set(on, clock.Wall(t)) }}},
		StopProducers: sens.Stop,
		// Let the last sounds fade rather than cut off.
		Drain: func() { out.Drain(time.Second); out.Close() },
	})
	if res.WindowErr != nil {
		logf("window: %v", res.WindowErr)
	}
	fmt.Printf("cueroom: session %s (%s); recorded in %s\n", sess.EndReason(), sess.Snapshot().Now.Duration().Round(time.Second), rec.Dir())
	if room != nil {
		room.archive(rec.Dir())
	}
	if res.RecordErr != nil {
		return fmt.Errorf("recording: %w", res.RecordErr)
	}
	return res.WindowErr
}

// asDisplayErr makes a missing display the user's to fix (exit 2).
func asDisplayErr(err error) error {
	if errors.Is(err, window.ErrNoDisplay) {
		return usageError{err.Error()}
	}
	return err
}

// checkFreeSpace warns, at the start, when the disk holds less than the
// protocol's length needs: better said now than as a full disk mid-session.
func checkFreeSpace(pl *pipeline.Pipeline, dir string, streams []sensors.Stream, length time.Duration) {
	free, err := record.FreeBytes(dir)
	if err != nil {
		return
	}
	if msg := lowSpace(free, record.EstimateBytes(streams, length), dir, length); msg != "" {
		logf("%s", msg)
		pl.Notify(event.Alert{Source: "recording", Level: event.LevelWarning, Incident: "recording:space", Message: msg})
	}
}

// lowSpace says what to do when free bytes are fewer than needed.
func lowSpace(free, need uint64, dir string, length time.Duration) string {
	if free >= need {
		return ""
	}
	return fmt.Sprintf("only %d MB free where the recording is written (%s); this %v session needs about %d MB: free disk space, or the recording will stop when the disk is full (the session goes on)",
		free>>20, dir, length.Round(time.Second), (need+1<<20-1)>>20)
}

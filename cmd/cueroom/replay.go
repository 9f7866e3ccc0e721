package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
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
	"github.com/cueroom/cueroom/lsl"
	"github.com/cueroom/cueroom/sensors"
)

type replayOptions struct {
	listen, token, observerToken string
	tlsCert, tlsKey              string
	media, at                    string
	speed                        float64
	paused, noSound, noWindow    bool
	fullscreen, lsl              bool
	width, height                int
}

func cmdReplay(args []string) error {
	var o replayOptions
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.listen, "listen", feed.DefaultListen, "dashboard address host:port (loopback unless you say otherwise)")
	fs.StringVar(&o.token, "token", "", "dashboard control token (default: a new random one)")
	fs.StringVar(&o.observerToken, "observer-token", "", "dashboard observe-only token (default: a new random one)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate (PEM) for a dashboard beyond loopback (default: a self-signed one)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "TLS private key (PEM) for --tls-cert")
	fs.StringVar(&o.media, "media", "", "folder holding the protocol's media files (default: where the session's protocol was)")
	fs.StringVar(&o.at, "at", "", "start at a time (seconds, or m:ss) or a step id")
	fs.Float64Var(&o.speed, "speed", 1, "speed, 0.25 to 16 times real time (sound and video only at 1)")
	fs.BoolVar(&o.paused, "paused", false, "start paused")
	fs.BoolVar(&o.noSound, "no-sound", false, "play sound to a silent null sink")
	fs.BoolVar(&o.noWindow, "no-window", false, "no window: the dashboard only")
	fs.BoolVar(&o.fullscreen, "fullscreen", false, "window fullscreen")
	fs.BoolVar(&o.lsl, "lsl", false, "offer the replay on Lab Streaming Layer, as 'run --lsl' does (times: the recording's, from when the replay starts)")
	fs.IntVar(&o.width, "width", 1280, "window width")
	fs.IntVar(&o.height, "height", 720, "window height")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fs.SetOutput(os.Stdout)
			fmt.Println("Usage: cueroom replay [flags] SESSION")
			fmt.Println("Keys in the window: Space play/pause, ←/→ 10 s back/on, PgUp/PgDn step back/on, +/- speed, Q quit.")
			fs.PrintDefaults()
			return nil
		}
		return usagef("replay: %v (see 'cueroom replay -h')", err)
	}
	if fs.NArg() != 1 {
		return usagef("replay: give one session folder (flags go before it), got %d", fs.NArg())
	}
	if err := checkWindowSize("replay", o.width, o.height); err != nil {
		return err
	}
	if !(o.speed >= replay.MinSpeed && o.speed <= replay.MaxSpeed) {
		return usagef("replay: --speed %g: give %g to %g", o.speed, float64(replay.MinSpeed), float64(replay.MaxSpeed))
	}
	return runReplay(fs.Arg(0), o)
}

func runReplay(dir string, o replayOptions) error {
	// The events are read, the samples indexed: the replay reads them
	// from data.rec as it reaches them, so a long session needs no more
	// memory than a short one.
	rec, err := record.OpenIndex(dir)
	if err != nil {
		return usagef("replay: %v", err)
	}
	defer rec.Close() // after the pipeline, which waits for the player
	warnRead(os.Stderr, dir, rec, "replayed")
	p, media, warnings, err := replay.OpenProtocol(rec, o.media)
	if err != nil {
		return asUsage(err)
	}
	for _, w := range warnings {
		logf("warning: %s", w)
	}
	tlsConf, fingerprint, err := feed.TLSFor(o.listen, o.tlsCert, o.tlsKey)
	if err != nil {
		return usageError{err.Error()}
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer cancel()

	pl, err := pipeline.New(engine.NewClock(), pipeline.Options{
		Title: rec.Meta.Title, Substance: rec.Meta.Substance, Steps: p.All(),
		Feed: feed.Config{Listen: o.listen, Token: o.token, ObserverToken: o.observerToken, TLS: tlsConf,
			Logf: func(f string, a ...any) { logf("dashboard: "+f, a...) }},
		// Nothing else listens: the feed may have every message, and a
		// seek's minute of context arrives at once.
		LosslessFeed: true, Logf: logf,
	})
	if err != nil {
		return usageError{err.Error()}
	}
	defer pl.Close()

	var out *audio.Output
	var cues replay.CuePlayer
	if !o.noWindow {
		out = audio.Open(audio.Options{NoDevice: o.noSound, Warn: func(s string) { logf("sound: %s", s) }})
		defer out.Close()
		// The re-rendered cue onsets are not news: the pipeline's presenter
		// publishes none in a replay.
		cues = engine.NewSoundPlayer(out, media, engine.NewClock(), pl.Presenter)
	}
	player := replay.New(rec, p.All(), pl.Bus, replay.Options{Cues: cues, Speed: o.speed, Paused: o.paused,
		Logf: func(f string, a ...any) { logf("warning: "+f, a...) }})
	seekAt, err := replay.ParseAt(o.at, player)
	if err != nil {
		return asUsage(err)
	}
	if seekAt != nil {
		if err := seekAt(); err != nil {
			return usagef("replay: --at %s: %v", o.at, err)
		}
	}
	var lslPub *lslout.Publisher
	if o.lsl {
		// LSL time = the recorded time plus a fixed origin: the replay's
		// position now is now on LSL's clock. A seek or a speed other than
		// 1× makes the timestamps jump or stretch with the recording's clock.
		lslPub, err = startLSL(pl, lsl.SessionClock{Origin: lsl.LocalClock() - player.Now().Seconds()}, "replay-"+filepath.Base(rec.Dir))
		if err != nil {
			return err
		}
		lslPub.FollowSeeks()
		defer lslPub.Close()
	}
	pl.Streams = func() []sensors.Stream { return rec.Meta.Streams }
	driver := pipeline.Replay{Player: player, Info: feed.ReplayInfo{Dir: rec.Dir, Start: rec.Meta.Start, Window: !o.noWindow}}
	if err := pl.Listen(driver); err != nil {
		return usageError{err.Error()}
	}

	fmt.Printf("cueroom %s — replay of %s\n", version, rec.Meta.Title)
	fmt.Printf("  session:   %s (%s, %s)\n", rec.Dir, rec.Meta.Start.Local().Format("2006-01-02 15:04"), player.Duration().Round(time.Second))
	fmt.Printf("  dashboard: %s\n", pl.Feed.URL())
	fmt.Printf("  observer:  %s (watch only)\n", pl.Feed.ObserverURL())
	if lslPub != nil {
		fmt.Printf("  lsl:       %s\n", lslNames(lslPub))
	}
	if fingerprint != "" {
		fmt.Printf("  TLS certificate SHA-256 fingerprint: %s (check it when the browser asks)\n", fingerprint)
	}
	run := pipeline.Run{Driver: driver}
	if o.noWindow {
		fmt.Println("  No window (--no-window): the dashboard shows the replay. Ctrl-C ends it.")
	} else {
		stopDisplay, err := window.EnsureDisplay(logf)
		if err != nil {
			return asDisplayErr(err)
		}
		defer stopDisplay()
		fmt.Printf("  sound:     %s (sound and video play at 1× only)\n", out.Sink())
		fmt.Println("  Keys: Space play/pause, ←/→ 10 s, PgUp/PgDn step, +/- speed, Q quit.")
		run.Window = &pipeline.Window{Media: media, Clock: player, ViewEvery: 250 * time.Millisecond,
			Options: window.Options{Title: "cueroom replay — " + rec.Meta.Title,
				Width: o.width, Height: o.height, Fullscreen: o.fullscreen, ReadOnly: true,
				OnUpdate: player.Keys, Caption: func() string { return player.Status().Caption() }}}
	}
	res := pl.Run(ctx, run)
	if res.WindowErr != nil {
		return fmt.Errorf("window: %w", res.WindowErr)
	}
	return nil
}

// asUsage turns a replay.UsageError into cueroom's (exit 2).
func asUsage(err error) error {
	if ue := (*replay.UsageError)(nil); errors.As(err, &ue) {
		return usageError{ue.Msg}
	}
	return err
}

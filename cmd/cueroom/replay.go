package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/inpututil"

	"github.com/cueroom/cueroom/assets"
	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/audio"
	"github.com/cueroom/cueroom/engine/bus"
	"github.com/cueroom/cueroom/engine/feed"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/engine/replay"
	"github.com/cueroom/cueroom/engine/window"
	"github.com/cueroom/cueroom/scenes"
)

type replayOptions struct {
	listen, token, observerToken string
	tlsCert, tlsKey              string
	media, at                    string
	speed                        float64
	paused, noSound, noWindow    bool
	fullscreen                   bool
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
	if o.width <= 0 || o.height <= 0 {
		return usagef("replay: --width %d --height %d: give a window size in pixels, e.g. 1280 and 720", o.width, o.height)
	}
	if !(o.speed >= replay.MinSpeed && o.speed <= replay.MaxSpeed) {
		return usagef("replay: --speed %g: give %g to %g", o.speed, float64(replay.MinSpeed), float64(replay.MaxSpeed))
	}
	return runReplay(fs.Arg(0), o)
}

// replayProtocol finds the protocol a session ran and the media beside it,
// and warns about media that differ from what the patient saw.
func replayProtocol(rec *record.Session, mediaDir string) (*scenes.Protocol, *engine.Media, error) {
	if len(rec.Protocol) == 0 {
		return nil, nil, usagef("replay: %s: the session folder has no protocol.yaml: it cannot be re-rendered (export and analyze still work)", rec.Dir)
	}
	fsys, name, err := protocolFS(rec, mediaDir)
	if err != nil {
		return nil, nil, err
	}
	p, err := scenes.Parse(name, rec.Protocol, fsys)
	if err != nil {
		return nil, nil, usagef("replay: %s/protocol.yaml: %v", rec.Dir, err)
	}
	media, err := engine.LoadMedia(p)
	if err != nil {
		return nil, nil, usagef("replay: %v: give the folder holding the protocol's media with --media DIR", err)
	}
	for _, w := range mediaChanges(rec, p) {
		logf("warning: %s", w)
	}
	return p, media, nil
}

// protocolFS is where the session's media are: --media, the bundled demo,
// or the folder of the protocol file the session was run from.
func protocolFS(rec *record.Session, mediaDir string) (fs.FS, string, error) {
	file, _ := rec.Meta.Extra["protocol_file"].(string)
	if mediaDir != "" {
		if st, err := os.Stat(mediaDir); err != nil || !st.IsDir() {
			return nil, "", usagef("replay: --media %s: no such folder", mediaDir)
		}
		return os.DirFS(mediaDir), filepath.Base(file), nil
	}
	if name, _ := rec.Meta.Extra["protocol_bundled"].(string); name != "" {
		return assets.DemoFS(), name, nil
	}
	if file != "" {
		if src, err := os.ReadFile(file); err == nil && bytes.Equal(src, rec.Protocol) {
			return os.DirFS(filepath.Dir(file)), filepath.Base(file), nil
		}
		// Sessions of the bundled demo recorded before protocol_bundled.
		if src, err := fs.ReadFile(assets.DemoFS(), path.Base(filepath.ToSlash(file))); err == nil && bytes.Equal(src, rec.Protocol) {
			return assets.DemoFS(), path.Base(filepath.ToSlash(file)), nil
		}
		if _, err := os.Stat(file); err == nil {
			logf("warning: %s has changed since the session: its media folder is used, the protocol the session recorded is replayed", file)
			return os.DirFS(filepath.Dir(file)), filepath.Base(file), nil
		}
	}
	return nil, "", usagef("replay: %s: the protocol's media folder (%q) is not found: give it with --media DIR", rec.Dir, file)
}

// mediaChanges compares the media now with the SHA-256 recorded for each cue.
func mediaChanges(rec *record.Session, p *scenes.Protocol) []string {
	recorded := map[string]string{}
	var cues []engine.ManifestCue
	_ = rec.Meta.DecodeManifest(&cues) // an unreadable manifest: nothing to check against
	for _, c := range cues {
		recorded[c.ID] = c.SHA256
	}
	now, err := engine.Manifest(p)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, c := range now {
		if want, ok := recorded[c.ID]; ok && want != "" && c.SHA256 != "" && want != c.SHA256 {
			out = append(out, fmt.Sprintf("cue %s: %s differs from the file the session showed (SHA-256 %.12s…, now %.12s…): the replay shows today's file", c.ID, c.File, want, c.SHA256))
		}
	}
	return out
}

// parseAt reads --at: seconds, m:ss, or a step id.
func parseAt(at string, p *replay.Player) (func() error, error) {
	if at == "" {
		return nil, nil
	}
	// Past the end is the end (and no overflow for a huge number).
	seek := func(sec float64) func() error {
		return func() error {
			p.Seek(time.Duration(min(sec, p.Duration().Seconds()+1) * float64(time.Second)))
			return nil
		}
	}
	if sec, err := strconv.ParseFloat(at, 64); err == nil && sec >= 0 && !math.IsNaN(sec) {
		return seek(sec), nil
	}
	var m int
	var sec float64
	if n, _ := fmt.Sscanf(at, "%d:%g", &m, &sec); n == 2 && m >= 0 && sec >= 0 && !math.IsNaN(sec) {
		return seek(float64(m)*60 + sec), nil
	}
	for i := 0; ; i++ {
		st, ok := p.Step(i)
		if !ok {
			break
		}
		if st.ID == at {
			return func() error { return p.SeekStep(i) }, nil
		}
	}
	return nil, usagef("replay: --at %q: give seconds (90), m:ss (1:30) or a step id of the protocol", at)
}

func runReplay(dir string, o replayOptions) error {
	rec, err := record.Open(dir)
	if err != nil {
		return usagef("replay: %v", err)
	}
	if rec.Recovered != nil {
		logf("warning: %s: %s", dir, rec.Recovered.Note)
	}
	p, media, err := replayProtocol(rec, o.media)
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	b := bus.New()
	// Nothing else listens: the feed may have every message, and a seek's
	// minute of context arrives at once.
	feedSub := b.Subscribe(1<<16, true)

	var out *audio.Output
	var cues replay.CuePlayer
	if !o.noWindow {
		out = audio.Open(audio.Options{NoDevice: o.noSound, Warn: func(s string) { logf("sound: %s", s) }})
		defer out.Close()
		// The re-rendered cue onsets are not news: they go to a bus no one reads.
		cues = engine.NewSoundPlayer(out, media, engine.NewClock(), bus.New())
	}
	player := replay.New(rec, p.All(), b, replay.Options{Cues: cues, Speed: o.speed, Paused: o.paused})
	seekAt, err := parseAt(o.at, player)
	if err != nil {
		return err
	}
	if seekAt != nil {
		if err := seekAt(); err != nil {
			return usagef("replay: --at %s: %v", o.at, err)
		}
	}

	tlsConf, fingerprint, err := dashboardTLS(runOptions{listen: o.listen, tlsCert: o.tlsCert, tlsKey: o.tlsKey})
	if err != nil {
		return err
	}
	var cmdMu sync.Mutex
	srv, err := feed.New(feed.Config{
		Listen: o.listen, Token: o.token, ObserverToken: o.observerToken, TLS: tlsConf,
		Logf: func(f string, a ...any) { logf("dashboard: "+f, a...) },
		Hello: func() any {
			return map[string]any{"title": rec.Meta.Title, "substance": rec.Meta.Substance, "steps": stepList(p),
				"streams": rec.Meta.Streams, "replay": true, "dir": rec.Dir, "start": rec.Meta.Start,
				"duration_s": player.Duration().Seconds(), "window": !o.noWindow, "state": player.Status()}
		},
		OnCommand: func(c feed.Command) feed.Ack {
			cmdMu.Lock()
			defer cmdMu.Unlock()
			return applyReplayCommand(player, c)
		},
	})
	if err != nil {
		return usageError{err.Error()}
	}
	if err := srv.Start(); err != nil {
		return usageError{fmt.Sprintf("dashboard: %v", err)}
	}
	defer srv.Close()

	fmt.Printf("cueroom %s — replay of %s\n", version, rec.Meta.Title)
	fmt.Printf("  session:   %s (%s, %s)\n", rec.Dir, rec.Meta.Start.Local().Format("2006-01-02 15:04"), player.Duration().Round(time.Second))
	fmt.Printf("  dashboard: %s\n", srv.URL())
	fmt.Printf("  observer:  %s (watch only)\n", srv.ObserverURL())
	if fingerprint != "" {
		fmt.Printf("  TLS certificate SHA-256 fingerprint: %s (check it when the browser asks)\n", fingerprint)
	}

	var wg sync.WaitGroup
	feedCtx, stopFeed := context.WithCancel(context.Background())
	wg.Add(2)
	go func() { defer wg.Done(); srv.Run(feedCtx, feedSub) }()
	go func() {
		defer wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			srv.SetState(player.Status())
			select {
			case <-feedCtx.Done():
				return
			case <-t.C:
			}
		}
	}()
	runDone := make(chan struct{})
	go func() { player.Run(ctx); close(runDone) }()

	if o.noWindow {
		fmt.Println("  No window (--no-window): the dashboard shows the replay. Ctrl-C ends it.")
		select {
		case <-ctx.Done():
		case <-player.Done():
		}
		player.End("interrupted")
	} else {
		stopDisplay, err := ensureDisplay(logf)
		if err != nil {
			player.End("no display")
			<-runDone
			stopFeed()
			wg.Wait()
			return err
		}
		defer stopDisplay()
		fmt.Printf("  sound:     %s (sound and video play at 1× only)\n", out.Sink())
		fmt.Println("  Keys: Space play/pause, ←/→ 10 s, PgUp/PgDn step, +/- speed, Q quit.")
		go func() {
			<-ctx.Done()
			player.End("interrupted")
		}()
		view := window.NewViewSampler(250*time.Millisecond, 320, 180, srv.SetView)
		defer view.Close()
		g, err := window.New(player, media, player, window.Options{Title: "cueroom replay — " + rec.Meta.Title,
			Width: o.width, Height: o.height, Fullscreen: o.fullscreen, OnFrame: view.OnFrame,
			ReadOnly: true, OnUpdate: func() { replayKeys(player) }, Caption: func() string { return replayCaption(player.Status()) }})
		if err == nil {
			err = g.Run()
		}
		player.End("window closed")
		if err != nil {
			<-runDone
			stopFeed()
			wg.Wait()
			return fmt.Errorf("window: %w", err)
		}
	}
	<-runDone
	b.Close()
	stopFeed()
	wg.Wait()
	return nil
}

// The window replays where the patient looked in 360° scenes.
var _ window.Looker = (*replay.Player)(nil)

// replayCaption is the researcher's line at the top of the window.
func replayCaption(s replay.Status) string {
	state := "playing"
	if !s.Playing {
		state = "paused"
	}
	return fmt.Sprintf("replay %s / %s · %g× · %s", clockTime(s.Position), clockTime(s.Duration), s.Speed, state)
}

func clockTime(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// speeds are the steps + and - move through.
var speeds = []float64{0.25, 0.5, 1, 2, 4, 8, 16}

// replayKeys is the window's replay control, on the render thread.
func replayKeys(p *replay.Player) {
	just := inpututil.IsKeyJustPressed
	switch {
	case just(ebiten.KeySpace):
		if p.Status().Playing {
			_ = p.Pause()
		} else {
			_ = p.Play()
		}
	case just(ebiten.KeyArrowLeft):
		p.Seek(p.Now() - 10*time.Second)
	case just(ebiten.KeyArrowRight):
		p.Seek(p.Now() + 10*time.Second)
	case just(ebiten.KeyPageUp):
		_ = p.PrevStep()
	case just(ebiten.KeyPageDown):
		_ = p.NextStep()
	case just(ebiten.KeyEqual), just(ebiten.KeyNumpadAdd):
		_ = p.SetSpeed(nextSpeed(p.Status().Speed, +1))
	case just(ebiten.KeyMinus), just(ebiten.KeyNumpadSubtract):
		_ = p.SetSpeed(nextSpeed(p.Status().Speed, -1))
	case just(ebiten.KeyQ):
		p.End("quit")
	}
}

// nextSpeed is the next listed speed above (dir > 0) or below cur, or cur
// at either end (cur may be any speed given with --speed).
func nextSpeed(cur float64, dir int) float64 {
	if dir > 0 {
		for _, s := range speeds {
			if s > cur {
				return s
			}
		}
		return cur
	}
	for i := len(speeds) - 1; i >= 0; i-- {
		if speeds[i] < cur {
			return speeds[i]
		}
	}
	return cur
}

// applyReplayCommand maps dashboard commands onto the replay.
func applyReplayCommand(p *replay.Player, c feed.Command) feed.Ack {
	var err error
	switch c.Cmd {
	case feed.CmdPause:
		err = p.Pause()
	case feed.CmdResume, feed.CmdStart:
		err = p.Play()
	case feed.CmdNext:
		err = p.NextStep()
	case feed.CmdBack:
		err = p.PrevStep()
	case feed.CmdSeek:
		if st, ok := c.Args["step"].(float64); ok {
			err = p.SeekStep(int(st))
		} else {
			t, _ := c.Args["t"].(float64)
			p.Seek(time.Duration(t * float64(time.Second)))
		}
	case feed.CmdSpeed:
		x, _ := c.Args["x"].(float64)
		err = p.SetSpeed(x)
	case feed.CmdEnd:
		p.End("ended from the dashboard")
	default:
		err = fmt.Errorf("%s: %w", c.Cmd, replay.ErrReadOnly)
	}
	if err != nil {
		return feed.Ack{ID: c.ID, Error: err.Error()}
	}
	return feed.Ack{ID: c.ID, OK: true, Data: p.Status()}
}

package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/audio"
	"github.com/cueroom/cueroom/engine/bus"
	"github.com/cueroom/cueroom/engine/feed"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/engine/window"
	"github.com/cueroom/cueroom/scenes"
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
	stereo, hold            bool
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
	fs.BoolVar(&o.stereo, "stereo", false, "side-by-side stereo, for a headset used as a display (combine with --fullscreen)")
	fs.BoolVar(&o.hold, "hold", false, "wait for Start on the dashboard before the baseline begins")
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
	if o.width <= 0 || o.height <= 0 {
		return usagef("run: --width %d --height %d: give a window size in pixels, e.g. 1280 and 720", o.width, o.height)
	}
	o.protocol = fs.Arg(0)
	if len(o.sensors) == 0 {
		o.sensors = multiFlag{"sim:bitalino"}
	}
	return runSession(o)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "cueroom: "+format+"\n", args...)
}

// runSession wires the pipeline: sensors → bus → {recording, feed}, the
// session state machine, the sound and the window. Everything that can fail
// on bad input is checked before the session folder is made.
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

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	clock := engine.NewClock()
	b := bus.New()
	// The recording subscribes first and loses nothing.
	recSub := b.Subscribe(4096, true)
	feedSub := b.Subscribe(8192, false)
	// Live physiology sees every sample and step.
	physSub := b.Subscribe(4096, true)
	phys := engine.NewPhysiology(b, clock)
	stimSub := b.Subscribe(256, false)

	rig, err := startSensors(ctx, o.sensors, clock, b)
	if err != nil {
		return err
	}
	defer rig.Stop()

	tlsConf, fingerprint, err := dashboardTLS(o)
	if err != nil {
		return err
	}
	audit := &auditBuffer{}
	var sess *engine.Session
	var sessMu sync.Mutex
	srv, err := feed.New(feed.Config{
		Listen: o.listen, Token: o.token, ObserverToken: o.observerToken, TLS: tlsConf, Audit: audit.log,
		Logf: func(f string, a ...any) { logf("dashboard: "+f, a...) },
		Hello: func() any {
			sessMu.Lock()
			defer sessMu.Unlock()
			h := map[string]any{"title": p.Title, "substance": p.Substance, "steps": stepList(p), "streams": rig.Streams()}
			if sess != nil {
				h["state"] = sess.Snapshot()
			}
			return h
		},
		OnCommand: func(c feed.Command) feed.Ack {
			sessMu.Lock()
			s := sess
			sessMu.Unlock()
			if s == nil {
				return feed.Ack{ID: c.ID, Error: "session not started"}
			}
			return applyCommand(s, c)
		},
	})
	if err != nil {
		return usageError{err.Error()}
	}
	if err := srv.Start(); err != nil {
		return usageError{fmt.Sprintf("dashboard: %v", err)}
	}
	defer srv.Close()

	stopDisplay, err := ensureDisplay(logf)
	if err != nil {
		return err
	}
	defer stopDisplay()

	rec, err := record.Create(o.sessions, record.Meta{
		Title: p.Title, Substance: p.Substance, Software: "cueroom " + version,
		Start: clock.Start(), Streams: rig.Streams(), Manifest: manifest,
		Extra: protocolOrigin(o.protocol, p, o.sensors),
	}, p.Source)
	if err != nil {
		return err
	}
	if a, err := record.OpenAudit(rec.Dir()); err != nil {
		logf("%v: the dashboard's audit trail is not recorded", err)
	} else {
		audit.attach(a)
		defer a.Close()
	}
	recDone := make(chan error, 1)
	go func() { recDone <- rec.Run(recSub) }()

	out := audio.Open(audio.Options{NoDevice: o.noSound, Warn: func(s string) {
		logf("sound: %s", s)
		t := clock.Now()
		b.Publish(bus.Msg{Event: &bus.Event{T: t, Wall: clock.Wall(t), Kind: bus.Alert, Step: -1, Data: map[string]any{"source": "sound", "message": s}}})
	}})
	defer out.Close()

	sessMu.Lock()
	sess = engine.New(p, b, clock, engine.NewSoundPlayer(out, media, clock, b))
	sess.SetArousal(phys)
	if o.hold {
		sess.HoldForStart()
	}
	sessMu.Unlock()

	fmt.Printf("cueroom %s — %s\n", version, p.Title)
	fmt.Printf("  dashboard: %s\n", srv.URL())
	fmt.Printf("  observer:  %s (watch only)\n", srv.ObserverURL())
	if fingerprint != "" {
		fmt.Printf("  TLS certificate SHA-256 fingerprint: %s (check it when the browser asks)\n", fingerprint)
	}
	fmt.Printf("  recording: %s\n", rec.Dir())
	fmt.Printf("  sensors:   %s\n", rig.Describe())
	fmt.Printf("  sound:     %s\n", out.Sink())
	fmt.Println("  The patient presses Esc to stop at any moment.")

	var wg sync.WaitGroup
	feedCtx, stopFeed := context.WithCancel(context.Background())
	wg.Add(5)
	go func() { defer wg.Done(); watchRecording(feedCtx, rec, b, clock) }()
	go func() { defer wg.Done(); phys.Run(physSub) }()
	go func() { defer wg.Done(); srv.Run(feedCtx, feedSub) }()
	go func() { defer wg.Done(); rig.FollowCues(stimSub) }()
	go func() { defer wg.Done(); publishState(feedCtx, sess, srv) }()

	sessDone := make(chan struct{})
	go func() { sess.Run(ctx); close(sessDone) }()

	// The therapist sees what the patient sees, four times a second.
	view := window.NewViewSampler(250*time.Millisecond, 320, 180, srv.SetView)
	defer view.Close()
	g, err := window.New(sess, media, clock, window.Options{Title: "cueroom — " + p.Title, Width: o.width, Height: o.height,
		Fullscreen: o.fullscreen, Stereo: o.stereo, OnFrame: view.OnFrame})
	if err == nil {
		err = g.Run()
	}
	if err != nil {
		sess.End("window failed")
		logf("window: %v", err)
	}
	<-sessDone

	// Shut down in data-flow order: producers, then the bus, then consumers.
	rig.Stop()
	out.Drain(time.Second) // let the last sounds fade rather than cut off
	out.Close()
	b.Close()
	recErr := <-recDone
	closeErr := rec.Close()
	stopFeed()
	wg.Wait()
	fmt.Printf("cueroom: session %s (%s); recorded in %s\n", sess.EndReason(), sess.Snapshot().Now.Round(time.Second), rec.Dir())
	if recErr != nil {
		return fmt.Errorf("recording: %w", recErr)
	}
	if closeErr != nil {
		return fmt.Errorf("recording: %w", closeErr)
	}
	return err
}

// publishState keeps the dashboards' view of the session current.
func publishState(ctx context.Context, s *engine.Session, srv *feed.Server) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		srv.SetState(s.Snapshot())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func applyCommand(s *engine.Session, c feed.Command) feed.Ack {
	var err error
	switch c.Cmd {
	case feed.CmdStart:
		err = s.Start(c.From)
	case feed.CmdPause:
		err = s.Pause(c.From)
	case feed.CmdResume:
		err = s.Resume(c.From)
	case feed.CmdNext:
		err = s.Next(c.From)
	case feed.CmdRepeat:
		err = s.Repeat(c.From)
	case feed.CmdBack:
		err = s.Back(c.From)
	case feed.CmdRate:
		scale, _ := c.Args["scale"].(string)
		err = s.AskRating(scale, c.From)
	case feed.CmdEnd:
		s.End("ended by therapist " + c.From)
	case feed.CmdPanic:
		err = s.Calm("panic", c.From)
	case feed.CmdMarker:
		text, _ := c.Args["text"].(string)
		err = s.Mark(text, c.From)
	default:
		err = fmt.Errorf("unknown command %q", c.Cmd)
	}
	if err != nil {
		return feed.Ack{ID: c.ID, Error: err.Error()}
	}
	return feed.Ack{ID: c.ID, OK: true, Data: s.Snapshot()}
}

// protocolOrigin says where the protocol (and so its media) came from, for
// replay: the file's absolute path, or the bundled demo.
func protocolOrigin(file string, p *scenes.Protocol, sensors multiFlag) map[string]any {
	extra := map[string]any{"protocol_file": p.File, "sensors": []string(sensors)}
	if file == "" {
		extra["protocol_bundled"] = p.File
	} else if abs, err := filepath.Abs(file); err == nil {
		extra["protocol_file"] = abs
	}
	return extra
}

// stepList is the hierarchy as the dashboard shows it.
func stepList(p *scenes.Protocol) []map[string]any {
	var out []map[string]any
	for _, st := range p.All() {
		out = append(out, map[string]any{"id": st.ID, "name": st.Name, "intensity": st.Intensity,
			"duration": st.Duration.Seconds(), "neutral": st.Neutral})
	}
	return out
}

// dashboardTLS returns the TLS setting for --listen: none on loopback; the
// given certificate, or a self-signed one made now, beyond it.
func dashboardTLS(o runOptions) (*tls.Config, string, error) {
	host, _, err := net.SplitHostPort(o.listen)
	if err != nil {
		return nil, "", usagef("--listen %q: write HOST:PORT, e.g. 127.0.0.1:7878", o.listen)
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	if loopback && o.tlsCert == "" {
		return nil, "", nil
	}
	var cert tls.Certificate
	var fp string
	if o.tlsCert != "" {
		if o.tlsKey == "" {
			return nil, "", usagef("--tls-cert needs --tls-key, the certificate's private key")
		}
		cert, err = tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return nil, "", usagef("--tls-cert %s / --tls-key %s: %v", o.tlsCert, o.tlsKey, err)
		}
		fp, err = feed.Fingerprint(cert)
	} else {
		hosts := []string{host}
		if h, herr := os.Hostname(); herr == nil {
			hosts = append(hosts, h)
		}
		cert, fp, err = feed.SelfSigned(hosts)
	}
	if err != nil {
		return nil, "", err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, fp, nil
}

// auditBuffer holds the dashboard's audit entries until the session folder
// exists (the dashboard starts first, so a busy port fails before anything
// is written), then writes them to its audit log.
type auditBuffer struct {
	mu      sync.Mutex
	pending []feed.AuditEntry
	a       *record.Audit
}

func (b *auditBuffer) log(e feed.AuditEntry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.a == nil {
		b.pending = append(b.pending, e)
		return
	}
	b.write(e)
}

func (b *auditBuffer) write(e feed.AuditEntry) {
	raw, err := json.Marshal(e)
	var m map[string]any
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil {
		m = map[string]any{"error": err.Error()}
	}
	b.a.Log(m)
}

func (b *auditBuffer) attach(a *record.Audit) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.a = a
	for _, e := range b.pending {
		b.write(e)
	}
	b.pending = nil
}

// watchRecording alerts the therapist once if the recording fails (a full
// disk): the session goes on on screen, and what was written stays intact.
func watchRecording(ctx context.Context, rec *record.Writer, b *bus.Bus, clock *engine.Clock) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := rec.Err(); err != nil {
				logf("recording stopped: %v", err)
				now := clock.Now()
				b.Publish(bus.Msg{Event: &bus.Event{T: now, Wall: clock.Wall(now), Kind: bus.Alert, Step: -1,
					Data: map[string]any{"source": "recording", "message": "the recording has stopped: " + err.Error() + " — free disk space; the session goes on, what was recorded is kept"}}})
				return
			}
		}
	}
}

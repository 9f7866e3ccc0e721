// Package station is a cueroom session's side of a clinic's NATS: an
// embedded NATS server (no listening port) with its own JetStream domain,
// fed from the session's bus like the recording and the dashboard are.
//
// Everything the session publishes goes into a local JetStream stream
// first, so the hub being down costs nothing: the station runs and
// records as if alone, and when the hub is back its stream sources the
// backlog from this one (JetStream cross-domain sourcing over the leaf
// node connection), nothing lost and nothing twice. With a hub, the
// embedded server dials out to it as a leaf node; nothing listens here.
package station

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/hub/archive"
	"github.com/cueroom/cueroom/hub/link"
	"github.com/cueroom/cueroom/hub/wire"
	"github.com/cueroom/cueroom/sensors"
)

// Config configures a station.
type Config struct {
	Site    string // wire.DefaultSite when empty
	Station string // required: letters, digits, - and _
	// Hub is the hub's URL (nats://HOST:PORT or tls://HOST:PORT); empty:
	// standalone, nothing but the local stream.
	Hub string
	// Creds is the credentials file the hub made for this station (needed
	// when the hub asks for credentials, always beyond loopback).
	Creds string
	// StoreDir holds the station's JetStream store, its id and its queue
	// of sessions to archive (in StoreDir/<site>.<station>). Required; keep
	// it across sessions (the backlog of a hub outage lives there), one
	// running station per folder.
	StoreDir string
	// OnCommand applies a command that came through the hub (the same JSON
	// a dashboard sends) and returns the answer to send back. Nil: commands
	// are refused.
	OnCommand func(cmd []byte) ([]byte, error)
	// State, when set, is polled every 250 ms and published when it changed.
	State func() any
	// Logf reports the hub's comings and goings; log.Printf-like. Nil: silent.
	Logf func(format string, args ...any)
	// BatchEvery is how long samples wait to be sent together (25 ms: half
	// the dashboard's, the hub's latency budget is shared with the network).
	BatchEvery time.Duration
	// MaxBytes caps the local stream (4 GiB); the oldest goes first.
	MaxBytes int64
	// OnArchived is told when a session folder that Archive queued (the hub
	// was down) has been archived, in this run or a later one: record it
	// in the folder's session.json. Called from the station's goroutine.
	OnArchived func(dir string, rec archive.Record)
	// Dashboard, when set, lets the hub relay this station's dashboard (the
	// monitor's click-through): its address (a plain http listener, as on
	// loopback) and its two tokens, which go to the hub only. It is asked
	// at each hello and each relayed connection (the dashboard may start
	// after the station); an empty addr: not relayed.
	Dashboard func() (addr, control, observer string)
	// DashboardFingerprint, when set, says the dashboard serves HTTPS and
	// with which certificate (its SHA-256, wire.Fingerprint): the hub then
	// relays it over TLS end to end, pinned to that certificate (the
	// station only carries bytes). "" or nil: plain HTTP.
	DashboardFingerprint func() string
	// Version is the cueroom version, told to the hub.
	Version string
	// HubWait is how long Start's watcher waits for the hub before saying
	// it runs standalone (3 s). Start itself never waits for the hub.
	HubWait time.Duration
}

// HubState is where a station stands with its hub.
type HubState string

const (
	Standalone HubState = "standalone" // no hub configured
	Connecting HubState = "connecting" // not yet reached
	Connected  HubState = "connected"  // the leaf node is up and the hub welcomed the station
	Offline    HubState = "offline"    // the hub is not reachable (now): running standalone
	Refused    HubState = "refused"    // the hub refused the station (credentials, or the name is taken)
)

// Status is a station's situation.
type Status struct {
	Hub       HubState
	Error     string // why Refused or Offline, in words
	Published uint64 // messages into the local stream
	Failed    uint64 // messages the local stream did not take
}

// Station is a running station. Make it with Start; Close it after the
// bus has closed (or to stop early).
type Station struct {
	cfg      Config
	subj     wire.Subjects
	instance string
	dir      string // the store of this station: StoreDir/<site>.<station>
	hubURL   string // for messages, without credentials
	srv      *server.Server
	nc       *nats.Conn
	js       jetstream.JetStream
	sub      *bus.Sub
	ctx      context.Context
	cancel   context.CancelFunc
	runDone  chan struct{}
	wg       sync.WaitGroup
	logf     func(string, ...any)

	published, failed atomic.Uint64
	retried           atomic.Bool // the hub's "not yet" was said

	mu      sync.Mutex
	status  Status
	changed chan struct{} // closed and replaced at each status change
	closed  bool

	leafLog  *link.LeafLog // the hub's refusal, seen in the server's log
	remote   *server.RemoteLeafOpts
	archiver *archiver
	tunnels  *tunnels
}

// Start starts the station's embedded server and its local stream,
// subscribes to b (lossless: nothing the session publishes is skipped)
// and, with a hub, starts dialling it in the background. It never waits
// for the hub. Give it the bus before producers publish.
func Start(ctx context.Context, cfg Config, b *bus.Bus) (*Station, error) {
	if cfg.Site == "" {
		cfg.Site = wire.DefaultSite
	}
	if err := wire.ValidName("--site", cfg.Site); err != nil {
		return nil, err
	}
	if err := wire.ValidName("--station", cfg.Station); err != nil {
		return nil, err
	}
	if cfg.StoreDir == "" {
		return nil, errors.New("station: no store folder")
	}
	if cfg.BatchEvery <= 0 {
		cfg.BatchEvery = 25 * time.Millisecond
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 4 << 30
	}
	if cfg.HubWait <= 0 {
		cfg.HubWait = 3 * time.Second
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	// One folder per station name: a room renamed starts a new stream
	// (its subjects carry the name).
	dir := filepath.Join(cfg.StoreDir, cfg.Site+"."+cfg.Station)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("station: %w", err)
	}
	var creds *wire.Creds
	if cfg.Creds != "" {
		c, err := wire.ReadCreds(cfg.Creds)
		if err != nil {
			return nil, err
		}
		if c.Station != "" && (c.Site != cfg.Site || c.Station != cfg.Station) {
			return nil, fmt.Errorf("--creds %s: these are the credentials of station %s/%s, not %s/%s", cfg.Creds, c.Site, c.Station, cfg.Site, cfg.Station)
		}
		if c.Station == "" {
			return nil, fmt.Errorf("--creds %s: these are reader credentials (archive ls/get), not a station's", cfg.Creds)
		}
		creds = &c
	}
	instance, err := instanceID(dir, creds)
	if err != nil {
		return nil, err
	}
	s := &Station{cfg: cfg, dir: dir, subj: wire.Subjects{Site: cfg.Site, Station: cfg.Station}, instance: instance,
		logf: logf, runDone: make(chan struct{}), changed: make(chan struct{}), leafLog: &link.LeafLog{}}
	s.status.Hub = Standalone

	if cfg.Hub != "" {
		remote, shown, err := link.LeafRemote(cfg.Hub, creds)
		if err != nil {
			return nil, err
		}
		s.hubURL, s.remote = shown, remote
		s.status.Hub = Connecting
	}
	opts := s.options(false)
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("station: %w", err)
	}
	srv.SetLoggerV2(s.leafLog, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, errors.New("station: the embedded NATS server did not start")
	}
	s.srv = srv
	fail := func(err error) (*Station, error) {
		if s.nc != nil {
			s.nc.Close()
		}
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, err
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv), nats.Name("cueroom station "+cfg.Site+"/"+cfg.Station),
		nats.CustomInboxPrefix(s.subj.Inbox()), nats.MaxReconnects(-1), nats.NoCallbacksAfterClientClose())
	if err != nil {
		return fail(fmt.Errorf("station: %w", err))
	}
	s.nc = nc
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(16384))
	if err != nil {
		return fail(fmt.Errorf("station: %w", err))
	}
	s.js = js
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	_, err = js.CreateOrUpdateStream(cctx, jetstream.StreamConfig{
		Name:        wire.StreamName,
		Description: "cueroom station " + cfg.Site + "/" + cfg.Station,
		Subjects:    s.subj.Stored(),
		Storage:     jetstream.FileStorage,
		MaxBytes:    cfg.MaxBytes,
		Discard:     jetstream.DiscardOld,
		MaxMsgSize:  8 << 20,
	})
	cancel()
	if err != nil {
		return fail(fmt.Errorf("station: the local stream: %w", err))
	}
	// The hub sources the stream through this durable consumer: it keeps
	// what the hub confirmed (flow control acks) across outages and
	// restarts, and its heartbeats tell the hub at once that the station
	// is back (the hub's probe on the deliver subject).
	cctx, cancel = context.WithTimeout(ctx, 30*time.Second)
	_, err = js.CreateOrUpdatePushConsumer(cctx, wire.StreamName, jetstream.ConsumerConfig{
		Durable:        wire.SourceConsumer,
		Description:    "the hub's copy of this station's stream",
		DeliverSubject: s.subj.SourceDeliver(),
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckFlowControlPolicy,
		FlowControl:    true,
		IdleHeartbeat:  time.Second,
		MaxAckPending:  20000,
	})
	cancel()
	if err != nil {
		return fail(fmt.Errorf("station: the hub's consumer: %w", err))
	}
	if _, err := nc.Subscribe(s.subj.Cmd(), s.command); err != nil {
		return fail(fmt.Errorf("station: %w", err))
	}
	s.tunnels = &tunnels{s: s, conns: map[string]*tunnel{}}
	if cfg.Dashboard != nil {
		if _, err := nc.Subscribe(s.subj.TunnelOpen(), s.tunnels.open); err != nil {
			return fail(fmt.Errorf("station: %w", err))
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.archiver = newArchiver(s)
	s.sub = b.Subscribe(1<<14, true)
	go s.run(ctx)
	if cfg.State != nil {
		s.wg.Add(1)
		go s.pollState()
	}
	if cfg.Hub != "" {
		s.wg.Add(1)
		go s.watchHub()
	}
	s.wg.Add(1)
	go s.archiver.run()
	return s, nil
}

// options are the embedded server's; disabled turns the hub's leaf node
// remote off (a reload after the hub refused the station).
func (s *Station) options(disabled bool) *server.Options {
	cfg := s.cfg
	opts := &server.Options{
		ServerName:         "cueroom-" + cfg.Site + "-" + cfg.Station,
		DontListen:         true,
		JetStream:          true,
		JetStreamDomain:    wire.Domain(s.instance),
		StoreDir:           filepath.Join(s.dir, "jetstream"),
		JetStreamMaxStore:  cfg.MaxBytes + 256<<20,
		JetStreamMaxMemory: 64 << 20,
		NoSigs:             true,
		MaxPayload:         8 << 20,
		// Flow control of the hub's consumer names this station's domain:
		// the hub's permissions let each station hear its own only.
		FeatureFlags: map[string]bool{"js_ack_fc_v2": true},
	}
	if s.remote != nil {
		r := *s.remote
		r.Disabled = disabled
		opts.LeafNode.Remotes = []*server.RemoteLeafOpts{&r}
		opts.LeafNode.ReconnectInterval = time.Second
	}
	return opts
}

// instanceID is the station's id: from its credentials, or made once and
// kept in the store folder.
func instanceID(dir string, creds *wire.Creds) (string, error) {
	if creds != nil && creds.Instance != "" {
		return creds.Instance, nil
	}
	p := filepath.Join(dir, "station-id")
	if b, err := os.ReadFile(p); err == nil {
		if id := strings.TrimSpace(string(b)); wire.ValidName("", id) == nil {
			return id, nil
		}
	}
	id := NewInstance()
	if err := os.WriteFile(p, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("station: %w", err)
	}
	return id, nil
}

// NewInstance makes a new random station id.
func NewInstance() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Instance is the station's id (its JetStream domain is wire.Domain of it).
func (s *Station) Instance() string { return s.instance }

// StoreDir is the station's store folder.
func (s *Station) StoreDir() string { return s.cfg.StoreDir }

// Conn is the station's in-process connection (requests to the hub's
// JetStream go through it, over the leaf node).
func (s *Station) Conn() *nats.Conn { return s.nc }

// Status says where the station stands.
func (s *Station) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.Published, st.Failed = s.published.Load(), s.failed.Load()
	return st
}

// Wait returns when ok(Status) holds or ctx is done (its error then).
// It wakes at each change of the hub's state, and every 50 ms for the
// counts.
func (s *Station) Wait(ctx context.Context, ok func(Status) bool) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		st, ch := s.status, s.changed
		s.mu.Unlock()
		st.Published, st.Failed = s.published.Load(), s.failed.Load()
		if ok(st) {
			return nil
		}
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("station: still %s: %w", st.Hub, ctx.Err())
		}
	}
}

func (s *Station) setStatus(h HubState, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status.Hub == h && s.status.Error == why {
		return
	}
	s.status.Hub, s.status.Error = h, why
	close(s.changed)
	s.changed = make(chan struct{})
}

// Close stops the station: what the bus delivered is put in the local
// stream first (unless ctx of Start was cancelled), then the server stops.
func (s *Station) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	<-s.runDone
	s.tunnels.closeAll()
	s.wg.Wait()
	s.nc.Close()
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	return nil
}

// run moves the bus into the local stream until the bus closes, ctx is
// done or Close is called.
func (s *Station) run(ctx context.Context) {
	defer close(s.runDone)
	defer s.flushPublishes()
	t := time.NewTicker(s.cfg.BatchEvery)
	defer t.Stop()
	bt := batcher{s: s, pending: map[string][]sensors.Sample{}}
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.ctx.Done():
			// Close: what the bus already handed over still goes in (until
			// the bus closes, or nothing more comes for a moment).
			idle := time.NewTimer(200 * time.Millisecond)
			defer idle.Stop()
			for {
				select {
				case m, ok := <-s.sub.C:
					if !ok {
						bt.flushAll()
						return
					}
					bt.take(m)
					idle.Reset(200 * time.Millisecond)
				case <-idle.C:
					bt.flushAll()
					return
				}
			}
		case m, ok := <-s.sub.C:
			if !ok {
				bt.flushAll()
				return
			}
			bt.take(m)
		case <-t.C:
			bt.flushAll()
		}
	}
}

// flushPublishes waits (a bounded time) for the local stream to take what
// was published.
func (s *Station) flushPublishes() {
	select {
	case <-s.js.PublishAsyncComplete():
	case <-time.After(10 * time.Second):
		s.logf("station: the local stream did not confirm %d messages", s.js.PublishAsyncPending())
	}
}

func (s *Station) publish(subject string, data []byte) {
	_, err := s.js.PublishMsgAsync(&nats.Msg{Subject: subject, Data: data},
		jetstream.WithExpectStream(wire.StreamName))
	if err != nil {
		s.failed.Add(1)
		return
	}
	s.published.Add(1)
}

// batcher holds each device's samples until the next flush (run's
// goroutine only).
type batcher struct {
	s       *Station
	pending map[string][]sensors.Sample
	devices []string
	buf     []byte
}

func (b *batcher) take(m bus.Msg) {
	switch {
	case m.Sample != nil:
		d := m.Sample.Device
		p, seen := b.pending[d]
		if !seen {
			b.devices = append(b.devices, d)
		}
		if len(p) > 0 && p[0].N != m.Sample.N {
			b.flush(d) // one channel count per batch
			p = b.pending[d]
		}
		b.pending[d] = append(p, *m.Sample)
		if len(b.pending[d]) >= 4096 {
			b.flush(d)
		}
	case m.Event != nil:
		b.flushAll() // samples before an event go before it
		data, err := json.Marshal(m.Event)
		if err != nil {
			b.s.failed.Add(1)
			return
		}
		b.s.publish(b.s.subj.Events(), data)
	case m.Stream != nil:
		b.flush(m.Stream.Device)
		data, err := json.Marshal(m.Stream)
		if err != nil {
			b.s.failed.Add(1)
			return
		}
		b.s.publish(b.s.subj.Streams(), data)
	}
}

func (b *batcher) flushAll() {
	for _, d := range b.devices {
		b.flush(d)
	}
}

func (b *batcher) flush(device string) {
	p := b.pending[device]
	if len(p) == 0 {
		return
	}
	// Each message owns its bytes: the async publish keeps them.
	msg := wire.AppendBatch(make([]byte, 0, 32+len(device)+len(p)*(4+8*p[0].N)), device, time.Now(), p)
	b.pending[device] = p[:0]
	b.s.publish(b.s.subj.Samples(device), msg)
}

// pollState publishes the session state when it changed.
func (s *Station) pollState() {
	defer s.wg.Done()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	var last []byte
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		st := s.cfg.State()
		if st == nil {
			continue
		}
		b, err := json.Marshal(st)
		if err != nil || bytes.Equal(b, last) {
			continue
		}
		last = b
		s.publish(s.subj.State(), b)
	}
}

// command hands a command from the hub to OnCommand and answers.
func (s *Station) command(m *nats.Msg) {
	if m.Reply == "" {
		return
	}
	var out []byte
	var err error
	if s.cfg.OnCommand == nil {
		err = errors.New("this station takes no commands through the hub")
	} else {
		out, err = s.cfg.OnCommand(m.Data)
	}
	if err != nil {
		out, _ = json.Marshal(map[string]any{"ok": false, "error": err.Error()})
	}
	_ = m.Respond(out)
}

// watchHub follows the leaf node connection: it says (once) when the hub
// cannot be reached, greets the hub on each (re)connection and renews the
// station's lease on its name.
func (s *Station) watchHub() {
	defer s.wg.Done()
	start := time.Now()
	poll := time.NewTicker(200 * time.Millisecond)
	defer poll.Stop()
	var up, warned bool
	var lastHello time.Time
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-poll.C:
		}
		if msg := s.leafLog.Problem(); msg != "" {
			if s.Status().Hub != Refused {
				why := fmt.Sprintf("the hub %s refused this station's connection (%s): %s; running standalone, recording locally", s.hubURL, credsName(s.cfg.Creds), msg)
				s.logf("%s", why)
				s.setStatus(Refused, why)
			}
			continue
		}
		if s.Status().Hub == Refused {
			continue
		}
		leaf := s.srv.NumLeafNodes() > 0
		switch {
		case leaf && (!up && time.Since(lastHello) >= 500*time.Millisecond || time.Since(lastHello) >= 5*time.Second):
			lastHello = time.Now()
			if s.hello(!up) {
				up, warned = true, false
			}
		case !leaf && up:
			up = false
			why := fmt.Sprintf("hub %s not reachable: running standalone; the backlog will flow when it returns", s.hubURL)
			s.logf("%s", why)
			warned = true
			s.setStatus(Offline, why)
		case !leaf && !up && !warned && time.Since(start) >= s.cfg.HubWait:
			why := fmt.Sprintf("hub %s not reachable: running standalone; the backlog will flow when it returns", s.hubURL)
			s.logf("%s", why)
			warned = true
			s.setStatus(Offline, why)
		}
	}
}

// hello greets the hub; false when it did not answer (the leaf may be
// coming up) or refused the station.
func (s *Station) hello(first bool) bool {
	hi := wire.Hello{Site: s.cfg.Site, Station: s.cfg.Station, Instance: s.instance,
		Domain: wire.Domain(s.instance), Version: s.cfg.Version}
	if s.cfg.Dashboard != nil {
		if addr, ctl, obs := s.cfg.Dashboard(); addr != "" && ctl != "" && obs != "" {
			hi.Dashboard = &wire.Dashboard{Host: dashboardHost(addr), Control: ctl, Observer: obs}
			if s.cfg.DashboardFingerprint != nil {
				hi.Dashboard.Fingerprint = s.cfg.DashboardFingerprint()
			}
		}
	}
	h, _ := json.Marshal(hi)
	m, err := s.nc.Request(s.subj.Hello(), h, 2*time.Second)
	if err != nil {
		return false
	}
	var w wire.Welcome
	if err := json.Unmarshal(m.Data, &w); err != nil {
		return false
	}
	if !w.OK && w.Retry {
		if !s.retried.Swap(true) {
			s.logf("station: the hub %s could not take the station yet (%s): trying again", s.hubURL, w.Error)
		}
		return false
	}
	s.retried.Store(false)
	if !w.OK {
		why := fmt.Sprintf("the hub %s refused station %s/%s: %s; running standalone, recording locally", s.hubURL, s.cfg.Site, s.cfg.Station, w.Error)
		s.logf("%s", why)
		s.setStatus(Refused, why)
		s.leaveHub()
		return false
	}
	if first {
		if s.Status().Hub == Offline {
			s.logf("station %s/%s: the hub %s is back: the backlog flows", s.cfg.Site, s.cfg.Station, s.hubURL)
		} else {
			s.logf("station %s/%s: connected to the hub %s", s.cfg.Site, s.cfg.Station, s.hubURL)
		}
	}
	s.setStatus(Connected, "")
	return true
}

// leaveHub stops dialling the hub (a refused station must not keep a
// second leaf node with its name there).
func (s *Station) leaveHub() {
	if err := s.srv.ReloadOptions(s.options(true)); err != nil {
		s.logf("station: cannot leave the hub: %v", err)
	}
}

func credsName(p string) string {
	if p == "" {
		return "no --creds given"
	}
	return "--creds " + p
}

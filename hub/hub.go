// Package hub is a clinic's (or a trial's) centre: one NATS server with
// JetStream that every station joins as a leaf node, a stream per station
// that gathers everything the station published (sourced from the
// station's own JetStream, so an outage's backlog arrives when the station
// is back, once), the session archive (an Object Store bucket) and the
// monitor page: one tile per station.
//
//	station (cueroom run --hub)                 hub (cueroom hub)
//	 bus ─▶ embedded NATS, JetStream ══leaf══▶  NATS, JetStream (domain "hub")
//	        domain st-<id>: stream CUEROOM       ├─ stream ST_<site>_<station>_<h> (sources CUEROOM)
//	        ◀── commands (cueroom.<s>.<n>.cmd)   ├─ bucket cueroom-sessions_<site>_<station>_<h> ◀── archive put/ls/get
//	                                             └─ monitor: HTTP(S) + WebSocket, tokens
//
// One URL: the hub listens for leaf nodes only (the address printed as
// nats://HOST:PORT, tls:// beyond loopback). Stations dial it; so does
// `cueroom archive` (a small embedded server of its own, see
// archive.Dial), so a site needs one outbound port and no inbound rule.
package hub

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cueroom/cueroom/hub/archive"
	"github.com/cueroom/cueroom/hub/wire"
)

// Default addresses: loopback only, so nothing is exposed by accident.
const (
	DefaultNATSListen    = "127.0.0.1:7422"
	DefaultMonitorListen = "127.0.0.1:7880"
)

// LeaseBucket is the KV bucket of station names in use: a station's hello
// renews its entry, which lapses LeaseTTL after the station went quiet.
const LeaseBucket = "cueroom-stations"

// LeaseTTL is how long a station's name stays its own after its last hello.
const LeaseTTL = 20 * time.Second

// Config configures a hub.
type Config struct {
	// NATSListen is where stations and `cueroom archive` connect (a leaf
	// node listener), host:port; DefaultNATSListen when empty; port 0
	// picks one. Beyond loopback it is TLS and every station needs
	// credentials (AddStation).
	NATSListen string
	// MonitorListen serves the monitor page; DefaultMonitorListen when
	// empty; "-" serves none. Beyond loopback it is HTTPS.
	MonitorListen string
	// DataDir holds JetStream's files (every station's stream, the
	// archive), the credentials made by AddStation and the TLS certificate.
	DataDir string
	// TLSCert and TLSKey (PEM) replace the self-signed certificate made (and
	// kept in DataDir) for listeners beyond loopback.
	TLSCert, TLSKey string
	// TLS serves the NATS and monitor listeners with TLS even on loopback
	// (a hub reached through a tunnel; tests). Beyond loopback it is always on.
	TLS bool
	// Token and ObserverToken guard the monitor (control: may send commands
	// to stations; observe: watch only); random when empty.
	Token, ObserverToken string
	// Logf reports stations joining, leaving and being refused; silent when nil.
	Logf func(format string, args ...any)
	// Stale and Offline: a station not heard from for this long is shown
	// stale (3 s), then offline (15 s).
	Stale, Offline time.Duration
}

// Hub is a running hub.
type Hub struct {
	cfg         Config
	srv         *server.Server
	opts        *server.Options
	nc          *nats.Conn
	js          jetstream.JetStream
	kv          jetstream.KeyValue
	natsURL     string
	tlsConf     *tls.Config
	fingerprint string
	internal    *server.User
	logf        func(string, ...any)
	mon         *monitor
	ctx         context.Context
	cancel      context.CancelFunc
	closeOnce   sync.Once

	mu      sync.Mutex
	users   map[string]wire.Creds // by user name, from DataDir/creds
	known   map[string]bool       // site/station whose stream exists (and source added)
	srcOK   map[string]bool       // stream+domain whose source is in place
	buckets map[string]bool       // archive buckets (readers may read them all)

	reloadMu sync.Mutex // one server reload at a time
}

// Start starts the hub: its NATS server, JetStream (the archive bucket and
// the station leases) and the monitor.
func Start(cfg Config) (*Hub, error) {
	if cfg.NATSListen == "" {
		cfg.NATSListen = DefaultNATSListen
	}
	if cfg.MonitorListen == "" {
		cfg.MonitorListen = DefaultMonitorListen
	}
	if cfg.DataDir == "" {
		return nil, errors.New("hub: --data: give a folder for the hub's data")
	}
	if cfg.Stale <= 0 {
		cfg.Stale = 3 * time.Second
	}
	if cfg.Offline <= 0 {
		cfg.Offline = 15 * time.Second
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	host, port, err := splitListen("--nats", cfg.NATSListen)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "creds"), 0o700); err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	h := &Hub{cfg: cfg, logf: logf, users: map[string]wire.Creds{}, known: map[string]bool{}, srcOK: map[string]bool{}, buckets: map[string]bool{}}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	if err := h.loadUsers(); err != nil {
		return nil, err
	}
	monLoop := cfg.MonitorListen == "-" || isLoopbackListen(cfg.MonitorListen)
	if !isLoopback(host) || !monLoop || cfg.TLSCert != "" || cfg.TLS {
		if h.tlsConf, h.fingerprint, err = loadTLS(cfg); err != nil {
			return nil, err
		}
	}
	if !isLoopback(host) && len(h.users) == 0 {
		return nil, fmt.Errorf("hub: --nats %s is beyond loopback: stations need credentials there; add them first (cueroom hub --add-station SITE/NAME writes one file per station)", cfg.NATSListen)
	}
	pw := make([]byte, 24)
	_, _ = rand.Read(pw)
	h.internal = &server.User{Username: "cueroom-hub", Password: hex.EncodeToString(pw)}

	h.opts = &server.Options{
		ServerName:         "cueroom-hub",
		DontListen:         true,
		JetStream:          true,
		JetStreamDomain:    wire.HubDomain,
		StoreDir:           filepath.Join(cfg.DataDir, "jetstream"),
		NoSigs:             true,
		MaxPayload:         8 << 20,
		JetStreamMaxMemory: 256 << 20,
		// Replies to the hub's requests to a station's JetStream (which
		// source its stream) name the station's domain, so a station's
		// permissions let it answer its own and no other's.
		FeatureFlags: map[string]bool{"js_api_reply_v2": true},
	}
	h.opts.LeafNode.Host = host
	h.opts.LeafNode.Port = port
	h.opts.LeafNode.IsolateLeafnodeInterest = true
	h.opts.LeafNode.AuthTimeout = 5
	if h.tlsConf != nil && (!isLoopback(host) || cfg.TLS) {
		h.opts.LeafNode.TLSConfig = h.tlsConf
		h.opts.LeafNode.TLSTimeout = 5
	}
	h.opts.Users = h.userList()
	if port != server.RANDOM_PORT {
		// Say a taken port at once (the server would only time out).
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return nil, fmt.Errorf("hub: --nats %s: %v", cfg.NATSListen, err)
		}
		l.Close()
	}
	srv, err := server.NewServer(h.opts)
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	srv.SetLoggerV2(&hubLog{h: h}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(15 * time.Second) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("hub: the NATS server did not start on %s (is the port taken?)", cfg.NATSListen)
	}
	h.srv = srv
	fail := func(err error) (*Hub, error) {
		h.Close()
		return nil, err
	}
	vz, err := srv.Varz(nil)
	if err != nil || vz.LeafNode.Port <= 0 {
		return fail(fmt.Errorf("hub: cannot listen on %s", cfg.NATSListen))
	}
	scheme := "nats"
	if h.opts.LeafNode.TLSConfig != nil {
		scheme = "tls"
	}
	h.natsURL = scheme + "://" + net.JoinHostPort(urlHost(host), strconv.Itoa(vz.LeafNode.Port))

	nc, err := nats.Connect("", nats.InProcessServer(srv), nats.UserInfo(h.internal.Username, h.internal.Password),
		nats.Name("cueroom hub"), nats.CustomInboxPrefix("_HUB"), nats.MaxReconnects(-1), nats.NoCallbacksAfterClientClose())
	if err != nil {
		return fail(fmt.Errorf("hub: %w", err))
	}
	h.nc = nc
	if h.js, err = jetstream.New(nc); err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(h.ctx, 30*time.Second)
	defer cancel()
	bs, err := archive.Buckets(ctx, h.js)
	if err != nil {
		return fail(fmt.Errorf("hub: %w", err))
	}
	h.mu.Lock()
	fresh := false
	for _, b := range bs {
		fresh = fresh || !h.buckets[b]
		h.buckets[b] = true
	}
	creds := len(h.users) > 0
	h.mu.Unlock()
	if fresh && creds {
		if err := h.reload(); err != nil {
			return fail(err)
		}
	}
	h.kv, err = h.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: LeaseBucket,
		Description: "station names in use", TTL: LeaseTTL, Storage: jetstream.FileStorage, History: 1})
	if err != nil {
		return fail(fmt.Errorf("hub: the station leases: %w", err))
	}
	h.mon = newMonitor(h)
	if err := h.loadStations(ctx); err != nil {
		return fail(err)
	}
	if _, err := nc.Subscribe(wire.Prefix+".*.*.hello", h.hello); err != nil {
		return fail(err)
	}
	if err := h.mon.subscribe(); err != nil {
		return fail(err)
	}
	if cfg.MonitorListen != "-" {
		if err := h.mon.listen(cfg.MonitorListen); err != nil {
			return fail(err)
		}
	}
	return h, nil
}

// NATSURL is the one URL stations (--hub) and `cueroom archive` use.
func (h *Hub) NATSURL() string { return h.natsURL }

// Fingerprint is the SHA-256 of the hub's TLS certificate ("" without TLS).
func (h *Hub) Fingerprint() string { return h.fingerprint }

// Conn is the hub's own in-process connection.
func (h *Hub) Conn() *nats.Conn { return h.nc }

// MonitorURL is the monitor page with the control token ("" without a monitor).
func (h *Hub) MonitorURL() string { return h.mon.url(h.mon.token) }

// ObserverURL is the monitor page with the observe-only token.
func (h *Hub) ObserverURL() string { return h.mon.url(h.mon.obsToken) }

// Close stops the monitor and the server, and waits for both.
func (h *Hub) Close() error {
	h.closeOnce.Do(h.close)
	return nil
}

func (h *Hub) close() {
	h.cancel()
	if h.mon != nil {
		h.mon.close()
	}
	if h.nc != nil {
		h.nc.Close()
	}
	if h.srv != nil {
		h.srv.Shutdown()
		h.srv.WaitForShutdown()
	}
}

// Stations lists the stations the hub knows, with what the monitor shows.
func (h *Hub) Stations() []Tile { return h.mon.tiles(time.Now(), "") }

// StreamState is what the hub's stream of one station holds.
type StreamState struct {
	Msgs     uint64
	Subjects map[string]uint64 // messages per subject
}

// Stream says what the hub holds of a station (counts per subject).
func (h *Hub) Stream(ctx context.Context, site, st string) (StreamState, error) {
	s, err := h.js.Stream(ctx, wire.HubStream(site, st))
	if err != nil {
		return StreamState{}, err
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(wire.Prefix+".>"))
	if err != nil {
		return StreamState{}, err
	}
	return StreamState{Msgs: info.State.Msgs, Subjects: info.State.Subjects}, nil
}

// Command sends a command (the dashboard's JSON) to a station and returns
// its answer.
func (h *Hub) Command(ctx context.Context, site, st string, cmd []byte) ([]byte, error) {
	subj := wire.Subjects{Site: site, Station: st}
	// The reply comes back under the station's own subjects: the only
	// ones its credentials let it publish on.
	reply := subj.All()[:len(subj.All())-1] + "reply." + nats.NewInbox()[len("_INBOX."):]
	sub, err := h.nc.SubscribeSync(reply)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	if err := h.nc.PublishRequest(subj.Cmd(), reply, cmd); err != nil {
		return nil, err
	}
	m, err := sub.NextMsgWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("station %s/%s did not answer: %w", site, st, err)
	}
	return m.Data, nil
}

// hello answers a station's announcement: a station whose name another
// instance holds (its lease is live) is refused; otherwise its lease is
// renewed and its stream made, sourcing from its JetStream domain.
func (h *Hub) hello(m *nats.Msg) {
	answer := func(w wire.Welcome) {
		b, _ := json.Marshal(w)
		_ = m.Respond(b)
	}
	site, st, _, ok := wire.Parse(m.Subject)
	var hi wire.Hello
	if !ok || json.Unmarshal(m.Data, &hi) != nil || hi.Site != site || hi.Station != st ||
		wire.ValidName("", hi.Instance) != nil || hi.Domain != wire.Domain(hi.Instance) {
		answer(wire.Welcome{Error: "malformed hello"})
		return
	}
	if c, ok := h.stationCreds(site, st); ok && c.Instance != "" && c.Instance != hi.Instance {
		answer(wire.Welcome{Error: "this station's id does not match its credentials"})
		return
	}
	ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
	defer cancel()
	key := site + "." + st
	lease, _ := json.Marshal(hi)
	if e, err := h.kv.Get(ctx, key); err == nil {
		var held wire.Hello
		_ = json.Unmarshal(e.Value(), &held)
		if held.Instance != hi.Instance {
			msg := fmt.Sprintf("another station named %s/%s is connected to this hub (for %s more at least): give this one another name (--station), or stop the other", site, st, LeaseTTL.Round(time.Second))
			h.logf("hub: refused a second station named %s/%s (id %s; the connected one is %s)", site, st, hi.Instance, held.Instance)
			answer(wire.Welcome{Error: msg})
			return
		}
		if _, err := h.kv.Update(ctx, key, lease, e.Revision()); err != nil {
			answer(wire.Welcome{Error: "lease: " + err.Error(), Retry: true})
			return
		}
	} else if errors.Is(err, jetstream.ErrKeyNotFound) {
		if _, err := h.kv.Create(ctx, key, lease); err != nil {
			// Another instance took it between Get and Create.
			answer(wire.Welcome{Error: fmt.Sprintf("another station named %s/%s just connected: give this one another name (--station)", site, st)})
			return
		}
	} else {
		answer(wire.Welcome{Error: "lease: " + err.Error(), Retry: true})
		return
	}
	if err := h.ensureStream(ctx, site, st, hi.Domain); err != nil {
		h.logf("hub: station %s/%s: %v", site, st, err)
		answer(wire.Welcome{Error: "the hub cannot keep this station's stream: " + err.Error(), Retry: true})
		return
	}
	h.mon.hello(site, st, hi.Dashboard)
	answer(wire.Welcome{OK: true})
}

// ensureStream makes the hub's stream of a station, or adds the station
// instance's domain to its sources.
func (h *Hub) ensureStream(ctx context.Context, site, st, domain string) error {
	name := wire.HubStream(site, st)
	key := name + "/" + domain
	h.mu.Lock()
	done := h.srcOK[key]
	h.mu.Unlock()
	if done {
		return nil
	}
	if err := h.ensureBucket(ctx, site, st); err != nil {
		return err
	}
	subj := wire.Subjects{Site: site, Station: st}
	// Durable sourcing: the station keeps the consumer (see station.Start);
	// the hub resets it to where its own copy ends, so a backlog comes
	// once, and probes its deliver subject to resume as soon as the
	// station is back.
	src := &jetstream.StreamSource{Name: wire.StreamName,
		External: &jetstream.ExternalStream{APIPrefix: "$JS." + domain + ".API"},
		Consumer: &jetstream.StreamConsumerSource{Name: wire.SourceConsumer, DeliverSubject: subj.SourceDeliver()}}
	s, err := h.js.Stream(ctx, name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		_, err = h.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        name,
			Description: "cueroom station " + site + "/" + st,
			Storage:     jetstream.FileStorage,
			Sources:     []*jetstream.StreamSource{src},
			Metadata:    map[string]string{"cueroom_site": site, "cueroom_station": st},
		})
		if err == nil {
			h.logf("hub: station %s/%s joined (new)", site, st)
		}
	case err == nil:
		cfg := s.CachedInfo().Config
		for _, have := range cfg.Sources {
			if have.External != nil && have.External.APIPrefix == src.External.APIPrefix {
				h.mu.Lock()
				h.srcOK[key] = true
				h.mu.Unlock()
				return nil
			}
		}
		cfg.Sources = append(cfg.Sources, src)
		_, err = h.js.UpdateStream(ctx, cfg)
		if err == nil {
			h.logf("hub: station %s/%s joined (instance %s)", site, st, domain)
		}
	}
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.srcOK[key] = true
	h.mu.Unlock()
	return nil
}

// ensureBucket makes the station's archive bucket (the station may write
// there, and only there; it cannot make one).
func (h *Hub) ensureBucket(ctx context.Context, site, st string) error {
	b, err := archive.CreateBucket(ctx, h.js, site, st)
	if err != nil {
		return fmt.Errorf("the archive bucket: %w", err)
	}
	h.mu.Lock()
	fresh := !h.buckets[b]
	h.buckets[b] = true
	creds := len(h.users) > 0
	h.mu.Unlock()
	if fresh && creds {
		// Readers read every bucket: name the new one in their permissions.
		return h.reload()
	}
	return nil
}

// loadStations shows the stations the hub has streams of (offline until
// heard from).
func (h *Hub) loadStations(ctx context.Context) error {
	l := h.js.ListStreams(ctx)
	for info := range l.Info() {
		site, st := info.Config.Metadata["cueroom_site"], info.Config.Metadata["cueroom_station"]
		if site == "" || st == "" {
			continue
		}
		h.mon.known(site, st)
	}
	if err := l.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
		return fmt.Errorf("hub: listing stations: %w", err)
	}
	return nil
}

func splitListen(flag, listen string) (string, int, error) {
	host, p, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("%s %q: write HOST:PORT, e.g. 127.0.0.1:7422", flag, listen)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%s %q: the port must be a number 0-65535", flag, listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

// urlHost is the host to print: the listen host, or this machine's name
// when listening on every interface.
func urlHost(host string) string {
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() || host == "" {
		if n, err := os.Hostname(); err == nil {
			return n
		}
	}
	return host
}

// isLoopback says whether a listen host only reaches this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isLoopbackListen(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	return err == nil && isLoopback(host)
}

// hubLog keeps the server quiet but for errors worth a line: a refused
// connection, once a minute per user (a station with wrong credentials
// retries every second).
type hubLog struct {
	h    *Hub
	mu   sync.Mutex
	last map[string]time.Time
}

func (l *hubLog) Noticef(string, ...any) {}
func (l *hubLog) Warnf(string, ...any)   {}
func (l *hubLog) Fatalf(format string, v ...any) {
	l.h.logf("hub: NATS: "+format, v...)
}
func (l *hubLog) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if !strings.Contains(msg, "Authorization Violation") && !strings.Contains(msg, "authentication error") {
		return
	}
	who := msg
	if i := strings.Index(msg, "User "); i >= 0 {
		who = msg[i:]
	}
	l.mu.Lock()
	if l.last == nil {
		l.last = map[string]time.Time{}
	}
	skip := time.Since(l.last[who]) < time.Minute
	if !skip {
		l.last[who] = time.Now()
	}
	l.mu.Unlock()
	if !skip {
		l.h.logf("hub: refused a connection: wrong credentials (%s)", msg)
	}
}
func (l *hubLog) Debugf(string, ...any) {}
func (l *hubLog) Tracef(string, ...any) {}

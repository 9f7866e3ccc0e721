// Package feed is the live feed: an HTTP server that serves the therapist's
// dashboard page and a WebSocket that streams samples, events and session
// state to it, and takes the therapist's commands back.
//
// Shape: gorilla/websocket's hub of clients, each with a read pump and a
// single write pump behind a bounded queue. Broadcasting never blocks: a
// client whose queue is full is dropped, so one stuck browser cannot delay
// the others or the bus. See protocol.go for the wire format.
//
// Security: a token (constant-time compared) guards the page and the socket;
// the Host header must name this server (DNS rebinding); the socket's Origin
// must be the page's own or a configured one.
package feed

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cueroom/cueroom/engine/xr"
	"github.com/cueroom/cueroom/sensors"
)

// DefaultListen is where the feed listens when Config.Listen is empty:
// loopback only, so nothing is exposed to the network by accident.
const DefaultListen = "127.0.0.1:7878"

// DefaultHistory is how much recent history a (re)connecting client gets.
const DefaultHistory = 3 * time.Minute

// Config configures a Server.
type Config struct {
	// Listen is host:port; DefaultListen when empty. Port 0 picks a free port.
	Listen string
	// Token guards the page and the socket and grants the control role
	// (commands). Empty: New generates 128 random bits (hex); read it back
	// from URL.
	Token string
	// ObserverToken grants the observe-only role: everything is shown, every
	// command is refused. Empty: New generates one; read it back from
	// ObserverURL. It must differ from Token.
	ObserverToken string
	// DisplayToken grants the display role: the headset page (/xr, see
	// Headset), which sees the session's state and its scene-changing
	// events and may send only what a patient display sends. Empty: New
	// generates one when Headset is set; read it back from DisplayURL.
	// Without Headset the display role does not exist. It must differ from
	// the other tokens.
	DisplayToken string
	// Headset, when set, serves the headset page (engine/xr) at /xr and
	// lets one display connection at a time act on the session.
	Headset *Headset
	// TLS, when set, serves HTTPS/WSS with it (see SelfSigned). It is
	// required when Listen is not a loopback address.
	TLS *tls.Config
	// Audit, when set, receives every connection, disconnection, refused
	// connection and command (with who sent it and the result), one call at
	// a time. It must return quickly: it runs on the client's goroutine.
	Audit func(AuditEntry)
	// Hello returns the session/protocol snapshot sent first to each new
	// client. It must be safe to call from any goroutine. May be nil.
	Hello func() any
	// OnCommand applies a validated command in the session and says whether
	// it was applied. Calls are serialised (never two at once). Nil: every
	// command is refused, unless Commands is set.
	OnCommand func(Command) Ack
	// Commands applies validated commands, one at a time, through its
	// table; the ack of an applied command carries State() as its data.
	// Set Commands or OnCommand, not both.
	Commands *Commands
	// State, when set, is the session state the dashboards follow: called
	// every 250 ms from Start to Close and sent when it changed (SetState);
	// a nil result (no session yet) is not sent. It must be safe to call
	// from any goroutine.
	State func() any
	// Logf reports dropped clients and refused requests; log.Printf when nil.
	Logf func(format string, args ...any)
	// AllowedOrigins are extra browser origins ("http://host:port") allowed
	// to open the socket; by default only the server's own page may.
	AllowedOrigins []string
	// History is how much recent history (sample batches and events) a
	// (re)connecting client gets after hello; DefaultHistory when zero,
	// none when negative. Memory is bounded besides (historyBytes).
	History time.Duration
}

// Headset is what the headset page serves and acts on.
type Headset struct {
	Plan    *xr.Plan   // the protocol as the page draws it (xr.NewPlan)
	Media   fs.FS      // the protocol's folder (scenes.Protocol.FS)
	Session xr.Session // the live session a display's messages act on
}

// limits are the tunables tests shorten; production uses defaultLimits.
type limits struct {
	queue        int           // messages queued per client before it is dropped
	writeWait    time.Duration // longest a single write may take
	pongWait     time.Duration // longest without hearing from the client
	pingPeriod   time.Duration // must be < pongWait
	closeGrace   time.Duration // wait for the peer's close reply before hanging up
	batchEvery   time.Duration // sample batching period
	maxBatch     int           // samples per message before an early flush
	rate, burst  float64       // client messages per second, and burst
	historyBytes int           // cap on the history ring, whatever History says
	histFull     time.Duration // history younger than this is sent at full rate
	thinRate     float64       // older history: samples per second per device kept
	backlogBytes int           // cap on the history a client gets on connect
	stateEvery   time.Duration // how often Config.State is polled
	refusedLog   int           // refused handshakes logged one by one per refusedEvery
	refusedEvery time.Duration // then one summary line per this interval
	// A display (the headset page) pings every 0.5 s: silence this long
	// means its connection is lost (xr.Lost), and frees the one display
	// slot for the headset's reconnection.
	displayQuiet time.Duration
	// Messages a second a display may send, and burst: pings, looks and
	// frame reports together; xr.Display limits each kind besides.
	displayRate, displayBurst float64
}

var defaultLimits = limits{
	queue:        512,
	writeWait:    10 * time.Second,
	pongWait:     60 * time.Second,
	pingPeriod:   25 * time.Second,
	closeGrace:   time.Second,
	batchEvery:   50 * time.Millisecond,
	maxBatch:     2000,
	rate:         20,
	burst:        20,
	historyBytes: 32 << 20,
	histFull:     5 * time.Second,
	thinRate:     2,
	backlogBytes: 1 << 20,
	stateEvery:   250 * time.Millisecond,
	refusedLog:   5,
	refusedEvery: time.Minute,
	displayQuiet: 5 * time.Second,
	displayRate:  40,
	displayBurst: 40,
}

// Server is the live feed. Create it with New, then Start, Run and Close.
type Server struct {
	cfg     Config
	lim     limits
	logf    func(string, ...any)
	tokHash [32]byte
	obsHash [32]byte
	dspHash [32]byte        // the display token's; unused without Config.Headset
	tlsCfg  *tls.Config     // nil: plain HTTP (loopback only)
	auditMu sync.Mutex      // serialises Config.Audit
	origins map[string]bool // normalised AllowedOrigins
	up      websocket.Upgrader

	cmdMu sync.Mutex // serialises OnCommand

	mu       sync.Mutex
	started  bool
	closed   bool
	srv      *http.Server
	addr     string           // actual listen address once started
	hostIP   net.IP           // listen IP; unspecified means any interface
	hostname string           // os.Hostname at Start
	port     string           // actual port
	clients  map[*client]bool // registered clients
	nextID   uint64
	streams  map[string][]byte // device → latest encoded stream message
	order    []string          // devices in announcement order
	state    []byte            // latest encoded state message
	ended    bool              // the latest state's status is "ended"
	summary  []byte            // the "summary" message, once the session ended
	hist     history
	refused  refusals // rate limit of refused-handshake log lines
	display  *client  // the live display connection, nil for none
	dspLost  bool     // the display's connection was lost (xr.Lost raised)

	// Commands being applied (or their acks queued): Close waits for them,
	// so the sender of "end" always gets its ack before the goodbye.
	inflight int
	idle     chan struct{}  // closed when inflight drops to 0 (nil: nobody waits)
	wg       sync.WaitGroup // every goroutine the server started, and Run
	runs     sync.WaitGroup // Run alone: Close lets it finish before the goodbyes
	quit     chan struct{}  // closed by Close
}

// New validates cfg and returns a server that is not yet listening.
func New(cfg Config) (*Server, error) {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("feed: listen address %q is not host:port (e.g. %s): %v", cfg.Listen, DefaultListen, err)
	}
	if cfg.TLS == nil && !isLoopback(host) {
		return nil, fmt.Errorf("feed: listening on %s reaches beyond this machine, so it needs TLS: give a certificate and key, or use a self-signed one (feed.SelfSigned), or listen on 127.0.0.1", cfg.Listen)
	}
	toks := []*string{&cfg.Token, &cfg.ObserverToken}
	if cfg.Headset != nil {
		toks = append(toks, &cfg.DisplayToken)
	}
	for _, tok := range toks {
		if *tok == "" {
			var b [16]byte
			if _, err := rand.Read(b[:]); err != nil {
				return nil, fmt.Errorf("feed: cannot generate a token: %v", err)
			}
			*tok = hex.EncodeToString(b[:])
		}
	}
	if cfg.Token == cfg.ObserverToken {
		return nil, errors.New("feed: the observer token must differ from the control token, or observers could send commands")
	}
	if cfg.Headset != nil && (cfg.DisplayToken == cfg.Token || cfg.DisplayToken == cfg.ObserverToken) {
		return nil, errors.New("feed: the display token must differ from the control and observer tokens, or the headset could act as a dashboard")
	}
	if cfg.Headset != nil && (cfg.Headset.Session == nil || cfg.Headset.Plan == nil) {
		return nil, errors.New("feed: Config.Headset needs the Plan the page draws and the Session its display acts on")
	}
	if cfg.History == 0 {
		cfg.History = DefaultHistory
	}
	if cfg.OnCommand != nil && cfg.Commands != nil {
		return nil, errors.New("feed: set Config.Commands or Config.OnCommand, not both")
	}
	s := &Server{
		cfg:     cfg,
		lim:     defaultLimits,
		logf:    cfg.Logf,
		tokHash: sha256.Sum256([]byte(cfg.Token)),
		obsHash: sha256.Sum256([]byte(cfg.ObserverToken)),
		dspHash: sha256.Sum256([]byte(cfg.DisplayToken)),
		origins: map[string]bool{},
		clients: map[*client]bool{},
		streams: map[string][]byte{},
		quit:    make(chan struct{}),
	}
	if s.logf == nil {
		s.logf = log.Printf
	}
	if cfg.TLS != nil {
		s.tlsCfg = cfg.TLS.Clone()
		if s.tlsCfg.MinVersion < tls.VersionTLS12 {
			s.tlsCfg.MinVersion = tls.VersionTLS12
		}
		// WebSocket upgrades need HTTP/1.1.
		s.tlsCfg.NextProtos = []string{"http/1.1"}
		if len(s.tlsCfg.Certificates) == 0 && s.tlsCfg.GetCertificate == nil {
			return nil, errors.New("feed: Config.TLS has no certificate; load one (tls.LoadX509KeyPair) or use feed.SelfSigned")
		}
	}
	for _, o := range cfg.AllowedOrigins {
		n, ok := normalizeOrigin(o)
		if !ok {
			return nil, fmt.Errorf("feed: allowed origin %q must look like http://host:port or https://host (no path)", o)
		}
		s.origins[n] = true
	}
	s.up = websocket.Upgrader{
		ReadBufferSize:  4096,
		WriteBufferSize: 16384,
		CheckOrigin:     s.originAllowed,
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			s.refuse(r.RemoteAddr, "websocket", reason.Error(), true)
			http.Error(w, http.StatusText(status), status)
		},
	}
	return s, nil
}

// Start listens and serves in the background. The error names the address
// when it is taken.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("feed: Start after Close")
	}
	if s.started {
		return errors.New("feed: already started")
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("feed: cannot listen on %s (is another cueroom running? choose another port): %w", s.cfg.Listen, err)
	}
	s.started = true
	if s.tlsCfg != nil {
		ln = tls.NewListener(ln, s.tlsCfg)
	}
	s.addr = ln.Addr().String()
	if ta, ok := ln.Addr().(*net.TCPAddr); ok {
		s.hostIP = ta.IP
	}
	_, s.port, _ = net.SplitHostPort(s.addr)
	s.hostname, _ = os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", s.serveWS)
	if h := s.cfg.Headset; h != nil {
		xh := xr.Handler(xr.Config{Plan: h.Plan, Media: h.Media,
			Authorize: func(r *http.Request) bool { return s.role(r) == RoleDisplay },
			Refused:   func(r *http.Request, what string) { s.refuse(r.RemoteAddr, what, "missing or wrong token", false) }})
		mux.Handle("/xr", xh)
		mux.Handle("/xr/", xh)
	}
	mux.HandleFunc("/", s.servePage)
	s.srv = &http.Server{
		Handler:           s.checkHost(mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          log.New(logWriter{s.logf}, "feed: ", 0),
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logf("feed: serving %s stopped: %v", s.addr, err)
		}
	}()
	if s.cfg.State != nil {
		s.wg.Add(1)
		go s.followState()
	}
	return nil
}

// Addr is the address the server listens on ("" before Start).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// URL is the dashboard's address with the control token: give it to the
// therapist only ("" before Start).
func (s *Server) URL() string { return s.urlWith(s.cfg.Token) }

// ObserverURL is the dashboard's address with the observe-only token, for a
// supervisor ("" before Start).
func (s *Server) ObserverURL() string { return s.urlWith(s.cfg.ObserverToken) }

// DisplayURL is the headset page's address with the display token, for
// the headset's browser only ("" before Start, or without Config.Headset).
func (s *Server) DisplayURL() string {
	if s.cfg.Headset == nil {
		return ""
	}
	u := s.urlWith(s.cfg.DisplayToken)
	if u == "" {
		return ""
	}
	return strings.Replace(u, "/?token=", "/xr?token=", 1)
}

func (s *Server) urlWith(token string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.addr == "" {
		return ""
	}
	host := s.addr
	if s.hostIP != nil && s.hostIP.IsUnspecified() {
		// Listening everywhere: the address another device (the
		// therapist's tablet) can open.
		host = net.JoinHostPort(reachableHost(s.hostIP.To4() != nil), s.port)
	}
	return s.scheme() + "://" + host + "/?token=" + url.QueryEscape(token)
}

// Close stops listening, disconnects every client (close code 1001) and
// waits for every goroutine the server started, and for Run, to return.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.quit)
	srv := s.srv
	s.mu.Unlock()

	// Run hands on what it holds, then stops.
	s.runs.Wait()
	// Commands in flight finish and queue their acks (bounded: a handler
	// that never returns must not hold the shutdown), and every dashboard
	// gets the last state, so none is left showing "running".
	s.waitCommands(s.lim.writeWait)
	if s.cfg.State != nil {
		if st := s.cfg.State(); st != nil {
			s.SetState(st)
		}
	}
	s.flushRefused(time.Now())
	s.mu.Lock()
	cs := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		cs = append(cs, c)
	}
	reason := CloseServerClosing
	if s.ended {
		reason = CloseSessionEnded
	}
	s.mu.Unlock()

	if srv != nil {
		// Handlers in flight are ours too (wg); Shutdown only stops the
		// listener and idle page connections, a deadline bounds the rest.
		ctx, cancel := context.WithTimeout(context.Background(), s.lim.writeWait)
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
		cancel()
	}
	for _, c := range cs {
		c.killDrain(websocket.CloseGoingAway, reason)
	}
	s.wg.Wait()
	return nil
}

// Close reasons (close code 1001) a dashboard can tell apart: after
// CloseSessionEnded it stops reconnecting; after CloseServerClosing it may
// try again (the server may come back).
const (
	CloseSessionEnded  = "session ended"
	CloseServerClosing = "server closing"
)

// beginCommand counts a command in flight; false once the server closes.
func (s *Server) beginCommand() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.inflight++
	return true
}

func (s *Server) endCommand() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	if s.inflight == 0 && s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
}

// waitCommands waits up to d for the commands in flight to be answered.
func (s *Server) waitCommands(d time.Duration) {
	s.mu.Lock()
	if s.inflight == 0 {
		s.mu.Unlock()
		return
	}
	if s.idle == nil {
		s.idle = make(chan struct{})
	}
	idle := s.idle
	s.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
		s.logf("feed: closing with a command still being applied after %v", d)
	}
}

// track adds one goroutine to the wait group unless the server is closed.
func (s *Server) track() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// trackRun is track for Run, which Close also waits for on its own (runs).
func (s *Server) trackRun() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	s.runs.Add(1)
	return true
}

// checkHost refuses requests whose Host header does not name this server, so
// a hostile page cannot reach it through DNS rebinding.
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hostAllowed(r.Host) {
			s.refuse(r.RemoteAddr, "request", fmt.Sprintf("foreign host %q", clip(r.Host)), false)
			http.Error(w, http.StatusText(http.StatusMisdirectedRequest), http.StatusMisdirectedRequest)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// hostAllowed accepts the listen address, loopback names, and when listening
// on every interface any IP literal (an IP cannot be rebound), all with the
// server's own port.
func (s *Server) hostAllowed(hostport string) bool {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		// No port: only valid when we are on the default HTTP port.
		host, port = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]"), "80"
		if strings.ContainsAny(host, "[]") {
			return false
		}
	}
	if port != s.port || host == "" {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if s.hostIP != nil && s.hostIP.IsUnspecified() && s.hostname != "" && strings.EqualFold(host, s.hostname) {
		// The URL may name this machine (pickHost, without a LAN
		// address): our own name is no rebinding.
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil || strings.Contains(host, "%") {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	if s.hostIP == nil {
		return false
	}
	return s.hostIP.IsUnspecified() || ip.Equal(s.hostIP)
}

// originAllowed is the socket's CheckOrigin: same origin as the page, or a
// configured one. No Origin is allowed only for non-browser tools: a
// browser that sends Sec-Fetch-* headers always sends Origin too.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Values("Origin")
	if len(origin) == 0 {
		return r.Header.Get("Sec-Fetch-Site") == "" && r.Header.Get("Sec-Fetch-Mode") == "" &&
			r.Header.Get("Sec-Fetch-Dest") == ""
	}
	if len(origin) > 1 {
		return false
	}
	n, ok := normalizeOrigin(origin[0])
	if !ok {
		return false // includes "null" (sandboxed frames, file:)
	}
	if s.origins[n] {
		return true
	}
	own, ok := normalizeOrigin(s.scheme() + "://" + r.Host)
	return ok && n == own
}

// normalizeOrigin lowercases scheme://host[:port] and drops a default port,
// as browsers do; it refuses anything with a path, query or user.
func normalizeOrigin(o string) (string, bool) {
	u, err := url.Parse(strings.TrimSuffix(o, "/"))
	if err != nil || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Host)
	switch scheme {
	case "http":
		host = strings.TrimSuffix(host, ":80")
	case "https":
		host = strings.TrimSuffix(host, ":443")
	default:
		return "", false
	}
	return scheme + "://" + host, true
}

// Roles a token grants.
const (
	RoleControl = "control" // sees everything, may send commands
	RoleObserve = "observe" // sees everything, commands are refused
	// RoleDisplay is the headset page (engine/xr): it gets the session's
	// state and scene-changing events (no samples, views or streams) and
	// may send only display messages (xr.ParseDisplay); every command is
	// refused. One live display at a time.
	RoleDisplay = "display"
)

// role compares the request's token with ours in constant time (hashing
// first so the length does not leak either): RoleControl, RoleObserve,
// RoleDisplay (with Config.Headset), or "" for no or a wrong token.
func (s *Server) role(r *http.Request) string {
	tok := r.URL.Query().Get("token")
	if h := r.Header.Get("Authorization"); tok == "" && len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		tok = strings.TrimSpace(h[7:])
	}
	if tok == "" {
		return ""
	}
	got := sha256.Sum256([]byte(tok))
	ctl := subtle.ConstantTimeCompare(got[:], s.tokHash[:])
	obs := subtle.ConstantTimeCompare(got[:], s.obsHash[:])
	dsp := subtle.ConstantTimeCompare(got[:], s.dspHash[:])
	switch {
	case ctl == 1:
		return RoleControl
	case obs == 1:
		return RoleObserve
	case dsp == 1 && s.cfg.Headset != nil:
		return RoleDisplay
	}
	return ""
}

// authorized says whether the request may open the dashboard page: the
// control or observer token (the display token opens only /xr).
func (s *Server) authorized(r *http.Request) bool {
	role := s.role(r)
	return role == RoleControl || role == RoleObserve
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="cueroom feed"`)
	http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
}

// serveWS authenticates, upgrades and registers one dashboard.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	role := s.role(r)
	if role == "" {
		s.refuse(r.RemoteAddr, "websocket", "missing or wrong token", true)
		unauthorized(w)
		return
	}
	if !s.track() {
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		return
	}
	defer s.wg.Done()
	var session any
	switch {
	case role == RoleDisplay:
		// The headset shows the scene, not what it is called: no title,
		// substance or step names, only the state to draw.
		var st any
		if s.cfg.State != nil {
			st = s.cfg.State()
		}
		session = displayHello{State: st}
	case s.cfg.Hello != nil:
		session = s.cfg.Hello()
	}
	conn, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrader.Error has answered and logged
	}
	s.attach(conn, r.RemoteAddr, role, session)
}

// logWriter routes net/http's own error log through Logf.
type logWriter struct{ logf func(string, ...any) }

func (l logWriter) Write(p []byte) (int, error) {
	l.logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// labelsOf lists a stream's channel labels.
func labelsOf(st sensors.Stream) []string {
	ls := make([]string, len(st.Channels))
	for i, c := range st.Channels {
		ls[i] = c.Label
	}
	return ls
}

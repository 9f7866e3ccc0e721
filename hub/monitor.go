package hub

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"

	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/hub/web"
	"github.com/cueroom/cueroom/hub/wire"
	"github.com/cueroom/cueroom/sensors"
)

// Connection states a tile shows.
const (
	ConnLive    = "live"    // heard from within Config.Stale
	ConnStale   = "stale"   // not within Stale, within Offline
	ConnOffline = "offline" // not within Offline (or never, since the hub started)
)

// Roles a monitor token grants (as the dashboard's).
const (
	RoleControl = "control"
	RoleObserve = "observe"
)

// Tile is what the monitor shows of one station.
type Tile struct {
	Site      string    `json:"site"`
	Station   string    `json:"station"`
	Conn      string    `json:"conn"`      // ConnLive, ConnStale, ConnOffline
	LastSeen  time.Time `json:"last_seen"` // zero: not since the hub started
	AgeS      float64   `json:"age_s"`     // seconds since LastSeen (-1: never)
	Title     string    `json:"title,omitempty"`
	Status    string    `json:"status,omitempty"` // the session's: running, paused, calm, ended...
	StepName  string    `json:"step_name,omitempty"`
	StepIndex int       `json:"step_index"`
	Steps     int       `json:"steps"`
	Remaining *float64  `json:"step_remaining,omitempty"` // s, at T
	T         float64   `json:"t"`                        // session time of the state
	HR        *float64  `json:"hr,omitempty"`             // bpm
	SCL       *float64  `json:"scl,omitempty"`            // µS
	Arousal   *float64  `json:"arousal,omitempty"`        // z
	Alerts    []Alert   `json:"alerts"`                   // open incidents and the latest lone alerts, newest first
	Samples   uint64    `json:"samples"`                  // samples received live since the hub started
	// Dashboard links to the station's own dashboard relayed by the hub,
	// for the viewer's role ("" when the station does not offer it).
	Dashboard string `json:"dashboard,omitempty"`
}

// Alert is an alert as a tile lists it.
type Alert struct {
	Level   string  `json:"level"`
	Message string  `json:"message"`
	T       float64 `json:"t"`
}

// stationView is the monitor's running picture of one station.
type stationView struct {
	tile   Tile
	labels map[string][]string // device → channel labels
	open   map[string]Alert    // incident → latest
	lone   []Alert
	order  []string // incidents, oldest first
}

type monitor struct {
	h        *Hub
	token    string
	obsToken string
	tokHash  [32]byte
	obsHash  [32]byte

	mu       sync.Mutex
	stations map[string]*stationView // "site/station"
	clients  map[*wsClient]bool
	dash     map[string]*wire.Dashboard // what the stations offer to relay
	relayTok map[relayKey]string
	relayBy  map[string]relayKey

	srv      *http.Server
	ln       net.Listener
	scheme   string
	host     string // for URLs
	port     string
	listenIP net.IP
	up       websocket.Upgrader
	wg       sync.WaitGroup
	quit     chan struct{}
	subs     []*nats.Subscription
}

func newMonitor(h *Hub) *monitor {
	m := &monitor{h: h, stations: map[string]*stationView{}, clients: map[*wsClient]bool{}, quit: make(chan struct{}),
		dash: map[string]*wire.Dashboard{}, relayTok: map[relayKey]string{}, relayBy: map[string]relayKey{}}
	m.token, m.obsToken = h.cfg.Token, h.cfg.ObserverToken
	if m.token == "" {
		m.token = randomToken()
	}
	if m.obsToken == "" {
		m.obsToken = randomToken()
	}
	m.tokHash, m.obsHash = sha256.Sum256([]byte(m.token)), sha256.Sum256([]byte(m.obsToken))
	return m
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// view returns (making) a station's view. m.mu held.
func (m *monitor) view(site, st string) *stationView {
	k := site + "/" + st
	v := m.stations[k]
	if v == nil {
		v = &stationView{tile: Tile{Site: site, Station: st, StepIndex: -1}, labels: map[string][]string{}, open: map[string]Alert{}}
		m.stations[k] = v
	}
	return v
}

func (m *monitor) known(site, st string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.view(site, st)
}

func (m *monitor) hello(site, st string, d *wire.Dashboard) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seen(m.view(site, st))
	if d == nil || d.Host == "" || d.Control == "" || d.Observer == "" {
		delete(m.dash, site+"/"+st)
		return
	}
	m.dash[site+"/"+st] = d
}

func (m *monitor) seen(v *stationView) {
	v.tile.LastSeen = time.Now()
}

// subscribe follows every station's live subjects (what a station
// publishes reaches these while its leaf node is up; a backlog goes to the
// hub's streams, not here: the monitor shows now).
func (m *monitor) subscribe() error {
	for _, s := range []struct {
		subj string
		fn   nats.MsgHandler
	}{
		{wire.Prefix + ".*.*.samples.>", m.onSamples},
		{wire.Prefix + ".*.*.events", m.onEvent},
		{wire.Prefix + ".*.*.state", m.onState},
		{wire.Prefix + ".*.*.streams", m.onStream},
	} {
		sub, err := m.h.nc.Subscribe(s.subj, s.fn)
		if err != nil {
			return err
		}
		_ = sub.SetPendingLimits(1<<16, 256<<20)
		m.subs = append(m.subs, sub)
	}
	return nil
}

func (m *monitor) station(subject string) (*stationView, bool) {
	site, st, _, ok := wire.Parse(subject)
	if !ok || wire.ValidName("", site) != nil || wire.ValidName("", st) != nil {
		return nil, false
	}
	return m.view(site, st), true
}

// apply runs f on the view of the station that sent on subject (and
// marks it seen), under the monitor's lock; nothing for another subject.
func (m *monitor) apply(subject string, f func(v *stationView)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.station(subject)
	if !ok {
		return
	}
	m.seen(v)
	f(v)
}

func (m *monitor) onSamples(msg *nats.Msg) {
	b, err := wire.DecodeBatch(msg.Data)
	if err != nil || len(b.Samples) == 0 {
		return
	}
	m.apply(msg.Subject, func(v *stationView) {
		v.tile.Samples += uint64(len(b.Samples))
		labels := v.labels[b.Device]
		if labels == nil && b.Device == "physio" {
			labels = []string{"hr", "scl", "arousal"} // the derived stream's order, before its description arrives
		}
		last := b.Samples[len(b.Samples)-1]
		for i, l := range labels {
			if i >= last.N {
				break
			}
			val := last.Values[i]
			if math.IsNaN(val) || math.IsInf(val, 0) {
				continue
			}
			switch l {
			case "hr":
				v.tile.HR = &val
			case "scl":
				v.tile.SCL = &val
			case "arousal":
				v.tile.Arousal = &val
			}
		}
	})
}

func (m *monitor) onStream(msg *nats.Msg) {
	var st sensors.Stream
	if json.Unmarshal(msg.Data, &st) != nil {
		return
	}
	m.apply(msg.Subject, func(v *stationView) {
		ls := make([]string, len(st.Channels))
		for i, c := range st.Channels {
			ls[i] = c.Label
		}
		v.labels[st.Device] = ls
	})
}

func (m *monitor) onState(msg *nats.Msg) {
	var st struct {
		Status    string   `json:"status"`
		StepName  string   `json:"step_name"`
		StepIndex *int     `json:"step_index"`
		Steps     int      `json:"steps"`
		Remaining *float64 `json:"step_remaining"`
		T         float64  `json:"t"`
	}
	if json.Unmarshal(msg.Data, &st) != nil {
		return
	}
	m.apply(msg.Subject, func(v *stationView) {
		t := &v.tile
		t.Status, t.StepName, t.Steps, t.Remaining, t.T = st.Status, st.StepName, st.Steps, st.Remaining, st.T
		if st.StepIndex != nil {
			t.StepIndex = *st.StepIndex
		}
	})
}

func (m *monitor) onEvent(msg *nats.Msg) {
	var e event.Event
	if json.Unmarshal(msg.Data, &e) != nil {
		return
	}
	m.apply(msg.Subject, func(v *stationView) {
		switch d := e.Data.(type) {
		case event.SessionStart:
			v.tile.Title = d.Title
			v.open, v.order, v.lone = map[string]Alert{}, nil, nil
		case event.SessionEnd:
			v.tile.Status = "ended"
		case event.Alert:
			a := Alert{Level: string(d.Severity()), Message: d.Message, T: e.T.Seconds()}
			switch {
			case d.Incident == "":
				v.lone = append(v.lone, a)
				if len(v.lone) > 3 {
					v.lone = v.lone[len(v.lone)-3:]
				}
			case d.Resolved:
				delete(v.open, d.Incident)
				v.order = remove(v.order, d.Incident)
			default:
				if _, ok := v.open[d.Incident]; !ok {
					v.order = append(v.order, d.Incident)
				}
				v.open[d.Incident] = a
			}
		}
	})
}

func remove(xs []string, x string) []string {
	out := xs[:0]
	for _, y := range xs {
		if y != x {
			out = append(out, y)
		}
	}
	return out
}

// tiles is every station's tile at now, sorted by site and name, with
// dashboard links for role ("" for none).
func (m *monitor) tiles(now time.Time, role string) []Tile {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Tile, 0, len(m.stations))
	for _, v := range m.stations {
		t := v.tile
		t.AgeS = -1
		t.Conn = ConnOffline
		if !t.LastSeen.IsZero() {
			age := now.Sub(t.LastSeen)
			t.AgeS = math.Round(age.Seconds()*10) / 10
			switch {
			case age < m.h.cfg.Stale:
				t.Conn = ConnLive
			case age < m.h.cfg.Offline:
				t.Conn = ConnStale
			}
		}
		if role != "" {
			if tok := m.relayToken(t.Site, t.Station, role); tok != "" {
				t.Dashboard = "/s/" + t.Site + "/" + t.Station + "/?token=" + tok
			}
		}
		t.Alerts = []Alert{}
		for i := len(v.order) - 1; i >= 0; i-- {
			t.Alerts = append(t.Alerts, v.open[v.order[i]])
		}
		for i := len(v.lone) - 1; i >= 0; i-- {
			t.Alerts = append(t.Alerts, v.lone[i])
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Site != out[j].Site {
			return out[i].Site < out[j].Site
		}
		return out[i].Station < out[j].Station
	})
	return out
}

// listen serves the monitor page and its socket.
func (m *monitor) listen(listen string) error {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("--listen %q: write HOST:PORT, e.g. 127.0.0.1:7880", listen)
	}
	m.listenIP = net.ParseIP(host)
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("hub: monitor: %w", err)
	}
	m.ln = ln
	_, m.port, _ = net.SplitHostPort(ln.Addr().String())
	m.host = urlHost(host)
	_ = port
	m.scheme = "http"
	if !isLoopback(host) || m.h.cfg.TLS {
		if m.h.tlsConf == nil {
			ln.Close()
			return errors.New("hub: a monitor beyond loopback needs TLS")
		}
		m.scheme = "https"
	}
	m.up = websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 16384, CheckOrigin: m.originAllowed}
	mux := http.NewServeMux()
	static, _ := fs.Sub(web.Files, ".")
	files := http.FileServer(http.FS(static))
	mux.HandleFunc("/ws", m.serveWS)
	mux.HandleFunc("/s/", m.serveRelay)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" && m.role(r) == "" {
			unauthorized(w)
			return
		}
		w.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'")
		w.Header().Set("Cache-Control", "no-store")
		files.ServeHTTP(w, r)
	})
	m.srv = &http.Server{Handler: m.checkHost(mux), ReadHeaderTimeout: 10 * time.Second}
	if m.scheme == "https" {
		m.srv.TLSConfig = m.h.tlsConf.Clone()
		m.srv.TLSConfig.NextProtos = []string{"http/1.1"}
	}
	m.wg.Add(2)
	go func() {
		defer m.wg.Done()
		if m.scheme == "https" {
			_ = m.srv.ServeTLS(ln, "", "")
		} else {
			_ = m.srv.Serve(ln)
		}
	}()
	go m.ticker()
	return nil
}

func (m *monitor) url(token string) string {
	if m.ln == nil {
		return ""
	}
	return m.scheme + "://" + net.JoinHostPort(m.host, m.port) + "/?token=" + url.QueryEscape(token)
}

func (m *monitor) close() {
	for _, s := range m.subs {
		_ = s.Unsubscribe()
	}
	if m.srv == nil {
		return
	}
	close(m.quit)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_ = m.srv.Shutdown(ctx)
	cancel()
	m.mu.Lock()
	for c := range m.clients {
		c.conn.Close()
	}
	m.mu.Unlock()
	m.wg.Wait()
}

// ticker sends the tiles to every client twice a second (ages change even
// when nothing arrives).
func (m *monitor) ticker() {
	defer m.wg.Done()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-m.quit:
			return
		case <-t.C:
		}
		msgs := map[string][]byte{RoleControl: m.tilesMsg(RoleControl), RoleObserve: m.tilesMsg(RoleObserve)}
		m.mu.Lock()
		for c := range m.clients {
			c.offer(msgs[c.role])
		}
		m.mu.Unlock()
	}
}

func (m *monitor) tilesMsg(role string) []byte {
	b, _ := json.Marshal(struct {
		Type  string `json:"type"`
		V     int    `json:"v"`
		Tiles []Tile `json:"tiles"`
	}{"tiles", 1, m.tiles(time.Now(), role)})
	return b
}

// checkHost refuses requests whose Host does not name this server (DNS
// rebinding). The same rule as engine/feed's (which keeps it unexported).
func (m *monitor) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !m.hostAllowed(r.Host) {
			http.Error(w, http.StatusText(http.StatusMisdirectedRequest), http.StatusMisdirectedRequest)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

func (m *monitor) hostAllowed(hostport string) bool {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || port != m.port || host == "" {
		return false
	}
	if strings.EqualFold(host, "localhost") || strings.EqualFold(host, m.host) {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil || strings.Contains(host, "%") {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	return m.listenIP != nil && (m.listenIP.IsUnspecified() || ip.Equal(m.listenIP))
}

// originAllowed: the page's own origin only; no Origin only for tools
// that are not browsers.
func (m *monitor) originAllowed(r *http.Request) bool {
	o := r.Header.Values("Origin")
	if len(o) == 0 {
		return r.Header.Get("Sec-Fetch-Site") == "" && r.Header.Get("Sec-Fetch-Mode") == ""
	}
	if len(o) > 1 {
		return false
	}
	u, err := url.Parse(o[0])
	if err != nil || u.Path != "" && u.Path != "/" {
		return false
	}
	return strings.EqualFold(u.Scheme, m.scheme) && strings.EqualFold(u.Host, r.Host)
}

// role compares the request's token in constant time: RoleControl,
// RoleObserve or "".
func (m *monitor) role(r *http.Request) string {
	tok := r.URL.Query().Get("token")
	if h := r.Header.Get("Authorization"); tok == "" && len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		tok = strings.TrimSpace(h[7:])
	}
	if tok == "" {
		return ""
	}
	got := sha256.Sum256([]byte(tok))
	switch {
	case subtle.ConstantTimeCompare(got[:], m.tokHash[:]) == 1:
		return RoleControl
	case subtle.ConstantTimeCompare(got[:], m.obsHash[:]) == 1:
		return RoleObserve
	}
	return ""
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="cueroom hub"`)
	http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
}

// wsClient is one monitor page: a write pump behind a small queue (a slow
// page is dropped, never waited for).
type wsClient struct {
	conn *websocket.Conn
	role string
	out  chan []byte
	once sync.Once
}

func (c *wsClient) offer(msg []byte) {
	select {
	case c.out <- msg:
	default: // behind: it gets the next tiles
	}
}

func (m *monitor) serveWS(w http.ResponseWriter, r *http.Request) {
	// A relayed dashboard opens its socket at /ws too (its page asks for
	// the root): its relay token says which station.
	if k, d, ok := m.relayFor(r.URL.Query().Get("token")); ok {
		if !m.originAllowed(r) {
			http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
			return
		}
		m.proxy(w, r, k, d, "/ws")
		return
	}
	role := m.role(r)
	if role == "" {
		unauthorized(w)
		return
	}
	conn, err := m.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &wsClient{conn: conn, role: role, out: make(chan []byte, 8)}
	m.mu.Lock()
	select {
	case <-m.quit:
		m.mu.Unlock()
		conn.Close()
		return
	default:
	}
	m.clients[c] = true
	m.wg.Add(1)
	m.mu.Unlock()
	hello, _ := json.Marshal(map[string]any{"type": "hello", "v": 1, "role": role})
	c.out <- hello
	c.out <- m.tilesMsg(role)
	go m.writePump(c)
	m.readPump(c)
}

func (m *monitor) drop(c *wsClient) {
	c.once.Do(func() {
		m.mu.Lock()
		delete(m.clients, c)
		m.mu.Unlock()
		close(c.out)
		c.conn.Close()
	})
}

func (m *monitor) writePump(c *wsClient) {
	defer m.wg.Done()
	for msg := range c.out {
		_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := c.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
			c.conn.Close()
			for range c.out {
			}
			return
		}
	}
}

// readPump takes commands (control role) and relays them to the station.
func (m *monitor) readPump(c *wsClient) {
	defer m.drop(c)
	c.conn.SetReadLimit(16 << 10)
	for {
		_, b, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		var in struct {
			Type    string         `json:"type"`
			ID      string         `json:"id"`
			Site    string         `json:"site"`
			Station string         `json:"station"`
			Cmd     string         `json:"cmd"`
			Args    map[string]any `json:"args,omitempty"`
		}
		ack := map[string]any{"type": "ack", "v": 1}
		if err := json.Unmarshal(b, &in); err != nil || in.Type != "command" {
			ack["ok"], ack["error"] = false, "send {\"type\":\"command\",\"site\",\"station\",\"cmd\",...}"
		} else {
			ack["id"] = in.ID
			switch {
			case c.role != RoleControl:
				ack["ok"], ack["error"] = false, "forbidden: this token may only watch"
			case wire.ValidName("", in.Site) != nil || wire.ValidName("", in.Station) != nil:
				ack["ok"], ack["error"] = false, "no such station"
			default:
				cmd, _ := json.Marshal(map[string]any{"type": "command", "v": 1, "id": in.ID, "cmd": in.Cmd, "args": in.Args})
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				out, err := m.h.Command(ctx, in.Site, in.Station, cmd)
				cancel()
				// The station answers as its dashboard would (an ack:
				// ok, error, data); anything else counts as applied.
				var res struct {
					OK    *bool           `json:"ok"`
					Error string          `json:"error"`
					Data  json.RawMessage `json:"data"`
				}
				switch {
				case err != nil:
					ack["ok"], ack["error"] = false, err.Error()
				case json.Unmarshal(out, &res) == nil && res.OK != nil:
					ack["ok"] = *res.OK
					if res.Error != "" {
						ack["error"] = res.Error
					}
					if len(res.Data) > 0 {
						ack["data"] = res.Data
					}
				default:
					ack["ok"] = true
				}
			}
		}
		msg, _ := json.Marshal(ack)
		c.offer(msg)
	}
}

package hub

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cueroom/cueroom/hub/station"
	"github.com/cueroom/cueroom/hub/wire"
)

// The click-through: a tile links to its station's own dashboard, relayed
// by the hub. The link carries a relay token the hub made for that station
// and the viewer's role (a monitor observer gets the station's observer
// view); the hub swaps it for the station's own token, and rewrites Host
// and Origin to the dashboard's own, so the dashboard's checks pass
// unchanged. The bytes travel through a tunnel on the station's subjects
// (station/tunnel.go).

type relayKey struct {
	site, station, role string
}

// relayToken returns (making) the relay token of a station for a role;
// "" when the station's dashboard cannot be relayed. m.mu held.
func (m *monitor) relayToken(site, st, role string) string {
	if m.dash[site+"/"+st] == nil {
		return ""
	}
	k := relayKey{site, st, role}
	if t, ok := m.relayTok[k]; ok {
		return t
	}
	t := randomToken()
	m.relayTok[k] = t
	m.relayBy[t] = k
	return t
}

// relayFor finds the station and role of a relay token.
func (m *monitor) relayFor(tok string) (relayKey, *wire.Dashboard, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.relayBy[tok]
	if !ok {
		return k, nil, false
	}
	d := m.dash[k.site+"/"+k.station]
	return k, d, d != nil
}

const relayCookie = "cueroom_relay"

// serveRelay serves /s/<site>/<station>/... from the station's dashboard.
func (m *monitor) serveRelay(w http.ResponseWriter, r *http.Request) {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/s/"), "/", 3)
	if len(parts) < 2 {
		http.NotFound(w, r)
		return
	}
	site, st := parts[0], parts[1]
	if len(parts) == 2 {
		http.Redirect(w, r, r.URL.Path+"/?"+r.URL.RawQuery, http.StatusFound)
		return
	}
	tok := r.URL.Query().Get("token")
	fromQuery := tok != ""
	if !fromQuery {
		if c, err := r.Cookie(relayCookie); err == nil {
			tok = c.Value
		}
	}
	k, d, ok := m.relayFor(tok)
	if !ok || k.site != site || k.station != st {
		unauthorized(w)
		return
	}
	if fromQuery {
		// The page's own files and requests carry no token: a cookie for
		// this station's path does.
		http.SetCookie(w, &http.Cookie{Name: relayCookie, Value: tok, Path: "/s/" + site + "/" + st + "/",
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: m.scheme == "https"})
	}
	m.proxy(w, r, k, d, "/"+parts[2])
}

// proxy relays one request (or WebSocket) to a station's dashboard.
func (m *monitor) proxy(w http.ResponseWriter, r *http.Request, k relayKey, d *wire.Dashboard, path string) {
	stTok := d.Observer
	if k.role == RoleControl {
		stTok = d.Control
	}
	scheme := "http"
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return m.h.dialStation(ctx, k.site, k.station)
		},
		MaxIdleConns: 0, DisableKeepAlives: true, ResponseHeaderTimeout: 15 * time.Second,
	}
	if d.Fingerprint != "" {
		// An HTTPS dashboard: TLS from the hub to the dashboard itself,
		// through the tunnel, pinned to the certificate its station reported.
		scheme = "https"
		tr.DialTLSContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			c, err := m.h.dialStation(ctx, k.site, k.station)
			if err != nil {
				return nil, err
			}
			tc := tls.Client(c, dashboardTLS(d))
			if err := tc.HandshakeContext(ctx); err != nil {
				c.Close()
				return nil, err
			}
			return tc, nil
		}
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			q := pr.In.URL.Query()
			q.Del("token")
			if pr.In.URL.Query().Has("token") || path == "/" || path == "/ws" {
				q.Set("token", stTok)
			}
			pr.Out.URL = &url.URL{Scheme: scheme, Host: d.Host, Path: path, RawQuery: q.Encode()}
			pr.Out.Host = d.Host
			pr.Out.Header.Del("Cookie")
			pr.Out.Header.Del("Authorization")
			if pr.In.Header.Get("Origin") != "" {
				pr.Out.Header.Set("Origin", scheme+"://"+d.Host)
			}
		},
		Transport: tr,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "the station's dashboard cannot be reached through the hub: "+err.Error(), http.StatusBadGateway)
		},
	}
	rp.ServeHTTP(w, r)
}

// dashboardTLS trusts the one certificate a station reported for its
// dashboard (self-signed, so no chain to check: the pin is the check).
func dashboardTLS(d *wire.Dashboard) *tls.Config {
	host, _, err := net.SplitHostPort(d.Host)
	if err != nil {
		host = d.Host
	}
	want := strings.ToUpper(strings.TrimSpace(d.Fingerprint))
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         host,
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("the station's dashboard sent no certificate")
			}
			if got := wire.Fingerprint(raw[0]); got != want {
				return fmt.Errorf("the station's dashboard has certificate %s, not the %s its station reported", got, want)
			}
			return nil
		},
	}
}

// dialStation opens a connection to a station's dashboard through its
// tunnel.
func (h *Hub) dialStation(ctx context.Context, site, st string) (net.Conn, error) {
	subj := wire.Subjects{Site: site, Station: st}
	id := station.NewInstance()
	c := &tunnelConn{nc: h.nc, up: subj.TunnelUp(id), in: make(chan *nats.Msg, 1024), done: make(chan struct{})}
	sub, err := h.nc.ChanSubscribe(subj.TunnelDown(id), c.in)
	if err != nil {
		return nil, err
	}
	_ = sub.SetPendingLimits(-1, -1)
	c.sub = sub
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	m, err := h.nc.RequestWithContext(rctx, subj.TunnelOpen(), []byte(id))
	if err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("station %s/%s: %w", site, st, err)
	}
	if string(m.Data) != "ok" {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("station %s/%s: %s", site, st, m.Data)
	}
	return c, nil
}

// tunnelConn is one relayed connection, as a net.Conn for the proxy.
type tunnelConn struct {
	nc   *nats.Conn
	up   string
	sub  *nats.Subscription
	in   chan *nats.Msg
	buf  []byte
	done chan struct{}
	once sync.Once
	eof  bool
}

func (c *tunnelConn) Read(p []byte) (int, error) {
	for len(c.buf) == 0 {
		if c.eof {
			return 0, io.EOF
		}
		select {
		case m := <-c.in:
			if len(m.Data) == 0 {
				c.eof = true
				continue
			}
			c.buf = m.Data
		case <-c.done:
			return 0, net.ErrClosed
		}
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

func (c *tunnelConn) Write(p []byte) (int, error) {
	select {
	case <-c.done:
		return 0, net.ErrClosed
	default:
	}
	for off := 0; off < len(p); off += 32 << 10 {
		end := min(len(p), off+32<<10)
		if err := c.nc.Publish(c.up, append([]byte(nil), p[off:end]...)); err != nil {
			return off, err
		}
	}
	return len(p), nil
}

func (c *tunnelConn) Close() error {
	c.once.Do(func() {
		close(c.done)
		_ = c.nc.Publish(c.up, nil)
		_ = c.sub.Unsubscribe()
	})
	return nil
}

type tunnelAddr string

func (a tunnelAddr) Network() string { return "nats" }
func (a tunnelAddr) String() string  { return string(a) }

func (c *tunnelConn) LocalAddr() net.Addr              { return tunnelAddr("hub") }
func (c *tunnelConn) RemoteAddr() net.Addr             { return tunnelAddr(c.up) }
func (c *tunnelConn) SetDeadline(time.Time) error      { return nil }
func (c *tunnelConn) SetReadDeadline(time.Time) error  { return nil }
func (c *tunnelConn) SetWriteDeadline(time.Time) error { return nil }

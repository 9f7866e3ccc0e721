package hub_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/hub"
	"github.com/cueroom/cueroom/hub/station"
	"github.com/cueroom/cueroom/hub/wire"
	"github.com/cueroom/cueroom/internal/leakcheck"
)

// fakeDashboard checks what engine/feed checks (Host, token, Origin) and
// says which token let the request in. With secure it serves HTTPS with a
// self-signed certificate of the given fingerprint.
func fakeDashboard(t *testing.T, secure bool) (addr, fingerprint string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr = ln.Addr().String()
	scheme := "http"
	if secure {
		scheme = "https"
	}
	role := func(r *http.Request) string {
		switch r.URL.Query().Get("token") {
		case "st-control":
			return "control"
		case "st-observer":
			return "observe"
		}
		return ""
	}
	up := websocket.Upgrader{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == scheme+"://"+addr }}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Host != addr:
			http.Error(w, "foreign host", http.StatusMisdirectedRequest)
		case r.URL.Path == "/app.js":
			io.WriteString(w, "// app")
		case role(r) == "":
			http.Error(w, "token", http.StatusUnauthorized)
		default:
			io.WriteString(w, "<title>station dashboard</title> role="+role(r))
		}
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		rl := role(r)
		if rl == "" || r.Host != addr {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.WriteMessage(websocket.TextMessage, []byte("hello "+rl))
		for {
			_, b, err := c.ReadMessage()
			if err != nil {
				return
			}
			_ = c.WriteMessage(websocket.TextMessage, append([]byte("echo "), b...))
		}
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	if secure {
		srv.StartTLS()
		fingerprint = wire.Fingerprint(srv.Certificate().Raw)
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return addr, fingerprint
}

// TestDashboardRelay: a plain and an HTTPS (self-signed, its fingerprint
// reported by the station) dashboard are relayed alike; a certificate
// that is not the reported one is not talked to.
func TestDashboardRelay(t *testing.T) {
	for _, c := range []struct {
		name   string
		secure bool
	}{{"http", false}, {"https", true}} {
		t.Run(c.name, func(t *testing.T) { testDashboardRelay(t, c.secure) })
	}
}

func testDashboardRelay(t *testing.T, secure bool) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dash, fp := fakeDashboard(t, secure)
	var reported atomic.Value
	reported.Store(fp)
	h := startHub(t, t.TempDir(), "", func(c *hub.Config) { c.Token, c.ObserverToken = "ctl-token", "obs-token" })
	n := startStation(t, h.NATSURL(), "room1", storeOf(t, "room1"), func(c *station.Config) {
		c.Dashboard = func() (string, string, string) { return dash, "st-control", "st-observer" }
		c.DashboardFingerprint = func() string { return reported.Load().(string) }
	})
	require.NoError(t, n.st.Wait(ctx, connected))
	page := h.MonitorURL()
	u, _ := url.Parse(page)
	base := "http://" + u.Host

	for _, c := range []struct{ token, role string }{{"ctl-token", "control"}, {"obs-token", "observe"}} {
		ws := wsDial(t, page, c.token)
		tiles := readUntil(t, ws, "tiles", func(m map[string]any) bool {
			ts := m["tiles"].([]any)
			return len(ts) == 1 && ts[0].(map[string]any)["dashboard"] != nil
		})
		link := tiles["tiles"].([]any)[0].(map[string]any)["dashboard"].(string)
		require.True(t, strings.HasPrefix(link, "/s/clinic/room1/?token="), link)

		jar, _ := cookiejar.New(nil)
		cl := &http.Client{Jar: jar}
		resp, err := cl.Get(base + link)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		assert.Equal(t, "<title>station dashboard</title> role="+c.role, string(body), "the station's token for the viewer's role")
		resp, err = cl.Get(base + "/s/clinic/room1/app.js") // the page's files: by cookie
		require.NoError(t, err)
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, "// app", string(body))

		// The page's socket: /ws with the relay token, from the hub's origin.
		tok := link[strings.Index(link, "token=")+6:]
		sock, r2, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/ws?token="+tok, http.Header{"Origin": {base}})
		require.NoError(t, err)
		r2.Body.Close()
		_, hello, err := sock.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, "hello "+c.role, string(hello))
		require.NoError(t, sock.WriteMessage(websocket.TextMessage, []byte("ping")))
		_, echo, err := sock.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, "echo ping", string(echo))
		sock.Close()
	}

	// No relay token, or another station's path: refused.
	resp, err := http.Get(base + "/s/clinic/room1/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, err = http.Get(base + "/s/clinic/room1/?token=ctl-token")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the monitor's token is not a relay token")
	if !secure {
		return
	}

	// The station reports another certificate (its next hello): the hub
	// does not talk to a dashboard whose certificate is not that one.
	reported.Store(strings.Repeat("AB:", 31) + "AB")
	ws := wsDial(t, page, "ctl-token")
	defer ws.Close()
	link := readUntil(t, ws, "tiles", func(m map[string]any) bool {
		ts := m["tiles"].([]any)
		return len(ts) == 1 && ts[0].(map[string]any)["dashboard"] != nil
	})["tiles"].([]any)[0].(map[string]any)["dashboard"].(string)
	waitFor(ctx, t, "the relay refusing the dashboard's certificate", func() (bool, string) {
		resp, err := http.Get(base + link)
		if err != nil {
			return false, err.Error()
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusBadGateway && strings.Contains(string(body), "not the AB:AB"), string(body)
	})
}

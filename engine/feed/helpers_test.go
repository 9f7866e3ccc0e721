package feed

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
)

const testToken = "0123456789abcdef0123456789abcdef"

// logSink collects the server's log lines so tests can assert on them.
type logSink struct {
	t     *testing.T
	mu    sync.Mutex
	lines []string
}

func (l *logSink) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
	l.t.Log(line)
}

func (l *logSink) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// startServer starts a server on a free loopback port; tune shortens limits.
// Close runs at cleanup.
func startServer(t *testing.T, cfg Config, tune func(*limits)) (*Server, *logSink) {
	t.Helper()
	sink := &logSink{t: t}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Token == "" {
		cfg.Token = testToken
	}
	cfg.Logf = sink.logf
	s, err := New(cfg)
	require.NoError(t, err)
	if tune != nil {
		tune(&s.lim)
	}
	require.NoError(t, s.Start())
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s, sink
}

// runBus starts Run on a fresh lossless subscription; the returned channel
// closes when Run returns.
func runBus(t *testing.T, s *Server) (*bus.Bus, <-chan struct{}) {
	t.Helper()
	b := bus.New()
	sub := b.Subscribe(1024, true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx, sub)
	}()
	t.Cleanup(func() {
		cancel()
		b.Close()
		<-done
	})
	return b, done
}

type dialOpts struct {
	token  string // "" uses testToken; "-" sends none
	bearer bool   // send the token as a header instead
	origin string // "" uses the server's own; "-" sends none
	host   string // overrides the Host header
	header http.Header
	rcvBuf int // shrink the client's socket receive buffer (slow client)
}

func wsURL(s *Server, token string) string {
	u := "ws://" + s.Addr() + "/ws"
	if token != "" {
		u += "?token=" + url.QueryEscape(token)
	}
	return u
}

func dialRaw(t *testing.T, s *Server, o dialOpts) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	tok := o.token
	if tok == "" {
		tok = testToken
	}
	h := http.Header{}
	for k, v := range o.header {
		h[k] = v
	}
	u := wsURL(s, tok)
	if tok == "-" {
		u = wsURL(s, "")
	}
	if o.bearer {
		u = wsURL(s, "")
		h.Set("Authorization", "Bearer "+tok)
	}
	switch o.origin {
	case "":
		h.Set("Origin", "http://"+s.Addr())
	case "-":
	default:
		h.Set("Origin", o.origin)
	}
	if o.host != "" {
		h.Set("Host", o.host)
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	if o.rcvBuf > 0 {
		// A small fixed buffer turns off autotuning, so a client that does
		// not read backs up after kilobytes instead of megabytes.
		d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				err = c.(*net.TCPConn).SetReadBuffer(o.rcvBuf)
			}
			return c, err
		}
	}
	c, resp, err := d.Dial(u, h)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, resp, err
}

func dial(t *testing.T, s *Server) *websocket.Conn {
	t.Helper()
	c, _, err := dialRaw(t, s, dialOpts{})
	require.NoError(t, err)
	return c
}

// msg is any server message, decoded loosely.
type msg map[string]any

func (m msg) typ() string { s, _ := m["type"].(string); return s }

func readMsg(t *testing.T, c *websocket.Conn) msg {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	typ, b, err := c.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, websocket.TextMessage, typ)
	var m msg
	require.NoError(t, json.Unmarshal(b, &m), "%s", b)
	require.EqualValues(t, 1, m["v"], "%s", b)
	return m
}

// readType skips messages until one of type typ arrives.
func readType(t *testing.T, c *websocket.Conn, typ string) msg {
	t.Helper()
	for {
		m := readMsg(t, c)
		if m.typ() == typ {
			return m
		}
	}
}

func sendJSON(t *testing.T, c *websocket.Conn, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	require.NoError(t, c.WriteMessage(websocket.TextMessage, b))
}

// httpGet issues a request with an optional Host override.
func httpGet(t *testing.T, s *Server, path, host string, hdr http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+s.Addr()+path, nil)
	require.NoError(t, err)
	for k, v := range hdr {
		req.Header[k] = v
	}
	if host != "" {
		req.Host = host
	}
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := cl.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

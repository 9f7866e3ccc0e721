package feed

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWebSocketToken(t *testing.T) {
	s, _ := startServer(t, Config{}, nil)
	tests := []struct {
		name   string
		opts   dialOpts
		status int
	}{
		{"query token", dialOpts{}, http.StatusSwitchingProtocols},
		{"bearer header", dialOpts{bearer: true, origin: "-"}, http.StatusSwitchingProtocols},
		{"no token", dialOpts{token: "-"}, http.StatusUnauthorized},
		{"wrong token", dialOpts{token: "0123456789abcdef0123456789abcdeX"}, http.StatusUnauthorized},
		{"token prefix", dialOpts{token: testToken[:10]}, http.StatusUnauthorized},
		{"wrong bearer", dialOpts{token: "nope", bearer: true}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, resp, err := dialRaw(t, s, tt.opts)
			require.NotNil(t, resp, "%v", err)
			assert.Equal(t, tt.status, resp.StatusCode)
			if tt.status == http.StatusSwitchingProtocols {
				require.NoError(t, err)
				assert.Equal(t, "hello", readMsg(t, c).typ())
			} else {
				require.Error(t, err)
			}
		})
	}
}

func TestPageToken(t *testing.T) {
	s, _ := startServer(t, Config{}, nil)
	tests := []struct {
		name   string
		path   string
		hdr    http.Header
		status int
		ctype  string
		body   string // part of the body
	}{
		{"page with token", "/?token=" + testToken, nil, http.StatusOK, "text/html; charset=utf-8", `id="conn"`},
		{"page with bearer", "/", http.Header{"Authorization": {"Bearer " + testToken}}, http.StatusOK, "text/html; charset=utf-8", "Panic"},
		{"page without token", "/", nil, http.StatusUnauthorized, "", "Unauthorized"},
		{"page wrong token", "/?token=guess", nil, http.StatusUnauthorized, "", "Unauthorized"},
		{"script needs no token", "/app.js", nil, http.StatusOK, "text/javascript; charset=utf-8", "new WebSocket"},
		{"kinds need no token", "/kinds.js", nil, http.StatusOK, "text/javascript; charset=utf-8", "const cueroomKinds"},
		{"style needs no token", "/app.css", nil, http.StatusOK, "text/css; charset=utf-8", "body"},
		{"unknown path", "/etc/passwd?token=" + testToken, nil, http.StatusNotFound, "", "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := httpGet(t, s, tt.path, "", tt.hdr)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Contains(t, string(body), tt.body)
			assert.NotContains(t, string(body), testToken, "the token leaked")
			if tt.ctype != "" {
				assert.Equal(t, tt.ctype, resp.Header.Get("Content-Type"))
				assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")
				assert.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"))
			}
			if tt.status == http.StatusUnauthorized {
				assert.Equal(t, "Unauthorized\n", string(body), "no detail for a refused request")
			}
		})
	}
}

func TestPageMethod(t *testing.T) {
	s, _ := startServer(t, Config{}, nil)
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Post("http://"+s.Addr()+"/?token="+testToken, "text/plain", strings.NewReader("x"))
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestHostHeader(t *testing.T) {
	s, _ := startServer(t, Config{}, nil)
	_, port, err := net.SplitHostPort(s.Addr())
	require.NoError(t, err)
	tests := []struct {
		host string
		ok   bool
	}{
		{s.Addr(), true},
		{"localhost:" + port, true},
		{"LOCALHOST:" + port, true},
		{"127.0.0.1:" + port, true},
		{"[::1]:" + port, true},
		{"127.0.0.2:" + port, true}, // loopback
		{"evil.example:" + port, false},
		{"localhost.evil.example:" + port, false},
		{"localhost", false}, // wrong (default) port
		{"localhost:1", false},
		{"192.168.1.10:" + port, false}, // not our interface
		{"[fe80::1%25eth0]:" + port, false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			resp := httpGet(t, s, "/?token="+testToken, tt.host, nil)
			if tt.host == "" {
				// net/http fills in the URL's host; ask the checker directly.
				assert.False(t, s.hostAllowed(""))
				return
			}
			if tt.ok {
				assert.Equal(t, http.StatusOK, resp.StatusCode)
			} else {
				assert.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode)
			}
			// The socket is guarded the same way (same origin as the host).
			_, wresp, _ := dialRaw(t, s, dialOpts{host: tt.host, origin: "http://" + tt.host})
			require.NotNil(t, wresp)
			if tt.ok {
				assert.Equal(t, http.StatusSwitchingProtocols, wresp.StatusCode)
			} else {
				assert.Equal(t, http.StatusMisdirectedRequest, wresp.StatusCode)
			}
		})
	}
}

func TestHostAllowedWhenListeningEverywhere(t *testing.T) {
	s := &Server{port: "7878", hostIP: net.IPv4zero}
	assert.True(t, s.hostAllowed("192.168.1.10:7878"))
	assert.True(t, s.hostAllowed("[2001:db8::1]:7878"))
	assert.False(t, s.hostAllowed("192.168.1.10:7879"))
	assert.False(t, s.hostAllowed("cueroom.lan:7878"), "names can be rebound; only IPs")
}

func TestOrigin(t *testing.T) {
	s, _ := startServer(t, Config{AllowedOrigins: []string{"https://dash.example", "http://LOCALHOST:9000"}}, nil)
	tests := []struct {
		name   string
		origin string
		header http.Header
		ok     bool
	}{
		{"same origin", "", nil, true},
		{"same origin, trailing slash", "http://" + s.Addr() + "/", nil, true},
		{"allowed extra", "https://dash.example", nil, true},
		{"allowed extra, default port", "https://dash.example:443", nil, true},
		{"allowed extra, case", "http://localhost:9000", nil, true},
		{"cross origin", "http://evil.example", nil, false},
		{"other port", "http://127.0.0.1:1", nil, false},
		{"https on our host", "https://" + s.Addr(), nil, false},
		{"null origin", "null", nil, false},
		{"origin with path", "http://" + s.Addr() + "/x", nil, false},
		{"tool without origin", "-", nil, true},
		{"browser without origin", "-", http.Header{"Sec-Fetch-Mode": {"websocket"}}, false},
		{"browser without origin, site", "-", http.Header{"Sec-Fetch-Site": {"cross-site"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, resp, err := dialRaw(t, s, dialOpts{origin: tt.origin, header: tt.header})
			require.NotNil(t, resp, "%v", err)
			if tt.ok {
				require.NoError(t, err)
				assert.Equal(t, "hello", readMsg(t, c).typ())
			} else {
				require.Error(t, err)
				assert.Equal(t, http.StatusForbidden, resp.StatusCode)
			}
		})
	}
}

func TestTwoOriginHeadersRefused(t *testing.T) {
	s, _ := startServer(t, Config{}, nil)
	r, err := http.NewRequest(http.MethodGet, "http://"+s.Addr()+"/ws", nil)
	require.NoError(t, err)
	r.Host = s.Addr()
	r.Header["Origin"] = []string{"http://" + s.Addr(), "http://evil.example"}
	assert.False(t, s.originAllowed(r))
}

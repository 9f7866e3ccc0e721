package feed

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const obsToken = "fedcba9876543210fedcba9876543210"

// auditLog collects audit entries in order.
type auditLog struct{ ch chan AuditEntry }

func newAuditLog() *auditLog { return &auditLog{ch: make(chan AuditEntry, 64)} }

func (a *auditLog) add(e AuditEntry) { a.ch <- e }

func (a *auditLog) next(t *testing.T) AuditEntry {
	t.Helper()
	select {
	case e := <-a.ch:
		assert.WithinDuration(t, time.Now(), e.Time, time.Minute)
		e.Time = time.Time{}
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no audit entry")
		return AuditEntry{}
	}
}

func TestRolesAndAudit(t *testing.T) {
	audit := newAuditLog()
	applied := make(chan Command, 4)
	s, _ := startServer(t, Config{
		ObserverToken: obsToken,
		Audit:         audit.add,
		OnCommand: func(c Command) Ack {
			applied <- c
			if c.Cmd == CmdNext {
				return Ack{Error: "already at the last step"}
			}
			return Ack{OK: true}
		},
	}, nil)

	ctl := dial(t, s)
	hello := readType(t, ctl, "hello")
	assert.Equal(t, RoleControl, hello["role"])
	e := audit.next(t)
	assert.Equal(t, AuditEntry{Event: AuditConnect, Client: "c1", Remote: e.Remote, Role: RoleControl, OK: true}, e)
	assert.True(t, strings.HasPrefix(e.Remote, "127.0.0.1:"), e.Remote)

	obs, _, err := dialRaw(t, s, dialOpts{token: obsToken})
	require.NoError(t, err)
	assert.Equal(t, RoleObserve, readType(t, obs, "hello")["role"])
	assert.Equal(t, AuditConnect, audit.next(t).Event)

	// The observer's command is refused, never reaches the session, and is audited.
	sendJSON(t, obs, map[string]any{"type": "command", "id": "o1", "cmd": "pause"})
	m := readType(t, obs, "error")
	assert.Equal(t, "forbidden", m["code"])
	assert.Equal(t, "o1", m["id"])
	assert.Contains(t, m["error"], "observe-only")
	e = audit.next(t)
	assert.Equal(t, AuditEntry{Event: AuditCommand, Client: "c2", Remote: e.Remote, Role: RoleObserve, Cmd: CmdPause, ID: "o1",
		Result: "this dashboard is observe-only (opened with the observer link); commands need the therapist's control link"}, e)

	// The controller's commands are applied and audited with their result.
	sendJSON(t, ctl, map[string]any{"type": "command", "id": "k1", "cmd": "marker", "args": map[string]any{"text": "urge 7"}})
	assert.Equal(t, true, readType(t, ctl, "ack")["ok"])
	c := <-applied
	assert.Equal(t, CmdMarker, c.Cmd)
	assert.Equal(t, AuditEntry{Event: AuditCommand, Client: "c1", Remote: e.Remote, Role: RoleControl, Cmd: CmdMarker, ID: "k1",
		Args: map[string]any{"text": "urge 7"}, OK: true}, withRemote(audit.next(t), e.Remote))
	sendJSON(t, ctl, map[string]any{"type": "command", "id": "k2", "cmd": "next"})
	assert.Equal(t, false, readType(t, ctl, "ack")["ok"])
	<-applied
	e = audit.next(t)
	assert.Equal(t, "k2", e.ID)
	assert.False(t, e.OK)
	assert.Equal(t, "already at the last step", e.Result)
	select {
	case c := <-applied:
		t.Fatalf("the observer's command reached the session: %v", c)
	default:
	}

	// A wrong token is audited as refused; leaving is audited too.
	_, resp, err := dialRaw(t, s, dialOpts{token: "wrong"})
	require.Error(t, err)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	e = audit.next(t)
	assert.Equal(t, AuditRefused, e.Event)
	assert.Equal(t, "missing or wrong token", e.Result)

	require.NoError(t, obs.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second)))
	e = audit.next(t)
	assert.Equal(t, AuditDisconnect, e.Event)
	assert.Equal(t, "c2", e.Client)
	assert.Equal(t, RoleObserve, e.Role)
}

func withRemote(e AuditEntry, r string) AuditEntry { e.Remote = r; return e }

func TestObserverPageAndURLs(t *testing.T) {
	s, _ := startServer(t, Config{ObserverToken: obsToken}, nil)
	assert.Equal(t, "http://"+s.Addr()+"/?token="+testToken, s.URL())
	assert.Equal(t, "http://"+s.Addr()+"/?token="+obsToken, s.ObserverURL())
	resp := httpGet(t, s, "/?token="+obsToken, "", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestNewTokensAndTLSRequired(t *testing.T) {
	cert, _, err := SelfSigned(nil)
	require.NoError(t, err)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"same tokens", Config{Listen: "127.0.0.1:0", Token: testToken, ObserverToken: testToken}, "must differ"},
		{"everywhere without TLS", Config{Listen: "0.0.0.0:0"}, "needs TLS"},
		{"LAN address without TLS", Config{Listen: "192.168.1.20:7878"}, "needs TLS"},
		{"TLS without certificate", Config{Listen: "0.0.0.0:0", TLS: &tls.Config{}}, "no certificate"},
		{"everywhere with TLS", Config{Listen: "0.0.0.0:0", TLS: tlsCfg}, ""},
		{"localhost", Config{Listen: "localhost:0"}, ""},
		{"ipv6 loopback", Config{Listen: "[::1]:0"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.cfg)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Len(t, s.cfg.ObserverToken, 32, "a generated observer token")
			assert.NotEqual(t, s.cfg.Token, s.cfg.ObserverToken)
		})
	}
}

func TestSelfSignedFingerprint(t *testing.T) {
	cert, fp, err := SelfSigned([]string{"192.168.1.20", "therapy-pc.local", "0.0.0.0", "[fe80::1]"})
	require.NoError(t, err)
	assert.Regexp(t, regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`), fp)
	again, err := Fingerprint(cert)
	require.NoError(t, err)
	assert.Equal(t, fp, again)
	leaf := cert.Leaf
	require.NotNil(t, leaf)
	assert.ElementsMatch(t, []string{"localhost", "therapy-pc.local"}, leaf.DNSNames)
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	assert.ElementsMatch(t, []string{"127.0.0.1", "::1", "192.168.1.20", "fe80::1"}, ips)
	assert.WithinDuration(t, time.Now().Add(30*24*time.Hour), leaf.NotAfter, time.Minute)

	_, _, err = SelfSigned([]string{"http://x/"})
	require.Error(t, err)
	_, err = Fingerprint(tls.Certificate{})
	require.Error(t, err)
}

// Over TLS the page and the socket work with the self-signed certificate,
// the URL says https, and only an https Origin of the page is accepted.
func TestTLSServer(t *testing.T) {
	cert, _, err := SelfSigned(nil)
	require.NoError(t, err)
	s, _ := startServer(t, Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}}, nil)
	require.True(t, strings.HasPrefix(s.URL(), "https://127.0.0.1:"), s.URL())
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	clientTLS := &tls.Config{RootCAs: roots}

	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: clientTLS}}
	resp, err := cl.Get(s.URL())
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "HTTP/1.1", resp.Proto)

	// Plain HTTP to the TLS port gets nothing useful.
	plain := &http.Client{Timeout: 5 * time.Second}
	if resp, err := plain.Get("http://" + s.Addr() + "/?token=" + testToken); err == nil {
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	}

	d := websocket.Dialer{TLSClientConfig: clientTLS, HandshakeTimeout: 5 * time.Second}
	u := "wss://" + s.Addr() + "/ws?token=" + url.QueryEscape(testToken)
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"https://" + s.Addr(), true},
		{"http://" + s.Addr(), false},
	} {
		c, resp, err := d.Dial(u, http.Header{"Origin": {tc.origin}})
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		if !tc.ok {
			require.Error(t, err, tc.origin)
			assert.Equal(t, http.StatusForbidden, resp.StatusCode)
			continue
		}
		require.NoError(t, err, tc.origin)
		assert.Equal(t, "hello", readMsg(t, c).typ())
		c.Close()
	}
}

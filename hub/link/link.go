// Package link is how a station and `cueroom archive` dial the hub: the
// leaf node remote (credentials, TLS pinned to the hub's certificate) and
// the embedded server's log, which keeps why the hub refused.
package link

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/cueroom/cueroom/hub/wire"
)

// LeafRemote is the leaf node remote for the hub URL: credentials from the
// creds file, TLS (pinned to the hub's certificate when the creds say) for
// tls:// or when the creds pin one. shown is the URL without secrets.
func LeafRemote(hub string, creds *wire.Creds) (*server.RemoteLeafOpts, string, error) {
	u, err := url.Parse(hub)
	if err != nil || u.Host == "" || u.Port() == "" {
		return nil, "", fmt.Errorf("--hub %q: write nats://HOST:PORT (or tls://HOST:PORT), as the hub printed it", hub)
	}
	switch u.Scheme {
	case "nats", "tls":
	default:
		return nil, "", fmt.Errorf("--hub %q: write nats://HOST:PORT (or tls://HOST:PORT), as the hub printed it", hub)
	}
	u.Path, u.RawQuery, u.Fragment = "", "", ""
	shown := u.Scheme + "://" + u.Host
	r := &server.RemoteLeafOpts{DialTimeout: 2 * time.Second, FirstInfoTimeout: 2 * time.Second}
	if creds != nil {
		u.User = url.UserPassword(creds.User, creds.Password)
	}
	if u.Scheme == "tls" || (creds != nil && creds.Fingerprint != "") {
		r.TLS = true
		fp := ""
		if creds != nil {
			fp = creds.Fingerprint
		}
		r.TLSConfig = wire.ClientTLS(fp)
		u.Scheme = "tls"
	}
	r.URLs = []*url.URL{u}
	return r, shown, nil
}

// LeafLog is the log of an embedded server that dials a hub: silent, but
// it keeps the last reason the hub turned the connection down (wrong
// credentials, a certificate that is not the hub's), in words.
type LeafLog struct {
	mu      sync.Mutex
	problem string
}

// Problem is why the hub refused the connection ("" if it did not).
func (l *LeafLog) Problem() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.problem
}

func (l *LeafLog) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	low := strings.ToLower(msg)
	var why string
	switch {
	case strings.Contains(low, "authorization violation"):
		why = "authorization violation (wrong or missing credentials)"
	case strings.Contains(low, "fingerprint"):
		why = msg[strings.Index(low, "the hub's certificate"):]
	case strings.Contains(low, "x509") || strings.Contains(low, "certificate"):
		why = "its TLS certificate is not trusted: use the credentials file the hub made for this station, which pins it"
	default:
		return
	}
	l.mu.Lock()
	l.problem = why
	l.mu.Unlock()
}

func (l *LeafLog) Noticef(string, ...any) {}
func (l *LeafLog) Warnf(string, ...any)   {}
func (l *LeafLog) Fatalf(string, ...any)  {}
func (l *LeafLog) Debugf(string, ...any)  {}
func (l *LeafLog) Tracef(string, ...any)  {}

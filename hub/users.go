package hub

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/cueroom/cueroom/hub/station"
	"github.com/cueroom/cueroom/hub/wire"
)

// ReaderCreds is the file name of the reader credentials (archive ls/get)
// in DataDir/creds.
const ReaderCreds = "reader.creds"

// objAPI are the hub's JetStream API subjects the archive's Object Store
// client uses on one bucket, and no others (no stream may be deleted,
// purged or changed).
func objAPI(bucket string) []string {
	s := "OBJ_" + bucket
	return []string{
		"$JS.hub.API.STREAM.INFO." + s,
		"$JS.hub.API.STREAM.MSG.GET." + s,
		"$JS.hub.API.DIRECT.GET." + s,
		"$JS.hub.API.DIRECT.GET." + s + ".>",
		"$JS.hub.API.CONSUMER.CREATE." + s,
		"$JS.hub.API.CONSUMER.CREATE." + s + ".>",
		"$JS.hub.API.CONSUMER.DELETE." + s + ".>",
		"$JS.hub.API.CONSUMER.INFO." + s + ".>",
		"$JS.hub.API.CONSUMER.MSG.NEXT." + s + ".>",
	}
}

// stationPerms: a station publishes only under its own subjects, into its
// own archive bucket (not another station's; and it may not purge or
// delete it, so an archived file is never removed: archive.Put refuses to
// replace one) and the replies to the hub's JetStream requests to its own
// domain (which source its stream); it receives only its commands, the
// replies to its own requests, the hub's requests to its JetStream domain
// and the flow control of its own stream's consumer.
func stationPerms(c wire.Creds) *server.Permissions {
	subj := wire.Subjects{Site: c.Site, Station: c.Station}
	b := wire.StationBucket(c.Site, c.Station)
	pub := append([]string{subj.All(), "$O." + b + ".>"}, objAPI(b)...)
	// The archive's Object Store reads (Get of a manifest) may ask the
	// station's client for flow control replies on the hub's consumers.
	pub = append(pub, "$JS.FC.OBJ_"+b+".>")
	subs := []string{subj.Cmd(), subj.Inbox() + ".>", subj.TunnelOpen(), subj.TunnelUp("*")}
	if c.Instance != "" {
		d := wire.Domain(c.Instance)
		// Scoped by domain: the hub asks with js_api_reply_v2 replies and
		// the station's server sends js_ack_fc_v2 flow control (see
		// station.options), so no station answers or hears another's.
		pub = append(pub, "$JSC.R."+d+".>")
		subs = append(subs, "$JS."+d+".API.>", "$JS.FC."+d+".>")
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: pub},
		Subscribe: &server.SubjectPermission{Allow: subs},
	}
}

// readerPerms: archive ls/get of every station's bucket, nothing else.
func readerPerms(c wire.Creds, buckets []string) *server.Permissions {
	pub := []string{"$JS.hub.API.STREAM.NAMES"}
	for _, b := range buckets {
		pub = append(pub, objAPI(b)...)
		pub = append(pub, "$JS.FC.OBJ_"+b+".>")
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: pub},
		Subscribe: &server.SubjectPermission{Allow: []string{wire.ReaderInbox(c.User) + ".>"}},
	}
}

func (h *Hub) credsDir() string { return filepath.Join(h.cfg.DataDir, "creds") }

func (h *Hub) loadUsers() error {
	files, err := filepath.Glob(filepath.Join(h.credsDir(), "*.creds"))
	if err != nil {
		return err
	}
	for _, f := range files {
		c, err := wire.ReadCreds(f)
		if err != nil {
			return fmt.Errorf("hub: %w", err)
		}
		h.users[c.User] = c
		h.noteBucket(c)
	}
	return nil
}

// noteBucket counts a station's archive bucket among those readers may
// read (h.mu held).
func (h *Hub) noteBucket(c wire.Creds) {
	if c.Station != "" {
		h.buckets[wire.StationBucket(c.Site, c.Station)] = true
	}
}

// userList is the server's users: none (no credentials asked) until a
// station or reader has credentials, then the hub's own and theirs.
func (h *Hub) userList() []*server.User {
	if len(h.users) == 0 {
		return nil
	}
	us := []*server.User{h.internal}
	names := make([]string, 0, len(h.users))
	for n := range h.users {
		names = append(names, n)
	}
	sort.Strings(names)
	bl := make([]string, 0, len(h.buckets))
	for b := range h.buckets {
		bl = append(bl, b)
	}
	sort.Strings(bl)
	for _, n := range names {
		c := h.users[n]
		p := readerPerms(c, bl)
		if c.Station != "" {
			p = stationPerms(c)
		}
		us = append(us, &server.User{Username: c.User, Password: c.Password, Permissions: p})
	}
	return us
}

func (h *Hub) stationCreds(site, st string) (wire.Creds, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.users {
		if c.Site == site && c.Station == st {
			return c, true
		}
	}
	return wire.Creds{}, false
}

// AddStation makes (once) the credentials of station site/name and
// returns their file, to copy to the station (cueroom run --creds FILE).
// From then on the hub asks every station for credentials.
func (h *Hub) AddStation(site, name string) (string, error) {
	if site == "" {
		site = wire.DefaultSite
	}
	if err := wire.ValidName("site", site); err != nil {
		return "", err
	}
	if err := wire.ValidName("station", name); err != nil {
		return "", err
	}
	return h.addUser(site+"."+name+".creds", wire.Creds{User: site + "." + name, Site: site, Station: name, Instance: station.NewInstance()})
}

// AddReader makes (once) the reader credentials (archive ls/get only).
func (h *Hub) AddReader() (string, error) {
	return h.addUser(ReaderCreds, wire.Creds{User: "reader"})
}

func (h *Hub) addUser(file string, c wire.Creds) (string, error) {
	p := filepath.Join(h.credsDir(), file)
	if old, err := wire.ReadCreds(p); err == nil {
		if old.Fingerprint != h.leafFingerprint() {
			// The certificate was renewed: the file must pin the new one.
			old.Fingerprint = h.leafFingerprint()
			if err := wire.WriteCreds(p, old); err != nil {
				return "", err
			}
		}
		return p, nil
	}
	pw := make([]byte, 24)
	_, _ = rand.Read(pw)
	c.Password = hex.EncodeToString(pw)
	c.Fingerprint = h.leafFingerprint()
	if err := wire.WriteCreds(p, c); err != nil {
		return "", fmt.Errorf("hub: %w", err)
	}
	h.mu.Lock()
	h.users[c.User] = c
	h.noteBucket(c)
	h.mu.Unlock()
	if err := h.reload(); err != nil {
		return "", err
	}
	return p, nil
}

// leafFingerprint is what station credentials pin ("" when the leaf
// listener is plain: loopback).
func (h *Hub) leafFingerprint() string {
	// A certificate given with --tls-cert is checked against the system's
	// roots (it is renewed without telling the stations); the self-signed
	// one is pinned.
	if !strings.HasPrefix(h.natsURL, "tls://") || h.cfg.TLSCert != "" {
		return ""
	}
	return h.fingerprint
}

// reload applies the users (credentials and permissions) as they are now
// to the running server. One at a time, each with the latest list: two
// changes at once (a station's first hello, a new credential) must not
// apply an older list last.
func (h *Hub) reload() error {
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	h.mu.Lock()
	users := h.userList()
	h.mu.Unlock()
	o := *h.opts
	o.Users = users
	o.LeafNode.Remotes = nil
	if err := h.srv.ReloadOptions(&o); err != nil {
		return fmt.Errorf("hub: applying the new credentials: %w", err)
	}
	h.opts = &o
	return nil
}

// loadTLS is the certificate of the listeners beyond loopback: the given
// one, or a self-signed one made once and kept in DataDir/tls (stations
// pin its fingerprint: it must survive restarts).
func loadTLS(cfg Config) (*tls.Config, string, error) {
	var cert tls.Certificate
	var err error
	if cfg.TLSCert != "" {
		if cfg.TLSKey == "" {
			return nil, "", errors.New("--tls-cert needs --tls-key, the certificate's private key")
		}
		cert, err = tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, "", fmt.Errorf("--tls-cert %s / --tls-key %s: %v", cfg.TLSCert, cfg.TLSKey, err)
		}
	} else {
		dir := filepath.Join(cfg.DataDir, "tls")
		cp, kp := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		cert, err = tls.LoadX509KeyPair(cp, kp)
		if err == nil {
			if leaf, perr := x509.ParseCertificate(cert.Certificate[0]); perr != nil || time.Until(leaf.NotAfter) < 30*24*time.Hour {
				err = errors.New("expiring")
			}
		}
		if err != nil {
			if cert, err = selfSigned(cfg, cp, kp); err != nil {
				return nil, "", err
			}
		}
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, wire.Fingerprint(cert.Certificate[0]), nil
}

// selfSigned makes the hub's certificate (ECDSA P-256, 5 years: stations
// pin it, so it is not renewed often) for the listen hosts, this
// machine's name and addresses, and loopback. Like engine/feed.SelfSigned
// but long-lived and kept on disk.
func selfSigned(cfg Config, certFile, keyFile string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"cueroom"}, CommonName: "cueroom hub"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(5 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	for _, l := range []string{cfg.NATSListen, cfg.MonitorListen} {
		if h, _, err := net.SplitHostPort(l); err == nil {
			hosts = append(hosts, h)
		}
	}
	if n, err := os.Hostname(); err == nil {
		hosts = append(hosts, n)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				hosts = append(hosts, n.IP.String())
			}
		}
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		h = strings.Trim(h, "[]")
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			if !ip.IsUnspecified() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if !strings.ContainsAny(h, " /:@") {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		return tls.Certificate{}, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.LoadX509KeyPair(certFile, keyFile)
}

package feed

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/cueroom/cueroom/internal/certfp"
)

// Audit events.
const (
	AuditConnect    = "connect"    // a dashboard connected (Role says with which token)
	AuditDisconnect = "disconnect" // it left or was dropped (Result says why)
	AuditRefused    = "refused"    // a connection was refused (token, origin...)
	AuditCommand    = "command"    // a command and its result (OK, Result)
)

// AuditEntry is one line of the audit log (Config.Audit). Its JSON form is
// what cueroom writes to the session folder.
type AuditEntry struct {
	Time   time.Time      `json:"time"`
	Event  string         `json:"event"`            // one of the Audit constants
	Client string         `json:"client,omitempty"` // "c7": the connection, as in hello and Command.From
	Remote string         `json:"remote"`           // peer address, ip:port
	Role   string         `json:"role,omitempty"`   // RoleControl or RoleObserve
	Cmd    string         `json:"cmd,omitempty"`    // command events
	ID     string         `json:"id,omitempty"`     // the command's id
	Args   map[string]any `json:"args,omitempty"`   // the command's validated args
	OK     bool           `json:"ok"`               // applied / connected
	Result string         `json:"result,omitempty"` // why not applied, why refused or disconnected
	// Count (refused): how many refusals the entry stands for; more than 1
	// for the summary of those not written one by one (rate limit).
	Count int `json:"count,omitempty"`
}

// audit hands e to Config.Audit, one at a time.
func (s *Server) audit(e AuditEntry) {
	if s.cfg.Audit == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	s.cfg.Audit(e)
}

// scheme is "https" when serving TLS.
func (s *Server) scheme() string {
	if s.tlsCfg != nil {
		return "https"
	}
	return "http"
}

// isLoopback says whether a listen host only reaches this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SelfSigned makes a certificate for hosts (IP addresses or DNS names; the
// loopback names are always added), valid for 30 days, and its SHA-256
// fingerprint. Print the fingerprint: the therapist compares it with the one
// the browser shows before accepting the certificate.
func SelfSigned(hosts []string) (tls.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("feed: cannot generate a TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("feed: cannot generate a serial number: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"cueroom"}, CommonName: "cueroom dashboard"},
		NotBefore:             now.Add(-time.Hour), // tolerate a slightly wrong client clock
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	seen := map[string]bool{}
	for _, h := range append([]string{"localhost", "127.0.0.1", "::1"}, hosts...) {
		h = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(h), "["), "]")
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			if !ip.IsUnspecified() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
			continue
		}
		if strings.ContainsAny(h, " /:@") {
			return tls.Certificate{}, "", fmt.Errorf("feed: %q is neither an IP address nor a host name", h)
		}
		tmpl.DNSNames = append(tmpl.DNSNames, h)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("feed: cannot create the certificate: %w", err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: tmpl}
	if leaf, err := x509.ParseCertificate(der); err == nil {
		cert.Leaf = leaf
	}
	fp, _ := Fingerprint(cert)
	return cert, fp, nil
}

// Fingerprint is the SHA-256 of a certificate's leaf (DER), as browsers show
// it: upper-case hex pairs separated by colons.
func Fingerprint(cert tls.Certificate) (string, error) {
	if len(cert.Certificate) == 0 {
		return "", errors.New("feed: the certificate is empty")
	}
	return certfp.Of(cert.Certificate[0]), nil
}

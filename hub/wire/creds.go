package wire

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cueroom/cueroom/internal/certfp"
)

// Creds is a credentials file (JSON): what a station or `cueroom archive`
// needs to join a hub that asks for credentials. The hub writes one per
// station (cueroom hub --add-station SITE/NAME) and one for readers.
type Creds struct {
	User     string `json:"user"`
	Password string `json:"password"`
	// Site and Station: the only station these credentials may be
	// (empty for a reader: archive ls/get).
	Site    string `json:"site,omitempty"`
	Station string `json:"station,omitempty"`
	// Instance is the station's id (its JetStream domain is Domain(Instance)):
	// the hub's permissions name that domain.
	Instance string `json:"instance,omitempty"`
	// Fingerprint is the SHA-256 of the hub's TLS certificate (AB:CD:...),
	// pinned: a self-signed hub certificate is trusted by it alone.
	Fingerprint string `json:"hub_fingerprint,omitempty"`
}

// ReadCreds reads a credentials file.
func ReadCreds(path string) (Creds, error) {
	var c Creds
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("--creds: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("--creds %s: not a cueroom credentials file: %v", path, err)
	}
	if c.User == "" || c.Password == "" {
		return c, fmt.Errorf("--creds %s: no user or password in it", path)
	}
	return c, nil
}

// WriteCreds writes c to path, readable by its owner only.
func WriteCreds(path string, c Creds) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// Fingerprint is the SHA-256 of a DER certificate as browsers show it
// (upper-case hex pairs separated by colons), the same as the dashboard's.
func Fingerprint(der []byte) string { return certfp.Of(der) }

// ClientTLS is the TLS a station or reader uses to reach the hub: pinned
// to fingerprint when given (a self-signed hub), the system's roots
// otherwise.
func ClientTLS(fingerprint string) *tls.Config {
	if fingerprint == "" {
		return &tls.Config{MinVersion: tls.VersionTLS12}
	}
	want := strings.ToUpper(strings.TrimSpace(fingerprint))
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The chain is not checked against roots: the pin below is the
		// check, and it is stricter (this one certificate only).
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("the hub sent no certificate")
			}
			if got := Fingerprint(raw[0]); got != want {
				return fmt.Errorf("the hub's certificate has fingerprint %s, not the %s the credentials pin: not the hub you set up, or its certificate was renewed (get new credentials)", got, want)
			}
			return nil
		},
	}
}

// ReaderInbox is the inbox prefix of a reader's connection (archive
// ls/get): its replies come there, and its credentials let it receive
// nothing else.
func ReaderInbox(user string) string { return "_CR." + Token(user) }

package feed

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
)

// TLSFor returns the TLS setting for a dashboard listening on listen: none
// on loopback; beyond it, the given certificate (PEM files), or a
// self-signed one made now. fingerprint is the certificate's SHA-256, to
// show the user, when TLS is used.
func TLSFor(listen, certFile, keyFile string) (conf *tls.Config, fingerprint string, err error) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, "", fmt.Errorf("--listen %q: write HOST:PORT, e.g. 127.0.0.1:7878", listen)
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	if loopback && certFile == "" {
		return nil, "", nil
	}
	var cert tls.Certificate
	var fp string
	if certFile != "" {
		if keyFile == "" {
			return nil, "", fmt.Errorf("--tls-cert needs --tls-key, the certificate's private key")
		}
		cert, err = tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, "", fmt.Errorf("--tls-cert %s / --tls-key %s: %v", certFile, keyFile, err)
		}
		fp, err = Fingerprint(cert)
	} else {
		hosts := []string{host}
		if h, herr := os.Hostname(); herr == nil {
			hosts = append(hosts, h)
		}
		if ip != nil && ip.IsUnspecified() {
			// Every interface: the printed URL names a LAN address.
			hosts = append(hosts, lanIPs()...)
		}
		cert, fp, err = SelfSigned(hosts)
	}
	if err != nil {
		return nil, "", err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, fp, nil
}

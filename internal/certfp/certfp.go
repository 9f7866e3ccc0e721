// Package certfp writes a certificate's SHA-256 fingerprint as browsers
// show it, so the dashboard, the hub and its stations print and pin the
// same string.
package certfp

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Of is the SHA-256 of a DER certificate: upper-case hex pairs separated
// by colons.
func Of(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

package contec

import (
	"io"
	"testing"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/internal/noise"
	"github.com/stretchr/testify/assert"
)

// Issue #12: 10 s of random bytes on the line (as fast as the protocol's
// baud rate carries them) must yield no sample, every byte counted as
// dropped.
func TestNoiseYieldsNoSamples(t *testing.T) {
	for _, proto := range []Protocol{ProtocolNew, ProtocolOld} {
		t.Run(string(proto), func(t *testing.T) {
			d := device(t, Config{Protocol: proto})
			b := noise.Bytes(noise.Seed, noise.LineBytes(d.SerialMode().BaudRate, 10))
			res := noise.Decode(t, b, func(r io.Reader) sensors.Decoder { return d.NewDecoder(r) })
			assert.Zero(t, res.Samples, "samples decoded from %d bytes of noise", res.Bytes)
			assert.Equal(t, uint64(res.Bytes), res.Dropped, "every byte of noise is dropped")
		})
	}
}

package bitalino

import (
	"fmt"
	"io"
	"testing"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/internal/noise"
	"github.com/stretchr/testify/assert"
)

// Issue #12: 10 s of random bytes on the line (as fast as 115200 baud
// carries them) must yield no sample, every byte counted as dropped.
func TestNoiseYieldsNoSamples(t *testing.T) {
	b := noise.Bytes(noise.Seed, noise.LineBytes(Baud, 10))
	for n := 1; n <= MaxAnalog; n++ {
		t.Run(fmt.Sprintf("%dch", n), func(t *testing.T) {
			d := rawDevice(t, n)
			res := noise.Decode(t, b, func(r io.Reader) sensors.Decoder { return d.NewDecoder(r) })
			assert.Zero(t, res.Samples, "samples decoded from %d bytes of noise", res.Bytes)
			assert.Equal(t, uint64(res.Bytes), res.Dropped, "every byte of noise is dropped")
		})
	}
}

package shimmer

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
	for _, rate := range []float64{128, 1024} {
		for crc := range 3 {
			t.Run(fmt.Sprintf("%gHz/crc%d", rate, crc), func(t *testing.T) {
				d := device(t, Config{Rate: rate, CRC: crc})
				res := noise.Decode(t, b, func(r io.Reader) sensors.Decoder { return d.NewDecoder(r) })
				assert.Zero(t, res.Samples, "samples decoded from %d bytes of noise", res.Bytes)
				assert.Equal(t, uint64(res.Bytes), res.Dropped, "every byte of noise is dropped")
			})
		}
	}
}

package pulsesensor

import (
	"fmt"
	"io"
	"testing"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/internal/noise"
	"github.com/stretchr/testify/assert"
)

// Issue #12: 10 s of random bytes on the line (as fast as 115200 baud
// carries them) must yield no sample. Nearly every byte is dropped: a
// random line can still be blank or read as another sensor's, which is
// skipped rather than dropped.
func TestNoiseYieldsNoSamples(t *testing.T) {
	b := noise.Bytes(noise.Seed, noise.LineBytes(115200, 10))
	for _, mode := range []Mode{Plotter, Visualizer} {
		for _, sensor := range []int{0, 1, 3} {
			t.Run(fmt.Sprintf("%s/sensor%d", mode, sensor), func(t *testing.T) {
				d := device(t, Config{Mode: mode, Sensor: sensor})
				res := noise.Decode(t, b, func(r io.Reader) sensors.Decoder { return d.NewDecoder(r) })
				assert.Zero(t, res.Samples, "samples decoded from %d bytes of noise", res.Bytes)
				assert.GreaterOrEqual(t, res.Dropped, uint64(res.Bytes)*9/10, "bytes dropped")
			})
		}
	}
}

package lineproto

import (
	"io"
	"testing"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/internal/noise"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue #12: 10 s of random bytes on the line (as fast as the configured
// baud rate carries them) must yield no sample. Once the format is known
// (Grove), nearly every byte is dropped: a random line can still be blank,
// which is skipped. While the decoder still detects the format (Start
// normally has, and fails on noise with ErrNoLines), lines the detector
// passes over are not counted as dropped.
func TestNoiseYieldsNoSamples(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"grove", Config{Mode: Grove}},
		{"grove115200", Config{Mode: Grove, Baud: 115200}},
		{"csv", Config{Mode: CSV}},
		{"csv-columns", Config{Mode: CSV, Columns: []string{"eda", "hr"}}},
		{"kv", Config{Mode: KV}},
		{"auto", Config{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(tc.cfg)
			require.NoError(t, err)
			b := noise.Bytes(noise.Seed, noise.LineBytes(d.SerialMode().BaudRate, 10))
			res := noise.Decode(t, b, func(r io.Reader) sensors.Decoder { return d.NewDecoder(r) })
			assert.Zero(t, res.Samples, "samples decoded from %d bytes of noise", res.Bytes)
			if tc.cfg.Mode == Grove {
				assert.GreaterOrEqual(t, res.Dropped, uint64(res.Bytes)*9/10, "bytes dropped")
			}
		})
	}
}

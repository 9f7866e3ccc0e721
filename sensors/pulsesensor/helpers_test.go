package pulsesensor

import (
	"testing"

	"github.com/cueroom/cueroom/sensors"
	"github.com/stretchr/testify/require"
)

func device(t testing.TB, cfg Config) *Device {
	t.Helper()
	d, err := New(cfg)
	require.NoError(t, err)
	return d
}

func vals(s sensors.Sample) [3]float64 { return [3]float64(s.Values[:3]) }

// decodeAll runs a decoder to its end.
func decodeAll(t testing.TB, dec sensors.Decoder) ([]sensors.Sample, error) {
	t.Helper()
	var out []sensors.Sample
	for range 1 << 20 {
		s, err := dec.Next()
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
	t.Fatal("decoder never ended")
	return nil, nil
}

// crlf joins lines as a sketch prints them.
func crlf(lines ...string) string {
	out := ""
	for _, l := range lines {
		out += l + "\r\n"
	}
	return out
}

package bitalino

import (
	"testing"

	"github.com/cueroom/cueroom/sensors"
	"github.com/stretchr/testify/require"
)

func sensorsUS(v float64) sensors.Microsiemens { return sensors.Microsiemens(v) }
func sensorsMV(v float64) sensors.Millivolts   { return sensors.Millivolts(v) }

// frames encodes n-channel frames with consecutive sequence numbers from
// seq0 and values derived from the index.
func frames(t testing.TB, n, count int, seq0 uint8) ([]byte, []Frame) {
	t.Helper()
	var out []byte
	var fs []Frame
	for i := range count {
		f := Frame{Seq: (seq0 + uint8(i)) & 0x0F, N: n}
		for k := range n {
			f.ADC[k] = uint16((i*37 + k*101) % (1 << fieldBits(k)))
		}
		var err error
		out, err = AppendFrame(out, f)
		require.NoError(t, err)
		fs = append(fs, f)
	}
	return out, fs
}

func rawDevice(t testing.TB, n int) *Device {
	t.Helper()
	var in []Input
	for a := 1; a <= n; a++ {
		in = append(in, Input{Analog: a, Sensor: Raw})
	}
	d, err := New(Config{Inputs: in})
	require.NoError(t, err)
	return d
}

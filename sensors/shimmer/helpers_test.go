package shimmer

import (
	"testing"

	"github.com/cueroom/cueroom/sensors"
	"github.com/stretchr/testify/require"
)

// device returns a Device for cfg with no settle pause.
func device(t testing.TB, cfg Config) *Device {
	t.Helper()
	cfg.Settle = -1
	d, err := New(cfg)
	require.NoError(t, err)
	return d
}

// stream encodes count packets in the default layout (A13, GSR), one
// sample period of div ticks apart from ts0, with values derived from the
// index, and the given CRC mode.
func stream(t testing.TB, div uint16, count int, ts0 uint32, crc int) ([]byte, []Packet) {
	t.Helper()
	lay, err := newLayout([]byte{chanA13, chanGSR})
	require.NoError(t, err)
	var out []byte
	var ps []Packet
	for i := range count {
		p := Packet{Timestamp: (ts0 + uint32(i)*uint32(div)) & 0xFFFFFF,
			GSR: uint16(i%4)<<14 | uint16(700+i*37%3000), PPG: uint16(1000 + i*53%2000)}
		out = appendPacket(out, &lay, p, crc)
		ps = append(ps, p)
	}
	return out, ps
}

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

// want is what the decoder must make of p.
func want(p Packet, r GSRRange) [2]float64 {
	return [2]float64{float64(GSRuS(p.GSR, r)), float64(PPGmV(p.PPG))}
}

func sensorsUS(v float64) sensors.Microsiemens { return sensors.Microsiemens(v) }

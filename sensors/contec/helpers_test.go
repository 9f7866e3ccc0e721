package contec

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/cueroom/cueroom/sensors"
	"github.com/stretchr/testify/require"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

func device(t testing.TB, cfg Config) *Device {
	t.Helper()
	d, err := New(cfg)
	require.NoError(t, err)
	return d
}

// stream encodes count packets of the protocol with values derived from
// the index.
func stream(proto Protocol, count int) ([]byte, []Packet) {
	var out []byte
	var ps []Packet
	for i := range count {
		p := Packet{Pleth: uint8(i * 7 % 128), PR: uint8(60 + i%60), SpO2: uint8(90 + i%10), Strength: uint8(i % 8),
			Status: uint8(i % 3 * PulseBeat / 2)}
		if proto == ProtocolOld {
			p.Bar = uint8(i % 16)
			out = appendOld(out, p)
		} else {
			p.Wave2 = uint8(i * 3 % 128)
			out = appendNew(out, p)
		}
		ps = append(ps, p)
	}
	return out, ps
}

// wire is what the decoder makes of p once sent in the protocol: fields
// and flags the protocol lacks are lost.
func wire(proto Protocol, p Packet) [5]float64 {
	var q Packet
	if proto == ProtocolOld {
		q = parseOld(appendOld(nil, p))
	} else {
		q = parseNew(appendNew(nil, p))
	}
	return [5]float64{float64(q.Pleth), float64(q.PR), float64(q.SpO2), float64(q.Strength), float64(q.Status)}
}

func vals(s sensors.Sample) [5]float64 { return [5]float64(s.Values[:5]) }

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

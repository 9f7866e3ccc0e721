package contec

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeClean(t *testing.T) {
	for _, proto := range []Protocol{ProtocolNew, ProtocolOld} {
		t.Run(string(proto), func(t *testing.T) {
			data, ps := stream(proto, 100)
			for name, r := range map[string]io.Reader{
				"whole":    bytes.NewReader(data),
				"one byte": iotest.OneByteReader(bytes.NewReader(data)),
				"halves":   iotest.HalfReader(bytes.NewReader(data)),
				"data+EOF": iotest.DataErrReader(bytes.NewReader(data)),
			} {
				dec := device(t, Config{Name: "ox", Protocol: proto}).NewDecoder(r)
				got, err := decodeAll(t, dec)
				require.ErrorIs(t, err, io.EOF, name)
				require.Len(t, got, len(ps), name)
				for i, s := range got {
					require.Equal(t, uint32(i), s.Seq, "%s: a running packet counter", name)
					require.Equal(t, "ox", s.Device)
					require.Zero(t, s.T)
					require.Equal(t, 5, s.N)
					require.Equal(t, wire(proto, ps[i]), vals(s), "%s packet %d", name, i)
				}
				assert.Zero(t, dec.Dropped(), name)
			}
		})
	}
}

func TestDecodeResync(t *testing.T) {
	type tcase struct {
		name    string
		data    func(pk func(int) []byte, span func(int, int) []byte) []byte
		idx     []int // packets expected, by index
		dropped func(L int) int
	}
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	rng := func(from, to int) []int {
		var out []int
		for i := from; i < to; i++ {
			out = append(out, i)
		}
		return out
	}
	tests := []tcase{
		{"garbage before", func(pk func(int) []byte, span func(int, int) []byte) []byte {
			return join([]byte{0x01, 0xE0, 0x13, 0x99, 0x85}, span(0, 10))
		}, rng(0, 10), func(int) int { return 5 }},
		{"garbage between", func(pk func(int) []byte, span func(int, int) []byte) []byte {
			return join(span(0, 5), []byte{0xDE, 0x01, 0xBE}, span(5, 10))
		}, rng(0, 10), func(int) int { return 3 }},
		{"lost byte inside a packet", func(pk func(int) []byte, span func(int, int) []byte) []byte {
			return join(span(0, 3), pk(3)[1:], span(4, 10))
		}, append(rng(0, 3), rng(4, 10)...), func(L int) int { return L - 1 }},
		{"truncated packet mid-stream", func(pk func(int) []byte, span func(int, int) []byte) []byte {
			return join(span(0, 6), pk(6)[:3], span(7, 12))
		}, append(rng(0, 6), rng(7, 12)...), func(int) int { return 3 }},
		{"truncated tail", func(pk func(int) []byte, span func(int, int) []byte) []byte {
			return join(span(0, 6), pk(6)[:4])
		}, rng(0, 6), func(int) int { return 4 }},
		{"only garbage", func(pk func(int) []byte, span func(int, int) []byte) []byte {
			return bytes.Repeat([]byte{0xFF, 0x01, 0xE0, 0xFF}, 5)
		}, nil, func(int) int { return 20 }},
	}
	// The old protocol confirms a packet by the next one: damage after a
	// packet costs that packet too.
	oldCase := map[string]struct {
		idx     []int
		dropped func(L int) int
	}{
		"garbage between":             {append(rng(0, 4), rng(5, 10)...), func(L int) int { return 3 + L }},
		"lost byte inside a packet":   {append(rng(0, 2), rng(4, 10)...), func(L int) int { return 2*L - 1 }},
		"truncated packet mid-stream": {append(rng(0, 5), rng(7, 12)...), func(L int) int { return 3 + L }},
	}
	for _, proto := range []Protocol{ProtocolNew, ProtocolOld} {
		L := newLen
		if proto == ProtocolOld {
			L = oldLen
		}
		clean, ps := stream(proto, 40)
		pk := func(i int) []byte { return clean[i*L : (i+1)*L] }
		span := func(a, b int) []byte { return clean[a*L : b*L] }
		for _, tc := range tests {
			t.Run(string(proto)+"/"+tc.name, func(t *testing.T) {
				data := tc.data(pk, span)
				idx, dropped := tc.idx, tc.dropped
				if o, ok := oldCase[tc.name]; ok && proto == ProtocolOld {
					idx, dropped = o.idx, o.dropped
				}
				dec := device(t, Config{Protocol: proto}).NewDecoder(bytes.NewReader(data))
				got, err := decodeAll(t, dec)
				require.ErrorIs(t, err, io.EOF)
				require.Len(t, got, len(idx))
				for k, s := range got {
					assert.Equal(t, uint32(k), s.Seq)
					assert.Equal(t, wire(proto, ps[idx[k]]), vals(s), "packet %d", idx[k])
				}
				assert.Equal(t, uint64(dropped(L)), dec.Dropped())
				assert.Equal(t, len(data), len(got)*L+int(dec.Dropped()), "every byte is accounted for")
			})
		}
	}
}

// Old protocol: after a resync a packet-shaped run of garbage is not
// trusted unless a packet follows it; nor is a lone packet at the end.
func TestDecodeOldNeedsConfirmation(t *testing.T) {
	clean, ps := stream(ProtocolOld, 6)
	fake := []byte{0x85, 0x10, 0x20, 0x30, 0x40}
	data := bytes.Join([][]byte{fake, {0x13}, clean}, nil)
	dec := device(t, Config{Protocol: ProtocolOld}).NewDecoder(bytes.NewReader(data))
	got, err := decodeAll(t, dec)
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, got, 6)
	assert.Equal(t, wire(ProtocolOld, ps[0]), vals(got[0]))
	assert.Equal(t, uint64(6), dec.Dropped())

	lone := append([]byte{0x13}, clean[:oldLen]...)
	dec = device(t, Config{Protocol: ProtocolOld}).NewDecoder(bytes.NewReader(lone))
	got, err = decodeAll(t, dec)
	require.ErrorIs(t, err, io.EOF)
	assert.Empty(t, got)
	assert.Equal(t, uint64(1+oldLen), dec.Dropped())
}

func TestDecodeReaderFailures(t *testing.T) {
	boom := errors.New("boom")
	data, _ := stream(ProtocolNew, 4)
	t.Run("error after data", func(t *testing.T) {
		r := io.MultiReader(bytes.NewReader(data), iotest.ErrReader(boom))
		got, err := decodeAll(t, device(t, Config{}).NewDecoder(r))
		require.ErrorIs(t, err, boom)
		assert.Len(t, got, 4)
	})
	t.Run("error is sticky", func(t *testing.T) {
		dec := device(t, Config{}).NewDecoder(iotest.ErrReader(boom))
		for range 3 {
			_, err := dec.Next()
			require.ErrorIs(t, err, boom)
		}
	})
	t.Run("endless (0, nil) reads", func(t *testing.T) {
		_, err := device(t, Config{}).NewDecoder(zeroReader{}).Next()
		require.ErrorIs(t, err, io.ErrNoProgress)
	})
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

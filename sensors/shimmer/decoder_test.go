package shimmer

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeClean(t *testing.T) {
	for _, crc := range []int{0, 1, 2} {
		for _, r := range []GSRRange{GSRAuto, GSRRange1} {
			t.Run("crc"+strconv.Itoa(crc)+"_range_"+r.String(), func(t *testing.T) {
				const ts0 = 0xFFF000 // wraps 2²⁴ after 16 packets
				data, ps := stream(t, 256, 100, ts0, crc)
				for name, rd := range map[string]io.Reader{
					"whole":    bytes.NewReader(data),
					"one byte": iotest.OneByteReader(bytes.NewReader(data)),
					"halves":   iotest.HalfReader(bytes.NewReader(data)),
					"data+EOF": iotest.DataErrReader(bytes.NewReader(data)),
				} {
					d := device(t, Config{Name: "arm", CRC: crc, GSRRange: r}) // 128 Hz: 256 ticks
					dec := d.NewDecoder(rd)
					got, err := decodeAll(t, dec)
					require.ErrorIs(t, err, io.EOF, name)
					require.Len(t, got, len(ps), name)
					for i, s := range got {
						require.Equal(t, uint32(ts0+i*256), s.Seq, "%s sample %d: unwrapped timestamp", name, i)
						require.Equal(t, ps[i].Timestamp, s.Seq&0xFFFFFF, "%s sample %d: raw timestamp", name, i)
						require.Equal(t, "arm", s.Device)
						require.Zero(t, s.T, "the caller stamps T")
						require.Equal(t, 2, s.N)
						require.Equal(t, want(ps[i], r), [2]float64(s.Values[:2]), "%s sample %d", name, i)
					}
					assert.Zero(t, dec.Dropped(), name)
				}
			})
		}
	}
}

func TestDecodeResync(t *testing.T) {
	const div = 256
	for _, crc := range []int{0, 2} {
		L := 8 + crc
		clean, ps := stream(t, div, 200, 5000, crc)
		pk := func(i int) []byte { return clean[i*L : (i+1)*L] }
		span := func(from, to int) []byte { return clean[from*L : to*L] }
		join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
		seq := func(i int) uint32 { return uint32(5000 + i*div) }
		seqs := func(from, to int) []uint32 {
			var out []uint32
			for i := from; i < to; i++ {
				out = append(out, seq(i))
			}
			return out
		}
		corruptPPG := func(b []byte) []byte { // a bit flip only a CRC can see
			c := append([]byte(nil), b...)
			c[4] ^= 0x01
			return c
		}
		type tcase struct {
			name    string
			data    []byte
			seqs    []uint32
			dropped uint64
		}
		tests := []tcase{
			{"garbage before the stream", join([]byte{0x13, 0x00, 0x42, 0x00, 0x99}, span(0, 10)), seqs(0, 10), 5},
			{"garbage between packets", join(span(0, 5), []byte{0xDE, 0x00, 0xBE}, span(5, 10)), seqs(0, 10), 3},
			{"an in-stream ACK is skipped", join(span(0, 5), []byte{0xFF}, span(5, 10)), seqs(0, 10), 1},
			{"a stray packet out of sequence is not trusted", join(span(0, 5), pk(150), span(5, 10)), seqs(0, 10), uint64(L)},
			{"lost packets show as a timestamp gap", join(span(0, 5), span(8, 12)), append(seqs(0, 5), seqs(8, 12)...), 0},
			{"a long gap is confirmed by the next packet", join(span(0, 5), span(100, 104)), append(seqs(0, 5), seqs(100, 104)...), 0},
			{"lost byte inside a packet", join(span(0, 3), pk(3)[1:], span(4, 10)), append(seqs(0, 3), seqs(4, 10)...), uint64(L - 1)},
			{"truncated tail", join(span(0, 6), pk(6)[:L-1]), seqs(0, 6), uint64(L - 1)},
			{"truncated packet mid-stream", join(span(0, 6), pk(6)[:L/2], span(7, 12)), append(seqs(0, 6), seqs(7, 12)...), uint64(L / 2)},
			{"an ADC field with impossible bits is misaligned", join(span(0, 6), span(6, 7)[:5], span(7, 12)), append(seqs(0, 6), seqs(7, 12)...), 5},
			{"a lone packet at the very end after garbage is not trusted", join([]byte{0x55}, pk(7)), nil, 1 + uint64(L)},
			{"only garbage", bytes.Repeat([]byte{0xA5, 0x00, 0x5A}, 7), nil, 21},
		}
		if crc > 0 {
			tests = append(tests, tcase{"a CRC failure drops the packet", join(span(0, 4), corruptPPG(pk(4)), span(5, 10)),
				append(seqs(0, 4), seqs(5, 10)...), uint64(L)})
		} else {
			tests = append(tests, tcase{"without CRC a flipped value bit goes through", join(span(0, 4), corruptPPG(pk(4)), span(5, 10)),
				seqs(0, 10), 0})
		}
		for _, tc := range tests {
			t.Run("crc"+strconv.Itoa(crc)+"/"+tc.name, func(t *testing.T) {
				dec := device(t, Config{CRC: crc}).NewDecoder(bytes.NewReader(tc.data))
				got, err := decodeAll(t, dec)
				require.ErrorIs(t, err, io.EOF)
				var gotSeqs []uint32
				for _, s := range got {
					gotSeqs = append(gotSeqs, s.Seq)
					i := int(s.Seq-5000) / div
					if !(crc == 0 && i == 4 && tc.name[:7] == "without") {
						assert.Equal(t, want(ps[i], GSRAuto), [2]float64(s.Values[:2]), "values of packet %d", i)
					}
				}
				assert.Equal(t, tc.seqs, gotSeqs)
				assert.Equal(t, tc.dropped, dec.Dropped())
				assert.Equal(t, uint64(len(tc.data)), uint64(len(got)*L)+dec.Dropped(), "every byte is accounted for")
			})
		}
	}
}

// A timestamp step within the clock's jitter is in sequence; a lone packet
// off the grid of sample periods is not trusted.
func TestDecodeTimestampJitter(t *testing.T) {
	lay, err := newLayout([]byte{chanA13, chanGSR})
	require.NoError(t, err)
	var data []byte
	ts := []uint32{1000, 1256, 1511, 1769, 2025, 2153, 2270, 2526, 2782}
	for _, x := range ts {
		data = appendPacket(data, &lay, Packet{Timestamp: x, GSR: 2<<14 | 0x0123, PPG: 0x0456}, 0)
	}
	dec := device(t, Config{}).NewDecoder(bytes.NewReader(data))
	got, err := decodeAll(t, dec)
	require.ErrorIs(t, err, io.EOF)
	var seqs []uint32
	for _, s := range got {
		seqs = append(seqs, s.Seq)
	}
	assert.Equal(t, []uint32{1000, 1256, 1511, 1769, 2025, 2270, 2526, 2782}, seqs)
	assert.Equal(t, uint64(8), dec.Dropped())
}

// Bits a 12-bit ADC cannot set mark a misaligned read.
func TestDecodeFieldBits(t *testing.T) {
	lay, err := newLayout([]byte{chanA13, chanGSR})
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		p    Packet
		ok   bool
	}{
		{"12-bit values, range 3", Packet{GSR: 3<<14 | 0x0FFF, PPG: 0x0FFF}, true},
		{"PPG bit 12", Packet{GSR: 0x0100, PPG: 0x1000}, false},
		{"GSR bit 13", Packet{GSR: 0x2000, PPG: 0x0100}, false},
	} {
		dec := device(t, Config{}).newDecoder(nil)
		assert.Equal(t, tc.ok, dec.valid(appendPacket(nil, &lay, tc.p, 0)), tc.name)
	}
}

func TestDecodeReaderFailures(t *testing.T) {
	boom := errors.New("boom")
	data, _ := stream(t, 256, 4, 0, 0)
	t.Run("error after data", func(t *testing.T) {
		r := io.MultiReader(bytes.NewReader(data), iotest.ErrReader(boom))
		got, err := decodeAll(t, device(t, Config{}).NewDecoder(r))
		require.ErrorIs(t, err, boom)
		assert.Len(t, got, 4, "samples before the error are delivered")
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

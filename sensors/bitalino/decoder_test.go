package bitalino

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"testing"
	"testing/iotest"

	"github.com/cueroom/cueroom/sensors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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

func TestDecodeClean(t *testing.T) {
	for n := 1; n <= MaxAnalog; n++ {
		t.Run(strconv.Itoa(n)+"ch", func(t *testing.T) {
			data, want := frames(t, n, 100, 3)
			for name, r := range map[string]io.Reader{
				"whole":    bytes.NewReader(data),
				"one byte": iotest.OneByteReader(bytes.NewReader(data)),
				"halves":   iotest.HalfReader(bytes.NewReader(data)),
				"data+EOF": iotest.DataErrReader(bytes.NewReader(data)),
			} {
				dec := rawDevice(t, n).NewDecoder(r)
				got, err := decodeAll(t, dec)
				require.ErrorIs(t, err, io.EOF, name)
				require.Len(t, got, len(want), name)
				for i, s := range got {
					assert.Equal(t, uint32(3+i), s.Seq, "%s sample %d: running counter", name, i)
					assert.Equal(t, uint32(want[i].Seq), s.Seq&0x0F, "%s sample %d: raw sequence", name, i)
					assert.Equal(t, n, s.N)
					assert.Equal(t, "bitalino", s.Device)
					assert.Zero(t, s.T, "the caller stamps T")
					for k := range n {
						assert.Equal(t, float64(want[i].ADC[k]), s.Values[k], "%s sample %d ch %d", name, i, k)
					}
				}
				assert.Zero(t, dec.Dropped(), name)
			}
		})
	}
}

func TestDecodeResync(t *testing.T) {
	const n = 2
	L := FrameLen(n)
	clean, want := frames(t, n, 40, 0)
	frame := func(i int) []byte { return clean[i*L : (i+1)*L] }
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	corrupt := func(b []byte) []byte {
		c := append([]byte(nil), b...)
		c[len(c)-1] ^= 0x03
		return c
	}
	tests := []struct {
		name    string
		data    []byte
		seqs    []uint32 // running counters expected
		dropped uint64
	}{
		{
			name:    "garbage before the stream",
			data:    join([]byte{0xFF, 0x13, 0x42, 0x07, 0x99}, clean[:10*L]),
			seqs:    counters(0, 10),
			dropped: 5,
		},
		{
			name:    "garbage between frames",
			data:    join(clean[:5*L], []byte{0xDE, 0xAD, 0xBE}, clean[5*L:10*L]),
			seqs:    counters(0, 10),
			dropped: 3,
		},
		{
			name:    "a stray valid frame out of sequence is not trusted",
			data:    join(clean[:5*L], frame(9), clean[5*L:10*L]),
			seqs:    counters(0, 10),
			dropped: uint64(L),
		},
		{
			name:    "a gap with intact frames needs no resync",
			data:    join(clean[:5*L], clean[8*L:12*L]),
			seqs:    append(counters(0, 5), counters(8, 4)...),
			dropped: 0,
		},
		{
			name:    "corrupt frame is skipped and shows as a gap",
			data:    join(clean[:4*L], corrupt(frame(4)), clean[5*L:10*L]),
			seqs:    append(counters(0, 4), counters(5, 5)...),
			dropped: uint64(L),
		},
		{
			name:    "lost byte inside a frame",
			data:    join(clean[:3*L], frame(3)[1:], clean[4*L:10*L]),
			seqs:    append(counters(0, 3), counters(4, 6)...),
			dropped: uint64(L - 1),
		},
		{
			name:    "truncated tail",
			data:    join(clean[:6*L], frame(6)[:L-1]),
			seqs:    counters(0, 6),
			dropped: uint64(L - 1),
		},
		{
			// After 15 lost frames the 4-bit number repeats: read as a step
			// of 16, the only reading for a link that cannot duplicate frames.
			name:    "a repeated sequence number counts as sixteen frames",
			data:    join(clean[:2*L], clean[17*L:20*L]),
			seqs:    []uint32{0, 1, 17, 18, 19},
			dropped: 0,
		},
		{
			name:    "counter runs past the 4-bit wrap",
			data:    clean,
			seqs:    counters(0, 40),
			dropped: 0,
		},
		{
			name:    "only garbage", // no 4-byte window of it passes the CRC
			data:    []byte{0xA5, 0x5A, 0xA5, 0x5A, 0xA5, 0x5A, 0xA5, 0x5A, 0xA5},
			dropped: 9,
		},
		{
			// 0x55 and the frame's first bytes pass the CRC by chance
			name:    "a lone frame after garbage at the end is not trusted",
			data:    join([]byte{0x55}, frame(7)),
			seqs:    nil,
			dropped: 1 + uint64(L),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dec := rawDevice(t, n).NewDecoder(bytes.NewReader(tc.data))
			got, err := decodeAll(t, dec)
			require.ErrorIs(t, err, io.EOF)
			var seqs []uint32
			for _, s := range got {
				seqs = append(seqs, s.Seq)
				i := int(s.Seq) % len(want)
				assert.Equal(t, float64(want[i].ADC[0]), s.Values[0], "values of frame %d", s.Seq)
				assert.Equal(t, float64(want[i].ADC[1]), s.Values[1], "values of frame %d", s.Seq)
			}
			assert.Equal(t, tc.seqs, seqs)
			assert.Equal(t, tc.dropped, dec.Dropped())
		})
	}
}

func counters(from, count int) []uint32 {
	out := make([]uint32, count)
	for i := range out {
		out[i] = uint32(from + i)
	}
	return out
}

// A frame that passes its CRC by chance inside garbage is not trusted until
// the next frame confirms it.
func TestDecodeNeedsConfirmationAfterResync(t *testing.T) {
	const n = 1
	clean, _ := frames(t, n, 6, 0)
	// A valid frame with seq 9 then a valid frame with seq 3: each passes
	// its CRC but they do not follow each other.
	fake, _ := frames(t, n, 1, 9)
	odd, _ := frames(t, n, 1, 3)
	data := bytes.Join([][]byte{fake, odd, clean}, nil)
	dec := rawDevice(t, n).NewDecoder(bytes.NewReader(data))
	got, err := decodeAll(t, dec)
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, got, 6)
	assert.Equal(t, uint32(0), got[0].Seq&0x0F)
	assert.Equal(t, uint64(2*FrameLen(n)), dec.Dropped())
}

func TestDecodeReaderFailures(t *testing.T) {
	boom := errors.New("boom")
	data, _ := frames(t, 1, 4, 0)
	t.Run("error after data", func(t *testing.T) {
		r := io.MultiReader(bytes.NewReader(data), iotest.ErrReader(boom))
		got, err := decodeAll(t, rawDevice(t, 1).NewDecoder(r))
		require.ErrorIs(t, err, boom)
		assert.Len(t, got, 4, "samples before the error are delivered")
	})
	t.Run("error is sticky", func(t *testing.T) {
		dec := rawDevice(t, 1).NewDecoder(iotest.ErrReader(boom))
		for range 3 {
			_, err := dec.Next()
			require.ErrorIs(t, err, boom)
		}
	})
	t.Run("endless (0, nil) reads", func(t *testing.T) {
		dec := rawDevice(t, 1).NewDecoder(zeroReader{})
		_, err := dec.Next()
		require.ErrorIs(t, err, io.ErrNoProgress)
	})
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

// Physical units through the Device: EDA on A1 (current sensor), ECG on A3,
// raw A6; with three channels every field is 10 bits.
func TestDecodeUnits(t *testing.T) {
	tests := []struct {
		name   string
		rev    EDARevision
		inputs []Input
		adc    []uint16
		want   []float64
	}{
		{"current", EDACurrent, []Input{{6, Raw}, {1, EDA}, {3, ECG}}, []uint16{512, 512, 700}, []float64{12.5, 0, 700}},
		{"older", EDAOlder, []Input{{1, EDA}, {2, ECG}}, []uint16{512, 1023}, []float64{(0.5*3.3 - 0.574) / 0.132, (1023.0/1024 - 0.5) * 3}},
		{"original", EDAOriginal, []Input{{1, EDA}}, []uint16{768}, []float64{4}},
		{"6-bit A5/A6 with six channels", EDACurrent,
			[]Input{{1, Raw}, {2, Raw}, {3, Raw}, {4, Raw}, {5, EDA}, {6, ECG}},
			[]uint16{1, 2, 3, 4, 32, 16}, []float64{1, 2, 3, 4, 12.5, -0.75}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(Config{Inputs: tc.inputs, EDARevision: tc.rev, Name: "bit1"})
			require.NoError(t, err)
			f := Frame{N: len(tc.adc), Seq: 1}
			copy(f.ADC[:], tc.adc)
			b, err := AppendFrame(nil, f)
			require.NoError(t, err)
			f.Seq++ // a second frame confirms the first
			b, err = AppendFrame(b, f)
			require.NoError(t, err)
			s, err := d.NewDecoder(bytes.NewReader(b)).Next()
			require.NoError(t, err)
			assert.Equal(t, "bit1", s.Device)
			require.Len(t, s.Vals(), len(tc.want))
			for i := range tc.want {
				assert.InDelta(t, tc.want[i], s.Vals()[i], 1e-9, "channel %d", i)
			}
		})
	}
}

package bitalino

import (
	"bufio"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type vector struct {
	line  int
	frame Frame
	bytes []byte
}

// loadVectors reads testdata/frames.txt, written by testdata/gen_vectors.py
// (an independent bit-level encoder with a bitwise CRC).
func loadVectors(t testing.TB) []vector {
	t.Helper()
	f, err := os.Open("testdata/frames.txt")
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	var out []vector
	sc := bufio.NewScanner(f)
	for ln := 1; sc.Scan(); ln++ {
		left, right, ok := strings.Cut(sc.Text(), "|")
		require.True(t, ok, "frames.txt:%d: no '|'", ln)
		nums := strings.Fields(left)
		var v []int
		for _, s := range nums {
			x, err := strconv.Atoi(s)
			require.NoError(t, err, "frames.txt:%d", ln)
			v = append(v, x)
		}
		require.GreaterOrEqual(t, len(v), 4, "frames.txt:%d", ln)
		fr := Frame{N: v[0], Seq: uint8(v[1]), Digital: uint8(v[2])}
		require.Len(t, v, 3+fr.N, "frames.txt:%d", ln)
		for k := range fr.N {
			fr.ADC[k] = uint16(v[3+k])
		}
		b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(right), " ", ""))
		require.NoError(t, err, "frames.txt:%d", ln)
		out = append(out, vector{line: ln, frame: fr, bytes: b})
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, out)
	return out
}

func TestDocVector(t *testing.T) {
	// devices.md: one channel, A1=512, seq=5 → 00 08 51.
	b, err := AppendFrame(nil, Frame{Seq: 5, N: 1, ADC: [6]uint16{512}})
	require.NoError(t, err)
	assert.Equal(t, []byte{0x00, 0x08, 0x51}, b)
	f, err := ParseFrame([]byte{0x00, 0x08, 0x51}, 1)
	require.NoError(t, err)
	assert.Equal(t, Frame{Seq: 5, N: 1, ADC: [6]uint16{512}}, f)
}

func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run("line"+strconv.Itoa(v.line), func(t *testing.T) {
			require.Len(t, v.bytes, FrameLen(v.frame.N))
			got, err := AppendFrame(nil, v.frame)
			require.NoError(t, err)
			assert.Equal(t, v.bytes, got, "encode")
			f, err := ParseFrame(v.bytes, v.frame.N)
			require.NoError(t, err)
			assert.Equal(t, v.frame, f, "decode")
		})
	}
}

func TestFrameLen(t *testing.T) {
	for n, want := range map[int]int{0: 0, 1: 3, 2: 4, 3: 6, 4: 7, 5: 8, 6: 8, 7: 0, -1: 0} {
		assert.Equal(t, want, FrameLen(n), "n=%d", n)
	}
}

// TestRoundTrip encodes random frames for 1..6 channels and decodes them,
// and checks that every single-bit error is caught by the CRC.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= MaxAnalog; n++ {
		t.Run(strconv.Itoa(n)+"ch", func(t *testing.T) {
			for range 50 {
				f := Frame{Seq: uint8(rng.UintN(16)), Digital: uint8(rng.UintN(16)), N: n}
				for k := range n {
					f.ADC[k] = uint16(rng.UintN(1 << fieldBits(k)))
				}
				b, err := AppendFrame([]byte{0xAA}, f) // appends after existing bytes
				require.NoError(t, err)
				require.Equal(t, byte(0xAA), b[0])
				b = b[1:]
				require.Len(t, b, FrameLen(n))
				got, err := ParseFrame(b, n)
				require.NoError(t, err)
				require.Equal(t, f, got)
				for bit := range 8 * len(b) {
					c := append([]byte(nil), b...)
					c[bit/8] ^= 1 << (bit % 8)
					_, err := ParseFrame(c, n)
					require.Error(t, err, "bit %d flipped in % x", bit, b)
				}
			}
		})
	}
}

func TestFrameErrors(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		n    int
		want string
	}{
		{"no channels", []byte{0, 8, 0x51}, 0, "not a valid selection"},
		{"seven channels", make([]byte, 8), 7, "not a valid selection"},
		{"short", []byte{0, 8}, 1, "is 3 bytes, got 2"},
		{"bad crc", []byte{0, 8, 0x52}, 1, "CRC nibble is 0x2, computed 0x1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFrame(tc.b, tc.n)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := AppendFrame(nil, Frame{N: 0})
	assert.ErrorContains(t, err, "0 channels")
}

func TestConversions(t *testing.T) {
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"ecg mid-scale is 0 mV", float64(ECGmV(512, 10)), 0},
		{"ecg full scale", float64(ECGmV(1023, 10)), (1023.0/1024 - 0.5) * 3.3 / 1100 * 1000},
		{"ecg zero", float64(ECGmV(0, 10)), -1.5},
		{"ecg 6-bit mid", float64(ECGmV(32, 6)), 0},
		{"eda current half", float64(EDAuS(EDACurrent, 512, 10)), 12.5},
		{"eda current zero", float64(EDAuS(EDACurrent, 0, 10)), 0},
		{"eda older half", float64(EDAuS(EDAOlder, 512, 10)), (0.5*3.3 - 0.574) / 0.132},
		{"eda original half", float64(EDAuS(EDAOriginal, 512, 10)), 2},
		{"eda original zero", float64(EDAuS(EDAOriginal, 0, 10)), 1},
		{"eda original full scale capped", float64(EDAuS(EDAOriginal, 1024, 10)), 1024},
		{"eda current 6-bit", float64(EDAuS(EDACurrent, 16, 6)), 0.25 * 3.3 / 0.132},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { assert.InDelta(t, tc.want, tc.got, 1e-9) })
	}
}

// The simulator's inverse conversions land within one ADC step.
func TestInverseConversions(t *testing.T) {
	for _, rev := range []EDARevision{EDACurrent, EDAOlder, EDAOriginal} {
		for _, us := range []float64{1.5, 2, 4, 7.3, 10} {
			adc := edaADC(rev, sensorsUS(us), 10)
			back := float64(EDAuS(rev, adc, 10))
			step := float64(EDAuS(rev, adc+1, 10)) - back
			assert.InDelta(t, us, back, step, "%s %v µS", rev, us)
		}
	}
	for _, mv := range []float64{-1.2, -0.1, 0, 0.5, 1.0, 1.49} {
		adc := ecgADC(sensorsMV(mv), 10)
		assert.InDelta(t, mv, float64(ECGmV(adc, 10)), 3.0/1024, "%v mV", mv)
	}
	assert.Equal(t, uint16(1023), ecgADC(5, 10), "clamped high")
	assert.Equal(t, uint16(0), ecgADC(-5, 10), "clamped low")
	assert.Equal(t, uint16(0), edaADC(EDAOriginal, 0, 10))
}

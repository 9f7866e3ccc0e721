package shimmer

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

// devices.md: 18 zero bytes → E7 CE; the second vector → 8A 93 (low byte first).
func TestCRCDocVectors(t *testing.T) {
	tests := []struct {
		msg  string
		want [2]byte
	}{
		{strings.Repeat("00", 18), [2]byte{0xE7, 0xCE}},
		{"00 b6 f8 bb ff 80 00 01 80 00 01 ff 80 00 01 80 00 01", [2]byte{0x8A, 0x93}},
	}
	for _, tc := range tests {
		c := CRC16(unhex(t, tc.msg))
		assert.Equal(t, tc.want, [2]byte{byte(c), byte(c >> 8)}, tc.msg)
	}
}

// Replies recorded in Shimmer's Java API simulator of a Shimmer3 in 1-byte
// CRC mode (ByteCommunicationSimulatorS3): the CRC covers the ACK too.
func TestCRCShimmerTraces(t *testing.T) {
	for _, msg := range []string{
		"ff f4",                            // set real-world clock: a bare ACK
		"ff 02 80 02 02 ff 01 08 00 01 86", // inquiry at 51.2 Hz, no channels
		"ff 8a 71 21 f4",                   // status
		"ff 8a 94 24 0b 80 61",             // battery
		"ff 90 a7 d7 55 52 00 34 00 00 8e", // get real-world clock
		"ff 31 01 e0",                      // LED blink
	} {
		b := unhex(t, msg)
		assert.True(t, crcOK(b, 1), msg)
		b[0] ^= 0x10
		assert.False(t, crcOK(b, 1), "%s with a flipped bit", msg)
	}
}

// testdata/vectors.txt is written by testdata/gen_vectors.py, an
// independent implementation of the formulas in devices.md.
func TestVectorsFile(t *testing.T) {
	f, err := os.Open("testdata/vectors.txt")
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	sc := bufio.NewScanner(f)
	var counts = map[string]int{}
	for ln := 1; sc.Scan(); ln++ {
		left, right, ok := strings.Cut(sc.Text(), "|")
		require.True(t, ok, "vectors.txt:%d: no '|'", ln)
		in, out := strings.Fields(left), strings.Fields(right)
		require.NotEmpty(t, in, "vectors.txt:%d", ln)
		counts[in[0]]++
		switch in[0] {
		case "crc":
			msg := []byte{}
			if len(in) > 1 {
				msg = unhex(t, in[1])
			}
			c := CRC16(msg)
			assert.Equal(t, strings.Join(out, " "), hex.EncodeToString([]byte{byte(c)})+" "+hex.EncodeToString([]byte{byte(c >> 8)}), "vectors.txt:%d", ln)
			for mode := 1; mode <= 2; mode++ {
				framed := appendCRC(append([]byte(nil), msg...), 0, mode)
				assert.True(t, crcOK(framed, mode), "vectors.txt:%d mode %d", ln, mode)
			}
		case "gsr":
			require.Len(t, in, 3, "vectors.txt:%d", ln)
			r := GSRAuto
			if in[1] != "auto" {
				n, err := strconv.Atoi(in[1])
				require.NoError(t, err)
				r = GSRRange(n + 1)
			}
			raw, err := strconv.Atoi(in[2])
			require.NoError(t, err)
			w, err := strconv.ParseFloat(out[0], 64)
			require.NoError(t, err)
			assert.InDelta(t, w, float64(GSRuS(uint16(raw), r)), 1e-9, "vectors.txt:%d", ln)
		case "ppg":
			raw, err := strconv.Atoi(in[1])
			require.NoError(t, err)
			w, err := strconv.ParseFloat(out[0], 64)
			require.NoError(t, err)
			assert.InDelta(t, w, float64(PPGmV(uint16(raw))), 1e-9, "vectors.txt:%d", ln)
		default:
			t.Fatalf("vectors.txt:%d: unknown kind %q", ln, in[0])
		}
	}
	require.NoError(t, sc.Err())
	assert.GreaterOrEqual(t, counts["crc"], 15)
	assert.GreaterOrEqual(t, counts["gsr"], 60)
	assert.GreaterOrEqual(t, counts["ppg"], 5)
}

// pyshimmer's test packet: 00 DE D0 B2 26 07 → timestamp 0xB2D0DE, A13 = 0x0726.
func TestPyshimmerPacket(t *testing.T) {
	lay, err := newLayout([]byte{chanA13})
	require.NoError(t, err)
	b := unhex(t, "00 DE D0 B2 26 07")
	require.Equal(t, 6, lay.size)
	p := parsePacket(b, &lay)
	assert.Equal(t, uint32(0xB2D0DE), p.Timestamp)
	assert.Equal(t, uint16(0x0726), p.PPG)
	assert.Equal(t, b, appendPacket(nil, &lay, p, 0), "encode")
	assert.InDelta(t, 0x0726*3000.0/4095, float64(PPGmV(p.PPG)), 1e-12)
}

func TestLayout(t *testing.T) {
	tests := []struct {
		name     string
		ids      []byte
		size     int
		gsr, ppg int
		err      string
	}{
		{"GSR+ default", []byte{chanA13, chanGSR}, 8, 6, 4, ""},
		{"battery first", []byte{chanVBatt, chanA13, chanGSR}, 10, 8, 6, ""},
		{"pressure and ExG widths", []byte{0x1B, 0x1D, 0x1E, chanGSR}, 4 + 3 + 1 + 3 + 2, 11, -1, ""},
		{"nothing", nil, 4, -1, -1, ""},
		{"unknown id", []byte{0x12, 0x7F}, 0, 0, 0, "channel id 0x7f"},
		{"too many", bytes.Repeat([]byte{0x12}, maxChans+1), 0, 0, 0, "at most 48"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := newLayout(tc.ids)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.size, l.size)
			assert.Equal(t, tc.gsr, l.gsr)
			assert.Equal(t, tc.ppg, l.ppg)
		})
	}
}

// Hand-worked conversions, including the clamps.
func TestGSRConversion(t *testing.T) {
	us := func(_ GSRRange, kohm float64) float64 { return 1000 / kohm }
	tests := []struct {
		name string
		raw  uint16
		r    GSRRange
		want float64
	}{
		// adc 2048: V = 1.5004, V/0.5 − 1 = 2.0007
		{"range 2 mid-scale", 2048, GSRRange2, us(GSRRange2, 1000/(2048*3.0/4095/0.5-1))},
		{"auto takes the range from bits 15..14", 2<<14 | 2048, GSRAuto, us(GSRRange2, 1000/(2048*3.0/4095/0.5-1))},
		{"fixed range ignores the range bits", 3<<14 | 2048, GSRRange2, us(GSRRange2, 1000/(2048*3.0/4095/0.5-1))},
		{"range 0 full scale is 8.04 kΩ", 4095, GSRRange0, 1000 / 8.04},
		{"range 1 full scale clamps at 63 kΩ", 4095, GSRRange1, 1000.0 / 63},
		{"range 0 open electrodes read 63 kΩ", 100, GSRRange0, 1000.0 / 63},
		{"range 3 reading below 683 is 683: 4700 kΩ", 3<<14 | 10, GSRAuto, 1000.0 / 4700},
		{"range 1 high clamp", 1<<14 | 700, GSRAuto, 1000.0 / 220},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.InDelta(t, tc.want, float64(GSRuS(tc.raw, tc.r)), 1e-9)
		})
	}
}

// The simulator's inverse lands within one ADC step, on the range the
// firmware would pick in auto mode.
func TestInverseConversions(t *testing.T) {
	for _, v := range []float64{0.3, 1, 2, 4, 6, 10, 20, 60} {
		raw := gsrRaw(sensorsUS(v), GSRAuto)
		got := float64(GSRuS(raw, GSRAuto))
		step := math.Abs(float64(GSRuS(raw+1, GSRAuto)) - got)
		assert.InDelta(t, v, got, step+1e-9, "%v µS", v)
		assert.Equal(t, autoRange(1000/v), int(raw>>14), "%v µS", v)
	}
	assert.Equal(t, uint16(2), gsrRaw(sensorsUS(4), GSRAuto)>>14, "4 µS = 250 kΩ: range 2")
	assert.Equal(t, uint16(3)<<14|adcMax, gsrRaw(sensorsUS(100), GSRRange3), "saturates on a too-high range")
	for _, mv := range []float64{0, 1, 1200, 1450, 2999} {
		assert.InDelta(t, mv, float64(PPGmV(ppgRaw(mv))), 3000.0/4095, "%v mV", mv)
	}
	assert.Equal(t, uint16(adcMax), ppgRaw(5000))
	assert.Equal(t, uint16(0), ppgRaw(-3))
}

package contec

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// devices.md's example packet of the new protocol. Its PR byte 0xBD is
// 61 bpm by the documented rule (&0x7F); the "PR 53" beside it in the
// fact sheet (copied from a comment in MarkMLl's source, "0xbd -> 0x35")
// is an arithmetic slip there: 0x35 would be 0xB5.
func TestDocExample(t *testing.T) {
	b := unhex(t, "01 e0 85 d5 9a bd e3 ff ff")
	require.True(t, syncNew(b))
	p := parseNew(b)
	assert.Equal(t, Packet{Strength: 5, Pleth: 0x55, Wave2: 0x1A, PR: 61, SpO2: 99}, p)
	assert.Equal(t, b, appendNew(nil, p), "encode gives the same bytes back")
	s, err := device(t, Config{}).NewDecoder(strings.NewReader(string(b))).Next()
	require.NoError(t, err)
	assert.Equal(t, [5]float64{85, 61, 99, 5, 0}, vals(s))
}

// An old-protocol packet by hand: strength 7, finger out, beep; pleth 58;
// bar 8 with the pulse rate's bit 7; PR low bits 0x10 → 144 bpm; SpO₂ 97.
func TestOldByHand(t *testing.T) {
	b := []byte{0x80 | 0x40 | 0x10 | 7, 58, 0x40 | 8, 0x10, 97}
	require.True(t, syncOld(b))
	p := parseOld(b)
	assert.Equal(t, Packet{Strength: 7, Pleth: 58, Bar: 8, PR: 144, SpO2: 97, Status: FingerOut | PulseBeat}, p)
	assert.Equal(t, b, appendOld(nil, p))
}

// testdata/packets.txt is written by testdata/gen_vectors.py, an
// independent encoder following the byte layouts in devices.md.
func TestVectorsFile(t *testing.T) {
	f, err := os.Open("testdata/packets.txt")
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	sc := bufio.NewScanner(f)
	n := map[string]int{}
	for ln := 1; sc.Scan(); ln++ {
		left, right, ok := strings.Cut(sc.Text(), "|")
		require.True(t, ok, "packets.txt:%d", ln)
		fs := strings.Fields(left)
		require.Len(t, fs, 12, "packets.txt:%d", ln)
		var v [11]int
		for i := range v {
			v[i], err = strconv.Atoi(fs[i+1])
			require.NoError(t, err, "packets.txt:%d", ln)
		}
		p := Packet{Pleth: uint8(v[0]), PR: uint8(v[1]), SpO2: uint8(v[2]), Strength: uint8(v[3]), Bar: uint8(v[4]), Wave2: uint8(v[5])}
		for i, bit := range []uint8{FingerOut, Searching, PulseBeat, ProbeError, SpO2Dropping} {
			if v[6+i] == 1 {
				p.Status |= bit
			}
		}
		b := unhex(t, strings.TrimSpace(right))
		n[fs[0]]++
		switch fs[0] {
		case "old":
			require.True(t, syncOld(b), "packets.txt:%d", ln)
			assert.Equal(t, p, parseOld(b), "packets.txt:%d decode", ln)
			assert.Equal(t, b, appendOld(nil, p), "packets.txt:%d encode", ln)
		case "new":
			require.True(t, syncNew(b), "packets.txt:%d", ln)
			assert.Equal(t, p, parseNew(b), "packets.txt:%d decode", ln)
			assert.Equal(t, b, appendNew(nil, p), "packets.txt:%d encode", ln)
		default:
			t.Fatalf("packets.txt:%d: protocol %q", ln, fs[0])
		}
	}
	require.NoError(t, sc.Err())
	assert.Equal(t, map[string]int{"old": 12, "new": 12}, n)
}

func TestSync(t *testing.T) {
	tests := []struct {
		name string
		b    string
		old  bool
		ok   bool
	}{
		{"old: only byte 0 has bit 7", "80 00 7f 7f 7f", true, true},
		{"old: bit 7 in byte 3", "80 00 7f ff 7f", true, false},
		{"old: no bit 7 in byte 0", "7f 00 00 00 00", true, false},
		{"new: example", "01 e0 85 d5 9a bd e3 ff ff", false, true},
		{"new: finger out and searching", "01 e3 80 80 80 80 80 ff ff", false, true},
		{"new: other bits in byte 1", "01 f0 85 d5 9a bd e3 ff ff", false, false},
		{"new: no trailer", "01 e0 85 d5 9a bd e3 ff fe", false, false},
		{"new: no start byte", "02 e0 85 d5 9a bd e3 ff ff", false, false},
	}
	for _, tc := range tests {
		b := unhex(t, tc.b)
		if tc.old {
			assert.Equal(t, tc.ok, syncOld(b), tc.name)
		} else {
			assert.Equal(t, tc.ok, syncNew(b), tc.name)
		}
	}
}

package wire

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors"
)

func TestValidName(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"room1", true}, {"Room_2-b", true}, {"", false}, {"a.b", false}, {"a*", false}, {"a>", false},
		{"a b", false}, {"ä", false}, {"a/b", false}, {string(make([]byte, 65)), false},
	} {
		err := ValidName("--station", c.name)
		assert.Equal(t, c.ok, err == nil, "%q: %v", c.name, err)
	}
}

func TestSubjects(t *testing.T) {
	s := Subjects{Site: "clinic", Station: "room1"}
	assert.Equal(t, "cueroom.clinic.room1.samples.bitalino", s.Samples("bitalino"))
	assert.Equal(t, "cueroom.clinic.room1.samples.my_dev_1", s.Samples("my.dev 1"))
	site, st, rest, ok := Parse(s.Samples("x"))
	assert.True(t, ok)
	assert.Equal(t, []string{"clinic", "room1", "samples.x"}, []string{site, st, rest})
	_, _, _, ok = Parse("other.a.b.c")
	assert.False(t, ok)
	assert.NotEqual(t, HubStream("a_b", "c"), HubStream("a", "b_c"))
}

func TestBatchRoundTrip(t *testing.T) {
	var in []sensors.Sample
	for i := 0; i < 1000; i++ {
		s := sensors.Sample{Device: "bitalino", T: time.Duration(i)*time.Millisecond + 7, Seq: uint32(i % 16), N: 2}
		s.Values[0], s.Values[1] = math.Sin(float64(i)), -float64(i)/3
		in = append(in, s)
	}
	in[5].Values[1] = math.NaN()
	sent := time.Unix(1700000000, 123)
	b := AppendBatch(nil, "bitalino", sent, in)
	assert.Less(t, len(b), 1000*20+64, "compact: ~20 bytes a 2-channel sample")
	out, err := DecodeBatch(b)
	require.NoError(t, err)
	assert.Equal(t, "bitalino", out.Device)
	assert.True(t, sent.Equal(out.Sent))
	require.Len(t, out.Samples, len(in))
	for i := range in {
		assert.Equal(t, in[i].T, out.Samples[i].T)
		assert.Equal(t, in[i].Seq, out.Samples[i].Seq)
		for k := 0; k < 2; k++ {
			assert.Equal(t, math.Float64bits(in[i].Values[k]), math.Float64bits(out.Samples[i].Values[k]))
		}
	}
	for cut := 0; cut < len(b); cut += 97 {
		_, err := DecodeBatch(b[:cut])
		assert.Error(t, err, "cut at %d", cut)
	}
}

func FuzzDecodeBatch(f *testing.F) {
	s := sensors.Sample{Device: "d", T: 5, Seq: 3, N: 3}
	f.Add(AppendBatch(nil, "d", time.Unix(1, 0), []sensors.Sample{s, s}))
	f.Add([]byte{'B', 1, 0, 0, 0})
	f.Add([]byte{'B', 1, 1, 'x', 8, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := DecodeBatch(b)
		if err != nil {
			return
		}
		// What decodes encodes back to the same bytes.
		again := AppendBatch(nil, out.Device, out.Sent, out.Samples)
		if len(out.Samples) > 0 {
			out2, err := DecodeBatch(again)
			require.NoError(t, err)
			require.Equal(t, len(out.Samples), len(out2.Samples))
		}
	})
}

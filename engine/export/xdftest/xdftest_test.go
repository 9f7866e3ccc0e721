package xdftest

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chunk is one XDF chunk, built by hand from the specification.
func chunk(tag uint16, content []byte) []byte {
	var b bytes.Buffer
	n := uint32(2 + len(content))
	b.WriteByte(4)
	_ = binary.Write(&b, binary.LittleEndian, n)
	_ = binary.Write(&b, binary.LittleEndian, tag)
	b.Write(content)
	return b.Bytes()
}

func streamChunk(tag uint16, id uint32, content []byte) []byte {
	return chunk(tag, append(binary.LittleEndian.AppendUint32(nil, id), content...))
}

// handMade is a two-stream file: a 100 Hz double stream whose second
// sample's time stamp is deduced, and a marker stream.
func handMade() []byte {
	f := []byte("XDF:")
	f = append(f, chunk(1, []byte(`<?xml version="1.0"?><info><version>1.0</version></info>`))...)
	f = append(f, streamChunk(2, 1, []byte(`<info><name>dev</name><type>EDA</type><channel_count>2</channel_count>`+
		`<channel_format>double64</channel_format><nominal_srate>100</nominal_srate>`+
		`<desc><channels><channel><label>eda</label><unit>uS</unit><type>EDA</type></channel>`+
		`<channel><label>ecg</label><unit>mV</unit><type>ECG</type></channel></channels></desc></info>`))...)
	f = append(f, streamChunk(2, 2, []byte(`<info><name>m</name><type>Markers</type><channel_count>1</channel_count>`+
		`<channel_format>string</channel_format><nominal_srate>0</nominal_srate></info>`))...)
	var s []byte
	s = append(s, 1, 2) // NumSampleBytes 1, 2 samples
	s = append(s, 8)
	s = binary.LittleEndian.AppendUint64(s, math.Float64bits(1.5))
	s = binary.LittleEndian.AppendUint64(s, math.Float64bits(3))
	s = binary.LittleEndian.AppendUint64(s, math.Float64bits(-4))
	s = append(s, 0) // deduced: 1.5 + 1/100
	s = binary.LittleEndian.AppendUint64(s, math.Float64bits(5))
	s = binary.LittleEndian.AppendUint64(s, math.Float64bits(6))
	f = append(f, streamChunk(3, 1, s)...)
	m := []byte{1, 1, 8}
	m = binary.LittleEndian.AppendUint64(m, math.Float64bits(2))
	m = append(m, 1, 3)
	m = append(m, "cue"...)
	f = append(f, streamChunk(3, 2, m)...)
	o := binary.LittleEndian.AppendUint64(nil, math.Float64bits(5))
	o = binary.LittleEndian.AppendUint64(o, math.Float64bits(0))
	f = append(f, streamChunk(4, 1, o)...)
	f = append(f, chunk(5, boundaryUUID)...)
	f = append(f, streamChunk(6, 1, []byte(`<info><first_timestamp>1.5</first_timestamp><last_timestamp>1.51</last_timestamp>`+
		`<sample_count>2</sample_count><clock_offsets><offset><time>5</time><value>0</value></offset></clock_offsets></info>`))...)
	f = append(f, streamChunk(6, 2, []byte(`<info><sample_count>1</sample_count></info>`))...)
	return f
}

func TestReadHandMade(t *testing.T) {
	x, err := Read(handMade())
	require.NoError(t, err)
	assert.Equal(t, []uint16{1, 2, 2, 3, 3, 4, 5, 6, 6}, x.Tags)
	assert.Equal(t, []uint32{1, 2}, x.Order)
	assert.Equal(t, 1, x.Boundaries)
	d := x.Streams[1]
	assert.Equal(t, "dev", d.Info.Name)
	assert.Equal(t, 100.0, d.Info.NominalSrate)
	assert.Equal(t, []Channel{{"eda", "uS", "EDA"}, {"ecg", "mV", "ECG"}}, d.Info.Channels)
	assert.Equal(t, []float64{1.5, 1.5 + 1.0/100}, d.Times)
	assert.Equal(t, [][]float64{{3, -4}, {5, 6}}, d.Values)
	assert.Equal(t, [][2]float64{{5, 0}}, d.Offsets)
	assert.Equal(t, 1, d.Chunks)
	require.NotNil(t, d.Footer)
	assert.Equal(t, 2, d.Footer.SampleCount)
	assert.Equal(t, []FooterOffset{{5, 0}}, d.Footer.Offsets)
	m := x.Streams[2]
	assert.Equal(t, [][]string{{"cue"}}, m.Strings)
	assert.Equal(t, []float64{2}, m.Times)
}

// TestReadRejects: what the specification does not allow is an error.
func TestReadRejects(t *testing.T) {
	good := handMade()
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"no magic", []byte("XDG:"), "no XDF: magic"},
		{"nothing after the magic", []byte("XDF:"), "not a FileHeader"},
		{"truncated", good[:len(good)-3], "does not fit"},
		{"bad length width", append([]byte("XDF:"), 3, 0, 0, 0), "NumLengthBytes 3"},
		{"unknown tag", append(append([]byte("XDF:"), chunk(1, nil)...), chunk(9, nil)...), "unknown tag"},
		{"samples before header", append(append([]byte("XDF:"), chunk(1, nil)...), streamChunk(3, 7, []byte{1, 0})...), "before its header"},
		{"boundary without UUID", append(append([]byte("XDF:"), chunk(1, nil)...), chunk(5, make([]byte, 16))...), "boundary UUID"},
		{"chunk after footer", append(good, streamChunk(4, 1, make([]byte, 16))...), "after its footer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(tc.b)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// FuzzRead: no input makes the reader panic or allocate without bound.
func FuzzRead(f *testing.F) {
	f.Add(handMade())
	f.Add([]byte("XDF:"))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := Read(b)
		if err == nil {
			require.NotEmpty(t, x.Tags)
		}
	})
}

package pulsesensor

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeClean(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		text string
		want [][3]float64
	}{
		{"plotter", Config{}, crlf("0,600,500", "0,600,510", "72,833,620", "72,833,600"),
			[][3]float64{{500, 0, 600}, {510, 0, 600}, {620, 72, 833}, {600, 72, 833}}},
		{"visualizer: BPM and IBI follow a beat", Config{Mode: Visualizer},
			crlf("S500", "S510", "S620", "B72", "Q833", "S600", "S590", "B74", "Q810", "S580"),
			[][3]float64{{500, 0, 0}, {510, 0, 0}, {620, 0, 0}, {600, 72, 833}, {590, 72, 833}, {580, 74, 810}}},
		{"visualizer, sensor 2 of 2", Config{Mode: Visualizer, Sensor: 2},
			crlf("a500", "b508", "A72", "M833", "B73", "N830", "a510", "b518"),
			[][3]float64{{508, 0, 0}, {518, 73, 830}}},
		{"plotter, sensor 3 of 3", Config{Sensor: 3}, crlf("500,508,516", "510,518,526"),
			[][3]float64{{516, 0, 0}, {526, 0, 0}}},
		{"LF alone ends a line too", Config{}, "0,600,500\n0,600,501\n", [][3]float64{{500, 0, 600}, {501, 0, 600}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for name, r := range map[string]io.Reader{
				"whole":    strings.NewReader(tc.text),
				"one byte": iotest.OneByteReader(strings.NewReader(tc.text)),
				"halves":   iotest.HalfReader(strings.NewReader(tc.text)),
				"data+EOF": iotest.DataErrReader(strings.NewReader(tc.text)),
			} {
				tc.cfg.Name = "finger"
				dec := device(t, tc.cfg).NewDecoder(r)
				got, err := decodeAll(t, dec)
				require.ErrorIs(t, err, io.EOF, name)
				require.Len(t, got, len(tc.want), name)
				for i, s := range got {
					assert.Equal(t, uint32(i), s.Seq, name)
					assert.Equal(t, "finger", s.Device)
					assert.Equal(t, 3, s.N)
					assert.Equal(t, tc.want[i], vals(s), "%s sample %d", name, i)
				}
				assert.Zero(t, dec.Dropped(), name)
			}
		})
	}
}

func TestDecodeResync(t *testing.T) {
	long := strings.Repeat("9", 200)
	tests := []struct {
		name    string
		cfg     Config
		text    string
		samples []float64
		dropped int
	}{
		{"garbage line", Config{}, crlf("0,600,500", "\x13\xff#", "0,600,501"), []float64{500, 501}, 5},
		{"banner", Config{Mode: Visualizer}, crlf("PulseSensor Playground v2", "S500"), []float64{500}, 27},
		{"cut line runs into the next", Config{}, "0,600,500\r\n0,60" + crlf("0,600,501", "0,600,502"), []float64{500, 502}, 15},
		{"over-long line", Config{}, crlf("0,600,500", long, "0,600,501"), []float64{500, 501}, 202},
		{"over-long line at the end", Config{}, crlf("0,600,500") + long, []float64{500}, 200},
		{"last line without its ending", Config{Mode: Visualizer}, "S500\r\nS50", []float64{500}, 3},
		{"blank lines", Config{}, "\r\n" + crlf("0,600,500") + "\n", []float64{500}, 3},
		{"other sensors' lines are not dropped", Config{Mode: Visualizer, Sensor: 1}, crlf("a500", "b508", "c516"), []float64{500}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for name, r := range map[string]io.Reader{
				"whole":    strings.NewReader(tc.text),
				"one byte": iotest.OneByteReader(strings.NewReader(tc.text)),
			} {
				dec := device(t, tc.cfg).NewDecoder(r)
				got, err := decodeAll(t, dec)
				require.ErrorIs(t, err, io.EOF, name)
				var samples []float64
				for _, s := range got {
					samples = append(samples, s.Values[0])
				}
				assert.Equal(t, tc.samples, samples, name)
				assert.Equal(t, uint64(tc.dropped), dec.Dropped(), name)
			}
		})
	}
}

func TestDecodeReaderFailures(t *testing.T) {
	boom := errors.New("boom")
	t.Run("error after data", func(t *testing.T) {
		r := io.MultiReader(strings.NewReader(crlf("0,600,500", "0,600,501")), iotest.ErrReader(boom))
		got, err := decodeAll(t, device(t, Config{}).NewDecoder(r))
		require.ErrorIs(t, err, boom)
		assert.Len(t, got, 2)
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

package lineproto

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors"
)

var nan = math.NaN()

type decoded struct {
	samples []sensors.Sample
	err     error
	dec     *Decoder
}

// decodeAll reads every sample of data, one byte per Read when oneByte.
func decodeAll(t testing.TB, cfg Config, data []byte, oneByte bool) decoded {
	t.Helper()
	d, err := New(cfg)
	require.NoError(t, err)
	var r io.Reader = bytes.NewReader(data)
	if oneByte {
		r = iotest.OneByteReader(r)
	}
	dec := d.NewDecoder(r).(*Decoder)
	var out decoded
	out.dec = dec
	for range 10000 {
		s, err := dec.Next()
		if err != nil {
			out.err = err
			return out
		}
		out.samples = append(out.samples, s)
	}
	t.Fatal("decoder did not stop")
	return out
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// sameValues compares sample values, NaN equal to NaN.
func sameValues(t *testing.T, want [][]float64, got []sensors.Sample) {
	t.Helper()
	require.Len(t, got, len(want))
	for i, w := range want {
		require.Equal(t, len(w), got[i].N, "sample %d", i)
		for k, v := range w {
			g := got[i].Values[k]
			if math.IsNaN(v) {
				assert.True(t, math.IsNaN(g), "sample %d channel %d: got %v, want NaN", i, k, g)
				continue
			}
			assert.InDelta(t, v, g, 1e-9, "sample %d channel %d", i, k)
		}
	}
}

func seqs(s []sensors.Sample) []uint32 {
	out := []uint32{}
	for _, x := range s {
		out = append(out, x.Seq)
	}
	return out
}

func TestDecode(t *testing.T) {
	long := strings.Repeat("7", 40)
	tests := []struct {
		name    string
		cfg     Config
		file    string // in testdata, or
		data    string
		want    [][]float64
		seq     []uint32
		chans   string // layout after decoding
		dropped uint64
		lost    uint64
		invalid uint64
		errHas  string // a final error other than io.EOF
	}{
		{name: "grove, configured", cfg: Config{Mode: Grove}, file: "grove.txt",
			want: [][]float64{{4.008438818565401, 436}, {4.352441613588111, 430}, {50, 0}, {0.04887585532746823, 511},
				{nan, 512}, {nan, 1023}, {16.666666666666668, 256}},
			seq: []uint32{0, 1, 2, 3, 4, 5, 6}, chans: "eda (uS), raw (adc)", invalid: 2},
		{name: "grove, detected: the first line may be a fragment, the second waits for a third",
			file: "grove.txt",
			want: [][]float64{{50, 0}, {0.04887585532746823, 511}, {nan, 512}, {nan, 1023}, {16.666666666666668, 256}},
			seq:  []uint32{0, 1, 2, 3, 4}, chans: "eda (uS), raw (adc)", invalid: 2},
		{name: "csv with a header, millis as counter, empty field", file: "csv_header.txt",
			want:  [][]float64{{4.52, 71.3}, {4.53, 71.4}, {nan, 72}},
			seq:   []uint32{1000, 1050, 1100},
			chans: `eda (uS), hr (bpm); counter "millis"`},
		{name: "csv without a header, columns named, one skipped", cfg: Config{Mode: CSV, Columns: []string{"eda_uS", "hr", "-"}},
			file: "csv_noheader.txt", want: [][]float64{{4.60, 72.0}, {4.61, 72.5}}, seq: []uint32{0, 1}, chans: "eda (uS), hr (bpm)"},
		{name: "csv without a header, unnamed", file: "csv_noheader.txt",
			want: [][]float64{{4.61, 72.5, 0.125}}, seq: []uint32{0}, chans: "ch1, ch2, ch3"},
		{name: "key=value detected, missing keys read as NaN", file: "kv.txt",
			want: [][]float64{{500, 73, 97}, {nan, 74, nan}}, seq: []uint32{0, 1}, chans: "gsr, hr (bpm), spo2 (%)"},
		{name: "key=value with columns", cfg: Config{Mode: KV, Columns: []string{"hr", "gsr"}}, file: "kv.txt",
			want: [][]float64{{73, 500}, {74, nan}}, seq: []uint32{0, 1}, chans: "hr (bpm), gsr"},
		{name: "key:value like the Arduino plotter, units from config", cfg: Config{Units: map[string]string{"GSR": "kohm"}},
			data: "x\ngsr:12.5,hr:70\ngsr:12.25,hr:71\n", want: [][]float64{{12.5, 70}, {12.25, 71}}, seq: []uint32{0, 1},
			chans: "gsr (kohm), hr (bpm)"},
		{name: "noise: a debug line, a tab header, garbage spoiling a line", file: "csv_noisy.txt",
			want: [][]float64{{4.52, 71.3}, {4.54, 71.5}}, seq: []uint32{1000, 1100},
			chans: `eda (uS), hr (bpm); counter "millis"`, dropped: 19, lost: 1},
		{name: "overlong line dropped up to its newline", cfg: Config{Mode: Grove, MaxLine: 16},
			data: "436\n" + long + "\n430\n", want: [][]float64{{4.008438818565401, 436}, {4.352441613588111, 430}},
			seq: []uint32{0, 2}, chans: "eda (uS), raw (adc)", dropped: 41, lost: 1},
		{name: "overlong tail at the end", cfg: Config{Mode: Grove, MaxLine: 16},
			data: "436\n" + long, want: [][]float64{{4.008438818565401, 436}}, seq: []uint32{0}, chans: "eda (uS), raw (adc)",
			dropped: 40, lost: 1},
		{name: "last line without newline still read", cfg: Config{Mode: Grove}, data: "\r\n\r\n436\r\n430",
			want: [][]float64{{4.008438818565401, 436}, {4.352441613588111, 430}}, seq: []uint32{0, 1}, chans: "eda (uS), raw (adc)"},
		{name: "grove readings out of range are dropped, not converted", cfg: Config{Mode: Grove}, data: "1024\n-3\n4.5\n12\n",
			want: [][]float64{{1e6 / (1048.0 * 10000 / 500), 12}}, seq: []uint32{3},
			chans: "eda (uS), raw (adc)", dropped: 12, lost: 3},
		{name: "a reset prints the header again, reordered", data: "a,b\n1,2\n3,4\nb,a\n5,6\n",
			want: [][]float64{{1, 2}, {3, 4}, {6, 5}}, seq: []uint32{0, 1, 2}, chans: "a, b"},
		{name: "a message naming one channel is not a header", data: "eda_uS,hr_bpm\n1,2\nhr ok\n3,4\n",
			want: [][]float64{{1, 2}, {3, 4}}, seq: []uint32{0, 2}, chans: "eda (uS), hr (bpm)", dropped: 6, lost: 1},
		{name: "arduino non-finite prints read as NaN", data: "x=1 y=2\nx=nan y=ovf\nx=-inf y=3\n",
			want: [][]float64{{nan, nan}, {nan, 3}}, seq: []uint32{0, 1}, chans: "x, y"},
		{name: "more than 8 columns need a choice", data: "a,b,c,d,e,f,g,h,i\n1,2,3,4,5,6,7,8,9\n",
			want: [][]float64{}, errHas: "more than 8 values: name the ones to keep with columns="},
		{name: "columns pick from a long header", cfg: Config{Columns: []string{"i", "a"}}, data: "a,b,c,d,e,f,g,h,i\n1,2,3,4,5,6,7,8,9\n",
			want: [][]float64{{9, 1}}, seq: []uint32{0}, chans: "i, a"},
		{name: "explicit counter and wrap", cfg: Config{Counter: "n"}, data: "n,v\n4294967295,1\n4294967296,2\n",
			want: [][]float64{{1}, {2}}, seq: []uint32{4294967295, 0}, chans: `v; counter "n"`},
		{name: "counter off: seq counts lines", cfg: Config{Counter: "-"}, data: "seq,v\n7,1\n9,2\n",
			want: [][]float64{{7, 1}, {9, 2}}, seq: []uint32{0, 1}, chans: "seq, v"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.data)
			if tc.file != "" {
				data = readFile(t, tc.file)
			}
			for _, oneByte := range []bool{false, true} {
				got := decodeAll(t, tc.cfg, data, oneByte)
				if tc.errHas != "" {
					require.Error(t, got.err)
					assert.Contains(t, got.err.Error(), tc.errHas)
				} else {
					require.ErrorIs(t, got.err, io.EOF)
				}
				sameValues(t, tc.want, got.samples)
				if tc.errHas != "" {
					continue
				}
				assert.Equal(t, tc.seq, seqs(got.samples), "Seq")
				assert.Equal(t, tc.dropped, got.dec.Dropped(), "dropped bytes")
				assert.Equal(t, tc.lost, got.dec.SamplesLost(), "lost lines")
				assert.Equal(t, tc.invalid, got.dec.Invalid(), "invalid readings")
				require.NotNil(t, got.dec.lay)
				assert.Equal(t, tc.chans, got.dec.lay.names())
				for _, s := range got.samples {
					assert.Equal(t, got.dec.dev.cfg.Name, s.Device)
				}
			}
		})
	}
}

func TestDecoderReaderErrors(t *testing.T) {
	boom := errors.New("unplugged")
	tests := []struct {
		name string
		r    io.Reader
		want error
		n    int
	}{
		{"error after a line and a half", io.MultiReader(strings.NewReader("436\n43"), iotest.ErrReader(boom)), boom, 1},
		{"a reader stuck at (0, nil)", zeroReader{}, io.ErrNoProgress, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(Config{Mode: Grove})
			require.NoError(t, err)
			dec := d.NewDecoder(tc.r)
			n := 0
			for {
				_, err := dec.Next()
				if err != nil {
					require.ErrorIs(t, err, tc.want)
					break
				}
				n++
			}
			assert.Equal(t, tc.n, n)
			if tc.n == 1 {
				assert.Equal(t, uint64(2), dec.Dropped(), "the partial line is dropped, not read as 43")
			}
		})
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestGroveConversion(t *testing.T) {
	tests := []struct {
		reading int
		us      float64
		ok      bool
	}{
		{0, 50, true},                    // R = 1024·10⁴/512 = 20 kΩ
		{256, 16.666666666666668, true},  // R = 1536·10⁴/256 = 60 kΩ
		{436, 4.008438818565401, true},   // R = 1896·10⁴/76
		{500, 0.5928853754940712, true},  // R = 2024·10⁴/12
		{511, 0.04887585532746823, true}, // R = 2046·10⁴/1
		{512, 0, false},                  // division by zero: open electrodes
		{1023, 0, false},
		{-1, 0, false},
	}
	for _, tc := range tests {
		us, ok := GroveMicrosiemens(tc.reading)
		assert.Equal(t, tc.ok, ok, "reading %d", tc.reading)
		assert.InDelta(t, tc.us, float64(us), 1e-12, "reading %d", tc.reading)
		if ok {
			assert.Equal(t, tc.reading, GroveReading(us), "inverse of %d", tc.reading)
		}
	}
	assert.Equal(t, 0, GroveReading(80), "above 50 µS the reading clamps at 0")
	assert.Equal(t, 511, GroveReading(0))
	assert.Equal(t, 511, GroveReading(sensors.Microsiemens(nan)))
}

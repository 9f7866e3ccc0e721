package lineproto

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/serialport"
	"github.com/cueroom/cueroom/sensors/simport"
)

// fakePort is a named port that fails the test if anything is written:
// Start must only listen.
type fakePort struct {
	io.Reader
	t *testing.T
}

func (p fakePort) Name() string { return "/dev/ttyFAKE0" }
func (p fakePort) Write(b []byte) (int, error) {
	p.t.Errorf("Start wrote %q: it must only listen", b)
	return len(b), nil
}

func TestStartDetects(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		data    string
		mode    Mode
		format  string
		channel []string // label/unit/type
		next    []float64
	}{
		{name: "grove", data: "12\n436\n430\n", mode: Grove, format: "grove: eda (uS), raw (adc)",
			channel: []string{"eda/uS/EDA", "raw/adc/MISC"}},
		{name: "grove after an Arduino's boot noise", data: "\x00\xf0\r\nGSR ready!\r\n436\r\n430\r\n433\r\n", mode: Grove,
			format: "grove: eda (uS), raw (adc)", channel: []string{"eda/uS/EDA", "raw/adc/MISC"},
			next: []float64{1e6 / (1890.0 * 10000 / 79), 433}},
		{name: "csv header right after reset", data: "millis,eda_uS,hr_bpm\r\n1,2,3\r\n4,5,6\r\n", mode: CSV,
			format:  `csv with a header: eda (uS), hr (bpm); counter "millis"`,
			channel: []string{"eda/uS/EDA", "hr/bpm/HR"}, next: []float64{5, 6}},
		{name: "key=value, first line a fragment", data: "r=5 hr=1\ngsr=512 hr=72\nppg=3\n", mode: KV,
			format: "kv: gsr, hr (bpm)", channel: []string{"gsr//EDA", "hr/bpm/HR"}}, // ppg=3 fits no channel
		{name: "csv without header, units configured", cfg: Config{Units: map[string]string{"ch2": "mV"}},
			data: "1 2\n3 4\n5 6\n7 8\n", mode: CSV, format: "csv without a header: ch1, ch2 (mV)",
			channel: []string{"ch1//MISC", "ch2/mV/MISC"}, next: []float64{7, 8}},
		{name: "configured csv, columns positional", cfg: Config{Mode: CSV, Columns: []string{"seq", "eda_uS"}},
			data: "9,9\n1,4.5\n2,4.6\n", mode: CSV, format: `csv without a header: eda (uS); counter "seq"`,
			channel: []string{"eda/uS/EDA"}, next: []float64{4.6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(tc.cfg)
			require.NoError(t, err)
			r := strings.NewReader(tc.data)
			require.NoError(t, d.Start(fakePort{r, t}))
			assert.Equal(t, tc.mode, d.Mode())
			assert.Equal(t, tc.format, d.Format())
			st := d.Stream()
			var got []string
			for _, c := range st.Channels {
				got = append(got, c.Label+"/"+c.Unit+"/"+c.Type)
			}
			assert.Equal(t, tc.channel, got)
			assert.Equal(t, string(tc.mode), st.Settings["mode"])
			assert.Equal(t, "lineproto", st.Kind)
			// Start stopped on a line boundary: the decoder reads the next line whole.
			s, err := d.NewDecoder(r).Next()
			if tc.next == nil {
				require.ErrorIs(t, err, io.EOF)
				return
			}
			require.NoError(t, err)
			sameValues(t, [][]float64{tc.next}, []sensors.Sample{s})
		})
	}
}

func TestStartFails(t *testing.T) {
	junk := bytes.Repeat([]byte{0xf8, 0x80, 0x00, 0xfe, 0x0a, 0xe0, 0x9c, 0xff}, 200)
	tests := []struct {
		name string
		cfg  Config
		data string
		has  []string
	}{
		{"nothing", Config{}, "", []string{"/dev/ttyFAKE0 did not send Grove, CSV or key=value lines: no data;",
			"check that the sketch is running"}},
		{"wrong baud: noise", Config{}, string(junk), []string{"1600 bytes arrived but they do not read as text lines",
			"this port is set to 115200 8N1", "baud=9600 for the Grove GSR example sketch"}},
		{"wrong baud for grove", Config{Mode: Grove}, string(junk), []string{"did not send Grove GSR lines (one reading 0..1023 per line)",
			"set to 9600 8N1"}},
		{"text, not data", Config{}, strings.Repeat("hello, world!\n", 10), []string{"10 lines arrived but none is Grove, CSV or key=value lines",
			`(e.g. "hello, world!")`, "check the sketch's output format"}},
		{"grove configured, csv sent", Config{Mode: Grove}, "a,b\n1,2\n3,4\n", []string{"3 lines arrived but none is Grove GSR lines"}},
		{"columns do not fit", Config{Mode: CSV, Columns: []string{"a", "b"}}, "1,2,3\n1,2,3\n1,2,3\n",
			[]string{"lines have 3 fields but columns= names 2", "fix columns="}},
		{"header lacks a chosen column", Config{Columns: []string{"eda"}}, "gsr,hr\n1,2\n",
			[]string{`the header has no column "eda": it names gsr, hr; fix columns=`}},
		{"endless text is cut short", Config{}, strings.Repeat("bla bla bla!\n", 2000), []string{"lines arrived but none is"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(tc.cfg)
			require.NoError(t, err)
			err = d.Start(fakePort{strings.NewReader(tc.data), t})
			require.Error(t, err)
			if !strings.Contains(tc.name, "column") {
				require.ErrorIs(t, err, ErrNoLines)
			}
			for _, h := range tc.has {
				assert.Contains(t, err.Error(), h)
			}
			assert.Contains(t, err.Error(), "/dev/ttyFAKE0")
			assert.Equal(t, tc.cfg.Mode, Mode(strings.TrimPrefix(string(d.Mode()), "auto")), "nothing learned")
		})
	}
}

// A reconnect runs Start again: the format found before must still fit.
func TestStartAgainKeepsFormat(t *testing.T) {
	d, err := New(Config{})
	require.NoError(t, err)
	require.NoError(t, d.Start(fakePort{strings.NewReader("eda_uS,hr\n1,2\n"), t}))
	before := d.Stream()

	// the Arduino reset and printed its header with the columns swapped
	r := strings.NewReader("9,9\nhr,eda_uS\n70,4.5\n71,4.6\n")
	require.NoError(t, d.Start(fakePort{r, t}))
	assert.Equal(t, before.Channels, d.Stream().Channels)
	s, err := d.NewDecoder(r).Next()
	require.NoError(t, err)
	assert.Equal(t, []float64{4.6, 71}, s.Vals(), "fields matched by name")

	err = d.Start(fakePort{strings.NewReader("x=1\nx=2\nx=3\n"), t})
	require.ErrorIs(t, err, ErrNoLines)
	assert.Contains(t, err.Error(), "did not send lines with eda (uS), hr (bpm)")
}

// Over a real pty a silent port fails after DetectTimeout.
func TestStartTimesOut(t *testing.T) {
	p, err := simport.Open()
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	port, err := serialport.Open(p.Path, serialport.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { port.Close() })
	d, err := New(Config{DetectTimeout: 300 * time.Millisecond})
	require.NoError(t, err)
	start := time.Now()
	err = d.Start(port)
	require.ErrorIs(t, err, ErrNoLines)
	assert.Contains(t, err.Error(), "no data within 300ms")
	assert.Contains(t, err.Error(), p.Path)
	assert.Less(t, time.Since(start), 3*time.Second)
}

func TestConfigChecks(t *testing.T) {
	tests := []struct {
		cfg Config
		has string
	}{
		{Config{Mode: "binary"}, `mode "binary" is unknown: use auto, grove, csv or kv`},
		{Config{Baud: 7}, "baud 7 is out of range"},
		{Config{Rate: -1}, "rate -1 is not a rate"},
		{Config{MaxLine: 1 << 20}, "line limit 1048576 is out of range: use 8..4096"},
		{Config{Mode: Grove, Columns: []string{"a"}}, "columns do not apply"},
		{Config{Columns: []string{"a b"}}, `column name "a b" is not a name`},
		{Config{Columns: []string{"eda_uS", "EDA"}}, `two columns are named "eda"`},
		{Config{Columns: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}}, "more than 8 values"},
		{Config{Counter: "1x"}, `counter name "1x" is not a name`},
	}
	for _, tc := range tests {
		_, err := New(tc.cfg)
		require.Error(t, err, tc.has)
		assert.Contains(t, err.Error(), tc.has)
	}
	d, err := New(Config{Mode: Grove})
	require.NoError(t, err)
	assert.Equal(t, 9600, d.SerialMode().BaudRate)
	assert.Equal(t, "grove", d.Stream().Device)
	assert.Equal(t, 20.0, d.Stream().Rate)
	d, err = New(Config{Mode: KV, Columns: []string{"hr", "eda_uS"}})
	require.NoError(t, err)
	assert.Equal(t, 115200, d.SerialMode().BaudRate)
	assert.Len(t, d.Stream().Channels, 2, "channels known from the configuration before Start")
	assert.NoError(t, d.Stop(nil))
}

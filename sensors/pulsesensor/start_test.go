package pulsesensor

import (
	"bytes"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cueroom/cueroom/sensors/internal/simtest"
	"github.com/cueroom/cueroom/sensors/synth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type namedConn = simtest.Named

func TestStart(t *testing.T) {
	_, rec, conn := runSim(t, SimConfig{Mode: Visualizer, Synth: synth.Config{Seed: 2}})
	d := device(t, Config{Mode: Visualizer})
	require.NoError(t, d.Start(conn))
	got := next(t, d.NewDecoder(conn), 5)
	expect(t, Config{Mode: Visualizer}, got, rec.Get())
}

// The first line may have begun before the port was open: its tail can
// parse (here "2,800,512" is the tail of "72,800,512"), so Start skips it.
func TestStartSkipsFirstLine(t *testing.T) {
	d := device(t, Config{})
	err := d.Start(rw{strings.NewReader("2,800,512\r\n" + crlf("72,800,515", "72,800,520"))})
	require.NoError(t, err)
	got, err := decodeAll(t, d.NewDecoder(strings.NewReader("")))
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, got, 2)
	assert.Equal(t, [3]float64{515, 72, 800}, vals(got[0]))
}

type rw struct{ io.Reader }

func (rw) Write(b []byte) (int, error) { return len(b), nil }

// feed writes text on b every few milliseconds until the test ends.
func feed(t *testing.T, b net.Conn, text []byte) {
	done, stop := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := b.Write(text); err != nil {
					return
				}
			}
		}
	}()
	t.Cleanup(func() { close(stop); b.Close(); <-done })
}

func TestStartFailures(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		text string // printed over and over; "" = silent
		want []string
	}{
		{"silent", Config{}, "", []string{"no data from /dev/ttyACM0 within 200ms", "PulseSensor Playground sketch"}},
		{"wrong baud", Config{}, "\xf0\x13\x80\x7f\xfe\x0f", []string{"bytes arrive on /dev/ttyACM0 but no PulseSensor line",
			"wrong baud? This port is set to 115200 8N1: it must match the sketch's Serial.begin", "expected plotter lines of a one-sensor sketch"}},
		{"visualizer sketch, plotter setting", Config{}, crlf("S512", "S514"),
			[]string{"/dev/ttyACM0 prints visualizer lines, not plotter ones: set mode=visualizer"}},
		{"plotter sketch, visualizer setting", Config{Mode: Visualizer, Baud: 9600}, crlf("72,800,512"),
			[]string{"prints plotter lines, not visualizer ones: set mode=plotter"}},
		{"another sketch", Config{Mode: Visualizer, Sensor: 2}, crlf("temperature: 21.5"),
			[]string{"set to 9600 8N1", "expected visualizer lines of sensor 2 of a multi-sensor sketch"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := net.Pipe()
			t.Cleanup(func() { a.Close() })
			if tc.text != "" {
				feed(t, b, []byte(tc.text))
			} else {
				t.Cleanup(func() { b.Close() })
			}
			tc.cfg.Timeout = 200 * time.Millisecond
			if strings.Contains(tc.want[0], "9600") {
				tc.cfg.Baud = 9600
			}
			start := time.Now()
			err := device(t, tc.cfg).Start(namedConn{Conn: a, Path: "/dev/ttyACM0"})
			require.ErrorIs(t, err, ErrNotPulseSensor)
			assert.Less(t, time.Since(start), 2*time.Second)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			if tc.text == "" {
				assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
			}
		})
	}
	t.Run("garbage on a port without deadlines", func(t *testing.T) {
		err := device(t, Config{Timeout: time.Hour}).Start(rw{&endless{}})
		require.ErrorIs(t, err, ErrNotPulseSensor)
		assert.Contains(t, err.Error(), "bytes arrive on the port")
	})
	t.Run("port fails", func(t *testing.T) {
		err := device(t, Config{}).Start(rw{strings.NewReader("S5")})
		require.ErrorIs(t, err, io.EOF)
		assert.ErrorIs(t, err, ErrNotPulseSensor)
	})
}

type endless struct{ n int }

func (e *endless) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(0xF0 ^ e.n%7)
		e.n++
	}
	return len(b), nil
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Mode: "csv"}, `output mode "csv" is unknown`},
		{Config{Sensor: 13}, "sensor 13 does not exist"},
		{Config{Sensor: -1}, "sensor -1 does not exist"},
		{Config{Baud: 12}, "12 baud is not a serial speed"},
	} {
		_, err := New(tc.cfg)
		assert.ErrorContains(t, err, tc.want)
	}
}

func TestStreamAndMode(t *testing.T) {
	d := device(t, Config{Name: "ear", Mode: Visualizer, Sensor: 2, Baud: 9600})
	s := d.Stream()
	assert.Equal(t, "ear", s.Device)
	assert.Equal(t, "pulsesensor", s.Kind)
	assert.Equal(t, 50.0, s.Rate)
	var labels []string
	for _, c := range s.Channels {
		labels = append(labels, c.Label+"/"+c.Unit)
	}
	assert.Equal(t, []string{"ppg/adc", "hr/bpm", "ibi/ms"}, labels)
	assert.Equal(t, map[string]string{"mode": "visualizer", "baud": "9600", "sensor": "2"}, s.Settings)
	assert.Equal(t, 9600, d.SerialMode().BaudRate)
	assert.Equal(t, 115200, device(t, Config{}).SerialMode().BaudRate)
	var buf bytes.Buffer
	assert.NoError(t, d.Stop(&buf))
	assert.Zero(t, buf.Len(), "nothing to send")
}

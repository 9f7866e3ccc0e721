package bitalino

import (
	"bytes"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/internal/simtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type namedConn = simtest.Named

// peer plays the device: it records every byte it receives and writes what
// reply returns for it.
type peer struct {
	mu   sync.Mutex
	got  []byte
	done chan struct{}
}

func newPeer(t *testing.T, reply func(c byte, w io.Writer)) (*peer, namedConn) {
	t.Helper()
	a, b := net.Pipe()
	p := &peer{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		buf := make([]byte, 1)
		for {
			if _, err := b.Read(buf); err != nil {
				return
			}
			p.mu.Lock()
			p.got = append(p.got, buf[0])
			p.mu.Unlock()
			reply(buf[0], b)
		}
	}()
	t.Cleanup(func() {
		a.Close()
		b.Close()
		<-p.done
	})
	return p, namedConn{Conn: a, Path: "/dev/fake0"}
}

func (p *peer) bytes() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]byte(nil), p.got...)
}

func quickDevice(t *testing.T, cfg Config) *Device {
	t.Helper()
	cfg.CommandGap = -1
	d, err := New(cfg)
	require.NoError(t, err)
	return d
}

func TestStartSequence(t *testing.T) {
	stale, _ := frames(t, 2, 50, 0)
	tests := []struct {
		name     string
		cfg      Config
		reply    string
		commands []byte
		firmware string
	}{
		{"defaults", Config{}, "BITalino_v5.1\n", []byte{0x00, 0x07, 0xC3, 0x0D}, "BITalino_v5.1"},
		{"100 Hz on A1 A3 A6", Config{Rate: 100, Inputs: []Input{{6, Raw}, {1, EDA}, {3, ECG}}},
			"BITalino_v4.2\r\n", []byte{0x00, 0x07, 0x83, 0x95}, "BITalino_v4.2"},
		{"1 Hz, frames still in flight", Config{Rate: 1}, string(stale) + "BITalino_v5.2\n", []byte{0x00, 0x07, 0x03, 0x0D}, "BITalino_v5.2"},
		{"10 Hz, noise before the tag", Config{Rate: 10}, "\x00\xffBIT BITalino V2.0\n", []byte{0x00, 0x07, 0x43, 0x0D}, "BITalino V2.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, conn := newPeer(t, func(c byte, w io.Writer) {
				if c == cmdVersion {
					_, _ = io.WriteString(w, tc.reply)
				}
			})
			d := quickDevice(t, tc.cfg)
			require.NoError(t, d.Start(conn))
			require.Eventually(t, func() bool { return len(p.bytes()) == len(tc.commands) }, 2*time.Second, time.Millisecond)
			assert.Equal(t, tc.commands, p.bytes())
			assert.Equal(t, tc.firmware, d.Firmware())
			assert.Equal(t, tc.firmware, d.Stream().Settings["firmware"])
		})
	}
}

// endless is a reader that never stops sending garbage and cannot time out.
type endless struct{ n int }

func (e *endless) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(e.n*7 + 3)
		e.n++
	}
	return len(b), nil
}
func (e *endless) Write(b []byte) (int, error) { return len(b), nil }

func TestStartNotABITalino(t *testing.T) {
	tests := []struct {
		name  string
		reply func(c byte, w io.Writer)
		want  []string
		is    error
	}{
		{"silent", func(byte, io.Writer) {}, []string{"/dev/fake0", "no version line within 200ms (0 bytes received)"}, os.ErrDeadlineExceeded},
		{"garbage", func(c byte, w io.Writer) {
			if c == cmdVersion {
				_, _ = w.Write(bytes.Repeat([]byte{0x42, 0x17}, 100))
			}
		}, []string{"/dev/fake0", "within 200ms (200 bytes received)"}, os.ErrDeadlineExceeded},
		{"hangs up", func(c byte, w io.Writer) {
			if c == cmdVersion {
				_ = w.(net.Conn).Close()
			}
		}, []string{"/dev/fake0", "reading failed after 0 bytes"}, io.EOF},
		{"endless line", func(c byte, w io.Writer) {
			if c == cmdVersion {
				_, _ = io.WriteString(w, "BITalino"+strings.Repeat("x", 300))
			}
		}, []string{"too long"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, conn := newPeer(t, tc.reply)
			d := quickDevice(t, Config{VersionTimeout: 200 * time.Millisecond})
			start := time.Now()
			err := d.Start(conn)
			require.ErrorIs(t, err, ErrNotBITalino)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
			assert.Less(t, time.Since(start), 2*time.Second)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Contains(t, err.Error(), "Check that this is the BITalino's port")
			assert.Empty(t, d.Firmware())
		})
	}
	t.Run("garbage on a port without deadlines", func(t *testing.T) {
		d := quickDevice(t, Config{VersionTimeout: time.Hour})
		err := d.Start(&endless{})
		require.ErrorIs(t, err, ErrNotBITalino)
		assert.Contains(t, err.Error(), "the port did not answer")
		assert.Contains(t, err.Error(), "bytes received without one")
	})
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"rate", Config{Rate: 500}, "rate 500 Hz is not supported"},
		{"no such input", Config{Inputs: []Input{{7, EDA}}}, "input A7 does not exist"},
		{"A0", Config{Inputs: []Input{{0, EDA}}}, "input A0 does not exist"},
		{"twice", Config{Inputs: []Input{{2, EDA}, {2, ECG}}}, "A2 is selected twice"},
		{"sensor", Config{Inputs: []Input{{1, "emg"}}}, `A1: sensor "emg" is unknown`},
		{"revision", Config{EDARevision: "v3"}, `revision "v3" is unknown`},
		{"too many", Config{Inputs: make([]Input, 7)}, "7 inputs selected"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestStream(t *testing.T) {
	d, err := New(Config{Name: "chest", Rate: 100, EDARevision: EDAOlder,
		Inputs: []Input{{4, Raw}, {3, EDA}, {1, EDA}, {2, ECG}, {5, ""}}})
	require.NoError(t, err)
	s := d.Stream()
	assert.Equal(t, "chest", s.Device)
	assert.Equal(t, "bitalino", s.Kind)
	assert.Equal(t, 100.0, s.Rate)
	assert.Equal(t, []sensors.Channel{
		{Label: "eda_a1", Unit: "uS", Type: "EDA"},
		{Label: "ecg", Unit: "mV", Type: "ECG"},
		{Label: "eda_a3", Unit: "uS", Type: "EDA"},
		{Label: "a4", Unit: "adc", Type: "MISC"},
		{Label: "a5", Unit: "adc", Type: "MISC"},
	}, s.Channels)
	assert.Equal(t, map[string]string{"rate": "100", "inputs": "A1=eda,A2=ecg,A3=eda,A4=raw,A5=raw", "eda_revision": "older"}, s.Settings)
	assert.Equal(t, []Input{{1, EDA}, {2, ECG}, {3, EDA}, {4, Raw}, {5, Raw}}, d.Inputs())

	var buf bytes.Buffer
	require.NoError(t, d.Stop(&buf))
	assert.Equal(t, []byte{0x00}, buf.Bytes())
}

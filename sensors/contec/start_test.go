package contec

import (
	"bytes"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/cueroom/cueroom/sensors/internal/simtest"
	"github.com/cueroom/cueroom/sensors/synth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type namedConn = simtest.Named

type tap = simtest.Tap

func TestStart(t *testing.T) {
	for _, proto := range []Protocol{ProtocolNew, ProtocolOld} {
		t.Run(string(proto), func(t *testing.T) {
			_, rec, conn := runSim(t, SimConfig{Protocol: proto, Synth: synth.Config{Seed: 1}})
			tp := &tap{Conn: conn}
			d := device(t, Config{Protocol: proto})
			require.NoError(t, d.Start(tp))
			if proto == ProtocolNew {
				assert.Equal(t, startCommand[:], tp.Sent())
			} else {
				assert.Empty(t, tp.Sent(), "the old protocol needs no command")
			}
			got := next(t, d.NewDecoder(conn), 3)
			expect(t, proto, got, rec.Get())
		})
	}
}

// spew writes junk on b until the test ends, as a device at another baud
// rate or parity would look.
func spew(t *testing.T, b net.Conn, junk []byte) {
	done := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		go func() { _, _ = io.Copy(io.Discard, b) }() // whatever the host sends
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := b.Write(junk); err != nil {
					return
				}
			}
		}
	}()
	t.Cleanup(func() { close(stop); b.Close(); <-done })
}

func TestStartFailures(t *testing.T) {
	junk := bytes.Repeat([]byte{0xF0, 0x0F, 0x33}, 10) // no packet of either protocol
	tests := []struct {
		name  string
		proto Protocol
		junk  bool
		want  []string
	}{
		{"new, silent", ProtocolNew, false, []string{"no data from /dev/ttyUSB9 within 200ms of the start command",
			"CP210x", "set protocol=old"}},
		{"old, silent", ProtocolOld, false, []string{"no data from /dev/ttyUSB9 within 200ms", "streams unprompted", "set protocol=new"}},
		{"new, wrong baud", ProtocolNew, true, []string{"bytes arrive on /dev/ttyUSB9 but no valid CMS50D+ packet",
			"wrong baud or parity? The new protocol is 115200 8N1", "protocol=old (19200 8O1)"}},
		{"old, wrong baud", ProtocolOld, true, []string{"bytes arrive on /dev/ttyUSB9 but no valid CMS50D+ packet",
			"wrong baud or parity? The old protocol is 19200 8O1", "protocol=new (115200 8N1)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := net.Pipe()
			t.Cleanup(func() { a.Close() })
			if tc.junk {
				spew(t, b, junk)
			} else {
				go func() { _, _ = io.Copy(io.Discard, b) }()
				t.Cleanup(func() { b.Close() })
			}
			d := device(t, Config{Protocol: tc.proto, Timeout: 200 * time.Millisecond})
			start := time.Now()
			err := d.Start(namedConn{Conn: a, Path: "/dev/ttyUSB9"})
			require.ErrorIs(t, err, ErrNotContec)
			assert.Less(t, time.Since(start), 2*time.Second)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			if !tc.junk {
				assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
			}
		})
	}
	t.Run("garbage on a port without deadlines", func(t *testing.T) {
		d := device(t, Config{Timeout: time.Hour})
		err := d.Start(&endless{})
		require.ErrorIs(t, err, ErrNotContec)
		assert.Contains(t, err.Error(), "bytes arrive on the port")
	})
	t.Run("port fails", func(t *testing.T) {
		a, b := net.Pipe()
		b.Close()
		err := device(t, Config{Protocol: ProtocolOld}).Start(a)
		require.ErrorIs(t, err, io.EOF)
		assert.ErrorIs(t, err, ErrNotContec)
	})
}

// endless never stops sending junk and cannot time out.
type endless struct{ n int }

func (e *endless) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(0xF0 ^ e.n%7)
		e.n++
	}
	return len(b), nil
}
func (e *endless) Write(b []byte) (int, error) { return len(b), nil }

func TestNewValidates(t *testing.T) {
	_, err := New(Config{Protocol: "v5"})
	assert.ErrorContains(t, err, `protocol "v5" is unknown`)
}

func TestStreamAndMode(t *testing.T) {
	d := device(t, Config{Name: "finger"})
	s := d.Stream()
	assert.Equal(t, "finger", s.Device)
	assert.Equal(t, "contec", s.Kind)
	assert.Equal(t, 60.0, s.Rate)
	var labels []string
	for _, c := range s.Channels {
		labels = append(labels, c.Label+"/"+c.Unit)
	}
	assert.Equal(t, []string{"ppg/adc", "hr/bpm", "spo2/%", "strength/level", "status/flags"}, labels)
	assert.Equal(t, map[string]string{"protocol": "new", "baud": "115200"}, s.Settings)
	m := d.SerialMode()
	assert.Equal(t, 115200, m.BaudRate)
	assert.Equal(t, 0, int(m.Parity))

	old := device(t, Config{Protocol: ProtocolOld})
	m = old.SerialMode()
	assert.Equal(t, 19200, m.BaudRate)
	assert.Equal(t, 8, m.DataBits)
	assert.Equal(t, "odd", map[int]string{1: "odd"}[int(m.Parity)])
	assert.Equal(t, "19200", old.Stream().Settings["baud"])
	assert.NoError(t, old.Stop(nil), "nothing to send")
}

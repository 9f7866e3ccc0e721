package shimmer

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

func TestStartSequence(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		cmds string
	}{
		{"defaults: 128 Hz, auto range", Config{}, "20 01 08 04 01 00 05 00 01 21 04 01 07"},
		{"51.2 Hz, range 3, 2-byte CRC", Config{Rate: 51.2, GSRRange: GSRRange3, CRC: 2},
			"20 01 8b 02 08 04 01 00 05 80 02 21 03 01 07"},
		{"1024 Hz, range 0, 1-byte CRC", Config{Rate: 1024, GSRRange: GSRRange0, CRC: 1},
			"20 01 8b 01 08 04 01 00 05 20 00 21 00 01 07"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, rec, conn := runSim(t, SimConfig{Synth: synth.Config{Seed: 1}})
			tp := &tap{Conn: conn}
			d := device(t, tc.cfg)
			require.NoError(t, d.Start(tp))
			assert.Equal(t, unhex(t, tc.cmds), tp.Sent())
			s, err := d.NewDecoder(conn).Next()
			require.NoError(t, err)
			require.NotEmpty(t, rec.Get())
			assert.Equal(t, rec.Get()[0].Timestamp, s.Seq, "the first packet is decoded")
		})
	}
}

// peer plays a device with a canned reply per command byte. Its replies
// are queued, as a serial port's buffers would hold them, so a host that
// is busy writing does not deadlock a synchronous pipe.
func peer(t *testing.T, reply func(c byte, w io.Writer)) namedConn {
	t.Helper()
	a, b := net.Pipe()
	done := make(chan struct{})
	q := &queue{ch: make(chan []byte, 1024)}
	go func() {
		defer close(done)
		wdone := make(chan struct{})
		go func() {
			defer close(wdone)
			for m := range q.ch {
				if m == nil {
					_ = b.Close()
					continue
				}
				if _, err := b.Write(m); err != nil {
					for range q.ch { // drain
					}
					return
				}
			}
		}()
		buf := make([]byte, 1)
		for {
			if _, err := b.Read(buf); err != nil {
				close(q.ch)
				<-wdone
				return
			}
			reply(buf[0], q)
		}
	}()
	t.Cleanup(func() {
		a.Close()
		b.Close()
		<-done
	})
	return namedConn{Conn: a, Path: "/dev/rfcomm7"}
}

// queue is the peer's transmit buffer; Close hangs up after what is queued.
type queue struct{ ch chan []byte }

func (q *queue) Write(b []byte) (int, error) {
	q.ch <- append([]byte(nil), b...)
	return len(b), nil
}

func (q *queue) Close() error {
	q.ch <- nil
	return nil
}

// scripted answers like a GSR+ unit, with the inquiry replies given; it
// parses command arguments and does not answer the commands in mute.
func scripted(inquiries []string, mute ...byte) func(c byte, w io.Writer) {
	n, args := 0, 0
	var cmd byte
	return func(c byte, w io.Writer) {
		if args > 0 {
			if args--; args > 0 {
				return
			}
		} else if cmd, args = c, argLen(c); args > 0 {
			return
		}
		if bytes.IndexByte(mute, cmd) >= 0 {
			return
		}
		switch cmd {
		case cmdInquiry:
			r := inquiries[min(n, len(inquiries)-1)]
			n++
			_, _ = w.Write(unhexNoT(r))
		case cmdStop, cmdStart, cmdSensors, cmdSetRate, cmdSetRange:
			_, _ = w.Write([]byte{ack})
		case cmdCRC: // this firmware acknowledges but sends no CRC
			_, _ = w.Write([]byte{ack})
		}
	}
}

func unhexNoT(s string) []byte {
	var out []byte
	for _, f := range bytes.Fields([]byte(s)) {
		var b byte
		for _, c := range f {
			b <<= 4
			switch {
			case c >= '0' && c <= '9':
				b |= c - '0'
			default:
				b |= c - 'a' + 10
			}
		}
		out = append(out, b)
	}
	return out
}

func TestStartFailures(t *testing.T) {
	good := "ff 02 00 01 02 ff 01 08 02 01 12 1c"
	tests := []struct {
		name  string
		cfg   Config
		reply func(c byte, w io.Writer)
		want  []string
		is    []error
	}{
		{"silent", Config{}, func(byte, io.Writer) {},
			[]string{"/dev/rfcomm7 did not answer the inquiry (0x01) like a Shimmer3", "no reply within 200ms (0 bytes received)", "LogAndStream"},
			[]error{ErrNotShimmer, os.ErrDeadlineExceeded}},
		{"garbage", Config{}, func(c byte, w io.Writer) { _, _ = w.Write(bytes.Repeat([]byte{0x42, 0xFF, 0x17}, 30)) },
			[]string{"like a Shimmer3", "bytes received"}, []error{ErrNotShimmer}},
		{"hangs up", Config{}, func(c byte, w io.Writer) { _ = w.(io.Closer).Close() },
			[]string{"like a Shimmer3", "reading failed after 0 bytes"}, []error{ErrNotShimmer, io.EOF}},
		{"no ACK for the range", Config{}, scripted([]string{good}, cmdSetRange),
			[]string{"did not acknowledge set GSR range (0x21)"}, []error{os.ErrDeadlineExceeded}},
		{"firmware without the link CRC", Config{CRC: 2}, scripted([]string{good}),
			[]string{"did not acknowledge set link CRC (0x8B)", "set crc=0"}, []error{os.ErrDeadlineExceeded}},
		{"GSR not enabled", Config{}, scripted([]string{good, "ff 02 00 01 02 ff 01 08 01 01 12"}),
			[]string{"without GSR (0x1c) and PPG A13 (0x12)", "GSR+ expansion board"}, nil},
		{"rate not taken", Config{}, scripted([]string{good, "ff 02 80 02 02 ff 01 08 02 01 12 1c"}),
			[]string{"runs at 51.2 Hz (divider 640) after being set to 128 Hz (divider 256)"}, nil},
		{"unknown channel", Config{}, scripted([]string{good, "ff 02 00 01 02 ff 01 08 03 01 12 1c 7e"}),
			[]string{"channel id 0x7e"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn := peer(t, tc.reply)
			tc.cfg.Timeout = 200 * time.Millisecond
			d := device(t, tc.cfg)
			start := time.Now()
			err := d.Start(conn)
			require.Error(t, err)
			assert.Less(t, time.Since(start), 3*time.Second)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			for _, e := range tc.is {
				assert.ErrorIs(t, err, e)
			}
		})
	}
}

// Stale data from a device still streaming, and the stop's ACK, come
// before the inquiry reply: they are skipped.
func TestStartSkipsStaleData(t *testing.T) {
	stale, _ := stream(t, 256, 20, 0x0201FF, 0) // holds ff 02 01 by chance of its timestamps
	require.True(t, bytes.Contains(stale, []byte{0xFF, 0x02}))
	script := scripted([]string{"ff 02 00 01 02 ff 01 08 02 01 12 1c"})
	conn := peer(t, func(c byte, w io.Writer) {
		if c == cmdStop {
			_, _ = w.Write(append(stale, ack))
			return
		}
		script(c, w)
	})
	d := device(t, Config{Timeout: time.Second})
	require.NoError(t, d.Start(conn))
}

// A reply split across reads and preceded by junk is found; one whose CRC
// fails is skipped.
func TestAwait(t *testing.T) {
	good := appendCRC([]byte{ack, rspRange, 2}, 0, 2)
	bad := append([]byte(nil), good...)
	bad[2] ^= 1
	tests := []struct {
		name string
		in   []byte
		crc  int
		want []byte
		rest []byte
	}{
		{"plain", []byte{0x00, 0xFF, 0x22, 0x03, 0x99}, 0, []byte{0x03}, []byte{0x99}},
		{"ACK of something else first", []byte{0xFF, 0xFF, 0x22, 0x01}, 0, []byte{0x01}, []byte{}},
		{"CRC checked", append(append(bad, good...), 0x07), 2, []byte{2}, []byte{0x07}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := net.Pipe()
			t.Cleanup(func() { a.Close(); b.Close() })
			go func() {
				for _, c := range tc.in { // one byte per write: the reply arrives in pieces
					if _, err := b.Write([]byte{c}); err != nil {
						return
					}
				}
			}()
			l := &link{rw: a, name: "x", timeout: 2 * time.Second, crc: tc.crc}
			got, err := l.await([]byte{rspRange}, 1, nil)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			// what followed the reply stays for the next read
			for len(l.pend) < len(tc.rest) {
				n, err := a.Read(l.buf[:])
				require.NoError(t, err)
				l.pend = append(l.pend, l.buf[:n]...)
			}
			assert.Equal(t, tc.rest, append([]byte{}, l.pend...))
		})
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Rate: 2000}, "rate 2000 Hz is not supported"},
		{Config{Rate: -1}, "rate -1 Hz"},
		{Config{GSRRange: 9}, "GSR range 9 is unknown"},
		{Config{CRC: 3}, "CRC mode 3 is unknown"},
	}
	for _, tc := range tests {
		_, err := New(tc.cfg)
		assert.ErrorContains(t, err, tc.want)
	}
}

func TestStreamAndStop(t *testing.T) {
	d, err := New(Config{Name: "wrist", Rate: 100, GSRRange: GSRRange1, CRC: 1})
	require.NoError(t, err)
	s := d.Stream()
	assert.Equal(t, "wrist", s.Device)
	assert.Equal(t, "shimmer", s.Kind)
	assert.InDelta(t, 32768.0/328, s.Rate, 1e-9, "the rate the divider gives")
	assert.Equal(t, "eda", s.Channels[0].Label)
	assert.Equal(t, "uS", s.Channels[0].Unit)
	assert.Equal(t, "ppg", s.Channels[1].Label)
	assert.Equal(t, "mV", s.Channels[1].Unit)
	assert.Equal(t, map[string]string{"rate": "99.90243902439025", "gsr_range": "1", "crc": "1"}, s.Settings)
	var buf bytes.Buffer
	require.NoError(t, d.Stop(&buf))
	assert.Equal(t, []byte{0x20}, buf.Bytes())
	m := d.SerialMode()
	assert.Equal(t, 115200, m.BaudRate)
	assert.Equal(t, 8, m.DataBits)
}

package simrun

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGarbage(t *testing.T) {
	tests := []struct {
		name            string
		count, every, n int
		wantN           int
	}{
		{"never", 10, 0, 5, 0},
		{"negative interval is never", 10, -2, 5, 0},
		{"not a multiple", 7, 3, 5, 0},
		{"a multiple", 9, 3, 5, 5},
		{"every one", 1, 1, 2, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, n := Garbage([]byte{0xAA}, rand.New(rand.NewPCG(1, 2)), tc.count, tc.every, tc.n)
			assert.Equal(t, tc.wantN, n)
			require.Len(t, out, 1+tc.wantN)
			assert.Equal(t, byte(0xAA), out[0], "what was there stays")
			// the same seed gives the same bytes: a simulator's output repeats
			again, _ := Garbage(nil, rand.New(rand.NewPCG(1, 2)), tc.count, tc.every, tc.n)
			assert.Equal(t, string(again), string(out[1:]))
		})
	}
}

// run starts Run on one end of a pipe and returns the other end and Run's result.
func run(t *testing.T, ctx context.Context, done chan struct{}, forward bool, serve Serve) (net.Conn, <-chan error) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, done, b, forward, serve) }()
	return a, errc
}

func wait(t *testing.T, errc <-chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

func TestRunForwardsCommands(t *testing.T) {
	done := make(chan struct{})
	got := make(chan byte, 8)
	host, errc := run(t, context.Background(), done, true, func(quit <-chan struct{}, cmds <-chan byte, _ <-chan error) error {
		for {
			select {
			case <-quit:
				return errors.New("interrupted") // a stop's error is not a failure
			case c := <-cmds:
				got <- c
			}
		}
	})
	_, err := host.Write([]byte("vA"))
	require.NoError(t, err)
	assert.Equal(t, byte('v'), <-got)
	assert.Equal(t, byte('A'), <-got)
	close(done)
	assert.NoError(t, wait(t, errc))
}

func TestRunDiscardsInputAndSeesHangUp(t *testing.T) {
	host, errc := run(t, context.Background(), make(chan struct{}), false, func(_ <-chan struct{}, cmds <-chan byte, rerr <-chan error) error {
		if cmds != nil {
			return errors.New("cmds should be nil when not forwarding")
		}
		return <-rerr
	})
	// many more bytes than a forwarding buffer holds: the reader must keep draining
	_, err := host.Write(make([]byte, 4096))
	require.NoError(t, err)
	require.NoError(t, host.Close())
	assert.ErrorIs(t, wait(t, errc), io.EOF)
}

func TestRunReturnsServeError(t *testing.T) {
	boom := errors.New("boom")
	_, errc := run(t, context.Background(), make(chan struct{}), true, func(<-chan struct{}, <-chan byte, <-chan error) error {
		return boom
	})
	assert.ErrorIs(t, wait(t, errc), boom)
}

// A write blocked on a port nobody reads ends on cancel through the
// write deadline, and Run reports the stop as success.
func TestRunCancelInterruptsBlockedWrite(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var rw net.Conn
	started := make(chan struct{})
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	rw = b
	errc := make(chan error, 1)
	go func() {
		errc <- Run(ctx, make(chan struct{}), rw, true, func(<-chan struct{}, <-chan byte, <-chan error) error {
			close(started)
			_, err := rw.Write([]byte("nobody reads this"))
			return err
		})
	}()
	<-started
	cancel()
	assert.NoError(t, wait(t, errc))
	// the deadlines are cleared again: the port is usable afterwards
	go func() { _, _ = a.Write([]byte{1}) }()
	var buf [1]byte
	_, err := rw.Read(buf[:])
	require.NoError(t, err)
	assert.Equal(t, byte(1), buf[0])
}

// Frames are lost only to a port that refused writes for longer than the
// device's buffer holds; a late writer whose writes went through loses none.
func TestOverflow(t *testing.T) {
	const ms = time.Millisecond
	for _, tc := range []struct {
		name   string
		writes []time.Duration // how long each write took
		due    int64
		want   int64
	}{
		{"never blocked, late by 3 s", nil, 3000, 0},
		{"blocked less than the buffer", []time.Duration{800 * ms}, 3000, 0},
		{"blocked 3 s, 1 s buffer", []time.Duration{3000 * ms}, 3000, 2000},
		{"blocked in pieces", []time.Duration{1000 * ms, 1000 * ms, 500 * ms}, 3000, 1500},
		{"caught up in between", []time.Duration{2000 * ms, 5 * ms, 900 * ms}, 3000, 0},
		{"fewer due than blocked", []time.Duration{3000 * ms}, 1500, 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o Overflow
			for _, d := range tc.writes {
				o.Wrote(d, 20*ms)
			}
			if got := o.Skip(tc.due, ms, time.Second); got != tc.want {
				t.Fatalf("Skip = %d, want %d", got, tc.want)
			}
			o.Wrote(ms, 20*ms) // the port takes a write at once: caught up
			if again := o.Skip(tc.due, ms, time.Second); again != 0 {
				t.Fatalf("Skip after the writer caught up = %d, want 0", again)
			}
		})
	}
}

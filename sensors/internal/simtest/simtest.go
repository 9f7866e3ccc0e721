// Package simtest is the harness the device simulators' tests share: a
// record of what a simulator sent, a simulator served on an in-memory
// pipe, and reading samples from a decoder.
package simtest

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/cueroom/cueroom/sensors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Recorder keeps what a simulator reported sending (its OnFrame, OnPacket
// or OnLine hook), safe to read while the simulator runs.
type Recorder[T any] struct {
	mu    sync.Mutex
	items []T
}

// Add records v; pass it as the simulator's hook.
func (r *Recorder[T]) Add(v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = append(r.items, v)
}

// Get returns a copy of what was recorded so far.
func (r *Recorder[T]) Get() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.items...)
}

// Sim is what the simulators have in common.
type Sim interface {
	Run(ctx context.Context, rw io.ReadWriter) error
	Close() error
}

// Serve runs sim on one end of a pipe and returns the other. Cleanup stops
// it and checks that Run returned nil.
func Serve(t testing.TB, sim Sim) net.Conn {
	t.Helper()
	a, b := net.Pipe()
	errc := make(chan error, 1)
	go func() { errc <- sim.Run(context.Background(), b) }()
	t.Cleanup(func() {
		require.NoError(t, sim.Close())
		select {
		case err := <-errc:
			assert.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Error("Sim.Run did not return after Close")
		}
		a.Close()
		b.Close()
	})
	return a
}

// Next reads count samples from dec, failing the test on an error.
func Next(t testing.TB, dec sensors.Decoder, count int) []sensors.Sample {
	t.Helper()
	out := make([]sensors.Sample, 0, count)
	for range count {
		s, err := dec.Next()
		require.NoError(t, err)
		out = append(out, s)
	}
	return out
}

// Collector is a bridge Sink and OnStream hook that keeps what it is given.
type Collector struct {
	mu      sync.Mutex
	samples []sensors.Sample
	stream  *sensors.Stream
}

// Sink records a sample.
func (c *Collector) Sink(s sensors.Sample) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.samples = append(c.samples, s)
}

// OnStream records the stream description.
func (c *Collector) OnStream(s sensors.Stream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stream = &s
}

// Count is how many samples were recorded.
func (c *Collector) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.samples)
}

// Got returns a copy of the samples and the last stream (nil if none).
func (c *Collector) Got() ([]sensors.Sample, *sensors.Stream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sensors.Sample(nil), c.samples...), c.stream
}

// CheckStops checks that Run returns nil promptly on Close and on cancel
// even when nobody reads what it writes (its write is blocked), and that
// it clears the deadlines it set. newSim makes a fresh simulator; streaming
// gets the host's end of the port and returns once data flows.
func CheckStops(t *testing.T, newSim func(t *testing.T) Sim, streaming func(t *testing.T, host io.ReadWriter)) {
	for _, how := range []string{"close", "cancel"} {
		t.Run(how, func(t *testing.T) {
			sim := newSim(t)
			a, b := net.Pipe()
			t.Cleanup(func() { a.Close(); b.Close() })
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- sim.Run(ctx, b) }()
			streaming(t, a) // then stop reading
			if how == "close" {
				require.NoError(t, sim.Close())
			} else {
				cancel()
			}
			select {
			case err := <-errc:
				require.NoError(t, err)
			case <-time.After(3 * time.Second):
				t.Fatal("Run did not return")
			}
			// The deadlines Run used are cleared: the pipe still works.
			go func() { _, _ = b.Write([]byte{1}) }()
			var one [1]byte
			_, err := a.Read(one[:])
			require.NoError(t, err)
		})
	}
}

// CheckHangUp checks that Run fails, saying the port was closed, when the
// host hangs up.
func CheckHangUp(t *testing.T, sim Sim) {
	a, b := net.Pipe()
	defer b.Close()
	errc := make(chan error, 1)
	go func() { errc <- sim.Run(context.Background(), b) }()
	require.NoError(t, a.Close())
	select {
	case err := <-errc:
		require.ErrorContains(t, err, "the port was closed")
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not return")
	}
}

// Named gives a net.Pipe end a port name, as serialport.Port has.
type Named struct {
	net.Conn
	Path string
}

// Name is the port's path.
func (c Named) Name() string { return c.Path }

// Tap records what the host wrote on its way to the simulator.
type Tap struct {
	net.Conn
	mu  sync.Mutex
	out []byte
}

func (t *Tap) Write(b []byte) (int, error) {
	t.mu.Lock()
	t.out = append(t.out, b...)
	t.mu.Unlock()
	return t.Conn.Write(b)
}

// Sent is a copy of everything written so far.
func (t *Tap) Sent() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.out...)
}

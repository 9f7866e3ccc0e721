package bridge

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/bitalino"
	"github.com/cueroom/cueroom/sensors/serialport"
	"github.com/cueroom/cueroom/sensors/simport"
)

// statusLog records OnStatus calls and lets a test wait for one.
type statusLog struct {
	mu   sync.Mutex
	all  []Status
	next chan Status
}

func newStatusLog() *statusLog { return &statusLog{next: make(chan Status, 4096)} }

func (l *statusLog) on(s Status) {
	l.mu.Lock()
	l.all = append(l.all, s)
	l.mu.Unlock()
	l.next <- s
}

func (l *statusLog) get() []Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Status(nil), l.all...)
}

// waitFor consumes statuses until one satisfies ok.
func (l *statusLog) waitFor(t *testing.T, what string, ok func(Status) bool) Status {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case s := <-l.next:
			if ok(s) {
				return s
			}
		case <-timeout:
			t.Fatalf("no %s status within 15 s; got %v", what, states(l.get()))
			return Status{}
		}
	}
}

func states(ss []Status) []State {
	var out []State
	for _, s := range ss {
		out = append(out, s.State)
	}
	return out
}

// repoint makes link point at target atomically, as udev updates a by-id
// link.
func repoint(t *testing.T, link, target string) {
	t.Helper()
	tmp := link + ".new"
	require.NoError(t, os.Symlink(target, tmp))
	require.NoError(t, os.Rename(tmp, link))
}

// split returns the samples before and after the gap, checking the gap's
// ends are the samples around it.
func split(t *testing.T, samples []sensors.Sample, gap *Gap) (before, after []sensors.Sample) {
	t.Helper()
	for i, s := range samples {
		if s.T == gap.End {
			require.Positive(t, i)
			require.Equal(t, gap.Start, samples[i-1].T, "the gap starts at the last sample before the loss")
			return samples[:i], samples[i:]
		}
	}
	t.Fatalf("no sample at the gap's end %v", gap.End)
	return nil, nil
}

// Unplug and replug over real ptys, reached through a symlink as through a
// udev by-id link: (1) the port closes and the link is re-pointed to the
// device's new node; (2) the link vanishes, reconnecting fails for a while,
// then it comes back.
func TestReconnect(t *testing.T) {
	tests := []struct {
		name   string
		vanish bool
	}{
		{"port closed, link re-pointed", false},
		{"path vanishes and comes back", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			link := filepath.Join(t.TempDir(), "usb-PLUX_BITalino-if00")
			path1, sent1, p1 := simPty(t, bitalino.SimConfig{})
			repoint(t, link, path1)

			dev := newDevice(t, bitalino.Config{Name: "bit", Rate: 100})
			c := &collector{}
			st := newStatusLog()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := runBridge(t, ctx, Config{Port: link, Device: dev, Sink: c.sink, OnStream: c.onStream,
				OnStatus: st.on, Reconnect: true, Backoff: Backoff{First: 20 * time.Millisecond, Max: 100 * time.Millisecond}})

			st.waitFor(t, "streaming", func(s Status) bool { return s.State == Streaming })
			require.Eventually(t, func() bool { return c.count() >= 50 }, 10*time.Second, 5*time.Millisecond)

			unplugged := time.Now()
			if tc.vanish {
				require.NoError(t, os.Remove(link))
			}
			require.NoError(t, p1.Close())
			lost := st.waitFor(t, "lost", func(s Status) bool { return s.State == Lost })
			assert.Less(t, time.Since(unplugged), time.Second, "the loss is reported within 1 s")
			require.ErrorIs(t, lost.Err, serialport.ErrGone)
			assert.Equal(t, ReasonGone, lost.Gap.Reason)
			assert.Zero(t, lost.Gap.End, "still open")
			assert.Contains(t, lost.Message(), "bit on "+link+" lost (gone)")

			if tc.vanish {
				failed := st.waitFor(t, "failed reconnection", func(s Status) bool {
					return s.State == Connecting && s.Attempt >= 2 && errors.Is(s.Err, serialport.ErrNotFound)
				})
				assert.Contains(t, failed.Message(), "reconnecting bit on "+link)
				assert.Contains(t, failed.Message(), "no such port")
			}
			path2, sent2, _ := simPty(t, bitalino.SimConfig{})
			repoint(t, link, path2)
			outage := time.Since(unplugged)

			back := st.waitFor(t, "reconnected", func(s Status) bool { return s.State == Reconnected })
			n := c.count()
			require.Eventually(t, func() bool { return c.count() >= n+50 }, 10*time.Second, 5*time.Millisecond)
			cancel()
			require.ErrorIs(t, wait(t, errc, 5*time.Second), context.Canceled)

			gap := back.Gap
			require.NotNil(t, gap)
			assert.Equal(t, lost.Gap.Start, gap.Start)
			assert.GreaterOrEqual(t, gap.End-gap.Start, outage, "one time base: the gap spans the outage")
			assert.Contains(t, back.Message(), "bit on "+link+" is back after a")
			assert.Equal(t, 1, back.Gaps)

			samples, events := c.get()
			assert.Equal(t, []string{"stream", "sample"}, events, "the stream is announced once")
			for i := 1; i < len(samples); i++ {
				require.Greater(t, samples[i].T, samples[i-1].T, "sample %d: time runs on across the gap", i)
			}
			before, after := split(t, samples, gap)
			// each side is what its simulator sent: Start ran again on the new device
			for side, x := range map[string]struct {
				got  []sensors.Sample
				sent []bitalino.SimFrame
			}{"before": {before, sent1.get()}, "after": {after, sent2.get()}} {
				require.LessOrEqual(t, len(x.got), len(x.sent), side)
				for i, s := range x.got {
					require.Equal(t, uint32(i), s.Seq, "%s: sample %d in order", side, i)
					want := bitalino.EDAuS(bitalino.EDACurrent, x.sent[i].Frame.ADC[0], 10)
					require.Equal(t, float64(want), s.Values[0], "%s: sample %d", side, i)
				}
			}

			all := st.get()
			assert.Equal(t, Connecting, all[0].State)
			assert.Equal(t, 0, all[0].Attempt)
			assert.Equal(t, uint64(len(before)), lost.Samples)
			assert.Equal(t, uint64(len(before)+1), back.Samples)
			assert.Zero(t, back.DroppedBytes)
			assert.Zero(t, back.DroppedSamples)
		})
	}
}

// A device that stays connected but falls silent is reported after
// Silence, then reconnected on the same port: its start sequence runs again.
func TestSilentDeviceReconnects(t *testing.T) {
	p, err := simport.Open()
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	runSim := func() (stop func()) {
		sim, err := bitalino.NewSim(bitalino.SimConfig{MaxBacklog: time.Hour})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- sim.Run(ctx, p.Master()) }()
		return func() { cancel(); assert.NoError(t, <-done) }
	}
	stop1 := runSim()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			stop1()
		}
	})

	c := &collector{}
	st := newStatusLog()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const silence = 300 * time.Millisecond
	errc := runBridge(t, ctx, Config{Port: p.Path, Device: newDevice(t, bitalino.Config{Rate: 100}), Sink: c.sink,
		OnStatus: st.on, Silence: silence, Reconnect: true, Backoff: Backoff{First: 10 * time.Millisecond}})
	require.Eventually(t, func() bool { return c.count() >= 30 }, 10*time.Second, 5*time.Millisecond)
	stop1()
	stopped = true
	silent := time.Now()
	lost := st.waitFor(t, "lost", func(s Status) bool { return s.State == Lost })
	took := time.Since(silent)
	require.ErrorIs(t, lost.Err, serialport.ErrSilent)
	assert.Equal(t, ReasonSilent, lost.Gap.Reason)
	assert.Less(t, took, silence+time.Second, "alert within a second of the silence")

	stop2 := runSim()
	defer stop2()
	back := st.waitFor(t, "reconnected", func(s Status) bool { return s.State == Reconnected })
	n := c.count()
	require.Eventually(t, func() bool { return c.count() >= n+20 }, 10*time.Second, 5*time.Millisecond)
	cancel()
	require.ErrorIs(t, wait(t, errc, 5*time.Second), context.Canceled)
	samples, _ := c.get()
	before, after := split(t, samples, back.Gap)
	assert.Equal(t, uint32(0), after[0].Seq, "the new stream starts its own counter")
	require.NotEmpty(t, before)
	// Not before the silence: measured from the last sample's arrival, on
	// the clock the status is read on (a loaded machine may starve the
	// simulator before the test stops it; that silence counts too).
	assert.GreaterOrEqual(t, lost.T-before[len(before)-1].Arrival, silence-50*time.Millisecond, "not before the silence")
	assert.GreaterOrEqual(t, back.Gap.End-back.Gap.Start, silence)
}

// Bytes that never decode (a wrong baud rate or parity) fail fast with an
// error naming the line setting, reconnecting or not: the device never
// streamed.
func TestUndecodable(t *testing.T) {
	for _, reconnect := range []bool{false, true} {
		// answers the version query like a BITalino, then sends noise
		p, err := simport.Start(context.Background(), simport.Func(func(ctx context.Context, rw io.ReadWriter) error {
			rng := rand.New(rand.NewPCG(1, 2))
			if !awaitStart(rw) {
				return nil
			}
			b := make([]byte, 64)
			for {
				for i := range b {
					b[i] = byte(rng.UintN(256))
				}
				if _, err := rw.Write(b); err != nil {
					return nil // Close interrupted us
				}
			}
		}))
		require.NoError(t, err)
		t.Cleanup(func() { p.Close() })
		st := newStatusLog()
		start := time.Now()
		err = wait(t, runBridge(t, context.Background(), Config{Port: p.Path, Device: newDevice(t, bitalino.Config{}),
			Sink: func(sensors.Sample) {}, OnStatus: st.on, Reconnect: reconnect}), 10*time.Second)
		require.ErrorIs(t, err, ErrUndecodable)
		assert.Less(t, time.Since(start), 5*time.Second)
		for _, s := range []string{p.Path, "decode", "as bitalino data", "115200 baud, 8 data bits, no parity, 1 stop bit(s)",
			"another baud rate or parity"} {
			assert.Contains(t, err.Error(), s)
		}
		for _, s := range st.get() {
			assert.Contains(t, []State{Connecting, Streaming}, s.State, "no loss, no reconnection: a first-time failure")
		}
	}
}

// A device that answers but sends nothing decodable, slowly, fails after
// the time limit rather than the byte limit.
func TestUndecodableSlowly(t *testing.T) {
	p, err := simport.Start(context.Background(), simport.Func(func(ctx context.Context, rw io.ReadWriter) error {
		if !awaitStart(rw) {
			return nil
		}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
				if _, err := rw.Write([]byte{0xFF, 0xFF, 0xFF, 0xFF}); err != nil { // CRC never checks
					return nil
				}
			}
		}
	}))
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	start := time.Now()
	err = wait(t, runBridge(t, context.Background(), Config{Port: p.Path, Device: newDevice(t, bitalino.Config{}),
		Sink: func(sensors.Sample) { t.Error("a sample from noise") }}), 10*time.Second)
	require.ErrorIs(t, err, ErrUndecodable)
	assert.Contains(t, err.Error(), "but none decoded as bitalino data")
	assert.GreaterOrEqual(t, time.Since(start), undecodableAfter)
}

func TestGiveUp(t *testing.T) {
	link := filepath.Join(t.TempDir(), "ttyBIT")
	path, _, p := simPty(t, bitalino.SimConfig{})
	repoint(t, link, path)
	c := &collector{}
	errc := runBridge(t, context.Background(), Config{Port: link, Device: newDevice(t, bitalino.Config{Rate: 100}), Sink: c.sink,
		Reconnect: true, Backoff: Backoff{First: 10 * time.Millisecond, Max: 40 * time.Millisecond, GiveUp: 300 * time.Millisecond}})
	require.Eventually(t, func() bool { return c.count() >= 10 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, os.Remove(link))
	require.NoError(t, p.Close())
	err := wait(t, errc, 5*time.Second)
	require.ErrorIs(t, err, serialport.ErrGone, "the loss")
	assert.Contains(t, err.Error(), "gave up reconnecting after 300ms")
	assert.Contains(t, err.Error(), "no such port", "the last attempt's error")
}

// Corrupt frames and garbage are counted: dropped bytes, and the samples
// missing from the device's counter.
func TestDroppedCounts(t *testing.T) {
	path, sent, _ := simPty(t, bitalino.SimConfig{Faults: bitalino.Faults{GarbageEvery: 20, CorruptEvery: 30}})
	c := &collector{}
	st := newStatusLog()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := runBridge(t, ctx, Config{Port: path, Device: newDevice(t, bitalino.Config{Rate: 1000}), Sink: c.sink,
		OnStatus: st.on, StatusEvery: 20 * time.Millisecond})
	s := st.waitFor(t, "dropped counts", func(s Status) bool { return s.DroppedBytes > 0 && s.DroppedSamples > 0 })
	assert.Equal(t, Streaming, s.State)
	cancel()
	require.ErrorIs(t, wait(t, errc, 5*time.Second), context.Canceled)

	samples, _ := c.get()
	var corrupt int
	for _, f := range sent.get()[:samples[len(samples)-1].Seq+1] {
		if f.Corrupt {
			corrupt++
		}
	}
	last := st.get()[len(st.get())-1]
	assert.LessOrEqual(t, last.DroppedSamples, uint64(corrupt)+uint64(len(sent.get()))/20, "lost samples are corrupt or garbage-hit frames")
	assert.Positive(t, last.Bytes)
	// The last status is the end of the run, with the clock's figures.
	assert.Equal(t, Stopped, last.State)
	assert.Contains(t, last.Message(), "stopped:")
	assert.Contains(t, last.Message(), "timed by the device's sample counter")
	assert.Equal(t, "counter", last.Clock.Method)
	assert.Equal(t, last.Samples, last.Clock.Samples, "every sample handed on was timed")
}

func TestBackoffDelay(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		b    Backoff
		want []time.Duration // for attempts 1, 2, ...
	}{
		{Backoff{}, []time.Duration{250 * ms, 500 * ms, time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}},
		{Backoff{First: 100 * ms, Max: 300 * ms}, []time.Duration{100 * ms, 200 * ms, 300 * ms, 300 * ms}},
		{Backoff{First: time.Second, Max: 500 * ms}, []time.Duration{time.Second, time.Second}},
	}
	for _, tc := range tests {
		for i, w := range tc.want {
			assert.Equal(t, w, tc.b.Delay(i+1), "%+v attempt %d", tc.b, i+1)
		}
		assert.Equal(t, tc.want[len(tc.want)-1], tc.b.Delay(1000), "capped, no overflow")
	}
}

// awaitStart plays a BITalino's side of the start sequence: it answers the
// version query and returns true at the start command (A1+A2), false when
// the port closes first.
func awaitStart(rw io.ReadWriter) bool {
	b := make([]byte, 64)
	for {
		n, err := rw.Read(b)
		if err != nil {
			return false
		}
		if bytes.IndexByte(b[:n], 0x07) >= 0 {
			_, _ = io.WriteString(rw, "BITalino_v5.2\n")
		}
		if bytes.IndexByte(b[:n], 0x0D) >= 0 {
			return true
		}
	}
}

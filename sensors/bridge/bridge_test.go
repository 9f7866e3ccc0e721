package bridge

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/bitalino"
	"github.com/cueroom/cueroom/sensors/serialport"
	"github.com/cueroom/cueroom/sensors/simport"
	"github.com/cueroom/cueroom/sensors/synth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// collector is a Sink that also records the order of calls.
type collector struct {
	mu      sync.Mutex
	events  []string
	samples []sensors.Sample
	stream  *sensors.Stream
}

func (c *collector) sink(s sensors.Sample) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.samples) == 0 {
		c.events = append(c.events, "sample")
	}
	c.samples = append(c.samples, s)
}

func (c *collector) onStream(s sensors.Stream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, "stream")
	c.stream = &s
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.samples)
}

func (c *collector) get() ([]sensors.Sample, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sensors.Sample(nil), c.samples...), append([]string(nil), c.events...)
}

type frameLog struct {
	mu     sync.Mutex
	frames []bitalino.SimFrame
}

func (l *frameLog) add(f bitalino.SimFrame) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.frames = append(l.frames, f)
}

func (l *frameLog) get() []bitalino.SimFrame {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]bitalino.SimFrame(nil), l.frames...)
}

func newDevice(t *testing.T, cfg bitalino.Config) *bitalino.Device {
	t.Helper()
	if cfg.CommandGap == 0 {
		cfg.CommandGap = 5 * time.Millisecond
	}
	d, err := bitalino.New(cfg)
	require.NoError(t, err)
	return d
}

// simPty serves a simulated BITalino on a pty and returns its slave path.
func simPty(t *testing.T, cfg bitalino.SimConfig) (string, *frameLog, *simport.Pty) {
	t.Helper()
	log := &frameLog{}
	cfg.OnFrame = log.add
	cfg.MaxBacklog = time.Hour // a loaded test machine must not make the sim skip frames
	sim, err := bitalino.NewSim(cfg)
	require.NoError(t, err)
	p, err := simport.Start(context.Background(), sim)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	return p.Path, log, p
}

// runBridge starts Run in a goroutine; the returned channel yields its error.
func runBridge(t *testing.T, ctx context.Context, cfg Config) <-chan error {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, cfg) }()
	return errc
}

func wait(t *testing.T, errc <-chan error, within time.Duration) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(within):
		t.Fatalf("Run did not return within %v", within)
		return nil
	}
}

// simulator → real pty → serialport → bridge → samples: in order, no
// drops, values equal to what the simulator encoded, stamped by Now.
func TestRoundTripThroughPty(t *testing.T) {
	tests := []struct {
		name   string
		rate   int
		inputs []bitalino.Input
		count  int
	}{
		{"1000 Hz EDA+ECG", 1000, nil, 1500},
		{"100 Hz six channels", 100, []bitalino.Input{{Analog: 1, Sensor: bitalino.ECG}, {Analog: 2, Sensor: bitalino.EDA}, {Analog: 3, Sensor: bitalino.Raw},
			{Analog: 4, Sensor: bitalino.Raw}, {Analog: 5, Sensor: bitalino.EDA}, {Analog: 6, Sensor: bitalino.ECG}}, 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path, sent, _ := simPty(t, bitalino.SimConfig{Inputs: tc.inputs, Synth: synth.Config{Seed: 21}})
			dev := newDevice(t, bitalino.Config{Name: "bit", Rate: tc.rate, Inputs: tc.inputs})
			var clock sync.Mutex
			var ticks time.Duration
			now := func() time.Duration {
				clock.Lock()
				defer clock.Unlock()
				ticks += time.Second / time.Duration(tc.rate) // a sample arrives each period
				return ticks
			}
			c := &collector{}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := runBridge(t, ctx, Config{Port: path, Device: dev, Now: now, Sink: c.sink, OnStream: c.onStream})
			require.Eventually(t, func() bool { return c.count() >= tc.count }, 20*time.Second, 5*time.Millisecond)
			cancel()
			require.ErrorIs(t, wait(t, errc, 5*time.Second), context.Canceled)

			samples, events := c.get()
			assert.Equal(t, []string{"stream", "sample"}, events, "the stream is reported before the first sample")
			assert.Equal(t, "bit", c.stream.Device)
			assert.Equal(t, float64(tc.rate), c.stream.Rate)
			assert.Equal(t, "BITalino_v5.2", c.stream.Settings["firmware"])

			frames := sent.get()
			require.GreaterOrEqual(t, len(frames), len(samples))
			inputs := dev.Inputs()
			for i, s := range samples {
				require.Equal(t, uint32(i), s.Seq, "sample %d: in order, no drops", i)
				period := time.Second / time.Duration(tc.rate)
				require.Equal(t, time.Duration(i+1)*period, s.Arrival, "arrival read on Now")
				if i > 0 {
					// Timed by the device's counter: one period apart.
					require.InDelta(t, float64(period), float64(s.T-samples[i-1].T), float64(time.Microsecond), "sample %d: one period after the one before", i)
				}
				require.Equal(t, "bit", s.Device)
				f := frames[i].Frame
				require.Equal(t, len(inputs), s.N)
				for k, in := range inputs {
					bits := uint(10)
					if k >= 4 {
						bits = 6
					}
					var want float64
					switch in.Sensor {
					case bitalino.EDA:
						want = float64(bitalino.EDAuS(bitalino.EDACurrent, f.ADC[k], bits))
					case bitalino.ECG:
						want = float64(bitalino.ECGmV(f.ADC[k], bits))
					default:
						want = float64(f.ADC[k])
					}
					require.Equal(t, want, s.Values[k], "sample %d channel %d", i, k)
				}
			}
		})
	}
}

func TestNotABITalino(t *testing.T) {
	tests := []struct {
		name string
		sim  simport.Func
	}{
		{"answers nothing", func(ctx context.Context, rw io.ReadWriter) error {
			<-ctx.Done()
			return nil
		}},
		{"answers garbage", func(ctx context.Context, rw io.ReadWriter) error {
			junk := bytes.Repeat([]byte{0x42, 0x99, 0x13, 0x07}, 16)
			tick := time.NewTicker(2 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-tick.C:
					if _, err := rw.Write(junk); err != nil {
						return nil // interrupted by Close
					}
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := simport.Start(context.Background(), tc.sim)
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, p.Close()) })
			dev := newDevice(t, bitalino.Config{VersionTimeout: 300 * time.Millisecond})
			c := &collector{}
			start := time.Now()
			err = wait(t, runBridge(t, context.Background(), Config{Port: p.Path, Device: dev, Sink: c.sink, OnStream: c.onStream}), 5*time.Second)
			require.ErrorIs(t, err, bitalino.ErrNotBITalino)
			assert.Less(t, time.Since(start), 3*time.Second)
			assert.Contains(t, err.Error(), p.Path)
			assert.Contains(t, err.Error(), "did not answer the version query")
			assert.Contains(t, err.Error(), "Check that this is the BITalino's port")
			samples, events := c.get()
			assert.Empty(t, samples)
			assert.Empty(t, events, "no stream is announced for a device that did not answer")
		})
	}
}

func TestPortProblems(t *testing.T) {
	t.Run("busy", func(t *testing.T) {
		path, _, _ := simPty(t, bitalino.SimConfig{})
		other, err := serialport.Open(path, serialport.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { other.Close() })
		err = wait(t, runBridge(t, context.Background(), Config{Port: path, Device: newDevice(t, bitalino.Config{}), Sink: func(sensors.Sample) {}}), 5*time.Second)
		require.ErrorIs(t, err, serialport.ErrBusy)
		assert.Contains(t, err.Error(), "another program has "+path+" open")
	})
	t.Run("missing", func(t *testing.T) {
		err := wait(t, runBridge(t, context.Background(), Config{Port: "/dev/rfcomm97", Device: newDevice(t, bitalino.Config{}), Sink: func(sensors.Sample) {}}), 5*time.Second)
		require.ErrorIs(t, err, serialport.ErrNotFound)
		assert.Contains(t, err.Error(), "/dev/rfcomm97: no such port")
	})
	t.Run("device goes away", func(t *testing.T) {
		path, _, p := simPty(t, bitalino.SimConfig{})
		c := &collector{}
		errc := runBridge(t, context.Background(), Config{Port: path, Device: newDevice(t, bitalino.Config{}), Sink: c.sink})
		require.Eventually(t, func() bool { return c.count() > 100 }, 10*time.Second, 5*time.Millisecond)
		require.NoError(t, p.Close())
		err := wait(t, errc, 5*time.Second)
		require.ErrorIs(t, err, serialport.ErrGone)
		assert.Contains(t, err.Error(), path)
	})
	t.Run("device falls silent", func(t *testing.T) {
		// answers the version query, then never streams
		p, err := simport.Start(context.Background(), simport.Func(func(ctx context.Context, rw io.ReadWriter) error {
			b := make([]byte, 16)
			for {
				n, err := rw.Read(b)
				if err != nil {
					return nil
				}
				if bytes.IndexByte(b[:n], 0x07) >= 0 {
					_, _ = io.WriteString(rw, "BITalino_v5.2\n")
				}
			}
		}))
		require.NoError(t, err)
		t.Cleanup(func() { p.Close() })
		start := time.Now()
		err = wait(t, runBridge(t, context.Background(), Config{Port: p.Path, Device: newDevice(t, bitalino.Config{}),
			Sink: func(sensors.Sample) {}, Silence: 200 * time.Millisecond}), 5*time.Second)
		require.ErrorIs(t, err, serialport.ErrSilent)
		assert.Less(t, time.Since(start), 3*time.Second)
	})
}

// The Open seam lets another transport carry the device: here a pipe.
func TestCustomOpen(t *testing.T) {
	sim, err := bitalino.NewSim(bitalino.SimConfig{})
	require.NoError(t, err)
	a, b := net.Pipe()
	simDone := make(chan error, 1)
	go func() { simDone <- sim.Run(context.Background(), b) }()
	t.Cleanup(func() {
		sim.Close()
		<-simDone
		a.Close()
		b.Close()
	})
	var gotPath string
	var gotSilence time.Duration
	c := &collector{}
	ctx, cancel := context.WithCancel(context.Background())
	errc := runBridge(t, ctx, Config{Port: "pipe:0", Device: newDevice(t, bitalino.Config{Rate: 100}), Sink: c.sink,
		Open: func(path string, silence time.Duration) (io.ReadWriteCloser, error) {
			gotPath, gotSilence = path, silence
			return a, nil
		}})
	require.Eventually(t, func() bool { return c.count() >= 10 }, 10*time.Second, 5*time.Millisecond)
	cancel()
	require.ErrorIs(t, wait(t, errc, 5*time.Second), context.Canceled)
	assert.Equal(t, "pipe:0", gotPath)
	assert.Equal(t, 3*time.Second, gotSilence, "default watchdog")
}

func TestConfigChecks(t *testing.T) {
	dev := newDevice(t, bitalino.Config{})
	for name, cfg := range map[string]Config{
		"no port":   {Device: dev, Sink: func(sensors.Sample) {}},
		"no device": {Port: "/dev/null", Sink: func(sensors.Sample) {}},
		"no sink":   {Port: "/dev/null", Device: dev},
	} {
		err := Run(context.Background(), cfg)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "Config needs Port, Device and Sink", name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Run(ctx, Config{Port: "/dev/null", Device: dev, Sink: func(sensors.Sample) {}})
	require.True(t, errors.Is(err, context.Canceled))

	// 1 Hz: five sample periods exceed the 3 s floor
	slow := newDevice(t, bitalino.Config{Rate: 1})
	var got time.Duration
	_ = Run(context.Background(), Config{Port: "x", Device: slow, Sink: func(sensors.Sample) {},
		Open: func(_ string, s time.Duration) (io.ReadWriteCloser, error) {
			got = s
			return nil, errors.New("stop here")
		}})
	assert.Equal(t, 5*time.Second, got)
}

package pulsesensor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/bridge"
	"github.com/cueroom/cueroom/sensors/simport"
	"github.com/cueroom/cueroom/sensors/synth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type collector struct {
	mu      sync.Mutex
	samples []sensors.Sample
	stream  *sensors.Stream
}

func (c *collector) sink(s sensors.Sample) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.samples = append(c.samples, s)
}

func (c *collector) onStream(s sensors.Stream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stream = &s
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.samples)
}

// simulator → real pty → serialport → bridge.Run → samples equal to the
// lines printed, in order, none lost, in each mode.
func TestRoundTripThroughPty(t *testing.T) {
	tests := []struct {
		name string
		sim  SimConfig
		cfg  Config
	}{
		{"plotter", SimConfig{}, Config{}},
		{"visualizer", SimConfig{Mode: Visualizer}, Config{Mode: Visualizer}},
		{"visualizer, sensor 2 of 2", SimConfig{Mode: Visualizer, Sensors: 2}, Config{Mode: Visualizer, Sensor: 2}},
		{"plotter, sensor 1 of 4", SimConfig{Sensors: 4}, Config{Sensor: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			tc.sim.Synth = synth.Config{Seed: 41}
			tc.sim.OnLine, tc.sim.MaxBacklog = rec.add, time.Hour
			sim, err := NewSim(tc.sim)
			require.NoError(t, err)
			p, err := simport.Start(context.Background(), sim)
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, p.Close()) })

			tc.cfg.Name = "ps"
			dev := device(t, tc.cfg)
			c := &collector{}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() {
				errc <- bridge.Run(ctx, bridge.Config{Port: p.Path, Device: dev, Sink: c.sink, OnStream: c.onStream})
			}()
			require.Eventually(t, func() bool { return c.count() >= 100 }, 20*time.Second, 5*time.Millisecond)
			cancel()
			select {
			case err := <-errc:
				require.ErrorIs(t, err, context.Canceled)
			case <-time.After(5 * time.Second):
				t.Fatal("bridge.Run did not return")
			}
			c.mu.Lock()
			samples, stream := append([]sensors.Sample(nil), c.samples...), c.stream
			c.mu.Unlock()
			require.NotNil(t, stream)
			assert.Equal(t, "pulsesensor", stream.Kind)
			for i, s := range samples {
				require.Equal(t, uint32(i), s.Seq)
				require.Equal(t, "ps", s.Device)
			}
			expect(t, tc.cfg, samples, rec.get())
		})
	}
}

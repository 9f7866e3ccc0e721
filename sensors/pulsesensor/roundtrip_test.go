package pulsesensor

import (
	"context"
	"testing"
	"time"

	"github.com/cueroom/cueroom/sensors/bridge"
	"github.com/cueroom/cueroom/sensors/internal/simtest"
	"github.com/cueroom/cueroom/sensors/simport"
	"github.com/cueroom/cueroom/sensors/synth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
			tc.sim.OnLine, tc.sim.MaxBacklog = rec.Add, time.Hour
			sim, err := NewSim(tc.sim)
			require.NoError(t, err)
			p, err := simport.Start(context.Background(), sim)
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, p.Close()) })

			tc.cfg.Name = "ps"
			dev := device(t, tc.cfg)
			c := &simtest.Collector{}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() {
				errc <- bridge.Run(ctx, bridge.Config{Port: p.Path, Device: dev, Sink: c.Sink, OnStream: c.OnStream})
			}()
			require.Eventually(t, func() bool { return c.Count() >= 100 }, 20*time.Second, 5*time.Millisecond)
			cancel()
			select {
			case err := <-errc:
				require.ErrorIs(t, err, context.Canceled)
			case <-time.After(5 * time.Second):
				t.Fatal("bridge.Run did not return")
			}
			samples, stream := c.Got()
			require.NotNil(t, stream)
			assert.Equal(t, "pulsesensor", stream.Kind)
			for i, s := range samples {
				require.Equal(t, uint32(i), s.Seq)
				require.Equal(t, "ps", s.Device)
			}
			expect(t, tc.cfg, samples, rec.Get())
		})
	}
}

package contec

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

// simulator → real pty (at the protocol's line setting) → serialport →
// bridge.Run → samples equal to the packets sent, in order, none lost;
// the new protocol across the unit's stops.
func TestRoundTripThroughPty(t *testing.T) {
	tests := []struct {
		name  string
		sim   SimConfig
		cfg   Config
		count int
	}{
		{"new", SimConfig{Protocol: ProtocolNew}, Config{}, 150},
		{"new, stopping every 400 ms", SimConfig{Protocol: ProtocolNew, StopAfter: 400 * time.Millisecond},
			Config{Restart: 150 * time.Millisecond}, 150},
		{"old, 19200 8O1", SimConfig{Protocol: ProtocolOld}, Config{Protocol: ProtocolOld}, 150},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			tc.sim.Synth = synth.Config{Seed: 31}
			tc.sim.OnPacket, tc.sim.MaxBacklog = rec.add, time.Hour
			sim, err := NewSim(tc.sim)
			require.NoError(t, err)
			p, err := simport.Start(context.Background(), sim)
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, p.Close()) })

			tc.cfg.Name = "ox"
			dev := device(t, tc.cfg)
			c := &collector{}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() {
				errc <- bridge.Run(ctx, bridge.Config{Port: p.Path, Device: dev, Sink: c.sink, OnStream: c.onStream})
			}()
			require.Eventually(t, func() bool { return c.count() >= tc.count }, 20*time.Second, 5*time.Millisecond)
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
			assert.Equal(t, string(dev.cfg.Protocol), stream.Settings["protocol"])
			for i, s := range samples {
				require.Equal(t, uint32(i), s.Seq)
				require.Equal(t, "ox", s.Device)
				if i > 0 {
					require.GreaterOrEqual(t, s.T, samples[i-1].T, "arrival times are monotonic")
				}
			}
			expect(t, dev.cfg.Protocol, samples, rec.get())
			if tc.sim.StopAfter > 0 {
				assert.GreaterOrEqual(t, sim.Starts(), 3, "the decoder restarted the stream")
			}
		})
	}
}

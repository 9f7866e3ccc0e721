package contec

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
			tc.sim.OnPacket, tc.sim.MaxBacklog = rec.Add, time.Hour
			sim, err := NewSim(tc.sim)
			require.NoError(t, err)
			p, err := simport.Start(context.Background(), sim)
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, p.Close()) })

			tc.cfg.Name = "ox"
			dev := device(t, tc.cfg)
			c := &simtest.Collector{}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() {
				errc <- bridge.Run(ctx, bridge.Config{Port: p.Path, Device: dev, Sink: c.Sink, OnStream: c.OnStream})
			}()
			require.Eventually(t, func() bool { return c.Count() >= tc.count }, 20*time.Second, 5*time.Millisecond)
			cancel()
			select {
			case err := <-errc:
				require.ErrorIs(t, err, context.Canceled)
			case <-time.After(5 * time.Second):
				t.Fatal("bridge.Run did not return")
			}
			samples, stream := c.Got()
			require.NotNil(t, stream)
			assert.Equal(t, string(dev.cfg.Protocol), stream.Settings["protocol"])
			for i, s := range samples {
				require.Equal(t, uint32(i), s.Seq)
				require.Equal(t, "ox", s.Device)
				if i > 0 {
					require.GreaterOrEqual(t, s.T, samples[i-1].T, "arrival times are monotonic")
				}
			}
			expect(t, dev.cfg.Protocol, samples, rec.Get())
			if tc.sim.StopAfter > 0 {
				assert.GreaterOrEqual(t, sim.Starts(), 3, "the decoder restarted the stream")
			}
		})
	}
}

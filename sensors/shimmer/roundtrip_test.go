package shimmer

import (
	"context"
	"strconv"
	"sync"
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
// packets the simulator sent, in order and without loss, in every mode.
func TestRoundTripThroughPty(t *testing.T) {
	tests := []struct {
		cfg   Config
		clock uint32
		count int
	}{
		{Config{}, 77, 300},
		{Config{CRC: 1, GSRRange: GSRRange2, Rate: 256}, 0xFFC000, 400}, // the clock wraps 0.5 s after Run starts
		{Config{CRC: 2, GSRRange: GSRRange1, Rate: 51.2}, 0, 60},
		{Config{CRC: 2, GSRRange: GSRRange3}, 5, 100},
	}
	for _, tc := range tests {
		t.Run("crc"+strconv.Itoa(tc.cfg.CRC)+"_range_"+tc.cfg.GSRRange.String(), func(t *testing.T) {
			rec := &recorder{}
			sim, err := NewSim(SimConfig{Synth: synth.Config{Seed: 21}, Clock0: tc.clock,
				OnPacket: rec.Add, MaxBacklog: time.Hour})
			require.NoError(t, err)
			p, err := simport.Start(context.Background(), sim)
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, p.Close()) })

			tc.cfg.Name = "gsr"
			dev := device(t, tc.cfg)
			var mu sync.Mutex
			var ticks time.Duration
			period := time.Duration(float64(time.Second) / dev.Rate())
			now := func() time.Duration {
				mu.Lock()
				defer mu.Unlock()
				ticks += period // a packet arrives each period
				return ticks
			}
			c := &simtest.Collector{}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() {
				errc <- bridge.Run(ctx, bridge.Config{Port: p.Path, Device: dev, Now: now, Sink: c.Sink, OnStream: c.OnStream})
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
			assert.Equal(t, "shimmer", stream.Kind)
			assert.InDelta(t, dev.Rate(), stream.Rate, 1e-9)
			sent := rec.Get()
			require.GreaterOrEqual(t, len(sent), len(samples))
			div := uint32(32768/dev.Rate() + 0.5)
			for i, s := range samples {
				require.Equal(t, sent[i].Timestamp, s.Seq&0xFFFFFF, "sample %d: in order, none lost", i)
				require.Equal(t, samples[0].Seq+uint32(i)*div, s.Seq, "sample %d: unwrapped", i)
				require.Equal(t, time.Duration(i+1)*period, s.Arrival, "arrival read on Now")
				if i > 0 {
					// Timed by the device's 32768 Hz clock: div ticks apart.
					require.InDelta(t, float64(div)/32768*1e9, float64(s.T-samples[i-1].T), 1e3, "sample %d", i)
				}
				require.Equal(t, "gsr", s.Device)
				require.Equal(t, want(sent[i].Packet, tc.cfg.GSRRange), [2]float64(s.Values[:2]), "sample %d", i)
			}
			if tc.clock == 0xFFC000 {
				assert.Less(t, samples[0].Seq, uint32(1<<24))
				assert.Greater(t, samples[len(samples)-1].Seq, uint32(1<<24), "Seq runs on past the 24-bit wrap")
			}
		})
	}
}

package bridge

import (
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/bitalino"
)

// timedPort is a port whose bytes arrive when the test says: each chunk at
// its arrival time, which the bridge reads as its clock (Config.Now).
// Nothing waits: a 3 s stall is a jump of that clock.
type timedPort struct {
	chunks []timedChunk
	now    time.Duration // read by the bridge's goroutine only, as Read is
}

type timedChunk struct {
	at   time.Duration
	data []byte
}

func (p *timedPort) Read(b []byte) (int, error) {
	if len(p.chunks) == 0 {
		return 0, io.EOF
	}
	c := &p.chunks[0]
	p.now = c.at
	n := copy(b, c.data)
	if c.data = c.data[n:]; len(c.data) == 0 {
		p.chunks = p.chunks[1:]
	}
	return n, nil
}

func (p *timedPort) Write(b []byte) (int, error) { return len(b), nil }
func (p *timedPort) Close() error                { return nil }

// streaming is a BITalino already streaming: no start sequence.
type streaming struct{ *bitalino.Device }

func (streaming) Start(io.ReadWriter) error { return nil }

// timedFrames are n one-channel frames at rate, but for those lost (never
// sent: the counter skips them), arriving when arrive says.
func timedFrames(n, rate int, lost func(int) bool, arrive func(taken time.Duration) time.Duration) []timedChunk {
	var out []timedChunk
	for i := range n {
		if lost(i) {
			continue
		}
		taken := time.Duration(i) * time.Second / time.Duration(rate)
		at := max(arrive(taken), taken)
		f := bitalino.Frame{Seq: uint8(i) & 0x0F, N: 1, ADC: [bitalino.MaxAnalog]uint16{uint16(500 + i%100)}}
		if k := len(out); k > 0 && out[k-1].at >= at {
			out[k-1].data, _ = bitalino.AppendFrame(out[k-1].data, f)
			continue
		}
		data, _ := bitalino.AppendFrame(nil, f)
		out = append(out, timedChunk{at, data})
	}
	return out
}

// Issue #14: what tells a gap is the device's counter, and the samples'
// times that come from it, never when bytes happened to arrive. Late,
// bursty arrivals and stalls of seconds leave the samples one period apart
// and count nothing lost; samples the counter shows missing are one step
// of their length, counted.
func TestGapsFromTheCounterNotFromArrivals(t *testing.T) {
	const rate, n = 100, 60 * 100
	period := time.Second / rate
	rng := rand.New(rand.NewPCG(14, 12))
	bursts := func(b, j time.Duration) func(time.Duration) time.Duration {
		return func(taken time.Duration) time.Duration {
			return taken.Truncate(b) + b + time.Duration(rng.Int64N(int64(j)))
		}
	}
	stalls := func(taken time.Duration) time.Duration {
		for _, s := range [][2]time.Duration{{10 * time.Second, 11500 * time.Millisecond}, {30 * time.Second, 33 * time.Second}} {
			if taken >= s[0] && taken < s[1] {
				return s[1] // the backlog arrives at once when the process runs again
			}
		}
		return taken + 3*time.Millisecond
	}
	none := func(int) bool { return false }
	lost := func(i int) bool { return i >= 40*rate && i < 42*rate }
	for _, c := range []struct {
		name   string
		lost   func(int) bool
		arrive func(time.Duration) time.Duration
		gap    time.Duration // the one step longer than a period; 0: none
	}{
		{"bursts of 250 ms, up to 80 ms late", none, bursts(250*time.Millisecond, 80*time.Millisecond), 0},
		{"stalls of 1.5 s and 3 s", none, stalls, 0},
		{"2 s lost, steady", lost, func(t time.Duration) time.Duration { return t + 3*time.Millisecond }, 2*time.Second + period},
		{"2 s lost, bursts of 50 ms", lost, bursts(50*time.Millisecond, 40*time.Millisecond), 2*time.Second + period},
	} {
		t.Run(c.name, func(t *testing.T) {
			port := &timedPort{chunks: timedFrames(n, rate, c.lost, c.arrive)}
			dev, err := bitalino.New(bitalino.Config{Rate: rate, Inputs: []bitalino.Input{{Analog: 1, Sensor: bitalino.Raw}}})
			require.NoError(t, err)
			var samples []sensors.Sample
			var states []State
			var dropped uint64
			err = Run(t.Context(), Config{Port: "timed", Device: streaming{dev},
				Now:      func() time.Duration { return port.now },
				Open:     func(string, time.Duration) (io.ReadWriteCloser, error) { return port, nil },
				Sink:     func(s sensors.Sample) { samples = append(samples, s) },
				OnStatus: func(s Status) { states = append(states, s.State); dropped = s.DroppedSamples }})
			require.ErrorIs(t, err, io.ErrUnexpectedEOF, "the port ran out")
			assert.NotContains(t, states, Lost)
			// The device clock's estimate settles over the first
			// seconds: steps wander by milliseconds, never by a gap.
			var gaps []time.Duration
			for i := 1; i < len(samples); i++ {
				if step := samples[i].T - samples[i-1].T; step > 100*time.Millisecond {
					gaps = append(gaps, step)
				}
			}
			span := samples[len(samples)-1].T - samples[0].T
			if c.gap == 0 {
				assert.Empty(t, gaps, "no gap in the samples' times")
				assert.Len(t, samples, n)
				assert.Zero(t, dropped, "nothing counted lost")
				assert.InDelta(t, (n-1)*period.Seconds(), span.Seconds(), 0.05, "the samples span their count")
				return
			}
			if assert.Len(t, gaps, 1) {
				assert.InDelta(t, c.gap.Seconds(), gaps[0].Seconds(), 0.02)
			}
			assert.Len(t, samples, n-2*rate)
			assert.Equal(t, uint64(2*rate), dropped, "counted lost")
			assert.InDelta(t, (n-1)*period.Seconds(), span.Seconds(), 0.05, "the samples span their count, the lost included")
		})
	}
}

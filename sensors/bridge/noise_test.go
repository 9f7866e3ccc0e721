package bridge

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/bitalino"
	"github.com/cueroom/cueroom/sensors/internal/noise"
	"github.com/cueroom/cueroom/sensors/simport"
)

// noisyBITalino answers the start sequence like a BITalino with A1+A2,
// streams good frames, then 10 s worth of random bytes at 115200 baud
// (paced over about 2 s, longer than noiseAfter), then nothing.
func noisyBITalino(good int) simport.Func {
	return func(ctx context.Context, rw io.ReadWriter) error {
		if !awaitStart(rw) {
			return nil
		}
		var out []byte
		for i := range good {
			f := bitalino.Frame{Seq: uint8(i) & 0x0F, N: 2, ADC: [bitalino.MaxAnalog]uint16{uint16(i % 1024), 512}}
			out, _ = bitalino.AppendFrame(out, f)
		}
		if _, err := rw.Write(out); err != nil {
			return nil
		}
		junk := noise.Bytes(noise.Seed, noise.LineBytes(bitalino.Baud, 10))
		tick := time.NewTicker(20 * time.Millisecond) // the device's pace, not synchronisation
		defer tick.Stop()
		for chunk := len(junk) / 100; len(junk) > 0; junk = junk[min(chunk, len(junk)):] {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
			if _, err := rw.Write(junk[:min(chunk, len(junk))]); err != nil {
				return nil
			}
		}
		<-ctx.Done()
		return nil
	}
}

// Issue #12: noise on the line after a stream has decoded becomes no data,
// and the connection is reported lost (the rig turns Lost into an alert)
// within noiseAfter, not left streaming silently.
func TestNoiseAfterStreamingAlerts(t *testing.T) {
	const good = 5000 // 20 kB: past the first-connection line-setting check (checkedBytes)
	p, err := simport.Start(context.Background(), noisyBITalino(good))
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	st := newStatusLog()
	c := &collector{}
	ctx, cancel := context.WithCancel(context.Background())
	raw := bitalino.Config{Inputs: []bitalino.Input{{Analog: 1, Sensor: bitalino.Raw}, {Analog: 2, Sensor: bitalino.Raw}}}
	errc := runBridge(t, ctx, Config{Port: p.Path, Device: newDevice(t, raw),
		Sink: c.sink, OnStatus: st.on, Reconnect: true, Backoff: Backoff{First: time.Hour}})
	lost := st.waitFor(t, "lost", func(s Status) bool { return s.State == Lost })
	cancel()
	require.ErrorIs(t, wait(t, errc, 10*time.Second), context.Canceled)

	require.NotNil(t, lost.Gap)
	assert.Equal(t, ReasonUndecodable, lost.Gap.Reason)
	require.ErrorIs(t, lost.Err, ErrNoise)
	require.ErrorIs(t, lost.Err, ErrUndecodable)
	msg := lost.Message()
	for _, s := range []string{p.Path, "lost (undecodable)", "noise on the line", "nothing of it is recorded as data"} {
		assert.Contains(t, msg, s)
	}
	samples, _ := c.get()
	require.Len(t, samples, good, "the good frames, and not one sample from the noise")
	for i, s := range samples {
		assert.Equal(t, uint32(i), s.Seq)
		assert.Equal(t, float64(i%1024), s.Values[0], "sample %d", i)
	}
	assert.Equal(t, uint64(good), lost.Samples)
	assert.Greater(t, lost.DroppedBytes, uint64(0))
}

// Noise from the start: no sample, and the first-time failure names the
// line setting (the wrong-baud check), as before.
func TestNoiseFromTheStart(t *testing.T) {
	p, err := simport.Start(context.Background(), noisyBITalino(0))
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	err = wait(t, runBridge(t, context.Background(), Config{Port: p.Path, Device: newDevice(t, bitalino.Config{}),
		Sink: func(sensors.Sample) { t.Error("a sample from noise") }, Reconnect: true}), 10*time.Second)
	require.ErrorIs(t, err, ErrUndecodable)
	assert.NotErrorIs(t, err, ErrNoise)
	assert.Contains(t, err.Error(), "did not decode as bitalino data")
}

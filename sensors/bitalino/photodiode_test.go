package bitalino

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/synth"
)

// photoFrames starts a simulator as a host would (rate code, then the
// inputs' mask) and returns the bytes it would have written by d after
// the start: frames() is the simulator's pacing without the wall clock.
func photoFrames(t *testing.T, sim *Sim, d *Device, code int, dur time.Duration) []byte {
	t.Helper()
	st := simState{code: 3}
	require.NoError(t, sim.command(&st, io.Discard, cmdRate(code)))
	require.NoError(t, sim.command(&st, io.Discard, cmdStart(d.mask)))
	require.True(t, st.live)
	return sim.frames(&st, st.t0.Add(dur), nil)
}

// decodeBytes decodes every sample in data, which must be clean.
func decodeBytes(t *testing.T, d *Device, data []byte) []sensors.Sample {
	t.Helper()
	dec := d.NewDecoder(bytes.NewReader(data))
	out, err := decodeAll(t, dec)
	require.ErrorIs(t, err, io.EOF)
	require.Zero(t, dec.Dropped())
	return out
}

// crossing is a threshold crossing found in a channel, at a time
// interpolated between the two samples either side of it.
type crossing struct {
	at   time.Duration
	rise bool
}

// crossings finds where channel k crosses thr; sample i was taken at
// (i+1)/rate after the start (Seq counts from 0 without gaps here).
func crossings(samples []sensors.Sample, k int, rate int, thr float64) []crossing {
	period := float64(time.Second) / float64(rate)
	var out []crossing
	for i := 1; i < len(samples); i++ {
		a, b := samples[i-1].Values[k], samples[i].Values[k]
		if (a < thr) == (b < thr) {
			continue
		}
		frac := (thr - a) / (b - a)
		out = append(out, crossing{at: time.Duration((float64(samples[i-1].Seq+1) + frac) * period), rise: b > a})
	}
	return out
}

// TestSimPhotodiodeLag: a photodiode watching a light toggled at known
// times shows, once its frames are decoded, edges Lag after the toggles:
// within ±1 ms at 1000 Hz (the interpolation is good to half a period),
// within half a period at 100 Hz; in a 10-bit and in a 6-bit position.
func TestSimPhotodiodeLag(t *testing.T) {
	const lag = 12 * time.Millisecond
	// on, off, on, off...: odd sub-millisecond times, a short and a long flash
	toggles := []time.Duration{100300 * time.Microsecond, 180700 * time.Microsecond, 400100 * time.Microsecond,
		433900 * time.Microsecond, 700 * time.Millisecond, 750500 * time.Microsecond, 1200250 * time.Microsecond}
	tests := []struct {
		name   string
		inputs []Input // the device's; the photodiode is on A5 and raw
		code   int
		tol    time.Duration
	}{
		{"1000 Hz, A5 third (10 bits)", []Input{{1, EDA}, {2, ECG}, {5, Raw}}, 3, time.Millisecond},
		{"1000 Hz, A5 fifth (6 bits)", []Input{{1, EDA}, {2, ECG}, {3, Raw}, {4, Raw}, {5, Raw}}, 3, time.Millisecond},
		{"100 Hz", []Input{{1, EDA}, {2, ECG}, {5, Raw}}, 2, 5 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			light := &synth.Light{}
			var simIn []Input
			k := -1
			for i, in := range tc.inputs {
				if in.Analog == 5 {
					k = i
				} else {
					simIn = append(simIn, in)
				}
			}
			sim, err := NewSim(SimConfig{Inputs: simIn, Synth: synth.Config{Seed: 5}, MaxBacklog: time.Hour,
				Photodiode: Photodiode{Analog: 5, Lag: lag, Light: light}})
			require.NoError(t, err)
			d := quickDevice(t, Config{Inputs: tc.inputs, Rate: rates[tc.code]})

			// The light's history is set before the frames are made: the
			// window sets it as it presents, ahead of the photodiode's lag.
			st := simState{code: 3}
			require.NoError(t, sim.command(&st, io.Discard, cmdRate(tc.code)))
			require.NoError(t, sim.command(&st, io.Discard, cmdStart(d.mask)))
			for i, at := range toggles {
				light.Set(i%2 == 0, st.t0.Add(at))
			}
			data := sim.frames(&st, st.t0.Add(1500*time.Millisecond), nil)
			got := decodeBytes(t, d, data)
			require.Len(t, got, 15*rates[tc.code]/10)

			full := float64(uint(1) << fieldBits(k))
			lo, hi := photoLow*full, photoHigh*full
			for _, s := range got {
				v := s.Values[k]
				require.True(t, v > lo-0.02*full && v < lo+0.02*full || v > hi-0.02*full && v < hi+0.02*full,
					"a photodiode reads one of two levels, near %.0f or %.0f: %v", lo, hi, v)
			}
			edges := crossings(got, k, rates[tc.code], (lo+hi)/2)
			require.Len(t, edges, len(toggles), "one edge per toggle: %v", edges)
			for i, e := range edges {
				assert.Equal(t, i%2 == 0, e.rise, "edge %d", i)
				assert.InDelta(t, float64(toggles[i]+lag), float64(e.at), float64(tc.tol),
					"edge %d at %v, toggle at %v + lag %v", i, e.at, toggles[i], lag)
			}
		})
	}
}

// Without a light the photodiode reads dark; either way it shifts neither
// the physiology nor anything else the simulator sends.
func TestSimPhotodiodeDarkAndApart(t *testing.T) {
	inputs := []Input{{1, EDA}, {2, ECG}, {5, Raw}}
	d := quickDevice(t, Config{Inputs: inputs})
	sim, err := NewSim(SimConfig{Synth: synth.Config{Seed: 9}, Photodiode: Photodiode{Analog: 5, Lag: 10 * time.Millisecond}})
	require.NoError(t, err)
	data := photoFrames(t, sim, d, 3, 500*time.Millisecond)
	dark := decodeBytes(t, d, data)
	require.Len(t, dark, 500)
	for _, s := range dark {
		require.InDelta(t, photoLow*1024, s.Values[2], 10, "no light: dark")
	}

	// The same inputs with nothing on A5 (mid-scale): A1 and A2 carry
	// exactly the same values.
	plain, err := NewSim(SimConfig{Synth: synth.Config{Seed: 9}})
	require.NoError(t, err)
	data = photoFrames(t, plain, d, 3, 500*time.Millisecond)
	same := decodeBytes(t, d, data)
	require.Len(t, same, len(dark))
	for i := range same {
		require.Equal(t, same[i].Values[:2], dark[i].Values[:2], "sample %d", i)
		require.Equal(t, 512.0, same[i].Values[2])
	}
}

// Over a pipe, with the simulator's own clock: a light on since before the
// start reads high from the first sample.
func TestSimPhotodiodeLive(t *testing.T) {
	light := &synth.Light{}
	light.Set(true, time.Now().Add(-time.Minute))
	_, _, conn := runSim(t, SimConfig{Synth: synth.Config{Seed: 2}, Photodiode: Photodiode{Analog: 3, Lag: 12 * time.Millisecond, Light: light}})
	d := quickDevice(t, Config{Inputs: []Input{{1, EDA}, {2, ECG}, {3, Raw}}})
	require.NoError(t, d.Start(conn))
	for _, s := range next(t, d.NewDecoder(conn), 200) {
		require.InDelta(t, photoHigh*1024, s.Values[2], 10)
	}
	assert.Equal(t, "A1=eda,A2=ecg,A3=raw", d.Stream().Settings["inputs"])
	assert.Equal(t, sensors.Channel{Label: "a3", Unit: "adc", Type: "MISC"}, d.Stream().Channels[2],
		"what `cueroom timing --channel A3` looks for")
}

func TestSimPhotodiodeChecks(t *testing.T) {
	tests := []struct {
		name string
		cfg  SimConfig
		want string
	}{
		{"no such input", SimConfig{Photodiode: Photodiode{Analog: 7}}, "photodiode on input A7, which does not exist: use A1..A6"},
		{"input in use by default", SimConfig{Photodiode: Photodiode{Analog: 2}}, "photodiode on A2, where the ecg sensor is: choose a free input"},
		{"input in use", SimConfig{Inputs: []Input{{4, Raw}}, Photodiode: Photodiode{Analog: 4}}, "photodiode on A4, where the raw sensor is"},
		{"negative lag", SimConfig{Photodiode: Photodiode{Analog: 5, Lag: -time.Millisecond}}, "photodiode lag -1ms is out of range: use 0 to 1s"},
		{"lag too long", SimConfig{Photodiode: Photodiode{Analog: 5, Lag: 1001 * time.Millisecond}}, "photodiode lag 1.001s is out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSim(tc.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	for _, lag := range []time.Duration{0, MaxLag} {
		_, err := NewSim(SimConfig{Photodiode: Photodiode{Analog: 6, Lag: lag}})
		assert.NoError(t, err, "lag %v", lag)
	}
}

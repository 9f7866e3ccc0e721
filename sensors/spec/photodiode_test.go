package spec

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/synth"
)

// sim:bitalino?photodiode=A5&lag=12ms: the device selects the photodiode's
// input as a raw channel ("a5"), after the sensors'.
func TestPhotodiodeSpec(t *testing.T) {
	tests := []struct {
		in, canon string
		inputs    string // the device's inputs setting
		labels    []string
	}{
		{"sim:bitalino?photodiode=A5&lag=12ms", "sim:bitalino?lag=12ms&photodiode=A5", "A1=eda,A2=ecg,A5=raw", []string{"eda", "ecg", "a5"}},
		{"sim:bitalino?photodiode=a3", "sim:bitalino?photodiode=a3", "A1=eda,A2=ecg,A3=raw", []string{"eda", "ecg", "a3"}},
		{"sim:bitalino?photodiode=A1&inputs=A2:eda,A3&lag=1s&rate=100", "sim:bitalino?inputs=A2%3Aeda%2CA3&lag=1s&photodiode=A1&rate=100",
			"A1=raw,A2=eda,A3=raw", []string{"a1", "eda", "a3"}},
		{"sim:bitalino?photodiode=A6&lag=0s", "sim:bitalino?lag=0s&photodiode=A6", "A1=eda,A2=ecg,A6=raw", []string{"eda", "ecg", "a6"}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			s, err := Parse(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.canon, s.String())
			assert.True(t, s.WantsLight())
			d, err := s.Device()
			require.NoError(t, err)
			st := d.Stream()
			assert.Equal(t, tc.inputs, st.Settings["inputs"])
			var labels []string
			for _, c := range st.Channels {
				labels = append(labels, c.Label)
			}
			assert.Equal(t, tc.labels, labels)
			_, err = s.NewSim(WithLight(&synth.Light{}))
			require.NoError(t, err)
		})
	}
	for _, in := range []string{"sim:bitalino", "bitalino:/dev/rfcomm0", "sim:contec"} {
		s, err := Parse(in)
		require.NoError(t, err)
		assert.False(t, s.WantsLight(), in)
		if s.Sim {
			_, err = s.NewSim(WithLight(&synth.Light{}))
			require.NoError(t, err, "a simulator without a photodiode ignores the light")
		}
	}
}

func TestPhotodiodeUsage(t *testing.T) {
	u := Usage()
	for _, want := range []string{"photodiode: a photodiode on this free input (A1..A6) watching the sync patch of run --sync-patch",
		"e.g. photodiode=A5&lag=12ms", "lag: the photodiode's delay after each frame is presented, 0 to 1s (default 0s) [sim only]"} {
		assert.Contains(t, u, want)
	}
}

func TestPhotodiodeSpecErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sim:bitalino?photodiode=A5&lag=-1ms", "lag=-1ms: use a delay from 0 to 1s, e.g. lag=12ms"},
		{"sim:bitalino?photodiode=A5&lag=1001ms", "lag=1001ms: use a delay from 0 to 1s"},
		{"sim:bitalino?photodiode=A5&lag=12", "lag=12: use a delay from 0 to 1s"},
		{"sim:bitalino?photodiode=A5&lag=soon", "lag=soon: use a delay from 0 to 1s"},
		{"sim:bitalino?photodiode=A7", `photodiode=A7: "A7" is not an input: write A1..A6, e.g. photodiode=A5`},
		{"sim:bitalino?photodiode=B1", `photodiode=B1: "B1" is not an input`},
		{"sim:bitalino?photodiode=", `photodiode=: "" is not an input`},
		{"sim:bitalino?photodiode=A1", "photodiode=A1: A1 is already used (inputs=A1:eda,A2:ecg): choose a free input, e.g. photodiode=A6"},
		{"sim:bitalino?photodiode=a3&inputs=A1:eda,A3,A6:ecg", "photodiode=a3: A3 is already used (inputs=A1:eda,A3,A6:ecg): choose a free input, e.g. photodiode=A5"},
		{"sim:bitalino?photodiode=A2&inputs=A1,A2,A3,A4,A5,A6", "photodiode=A2: all six inputs are used (inputs=A1,A2,A3,A4,A5,A6): leave one out of inputs"},
		{"sim:bitalino?lag=12ms", "lag= is the photodiode's delay: give photodiode=A1..A6 too"},
		{"bitalino:/dev/rfcomm0?photodiode=A5", "option photodiode applies to simulators only (sim:bitalino?photodiode=…)"},
		{"bitalino:/dev/rfcomm0?lag=1ms", "option lag applies to simulators only"},
		{"sim:contec?photodiode=A5", `contec has no option "photodiode"`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, err := Parse(tc.in)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "sensor "+`"`+tc.in+`"`, "the error quotes the spec")
		})
	}
}

// The light handed in reaches the simulator: with the light on, the
// device's photodiode channel reads high; without one it reads dark.
func TestPhotodiodeSpecLight(t *testing.T) {
	on := &synth.Light{}
	on.Set(true, time.Now().Add(-time.Minute))
	for _, tc := range []struct {
		name string
		opts []SimOption
		min  float64
		max  float64
	}{
		{"light on", []SimOption{WithLight(on)}, 850, 950},
		{"no light", nil, 30, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp, err := Parse("sim:bitalino?photodiode=A5&lag=12ms&seed=1")
			require.NoError(t, err)
			sim, err := sp.NewSim(tc.opts...)
			require.NoError(t, err)
			dev, err := sp.Device()
			require.NoError(t, err)
			a, b := net.Pipe()
			errc := make(chan error, 1)
			go func() { errc <- sim.Run(context.Background(), b) }()
			t.Cleanup(func() {
				require.NoError(t, sim.Close())
				assert.NoError(t, <-errc)
				a.Close()
				b.Close()
			})
			require.NoError(t, dev.Start(a))
			dec := dev.NewDecoder(a)
			var s sensors.Sample
			for range 50 {
				s, err = dec.Next()
				require.NoError(t, err)
				require.Equal(t, 3, s.N)
				assert.GreaterOrEqual(t, s.Values[2], tc.min)
				assert.LessOrEqual(t, s.Values[2], tc.max)
			}
		})
	}
}

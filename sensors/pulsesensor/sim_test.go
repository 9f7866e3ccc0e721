package pulsesensor

import (
	"io"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/internal/simtest"
	"github.com/cueroom/cueroom/sensors/synth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder keeps what the simulator sent.
type recorder = simtest.Recorder[SimLine]

// runSim serves a simulator on one end of a pipe and returns the other.
func runSim(t *testing.T, cfg SimConfig) (*Sim, *recorder, net.Conn) {
	t.Helper()
	rec := &recorder{}
	cfg.OnLine = rec.Add
	if cfg.MaxBacklog == 0 {
		cfg.MaxBacklog = time.Hour // a loaded test machine must not make the sim skip lines
	}
	sim, err := NewSim(cfg)
	require.NoError(t, err)
	return sim, rec, simtest.Serve(t, sim)
}

func next(t *testing.T, dec sensors.Decoder, count int) []sensors.Sample {
	return simtest.Next(t, dec, count)
}

// truth lists what the decoder of cfg must make of the sample lines sent
// whole.
func truth(cfg Config, lines []SimLine) [][3]float64 {
	if cfg.Mode == "" {
		cfg.Mode = Plotter
	}
	var out [][3]float64
	for _, l := range lines {
		if l.Truncated || l.Samples == nil {
			continue
		}
		switch {
		case cfg.Mode == Visualizer && cfg.Sensor > 0 && l.Sensor != cfg.Sensor:
			continue
		case cfg.Mode == Plotter && cfg.Sensor > 0:
			out = append(out, [3]float64{float64(l.Samples[cfg.Sensor-1]), 0, 0})
			continue
		}
		out = append(out, [3]float64{float64(l.Samples[0]), float64(l.BPM), float64(l.IBI)})
	}
	return out
}

// expect checks the samples against the lines sent, from where the first
// samples match (Start skips a line, and more when the stream began earlier).
func expect(t *testing.T, cfg Config, got []sensors.Sample, lines []SimLine) {
	t.Helper()
	want := truth(cfg, lines)
	k := min(len(got), 10)
	for off := 0; off+k <= len(want); off++ {
		ok := true
		for i := range k {
			if want[off+i] != vals(got[i]) {
				ok = false
				break
			}
		}
		if ok {
			require.GreaterOrEqual(t, len(want)-off, len(got))
			for i, s := range got {
				require.Equal(t, want[off+i], vals(s), "sample %d", i)
				require.Equal(t, got[0].Seq+uint32(i), s.Seq)
			}
			return
		}
	}
	t.Fatal("the first samples match no run of the lines sent")
}

func TestSimRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		sim  SimConfig
		cfg  Config
	}{
		{"plotter", SimConfig{}, Config{}},
		{"visualizer", SimConfig{Mode: Visualizer}, Config{Mode: Visualizer}},
		{"visualizer, sensor 2 of 3", SimConfig{Mode: Visualizer, Sensors: 3}, Config{Mode: Visualizer, Sensor: 2}},
		{"plotter, sensor 3 of 3", SimConfig{Sensors: 3}, Config{Sensor: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.sim.Synth = synth.Config{Seed: 9}
			_, rec, conn := runSim(t, tc.sim)
			d := device(t, tc.cfg)
			require.NoError(t, d.Start(conn))
			dec := d.NewDecoder(conn)
			got := next(t, dec, 2*Rate)
			assert.Equal(t, uint32(0), got[0].Seq)
			expect(t, tc.cfg, got, rec.Get())
			assert.Zero(t, dec.Dropped())
		})
	}
}

// What the sketch prints, to the byte: CRLF lines, in each format.
func TestSimLineFormats(t *testing.T) {
	for _, tc := range []struct {
		sim  SimConfig
		want []string // patterns of the first lines: # stands for digits
	}{
		{SimConfig{}, []string{"#,#,#"}},
		{SimConfig{Sensors: 2}, []string{"#,#"}},
		{SimConfig{Mode: Visualizer}, []string{"S#"}},
		{SimConfig{Mode: Visualizer, Sensors: 2}, []string{"a#", "b#"}},
	} {
		sim, err := NewSim(tc.sim)
		require.NoError(t, err)
		st := simState{t0: time.Now(), ibi: 600}
		out := string(sim.lines(&st, st.t0.Add(10*period+time.Microsecond), nil))
		lines := strings.Split(out, "\r\n")
		require.Equal(t, "", lines[len(lines)-1], "every line ends with CRLF")
		lines = lines[:len(lines)-1]
		require.GreaterOrEqual(t, len(lines), 10*len(tc.want))
		for i, l := range lines[:len(tc.want)] {
			assert.Equal(t, tc.want[i], pattern(l), "%+v line %d: %q", tc.sim, i, l)
		}
		assert.NotContains(t, out, "\n\n")
	}
}

func pattern(s string) string {
	var b strings.Builder
	digit := false
	for _, c := range s {
		if c >= '0' && c <= '9' {
			if !digit {
				b.WriteByte('#')
			}
			digit = true
			continue
		}
		digit = false
		b.WriteRune(c)
	}
	return b.String()
}

// The library's beat detector: BPM near the true heart rate, IBI near the
// RR intervals, the first pulse only arming it; the raw signal idles near
// 512; with the finger out the signal is flat and BPM falls to 0 after
// 2.5 s, IBI to 600 ms.
func TestSimBeatsAndFingerOut(t *testing.T) {
	sim, err := NewSim(SimConfig{Synth: synth.Config{Seed: 4, PPGNoise: -1}, MaxBacklog: time.Hour})
	require.NoError(t, err)
	st := simState{t0: time.Now(), ibi: 600}
	at := func(s float64) time.Time { return st.t0.Add(time.Duration(s*float64(time.Second)) + time.Microsecond) }
	parse := func(text string) [][3]float64 {
		var out [][3]float64
		p := parser{mode: Plotter}
		for _, l := range strings.Split(strings.TrimSuffix(text, "\r\n"), "\r\n") {
			x := p.parse([]byte(l))
			require.Equal(t, sample, x.kind, l)
			out = append(out, [3]float64{float64(x.sample), float64(x.bpm), float64(x.ibi)})
		}
		return out
	}
	got := parse(string(sim.lines(&st, at(20), nil)))
	require.Len(t, got, 20*Rate)
	beats := sim.Synth().Beats()
	rr := (beats[len(beats)-1] - beats[0]).Seconds() / float64(len(beats)-1)
	var sum, lo, hi float64 = 0, math.Inf(1), math.Inf(-1)
	for _, v := range got {
		sum += v[0]
		lo, hi = min(lo, v[0]), max(hi, v[0])
	}
	assert.InDelta(t, 512+180*0.35, sum/float64(len(got)), 40, "mean level")
	assert.Greater(t, hi-lo, 150.0, "pulses swing the signal")
	assert.Equal(t, [2]float64{0, 600}, [2]float64{got[10][1], got[10][2]}, "no BPM before the second pulse")
	last := got[len(got)-1]
	assert.InDelta(t, 60/rr, last[1], 6, "BPM")
	assert.InDelta(t, rr*1000, last[2], 200, "IBI")

	sim.Synth().SetFingerOut(true)
	got = parse(string(sim.lines(&st, at(24), nil)))
	for _, v := range got[1:] {
		assert.Equal(t, 512.0, v[0], "flat")
	}
	assert.NotZero(t, got[Rate][1], "BPM holds for 2.5 s after the last pulse")
	assert.Equal(t, [2]float64{0, 600}, [2]float64{got[len(got)-1][1], got[len(got)-1][2]}, "then resets")
}

func TestSimFaults(t *testing.T) {
	for _, mode := range []Mode{Plotter, Visualizer} {
		t.Run(string(mode), func(t *testing.T) {
			_, rec, conn := runSim(t, SimConfig{Mode: mode, Synth: synth.Config{Seed: 3},
				Faults: Faults{GarbageEvery: 7, GarbageLen: 6, TruncateEvery: 11}})
			cfg := Config{Mode: mode}
			d := device(t, cfg)
			require.NoError(t, d.Start(conn))
			dec := d.NewDecoder(conn)
			got := next(t, dec, 2*Rate)
			assert.Positive(t, dec.Dropped())
			// every sample is a line sent whole, in order; garbage spoils
			// the line it precedes, a cut line the one after it
			lines := rec.Get()
			j := 0
			for i, s := range got {
				for j < len(lines) && (lines[j].Truncated || lines[j].Samples == nil || float64(lines[j].Samples[0]) != s.Values[0]) {
					j++
				}
				require.Less(t, j, len(lines), "sample %d was not sent (in this order)", i)
				j++
			}
		})
	}
}

// Lines are paced by the wall clock: one every 20 ms.
func TestSimRate(t *testing.T) {
	_, _, conn := runSim(t, SimConfig{})
	d := device(t, Config{})
	before := time.Now()
	require.NoError(t, d.Start(conn))
	next(t, d.NewDecoder(conn), Rate/2)
	el := time.Since(before)
	assert.GreaterOrEqual(t, el, 500*time.Millisecond)
	assert.Less(t, el, 3500*time.Millisecond)
}

func TestSimOverrun(t *testing.T) {
	sim, err := NewSim(SimConfig{}) // default backlog: 1 s
	require.NoError(t, err)
	st := simState{t0: time.Now(), ibi: 600}
	out := sim.lines(&st, st.t0.Add(3*time.Second+time.Microsecond), nil)
	assert.Equal(t, Rate, strings.Count(string(out), "\r\n"), "one second of lines")
	assert.Equal(t, int64(2*Rate), st.overruns)
	assert.InDelta(t, 3*time.Second, sim.Synth().Now(), float64(time.Microsecond), "the physiology kept time")
}

// Run returns nil promptly on Close or cancel even when nobody reads.
func TestSimStops(t *testing.T) {
	simtest.CheckStops(t, func(t *testing.T) simtest.Sim {
		sim, err := NewSim(SimConfig{})
		require.NoError(t, err)
		return sim
	}, func(t *testing.T, a io.ReadWriter) {
		_, err := device(t, Config{}).NewDecoder(a).Next()
		require.NoError(t, err)
	})
}

func TestSimPeerHangsUp(t *testing.T) {
	sim, err := NewSim(SimConfig{})
	require.NoError(t, err)
	simtest.CheckHangUp(t, sim)
}

func TestNewSimChecks(t *testing.T) {
	for _, tc := range []struct {
		cfg  SimConfig
		want string
	}{
		{SimConfig{Mode: "csv"}, `output mode "csv" is unknown`},
		{SimConfig{Sensors: 13}, "13 sensors"},
		{SimConfig{Faults: Faults{TruncateEvery: -2}}, "must not be negative"},
	} {
		_, err := NewSim(tc.cfg)
		assert.ErrorContains(t, err, tc.want)
	}
}

// Stimulus schedules an SCR 1–3 s later in the generator's ground truth.
func TestSimStimulus(t *testing.T) {
	sim, err := NewSim(SimConfig{Synth: synth.Config{SpontaneousPerMin: -1}})
	require.NoError(t, err)
	sim.Synth().Next(10 * time.Second)
	onset := sim.Stimulus()
	scrs := sim.Synth().SCRs()
	require.Len(t, scrs, 1)
	assert.True(t, scrs[0].Stimulus)
	assert.Equal(t, onset, scrs[0].Onset)
	assert.GreaterOrEqual(t, onset, 11*time.Second)
	assert.LessOrEqual(t, onset, 13*time.Second)
}

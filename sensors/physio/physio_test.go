package physio_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/physio"
	"github.com/cueroom/cueroom/sensors/physio/internal/testsig"
	"github.com/cueroom/cueroom/sensors/synth"
)

// A simulated session: a minute at rest (the automatic baseline), then
// three cues, then high arousal. Everything the processor says is checked
// against the simulator's truth.
func TestProcessorFollowsSimulatedSession(t *testing.T) {
	const rate = 250.0
	rec := recording(7, rate, 170*time.Second, testsig.Config{
		Synth:   synth.Config{SpontaneousPerMin: -1, Drift: -1, ECGNoise: 0.03},
		Stimuli: []time.Duration{70 * time.Second, 90 * time.Second, 110 * time.Second},
		Arousal: func(t time.Duration) float64 {
			if t > 130*time.Second {
				return 1
			}
			return 0
		},
		PPGNoise: 0.03,
	})
	p := newProc(t, stream(rate, "ECG", "PPG", "EDA"), physio.Config{})
	out := feed(t, p, rate, [][]float64{rec.ECG, rec.PPG, rec.EDA}, nil)

	assert.Empty(t, ofKind(out, physio.KindAlert, ""), "clean signals raise no alert")

	ecgBeats := ofKind(out, physio.KindBeat, "ecg")
	m, _ := testsig.Match(rec.Beats, seconds(ecgBeats), 0.05)
	assert.GreaterOrEqual(t, float64(m)/float64(len(rec.Beats)), 0.99, "ECG beats within 50 ms")
	assert.GreaterOrEqual(t, float64(m)/float64(len(ecgBeats)), 0.99, "ECG beats that are real")
	ppgBeats := ofKind(out, physio.KindBeat, "ppg")
	m, _ = testsig.Match(rec.Pulses, seconds(ppgBeats), 0.05)
	assert.GreaterOrEqual(t, float64(m)/float64(len(rec.Pulses)), 0.98, "PPG pulses within 50 ms")

	// Heart rate at rest agrees with the truth.
	var trueHR, ecgHR, ppgHR float64
	var nt, ne, np int
	for i := int(5 * rate); i < int(60*rate); i++ {
		trueHR += rec.HR[i]
		nt++
	}
	for _, d := range ofKind(out, physio.KindHR, "") {
		if d.T > 5*time.Second && d.T < 60*time.Second {
			if d.Source == "ecg" {
				ecgHR += float64(d.HR)
				ne++
			} else {
				ppgHR += float64(d.HR)
				np++
			}
		}
	}
	assert.InDelta(t, trueHR/float64(nt), ecgHR/float64(ne), 1.5, "mean HR from ECG, bpm")
	assert.InDelta(t, trueHR/float64(nt), ppgHR/float64(np), 1.5, "mean HR from PPG, bpm")

	// Every evoked SCR is reported, once, near its true onset.
	scrs := ofKind(out, physio.KindSCR, "eda")
	require.Len(t, scrs, 3)
	for i, s := range scrs {
		assert.InDelta(t, rec.SCRs[i].Onset.Seconds(), s.SCR.Onset.Seconds(), 0.5, "SCR %d onset", i)
		assert.InDelta(t, float64(rec.SCRs[i].Amplitude), float64(s.SCR.Amplitude), 0.15*float64(rec.SCRs[i].Amplitude))
	}
	assert.Len(t, ofKind(out, physio.KindRecovery, "eda"), 3, "each SCR recovers halfway before the next")

	// Bounded latency from the sample to the value. The ECG detector
	// learns its thresholds over the first 2 s and reports those beats then.
	lat, _ := latencies(after(ofKind(out, physio.KindBeat, "ecg"), 3*time.Second))
	assert.Less(t, lat, 0.5, "ECG beat latency, s")
	lat, _ = latencies(ofKind(out, physio.KindBeat, "ecg"))
	assert.Less(t, lat, 2.0, "ECG beat latency in the learning period, s")
	lat, _ = latencies(ofKind(out, physio.KindBeat, "ppg"))
	assert.Less(t, lat, 1.2, "PPG beat latency, s")
	lat, _ = latencies(scrs)
	assert.Less(t, lat, 1.0, "SCR latency after its peak, s")

	// Levels four times a second; arousal only after the baseline minute,
	// near zero at rest and high once aroused.
	lv := ofKind(out, physio.KindLevels, "")
	assert.InDelta(t, 170*4, len(lv), 2)
	for _, d := range lv {
		l := d.Levels
		switch {
		case d.T < 60*time.Second:
			assert.False(t, l.HasArousal, "no arousal during the baseline (t=%v)", d.T)
			assert.True(t, l.InBaseline || d.T < time.Second)
		case d.T > 62*time.Second && d.T < 70*time.Second:
			require.True(t, l.HasArousal, "t=%v", d.T)
			assert.InDelta(t, 0, l.Arousal, 1.5, "at rest after the baseline (t=%v)", d.T)
		case d.T > 165*time.Second:
			require.True(t, l.HasArousal)
			assert.Greater(t, l.ZHR, 3.0, "heart rate well above baseline (t=%v)", d.T)
			assert.Greater(t, l.ZSC, 3.0, "skin conductance well above baseline (t=%v)", d.T)
			assert.Greater(t, l.Arousal, 3.0)
			assert.Equal(t, "ecg", l.HRSource)
		}
	}
	st := p.State()
	assert.Equal(t, map[string]physio.Quality{"ecg": 0, "ppg": 0, "eda": 0}, st.Quality)
	assert.Equal(t, lv[len(lv)-1].Levels, st.Levels)

	// Derived values are JSON for the feed: kind by name, no NaN.
	b, err := json.Marshal(scrs[0])
	require.NoError(t, err)
	assert.Contains(t, string(b), `"kind":"scr"`)
	assert.NotContains(t, string(b), `"levels"`, "zero parts are left out")
}

func TestQualityFlagsRaiseAndClearAlerts(t *testing.T) {
	const rate = 100.0
	rec := recording(8, rate, 60*time.Second, testsig.Config{Synth: synth.Config{SpontaneousPerMin: -1}})
	bad := func(i int) bool { return i >= int(20*rate) && i < int(35*rate) } // 20–35 s
	cases := []struct {
		name   string
		source string
		edit   func(i int, s *sensors.Sample)
		raised physio.Quality // all of these must be raised
	}{
		{"ECG lead flat", "ecg", func(i int, s *sensors.Sample) {
			if bad(i) {
				s.Values[0] = 0.1
			}
		}, physio.Flat | physio.ElectrodeOff | physio.NoBeats},
		{"ECG stuck at the rail", "ecg", func(i int, s *sensors.Sample) {
			if bad(i) {
				s.Values[0] = 1.5
			}
		}, physio.Saturated | physio.ElectrodeOff},
		{"ECG values missing", "ecg", func(i int, s *sensors.Sample) {
			if bad(i) && i%3 == 0 {
				s.Values[0] = math.NaN()
			}
		}, physio.Missing},
		{"finger out of the PPG", "ppg", func(i int, s *sensors.Sample) {
			if bad(i) {
				s.Values[1] = 0
			}
		}, physio.Flat | physio.FingerOut},
		{"EDA electrode off", "eda", func(i int, s *sensors.Sample) {
			if bad(i) {
				s.Values[2] = 0.01
			}
		}, physio.ElectrodeOff},
		{"EDA implausibly high", "eda", func(i int, s *sensors.Sample) {
			if bad(i) {
				s.Values[2] = 250
			}
		}, physio.Saturated},
		{"samples lost", "eda", func(i int, s *sensors.Sample) {
			if i >= int(20*rate) {
				s.T += 5 * time.Second
			}
		}, physio.Gap},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newProc(t, stream(rate, "ECG", "PPG", "EDA"), physio.Config{
				Ranges: map[string]physio.Range{"ecg": {Min: -1.5, Max: 1.5}}})
			out := feed(t, p, rate, [][]float64{rec.ECG, rec.PPG, rec.EDA}, c.edit)
			var raised, cleared physio.Quality
			var firstRaise time.Duration = -1
			for _, a := range ofKind(out, physio.KindAlert, c.source) {
				raised |= a.Raised
				cleared |= a.Cleared
				if a.Raised != 0 && firstRaise < 0 {
					firstRaise = a.T
				}
				ev, ok := a.AlertEvent()
				require.True(t, ok)
				al, ok := ev.Data.(event.Alert)
				require.True(t, ok, "an alert event: %#v", ev.Data)
				assert.Equal(t, c.source, al.Channel)
				assert.Contains(t, al.Message, c.source+":")
			}
			assert.Equal(t, c.raised, raised&c.raised, "raised %s", raised)
			assert.Equal(t, raised, cleared, "all cleared once the signal is back")
			assert.GreaterOrEqual(t, firstRaise, 19*time.Second, "no alert before the fault")
			// While flagged, the channel is out of the arousal index.
			for _, d := range ofKind(out, physio.KindLevels, "") {
				if d.T > 30*time.Second && d.T < 34*time.Second && c.source == "eda" && c.raised != physio.Gap {
					assert.False(t, d.Levels.HasSC, "t=%v", d.T)
				}
			}
			assert.Equal(t, physio.Quality(0), p.State().Quality[c.source], "ok at the end")
		})
	}
}

func TestHabituated(t *testing.T) {
	const rate = 50.0
	cases := []struct {
		name    string
		stimuli []time.Duration
		at      time.Duration // end of the recording
		want    bool
	}{
		{"right after the response", []time.Duration{22 * time.Second}, 28 * time.Second, false},
		{"long after the response", []time.Duration{22 * time.Second}, 75 * time.Second, true},
		{"no response, too soon", nil, 25 * time.Second, false},
		{"no response, long enough", nil, 35 * time.Second, true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := recording(uint64(60+i), rate, c.at, testsig.Config{
				Synth:   synth.Config{SpontaneousPerMin: -1, Drift: -1, Response: 1},
				Stimuli: c.stimuli})
			p := newProc(t, stream(rate, "EDA"), physio.Config{})
			assert.False(t, p.Habituated(physio.Habituation{}), "no mark yet")
			p.MarkStep(20 * time.Second)
			feed(t, p, rate, [][]float64{rec.EDA}, nil)
			assert.Equal(t, c.want, p.Habituated(physio.Habituation{Within: 0.5, For: 10 * time.Second}))
		})
	}
	// Flagged skin conductance is never "habituated".
	p := newProc(t, stream(rate, "EDA"), physio.Config{})
	p.MarkStep(0)
	feed(t, p, rate, [][]float64{make([]float64, int(40*rate))}, nil) // 0 µS: electrode off
	assert.False(t, p.Habituated(physio.Habituation{}))
}

func TestExplicitBaseline(t *testing.T) {
	const rate = 100.0
	rec := recording(9, rate, 60*time.Second, testsig.Config{Synth: synth.Config{SpontaneousPerMin: -1, Drift: -1}})
	p := newProc(t, stream(rate, "ECG", "EDA"), physio.Config{Baseline: -1})
	out := feed(t, p, rate, [][]float64{rec.ECG[:2000], rec.EDA[:2000]}, nil)
	for _, d := range ofKind(out, physio.KindLevels, "") {
		assert.False(t, d.Levels.InBaseline || d.Levels.HasArousal, "no baseline set")
	}
	p.StartBaseline(20 * time.Second)
	p.EndBaseline(40 * time.Second)
	out = out[:0]
	for i := 2000; i < len(rec.ECG); i++ {
		s := sensors.Sample{T: time.Duration(i) * 10 * time.Millisecond, N: 2}
		s.Values[0], s.Values[1] = rec.ECG[i], rec.EDA[i]
		out = p.Push(s, out)
	}
	var in, after int
	for _, d := range ofKind(out, physio.KindLevels, "") {
		if d.Levels.InBaseline {
			in++
			assert.True(t, d.T >= 20*time.Second && d.T < 40*time.Second)
		}
		if d.T > 41*time.Second {
			after++
			assert.True(t, d.Levels.HasArousal)
			assert.InDelta(t, 0, d.Levels.Arousal, 2, "at rest, t=%v", d.T)
		}
	}
	assert.InDelta(t, 80, in, 1, "20 s of baseline ticks")
	assert.Positive(t, after)
}

func TestDeviceHeartRate(t *testing.T) {
	p := newProc(t, stream(1, "HR", "SPO2"), physio.Config{Baseline: 10 * time.Second})
	hr := make([]float64, 30)
	for i := range hr {
		hr[i] = 70
		if i >= 20 {
			hr[i] = 95
		}
	}
	out := feed(t, p, 1, [][]float64{hr, hr}, nil)
	reported := ofKind(out, physio.KindHR, "hr")
	require.NotEmpty(t, reported)
	assert.Equal(t, sensors.BPM(95), reported[len(reported)-1].HR)
	lv := ofKind(out, physio.KindLevels, "")
	last := lv[len(lv)-1].Levels
	assert.Equal(t, "hr", last.HRSource)
	assert.True(t, last.HasArousal)
	assert.Greater(t, last.ZHR, 5.0, "25 bpm over a steady baseline (sd floored at 2 bpm)")
}

func TestNewRejectsUnusableStreams(t *testing.T) {
	cases := []struct {
		name string
		st   sensors.Stream
		msg  string
	}{
		{"no rate", stream(0, "ECG"), "no sampling rate"},
		{"ECG too slow", stream(10, "ECG", "EDA"), `channel "ecg"`},
		{"PPG too slow", stream(10, "PPG"), "too low"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := physio.New(c.st, physio.Config{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.msg)
		})
	}
	p, err := physio.New(stream(10, "EDA", "MISC"), physio.Config{})
	require.NoError(t, err, "EDA works at 10 Hz; unknown channels are ignored")
	assert.Equal(t, []string{"eda"}, keys(p.State().Quality))
}

func keys(m map[string]physio.Quality) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestKindAndQualityText(t *testing.T) {
	for k := physio.KindBeat; k <= physio.KindAlert; k++ {
		b, err := k.MarshalText()
		require.NoError(t, err)
		var back physio.Kind
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, k, back)
	}
	var k physio.Kind
	assert.Error(t, k.UnmarshalText([]byte("nope")))
	assert.Equal(t, "ok", physio.Quality(0).String())
	assert.Equal(t, "flat line, electrode off", (physio.Flat | physio.ElectrodeOff).String())
	_, ok := physio.Derived{Kind: physio.KindBeat}.AlertEvent()
	assert.False(t, ok)

	b, err := json.Marshal(physio.Derived{Kind: physio.KindAlert, Source: "eda", Quality: physio.ElectrodeOff, Raised: physio.ElectrodeOff})
	require.NoError(t, err)
	assert.Contains(t, string(b), `"quality":["electrode off"]`)
	assert.NotContains(t, string(b), `"cleared"`)
	var d physio.Derived
	require.NoError(t, json.Unmarshal(b, &d))
	assert.Equal(t, physio.ElectrodeOff, d.Raised)
	assert.Equal(t, physio.KindAlert, d.Kind)
	assert.Error(t, json.Unmarshal([]byte(`{"quality":["on fire"]}`), &d))
}

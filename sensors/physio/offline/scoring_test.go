package offline_test

import (
	"bufio"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cueroom/cueroom/sensors/physio/internal/testsig"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors/physio/eda"
	"github.com/cueroom/cueroom/sensors/physio/offline"
)

// shared reads columns of a shared real recording, or skips.
func shared(t *testing.T, file string, cols ...string) [][]float64 {
	t.Helper()
	f, err := os.Open(filepath.Join(testsig.SharedDir(t), file))
	require.NoError(t, err)
	defer f.Close()
	cs, err := offline.ReadCSV(f, file, cols)
	require.NoError(t, err)
	out := make([][]float64, len(cs))
	for i, c := range cs {
		out[i] = c.Values
	}
	return out
}

// scr is one response of a test signal: onset s, amplitude µS (raised
// cosine rise over 1.5 s, then exponential recovery, τ 4 s).
type scr struct{ at, amp float64 }

func skinWith(fs, dur float64, rs ...scr) []float64 {
	x := make([]float64, int(dur*fs))
	for i := range x {
		t := float64(i) / fs
		v := 5.0
		for _, r := range rs {
			switch u := t - r.at; {
			case u < 0:
			case u < 1.5:
				v += r.amp * (1 - math.Cos(math.Pi*u/1.5)) / 2
			default:
				v += r.amp * math.Exp(-(u-1.5)/4)
			}
		}
		x[i] = v
	}
	return x
}

// Event-related scoring: per cue, the largest response with onset 1–4 s
// after it, trough to peak; no response scores 0.
func TestEventRelatedScoring(t *testing.T) {
	const fs = 50.0
	cases := []struct {
		name     string
		rs       []scr // relative to the cue at 10 s
		count    int
		amp      float64 // largest, µS; 0: none
		latency  float64 // of the largest
		firstLat float64
	}{
		{"one response 2 s after", []scr{{2, 0.5}}, 1, 0.5, 2, 2},
		{"two: the larger, later one scores", []scr{{1.2, 0.2}, {3.9, 0.6}}, 2, 0.6, 3.9, 1.2},
		{"too early (0.5 s) is no response", []scr{{0.5, 0.8}}, 0, 0, 0, 0},
		{"too late (5 s) is no response", []scr{{5, 0.8}}, 0, 0, 0, 0},
		{"under the threshold is no response", []scr{{2, 0.005}}, 0, 0, 0, 0},
		{"nothing at all", nil, 0, 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rs []scr
			for _, r := range c.rs {
				rs = append(rs, scr{10 + r.at, r.amp})
			}
			x := skinWith(fs, 40, rs...)
			rep, err := offline.Analyze(offline.Input{Rate: fs, EDA: x, Events: []offline.Event{{Index: int64(10 * fs), Label: "cue"}}},
				offline.Config{Decomposition: eda.Filter})
			require.NoError(t, err)
			require.Len(t, rep.Events, 1)
			s := rep.Events[0].SCR
			assert.Equal(t, c.count, s.Count)
			// Trough to peak, a response on the recovery of another is
			// measured from its own onset, so smaller (by 10 % here).
			assert.InDelta(t, c.amp, s.MaxAmplitude, 0.12*c.amp+1e-9)
			if c.amp == 0 {
				assert.Nil(t, s.Largest, "no response")
				assert.Zero(t, s.LargestLatency)
				return
			}
			require.NotNil(t, s.Largest)
			assert.Equal(t, s.MaxAmplitude, s.Largest.Amplitude)
			assert.InDelta(t, c.latency, s.LargestLatency, 0.25)
			assert.InDelta(t, c.firstLat, s.Latency, 0.25)
			assert.InDelta(t, 1.5, s.Largest.Rise, 0.3, "rise time")
			if c.count == 1 {
				assert.InDelta(t, c.amp, s.MaxAmplitude, 0.03*c.amp)
				assert.InDelta(t, 4*math.Ln2, s.Largest.HalfRecovery, 0.3, "half recovery")
			}
			require.NotNil(t, rep.Events[0].Tonic)
			require.NotNil(t, rep.Events[0].Phasic)
			assert.Greater(t, rep.Events[0].Phasic.Peak, rep.Events[0].Phasic.Baseline, "the phasic part rises after the cue")
		})
	}
}

// The hand-scored responses of the event-related recording (testdata,
// scored from plots, no detector involved) against the detector, under
// each minimum-amplitude criterion researchers use.
func TestSCRsAgainstHandScoring(t *testing.T) {
	cols := shared(t, "bio_eventrelated_100hz.csv", "EDA")
	hand := readHand(t)
	largest := 0.0
	for _, h := range hand {
		largest = max(largest, h[2])
	}
	cases := []struct {
		name string
		cfg  eda.Config
		min  float64 // the hand-scored responses counted: amplitude ≥ this
	}{
		{"0.01 µS, computer scoring (default)", eda.Config{}, 0.01},
		{"0.05 µS, hand scoring", eda.Config{Threshold: 0.05}, 0.05},
		{"10 % of the largest", eda.Config{Relative: 0.1}, 0.1 * largest},
	}
	for _, c := range cases {
		for _, m := range []eda.Method{eda.Filter, eda.CvxEDA} {
			t.Run(c.name+", "+string(m), func(t *testing.T) {
				rep, err := offline.Analyze(offline.Input{Rate: 100, EDA: cols[0]}, offline.Config{SCR: c.cfg, Decomposition: m})
				require.NoError(t, err)
				var want [][3]float64
				for _, h := range hand {
					if h[2] >= c.min {
						want = append(want, h)
					}
				}
				matched := 0
				for _, h := range want {
					for _, s := range rep.EDA.SCRs {
						if math.Abs(s.PeakS-h[1]) <= 0.5 {
							matched++
							assert.InDelta(t, h[2], s.Amplitude, 0.15*h[2]+0.01, "amplitude of the response peaking at %.2f s", h[1])
							break
						}
					}
				}
				t.Logf("hand-scored %d, detector %d, matched %d (threshold %.3f µS)", len(want), len(rep.EDA.SCRs), matched, rep.EDA.Threshold)
				assert.Equal(t, len(want), len(rep.EDA.SCRs))
				assert.Equal(t, len(want), matched)
				assert.Equal(t, string(m), rep.EDA.Decomposition)
			})
		}
	}
}

func readHand(t *testing.T) [][3]float64 {
	f, err := os.Open(filepath.Join("testdata", "bio_eventrelated_100hz.scr.hand.txt"))
	require.NoError(t, err)
	defer f.Close()
	var out [][3]float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		var r [3]float64
		for i, fld := range strings.Fields(l) {
			r[i], err = strconv.ParseFloat(fld, 64)
			require.NoError(t, err)
		}
		out = append(out, r)
	}
	return out
}

// The relative criterion is applied over the whole recording, so windowed
// streaming gives Analyze's SCRs.
func TestStreamRelativeThreshold(t *testing.T) {
	const fs = 20.0
	var rs []scr
	for k := range 30 {
		rs = append(rs, scr{float64(10 + 20*k), 0.02 + 0.1*float64(k%7)})
	}
	x := skinWith(fs, 620, rs...)
	cfg := offline.Config{SCR: eda.Config{Relative: 0.2}, Decomposition: eda.CvxEDA}
	want, err := offline.Analyze(offline.Input{Rate: fs, EDA: x}, cfg)
	require.NoError(t, err)
	s, err := offline.NewStream(offline.StreamInput{Rate: fs, EDA: true, Events: [][]offline.Event{nil}, Window: 60}, cfg)
	require.NoError(t, err)
	for _, v := range x {
		require.NoError(t, s.Push(math.NaN(), math.NaN(), v))
	}
	got, err := s.Finish()
	require.NoError(t, err)
	assert.InDelta(t, 0.2*0.62, want.EDA.Threshold, 0.02)
	assert.Equal(t, want.EDA.Threshold, got[0].EDA.Threshold)
	require.Len(t, got[0].EDA.SCRs, len(want.EDA.SCRs))
	assert.Less(t, len(want.EDA.SCRs), len(rs), "the small ones are dropped")
	require.NotNil(t, got[0].EDA.TonicMean)
	assert.InDelta(t, *want.EDA.TonicMean, *got[0].EDA.TonicMean, 0.01)
	assert.Equal(t, "cvxeda", got[0].Settings.Decomposition)
	assert.Equal(t, 0.2, got[0].Settings.SCRRelative)
}

func TestReadCSVBlankLinesAreGaps(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name  string
		in    string
		want  []float64
		gaps  int
		blank int
	}{
		{"one column", "ECG\n1\n2\n\n\n3\n", []float64{1, 2, nan, nan, 3}, 2, 2},
		{"no header", "1\n\n2\n", []float64{1, nan, 2}, 1, 1},
		{"leading and trailing blank lines are not rows", "\n\nECG\n1\n2\n\n\n", []float64{1, 2}, 0, 0},
		{"after the header", "ECG\n\n1\n", []float64{nan, 1}, 1, 1},
		{"spaces, tabs and CRLF", "ECG\r\n1\r\n  \r\n\t\r\n2\r\n", []float64{1, nan, nan, 2}, 2, 2},
		{"comments are not rows", "ECG\n1\n# note\n2\n", []float64{1, 2}, 0, 0},
		{"comment with a quote, then a blank", "ECG\n1\n# the \"raw\n\n2\n", []float64{1, nan, 2}, 1, 1},
		{"empty cell", "ECG,EDA\n1,5\n,6\n2,7\n", []float64{1, nan, 2}, 1, 0},
		{"blank line in two columns", "ECG,EDA\n1,5\n\n2,7\n", []float64{1, nan, 2}, 1, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cols, err := offline.ReadCSV(strings.NewReader(c.in), "rec.csv", []string{"1"})
			require.NoError(t, err)
			got := cols[0].Values
			require.Len(t, got, len(c.want))
			for i, w := range c.want {
				if math.IsNaN(w) {
					assert.True(t, math.IsNaN(got[i]), "row %d", i)
				} else {
					assert.Equal(t, w, got[i], "row %d", i)
				}
			}
			assert.Equal(t, c.gaps, cols[0].Gaps)
			assert.Equal(t, c.blank, cols[0].BlankLines)
		})
	}
	// A blank line inside a quoted cell is part of the cell, not a row.
	cols, err := offline.ReadCSV(strings.NewReader("v,note\n1,\"a\n\nb\"\n2,x\n"), "rec.csv", []string{"v"})
	require.NoError(t, err)
	assert.Equal(t, []float64{1, 2}, cols[0].Values)
	// A row with another number of cells still says where.
	_, err = offline.ReadCSV(strings.NewReader("a,b\n1,2\n\n3\n"), "rec.csv", []string{"a"})
	assert.ErrorContains(t, err, "rec.csv:4")
}

// Issue 13: blank lines in a one-column ECG were dropped and every later
// beat shifted. Now they are gaps: the beats after them keep their sample
// indices.
func TestBlankLinesDoNotShiftBeats(t *testing.T) {
	ecg := shared(t, "ecg_1000hz.csv", "ECG")[0][:20000]
	var clean, holed strings.Builder
	clean.WriteString("ECG\n")
	holed.WriteString("ECG\n")
	for i, v := range ecg {
		s := strconv.FormatFloat(v, 'g', -1, 64) + "\n"
		clean.WriteString(s)
		if i >= 10000 && i < 10040 {
			holed.WriteString("\n") // 40 ms not written
		} else {
			holed.WriteString(s)
		}
	}
	analyse := func(s string) *offline.Report {
		cols, err := offline.ReadCSV(strings.NewReader(s), "ecg.csv", []string{"ECG"})
		require.NoError(t, err)
		rep, err := offline.Analyze(offline.Input{Rate: 1000, ECG: cols[0].Values}, offline.Config{})
		require.NoError(t, err)
		return rep
	}
	a, b := analyse(clean.String()), analyse(holed.String())
	assert.Equal(t, 40, b.ECG.Gaps)
	assert.Equal(t, a.Samples, b.Samples)
	var after []int64
	for _, x := range a.ECG.Beats {
		if x > 12000 {
			after = append(after, x)
		}
	}
	require.NotEmpty(t, after)
	for _, x := range after {
		assert.Contains(t, b.ECG.Beats, x, "beat at sample %d keeps its place", x)
	}
}

// Issue 13: a photosensor column with 0.01 V noise gave 2 wrong events
// instead of 4. Its two levels are found (Otsu) and followed with
// hysteresis.
func TestEventsFromNoisyColumn(t *testing.T) {
	cases := []struct {
		name   string
		file   string
		col    string
		noise  float64
		onsets []int64
		dur    []int64
		label  string
	}{
		{"event-related, clean", "bio_eventrelated_100hz.csv", "Photosensor", 0, []int64{1024, 4957, 9224, 12984}, []int64{300, 300, 300, 300}, "0"},
		{"event-related, 0.01 V noise", "bio_eventrelated_100hz.csv", "Photosensor", 0.01, []int64{1024, 4957, 9224, 12984}, []int64{300, 300, 300, 300}, "0"},
		{"event-related, 0.3 V noise", "bio_eventrelated_100hz.csv", "Photosensor", 0.3, []int64{1024, 4957, 9224, 12984}, []int64{300, 300, 300, 300}, "0"},
		// Low (the resting period) is the usual level: the events are the
		// high stretches before and after it, as on the clean column.
		{"resting, clean", "bio_resting_8min_100hz.csv", "PhotoSensor", 0, []int64{0, 50026}, []int64{2019, 656}, "5"},
		{"resting, 0.01 V noise", "bio_resting_8min_100hz.csv", "PhotoSensor", 0.01, []int64{0, 50026}, []int64{2019, 656}, "5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			col := slices.Clone(shared(t, c.file, c.col)[0])
			rng := rand.New(rand.NewPCG(13, 4))
			for i := range col {
				col[i] += c.noise * rng.NormFloat64()
			}
			evs := offline.EventsFromColumn(col, 100)
			require.Len(t, evs, len(c.onsets))
			for i, e := range evs {
				assert.InDelta(t, c.onsets[i], e.Index, 1, "event %d onset", i)
				assert.InDelta(t, c.dur[i], e.Duration, 3, "event %d duration", i)
				assert.Equal(t, c.label, e.Label)
			}
		})
	}
}

func TestAnalogEventColumns(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	noisy := func(n int, f func(i int) float64, sd float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = f(i) + sd*rng.NormFloat64()
		}
		return v
	}
	cases := []struct {
		name string
		col  []float64
		want []int64
	}{
		{"noise only: no levels, no events", noisy(5000, func(int) float64 { return 1 }, 0.05), nil},
		{"rest low, pulses high, with spikes", func() []float64 {
			v := noisy(5000, func(i int) float64 {
				if (i >= 1000 && i < 1200) || (i >= 3000 && i < 3200) {
					return 3.3
				}
				return 0
			}, 0.02)
			v[2000], v[2500] = 50, -40 // spikes: clipped by the quantiles
			return v
		}(), []int64{1000, 3000}},
		{"slow edges are timed from where they leave rest", noisy(3000, func(i int) float64 {
			switch {
			case i >= 1000 && i < 1010:
				return 5 - 0.5*float64(i-999)
			case i >= 1010 && i < 1500:
				return 0
			}
			return 5
		}, 0.01), []int64{1000}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []int64
			for _, e := range offline.EventsFromColumn(c.col, 1000) {
				got = append(got, e.Index)
			}
			require.Len(t, got, len(c.want))
			for i := range got {
				assert.InDelta(t, c.want[i], got[i], 2)
			}
		})
	}
}

// Issue 13: 1 kHz ECG read as 100 Hz gave a plausible 114 bpm. The rate is
// judged from the signal; the right rates pass, with and without the
// issue's noise.
func TestCheckRate(t *testing.T) {
	cases := []struct {
		file   string
		col    string
		rate   float64 // the true one
		given  float64
		noise  float64 // × the largest |value|
		likely float64 // 0: no error
	}{
		{"ecg_1000hz.csv", "ECG", 1000, 100, 0, 1000},
		{"ecg_1000hz.csv", "ECG", 1000, 10000, 0, 1000},
		{"ecg_1000hz.csv", "ECG", 1000, 1000, 0, 0},
		{"ecg_1000hz.csv", "ECG", 1000, 1000, 0.2, 0},
		{"ecg_1000hz.csv", "ECG", 1000, 100, 0.2, 1000},
		{"ecg_3000hz.csv", "ECG", 3000, 3000, 0, 0},
		{"ecg_3000hz.csv", "ECG", 3000, 300, 0, 3000},
		{"ecg_3000hz.csv", "ECG", 3000, 3000, 0.3, 0},
		{"bio_resting_8min_100hz.csv", "ECG", 100, 100, 0, 0},
		{"bio_resting_8min_100hz.csv", "ECG", 100, 100, 0.2, 0},
		{"bio_resting_8min_100hz.csv", "ECG", 100, 1000, 0, 100},
		{"bio_resting_5min_100hz.csv", "ECG", 100, 100, 0, 0},
		{"bio_resting_5min_100hz.csv", "ECG", 100, 100, 0.2, 0},
		{"bio_resting_5min_100hz.csv", "ECG", 100, 100, 0.3, 0},
		{"bio_eventrelated_100hz.csv", "ECG", 100, 100, 0.2, 0},
		{"bio_eventrelated_100hz.csv", "ECG", 100, 1000, 0, 100},
		{"bio_eventrelated_100hz.csv", "EDA", 100, 100, 0, 0},
		{"bio_eventrelated_100hz.csv", "EDA", 100, 10, 0, 100},
		{"bio_eventrelated_100hz.csv", "EDA", 100, 1000, 0, 100},
		{"bio_resting_8min_100hz.csv", "EDA", 100, 100, 0, 0},
	}
	for _, c := range cases {
		name := c.file + " " + c.col + " at " + strconv.FormatFloat(c.given, 'g', -1, 64) + " Hz, noise " + strconv.FormatFloat(c.noise, 'g', -1, 64)
		t.Run(name, func(t *testing.T) {
			x := slices.Clone(shared(t, c.file, c.col)[0])
			if c.noise > 0 {
				big := 0.0
				for _, v := range x {
					big = max(big, math.Abs(v))
				}
				rng := rand.New(rand.NewPCG(1, 2))
				for i := range x {
					x[i] += c.noise * big * rng.NormFloat64()
				}
			}
			in := offline.Input{Rate: c.given}
			if c.col == "ECG" {
				in.ECG = x
			} else {
				in.EDA = x
			}
			err := offline.CheckRate(in)
			if c.likely == 0 {
				assert.NoError(t, err)
				return
			}
			var re *offline.RateError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, c.likely, re.Likely)
			assert.Equal(t, c.given, re.Given)
			assert.Contains(t, err.Error(), "--rate "+strconv.FormatFloat(c.likely, 'g', -1, 64))
			t.Log(err)
		})
	}
}

// BenchmarkCheckRate: the check on a good 1 kHz ECG (what every analyze
// pays) and on a wrong rate (which also tries the usual rates).
func BenchmarkCheckRate(b *testing.B) {
	rec, _ := twoHours()
	for _, rate := range []float64{1000, 100} {
		b.Run(strconv.FormatFloat(rate, 'g', -1, 64)+" Hz", func(b *testing.B) {
			for b.Loop() {
				_ = offline.CheckRate(offline.Input{Rate: rate, ECG: rec.ECG, EDA: rec.EDA})
			}
		})
	}
}

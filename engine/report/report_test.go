package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/physio/hrv"
	"github.com/cueroom/cueroom/sensors/physio/offline"
)

func f(v float64) *float64 { return &v }
func s(v string) *string   { return &v }

// handMade is a report of one session built by hand: three steps, one of
// them repeated, a cue per step, ratings, a patient stop.
func handMade(measured bool) *Report {
	ses := Session{
		Dir: "/data/20250101-100000-x", Title: `Alcohol <script>alert("x")</script>`, Substance: "alcohol",
		Software: "cueroom 1.0", Start: time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC), Duration: 90,
		EndReason: "completed", Complete: true, Exposure: 60,
		Devices: []sensors.Stream{{Device: "bitalino", Kind: "bitalino", Rate: 1000,
			Channels: []sensors.Channel{{Label: "eda", Unit: "uS", Type: "EDA"}}, Settings: map[string]string{"firmware": "v5"}}},
		Manifest: []Cue{{ID: "bottle.c1", Step: "bottle", StepName: "Bottle", Intensity: 2, Modality: "image",
			Duration: 30, File: "media/bottle.png", SHA256: "9c2c3f69ae52121a2084894b2ae47cb6a6dafc410aa77e6c1674e71774113a28"}},
		Log: []LogEntry{{T: 40, Kind: "patient stop", Text: "the patient stopped the exposure"}},
	}
	steps := []struct {
		id             string
		on, end        float64
		neutral        bool
		intensity, rep int
	}{{"baseline", 0, 30, true, 0, 1}, {"bottle", 30, 60, false, 2, 1}, {"bottle<i>", 60, 90, false, 2, 1}}
	for i, st := range steps {
		p := Presentation{N: i + 1, ID: st.id, Step: st.id, Name: "Step " + st.id, Intensity: st.intensity, Neutral: st.neutral,
			Repeat: st.rep, Onset: st.on, End: st.end, Exposure: st.end - st.on, EndReason: "duration"}
		if i == 1 {
			p.Ratings = []Rating{{Scale: "craving", Value: f(70), T: 58}, {Scale: "suds", T: 59}}
		}
		if measured {
			p.HR = &offline.Change{Baseline: 70, Response: 74.5, Delta: 4.5, Peak: 80}
			p.SCL = &offline.Change{Baseline: 4, Response: 4.3, Delta: 0.3, Peak: 4.5}
			p.SCR = &offline.SCRSum{Count: 1, MaxAmplitude: 0.42, SumAmplitude: 0.42, Latency: 1.8}
			p.HRLevel = &Level{Baseline: 70, During: 73, Delta: 3}
			p.SCLLevel = &Level{Baseline: 4, During: 4.2, Delta: 0.2}
			if !st.neutral {
				p.Within = &Within{SCLOnset: f(4), SCLPeak: f(4.6), SCLPeakAt: f(5), SCLEnd: f(4.3), SCLRecovered: f(0.5),
					ArousalPeak: f(1.2), ArousalAt: f(4), ArousalEnd: f(0.3)}
			}
		}
		ses.Steps = append(ses.Steps, p)
		c := p
		c.ID, c.Modality, c.HRLevel, c.SCLLevel, c.Within, c.Ratings = st.id+".c1", "image", nil, nil, nil, nil
		ses.Cues = append(ses.Cues, c)
	}
	ses.Series = &Series{Stops: []float64{40}}
	if measured {
		ses.Measured = Measured{Device: "bitalino", HR: s("ECG (bitalino ecg)"), SCL: s("EDA (bitalino eda)"), Arousal: true}
		ses.Baseline = &Baseline{From: 0, To: 30, HR: f(70), SCL: f(4)}
		for i := 0; i < 360; i++ {
			t := float64(i) / 4
			v := 4 + 0.5*math.Sin(t/10)
			if i > 100 && i < 110 {
				v = math.NaN() // a gap
			}
			ses.Series.SCL = append(ses.Series.SCL, Point{T: t, V: v})
			ses.Series.Arousal = append(ses.Series.Arousal, Point{T: t, V: math.Cos(t / 7)})
			if i%4 == 0 {
				ses.Series.HR = append(ses.Series.HR, Point{T: t, V: 70 + 5*math.Sin(t/5)})
			}
		}
		ses.Series.SCRs = []Point{{T: 33, V: 0.4}, {T: 63, V: 0.2}}
		ses.HRV = &hrv.Result{From: 0.5, To: 89.5, NN: 110, Corrected: 2,
			Time:    &hrv.Time{MeanNN: 812.3, SDNN: 51.26, RMSSD: 42.54, PNN50: 18.2},
			FreqWhy: "not enough data: 89 s of NN intervals, at least 120 s needed"}
		ses.Steps[1].HRV = &hrv.Result{From: 30, To: 60, NN: 36, TimeWhy: "not enough data: 29 s of NN intervals, at least 60 s needed",
			FreqWhy: "not enough data: 29 s of NN intervals, at least 120 s needed"}
		ses.Quality = &Quality{Unusable: []offline.Span{{From: 70, To: 80}}, Seconds: 10, Withheld: 12}
		ses.Cues[1].Modality = "panorama"
		ses.Cues[1].Look = &Look{Seconds: 20, Looks: 5, AheadS: 12, MeanYaw: -35.2, Concentration: 0.81, UpS: 2, LevelS: 16, DownS: 2,
			Sectors: []Sector{{Yaw: 0, Seconds: 9}, {Yaw: -45, Seconds: 11}}}
		ses.Repeats = []Habituation{{Kind: "step", Habituation: offline.Habituation{Label: "bottle", Repeats: 2,
			SCRAmp: []float64{0.42, 0.2}, SCRSlope: -0.22, SCDelta: []float64{0.3, 0.1}, FirstToLast: 0.48}}}
	}
	return &Report{Generated: time.Date(2025, 1, 2, 9, 0, 0, 0, time.UTC), Software: "cueroom test",
		Settings: Settings{Baseline: 3, Response: 4, SCRFrom: 1, SCRTo: 4, SCRThreshold: 0.01, EndWindow: 3},
		Sessions: []Session{ses}}
}

func TestWriteHTML(t *testing.T) {
	two := handMade(true)
	second := handMade(true).Sessions[0]
	second.Dir = "/data/20250108-100000-x"
	two.Sessions = append(two.Sessions, second)
	two.Across = []Across{{Step: "bottle", Sessions: []string{two.Sessions[0].Dir, second.Dir}, SCRAmp: []float64{0.42, 0.3},
		SCDelta: []*float64{f(0.3), nil}, HRDelta: []*float64{f(4.5), f(2)}, Craving: []*float64{f(70), nil}, SCRSlope: -0.12}}

	for _, tc := range []struct {
		name    string
		r       *Report
		format  Format
		plots   int
		want    []string
		notWant []string
	}{
		{"measured, svg", handMade(true), SVG, 3, []string{
			`<td class="num">&#43;4.5</td>`, // onset ΔHR of a step (html/template escapes +)
			`<td class="num">50 %</td>`,     // recovered within the step
			"step bottle",                   // the repeats legend, drawn as SVG text
			"0.420 → 0.200",                 // SCR amplitude over repeats
			"9c2c3f69ae52121a2084894b2ae47cb6a6dafc410aa77e6c1674e71774113a28",
			"no answer",
			// HRV: the session's measures, a step's withheld with the reason
			`<td class="num">42.5</td>`, `<td class="num">51.3</td>`, "title=\"not enough data: 29 s of NN intervals",
			// signal quality: where the ECG was withheld
			"judged 0:10 of the recording unusable (1 stretch); 12 beat intervals",
			// where the patient looked in the panorama
			"Where the patient looked (360° scenes)", `<td class="num">60 %</td>`, `<td class="num">−35°</td>`, `<td class="num">−45° (55 %)</td>`,
		}, []string{"not measured</td>"}},
		{"not measured", handMade(false), SVG, 1, []string{
			`<td class="nm">not measured</td>`,
			"heart rate not measured", "skin conductance not measured", "arousal index not recorded",
			"no baseline step was recorded",
			"No step or cue was presented more than once",
			"No heart rate variability: no heartbeats were analysed.",
		}, []string{"signal quality index judged", "Where the patient looked", `<td class="num">0.0</td>`, "Habituation within steps.</b>"}},
		{"two sessions, png", two, PNG, 7, []string{"Across sessions", "0.420 → 0.300", "70 → n/a", `href="#session-2"`}, []string{"<svg"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			var stages []string
			require.NoError(t, WriteHTML(&buf, tc.r, Options{Plots: tc.format, Progress: func(s string) { stages = append(stages, s) }}))
			page := buf.String()
			assert.Len(t, stages, Figures(tc.r), "one progress call per figure")
			if tc.format == SVG {
				assert.Equal(t, tc.plots, strings.Count(page, "<svg class=\"plot\""))
			} else {
				assert.Equal(t, tc.plots, strings.Count(page, `src="data:image/png;base64,`))
			}
			assert.False(t, strings.Contains(page, "The plot “"), "every plot drew")
			// Escaped everywhere, in the page and in the plots' text.
			assert.False(t, strings.Contains(page, `<script>`))
			assert.False(t, strings.Contains(page, `<i>`))
			assert.True(t, strings.Contains(page, "Alcohol &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"))
			assert.False(t, regexp.MustCompile(`(?i)https?://|<link|url\(`).MatchString(page), "self-contained")
			for _, id := range []string{"baseline", "bottle", "bottle&lt;i&gt;"} {
				assert.Contains(t, section(t, page, "Reactivity per step", "Reactivity per cue"), "<td>"+id+"<small>")
			}
			for _, w := range tc.want {
				assert.True(t, strings.Contains(page, w), "missing %q", w)
			}
			for _, w := range tc.notWant {
				assert.False(t, strings.Contains(page, w), "unwanted %q", w)
			}
		})
	}
}

func section(t *testing.T, page, from, to string) string {
	t.Helper()
	i := strings.Index(page, from)
	require.GreaterOrEqual(t, i, 0, from)
	j := strings.Index(page[i:], to)
	require.GreaterOrEqual(t, j, 0, to)
	return page[i : i+j]
}

// TestReportJSON: the field names the README documents, nulls where a
// signal was not measured, and no plot data.
func TestReportJSON(t *testing.T) {
	b, err := json.Marshal(handMade(false))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	ses := m["sessions"].([]any)[0].(map[string]any)
	for _, k := range []string{"dir", "title", "substance", "software", "start", "end", "duration_s", "end_reason", "complete",
		"exposure_s", "devices", "measured", "baseline", "manifest", "steps", "cues", "habituation", "log"} {
		assert.Contains(t, ses, k)
	}
	assert.NotContains(t, ses, "Series")
	meas := ses["measured"].(map[string]any)
	assert.Nil(t, meas["hr"])
	assert.Nil(t, meas["scl"])
	st := ses["steps"].([]any)[1].(map[string]any)
	for _, k := range []string{"n", "id", "step", "intensity", "neutral", "repeat", "onset_s", "end_s", "exposure_s", "end_reason", "ratings"} {
		assert.Contains(t, st, k)
	}
	for _, k := range []string{"hr", "scl", "scr"} {
		assert.Contains(t, st, k, "present, null: not measured")
		assert.Nil(t, st[k])
	}
	r := st["ratings"].([]any)[1].(map[string]any)
	assert.Nil(t, r["value"], "unanswered")
	set := m["settings"].(map[string]any)
	assert.Equal(t, 3.0, set["baseline_s"])
	assert.Equal(t, 0.01, set["scr_threshold_us"])
}

// TestFigureFailure: a plot that cannot be drawn costs that plot, with a
// note, not the report.
func TestFigureFailure(t *testing.T) {
	for _, format := range []Format{SVG, PNG} {
		fig := figureOf(format, "x", "Broken", "", 100, 100, func(draw.Canvas) error { panic("degenerate") })
		assert.Contains(t, fig.Err, "degenerate")
		assert.Empty(t, fig.HTML)
		fig = figureOf(format, "x", "Refused", "", 100, 100, func(draw.Canvas) error { return errors.New("no data") })
		assert.Equal(t, "no data", fig.Err)
	}
	var buf bytes.Buffer
	require.NoError(t, page.ExecuteTemplate(&buf, "figure", figure{Title: "Broken", Err: "degenerate"}))
	assert.Contains(t, buf.String(), `<p class="warn">The plot “Broken” could not be drawn (degenerate)`)
}

func TestClock(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0:00"}, {59.4, "0:59"}, {59.6, "1:00"}, {125, "2:05"}, {3599, "59:59"}, {3600, "1:00:00"},
		{7325, "2:02:05"}, {-3, "−0:03"}, {math.NaN(), "—"}, {math.Inf(1), "—"},
	} {
		assert.Equal(t, tc.want, Clock(tc.in), "%v", tc.in)
	}
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Format
		err  bool
	}{{"svg", SVG, false}, {"", SVG, false}, {"PNG", PNG, false}, {"pdf", SVG, true}} {
		got, err := ParseFormat(tc.in)
		assert.Equal(t, tc.want, got, tc.in)
		assert.Equal(t, tc.err, err != nil, tc.in)
	}
}

// TestClockTicks: round steps, about ten ticks, labelled or not.
func TestClockTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		first  string
		step   float64
	}{{0, 9, "0:00", 1}, {0, 150, "0:00", 15}, {10, 3700, "10:00", 600}, {0, 14400, "0:00", 1800}} {
		ts := clockTicks{labels: true}.Ticks(tc.lo, tc.hi)
		require.GreaterOrEqual(t, len(ts), 2)
		assert.LessOrEqual(t, len(ts), 11)
		assert.Equal(t, tc.step, ts[1].Value-ts[0].Value, "%v–%v", tc.lo, tc.hi)
		assert.Equal(t, tc.first, ts[0].Label)
	}
	assert.Empty(t, clockTicks{}.Ticks(0, 60)[0].Label, "unlabelled: minor ticks")
	assert.Nil(t, clockTicks{}.Ticks(5, 5))
	assert.Nil(t, clockTicks{}.Ticks(0, math.Inf(1)))
}

// TestLines: a series splits into lines at gaps (NaN) and at jumps in time.
func TestLines(t *testing.T) {
	pts := []Point{{0, 1}, {1, 2}, {2, math.NaN()}, {3, 4}, {4, 5}, {10, 6}, {11, math.Inf(1)}}
	got := lines(pts, 1, 3)
	require.Len(t, got, 3)
	assert.Equal(t, 2, got[0].Len())
	assert.Equal(t, -1.0, got[0][0].X, "shifted by dx")
	assert.Equal(t, 2, got[1].Len())
	assert.Equal(t, 1, got[2].Len(), "after the 6 s jump")
	assert.Len(t, lines(pts, 0, 0), 2, "no jump limit: only the NaN breaks")
	assert.Empty(t, lines(nil, 0, 1))
}

func TestValueAt(t *testing.T) {
	pts := []Point{{0, 0}, {1, 10}, {2, math.NaN()}}
	assert.Equal(t, 5.0, valueAt(pts, 0.5))
	assert.Equal(t, 0.0, valueAt(pts, 0))
	assert.True(t, math.IsNaN(valueAt(pts, -1)))
	assert.True(t, math.IsNaN(valueAt(pts, 1.5)), "into a gap")
	assert.True(t, math.IsNaN(valueAt(pts, 3)))
	assert.True(t, math.IsNaN(valueAt(nil, 0)))
}

// TestInlineSVG: the plots are inline SVG the HTML parser takes as is: no
// prolog, no namespace URIs, scalable, one root each.
func TestInlineSVG(t *testing.T) {
	r := handMade(true)
	fig := overview(&r.Sessions[0], SVG)
	require.Empty(t, fig.Err)
	svg := string(fig.HTML)
	assert.True(t, strings.HasPrefix(svg, `<svg class="plot" role="img" aria-label="Session overview" viewBox="0 0 720 518.4"`), svg[:100])
	assert.NotContains(t, svg, "<?xml")
	assert.NotContains(t, svg, "xmlns")
	assert.Equal(t, 1, strings.Count(svg, "<svg"))
	assert.True(t, strings.HasSuffix(strings.TrimSpace(svg), "</svg>"))
	// The step labels and axis titles are text in the plot.
	for _, w := range []string{">1 baseline<", ">2 bottle<", "HR (bpm)", "SCL (µS)", "session time (m:ss)", "SCR (2)", "patient stop"} {
		assert.Contains(t, svg, w)
	}
	assert.Regexp(t, regexp.MustCompile(`>craving<`), svg)
}

// TestNumbers: typographic minus, explicit plus on changes, no "−0.0".
func TestNumbers(t *testing.T) {
	for _, tc := range []struct {
		c    cell
		want string
	}{
		{num(-1.26, 1), "−1.3"}, {num(-0.04, 1), "0.0"}, {num(2, 0), "2"}, {num(math.NaN(), 1), "n/a"},
		{signed(0.06, 1), "+0.1"}, {signed(0.04, 1), "0.0"}, {signed(-0.04, 1), "0.0"}, {signed(-0.06, 1), "−0.1"},
		{signed(math.Inf(1), 1), "n/a"},
	} {
		assert.Equal(t, tc.want, tc.c.Text)
	}
	assert.Equal(t, "0.5 → −0.2 → 0.0", series([]float64{0.5, -0.2, -0.001}, 1))
	assert.Equal(t, "70 → n/a", ptrSeries([]*float64{f(70), nil}, 0))
}

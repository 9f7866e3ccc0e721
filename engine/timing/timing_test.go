package timing_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/engine/timing"
	"github.com/cueroom/cueroom/engine/timing/timingtest"
	"github.com/cueroom/cueroom/sensors"
)

const ms = time.Millisecond

func analyze(t *testing.T, dir string, opt timing.Options) (*timing.Report, error) {
	t.Helper()
	x, err := record.OpenIndex(dir)
	require.NoError(t, err)
	defer x.Close()
	return timing.Analyze(x, opt)
}

// kindWant is what one row of the report must say.
type kindWant struct {
	count, unmatched int
	mean             time.Duration // ± tol
}

// every returns onsets of one kind every 2 s from at, each lit lag later.
func every(kind string, at time.Duration, n int, lag time.Duration) []timingtest.Onset {
	var out []timingtest.Onset
	for i := range n {
		out = append(out, timingtest.Onset{T: at + time.Duration(i)*2*time.Second + time.Duration(i)*37*time.Microsecond,
			Cue: kind + ".c1", Modality: kind, Lag: lag})
	}
	return out
}

func TestAnalyze(t *testing.T) {
	root := t.TempDir()
	cat := func(parts ...[]timingtest.Onset) []timingtest.Onset {
		var out []timingtest.Onset
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name      string
		spec      timingtest.Spec
		opt       timing.Options
		tol       time.Duration
		kinds     map[string]kindWant
		all       kindWant
		unmatched []string // the reasons of the unmatched onsets, in order
		edges     []float64
		shared    map[string]int // onsets that found the patch white, by kind ("all" too)
		untimed   int
	}{
		{
			name:  "pictures and text, 12 ms",
			spec:  timingtest.Spec{Dur: 20 * time.Second, Onsets: cat(every("image", time.Second, 5, 12*ms), every("text", 1500*ms, 4, 12*ms))},
			tol:   time.Millisecond,
			kinds: map[string]kindWant{"image": {5, 0, 12 * ms}, "text": {4, 0, 12 * ms}},
			all:   kindWant{9, 0, 12 * ms},
		},
		{
			name: "each kind its own lag",
			spec: timingtest.Spec{Dur: 20 * time.Second, Onsets: cat(every("image", time.Second, 4, 17*ms),
				every("video", 1500*ms, 4, 85*ms), every("pacer", 1700*ms, 3, 30*ms))},
			tol:   time.Millisecond,
			kinds: map[string]kindWant{"image": {4, 0, 17 * ms}, "video": {4, 0, 85 * ms}, "pacer": {3, 0, 30 * ms}},
			all:   kindWant{11, 0, 0},
		},
		{
			name: "onsets of one frame share its edge",
			spec: timingtest.Spec{Dur: 6 * time.Second, Onsets: []timingtest.Onset{
				{T: time.Second, Cue: "a", Modality: "image", Lag: 20 * ms}, {T: time.Second, Cue: "b", Modality: "text", Lag: 20 * ms},
				{T: 3 * time.Second, Cue: "c", Modality: "image", Lag: 20 * ms}}},
			tol:   time.Millisecond,
			kinds: map[string]kindWant{"image": {2, 0, 20 * ms}, "text": {1, 0, 20 * ms}},
			all:   kindWant{3, 0, 20 * ms},
		},
		{
			// B comes on before A's light: A claims the first edge after
			// it, B the next one, its own (a light that flashes per onset,
			// not the sync patch's white period: Lit off).
			name: "onsets closer than their lag each get their own edge",
			spec: timingtest.Spec{Dur: 3 * time.Second, Onsets: []timingtest.Onset{
				{T: time.Second, Cue: "a", Modality: "image", Lag: 40 * ms, Flash: 10 * ms},
				{T: time.Second + 20*ms, Cue: "b", Modality: "image", Lag: 40 * ms, Flash: 10 * ms}}},
			opt:   timing.Options{Lit: -1},
			tol:   time.Millisecond,
			kinds: map[string]kindWant{"image": {2, 0, 40 * ms}},
			all:   kindWant{2, 0, 40 * ms},
		},
		{
			// The sync patch stays white 100 ms from an onset: a text
			// drawn a frame after its step's picture finds it white
			// already and has no edge of its own.
			name: "an onset while the patch is white shares its edge",
			spec: timingtest.Spec{Dur: 3 * time.Second, Onsets: []timingtest.Onset{
				{T: time.Second, Cue: "a", Modality: "image", Lag: 12 * ms, Flash: 150 * ms},
				{T: time.Second + 17*ms, Cue: "b", Modality: "text", NoLight: true}}},
			tol:    time.Millisecond,
			kinds:  map[string]kindWant{"image": {1, 0, 12 * ms}, "text": {0, 0, 0}},
			all:    kindWant{1, 0, 12 * ms},
			shared: map[string]int{"text": 1, "all": 1},
		},
		{
			name: "a missing flash and a stray light",
			spec: timingtest.Spec{Dur: 10 * time.Second, Extra: []time.Duration{8500 * ms},
				Onsets: []timingtest.Onset{
					{T: time.Second, Cue: "a", Modality: "image", Lag: 12 * ms},
					{T: 3 * time.Second, Cue: "b", Modality: "image", NoLight: true},
					{T: 5 * time.Second, Cue: "c", Modality: "image", Lag: 12 * ms}}},
			tol:       time.Millisecond,
			kinds:     map[string]kindWant{"image": {2, 1, 12 * ms}},
			all:       kindWant{2, 1, 12 * ms},
			unmatched: []string{"no light within 500ms"},
			edges:     []float64{8.5},
		},
		{
			name:  "light later than the window is not the onset's",
			spec:  timingtest.Spec{Dur: 5 * time.Second, Onsets: []timingtest.Onset{{T: time.Second, Cue: "a", Modality: "image", Lag: 300 * ms}}},
			opt:   timing.Options{Window: 200 * ms},
			kinds: map[string]kindWant{"image": {0, 1, 0}}, all: kindWant{0, 1, 0},
			unmatched: []string{"no light within 200ms"}, edges: []float64{1.3},
		},
		{
			name: "sounds and the headset's cues are not seen",
			spec: timingtest.Spec{Dur: 6 * time.Second, Onsets: []timingtest.Onset{
				{T: time.Second, Cue: "a", Modality: "image", Lag: 12 * ms},
				{T: 2 * time.Second, Cue: "s", Modality: "sound"},
				{T: 3 * time.Second, Cue: "p", Modality: "panorama", Source: "headset"}}},
			tol:   time.Millisecond,
			kinds: map[string]kindWant{"image": {1, 0, 12 * ms}}, all: kindWant{1, 0, 12 * ms},
		},
		{
			name: "no samples yet, and light lost in a gap",
			spec: timingtest.Spec{Dur: 6 * time.Second, Gap: [2]time.Duration{0, 1500 * ms}, Onsets: cat(
				[]timingtest.Onset{{T: time.Second, Cue: "early", Modality: "image", Lag: 12 * ms}},
				every("image", 2*time.Second, 2, 12*ms))},
			tol:       time.Millisecond,
			kinds:     map[string]kindWant{"image": {2, 1, 12 * ms}},
			all:       kindWant{2, 1, 12 * ms},
			unmatched: []string{"no samples of the channel then"},
		},
		{
			name: "a gap across the edge: seen, not timed",
			spec: timingtest.Spec{Dur: 6 * time.Second, Gap: [2]time.Duration{2005 * ms, 2050 * ms}, Onsets: every("image", 2*time.Second, 2, 12*ms)},
			tol:  time.Millisecond, kinds: map[string]kindWant{"image": {1, 1, 12 * ms}}, all: kindWant{1, 1, 12 * ms},
			unmatched: []string{"no light within 500ms"}, untimed: 1,
		},
		{
			name:  "100 Hz: half a period",
			spec:  timingtest.Spec{Rate: 100, Dur: 20 * time.Second, Onsets: every("image", time.Second, 9, 12*ms)},
			tol:   5 * time.Millisecond,
			kinds: map[string]kindWant{"image": {9, 0, 12 * ms}}, all: kindWant{9, 0, 12 * ms},
		},
		{
			name:  "a noisy sensor with little contrast, named by its input",
			spec:  timingtest.Spec{Dur: 20 * time.Second, Dark: 400, Light: 480, Noise: 5, Onsets: every("image", time.Second, 9, 25*ms)},
			opt:   timing.Options{Channel: "A5"},
			tol:   2 * time.Millisecond,
			kinds: map[string]kindWant{"image": {9, 0, 25 * ms}}, all: kindWant{9, 0, 25 * ms},
		},
		{
			name: "light on for most of the session",
			spec: timingtest.Spec{Dur: 10 * time.Second, Onsets: []timingtest.Onset{
				{T: time.Second, Cue: "a", Modality: "video", Lag: 50 * ms, Flash: 8 * time.Second}}},
			tol:   time.Millisecond,
			kinds: map[string]kindWant{"video": {1, 0, 50 * ms}}, all: kindWant{1, 0, 50 * ms},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := timingtest.Record(t, root, tc.spec)
			r, err := analyze(t, dir, tc.opt)
			require.NoError(t, err)
			assert.Equal(t, "bitalino", r.Channel.Device)
			assert.Equal(t, "a5", r.Channel.Label)
			assert.Equal(t, "A5", r.Channel.Input)
			require.Len(t, r.Kinds, len(tc.kinds))
			check := func(s timing.Stats, w kindWant) {
				assert.Equal(t, w.count, s.Count, "%s: count", s.Kind)
				assert.Equal(t, w.unmatched, s.Unmatched, "%s: unmatched", s.Kind)
				assert.Equal(t, tc.shared[s.Kind], s.Shared, "%s: shared", s.Kind)
				if w.count == 0 {
					assert.Nil(t, s.Latency)
					return
				}
				require.NotNil(t, s.Latency, s.Kind)
				if w.mean > 0 {
					l := s.Latency
					tol := float64(tc.tol) / float64(ms)
					assert.InDelta(t, float64(w.mean)/float64(ms), l.Mean, tol, "%s: mean", s.Kind)
					assert.InDelta(t, float64(w.mean)/float64(ms), l.Min, tol, "%s: min", s.Kind)
					assert.InDelta(t, float64(w.mean)/float64(ms), l.Max, tol, "%s: max", s.Kind)
					assert.LessOrEqual(t, l.SD, tol, "%s: SD", s.Kind)
				}
			}
			for _, s := range r.Kinds {
				w, ok := tc.kinds[s.Kind]
				require.True(t, ok, "kind %q", s.Kind)
				check(s, w)
			}
			check(r.All, tc.all)
			var why []string
			for _, o := range r.Onsets {
				switch {
				case o.Shared:
					assert.Nil(t, o.Edge, "a shared onset has no edge of its own")
					assert.Empty(t, o.Unmatched)
				case o.Unmatched != "":
					why = append(why, o.Unmatched)
					assert.Nil(t, o.Edge)
				default:
					require.NotNil(t, o.Edge)
					assert.InDelta(t, *o.Edge-o.T, *o.LatencyMS/1000, 1e-9)
				}
			}
			assert.Equal(t, tc.unmatched, why)
			require.Len(t, r.UnmatchedEdges, len(tc.edges))
			for i, e := range tc.edges {
				assert.InDelta(t, e, r.UnmatchedEdges[i], float64(2*ms)/float64(time.Second))
			}
			assert.Equal(t, tc.untimed, r.Untimed)
			assert.Less(t, r.Levels.Dark, r.Levels.Threshold)
			assert.Less(t, r.Levels.Threshold, r.Levels.Light)
		})
	}
}

// The levels come from the data, whatever its share of light: a dark and a
// light level near the recorded ones, and the threshold midway.
func TestLevels(t *testing.T) {
	root := t.TempDir()
	for _, tc := range []struct {
		name        string
		spec        timingtest.Spec
		dark, light float64
	}{
		{"flashes: 1 % light", timingtest.Spec{Dur: 20 * time.Second, Onsets: every("image", time.Second, 2, 0)}, 60, 900},
		{"a 6-bit input", timingtest.Spec{Dur: 10 * time.Second, Dark: 4, Light: 56, Noise: -1, Onsets: every("image", time.Second, 3, 0)}, 4, 56},
		{"negative volts", timingtest.Spec{Dur: 10 * time.Second, Dark: -1.2, Light: -0.2, Noise: 0.005, Onsets: every("image", time.Second, 3, 0),
			Channels: []sensors.Channel{{Label: "photo", Unit: "V", Type: "MISC"}}}, -1.2, -0.2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := analyze(t, timingtest.Record(t, root, tc.spec), timing.Options{})
			require.NoError(t, err)
			swing := tc.light - tc.dark
			assert.InDelta(t, tc.dark, r.Levels.Dark, swing/50)
			assert.InDelta(t, tc.light, r.Levels.Light, swing/50)
			assert.InDelta(t, (tc.dark+tc.light)/2, r.Levels.Threshold, swing/50)
			assert.InDelta(t, swing/10, r.Levels.Hysteresis, swing/50)
		})
	}
}

// What the session lacks is said, as an error of the kind the command
// turns into exit code 2.
func TestAnalyzeErrors(t *testing.T) {
	root := t.TempDir()
	ecgOnly := []sensors.Channel{{Label: "eda", Unit: "uS", Type: "EDA"}, {Label: "ecg", Unit: "mV", Type: "ECG"}}
	twoRaw := []sensors.Channel{{Label: "eda", Unit: "uS", Type: "EDA"}, {Label: "a3", Unit: "adc", Type: "MISC"}, {Label: "a5", Unit: "adc", Type: "MISC"}}
	lit := every("image", time.Second, 2, 12*ms)
	tests := []struct {
		name string
		spec timingtest.Spec
		opt  timing.Options
		is   error
		want string
	}{
		{"no analog channel", timingtest.Spec{Dur: 3 * time.Second, Channels: ecgOnly, Photo: -1, Onsets: lit}, timing.Options{},
			timing.ErrNoChannel, "no analog channel in this session (it recorded bitalino eda, bitalino ecg): record a photodiode on an analog input"},
		{"no samples at all", timingtest.Spec{Dur: 3 * time.Second, Gap: [2]time.Duration{0, time.Hour}}, timing.Options{},
			timing.ErrNoChannel, "no analog channel in this session (it recorded no channels)"},
		{"dark throughout", timingtest.Spec{Dur: 3 * time.Second}, timing.Options{},
			timing.ErrNoEdges, "bitalino a5: no light edges: the channel does not switch between two levels"},
		{"one value throughout", timingtest.Spec{Dur: 3 * time.Second, Noise: -1}, timing.Options{},
			timing.ErrNoEdges, "bitalino a5: no light edges: the channel reads one value throughout"},
		{"no such channel", timingtest.Spec{Dur: 3 * time.Second, Onsets: lit}, timing.Options{Channel: "A3"},
			timing.ErrChannel, `channel not found or ambiguous "A3" in this session: its channels are bitalino eda (A1), bitalino ecg (A2), bitalino a5`},
		{"two analog channels", timingtest.Spec{Dur: 3 * time.Second, Channels: twoRaw, Onsets: lit}, timing.Options{},
			timing.ErrChannel, "several analog channels could be the photodiode (bitalino a3, bitalino a5): say which with --channel, e.g. --channel a5"},
		{"the wrong channel named", timingtest.Spec{Dur: 3 * time.Second, Onsets: lit}, timing.Options{Channel: "bitalino:ecg"},
			timing.ErrNoEdges, "bitalino ecg (A2): no light edges: the channel reads one value throughout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := analyze(t, timingtest.Record(t, root, tc.spec), tc.opt)
			require.ErrorIs(t, err, tc.is)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// The channel is found however it is named, and from the stream described
// in session.json alone.
func TestChannelChoice(t *testing.T) {
	root := t.TempDir()
	lit := every("image", time.Second, 2, 12*ms)
	plain := timingtest.Record(t, root, timingtest.Spec{Dur: 4 * time.Second, Onsets: lit})
	twoRaw := timingtest.Record(t, root, timingtest.Spec{Dur: 4 * time.Second, Onsets: lit, Photo: 2,
		Channels: []sensors.Channel{{Label: "a1", Unit: "adc"}, {Label: "a2", Unit: "adc"}, {Label: "lux", Unit: "adc", Type: "LUX"}}})
	inSession := timingtest.Record(t, root, timingtest.Spec{Dur: 4 * time.Second, Onsets: lit, AnnounceInSession: true})
	for _, tc := range []struct {
		dir, name, label string
	}{
		{plain, "", "a5"}, {plain, "A5", "a5"}, {plain, "a5", "a5"}, {plain, "BITALINO:A5", "a5"}, {plain, "bitalino:a5", "a5"},
		{twoRaw, "", "lux"}, {twoRaw, "LUX", "lux"},
		{inSession, "", "a5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := analyze(t, tc.dir, timing.Options{Channel: tc.name})
			require.NoError(t, err)
			assert.Equal(t, tc.label, r.Channel.Label)
			assert.Equal(t, 2, r.All.Count)
		})
	}
}

// The report reads as text and as JSON.
func TestReportOutput(t *testing.T) {
	dir := timingtest.Record(t, t.TempDir(), timingtest.Spec{Dur: 10 * time.Second, Extra: []time.Duration{9 * time.Second},
		Onsets: []timingtest.Onset{
			{T: time.Second, Cue: "s1.c1", Modality: "image", Lag: 12 * ms},
			{T: 3 * time.Second, Cue: "s1.c2", Modality: "text", Lag: 14 * ms},
			{T: 5 * time.Second, Cue: "s2.c1", Modality: "image", Lag: 13 * ms},
			{T: 7 * time.Second, Cue: "s2.c2", Modality: "video", NoLight: true}}})
	r, err := analyze(t, dir, timing.Options{})
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, r.WriteText(&out))
	text := out.String()
	for _, re := range []string{
		`^` + dir + `\nphotodiode: bitalino a5, 1000 Hz, 10000 samples; dark 6\d(\.\d+)?, light 9\d\d(\.\d+)? adc, edges timed at 4\d\d(\.\d+)?\n`,
		`onset → light latency, ms \(the first rising edge within 500 ms of each visual onset; 4 rising edges\)`,
		`\n\s*kind\s+count\s+mean\s+SD\s+min\s+max\s+unmatched\s+shared\s*\n`,
		`\n\s*image\s+2\s+1[23]\.\d\d\s+0\.\d\d\s+1[12]\.\d\d\s+1[23]\.\d\d\s+0\s+0\s*\n`,
		`\n\s*text\s+1\s+1[34]\.\d\d\s+0\.00\s+1[34]\.\d\d\s+1[34]\.\d\d\s+0\s+0\s*\n`,
		`\n\s*video\s+0\s+—\s+—\s+—\s+—\s+1\s+0\s*\n`,
		`\n\s*all\s+3\s+1[23]\.\d\d\s+\d\.\d\d\s+1[12]\.\d\d\s+1[34]\.\d\d\s+1\s+0\s*\n`,
		`\nunmatched onsets \(1\):\n\s+7\.000 s  video s2\.c2: no light within 500ms\n`,
		`\nunmatched light edges \(1\), s: 9\.00\d\n$`,
	} {
		assert.Regexp(t, re, text)
	}

	b, err := json.Marshal(r)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, dir, got["session"])
	assert.Equal(t, map[string]any{"device": "bitalino", "label": "a5", "unit": "adc", "rate_hz": 1000.0, "input": "A5"}, got["channel"])
	all := got["all"].(map[string]any)
	assert.Equal(t, "all", all["kind"])
	assert.Equal(t, 3.0, all["count"])
	assert.Equal(t, 1.0, all["unmatched"])
	assert.Len(t, all["latency_ms"], 4, "mean, sd, min, max")
	assert.Len(t, got["onsets"], 4)
	onset := got["onsets"].([]any)[3].(map[string]any)
	assert.Equal(t, map[string]any{"t": 7.0, "cue": "s2.c2", "kind": "video", "unmatched": "no light within 500ms"}, onset)
	assert.Len(t, got["unmatched_edges"], 1)
	for _, k := range []string{"samples", "levels", "window_ms", "early_ms", "rising_edges", "untimed_edges", "kinds"} {
		assert.Contains(t, got, k)
	}
}

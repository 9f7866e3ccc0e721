package analysis

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/analysis/analysistest"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/engine/report"
	"github.com/cueroom/cueroom/sensors"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json from the code under test")

// The options `cueroom analyze` and `cueroom report` use by default.
var (
	analyzeOptions = Options{SCRThreshold: 0.01, Baseline: 3, Response: 4}
	reportOptions  = Options{SCRThreshold: 0.01, Baseline: 3, Response: 4, SCRFrom: 1, SCRTo: 4, EndWindow: 3}
)

// fixture records one session into root and returns its folder.
type fixture func(tb testing.TB, root string) string

func spec(s analysistest.Spec) fixture {
	return func(tb testing.TB, root string) string { return analysistest.Record(tb, root, s) }
}

// Shapes of skin conductance with known answers.
var (
	// withinShape: 2 µS before the step, up to 3 µS 5 s in, down to 2.5 µS
	// at its end 20 s in.
	withinShape = func(t float64) float64 {
		switch {
		case t < 10:
			return 2
		case t < 15:
			return 2 + (t-10)/5
		case t < 30:
			return 3 - 0.5*(t-15)/15
		default:
			return 2.5
		}
	}
	// gapShape: a step of 1 µS at 40 s.
	gapShape = func(t float64) float64 {
		if t < 40 {
			return 3
		}
		return 4
	}
	edaOnly = []sensors.Channel{{Label: "eda", Unit: "uS", Type: "EDA"}}
)

// fixtures are the sessions of each golden case, given together (in order)
// as to `cueroom analyze` and `cueroom report`.
var fixtures = []struct {
	name     string
	sessions []fixture
	analyze  bool // false: analyze refuses it (nothing measured)
}{
	{"demo", []fixture{
		spec(analysistest.Spec{Steps: analysistest.DemoSteps(), Derived: true, StopAt: 50}),
		spec(analysistest.Spec{Steps: analysistest.DemoSteps(), Stimuli: 6}),
	}, true},
	{"within", []fixture{spec(analysistest.Spec{EDA: withinShape, Channels: edaOnly, Steps: []analysistest.Step{
		{ID: "baseline", Neutral: true, Dur: 10}, {ID: "cue", Intensity: 5, Dur: 20}, {ID: "recovery", Neutral: true, Dur: 10}}})}, true},
	{"gap", []fixture{spec(analysistest.Spec{EDA: gapShape, Channels: edaOnly, Gap: [2]float64{15, 25}, Steps: []analysistest.Step{
		{ID: "baseline", Neutral: true, Dur: 10}, {ID: "a", Intensity: 3, Dur: 30}, {ID: "b", Intensity: 5, Dur: 20}}})}, true},
	{"ecgonly", []fixture{spec(analysistest.Spec{Steps: analysistest.DemoSteps(),
		Channels: []sensors.Channel{{Label: "ecg", Unit: "mV", Type: "ECG"}}})}, true},
	// 20 s of the ECG buried in noise: the quality index withholds them.
	{"noisyecg", []fixture{spec(analysistest.Spec{Steps: analysistest.DemoSteps(), ECG: noisyECG(40, 60)})}, true},
	{"nosensor", []fixture{spec(analysistest.Spec{Steps: analysistest.DemoSteps(), NoSensor: true, Derived: true})}, false},
	{"twodevices", []fixture{analysistest.RecordTwoDevices}, true},
	{"cuestep", []fixture{
		func(tb testing.TB, root string) string { return analysistest.RecordCueStep(tb, root, 1, 0, 70) },
		func(tb testing.TB, root string) string { return analysistest.RecordCueStep(tb, root, 1, 6, 30) },
	}, true},
}

// pinned is a recording with the parts that differ from run to run (its
// folder, when it was made) fixed, so its analysis can be compared with a
// golden file.
type pinned struct {
	Recording
	info Info
}

func (p pinned) Info() Info { return p.info }

var goldenStart = time.Date(2025, 1, 31, 14, 25, 0, 0, time.UTC)

// readers are the two ways the commands read a session folder: whole
// into memory, or indexed with the samples read back on demand.
var readers = []struct {
	name string
	open func(tb testing.TB, dir string) Recording
}{
	{"whole", func(tb testing.TB, dir string) Recording {
		s, err := record.Open(dir)
		require.NoError(tb, err)
		return FromSession(s)
	}},
	{"index", func(tb testing.TB, dir string) Recording {
		x, err := record.OpenIndex(dir)
		require.NoError(tb, err)
		tb.Cleanup(func() { x.Close() })
		return FromIndex(x)
	}},
}

// open records fixture i of case name and reads it back as `cueroom` does.
func open(tb testing.TB, name string, i int, f fixture, read func(testing.TB, string) Recording) Recording {
	tb.Helper()
	rec := read(tb, f(tb, tb.TempDir()))
	info := rec.Info()
	info.Dir = fmt.Sprintf("%s-%d", name, i+1)
	info.Meta.Start = goldenStart
	info.End = goldenStart.Add(10 * time.Minute)
	return pinned{rec, info}
}

// analyzeJSON is what `cueroom analyze --json` prints for recordings.
func analyzeJSON(tb testing.TB, recs []Recording) []byte {
	var all []*Result
	for _, r := range recs {
		a, err := Session(r, analyzeOptions)
		require.NoError(tb, err)
		all = append(all, a)
	}
	return encode(tb, struct {
		Sessions []*Result       `json:"sessions"`
		Across   []report.Across `json:"across_sessions,omitempty"`
	}{all, Across(all)})
}

// reportJSON is what `cueroom report --json` prints for recordings (made
// at the zero time by no software).
func reportJSON(tb testing.TB, recs []Recording) []byte {
	rep := &report.Report{Settings: reportOptions.Settings()}
	var analysed []*Result
	for _, r := range recs {
		rs, a, err := Report(r, reportOptions)
		require.NoError(tb, err)
		rep.Sessions = append(rep.Sessions, rs)
		if a != nil {
			analysed = append(analysed, a)
		}
	}
	rep.Across = Across(analysed)
	return encode(tb, rep)
}

func encode(tb testing.TB, v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	require.NoError(tb, enc.Encode(v))
	return b.Bytes()
}

// TestGolden: the --json of analyze and report for each fixture, read
// either way, is byte for byte what testdata holds. The files were first written by cueroom
// before the analysis moved out of package main (see testdata/README.md);
// -update rewrites them from this code, for a change that is meant.
func TestGolden(t *testing.T) {
	for _, fx := range fixtures {
		for _, rd := range readers {
			if *update && rd.name != "whole" {
				continue
			}
			t.Run(fx.name+"/"+rd.name, func(t *testing.T) {
				t.Parallel()
				var recs []Recording
				for i, f := range fx.sessions {
					recs = append(recs, open(t, fx.name, i, f, rd.open))
				}
				check := func(file string, got []byte) {
					path := filepath.Join("testdata", file)
					if *update {
						require.NoError(t, os.WriteFile(path, got, 0o644))
						return
					}
					want, err := os.ReadFile(path)
					require.NoError(t, err)
					if !bytes.Equal(want, got) {
						t.Errorf("%s differs from the code's output (go test -run TestGolden -update rewrites it):\n%s", path, firstDiff(want, got))
					}
				}
				check(fx.name+".report.json", reportJSON(t, recs))
				if fx.analyze {
					check(fx.name+".analyze.json", analyzeJSON(t, recs))
				}
			})
		}
	}
}

// firstDiff shows the first line where a and b differ.
func firstDiff(a, b []byte) string {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; i < max(len(la), len(lb)); i++ {
		var x, y []byte
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if !bytes.Equal(x, y) {
			return fmt.Sprintf("line %d:\n want %s\n  got %s", i+1, x, y)
		}
	}
	return "(same lines)"
}

// noisyECG buries the ECG in white noise (sd 2 mV, several times the R
// wave) from `from` to `to` s; seeded, so the fixture is the same each run.
func noisyECG(from, to float64) func(t, v float64) float64 {
	return func(t, v float64) float64 {
		if t < from || t >= to {
			return v
		}
		// seeded by the sample's time: the same noise however often (and
		// by however many readers) the fixture is recorded
		return v + 2*rand.New(rand.NewPCG(math.Float64bits(t), 7)).NormFloat64()
	}
}

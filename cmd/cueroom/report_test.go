package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/analysis"
	"github.com/cueroom/cueroom/engine/analysis/analysistest"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/engine/report"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/physio/eda"
)

// reportJSON runs the command with --json and decodes what it prints.
func reportJSON(t *testing.T, args ...string) (report.Report, string) {
	t.Helper()
	var out, errb bytes.Buffer
	require.NoError(t, reportCmd(append(args, "--json"), &out, &errb), errb.String())
	var r report.Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &r), out.String())
	return r, errb.String()
}

// TestReportJSONMatchesAnalyze: --json prints the analysis package's
// report of the sessions (its own tests check the numbers: the offline
// analysis of the session's own events, as 'cueroom analyze' gives them),
// with the default windows, and --json alone writes no HTML.
func TestReportJSONMatchesAnalyze(t *testing.T) {
	root := t.TempDir()
	first := analysistest.Record(t, root, analysistest.Spec{Steps: analysistest.DemoSteps(), Derived: true})
	later := analysistest.Record(t, root, analysistest.Spec{Steps: analysistest.DemoSteps(), Stimuli: 6})
	t.Chdir(t.TempDir())

	r, _ := reportJSON(t, first, later)
	_, err := os.Stat("report.html")
	assert.ErrorIs(t, err, os.ErrNotExist, "--json alone writes no HTML")
	assert.Equal(t, report.Settings{Baseline: 3, Response: 4, SCRFrom: 1, SCRTo: 4, SCRThreshold: 0.01, EndWindow: 3}, r.Settings)
	assert.Equal(t, "cueroom "+version, r.Software)
	require.Len(t, r.Sessions, 2)
	var analysed []*analysis.Result
	for i, dir := range []string{first, later} {
		s, err := record.Open(dir)
		require.NoError(t, err)
		want, a, err := analysis.Report(analysis.FromSession(s), analysis.Options{SCRThreshold: 0.01, Baseline: 3, Response: 4, SCRFrom: 1, SCRTo: 4, EndWindow: 3})
		require.NoError(t, err)
		analysed = append(analysed, a)
		assert.Equal(t, mustJSON(t, want), mustJSON(t, r.Sessions[i]), "the report of %s", dir)
		assert.Equal(t, "completed", r.Sessions[i].EndReason)
		require.Len(t, r.Sessions[i].Steps, 5)
	}
	require.NotEmpty(t, r.Across)
	assert.Equal(t, mustJSON(t, analysis.Across(analysed)), mustJSON(t, r.Across))
}

// TestReportSCROptions: report scores SCRs as analyze does when asked for
// a relative minimum or another decomposition, and says so in its settings.
func TestReportSCROptions(t *testing.T) {
	dir := analysistest.Record(t, t.TempDir(), analysistest.Spec{Steps: analysistest.DemoSteps()})
	t.Chdir(t.TempDir())
	plain, _ := reportJSON(t, dir)
	r, _ := reportJSON(t, dir, "--scr-relative", "0.5", "--decompose", "cvxeda")
	assert.Equal(t, 0.5, r.Settings.SCRRelative)
	assert.Equal(t, "cvxeda", r.Settings.Decomposition)
	s, err := record.Open(dir)
	require.NoError(t, err)
	want, _, err := analysis.Report(analysis.FromSession(s), analysis.Options{SCRThreshold: 0.01, Baseline: 3, Response: 4,
		SCRFrom: 1, SCRTo: 4, EndWindow: 3, SCRRelative: 0.5, Decomposition: eda.CvxEDA})
	require.NoError(t, err)
	assert.Equal(t, mustJSON(t, want), mustJSON(t, r.Sessions[0]))
	count := func(r report.Report) (n int) {
		for _, p := range r.Sessions[0].Cues {
			if p.SCR != nil {
				n += p.SCR.Count
			}
		}
		return n
	}
	// The fixture's responses differ in size: half the largest drops some.
	assert.Less(t, count(r), count(plain), "a relative minimum of 50 %% drops the small SCRs")
	assert.Positive(t, count(r))
}

// TestReportHTML renders real sessions and checks the page: every step in
// the table, one plot per figure, self-contained, hostile text escaped.
func TestReportHTML(t *testing.T) {
	root := t.TempDir()
	dir := analysistest.Record(t, root, analysistest.Spec{Steps: analysistest.DemoSteps(), Derived: true, StopAt: 50})
	other := analysistest.Record(t, root, analysistest.Spec{Steps: analysistest.DemoSteps(), Stimuli: 4})
	out := filepath.Join(t.TempDir(), "r.html")

	for _, tc := range []struct {
		name  string
		args  []string
		plots int // figures: overview, within, repeats per session, + across
		png   bool
	}{
		{"one session, svg", []string{dir, "--out", out}, 3, false},
		{"two sessions, png", []string{dir, other, "--out", out, "--plots", "png", "--force"}, 7, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			require.NoError(t, reportCmd(tc.args, &stdout, &stderr))
			assert.Contains(t, stdout.String(), "written to "+out)
			assert.Empty(t, stderr.String(), "no progress bar or warning in a test")
			b, err := os.ReadFile(out)
			require.NoError(t, err)
			page := string(b)
			assert.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
			assert.True(t, strings.HasSuffix(strings.TrimSpace(page), "</html>"))
			// Self-contained: no link, script or resource from anywhere.
			assert.NotRegexp(t, `(?i)https?://|<script|<link|@import|url\(`, page)
			for _, m := range regexp.MustCompile(`(?i)\ssrc="([^"]*)"`).FindAllStringSubmatch(page, -1) {
				assert.True(t, strings.HasPrefix(m[1], "data:image/png;base64,"), "src %q", m[1][:min(40, len(m[1]))])
			}
			if tc.png {
				imgs := regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`).FindAllStringSubmatch(page, -1)
				assert.Len(t, imgs, tc.plots)
				assert.NotContains(t, page, "<svg")
				for _, m := range imgs {
					raw, err := base64.StdEncoding.DecodeString(m[1])
					require.NoError(t, err)
					img, err := png.Decode(bytes.NewReader(raw))
					require.NoError(t, err)
					assert.Greater(t, img.Bounds().Dx(), 1000, "144 dpi")
				}
			} else {
				assert.Equal(t, tc.plots, strings.Count(page, "<svg "))
				assert.Equal(t, tc.plots, strings.Count(page, "</svg>"))
			}
			// Every step presentation is a row of the step table, numbered.
			steps := section(t, page, "Reactivity per step", "Reactivity per cue")
			for i, id := range []string{"baseline", "bottle", "glass", "bottle", "recovery"} {
				assert.Regexp(t, `<td class="num">`+itoa(i+1)+`</td><td>`+id+`<small>`, steps)
			}
			assert.Contains(t, steps, "no answer")
			assert.Contains(t, steps, ">40<", "the craving rating")
			// The manifest with its hashes, the log with the escaped marker.
			assert.Contains(t, page, strings.Repeat("ab", 32))
			assert.Contains(t, page, "urge &lt;b&gt;6/10&lt;/b&gt;")
			assert.NotContains(t, page, "<b>6/10</b>")
			assert.Contains(t, page, "the patient stopped the exposure")
			// Header facts.
			assert.Contains(t, page, "Report test")
			assert.Contains(t, page, "completed")
			assert.Contains(t, page, "bitalino (bitalino), 100 Hz")
			if len(tc.args) > 3 && tc.args[1] == other {
				assert.Contains(t, page, "Across sessions")
			}
		})
	}
	// The patient stop (5 s calm) is not exposure.
	r, _ := reportJSON(t, dir)
	assert.InDelta(t, 65, r.Sessions[0].Exposure, 1e-6)
	assert.InDelta(t, 30, r.Sessions[0].Steps[2].End-r.Sessions[0].Steps[2].Onset, 1e-6)
	assert.InDelta(t, 25, r.Sessions[0].Steps[2].Exposure, 1e-6)
}

func itoa(i int) string { return string(rune('0' + i)) }

// section cuts the page between two headings.
func section(t *testing.T, page, from, to string) string {
	t.Helper()
	i := strings.Index(page, from)
	require.GreaterOrEqual(t, i, 0, from)
	j := strings.Index(page[i:], to)
	require.GreaterOrEqual(t, j, 0, to)
	return page[i : i+j]
}

// TestReportNotMeasured: with no skin conductance, or no sensor at all,
// the report says "not measured" where numbers would be, never zeros.
func TestReportNotMeasured(t *testing.T) {
	root := t.TempDir()
	ecgOnly := analysistest.Record(t, root, analysistest.Spec{Steps: analysistest.DemoSteps(), Channels: []sensors.Channel{{Label: "ecg", Unit: "mV", Type: "ECG"}}})
	nothing := analysistest.Record(t, root, analysistest.Spec{Steps: analysistest.DemoSteps(), NoSensor: true})
	out := t.TempDir()

	r, _ := reportJSON(t, ecgOnly)
	s := r.Sessions[0]
	assert.NotNil(t, s.Measured.HR)
	assert.Nil(t, s.Measured.SCL)
	for _, p := range s.Steps {
		assert.Nil(t, p.SCL, p.ID)
		assert.Nil(t, p.SCR, p.ID)
		assert.Nil(t, p.SCLLevel, p.ID)
	}
	assert.NotNil(t, s.Steps[2].HR)

	var stdout, stderr bytes.Buffer
	require.NoError(t, reportCmd([]string{ecgOnly, "--out", filepath.Join(out, "ecg.html")}, &stdout, &stderr))
	page := readFile(t, filepath.Join(out, "ecg.html"))
	steps := section(t, page, "Reactivity per step", "Reactivity per cue")
	assert.Contains(t, steps, `<td class="nm">not measured</td>`)
	assert.Contains(t, page, "skin conductance not measured", "in the plot too")
	assert.Contains(t, page, "skin conductance: not measured")

	// No sensor: the session, its steps and ratings are still reported.
	r, warn := reportJSON(t, nothing)
	assert.Contains(t, warn, "no ECG, PPG or skin-conductance channel was recorded")
	s = r.Sessions[0]
	assert.Nil(t, s.Measured.HR)
	assert.Nil(t, s.Measured.SCL)
	require.Len(t, s.Steps, 5)
	assert.Equal(t, 40.0, *s.Steps[1].Ratings[0].Value)
	assert.Nil(t, s.Steps[1].HR)
	require.NoError(t, reportCmd([]string{nothing, "--out", filepath.Join(out, "none.html")}, &stdout, &stderr))
	page = readFile(t, filepath.Join(out, "none.html"))
	assert.Contains(t, page, "heart rate not measured")
	assert.NotRegexp(t, `<td class="num">[+−]?0\.0+</td>`, section(t, page, "Reactivity per step", "Reactivity per cue"))
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

// TestReportBadInput: bad input is a usage error (exit 2) naming the
// folder or file and what to do; nothing is written and nothing panics.
func TestReportBadInput(t *testing.T) {
	good := analysistest.Record(t, t.TempDir(), analysistest.Spec{Steps: analysistest.DemoSteps()[:2]})
	dir := t.TempDir()
	file := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(file, []byte("hello"), 0o644))
	foreign := filepath.Join(dir, "holiday-photos")
	require.NoError(t, os.MkdirAll(foreign, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(foreign, "beach.jpg"), []byte("jpeg"), 0o644))
	otherMeta := copySession(t, good)
	require.NoError(t, os.WriteFile(filepath.Join(otherMeta, record.MetaFile), []byte(`{"format":"other-tool/3"}`), 0o644))
	otherData := copySession(t, good)
	require.NoError(t, os.WriteFile(filepath.Join(otherData, record.DataFile), []byte("PK\x03\x04zip"), 0o644))
	brokenMeta := copySession(t, good)
	require.NoError(t, os.WriteFile(filepath.Join(brokenMeta, record.MetaFile), []byte(`{"format": "cueroom-session/1", "streams": [`), 0o644))
	taken := filepath.Join(dir, "taken.html")
	require.NoError(t, os.WriteFile(taken, []byte("precious"), 0o644))
	folder := filepath.Join(dir, "x.html")
	require.NoError(t, os.Mkdir(folder, 0o755))
	out := func() string { return filepath.Join(t.TempDir(), "r.html") }

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"nothing", []string{"--out", out()}, "give at least one session folder"},
		{"missing session", []string{filepath.Join(dir, "nope"), "--out", out()}, "nope: no such session folder"},
		{"a file", []string{file, "--out", out()}, "notes.txt is a file"},
		{"foreign folder", []string{foreign, "--out", out()}, "holiday-photos is not a session folder"},
		{"foreign session.json", []string{otherMeta, "--out", out()}, "not a cueroom session"},
		{"foreign data.rec", []string{otherData, "--out", out()}, "data.rec byte 0: not a cueroom recording"},
		{"session.json cut short", []string{brokenMeta, "--out", out()}, "session.json byte"},
		{"good then foreign", []string{good, foreign, "--out", out()}, "holiday-photos is not a session folder"},
		{"out exists", []string{good, "--out", taken}, "taken.html already exists; choose another name, or --force"},
		{"out in the session", []string{good, "--out", filepath.Join(good, "r.html")}, "inside the session folder"},
		{"out folder missing", []string{good, "--out", filepath.Join(dir, "no", "r.html")}, "does not exist"},
		{"out not html", []string{good, "--out", filepath.Join(dir, "r.pdf")}, "ends in .html"},
		{"out is a folder", []string{good, "--out", folder}, "x.html is a folder"},
		{"bad plots", []string{good, "--plots", "gif", "--out", out()}, `--plots "gif": choose svg or png`},
		{"bad threshold", []string{good, "--scr-threshold", "-1", "--out", out()}, "must be positive"},
		{"bad relative", []string{good, "--scr-relative", "1.5", "--out", out()}, "--scr-relative must be a fraction"},
		{"bad decomposition", []string{good, "--decompose", "ica", "--out", out()}, `--decompose "ica": use filter (fast) or cvxeda`},
		{"unknown flag", []string{good, "--bogus"}, "-bogus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := reportCmd(tc.args, &stdout, &stderr)
			require.Error(t, err)
			var ue usageError
			require.True(t, errors.As(err, &ue), "a usage error (exit 2), got %T: %v", err, err)
			assert.Contains(t, err.Error(), tc.want)
			for i, a := range tc.args {
				if a == "--out" && tc.args[i+1] != taken && tc.args[i+1] != folder {
					_, statErr := os.Stat(tc.args[i+1])
					assert.ErrorIs(t, statErr, os.ErrNotExist, "nothing written")
				}
			}
		})
	}
	assert.Equal(t, "precious", readFile(t, taken), "never overwritten")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasSuffix(e.Name(), ".tmp"), "no temporary file left: %s", e.Name())
	}

	// The default out is report.html here; a second run refuses it, --force replaces it.
	t.Chdir(t.TempDir())
	var stdout, stderr bytes.Buffer
	require.NoError(t, reportCmd([]string{good}, &stdout, &stderr))
	first := readFile(t, "report.html")
	err = reportCmd([]string{good}, &stdout, &stderr)
	var ue usageError
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, err.Error(), "report.html already exists")
	require.NoError(t, os.WriteFile("report.html", []byte("old"), 0o644))
	require.NoError(t, reportCmd([]string{good, "--force"}, &stdout, &stderr))
	assert.Equal(t, len(first), len(readFile(t, "report.html")), "replaced by a new report")
	// Run from inside the session folder, the default would land in it.
	t.Chdir(good)
	err = reportCmd([]string{"."}, &stdout, &stderr)
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, err.Error(), "inside the session folder")
}

// TestReportDamagedRecording: a torn tail (a crash) and a corrupt region are
// reported with the reader's note, not refused.
func TestReportDamagedRecording(t *testing.T) {
	good := analysistest.Record(t, t.TempDir(), analysistest.Spec{Steps: analysistest.DemoSteps()})
	data, err := os.ReadFile(filepath.Join(good, record.DataFile))
	require.NoError(t, err)
	torn := copySession(t, good)
	require.NoError(t, os.WriteFile(filepath.Join(torn, record.DataFile), data[:len(data)-37], 0o644))
	corrupt := copySession(t, good)
	bad := bytes.Clone(data)
	for i := len(bad) / 2; i < len(bad)/2+200; i++ {
		bad[i] ^= 0x5a
	}
	require.NoError(t, os.WriteFile(filepath.Join(corrupt, record.DataFile), bad, 0o644))

	for _, tc := range []struct {
		name, dir, want string
	}{
		{"torn tail", torn, "torn tail"},
		{"corrupt region", corrupt, "skipped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "r.html")
			var stdout, stderr bytes.Buffer
			require.NoError(t, reportCmd([]string{tc.dir, "--out", out}, &stdout, &stderr))
			assert.Contains(t, stderr.String(), "warning: "+tc.dir)
			assert.Contains(t, stderr.String(), tc.want)
			page := readFile(t, out)
			assert.Contains(t, page, `<p class="warn">The recording was damaged and has been read around the damage: data.rec byte`)
			assert.Contains(t, page, tc.want)
			r, _ := reportJSON(t, tc.dir)
			assert.Contains(t, r.Sessions[0].Recovered, tc.want)
			assert.NotEmpty(t, r.Sessions[0].Steps)
		})
	}
}

// TestReportProgressBar: on a terminal a long report shows a progress bar
// on stderr; in a pipe (every other test) there is none.
func TestReportProgressBar(t *testing.T) {
	dir := analysistest.Record(t, t.TempDir(), analysistest.Spec{Steps: analysistest.DemoSteps()[:3]})
	old := progressBytes
	progressBytes = 0 // every report is long enough
	t.Cleanup(func() { progressBytes = old })
	master, tty, err := pty.Open()
	require.NoError(t, err)
	t.Cleanup(func() { master.Close(); tty.Close() })
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(master) // until tty closes
		got <- string(b)
	}()
	var stdout bytes.Buffer
	require.NoError(t, reportCmd([]string{dir, "--out", filepath.Join(t.TempDir(), "r.html")}, &stdout, tty))
	require.NoError(t, tty.Close())
	out := <-got
	assert.Contains(t, out, "reading "+filepath.Base(dir))
	assert.Contains(t, out, "plotting Report test")
	var pct []int
	for _, m := range regexp.MustCompile(`(\d+)% \|`).FindAllStringSubmatch(out, -1) {
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		pct = append(pct, n)
	}
	require.NotEmpty(t, pct)
	assert.IsNonDecreasing(t, pct, "the bar never goes back")
	assert.GreaterOrEqual(t, pct[len(pct)-1], 75, "and gets near the end before it is cleared")
	assert.Contains(t, stdout.String(), "written to", "the result still goes to stdout")

	var pipe bytes.Buffer
	require.NoError(t, reportCmd([]string{dir, "--out", filepath.Join(t.TempDir(), "r.html")}, &stdout, &pipe))
	assert.Empty(t, pipe.String(), "no bar in a pipe")
}

// TestManifestFieldsMatchEngine: report.Cue reads the manifest the engine
// writes, field for field.
func TestManifestFieldsMatchEngine(t *testing.T) {
	in := engine.ManifestCue{ID: "a.c1", Step: "a", StepName: "A", Intensity: 3, Neutral: true, Modality: "sound",
		Duration: 12, Personalised: true, Description: "d", File: "f.wav", SHA256: "00ff", Text: "t", Voice: "en"}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	var out report.Cue
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, report.Cue{ID: "a.c1", Step: "a", StepName: "A", Intensity: 3, Neutral: true, Modality: "sound",
		Duration: 12, Personalised: true, Description: "d", File: "f.wav", SHA256: "00ff", Text: "t", Voice: "en"}, out)
}

// BenchmarkReport: an hour-long session (EDA and ECG at 100 Hz, 40 steps)
// from reading the folder to the written HTML.
func BenchmarkReport(b *testing.B) {
	steps := []analysistest.Step{{ID: "baseline", Neutral: true, Dur: 120}}
	for i := 0; len(steps) < 40; i++ {
		id := []string{"bottle", "glass", "bar"}[i%3]
		steps = append(steps, analysistest.Step{ID: id, Intensity: 2 + 2*(i%3), Dur: 85, Arousal: 0.2 * float64(i%4), Craving: []*int{event.Int(60 - i)}})
	}
	dir := analysistest.Record(b, b.TempDir(), analysistest.Spec{Steps: steps, Derived: true})
	out := filepath.Join(b.TempDir(), "r.html")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var stdout, stderr bytes.Buffer
		if err := reportCmd([]string{dir, "--out", out, "--force"}, &stdout, &stderr); err != nil {
			b.Fatal(err)
		}
	}
}

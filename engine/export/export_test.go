package export

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/engine/export/xdftest"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const protoSrc = "cueroom: 1\ntitle: Golden\n"

// makeSession records msgs the way a session does (record.Create, a bus,
// the writer's Run) and opens the result.
func makeSession(t testing.TB, meta record.Meta, msgs []bus.Msg) *record.Session {
	t.Helper()
	w, err := record.Create(t.TempDir(), meta, []byte(protoSrc))
	require.NoError(t, err)
	b := bus.New()
	sub := b.Subscribe(256, true)
	done := make(chan error, 1)
	go func() { done <- w.Run(sub) }()
	for _, m := range msgs {
		b.Publish(m)
	}
	b.Close()
	require.NoError(t, <-done)
	require.NoError(t, w.Close())
	s, err := record.Open(w.Dir())
	require.NoError(t, err)
	require.Nil(t, s.Recovered)
	return s
}

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

func ev(t time.Duration, step int, d event.Data) bus.Msg {
	return bus.Msg{Event: &event.Event{T: t, Wall: goldenStart.Add(t), Step: step, Data: d}}
}

var goldenStart = time.Date(2025, 1, 31, 14, 25, 0, 0, time.UTC)

// Stimulus files of the golden session: calm.wav's recorded checksum is
// of other bytes (the file changed since), own.wav is personalised.
var goldenStimuli = fstest.MapFS{
	"media/neutral.png": {Data: []byte("neutral picture")},
	"media/calm.wav":    {Data: []byte("calm sound, edited since")},
	"media/bottle.png":  {Data: []byte("bottle picture")},
	"media/own.wav":     {Data: []byte("the patient's own recording")},
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func goldenManifest() []map[string]any {
	return []map[string]any{
		{"id": "baseline.c1", "step": "baseline", "step_name": "Baseline", "intensity": 0, "neutral": true,
			"modality": "image", "substance": "alcohol", "duration_s": 3, "personalised": false,
			"description": "A calm lake", "file": "media/neutral.png", "sha256": sha("neutral picture"), "fit": "fit"},
		{"id": "baseline.c2", "step": "baseline", "step_name": "Baseline", "intensity": 0, "neutral": true,
			"modality": "sound", "substance": "alcohol", "duration_s": 3, "personalised": false,
			"description": "A soft pad", "file": "media/calm.wav", "sha256": sha("calm sound"), "loop": true, "gain_db": -12},
		{"id": "bottle.c1", "step": "bottle", "step_name": "Beer bottle", "intensity": 3, "neutral": false,
			"modality": "image", "substance": "alcohol", "duration_s": 6, "personalised": false,
			"description": "A beer bottle,\ton a table", "file": "media/bottle.png", "sha256": sha("bottle picture"),
			"fit": "fill", "novel_field": "from a newer version"},
		{"id": "bottle.c2", "step": "bottle", "step_name": "Beer bottle", "intensity": 3, "neutral": false,
			"modality": "text", "substance": "alcohol", "duration_s": 6, "personalised": false,
			"description": "Instruction", "text": "Look at it. Notice the urge."},
		{"id": "bottle.c3", "step": "bottle", "step_name": "Beer bottle", "intensity": 3, "neutral": false,
			"modality": "sound", "substance": "alcohol", "duration_s": 6, "personalised": true,
			"description": "The patient's local bar", "file": "media/own.wav", "sha256": sha("the patient's own recording"),
			"fade_in_s": 0.5, "fade_out_s": 1.5},
	}
}

// goldenSession is small and deterministic: three devices at two rates
// (bursty arrival, a lost half second, a NaN), every kind of event, a cue
// left open by the end, an offset with no onset.
func goldenSession(t testing.TB) *record.Session {
	bit := sensors.Stream{Device: "bitalino", Kind: "bitalino", Rate: 100,
		Channels: []sensors.Channel{{Label: "eda", Unit: "uS", Type: "EDA"}, {Label: "ecg", Unit: "mV", Type: "ECG"}},
		Settings: map[string]string{"eda_revision": "current", "rate": "100"}}
	pulse := sensors.Stream{Device: "pulse", Kind: "pulsesensor", Rate: 100,
		Channels: []sensors.Channel{{Label: "ppg", Unit: "mV", Type: "PPG"}}}
	oxi := sensors.Stream{Device: "oxi", Kind: "cms50", Rate: 1,
		Channels: []sensors.Channel{{Label: "hr", Unit: "bpm", Type: "HR"}, {Label: "spo2", Unit: "%", Type: "SPO2"}}}
	meta := record.Meta{Title: "Golden test — alcohol", Substance: "alcohol", Software: "cueroom 9.9.9-test",
		Start: goldenStart, Streams: []sensors.Stream{bit, pulse}, Manifest: goldenManifest(),
		Extra: map[string]any{"protocol_file": "golden.yaml"}}

	var msgs []bus.Msg
	// oxi is announced on the bus, as a device that connects late is.
	msgs = append(msgs, bus.Msg{Stream: &oxi})
	type timed struct {
		t time.Duration
		m bus.Msg
	}
	var all []timed
	for i := 0; i < 1000; i++ {
		if i >= 500 && i < 550 {
			continue // lost on the way
		}
		// Delivered four at a time, 3 ms after the last of the four.
		arrive := ms(200 + float64(i|3)*10 + 3)
		s := sensors.Sample{Device: "bitalino", T: arrive, Seq: uint32(i & 15), N: 2}
		s.Values[0] = 2 + float64(i)/1000
		s.Values[1] = float64((i*37)%200-100) / 100
		all = append(all, timed{arrive, bus.Msg{Sample: &s}})
	}
	for i := 0; i < 900; i++ {
		arrive := ms(500 + float64(i)*10 + 1 + float64(i%3)*0.25)
		s := sensors.Sample{Device: "pulse", T: arrive, Seq: uint32(i), N: 1}
		s.Values[0] = float64(i%50) / 8
		all = append(all, timed{arrive, bus.Msg{Sample: &s}})
	}
	for i := 0; i < 9; i++ {
		arrive := ms(900 + float64(i)*1000)
		s := sensors.Sample{Device: "oxi", T: arrive, Seq: uint32(i), N: 2}
		s.Values[0] = 70 + float64(i)
		s.Values[1] = 98
		if i == 4 {
			s.Values[1] = math.NaN() // finger out
		}
		all = append(all, timed{arrive, bus.Msg{Sample: &s}})
	}
	cue := func(id, ch, mod, file string) event.Cue {
		return event.Cue{Cue: id, Channel: ch, Modality: mod, File: file}
	}
	on := func(c event.Cue) event.Data { return event.CueOnset(c) }
	off := func(c event.Cue) event.Data { return event.CueOffset(c) }
	events := []bus.Msg{
		ev(ms(100), -1, event.SessionStart{Title: meta.Title, Substance: "alcohol", Steps: 2, By: "therapist"}),
		ev(ms(110), 0, event.StepStart{ID: "baseline", Name: "Baseline", Intensity: 0, Duration: 3, Neutral: true}),
		ev(ms(150), 0, on(cue("baseline.c1", "visual", "image", "media/neutral.png"))),
		ev(ms(160), 0, on(cue("baseline.c2", "audio", "sound", "media/calm.wav"))),
		ev(ms(3090), 0, off(cue("baseline.c1", "visual", "image", "media/neutral.png"))),
		ev(ms(3100), 0, event.StepEnd{ID: "baseline", Reason: "duration"}),
		ev(ms(3105), 0, off(cue("baseline.c2", "audio", "sound", "media/calm.wav"))),
		ev(ms(3110), 1, event.StepStart{ID: "bottle", Name: "Beer bottle", Intensity: 3, Duration: 6, Neutral: false}),
		ev(ms(3150), 1, on(cue("bottle.c1", "visual", "image", "media/bottle.png"))),
		ev(ms(3150), 1, on(cue("bottle.c2", "visual", "text", ""))),
		ev(ms(3200), 1, on(cue("bottle.c3", "audio", "sound", "media/own.wav"))),
		ev(ms(4000), 1, event.Marker{Text: "looks \"away\",\tthen\nback — ü", By: "therapist"}),
		ev(ms(5000), 1, event.Command{Cmd: "pause", By: "therapist"}),
		ev(ms(6000), 1, event.Command{Cmd: "resume", By: "therapist"}),
		ev(ms(5800), -1, event.Gap{Device: "bitalino", Message: "bitalino: back after 0.5 s",
			Start: 5.193, End: 5.713, Reason: "no data"}),
		ev(ms(6500), 1, event.SCR{Device: "bitalino", Source: "eda", Onset: 5.9, Peak: 6.5, Amplitude: 0.12, Rise: 0.6}),
		ev(ms(7000), -1, event.Alert{Source: "sensor", Message: "bitalino: no data for 0.5 s", Device: "bitalino"}),
		ev(ms(8500), 1, event.RatingPrompt{Scale: "craving", Question: "How strong is your craving?"}),
		ev(ms(9000), 1, event.Rating{Scale: "craving", Value: event.Int(63), Answered: true, By: "patient", PromptT: 8.5}),
		ev(ms(9090), 1, off(cue("bottle.c1", "visual", "image", "media/bottle.png"))),
		ev(ms(9090), 1, off(cue("bottle.c2", "visual", "text", ""))),
		ev(ms(9100), 1, event.StepEnd{ID: "bottle", Reason: "duration"}),
		ev(ms(9200), 1, event.SessionEnd{Reason: "completed"}),
		ev(ms(9300), 1, off(cue("ghost.c9", "visual", "image", "media/ghost.png"))),
	}
	for _, e := range events {
		all = append(all, timed{e.Event.T, e})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].t < all[j].t })
	for _, x := range all {
		msgs = append(msgs, x.m)
	}
	return makeSession(t, meta, msgs)
}

func goldenOptions(f Format) Options {
	return Options{Format: f, Stimuli: []fs.FS{goldenStimuli}}
}

// exportTo writes s's folder in format f to a fresh path, reading it as
// the command does (record.OpenIndex, WriteIndex), and returns the path.
func exportTo(t testing.TB, s *record.Session, o Options) (string, *Result) {
	t.Helper()
	x, err := record.OpenIndex(s.Dir)
	require.NoError(t, err)
	defer x.Close()
	out := filepath.Join(t.TempDir(), "out")
	if o.Format == XDF {
		out += ".xdf"
	}
	res, err := WriteIndex(x, out, o)
	require.NoError(t, err)
	return out, res
}

// recordedV1 is the golden session as the recorder wrote it before events
// were typed (engine/bus's map data, commit 25e7b90): its session_start has
// no "by" and its alert no "source", as the typed payloads would write.
const recordedV1 = "testdata/recorded-v1"

// TestGolden compares each format with testdata/golden (go test -update
// rewrites it), exporting a session recorded by an earlier version both
// ways: read whole (Write) and streamed (WriteIndex). Gzip files are
// compared decompressed, as compressors may change between Go versions.
func TestGolden(t *testing.T) {
	s, err := record.Open(recordedV1)
	require.NoError(t, err)
	x, err := record.OpenIndex(recordedV1)
	require.NoError(t, err)
	defer x.Close()
	write := map[string]func(out string, o Options) (*Result, error){
		"Write":      func(out string, o Options) (*Result, error) { return Write(s, out, o) },
		"WriteIndex": func(out string, o Options) (*Result, error) { return WriteIndex(x, out, o) },
	}
	for _, tc := range []struct {
		format Format
		golden string
		warns  []string
	}{
		{XDF, "golden/session.xdf", nil},
		{BIDS, "golden/bids", []string{"personalised cue file", "media/calm.wav", "1 gap(s)"}},
		{CSV, "golden/csv", nil},
	} {
		for _, how := range []string{"WriteIndex", "Write"} {
			t.Run(string(tc.format)+"/"+how, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "out")
				if tc.format == XDF {
					out += ".xdf"
				}
				res, err := write[how](out, goldenOptions(tc.format))
				require.NoError(t, err)
				want := filepath.Join("testdata", tc.golden)
				if *update && how == "WriteIndex" {
					require.NoError(t, os.RemoveAll(want))
					require.NoError(t, os.MkdirAll(filepath.Dir(want), 0o755))
					if tc.format == XDF {
						b, err := os.ReadFile(out)
						require.NoError(t, err)
						require.NoError(t, os.WriteFile(want, b, 0o644))
					} else {
						require.NoError(t, os.CopyFS(want, os.DirFS(out)))
					}
				}
				compareTrees(t, want, out)
				require.Len(t, res.Warnings, len(tc.warns), "warnings: %q", res.Warnings)
				for i, w := range tc.warns {
					assert.Contains(t, res.Warnings[i], w)
				}
			})
		}
	}
}

// compareTrees checks that got holds the same files as want, byte for
// byte (gzip decompressed).
func compareTrees(t *testing.T, want, got string) {
	t.Helper()
	list := func(root string) map[string]string {
		files := map[string]string{}
		st, err := os.Stat(root)
		require.NoError(t, err, "golden files missing: run go test -run TestGolden -update ./engine/export")
		if !st.IsDir() {
			files["."] = root
			return files
		}
		require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(root, p)
				files[filepath.ToSlash(rel)] = p
			}
			return err
		}))
		return files
	}
	w, g := list(want), list(got)
	require.Equal(t, sortedKeys(w), sortedKeys(g), "the same files")
	for rel := range w {
		a, b := readMaybeGz(t, w[rel]), readMaybeGz(t, g[rel])
		if !bytes.Equal(a, b) {
			al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
			for i := 0; i < len(al) && i < len(bl); i++ {
				if al[i] != bl[i] {
					t.Fatalf("%s differs from the golden file at line %d:\nwant %q\ngot  %q\n(run go test -run TestGolden -update if the change is intended)", rel, i+1, al[i], bl[i])
				}
			}
			t.Fatalf("%s differs from the golden file (lengths %d and %d)", rel, len(a), len(b))
		}
	}
}

func sortedKeys(m map[string]string) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

func readMaybeGz(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	if strings.HasSuffix(p, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		require.NoError(t, err)
		b, err = io.ReadAll(zr)
		require.NoError(t, err)
	}
	return b
}

// TestNeverOverwrites: an existing --out, file or folder, is an error and
// is left exactly as it was.
func TestNeverOverwrites(t *testing.T) {
	s := goldenSession(t)
	for _, f := range Formats {
		for _, existing := range []string{"file", "dir"} {
			t.Run(string(f)+"/"+existing, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "taken.xdf")
				if existing == "file" {
					require.NoError(t, os.WriteFile(out, []byte("precious"), 0o644))
				} else {
					require.NoError(t, os.Mkdir(out, 0o755))
					require.NoError(t, os.WriteFile(filepath.Join(out, "keep"), []byte("precious"), 0o644))
				}
				_, err := Write(s, out, goldenOptions(f))
				require.ErrorIs(t, err, ErrExists)
				assert.Contains(t, err.Error(), out)
				p := out
				if existing == "dir" {
					p = filepath.Join(out, "keep")
					entries, err := os.ReadDir(out)
					require.NoError(t, err)
					assert.Len(t, entries, 1, "nothing added")
				}
				b, err := os.ReadFile(p)
				require.NoError(t, err)
				assert.Equal(t, "precious", string(b))
			})
		}
	}
}

func TestBadOptions(t *testing.T) {
	s := goldenSession(t)
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"no format", Options{}, "no format"},
		{"unknown format", Options{Format: "edf"}, `"edf"`},
		{"subject with a dash", Options{Format: BIDS, Subject: "p-01"}, `subject label "p-01"`},
		{"session with a space", Options{Format: BIDS, Session: "day 1"}, `session label "day 1"`},
		{"task with an underscore", Options{Format: BIDS, Task: "cue_exp"}, `task label "cue_exp"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			_, err := Write(s, out, tc.o)
			require.ErrorIs(t, err, ErrOption)
			assert.Contains(t, err.Error(), tc.want)
			_, statErr := os.Stat(out)
			assert.ErrorIs(t, statErr, fs.ErrNotExist, "nothing written")
		})
	}
}

// failingFS serves a file whose content changes between the checksum and
// the copy, so the BIDS export fails half-way.
type failingFS struct{ reads *int }

func (f failingFS) Open(name string) (fs.File, error) {
	if name != "media/bottle.png" {
		return nil, fs.ErrNotExist
	}
	*f.reads++
	data := "bottle picture"
	if *f.reads > 1 {
		data = "bottle picture, swapped"
	}
	return fstest.MapFS{name: {Data: []byte(data)}}.Open(name)
}

// TestFailureLeavesNothing: an export that fails part-way removes what it
// wrote, so a half export cannot pass for a whole one.
func TestFailureLeavesNothing(t *testing.T) {
	s := goldenSession(t)
	reads := 0
	out := filepath.Join(t.TempDir(), "bids")
	_, err := Write(s, out, Options{Format: BIDS, Stimuli: []fs.FS{failingFS{&reads}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "changed while being copied")
	_, statErr := os.Stat(out)
	assert.ErrorIs(t, statErr, fs.ErrNotExist)

	// The parent of --out does not exist: a clear error, nothing made.
	out = filepath.Join(t.TempDir(), "no", "such", "x.xdf")
	_, err = Write(s, out, Options{Format: XDF})
	require.Error(t, err)
	assert.Contains(t, err.Error(), out)
}

// TestDamagedSessions: a session cut short by a crash, or with a corrupt
// region, is exported as far as it can be read, with a warning.
func TestDamagedSessions(t *testing.T) {
	s := goldenSession(t)
	dataPath := filepath.Join(s.Dir, record.DataFile)
	data, err := os.ReadFile(dataPath)
	require.NoError(t, err)

	for _, tc := range []struct {
		name  string
		mod   func(b []byte) []byte
		warns string
	}{
		{"torn tail", func(b []byte) []byte { return b[:len(b)*2/3] }, "torn tail"},
		{"corrupt middle", func(b []byte) []byte {
			c := append([]byte(nil), b...)
			for i := len(c) / 3; i < len(c)/3+40; i++ {
				c[i] ^= 0x5a
			}
			return c
		}, "skipped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.CopyFS(dir, os.DirFS(s.Dir)))
			require.NoError(t, os.WriteFile(filepath.Join(dir, record.DataFile), tc.mod(data), 0o644))
			d, err := record.Open(dir)
			require.NoError(t, err)
			require.NotNil(t, d.Recovered)
			for _, f := range Formats {
				out, res := exportTo(t, d, goldenOptions(f))
				require.NotEmpty(t, res.Warnings)
				assert.Contains(t, res.Warnings[0], tc.warns)
				assert.FileExists(t, firstFile(t, out))
			}
			// What was read is what the XDF holds.
			out, _ := exportTo(t, d, Options{Format: XDF})
			x := readXDFFile(t, out)
			assert.Len(t, x.Streams[1].Times, len(d.Samples["bitalino"]))
			assert.Len(t, x.Streams[4].Strings, len(d.Events))
		})
	}
}

// firstFile is out itself for a file export, or a file inside a folder export.
func firstFile(t *testing.T, out string) string {
	st, err := os.Stat(out)
	require.NoError(t, err)
	if !st.IsDir() {
		return out
	}
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	return filepath.Join(out, entries[0].Name())
}

func readXDFFile(t testing.TB, path string) *xdftest.File {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	x, err := xdftest.Read(b)
	require.NoError(t, err)
	return x
}

package export

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
)

// validatorPath finds the npm bids-validator that scripts/test.sh installs
// (npm ci) at the module root.
func validatorPath(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "node_modules", ".bin", "bids-validator"))
	require.NoError(t, err)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: CI must run the BIDS validator (scripts/test.sh runs 'npm ci' at the repository root)", p)
		}
		t.Skipf("%s is missing: run 'npm ci' at the repository root to validate BIDS exports", p)
	}
	return p
}

type validatorIssue struct {
	Key      string `json:"key"`
	Severity string `json:"severity"`
	Reason   string `json:"reason"`
	Files    []struct {
		File struct {
			RelativePath string `json:"relativePath"`
		} `json:"file"`
		Evidence any `json:"evidence"`
	} `json:"files"`
}

// runValidator runs the bids-validator on dir and returns its warnings;
// any error fails the test.
func runValidator(t *testing.T, dir string) []validatorIssue {
	t.Helper()
	bin := validatorPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--json", "--no-color", dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out struct {
		Issues struct {
			Errors   []validatorIssue `json:"errors"`
			Warnings []validatorIssue `json:"warnings"`
		} `json:"issues"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &out), "validator output (exit %v): %s\nstderr: %s", runErr, stdout.String(), stderr.String())
	for _, e := range out.Issues.Errors {
		t.Errorf("bids-validator error %s: %s", e.Key, e.Reason)
		for _, f := range e.Files {
			t.Errorf("  %s: %v", f.File.RelativePath, f.Evidence)
		}
	}
	require.NoError(t, runErr, "the validator exits non-zero on errors; stderr: %s", stderr.String())
	return out.Issues.Warnings
}

// TestBIDSValidator runs the npm bids-validator on exports of several
// sessions; it must find no error. The only warning allowed is the missing
// Authors, which the export cannot know.
func TestBIDSValidator(t *testing.T) {
	validatorPath(t)
	for _, tc := range []struct {
		name string
		s    func(t *testing.T) *record.Session
		o    Options
	}{
		{"golden", func(t *testing.T) *record.Session { return goldenSession(t) }, goldenOptions(BIDS)},
		{"golden with personal cues and labels", func(t *testing.T) *record.Session { return goldenSession(t) },
			Options{Format: BIDS, Stimuli: goldenOptions(BIDS).Stimuli, PersonalStimuli: true, Subject: "P07", Session: "day2", Task: "alcoholcues"}},
		{"no stimuli found", func(t *testing.T) *record.Session { return goldenSession(t) }, Options{Format: BIDS}},
		{"no samples, no events, no manifest", func(t *testing.T) *record.Session {
			return makeSession(t, record.Meta{Title: "empty", Start: goldenStart}, nil)
		}, Options{Format: BIDS}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _ := exportTo(t, tc.s(t), tc.o)
			for _, w := range runValidator(t, out) {
				assert.Equal(t, "NO_AUTHORS", w.Key, "unexpected warning: %s", w.Reason)
			}
		})
	}
}

// readTSV splits a TSV file (gzip or not) into rows of cells.
func readTSV(t *testing.T, p string) [][]string {
	t.Helper()
	var rows [][]string
	for _, line := range strings.Split(strings.TrimSuffix(string(readMaybeGz(t, p)), "\n"), "\n") {
		rows = append(rows, strings.Split(line, "\t"))
	}
	return rows
}

func readJSONFile(t *testing.T, p string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// TestBIDSEvents checks the events table's content: pairing, durations,
// the manifest's fields, stim_file only for copied files, n/a for none.
func TestBIDSEvents(t *testing.T) {
	s := goldenSession(t)
	for _, tc := range []struct {
		name     string
		o        Options
		copied   []string // stim_file values
		notFound []string
	}{
		{"default", goldenOptions(BIDS), []string{"media/neutral.png", "media/bottle.png"}, nil},
		{"personal cues too", Options{Format: BIDS, Stimuli: goldenOptions(BIDS).Stimuli, PersonalStimuli: true},
			[]string{"media/neutral.png", "media/bottle.png", "media/own.wav"}, nil},
		{"no stimuli folder", Options{Format: BIDS}, nil, []string{"media/neutral.png", "media/calm.wav", "media/bottle.png"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, res := exportTo(t, s, tc.o)
			rows := readTSV(t, filepath.Join(out, "sub-01", "ses-01", "beh", "sub-01_ses-01_task-cueexposure_events.tsv"))
			head := rows[0]
			col := map[string]int{}
			for i, h := range head {
				col[h] = i
			}
			require.Equal(t, []string{"onset", "duration", "trial_type", "stim_file"}, head[:4])
			get := func(r []string, c string) string {
				i, ok := col[c]
				require.True(t, ok, "column %s", c)
				return r[i]
			}
			byCue := map[string][]string{}
			var stims []string
			for _, r := range rows[1:] {
				require.Len(t, r, len(head))
				for i, v := range r {
					require.NotEmpty(t, v, "column %s: empty cells must be n/a", head[i])
				}
				if get(r, "trial_type") == "cue" {
					byCue[get(r, "cue_id")+"/"+get(r, "channel")] = r
				}
				if f := get(r, "stim_file"); f != "n/a" {
					stims = append(stims, f)
					assert.FileExists(t, filepath.Join(out, "stimuli", filepath.FromSlash(f)))
				}
			}
			assert.ElementsMatch(t, tc.copied, stims)

			b1 := byCue["bottle.c1/visual"]
			require.NotNil(t, b1)
			assert.Equal(t, "3.150000", get(b1, "onset"))
			assert.Equal(t, "5.940000", get(b1, "duration"), "onset to offset")
			assert.Equal(t, "image", get(b1, "modality"))
			assert.Equal(t, "alcohol", get(b1, "substance"))
			assert.Equal(t, "3", get(b1, "intensity"))
			assert.Equal(t, "false", get(b1, "personalised"))
			assert.Equal(t, sha("bottle picture"), get(b1, "sha256"))
			assert.Equal(t, "A beer bottle, on a table", get(b1, "description"), "a tab cannot split the row")
			assert.Equal(t, "from a newer version", get(b1, "manifest_novel_field"), "unknown manifest fields are kept")
			assert.Equal(t, "bottle", get(b1, "step_id"))

			b3 := byCue["bottle.c3/audio"]
			require.NotNil(t, b3)
			assert.Equal(t, "n/a", get(b3, "duration"), "no offset was recorded")
			assert.Equal(t, "true", get(b3, "personalised"))

			for _, r := range rows[1:] {
				switch get(r, "trial_type") {
				case "rating":
					assert.Equal(t, "63", get(r, "value"))
					assert.Equal(t, "0.500000", get(r, "response_time"))
					assert.Equal(t, "craving", get(r, "rating_scale"))
				case "step":
					if get(r, "step_id") == "baseline" {
						assert.Equal(t, "2.990000", get(r, "duration"))
						assert.Equal(t, "true", get(r, "neutral"))
						assert.Equal(t, "duration", get(r, "reason"))
					}
				case "session":
					assert.Equal(t, "9.100000", get(r, "duration"))
					assert.Equal(t, "completed", get(r, "reason"))
				case "cue_offset":
					assert.Equal(t, "ghost.c9", get(r, "cue_id"))
				case "gap":
					assert.Equal(t, "5.193000", get(r, "onset"), "when the data stopped")
					assert.Equal(t, "0.520000", get(r, "duration"))
					assert.Equal(t, "no data", get(r, "reason"))
				case "scr":
					assert.Equal(t, "5.900000", get(r, "onset"), "the response's onset")
					assert.Equal(t, "0.600000", get(r, "duration"), "onset to peak")
					assert.Equal(t, "0.12", get(r, "value"))
				}
			}
			side := readJSONFile(t, filepath.Join(out, "sub-01", "ses-01", "beh", "sub-01_ses-01_task-cueexposure_events.json"))
			for _, h := range head {
				assert.Contains(t, side, h, "every column is described")
			}
			if len(tc.notFound) > 0 {
				joined := strings.Join(res.Warnings, "\n")
				for _, f := range tc.notFound {
					assert.Contains(t, joined, f)
				}
			}
		})
	}
}

// TestBIDSPhysio checks the physio files: one per rate, columns and units,
// StartTime, and the lost half second as n/a rows at the right place.
func TestBIDSPhysio(t *testing.T) {
	s := goldenSession(t)
	out, _ := exportTo(t, s, goldenOptions(BIDS))
	beh := filepath.Join(out, "sub-01", "ses-01", "beh")
	matches, err := filepath.Glob(filepath.Join(beh, "*_physio.tsv.gz"))
	require.NoError(t, err)
	require.Len(t, matches, 2, "100 Hz and 1 Hz")

	side := readJSONFile(t, filepath.Join(beh, "sub-01_ses-01_task-cueexposure_recording-100hz_physio.json"))
	assert.EqualValues(t, 100, side["SamplingFrequency"])
	assert.InDelta(t, 0.203, side["StartTime"], 1e-9, "the first sample, less its burst delay, plus the 3 ms latency no one can see")
	assert.Equal(t, []any{"bitalino_eda", "bitalino_ecg", "pulse_ppg"}, side["Columns"])
	assert.Equal(t, "uS", side["bitalino_eda"].(map[string]any)["Units"])
	assert.Equal(t, "mV", side["pulse_ppg"].(map[string]any)["Units"])

	rows := readTSV(t, filepath.Join(beh, "sub-01_ses-01_task-cueexposure_recording-100hz_physio.tsv.gz"))
	require.Len(t, rows, 1000, "rows 0.203 s to 10.193 s")
	bit := s.Samples["bitalino"]
	k := 0
	for r, row := range rows {
		require.Len(t, row, 3)
		if r >= 500 && r < 550 {
			assert.Equal(t, []string{"n/a", "n/a"}, row[:2], "row %d: lost", r)
			continue
		}
		assert.Equal(t, strconv.FormatFloat(bit[k].Values[0], 'f', -1, 64), row[0], "row %d", r)
		assert.Equal(t, strconv.FormatFloat(bit[k].Values[1], 'f', -1, 64), row[1], "row %d", r)
		k++
		// pulse starts 0.3 s (30 rows) later.
		if r < 30 {
			assert.Equal(t, "n/a", row[2], "row %d", r)
		} else if r-30 < 900 {
			assert.Equal(t, strconv.FormatFloat(float64((r-30)%50)/8, 'f', -1, 64), row[2], "row %d", r)
		}
	}
	assert.Equal(t, len(bit), k, "every bitalino sample placed once")

	oxi := readTSV(t, filepath.Join(beh, "sub-01_ses-01_task-cueexposure_recording-1hz_physio.tsv.gz"))
	require.Len(t, oxi, 9)
	assert.Equal(t, []string{"74", "n/a"}, oxi[4], "NaN is n/a")
	oside := readJSONFile(t, filepath.Join(beh, "sub-01_ses-01_task-cueexposure_recording-1hz_physio.json"))
	assert.InDelta(t, 0.9, oside["StartTime"], 1e-9)
	assert.Equal(t, []any{"hr", "spo2"}, oside["Columns"], "one device: plain labels")
}

// TestBIDSLeavesOutWhatItCannotGrid: an irregular stream and an absurd
// rate stay out of the physio files, with a warning each.
func TestBIDSLeavesOutWhatItCannotGrid(t *testing.T) {
	var msgs []bus.Msg
	for i := 0; i < 20; i++ {
		a := sensors.Sample{Device: "beats", T: time.Duration(i*i) * 10 * time.Millisecond, N: 1}
		a.Values[0] = 800
		b := sensors.Sample{Device: "fast", T: time.Duration(i) * time.Millisecond, N: 1}
		msgs = append(msgs, bus.Msg{Sample: &a}, bus.Msg{Sample: &b})
	}
	s := makeSession(t, record.Meta{Title: "odd", Start: goldenStart, Streams: []sensors.Stream{
		{Device: "beats", Rate: 0, Channels: []sensors.Channel{{Label: "ibi", Unit: "ms"}}},
		{Device: "fast", Rate: 1e9, Channels: []sensors.Channel{{Label: "x"}}},
	}}, msgs)
	out, res := exportTo(t, s, Options{Format: BIDS})
	require.Len(t, res.Warnings, 2)
	assert.Contains(t, res.Warnings[0], `"beats" has no nominal sampling rate`)
	assert.Contains(t, res.Warnings[1], `"fast" claims 1000000000 Hz`)
	matches, err := filepath.Glob(filepath.Join(out, "sub-01", "ses-01", "beh", "*_physio*"))
	require.NoError(t, err)
	assert.Empty(t, matches)
	var names []string
	require.NoError(t, filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, filepath.Base(p))
		}
		return err
	}))
	assert.ElementsMatch(t, []string{"dataset_description.json", "README", "participants.tsv",
		"sub-01_ses-01_task-cueexposure_events.tsv", "sub-01_ses-01_task-cueexposure_events.json"}, names)
}

// TestBIDSManifestColumns: manifest keys a newer version adds become
// manifest_<key> columns, kept apart even when their names clash once
// made safe.
func TestBIDSManifestColumns(t *testing.T) {
	manifest := []map[string]any{{"id": "a.c1", "modality": "image", "Odd Key": "first", "odd_key": "second"}}
	s := makeSession(t, record.Meta{Title: "m", Start: goldenStart, Manifest: manifest}, []bus.Msg{
		ev(time.Second, 0, event.CueOnset{Cue: "a.c1", Channel: "visual"}),
	})
	out, _ := exportTo(t, s, Options{Format: BIDS})
	rows := readTSV(t, filepath.Join(out, "sub-01", "ses-01", "beh", "sub-01_ses-01_task-cueexposure_events.tsv"))
	require.Len(t, rows, 2)
	got := map[string]string{}
	for i, h := range rows[0] {
		got[h] = rows[1][i]
	}
	assert.Equal(t, "first", got["manifest_odd_key"])
	assert.Equal(t, "second", got["manifest_odd_key_2"])
	assert.Equal(t, "image", got["modality"])
	side := readJSONFile(t, filepath.Join(out, "sub-01", "ses-01", "beh", "sub-01_ses-01_task-cueexposure_events.json"))
	assert.Contains(t, side, "manifest_odd_key_2")
}

// TestBIDSLateDeviceIsLeftOut: a device whose first sample comes more than
// the longest gap BIDS fills after the grid's start (600 rows) has no
// sample on the grid: no columns, and a warning; the other keeps its own.
func TestBIDSLateDeviceIsLeftOut(t *testing.T) {
	var msgs []bus.Msg
	for i := 0; i < 11; i++ {
		a := sensors.Sample{Device: "early", T: time.Duration(i) * time.Second, N: 1}
		a.Values[0] = float64(i)
		msgs = append(msgs, bus.Msg{Sample: &a})
	}
	for i := 0; i < 11; i++ {
		b := sensors.Sample{Device: "late", T: time.Duration(700+i) * time.Second, N: 1}
		b.Values[0] = float64(-i)
		msgs = append(msgs, bus.Msg{Sample: &b})
	}
	s := makeSession(t, record.Meta{Title: "late", Start: goldenStart, Streams: []sensors.Stream{
		{Device: "early", Rate: 1, Channels: []sensors.Channel{{Label: "hr", Unit: "bpm"}}},
		{Device: "late", Rate: 1, Channels: []sensors.Channel{{Label: "hr", Unit: "bpm"}}},
	}}, msgs)
	out, res := exportTo(t, s, Options{Format: BIDS})
	require.Len(t, res.Warnings, 1, "%q", res.Warnings)
	assert.Contains(t, res.Warnings[0], "late: 11 samples from 700.000 s on follow a gap of more than 600 s")
	beh := filepath.Join(out, "sub-01", "ses-01", "beh")
	side := readJSONFile(t, filepath.Join(beh, "sub-01_ses-01_task-cueexposure_recording-1hz_physio.json"))
	assert.Equal(t, []any{"early_hr"}, side["Columns"], "named as one of two devices")
	assert.NotContains(t, side["Devices"], "late")
	rows := readTSV(t, filepath.Join(beh, "sub-01_ses-01_task-cueexposure_recording-1hz_physio.tsv.gz"))
	require.Len(t, rows, 11)
	assert.Equal(t, []string{"10"}, rows[10])
}

package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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

// exportSession records a small session through record.Create and a bus.
func exportSession(t *testing.T) string {
	t.Helper()
	stream := sensors.Stream{Device: "bitalino", Kind: "bitalino", Rate: 100,
		Channels: []sensors.Channel{{Label: "eda", Unit: "uS", Type: "EDA"}}}
	w, err := record.Create(t.TempDir(), record.Meta{Title: "export test", Substance: "alcohol",
		Software: "cueroom test", Streams: []sensors.Stream{stream}}, []byte("cueroom: 1\n"))
	require.NoError(t, err)
	b := bus.New()
	sub := b.Subscribe(64, true)
	done := make(chan error, 1)
	go func() { done <- w.Run(sub) }()
	b.Publish(bus.Msg{Event: &event.Event{Step: -1, Data: event.SessionStart{}}})
	for i := 0; i < 300; i++ {
		s := sensors.Sample{Device: "bitalino", T: time.Duration(i) * 10 * time.Millisecond, Seq: uint32(i & 15), N: 1}
		s.Values[0] = float64(i) / 100
		b.Publish(bus.Msg{Sample: &s})
	}
	b.Publish(bus.Msg{Event: &event.Event{T: 3 * time.Second, Step: -1, Data: event.SessionEnd{Reason: "completed"}}})
	b.Close()
	require.NoError(t, <-done)
	require.NoError(t, w.Close())
	return w.Dir()
}

// TestExportBadInput: every kind of bad input is a usage error (exit 2)
// that names what is wrong, and nothing is written.
func TestExportBadInput(t *testing.T) {
	good := exportSession(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(file, []byte("hello"), 0o644))
	foreign := filepath.Join(dir, "holiday-photos")
	require.NoError(t, os.MkdirAll(foreign, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(foreign, "beach.jpg"), []byte("jpeg"), 0o644))
	// A session whose files are someone else's.
	otherMeta := copySession(t, good)
	require.NoError(t, os.WriteFile(filepath.Join(otherMeta, record.MetaFile), []byte(`{"format":"other-tool/3"}`), 0o644))
	otherData := copySession(t, good)
	require.NoError(t, os.WriteFile(filepath.Join(otherData, record.DataFile), []byte("PK\x03\x04zip"), 0o644))
	noData := copySession(t, good)
	require.NoError(t, os.Remove(filepath.Join(noData, record.DataFile)))
	brokenMeta := copySession(t, good)
	require.NoError(t, os.WriteFile(filepath.Join(brokenMeta, record.MetaFile), []byte(`{"format": "cueroom-session/1", "streams": [`), 0o644))
	taken := filepath.Join(dir, "taken.xdf")
	require.NoError(t, os.WriteFile(taken, []byte("precious"), 0o644))

	out := func() string { return filepath.Join(t.TempDir(), "out.xdf") }
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"nothing", []string{}, "give one session folder, got 0"},
		{"two sessions", []string{good, good, "--format", "xdf", "--out", out()}, "got 2"},
		{"no format", []string{good, "--out", out()}, "--format is missing"},
		{"unknown format", []string{good, "--format", "edf", "--out", out()}, `--format "edf"`},
		{"no out", []string{good, "--format", "xdf"}, "--out is missing"},
		{"xdf without .xdf", []string{good, "--format", "xdf", "--out", filepath.Join(dir, "x.bin")}, "ends in .xdf"},
		{"out exists", []string{good, "--format", "xdf", "--out", taken}, "already exists"},
		{"unknown flag", []string{good, "--bogus"}, "-bogus"},
		{"stimuli folder missing", []string{good, "--format", "bids", "--stimuli", filepath.Join(dir, "gone"), "--out", filepath.Join(t.TempDir(), "b")}, "--stimuli " + filepath.Join(dir, "gone")},
		{"bad subject label", []string{good, "--format", "bids", "--subject", "p_1", "--out", filepath.Join(t.TempDir(), "b")}, `subject label "p_1"`},
		{"missing session", []string{filepath.Join(dir, "nope"), "--format", "xdf", "--out", out()}, "nope: no such session folder"},
		{"a file, not a folder", []string{file, "--format", "csv", "--out", filepath.Join(t.TempDir(), "c")}, "notes.txt is a file"},
		{"foreign folder", []string{foreign, "--format", "xdf", "--out", out()}, "holiday-photos is not a session folder"},
		{"foreign session.json", []string{otherMeta, "--format", "xdf", "--out", out()}, "not a cueroom session"},
		{"foreign data.rec", []string{otherData, "--format", "xdf", "--out", out()}, "data.rec byte 0: not a cueroom recording"},
		{"data.rec missing", []string{noData, "--format", "bids", "--out", filepath.Join(t.TempDir(), "b")}, "data.rec does not"},
		{"session.json cut short", []string{brokenMeta, "--format", "csv", "--out", filepath.Join(t.TempDir(), "c")}, "session.json byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := cmdExport(tc.args)
			require.Error(t, err)
			var ue usageError
			require.True(t, errors.As(err, &ue), "a usage error (exit 2), got %T: %v", err, err)
			assert.Contains(t, err.Error(), tc.want)
			for i, a := range tc.args {
				if a == "--out" && i+1 < len(tc.args) && tc.args[i+1] != taken {
					_, statErr := os.Stat(tc.args[i+1])
					assert.ErrorIs(t, statErr, os.ErrNotExist, "nothing written")
				}
			}
		})
	}
	b, err := os.ReadFile(taken)
	require.NoError(t, err)
	assert.Equal(t, "precious", string(b), "never overwritten")
}

func copySession(t *testing.T, dir string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(dir))
	require.NoError(t, os.CopyFS(dst, os.DirFS(dir)))
	return dst
}

// TestExportFormats: each format from the command line, flags before or
// after the session folder, and a crashed session (torn data.rec) still
// exports what can be read.
func TestExportFormats(t *testing.T) {
	good := exportSession(t)
	torn := copySession(t, good)
	data, err := os.ReadFile(filepath.Join(torn, record.DataFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(torn, record.DataFile), data[:len(data)-20], 0o644))
	for _, tc := range []struct {
		name    string
		args    func(out string) []string
		format  string
		samples int
	}{
		{"xdf, flags after", func(o string) []string { return []string{good, "--format", "xdf", "--out", o} }, "xdf", 300},
		{"bids, flags before", func(o string) []string { return []string{"--format=bids", "--out", o, "--subject", "P07", good} }, "bids", 300},
		{"csv, upper case", func(o string) []string { return []string{good, "--out", o, "--format", "CSV"} }, "csv", 300},
		{"csv of a torn session", func(o string) []string { return []string{torn, "--format", "csv", "--out", o} }, "csv", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "export")
			if tc.format == "xdf" {
				out += ".xdf"
			}
			require.NoError(t, cmdExport(tc.args(out)))
			switch tc.format {
			case "xdf":
				b, err := os.ReadFile(out)
				require.NoError(t, err)
				assert.True(t, bytes.HasPrefix(b, []byte("XDF:")))
				assert.Contains(t, string(b), "<name>bitalino</name>")
			case "bids":
				assert.FileExists(t, filepath.Join(out, "dataset_description.json"))
				rows := gzLines(t, filepath.Join(out, "sub-P07", "ses-01", "beh", "sub-P07_ses-01_task-cueexposure_recording-100hz_physio.tsv.gz"))
				assert.Len(t, rows, tc.samples)
			case "csv":
				rows := csvRows(t, filepath.Join(out, "bitalino_samples.csv"))
				assert.Equal(t, []string{"wall_time_utc", "session_s", "seq", "eda (uS)"}, rows[0])
				if tc.samples > 0 {
					assert.Len(t, rows, tc.samples+1)
				} else {
					assert.Less(t, len(rows)-1, 300, "the torn tail's samples are gone")
					assert.Greater(t, len(rows)-1, 200, "the rest is there")
				}
			}
		})
	}
}

func gzLines(t *testing.T, p string) []string {
	t.Helper()
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	b, err := io.ReadAll(zr)
	require.NoError(t, err)
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func csvRows(t *testing.T, p string) [][]string {
	t.Helper()
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	return rows
}

// TestExportRealSession records a real session with the binary (window,
// simulated BITalino, sound), exports it in every format, and runs the
// BIDS validator on it. The cue files are found in the protocol's folder.
func TestExportRealSession(t *testing.T) {
	p := recordedShort(t)
	s, err := record.Open(p.dir)
	require.NoError(t, err)
	samples := len(s.Samples["bitalino"])
	require.Greater(t, samples, 5000)

	out := t.TempDir()
	x := filepath.Join(out, "s.xdf")
	require.NoError(t, cmdExport([]string{p.dir, "--format", "xdf", "--out", x}))
	st, err := os.Stat(x)
	require.NoError(t, err)
	assert.Greater(t, st.Size(), int64(samples*(1+8+16)), "every sample: a time stamp and two doubles")

	c := filepath.Join(out, "csv")
	require.NoError(t, cmdExport([]string{p.dir, "--format", "csv", "--out", c}))
	assert.Len(t, csvRows(t, filepath.Join(c, "bitalino_samples.csv")), samples+1)
	assert.Len(t, csvRows(t, filepath.Join(c, "events.csv")), len(s.Events)+1)

	b := filepath.Join(out, "bids")
	require.NoError(t, cmdExport([]string{p.dir, "--format", "bids", "--out", b}))
	want, err := os.ReadFile("../../assets/demo/media/bottle.png")
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(b, "stimuli", "media", "bottle.png"))
	require.NoError(t, err)
	assert.Equal(t, want, got, "the cue file, found by its SHA-256 in the protocol's folder")
	beh := filepath.Join(b, "sub-01", "ses-01", "beh")
	assert.Len(t, gzLines(t, filepath.Join(beh, "sub-01_ses-01_task-cueexposure_recording-1000hz_physio.tsv.gz")), samples,
		"a clean recording has no gaps: one row per sample")
	events, err := os.ReadFile(filepath.Join(beh, "sub-01_ses-01_task-cueexposure_events.tsv"))
	require.NoError(t, err)
	assert.Contains(t, string(events), "media/bottle.png\tbottle.c1")
	validateBIDS(t, b)
}

// validateBIDS runs the npm bids-validator (scripts/test.sh installs it);
// under CI it must be there.
func validateBIDS(t *testing.T, dir string) {
	t.Helper()
	bin, err := filepath.Abs("../../node_modules/.bin/bids-validator")
	require.NoError(t, err)
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: CI must run the BIDS validator (scripts/test.sh runs 'npm ci')", bin)
		}
		t.Skipf("%s is missing: run 'npm ci' at the repository root", bin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--json", dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var res struct {
		Issues struct {
			Errors []struct {
				Key    string `json:"key"`
				Reason string `json:"reason"`
			} `json:"errors"`
		} `json:"issues"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &res), "validator output: %s %s", stdout.String(), stderr.String())
	assert.Empty(t, res.Issues.Errors)
	require.NoError(t, runErr, "bids-validator failed: %s", stderr.String())
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/timing"
	"github.com/cueroom/cueroom/engine/timing/timingtest"
	"github.com/cueroom/cueroom/sensors"
)

// TestTimingCommand: `cueroom timing SESSION` prints the latency table, or
// JSON; what the session lacks, and bad input, exit 2 with what to do (the
// numbers are engine/timing's to test).
func TestTimingCommand(t *testing.T) {
	root := t.TempDir()
	const lag = 12 * time.Millisecond
	onsets := []timingtest.Onset{
		{T: time.Second, Cue: "s1.c1", Modality: "image", Lag: lag},
		{T: 3 * time.Second, Cue: "s1.c2", Modality: "text", Lag: lag},
		{T: 5 * time.Second, Cue: "s2.c1", Modality: "image", Lag: lag},
	}
	good := timingtest.Record(t, root, timingtest.Spec{Dur: 7 * time.Second, Onsets: onsets})
	noAnalog := timingtest.Record(t, root, timingtest.Spec{Dur: 2 * time.Second, Photo: -1, Onsets: onsets,
		Channels: []sensors.Channel{{Label: "eda", Unit: "uS", Type: "EDA"}, {Label: "ecg", Unit: "mV", Type: "ECG"}}})
	dark := timingtest.Record(t, root, timingtest.Spec{Dur: 2 * time.Second})

	for _, tc := range []struct {
		name string
		args []string
		code int
		out  []string // in stdout
		err  []string // in stderr
	}{
		{"table", []string{"timing", good}, 0, []string{good + "\nphotodiode: bitalino a5, 1000 Hz, 7000 samples;", "kind", "image", "text", "all"}, nil},
		{"channel after the folder", []string{"timing", good, "--channel", "A5"}, 0, []string{"photodiode: bitalino a5,"}, nil},
		{"help", []string{"timing", "-h"}, 0, []string{"usage: cueroom timing SESSION [--channel A5]"}, nil},
		{"no analog channel", []string{"timing", noAnalog}, 2, nil,
			[]string{"cueroom: timing: " + noAnalog + ": no analog channel in this session (it recorded bitalino eda, bitalino ecg)", "sim:bitalino?photodiode=A5"}},
		{"no edges", []string{"timing", dark}, 2, nil, []string{"no light edges: the channel does not switch between two levels", "--sync-patch"}},
		{"no such channel", []string{"timing", good, "--channel", "A3"}, 2, nil, []string{`"A3" in this session: its channels are bitalino eda (A1), bitalino ecg (A2), bitalino a5`}},
		{"no folder", []string{"timing"}, 2, nil, []string{"timing: give one session folder (usage: cueroom timing SESSION"}},
		{"two folders", []string{"timing", good, good}, 2, nil, []string{"give one session folder"}},
		{"missing folder", []string{"timing", filepath.Join(root, "nope")}, 2, nil, []string{"nope: no such session folder"}},
		{"not a session", []string{"timing", root}, 2, nil, []string{"cueroom: timing: "}},
		{"bad window", []string{"timing", good, "--window", "0s"}, 2, nil, []string{"--window must be positive"}},
		{"unknown flag", []string{"timing", good, "--colour", "red"}, 2, nil, []string{"flag provided but not defined: -colour", "usage:"}},
		{"a session recorded before", []string{"timing", oldSession}, 2, nil, []string{"no analog channel in this session"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := cueroom(t, tc.args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.code, code, "stderr: %s", stderr.String())
			for _, w := range tc.out {
				assert.Contains(t, stdout.String(), w)
			}
			for _, w := range tc.err {
				assert.Contains(t, stderr.String(), w)
			}
			if tc.code != 0 {
				assert.Empty(t, stdout.String(), "nothing on stdout on error")
			}
		})
	}

	// --json is the report, whole.
	out, err := cueroom(t, "timing", "--json", good).Output()
	require.NoError(t, err)
	var r timing.Report
	require.NoError(t, json.Unmarshal(out, &r))
	assert.Equal(t, good, r.Session)
	assert.Equal(t, "a5", r.Channel.Label)
	require.Len(t, r.Kinds, 2)
	assert.Equal(t, 3, r.All.Count)
	assert.Zero(t, r.All.Unmatched)
	require.NotNil(t, r.All.Latency)
	assert.InDelta(t, 12, r.All.Latency.Mean, 1)
	assert.Len(t, r.Onsets, 3)
	assert.Empty(t, r.UnmatchedEdges)
}

package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/timing"
	"github.com/cueroom/cueroom/engine/window"
)

// TestSyncPatchLoop is issue 12's photodiode proof, run whole: the window
// draws the sync patch, a simulated BITalino's photodiode watches it with a
// 12 ms lag, the session is recorded, and `cueroom timing` must find that
// lag again from the recording: cue onsets stamped at the displayed frame,
// the light's samples timed by the device's clock.
func TestSyncPatchLoop(t *testing.T) {
	const lag = 12 * time.Millisecond
	p := startRun(t, t.TempDir(), "--sync-patch", "--sensor", "sim:bitalino?photodiode=A5&lag=12ms", "../../assets/demo/short.yaml")
	p.wait(t, 60*time.Second)

	cmd := cueroom(t, "timing", "--json", p.dir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Run(), "cueroom timing: %s", errb.String())
	var r timing.Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &r), out.String())
	require.NotNil(t, r.All.Latency, "no onset matched a light edge: %s", out.String())
	t.Logf("onset → light: %d matched, %d unmatched, %d shared (the patch already white); mean %.2f ms, SD %.2f ms, min %.2f, max %.2f",
		r.All.Count, r.All.Unmatched, r.All.Shared, r.All.Latency.Mean, r.All.Latency.SD, r.All.Latency.Min, r.All.Latency.Max)
	assert.GreaterOrEqual(t, r.All.Count, 4, "each of the short demo's four steps lights the patch")
	assert.Zero(t, r.All.Unmatched, "every visual onset lit the patch")
	assert.InDelta(t, float64(lag)/1e6, r.All.Latency.Mean, 2, "the configured lag, recovered")
	for _, k := range r.Kinds {
		if k.Latency != nil {
			assert.InDelta(t, float64(lag)/1e6, k.Latency.Mean, 2, "%s: the configured lag", k.Kind)
		}
	}
}

// The timing analysis knows how long the window keeps the patch white.
func TestPatchWhiteTimeAgrees(t *testing.T) {
	assert.Equal(t, window.PatchOn, timing.DefaultLit)
}

package xr

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cueroom/cueroom/internal/browsertest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/internal/leakcheck"
	"github.com/cueroom/cueroom/scenes"
)

// playwright finds node and Chromium for a browser test, or skips it.
func playwright(t *testing.T) (node, chromium string) {
	t.Helper()
	return browsertest.Tools(t, "ui", "engine/xr/ui", "playwright-core", "iwer")
}

// TestHeadsetPlaywright drives the headset page in headless Chromium
// against a test feed: every cue kind drawn and read back, the clock
// offset, frame reports, looks, pause, stop, stale, a tampered file, and
// the immersive path through IWER (ui/test/xr.test.mjs says what each
// checks). XR_SHOTS=/dir keeps screenshots.
func TestHeadsetPlaywright(t *testing.T) {
	node, chromium := playwright(t)
	leakcheck.Check(t)
	p := testProtocol(t, true)
	plan, err := NewPlan(p)
	require.NoError(t, err)
	// The tampered cue: the manifest says one thing, the file is another.
	for i := range plan.Steps[stepBad].Cues {
		plan.Steps[stepBad].Cues[i].SHA256 = sha([]byte("not this file"))
	}
	f := newTestFeed(t, plan, func() http.Handler {
		return Handler(Config{Plan: plan, Media: p.FS, Authorize: func(r *http.Request) bool { return r.URL.Query().Get("token") == feedToken }})
	})
	sectors := make([][3]uint8, len(sectorColours))
	for i, c := range sectorColours {
		sectors[i] = [3]uint8{c.R, c.G, c.B}
	}
	sj, _ := json.Marshal(sectors)

	cmd := exec.Command(node, "--test", "--test-reporter=spec", "--test-concurrency=1", filepath.Join("ui", "test", "xr.test.mjs"))
	cmd.Env = append(os.Environ(), "XR_URL="+f.url(), "CHROMIUM="+chromium, "XR_SHOTS="+os.Getenv("XR_SHOTS"),
		"XR_SECTORS="+string(sj), "XR_BIG=1")
	out, err := cmd.CombinedOutput()
	t.Logf("node --test:\n%s", out)
	require.NoError(t, err, "the browser test failed (output above)")

	// Everything the page sent was a valid display message, in time.
	n := map[string]int{}
	for _, g := range f.received() {
		assert.Empty(t, g.Err, "refused: %s", g.Raw)
		var m struct{ Cmd string }
		_ = json.Unmarshal(g.Raw, &m)
		n[m.Cmd]++
	}
	t.Logf("display messages received: %v", n)
	for _, c := range []string{CmdPing, CmdFrame, CmdLook, CmdPatientStop, CmdAnswer} {
		assert.Positive(t, n[c], c)
	}
	// What the session got through Display: headset onsets of every
	// visual cue shown, looks, the stop, both answers, the alert for the
	// tampered file; nothing refused but repeated reports.
	pub := f.published()
	kinds := map[string]int{}
	for _, e := range pub {
		kinds[strings.Fields(e)[0]]++
	}
	refused := f.refusals()
	t.Logf("published: %v; refusals: %v", kinds, refused)
	for _, want := range []string{
		`cue_onset step 1 {"channel":"visual","cue":"pic","file":"media/pic.png","modality":"image","source":"headset"}`,
		`cue_onset step 2 {"channel":"visual","cue":"pano","file":"media/pano.png","modality":"panorama","source":"headset"}`,
		`cue_onset step 5 {"channel":"visual","cue":"vid","file":"media/clip.mpg","modality":"video","source":"headset"}`,
		`cue_onset step 4 {"channel":"visual","cue":"words","file":"","modality":"text","source":"headset"}`,
		"patient_stop headset", "answer craving 70 headset",
	} {
		assert.Contains(t, pub, want)
	}
	assert.Positive(t, kinds["look"])
	assert.Equal(t, 2, kinds["answer"])
	var alert bool
	for _, e := range pub {
		// Refused when fetched ahead, during the step before.
		alert = alert || strings.HasPrefix(e, "alert ") && strings.Contains(e, `"incident":"headset:bad"`)
	}
	assert.True(t, alert, "the tampered file's alert: %v", pub)
	for k := range refused {
		assert.Equal(t, "duplicate", k, "refused: %v", refused)
	}
}

// TestHeadsetDemoPlaywright plays the bundled demo protocol's steps in the
// page (ui/test/demo.test.mjs): its real pictures, video, panorama and
// sounds drawn and reported.
func TestHeadsetDemoPlaywright(t *testing.T) {
	node, chromium := playwright(t)
	leakcheck.Check(t)
	p, err := scenes.Load(filepath.Join("..", "..", "assets", "demo", "protocol.yaml"))
	require.NoError(t, err)
	plan, err := NewPlan(p)
	require.NoError(t, err)
	f := newTestFeed(t, plan, func() http.Handler {
		return Handler(Config{Plan: plan, Media: p.FS, Authorize: func(r *http.Request) bool { return r.URL.Query().Get("token") == feedToken }})
	})
	cmd := exec.Command(node, "--test", "--test-reporter=spec", filepath.Join("ui", "test", "demo.test.mjs"))
	cmd.Env = append(os.Environ(), "XR_URL="+f.url(), "CHROMIUM="+chromium, "XR_SHOTS="+os.Getenv("XR_SHOTS"))
	out, err := cmd.CombinedOutput()
	t.Logf("node --test:\n%s", out)
	require.NoError(t, err, "the browser test failed (output above)")
	refused := f.refusals()
	for k := range refused {
		assert.Equal(t, "duplicate", k, "refused: %v", refused)
	}
}

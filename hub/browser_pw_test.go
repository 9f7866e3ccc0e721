package hub_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cueroom/cueroom/internal/browsertest"

	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/hub"
	"github.com/cueroom/cueroom/hub/station"
	"github.com/cueroom/cueroom/internal/leakcheck"
)

// playwright finds node, Chromium and engine/feed/ui's playwright-core
// (the project's one npm install of it), or skips.
func playwright(t *testing.T) (node, chromium, pw string) {
	t.Helper()
	node, chromium = browsertest.Tools(t, "../engine/feed/ui", "engine/feed/ui", "playwright-core")
	pw, _ = filepath.Abs("../engine/feed/ui/node_modules/playwright-core/index.mjs")
	return node, chromium, pw
}

func TestMonitorPlaywright(t *testing.T) {
	node, chromium, pw := playwright(t)
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	h := startHub(t, t.TempDir(), "", func(c *hub.Config) { c.Stale, c.Offline = 2*time.Second, 30*time.Second })
	state := func() any { return testState{"running", 2, "Bar scene", 8, 95.5} }
	dash, _ := fakeDashboard(t, false)
	n1 := startStation(t, h.NATSURL(), "room1", storeOf(t, "room1"), func(c *station.Config) {
		c.State = state
		c.Dashboard = func() (string, string, string) { return dash, "st-control", "st-observer" }
		c.OnCommand = func([]byte) ([]byte, error) { return []byte(`{"ok":true}`), nil }
	})
	n2 := startStation(t, h.NATSURL(), "room2", storeOf(t, "room2"))
	require.NoError(t, n1.st.Wait(ctx, connected))
	require.NoError(t, n2.st.Wait(ctx, connected))
	n1.vitals(72, 5.25, 1.5)
	n2.vitals(64, 3, 0.2)
	// room2 goes quiet (its lease holds; its tile ages to stale).
	n2.close()

	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "--test-concurrency=1", filepath.Join("web", "test", "monitor.test.mjs"))
	cmd.Env = append(os.Environ(), "MONITOR_URL="+h.MonitorURL(), "MONITOR_OBSERVER_URL="+h.ObserverURL(),
		"CHROMIUM="+chromium, "PLAYWRIGHT=file://"+pw, "MONITOR_SHOTS="+os.Getenv("MONITOR_SHOTS"))
	out, err := cmd.CombinedOutput()
	t.Logf("node --test:\n%s", out)
	require.NoError(t, err, "the monitor's browser test failed (output above)")
}

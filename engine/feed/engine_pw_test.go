package feed

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDashboardPlaywrightEngine runs ui/test/engine.test.mjs against the
// real engine: `cueroom run --hold` with the built-in demo protocol and a
// simulated BITalino (the window on the test's display: run it under
// xvfb-run, as scripts/test.sh does). CUEROOM_BIN names a built cueroom;
// without it the test builds cmd/cueroom. FEED_SHOTS=/dir keeps the
// screenshots (engine-*.png).
func TestDashboardPlaywrightEngine(t *testing.T) {
	node, chromium := playwright(t)
	if os.Getenv("DISPLAY") == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no DISPLAY for the patient window (CI is set, so this is an error): run under xvfb-run")
		}
		t.Skip("no DISPLAY for the patient window: run under xvfb-run")
	}
	bin := os.Getenv("CUEROOM_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "cueroom")
		build := exec.Command("go", "build", "-o", bin, "./cmd/cueroom")
		build.Dir = filepath.Join("..", "..")
		out, err := build.CombinedOutput()
		require.NoError(t, err, "building cueroom: %s", out)
	}

	run := exec.Command(bin, "run", "--hold", "--listen", "127.0.0.1:0", "--no-sound", "--sessions", t.TempDir(),
		"--width", "640", "--height", "360")
	run.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr strings.Builder
	run.Stderr = &stderr
	stdout, err := run.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, run.Start())
	exited := make(chan error, 1)
	t.Cleanup(func() {
		_ = syscall.Kill(-run.Process.Pid, syscall.SIGKILL)
		<-exited
	})

	// The URLs it prints: the dashboard's and the observer's.
	reURL := regexp.MustCompile(`^\s*(dashboard|observer):\s+(http\S+)`)
	urls := map[string]string{}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- run.Wait()
	}()
	deadline := time.After(60 * time.Second)
	for len(urls) < 2 {
		select {
		case line, ok := <-lines:
			require.True(t, ok, "cueroom run ended before printing its URLs: %s", &stderr)
			t.Log(line)
			if m := reURL.FindStringSubmatch(line); m != nil {
				urls[m[1]] = m[2]
			}
		case <-deadline:
			t.Fatalf("cueroom run printed no dashboard URL in 60 s: %s", &stderr)
		}
	}
	go func() {
		for line := range lines {
			t.Log(line)
		}
	}()

	cmd := exec.Command(node, "--test", "--test-reporter=spec", filepath.Join("ui", "test", "engine.test.mjs"))
	cmd.Env = append(os.Environ(), "FEED_URL="+urls["dashboard"], "FEED_OBSERVER_URL="+urls["observer"], "CHROMIUM="+chromium,
		"FEED_SHOTS="+os.Getenv("FEED_SHOTS"))
	out, err := cmd.CombinedOutput()
	t.Logf("node --test:\n%s", out)
	require.NoError(t, err, "the browser test failed (output above); cueroom said: %s", &stderr)

	// Ended from the dashboard, cueroom finishes on its own.
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		assert.NoError(t, err, "cueroom run: %s", &stderr)
	case <-time.After(30 * time.Second):
		t.Errorf("cueroom run still running 30 s after End: %s", &stderr)
	}
}

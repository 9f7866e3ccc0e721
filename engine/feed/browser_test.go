package feed

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
)

// cdp is a minimal Chrome DevTools Protocol client: enough to load the page,
// evaluate expressions and click buttons in a real headless browser.
type cdp struct {
	mu   sync.Mutex
	conn *websocket.Conn
	id   int
}

func (c *cdp) call(method string, params any) (json.RawMessage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.id++
	if err := c.conn.WriteJSON(map[string]any{"id": c.id, "method": method, "params": params}); err != nil {
		return nil, err
	}
	for {
		if err := c.conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			return nil, err
		}
		var resp struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := c.conn.ReadJSON(&resp); err != nil {
			return nil, err
		}
		if resp.ID != c.id {
			continue // an event
		}
		if resp.Error != nil {
			return nil, fmt.Errorf("%s: %s", method, resp.Error.Message)
		}
		return resp.Result, nil
	}
}

// eval returns the value of a JavaScript expression in the page; errors
// (including a JS exception while the page loads) are returned, so it can
// be polled from require.Eventually.
func (c *cdp) eval(expr string) (any, error) {
	raw, err := c.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	if err != nil {
		return nil, err
	}
	var r struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		ExceptionDetails any `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, err
	}
	if r.ExceptionDetails != nil {
		return nil, fmt.Errorf("%s: %v", expr, r.ExceptionDetails)
	}
	return r.Result.Value, nil
}

// do evaluates expr on the test goroutine, failing the test on error.
func (c *cdp) do(t *testing.T, expr string) {
	t.Helper()
	_, err := c.eval(expr)
	require.NoError(t, err)
}

// text is an element's textContent, "" when it is not there (yet).
func (c *cdp) text(selector string) string {
	v, _ := c.eval(fmt.Sprintf(`(document.querySelector(%q)||{}).textContent||""`, selector))
	s, _ := v.(string)
	return s
}

// connState is the page's connection indicator.
func (c *cdp) connState() string {
	v, _ := c.eval(`(document.getElementById("conn")||{dataset:{}}).dataset.state||""`)
	s, _ := v.(string)
	return s
}

// screenshot saves the page as a PNG when FEED_SCREENSHOT names a file, to
// look at it: FEED_SCREENSHOT=/tmp/feed.png go test -run Browser. A
// non-empty suffix goes before the extension (/tmp/feed-late.png).
func (c *cdp) screenshot(t *testing.T, suffix string) {
	t.Helper()
	path := os.Getenv("FEED_SCREENSHOT")
	if path == "" {
		return
	}
	if suffix != "" {
		ext := filepath.Ext(path)
		path = strings.TrimSuffix(path, ext) + "-" + suffix + ext
	}
	var shot struct{ Data []byte }
	raw, err := c.call("Page.captureScreenshot", map[string]any{"format": "png"})
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &shot))
	require.NoError(t, os.WriteFile(path, shot.Data, 0o644))
}

// startBrowser runs headless Chromium in its own process group, killed at
// cleanup, and returns a CDP client attached to its first page.
func startBrowser(t *testing.T) *cdp {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	var bin string
	for _, name := range []string{"chromium", "chromium-headless-shell", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("no chromium on PATH (apt-get install chromium)")
	}
	dir := t.TempDir()
	cmd := exec.Command(bin, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--window-size=1400,800", "--remote-debugging-port=0", "--user-data-dir="+dir, "about:blank")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})

	// Chromium writes its port to DevToolsActivePort once it listens.
	var port string
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "DevToolsActivePort"))
		if err != nil {
			return false
		}
		port, _, _ = strings.Cut(string(b), "\n")
		return port != ""
	}, 30*time.Second, 20*time.Millisecond, "chromium did not start: %s", &stderr)

	var wsURL string
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://127.0.0.1:" + port + "/json/list")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var targets []struct{ Type, WebSocketDebuggerURL string }
		if json.NewDecoder(resp.Body).Decode(&targets) != nil {
			return false
		}
		for _, tg := range targets {
			if tg.Type == "page" {
				wsURL = tg.WebSocketDebuggerURL
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond)
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &cdp{conn: conn}
}

// TestDashboardInBrowser loads the real page in headless Chromium: it
// connects with the token from its URL, shows the session, step, live values
// with units and events, and a button shows "applied" only once the ack
// arrives.
func TestDashboardInBrowser(t *testing.T) {
	release := make(chan struct{})
	got := make(chan Command, 4)
	onCmd := func(c Command) Ack {
		got <- c
		switch c.Cmd {
		case CmdPause:
			<-release // the session takes its time to apply it
			return Ack{OK: true}
		case CmdNext:
			return Ack{OK: false, Error: "already at the last step"}
		}
		return Ack{OK: true}
	}
	s, _ := startServer(t, Config{
		Hello:     func() any { return map[string]any{"title": "Alcohol cues, session 3"} },
		OnCommand: onCmd,
	}, nil)
	b, _ := runBus(t, s)
	b.Publish(bus.Msg{Stream: &testStream})

	br := startBrowser(t)
	_, err := br.call("Page.navigate", map[string]any{"url": s.URL()})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return br.connState() == "open" },
		10*time.Second, 20*time.Millisecond)

	s.SetState(map[string]any{"status": "paused", "step_index": 1, "step_name": "Bar scene", "intensity": 3, "step_remaining": 90})
	pubSample(b, "bitalino", 1, 5.5, 0.25)
	b.Publish(bus.Msg{Event: &event.Event{T: 65 * time.Second, Step: 1,
		Data: event.CueOnset{Channel: "visual", Cue: "beer.jpg", File: "cues/beer.jpg", Modality: "image"}}})

	require.Eventually(t, func() bool {
		return strings.Contains(br.text("#values"), "0.250 mV") && strings.Contains(br.text("#events"), "cue_onset")
	}, 10*time.Second, 20*time.Millisecond, "page shows: %v", br.text("main"))
	assert.Equal(t, "cueroom — Alcohol cues, session 3", br.text("#title"))
	assert.Equal(t, "2. Bar scene", br.text("#stepname"))
	assert.Equal(t, "3", br.text("#intensity"))
	assert.Equal(t, "1:30.0", br.text("#remaining"))
	assert.Equal(t, "paused", br.text("#status"))
	assert.Contains(t, br.text("#values"), "bitalinoeda5.50 µS")
	assert.Contains(t, br.text("#values"), "bitalinoecg0.250 mV")
	assert.Equal(t, `1:05.0cue_onset · step 2 · channel="visual" cue="beer.jpg" file="cues/beer.jpg" modality="image"`, br.text("#events li"))
	assert.Eventually(t, func() bool { return br.text("#cue") == "visual: picture beer.jpg" }, 5*time.Second, 20*time.Millisecond,
		"cue panel: %q", br.text("#cue"))

	br.screenshot(t, "")

	// Buttons follow the status: paused, Pause does not apply; running, it does.
	pauseDisabled := func() string {
		v, _ := br.eval(`String(document.querySelector('[data-cmd="pause"]').disabled)`)
		s, _ := v.(string)
		return s
	}
	assert.Equal(t, "true", pauseDisabled())
	s.SetState(map[string]any{"status": "running", "step_index": 1, "step_name": "Bar scene", "intensity": 3, "step_remaining": 90})
	require.Eventually(t, func() bool {
		return pauseDisabled() == "false"
	}, 5*time.Second, 20*time.Millisecond)

	// Pause: sent, not yet applied while the session holds the command.
	br.do(t, `document.querySelector('[data-cmd="pause"]').click()`)
	cmd := <-got
	assert.Equal(t, CmdPause, cmd.Cmd)
	assert.Contains(t, br.text("#cmdstatus"), "waiting")
	assert.NotContains(t, br.text("#cmdstatus"), "applied")
	close(release)
	require.Eventually(t, func() bool { return br.text("#cmdstatus") == "pause: applied" },
		5*time.Second, 10*time.Millisecond, "status: %q", br.text("#cmdstatus"))

	// A refused command says why. "Next step…" asks for a second click.
	br.do(t, `document.querySelector('[data-cmd="next"]').click()`)
	assert.Contains(t, br.text("#cmdstatus"), "click again")
	br.do(t, `document.querySelector('[data-cmd="next"]').click()`)
	assert.Equal(t, CmdNext, (<-got).Cmd)
	require.Eventually(t, func() bool {
		return br.text("#cmdstatus") == "next: not applied — already at the last step"
	}, 5*time.Second, 10*time.Millisecond, "status: %q", br.text("#cmdstatus"))

	// A marker carries its note.
	br.do(t, `document.getElementById("markertext").value = "urge 7/10"; document.querySelector('[data-cmd="marker"]').click()`)
	cmd = <-got
	assert.Equal(t, CmdMarker, cmd.Cmd)
	assert.Equal(t, "urge 7/10", cmd.Args["text"])

	// Server gone: the page says so (and keeps retrying).
	require.NoError(t, s.Close())
	require.Eventually(t, func() bool { return br.connState() == "closed" },
		10*time.Second, 20*time.Millisecond)
	assert.Contains(t, br.text("#conn"), "1001")
}

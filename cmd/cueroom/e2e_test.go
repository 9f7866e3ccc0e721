package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/bus"
	"github.com/cueroom/cueroom/engine/record"
)

// The end-to-end tests run the real binary: a real window under Xvfb, the
// simulated BITalino on a real pseudo-terminal, a real WebSocket over
// loopback and a real recording on disk.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cueroom-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "cueroom")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// proc is a running `cueroom run`.
type proc struct {
	cmd     *exec.Cmd
	url     string // dashboard URL with token
	dir     string // session folder
	stderr  *strings.Builder
	exited  chan error
	display string
}

var (
	reURL = regexp.MustCompile(`dashboard: (http://\S+)`)
	reDir = regexp.MustCompile(`recording: (\S+)`)
)

func startRun(t *testing.T, sessions string, args ...string) *proc {
	t.Helper()
	full := append([]string{"run", "--listen", "127.0.0.1:0", "--sessions", sessions, "--no-sound"}, args...)
	cmd := exec.Command(binary(t), full...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &proc{cmd: cmd, stderr: &strings.Builder{}, exited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
	})
	sc := bufio.NewScanner(out)
	for sc.Scan() && (p.url == "" || p.dir == "") {
		if m := reURL.FindStringSubmatch(sc.Text()); m != nil {
			p.url = m[1]
		}
		if m := reDir.FindStringSubmatch(sc.Text()); m != nil {
			p.dir = m[1]
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out); p.exited <- cmd.Wait() }()
	require.NotEmpty(t, p.url, "no dashboard URL printed; stderr: %s", p.stderr)
	require.NotEmpty(t, p.dir, "no recording folder printed; stderr: %s", p.stderr)
	return p
}

// dial opens the feed like a tool does: token in the query, no Origin.
func (p *proc) dial(t *testing.T) *websocket.Conn {
	t.Helper()
	u, err := url.Parse(p.url)
	require.NoError(t, err)
	ws := url.URL{Scheme: "ws", Host: u.Host, Path: "/ws", RawQuery: u.RawQuery}
	c, _, err := websocket.DefaultDialer.Dial(ws.String(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

type feedMsg struct {
	Type    string            `json:"type"`
	Device  string            `json:"device"`
	Kind    string            `json:"kind"`
	T       json.RawMessage   `json:"t"`
	Seq     []uint32          `json:"seq"`
	Values  [][]*float64      `json:"values"`
	Data    map[string]any    `json:"data"`
	ID      string            `json:"id"`
	OK      bool              `json:"ok"`
	Error   string            `json:"error"`
	Session map[string]any    `json:"session"`
	State   map[string]any    `json:"state"`
	Extra   map[string]string `json:"-"`
}

// readUntil reads feed messages until stop says so, with a deadline.
func readUntil(t *testing.T, c *websocket.Conn, limit time.Duration, stop func(feedMsg) bool) []feedMsg {
	t.Helper()
	var got []feedMsg
	require.NoError(t, c.SetReadDeadline(time.Now().Add(limit)))
	for {
		var m feedMsg
		_, b, err := c.ReadMessage()
		require.NoError(t, err, "feed closed before the expected message")
		require.NoError(t, json.Unmarshal(b, &m), "bad feed message %s", b)
		got = append(got, m)
		if stop(m) {
			return got
		}
	}
}

func (p *proc) wait(t *testing.T, limit time.Duration) {
	t.Helper()
	select {
	case err := <-p.exited:
		p.exited <- err
		require.NoError(t, err, "cueroom run failed; stderr:\n%s", p.stderr)
	case <-time.After(limit):
		t.Fatalf("cueroom run did not exit within %v; stderr:\n%s", limit, p.stderr)
	}
}

func TestRunPlaysShortProtocolEndToEnd(t *testing.T) {
	sessions := t.TempDir()
	p := startRun(t, sessions, "../../assets/demo/short.yaml")
	c := p.dial(t)

	msgs := readUntil(t, c, 60*time.Second, func(m feedMsg) bool { return m.Type == "event" && m.Kind == bus.SessionEnd })
	p.wait(t, 30*time.Second)

	// What the dashboard saw: the hello, the BITalino stream, samples and
	// the step events in order.
	require.Equal(t, "hello", msgs[0].Type)
	var kinds []string
	feedSeqs := 0
	sawStream := false
	for _, m := range msgs {
		switch m.Type {
		case "event":
			kinds = append(kinds, m.Kind)
		case "samples":
			feedSeqs += len(m.Seq)
			require.Len(t, m.Values, 2, "EDA and ECG columns")
			require.Len(t, m.Values[0], len(m.Seq))
		case "stream":
			sawStream = sawStream || m.Device != ""
		}
	}
	assert.True(t, sawStream, "the dashboard was told the device's channels")
	assert.Contains(t, kinds, bus.SessionStart)
	assert.Contains(t, kinds, bus.CueOnset)

	// What the recording holds: complete, every step, every sample in order.
	s, err := record.Open(p.dir)
	require.NoError(t, err)
	assert.Nil(t, s.Recovered, "a clean exit leaves nothing to repair")
	var steps []string
	var last time.Duration
	for _, e := range s.Events {
		assert.GreaterOrEqual(t, e.T, last, "events in time order")
		last = e.T
		if e.Kind == bus.StepStart {
			steps = append(steps, fmt.Sprint(e.Data["id"]))
		}
	}
	assert.Equal(t, []string{"baseline", "s1", "s2", "recovery"}, steps)
	assert.Equal(t, bus.SessionStart, s.Events[0].Kind)
	assert.Equal(t, bus.SessionEnd, s.Events[len(s.Events)-1].Kind)
	assert.Equal(t, "completed", s.Events[len(s.Events)-1].Data["reason"])

	require.Len(t, s.Streams, 1)
	samples := s.Samples[s.Streams[0].Device]
	rate := s.Streams[0].Rate
	// baseline 2 s + 2 s + 3 s + recovery 2 s of sensor data at least.
	assert.Greater(t, float64(len(samples)), 8*rate)
	for i := 1; i < len(samples); i++ {
		require.Equal(t, (samples[i-1].Seq+1)%16, samples[i].Seq%16, "sequence gap at sample %d", i)
		require.GreaterOrEqual(t, samples[i].T, samples[i-1].T)
	}
	// The dashboard got every sample recorded before the session ended
	// (history plus live): batched, never thinned. The client stops reading
	// at session_end, so the last few samples may be on disk only.
	end := s.Events[len(s.Events)-1].T
	before := 0
	for _, x := range samples {
		if x.T < end-100*time.Millisecond {
			before++
		}
	}
	assert.GreaterOrEqual(t, feedSeqs, before)
	assert.LessOrEqual(t, feedSeqs, len(samples))
}

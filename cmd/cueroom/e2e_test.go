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
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/event/eventtest"
	"github.com/cueroom/cueroom/sensors/serialport"
)

// The end-to-end tests run the real binary: a real window under Xvfb, the
// simulated BITalino on a real pseudo-terminal, a real WebSocket over
// loopback and a real recording on disk.

// The test binary is also cueroom: run with asMain set it runs the
// command line it is given, so end-to-end tests exec the real program
// without building it a second time.
const asMain = "CUEROOM_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" {
		os.Exit(run(os.Args[1:]))
	}
	code := m.Run()
	if shortRoot != "" {
		os.RemoveAll(shortRoot)
	}
	os.Exit(code)
}

// cueroom is the command `cueroom args...`, run as its own process.
func cueroom(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), asMain+"=1")
	return cmd
}

// proc is a running `cueroom run`.
type proc struct {
	cmd     *exec.Cmd
	url     string        // dashboard URL with token
	dir     string        // session folder
	stderr  *lockedBuffer // read while the process may still write it
	exited  chan error
	display string
	head    []string // what it printed up to the recording folder
}

var (
	reURL = regexp.MustCompile(`dashboard: (http://\S+)`)
	reDir = regexp.MustCompile(`recording: (\S+)`)
)

func startRun(t *testing.T, sessions string, args ...string) *proc {
	t.Helper()
	full := append([]string{"run", "--listen", "127.0.0.1:0", "--sessions", sessions, "--no-sound"}, args...)
	cmd := cueroom(t, full...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &proc{cmd: cmd, stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
	})
	sc := bufio.NewScanner(out)
	for sc.Scan() && (p.url == "" || p.dir == "") {
		p.head = append(p.head, sc.Text())
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

// lockedBuffer collects a process's stderr; String may be called while
// the process still writes (a failure message mid-test).
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
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
	JPEG    []byte            `json:"jpeg"` // a patient view
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

// shortRun is one real session of the short demo (simulated BITalino on a
// pseudo-terminal, the window under Xvfb, sound to the null sink) and what
// a dashboard saw of it live. It is recorded once, by the first test that
// asks, and shared: the tests that read a real recording (replay, export)
// read this one, and a test that changes the folder works on a copy.
type shortRun struct {
	dir  string
	msgs []feedMsg
}

var (
	shortOnce sync.Once
	short     shortRun
	shortRoot string // removed by TestMain
)

func recordedShort(t *testing.T) shortRun {
	t.Helper()
	shortOnce.Do(func() {
		root, err := os.MkdirTemp("", "cueroom-short-")
		require.NoError(t, err)
		shortRoot = root
		p := startRun(t, root, "../../assets/demo/short.yaml")
		c := p.dial(t)
		msgs := readUntil(t, c, 60*time.Second, func(m feedMsg) bool { return m.Type == "event" && m.Kind == string(event.KindSessionEnd) })
		p.wait(t, 30*time.Second)
		short = shortRun{dir: p.dir, msgs: msgs}
	})
	require.NotEmpty(t, short.dir, "the shared short session could not be recorded: see the first test that asked for it")
	return short
}

func TestRunPlaysShortProtocolEndToEnd(t *testing.T) {
	p := recordedShort(t)
	msgs := p.msgs

	// What the dashboard saw: the hello, the BITalino stream, samples and
	// the step events in order.
	require.Equal(t, "hello", msgs[0].Type)
	var kinds []string
	feedSeqs := 0
	sawStream, sawDerived := false, false
	for _, m := range msgs {
		switch m.Type {
		case "event":
			kinds = append(kinds, m.Kind)
		case "samples":
			if m.Device != "bitalino" {
				sawDerived = sawDerived || m.Device == engine.PhysioDevice
				continue
			}
			feedSeqs += len(m.Seq)
			require.Len(t, m.Values, 2, "EDA and ECG columns")
			require.Len(t, m.Values[0], len(m.Seq))
		case "stream":
			sawStream = sawStream || m.Device != ""
		}
	}
	assert.True(t, sawStream, "the dashboard was told the device's channels")
	assert.True(t, sawDerived, "live heart rate, skin conductance and arousal reach the dashboard")
	assert.Contains(t, kinds, string(event.KindSessionStart))
	assert.Contains(t, kinds, string(event.KindCueOnset))

	// What the recording holds: complete, every step, every sample in order.
	s, err := record.Open(p.dir)
	require.NoError(t, err)
	assert.Nil(t, s.Recovered, "a clean exit leaves nothing to repair")
	var steps []string
	var last time.Duration
	for _, e := range s.Events {
		assert.GreaterOrEqual(t, e.T, last, "events in time order")
		last = e.T
		if e.Kind() == event.KindStepStart {
			steps = append(steps, fmt.Sprint(eventtest.Field(e, "id")))
		}
	}
	assert.Equal(t, []string{"baseline", "bottle", "glass", "recovery"}, steps)
	// session_start comes first but for the sensors' first timing figures:
	// they connect before the session starts and say how their samples
	// are timed when the first is out (after the device clock's half
	// second hold), which on a loaded machine can be before the window is
	// up and the session starts.
	startAt := slices.IndexFunc(s.Events, func(e event.Event) bool { return e.Kind() == event.KindSessionStart })
	require.GreaterOrEqual(t, startAt, 0, "no session_start recorded")
	for _, e := range s.Events[:startAt] {
		assert.Equal(t, event.KindDevice, e.Kind(), "before session_start at %v: %s at %v %+v", s.Events[startAt].T, e.Kind(), e.T, e.Data)
	}
	// session_end comes last but for the offsets of the cues still on at the
	// end (the last frame's and the sound's fade) and the sensors' final
	// timing figures.
	endAt := -1
	for i, e := range s.Events {
		if e.Kind() == event.KindSessionEnd {
			endAt = i
		}
	}
	require.GreaterOrEqual(t, endAt, 0, "no session_end recorded")
	assert.Equal(t, "completed", eventtest.Field(s.Events[endAt], "reason"))
	for _, e := range s.Events[endAt+1:] {
		assert.Contains(t, []event.Kind{event.KindCueOffset, event.KindDevice}, e.Kind(), "after session_end at %v: %s at %v %+v", s.Events[endAt].T, e.Kind(), e.T, e.Data)
	}
	// How the samples were timed, at the start and the end.
	var infos []string
	for _, e := range s.Events {
		if d, ok := e.Data.(event.DeviceInfo); ok {
			infos = append(infos, d.Info)
		}
	}
	if assert.Len(t, infos, 2, "device events: %q", infos) {
		assert.Contains(t, infos[1], "timed by the device's sample counter")
		assert.Contains(t, infos[1], "0 lost")
	}
	// Every cue that came on went off again.
	on := map[string]int{}
	for _, e := range s.Events {
		key := fmt.Sprint(eventtest.Field(e, "cue"), "/", eventtest.Field(e, "channel"))
		switch e.Kind() {
		case event.KindCueOnset:
			on[key]++
		case event.KindCueOffset:
			on[key]--
		}
	}
	for k, n := range on {
		assert.Zero(t, n, "cue %s: onsets minus offsets", k)
	}

	require.Len(t, s.Streams, 2, "the BITalino and the derived physiology")
	assert.NotEmpty(t, s.Samples[engine.PhysioDevice], "derived physiology is recorded")
	samples := s.Samples["bitalino"]
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
	end := s.Events[endAt].T
	before := 0
	for _, x := range samples {
		if x.T < end-100*time.Millisecond {
			before++
		}
	}
	assert.GreaterOrEqual(t, feedSeqs, before)
	assert.LessOrEqual(t, feedSeqs, len(samples))
}

// TestEscStopsAndTherapistEnds presses the patient's stop key in the real
// window (X keyboard events via xdotool), sees the stop arrive on the feed,
// then ends the session with a command as the therapist would.
func TestEscStopsAndTherapistEnds(t *testing.T) {
	xdotool, err := exec.LookPath("xdotool")
	require.NoError(t, err, "xdotool is needed to press keys in the window: run 'make test', which installs it")
	sessions := t.TempDir()
	p := startRun(t, sessions, "../../assets/demo/protocol.yaml")
	c := p.dial(t)
	// Wait until the window shows the first scene.
	readUntil(t, c, 30*time.Second, func(m feedMsg) bool {
		return m.Type == "event" && m.Kind == string(event.KindCueOnset) && m.Data["channel"] == "visual"
	})
	// The window's title is neutral: anyone in the room sees the taskbar.
	out, err := exec.Command(xdotool, "search", "--sync", "--name", "^cueroom session$",
		"windowfocus", "--sync", "key", "Escape").CombinedOutput()
	require.NoError(t, err, "xdotool: %s", out)
	named, _ := exec.Command(xdotool, "search", "--name", "alcohol").Output()
	assert.Empty(t, strings.TrimSpace(string(named)), "no window title names the substance")

	msgs := readUntil(t, c, 10*time.Second, func(m feedMsg) bool { return m.Type == "event" && m.Kind == string(event.KindPatientStop) })
	stop := msgs[len(msgs)-1]
	assert.Equal(t, "patient", stop.Data["by"])

	// The calm scene holds until the therapist acts: the state says so.
	readUntil(t, c, 5*time.Second, func(m feedMsg) bool { return m.Type == "state" && m.State["status"] == "calm" })

	require.NoError(t, c.WriteJSON(map[string]any{"type": "command", "v": 1, "id": "end-1", "cmd": "end"}))
	msgs = readUntil(t, c, 10*time.Second, func(m feedMsg) bool { return m.Type == "ack" && m.ID == "end-1" })
	ack := msgs[len(msgs)-1]
	assert.True(t, ack.OK, "end refused: %s", ack.Error)
	p.wait(t, 30*time.Second)

	s, err := record.Open(p.dir)
	require.NoError(t, err)
	var kinds []event.Kind
	for _, e := range s.Events {
		if e.Kind() == event.KindPatientStop || e.Kind() == event.KindSessionEnd || e.Kind() == event.KindCommand {
			kinds = append(kinds, e.Kind())
		}
	}
	assert.Equal(t, []event.Kind{event.KindPatientStop, event.KindSessionEnd}, kinds[:2])
	assert.True(t, s.Complete)
}

// TestBadInputExitsTwoAndWritesNothing runs the binary on bad input: each
// gets one clear line, exit code 2, and no session folder.
func TestBadInputExitsTwoAndWritesNothing(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("cueroom: 1\ntitle: x\nsubstance: alcohol\nbaseline:\n  name: B\n  duration: -3s\n  cues: []\nsteps: []\n"), 0o644))
	// A structural error and a missing picture: check reports both.
	both := filepath.Join(dir, "both.yaml")
	require.NoError(t, os.WriteFile(both, []byte("cueroom: 1\ntitle: x\nsubstance: alcohol\nbaseline:\n  name: B\n  duration: -3s\n  cues:\n    - image: nowhere.png\nsteps: []\n"), 0o644))
	missing := filepath.Join(dir, "missing.yaml")
	require.NoError(t, os.WriteFile(missing, []byte("cueroom: 1\ntitle: x\nsubstance: alcohol\nbaseline:\n  name: B\n  duration: 3s\n  cues:\n    - image: nowhere.png\nsteps:\n  - name: S\n    intensity: 1\n    duration: 2s\n    cues:\n      - text: hi\n"), 0o644))

	// A pseudo-terminal where no BITalino answers.
	silent, err := ptyPair(t)
	require.NoError(t, err)
	// A port another program holds open.
	busy, err := ptyPair(t)
	require.NoError(t, err)
	held, err := serialport.Open(busy, serialport.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { held.Close() })

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"run", "--bogus"}, "-bogus"},
		{"missing protocol", []string{"run", filepath.Join(dir, "nope.yaml")}, "nope.yaml"},
		{"invalid protocol", []string{"run", bad}, "bad.yaml:6"},
		{"missing asset", []string{"run", missing}, "nowhere.png"},
		{"bad sensor spec", []string{"run", "--sensor", "bitalino", "../../assets/demo/short.yaml"}, "write bitalino:PORT"},
		{"no such port", []string{"run", "--sensor", "bitalino:/dev/ttyNOPE9", "../../assets/demo/short.yaml"}, "/dev/ttyNOPE9"},
		{"busy port", []string{"run", "--sensor", "bitalino:" + busy, "../../assets/demo/short.yaml"}, "busy"},
		{"not a BITalino", []string{"run", "--sensor", "bitalino:" + silent, "../../assets/demo/short.yaml"}, silent},
		{"check invalid", []string{"check", bad}, "bad.yaml:6"},
		{"check lists every problem", []string{"check", both}, "nowhere.png"},
		{"check lists every problem, structure too", []string{"check", both}, "both.yaml:6"},
		{"negative window", []string{"run", "--width", "-5", "../../assets/demo/short.yaml"}, "--width -5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sessions := filepath.Join(t.TempDir(), "sessions")
			args := tc.args
			if args[0] == "run" {
				args = append([]string{"run", "--listen", "127.0.0.1:0", "--sessions", sessions, "--no-sound"}, args[1:]...)
			}
			cmd := cueroom(t, args...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, "expected a failure; stderr: %s", stderr.String())
			assert.Equal(t, 2, ee.ExitCode(), "stderr: %s", stderr.String())
			assert.Contains(t, stderr.String(), tc.want)
			assert.True(t, strings.HasPrefix(stderr.String(), "cueroom: "), "stderr: %s", stderr.String())
			_, statErr := os.Stat(sessions)
			assert.True(t, os.IsNotExist(statErr), "nothing may be written on bad input")
		})
	}
}

// TestTwoSensorsAtOnce: a BITalino and an Arduino GSR rig, each on its own
// pseudo-terminal, merged on the session clock and both recorded.
func TestTwoSensorsAtOnce(t *testing.T) {
	sessions := t.TempDir()
	p := startRun(t, sessions, "--sensor", "sim:bitalino?rate=100", "--sensor", "sim:grove", "../../assets/demo/short.yaml")
	p.wait(t, 60*time.Second)
	s, err := record.Open(p.dir)
	require.NoError(t, err)
	require.Len(t, s.Streams, 4, "two sensors and the physiology derived from each")
	for _, st := range s.Streams {
		if st.Kind == "derived" {
			assert.NotEmpty(t, s.Samples[st.Device], "derived %s", st.Device)
			continue
		}
		got := s.Samples[st.Device]
		assert.NotEmpty(t, got, "samples of %s", st.Device)
		for i := 1; i < len(got); i++ {
			require.GreaterOrEqual(t, got[i].T, got[i-1].T, "%s: arrival times in order", st.Device)
		}
		// Both span the session on one clock.
		assert.Less(t, got[0].T, 3*time.Second, st.Device)
		assert.Greater(t, got[len(got)-1].T, 8*time.Second, st.Device)
	}
}

// TestHangupEndsCleanly: closing the terminal (SIGHUP) ends the session like
// Ctrl-C: the recording is closed and complete, and says it was interrupted.
func TestHangupEndsCleanly(t *testing.T) {
	p := startRun(t, t.TempDir(), "../../assets/demo/protocol.yaml")
	c := p.dial(t)
	readUntil(t, c, 30*time.Second, func(m feedMsg) bool {
		return m.Type == "event" && m.Kind == string(event.KindCueOnset)
	})
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	p.wait(t, 30*time.Second)
	s, err := record.Open(p.dir)
	require.NoError(t, err)
	assert.True(t, s.Complete, "closed cleanly")
	last := s.Events[len(s.Events)-1]
	for _, e := range s.Events {
		if e.Kind() == event.KindSessionEnd {
			last = e
		}
	}
	assert.Equal(t, event.SessionEnd{Reason: "interrupted"}, last.Data)
}

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/event/eventtest"
)

// startReplay runs `cueroom replay` and returns it once it printed its
// dashboard URL.
func startReplay(t *testing.T, args ...string) *proc {
	t.Helper()
	cmd := cueroom(t, append([]string{"replay", "--listen", "127.0.0.1:0", "--no-sound"}, args...)...)
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
	for p.url == "" && sc.Scan() {
		if m := reURL.FindStringSubmatch(sc.Text()); m != nil {
			p.url = m[1]
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out); p.exited <- cmd.Wait() }()
	require.NotEmpty(t, p.url, "no dashboard URL printed; stderr: %s", p.stderr)
	return p
}

func sendCmd(t *testing.T, p *proc, c interface{ WriteJSON(any) error }, id, cmd string, args map[string]any) {
	t.Helper()
	require.NoError(t, c.WriteJSON(map[string]any{"type": "command", "v": 1, "id": id, "cmd": cmd, "args": args}))
}

func times(t *testing.T, m feedMsg) []float64 {
	var ts []float64
	require.NoError(t, json.Unmarshal(m.T, &ts))
	return ts
}

func TestReplayPlaysARecordedSessionThroughTheFeed(t *testing.T) {
	// A real session: the short demo with the simulated BITalino.
	run := recordedShort(t)
	rec, err := record.Open(run.dir)
	require.NoError(t, err)
	bottle := time.Duration(-1)
	for _, e := range rec.Events {
		if e.Kind() == event.KindStepStart && eventtest.Field(e, "id") == "bottle" {
			bottle = e.T
			break
		}
	}
	require.GreaterOrEqual(t, bottle, time.Duration(0))

	p := startReplay(t, "--paused", "--at", "bottle", run.dir)
	c := p.dial(t)
	msgs := readUntil(t, c, 30*time.Second, func(m feedMsg) bool { return m.Type == "view" })
	require.Equal(t, "hello", msgs[0].Type)
	assert.Equal(t, true, msgs[0].Session["replay"])
	assert.InDelta(t, rec.Samples["bitalino"][len(rec.Samples["bitalino"])-1].T.Seconds(), msgs[0].Session["duration_s"], 1)

	// Paused at the bottle step: its state, and the signal before it as
	// context, every BITalino sample in order.
	var seqs []uint32
	var state map[string]any
	for _, m := range msgs {
		switch {
		case m.Type == "samples" && m.Device == "bitalino":
			seqs = append(seqs, m.Seq...)
			for _, ts := range times(t, m) {
				assert.LessOrEqual(t, ts, bottle.Seconds()+1e-6, "nothing after the position while paused")
			}
		case m.Type == "state":
			state = m.State
		}
	}
	require.NotEmpty(t, seqs, "context samples sent")
	for i := 1; i < len(seqs); i++ {
		require.Equal(t, (seqs[i-1]+1)%16, seqs[i]%16, "context sample %d out of sequence", i)
	}
	require.NotNil(t, state)
	assert.Equal(t, "bottle", state["step_id"])
	assert.Equal(t, false, state["replay"].(map[string]any)["playing"])

	// The patient view shows the bottle scene, not a blank or end screen.
	img, err := jpeg.Decode(bytes.NewReader(msgs[len(msgs)-1].JPEG))
	require.NoError(t, err)
	var sum, n uint64
	bounds := img.Bounds()
	for y := bounds.Min.Y + bounds.Dy()/8; y < bounds.Max.Y; y += 4 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 4 {
			r, g, b, _ := img.At(x, y).RGBA()
			sum += uint64(r+g+b) / 3
			n++
		}
	}
	assert.Greater(t, sum/n, uint64(0x1800), "the view at the bottle step is a lit scene, not the black end screen")

	// Commands from the dashboard: speed, play to the end, seek back.
	sendCmd(t, p, c, "s1", "speed", map[string]any{"x": 4})
	sendCmd(t, p, c, "p1", "resume", nil)
	sendCmd(t, p, c, "x1", "panic", nil)
	msgs = readUntil(t, c, 30*time.Second, func(m feedMsg) bool { return m.Type == "event" && m.Kind == string(event.KindSessionEnd) })
	acks := map[string]feedMsg{}
	var kinds []string
	for _, m := range msgs {
		if m.Type == "ack" {
			acks[m.ID] = m
		}
		if m.Type == "event" {
			kinds = append(kinds, m.Kind)
		}
	}
	assert.True(t, acks["s1"].OK, "speed: %s", acks["s1"].Error)
	assert.True(t, acks["p1"].OK, "resume: %s", acks["p1"].Error)
	assert.False(t, acks["x1"].OK, "panic is refused in a replay")
	assert.Contains(t, acks["x1"].Error, "replay")
	// The recorded events after the bottle step's start, in recorded order.
	var want []string
	for _, e := range rec.Events {
		if e.T > bottle {
			want = append(want, string(e.Kind()))
		}
	}
	want = trimAfterEnd(want)
	assert.Equal(t, want, kinds)

	sendCmd(t, p, c, "k1", "seek", map[string]any{"t": 1.0})
	msgs = readUntil(t, c, 10*time.Second, func(m feedMsg) bool { return m.Type == "event" && m.Kind == string(event.KindReplaySeek) })
	seek := msgs[len(msgs)-1]
	assert.InDelta(t, 1.0, seek.Data["to"], 1e-9)
	sendCmd(t, p, c, "k2", "seek", map[string]any{"step": 99.0})
	msgs = readUntil(t, c, 10*time.Second, func(m feedMsg) bool { return m.Type == "ack" && m.ID == "k2" })
	assert.False(t, msgs[len(msgs)-1].OK)
	assert.Contains(t, msgs[len(msgs)-1].Error, "step 100 was not played")

	sendCmd(t, p, c, "e1", "end", nil)
	p.wait(t, 30*time.Second)

	// A start that names no time and no step of the protocol.
	out, err := cueroom(t, "replay", "--no-window", "--listen", "127.0.0.1:0", "--at", "later", run.dir).CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.ExitCode())
	assert.Contains(t, string(out), `--at "later": give seconds`)

	// The protocol's media moved: the error says where to point --media.
	moved := copySession(t, run.dir)
	meta, err := os.ReadFile(filepath.Join(moved, "session.json"))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(meta, &m))
	m["extra"].(map[string]any)["protocol_file"] = "/nowhere/mine.yaml"
	meta, err = json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(moved, "session.json"), meta, 0o600))
	out, err = cueroom(t, "replay", "--no-window", "--listen", "127.0.0.1:0", moved).CombinedOutput()
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.ExitCode())
	assert.Contains(t, string(out), "--media DIR")
	// ... and with --media it plays (here: the demo folder it came from).
	r := startReplay(t, "--no-window", "--paused", "--media", "../../assets/demo", moved)
	rc := r.dial(t)
	readUntil(t, rc, 10*time.Second, func(m feedMsg) bool { return m.Type == "state" })
	sendCmd(t, r, rc, "e", "end", nil)
	r.wait(t, 10*time.Second)
}

// trimAfterEnd keeps the events up to and including session_end (the
// offsets after it come with it).
func trimAfterEnd(kinds []string) []string {
	for i, k := range kinds {
		if k == string(event.KindSessionEnd) {
			return kinds[:i+1]
		}
	}
	return kinds
}

// TestReplayDashboardInChromium replays a real session with no window and
// drives the dashboard in Chromium (engine/feed/ui/test/replay.test.mjs).
func TestReplayDashboardInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	ui := filepath.Join("..", "..", "engine", "feed", "ui")
	if _, err := os.Stat(filepath.Join(ui, "node_modules", "playwright-core")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("engine/feed/ui/node_modules is missing (CI is set, so this is an error): run npm ci --prefix engine/feed/ui")
		}
		t.Skip("engine/feed/ui/node_modules missing: run npm ci --prefix engine/feed/ui")
	}
	node, err := exec.LookPath("node")
	require.NoError(t, err)
	run := recordedShort(t)
	rec, err := record.Open(run.dir)
	require.NoError(t, err)
	var bottle time.Duration
	for _, e := range rec.Events {
		if e.Kind() == event.KindStepStart && eventtest.Field(e, "id") == "bottle" {
			bottle = e.T
			break
		}
	}
	p := startReplay(t, "--no-window", "--paused", run.dir)
	cmd := exec.Command(node, "--test", "--test-reporter=spec", filepath.Join(ui, "test", "replay.test.mjs"))
	cmd.Env = append(os.Environ(), "REPLAY_URL="+p.url, fmt.Sprintf("REPLAY_BOTTLE_AT=%.3f", bottle.Seconds()),
		"CHROMIUM=/usr/bin/chromium", "FEED_SHOTS="+os.Getenv("FEED_SHOTS"))
	out, err := cmd.CombinedOutput()
	t.Logf("node --test:\n%s", out)
	require.NoError(t, err, "the browser test failed (output above)")
}

func TestReplayBadInput(t *testing.T) {
	foreign := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("hello"), 0o600))
	session := exportSession(t) // a recording whose protocol is not a runnable one
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no folder", []string{filepath.Join(foreign, "nope")}, "nope"},
		{"foreign folder", []string{foreign}, "session.json"},
		{"too fast", []string{"--speed", "32", session}, "--speed 32"},
		{"two folders", []string{session, session}, "one session folder"},
		{"negative window", []string{"--height", "0", session}, "--height 0"},
		{"protocol without media", []string{"--no-window", session}, "protocol"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cmd := cueroom(t, append([]string{"replay", "--listen", "127.0.0.1:0", "--no-sound"}, c.args...)...)
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, "stderr: %s", stderr.String())
			assert.Equal(t, 2, ee.ExitCode(), "stderr: %s", stderr.String())
			assert.Contains(t, stderr.String(), c.want)
			assert.NotContains(t, stderr.String(), "panic")
		})
	}
}

package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/record"
)

// TestRoomArchivesOnTheHub: a clinic on one machine (loopback, no
// credentials): `cueroom hub`, a room that joins it with `run --hub`, and
// `cueroom archive ls|get`: the session the room recorded is listed, fetched
// byte for byte, and reports like the local one; its session.json says
// where it was archived.
func TestRoomArchivesOnTheHub(t *testing.T) {
	data := t.TempDir()
	h := cueroom(t, "hub", "--data", data, "--listen", "127.0.0.1:0", "--nats", "127.0.0.1:0")
	out, err := h.StdoutPipe()
	require.NoError(t, err)
	var herr strings.Builder
	h.Stderr = &herr
	require.NoError(t, h.Start())
	t.Cleanup(func() { _ = h.Process.Signal(os.Interrupt); _ = h.Wait() })
	var natsURL string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if m := regexp.MustCompile(`stations and archive: (\S+)`).FindStringSubmatch(sc.Text()); m != nil {
			natsURL = m[1]
			break
		}
	}
	if natsURL == "" {
		// Only once it has exited may its stderr be read.
		_ = h.Process.Kill()
		_ = h.Wait()
		t.Fatalf("the hub printed no URL; stderr: %s", herr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()

	p := startRun(t, t.TempDir(), "--hub", natsURL, "--station", "room1", "--site", "clinic", "../../assets/demo/short.yaml")
	p.wait(t, 2*time.Minute) // the short protocol ends by itself, then the session is archived

	s, err := record.Open(p.dir)
	require.NoError(t, err)
	arch, ok := s.Meta.Extra["archive"].(map[string]any)
	require.True(t, ok, "session.json records the archive: %v", s.Meta.Extra)
	assert.NotEqual(t, true, arch["pending"], "archived, not queued: %v", arch)

	var ls bytes.Buffer
	cmd := cueroom(t, "archive", "ls", "--hub", natsURL)
	cmd.Stdout = &ls
	require.NoError(t, cmd.Run())
	name := filepath.Base(p.dir)
	assert.Contains(t, ls.String(), "room1")
	assert.Contains(t, ls.String(), name)

	dest := filepath.Join(t.TempDir(), "fetched")
	get := cueroom(t, "archive", "get", "--hub", natsURL, "clinic/room1/"+name, "--to", dest)
	var gerr strings.Builder
	get.Stderr = &gerr
	require.NoError(t, get.Run(), gerr.String())
	// Byte for byte, but for session.json, which gained the archive record
	// after it was archived.
	require.NoError(t, filepath.WalkDir(p.dir, func(path string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(p.dir, path)
		if d.IsDir() || rel == record.MetaFile || strings.HasPrefix(filepath.Base(path), ".") {
			return nil
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(dest, rel))
		require.NoError(t, err, "fetched %s", rel)
		assert.True(t, bytes.Equal(want, got), "%s differs", rel)
		return nil
	}))
	var local, fetched bytes.Buffer
	var e1, e2 bytes.Buffer
	require.NoError(t, reportCmd([]string{"--json", p.dir}, &local, &e1), e1.String())
	require.NoError(t, reportCmd([]string{"--json", dest}, &fetched, &e2), e2.String())
	strip := regexp.MustCompile(`"(generated|dir)": "[^"]*"`)
	assert.Equal(t, string(strip.ReplaceAll(local.Bytes(), nil)), string(strip.ReplaceAll(fetched.Bytes(), nil)), "the fetched session reports like the local one")
}

// TestRoomRunsWithoutItsHub: a hub that does not answer leaves the room
// running on its own, recording as always, and says so.
func TestRoomRunsWithoutItsHub(t *testing.T) {
	p := startRun(t, t.TempDir(), "--hub", "nats://127.0.0.1:1", "--station", "room2", "../../assets/demo/short.yaml")
	p.wait(t, 2*time.Minute)
	assert.Contains(t, p.stderr.String(), "running standalone")
	s, err := record.Open(p.dir)
	require.NoError(t, err)
	assert.True(t, s.Complete)
	assert.NotEmpty(t, s.Samples["bitalino"])
}

package hub_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/hub"
	"github.com/cueroom/cueroom/hub/archive"
	"github.com/cueroom/cueroom/hub/station"
	"github.com/cueroom/cueroom/hub/wire"
	"github.com/cueroom/cueroom/internal/leakcheck"
)

// sessionFolder makes a session-like folder: session.json, a recording
// larger than an Object Store chunk, a sub-folder, an empty file.
func sessionFolder(t *testing.T, name string) string {
	dir := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "exports", "bids"), 0o755))
	r := rand.New(rand.NewPCG(1, uint64(len(name))))
	rec := make([]byte, 700_000)
	for i := range rec {
		rec[i] = byte(r.UintN(256))
	}
	files := map[string][]byte{
		"session.json":                 []byte(`{"format":"cueroom-session/1","start":"2026-12-06T13:06:42.617828151Z"}` + "\n"),
		"data.rec":                     rec,
		"audit.jsonl":                  nil,
		"exports/bids/sub-01_eeg.json": []byte(`{"x":1}`),
	}
	for p, b := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.FromSlash(p)), b, 0o644))
	}
	return dir
}

// sameTree fails unless a and b hold the same files with the same bytes.
func sameTree(t *testing.T, a, b string) {
	t.Helper()
	read := func(root string) map[string][]byte {
		out := map[string][]byte{}
		require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			out[rel], err = os.ReadFile(p)
			return err
		}))
		return out
	}
	fa, fb := read(a), read(b)
	require.Equal(t, len(fa), len(fb), "files")
	for p, x := range fa {
		y, ok := fb[p]
		require.True(t, ok, "%s missing", p)
		require.True(t, bytes.Equal(x, y), "%s differs", p)
	}
}

func TestArchivePutListGet(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := startHub(t, t.TempDir(), "")
	n := startStation(t, h.NATSURL(), "room1", storeOf(t, "room1"))
	require.NoError(t, n.st.Wait(ctx, connected))
	dir := sessionFolder(t, "2026-12-06_130642_alcohol")
	rec, err := n.st.Archive(ctx, dir)
	require.NoError(t, err)
	assert.False(t, rec.Pending, rec.Error)
	assert.Equal(t, 4, rec.Files)
	assert.EqualValues(t, 700_000+7+72, rec.Size)
	assert.Equal(t, "clinic/room1/2026-12-06_130642_alcohol.manifest.json", rec.Object)

	// Again: nothing changes, nothing is sent twice.
	rec2, err := n.st.Archive(ctx, dir)
	require.NoError(t, err)
	rec2.Hub = rec.Hub
	assert.Equal(t, rec.SHA256, rec2.SHA256)
	assert.True(t, rec.At.Equal(rec2.At))
	// A changed folder is not archived over the first.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "audit.jsonl"), []byte("changed\n"), 0o644))
	_, err = archive.Put(ctx, n.st.Conn(), "clinic", "room1", dir)
	require.ErrorContains(t, err, "archived already with other content")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "audit.jsonl"), nil, 0o644))

	c, err := archive.Dial(ctx, h.NATSURL(), "")
	require.NoError(t, err)
	defer c.Close()
	ls, err := archive.List(ctx, c.NC)
	require.NoError(t, err)
	require.Len(t, ls, 1)
	assert.Equal(t, archive.Entry{Site: "clinic", Station: "room1", Session: "2026-12-06_130642_alcohol",
		Start: time.Date(2026, 12, 6, 13, 6, 42, 617828151, time.UTC), Size: rec.Size, Files: 4,
		Bucket: wire.StationBucket("clinic", "room1")}, ls[0])

	dest := filepath.Join(t.TempDir(), "fetched")
	require.NoError(t, archive.Get(ctx, c.NC, "2026-12-06_130642_alcohol", dest))
	sameTree(t, dir, dest)
	require.ErrorContains(t, archive.Get(ctx, c.NC, "2026-12-06_130642_alcohol", dest), "not empty")
	require.ErrorContains(t, archive.Get(ctx, c.NC, "nope", filepath.Join(t.TempDir(), "x")), "no session \"nope\"")
}

// A session that ends while the hub is down is archived when it is back.
func TestArchiveWaitsForTheHub(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	data, addr := t.TempDir(), freePort(t)
	done := make(chan archive.Record, 1)
	n := startStation(t, "nats://"+addr, "room1", storeOf(t, "room1"), func(c *station.Config) {
		c.OnArchived = func(dir string, r archive.Record) { done <- r }
	})
	require.NoError(t, n.st.Wait(ctx, func(s station.Status) bool { return s.Hub == station.Offline }))
	dir := sessionFolder(t, "s1")
	rec, err := n.st.Archive(ctx, dir)
	require.NoError(t, err)
	assert.True(t, rec.Pending)
	assert.Contains(t, rec.Error, "offline")

	h := startHub(t, data, addr)
	select {
	case r := <-done:
		assert.False(t, r.Pending)
		assert.Equal(t, 4, r.Files)
	case <-ctx.Done():
		t.Fatal("the queued session was not archived once the hub was back")
	}
	ls, err := archive.List(ctx, h.Conn())
	require.NoError(t, err)
	require.Len(t, ls, 1)
	dest := filepath.Join(t.TempDir(), "s1")
	require.NoError(t, archive.Get(ctx, h.Conn(), "clinic/room1/s1", dest))
	sameTree(t, dir, dest)
}

// With credentials: a station may put, a reader may list and get, and
// wrong credentials are refused with a clear message.
func TestArchiveWithCredentials(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := startHub(t, t.TempDir(), "", func(c *hub.Config) { c.TLS = true })
	sc, err := h.AddStation("clinic", "room1")
	require.NoError(t, err)
	rc, err := h.AddReader()
	require.NoError(t, err)
	n := startStation(t, h.NATSURL(), "room1", storeOf(t, "room1"), func(c *station.Config) { c.Creds = sc })
	require.NoError(t, n.st.Wait(ctx, connected))
	dir := sessionFolder(t, "s2")
	rec, err := n.st.Archive(ctx, dir)
	require.NoError(t, err)
	require.False(t, rec.Pending, rec.Error)

	assert.Equal(t, wire.StationBucket("clinic", "room1"), rec.Bucket)

	// A station may not purge (or delete) its archive.
	js, err := jetstream.NewWithDomain(n.st.Conn(), "hub")
	require.NoError(t, err)
	bucket, err := js.Stream(ctx, "OBJ_"+rec.Bucket)
	require.NoError(t, err)
	pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
	require.Error(t, bucket.Purge(pctx))
	require.Error(t, js.DeleteStream(pctx, "OBJ_"+rec.Bucket))
	pcancel()

	c, err := archive.Dial(ctx, h.NATSURL(), rc)
	require.NoError(t, err)
	defer c.Close()
	ls, err := archive.List(ctx, c.NC)
	require.NoError(t, err)
	require.Len(t, ls, 1)
	dest := filepath.Join(t.TempDir(), "s2")
	require.NoError(t, archive.Get(ctx, c.NC, "s2", dest))
	sameTree(t, dir, dest)
	// A reader cannot write.
	_, err = archive.Put(ctx, c.NC, "clinic", "room9", dir)
	require.Error(t, err)

	short, cancel2 := context.WithTimeout(ctx, 10*time.Second)
	defer cancel2()
	_, err = archive.Dial(short, h.NATSURL(), sc+".missing")
	require.ErrorContains(t, err, "--creds")
	_, err = archive.Dial(short, h.NATSURL(), "")
	require.ErrorContains(t, err, "refused the connection (no --creds given): its TLS certificate is not trusted")
	_, err = archive.Dial(short, strings.Replace(h.NATSURL(), "tls:", "nats:", 1), "")
	require.ErrorContains(t, err, "refused the connection (no --creds given)")
}

// Each station writes its own archive bucket and no other: room1 cannot
// put, overwrite or forge room2's sessions; its own archive works; a
// reader lists and fetches both.
func TestArchiveIsPerStation(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	h := startHub(t, t.TempDir(), "", func(c *hub.Config) { c.TLS = true })
	c1, err := h.AddStation("clinic", "room1")
	require.NoError(t, err)
	c2, err := h.AddStation("clinic", "room2")
	require.NoError(t, err)
	rc, err := h.AddReader()
	require.NoError(t, err)
	s1 := startStation(t, h.NATSURL(), "room1", storeOf(t, "1"), func(c *station.Config) { c.Creds = c1 })
	s2 := startStation(t, h.NATSURL(), "room2", storeOf(t, "2"), func(c *station.Config) { c.Creds = c2 })
	require.NoError(t, s1.st.Wait(ctx, connected))
	require.NoError(t, s2.st.Wait(ctx, connected))

	dir2 := sessionFolder(t, "two")
	rec2, err := s2.st.Archive(ctx, dir2)
	require.NoError(t, err)
	require.False(t, rec2.Pending, rec2.Error)
	hjs, err := jetstream.New(h.Conn())
	require.NoError(t, err)
	obj2 := "OBJ_" + wire.StationBucket("clinic", "room2")
	msgs := func() uint64 {
		s, err := hjs.Stream(ctx, obj2)
		require.NoError(t, err)
		info, err := s.Info(ctx)
		require.NoError(t, err)
		return info.State.Msgs
	}
	before := msgs()

	// Through the Object Store client: room2's bucket is not there for room1.
	short, scancel := context.WithTimeout(ctx, 3*time.Second)
	_, err = archive.Put(short, s1.st.Conn(), "clinic", "room2", sessionFolder(t, "forged"))
	scancel()
	require.Error(t, err)
	js1, err := jetstream.NewWithDomain(s1.st.Conn(), wire.HubDomain)
	require.NoError(t, err)
	short, scancel = context.WithTimeout(ctx, 3*time.Second)
	_, err = js1.ObjectStore(short, wire.StationBucket("clinic", "room2"))
	scancel()
	require.Error(t, err)

	// Raw: a chunk and a meta message that would replace room2's manifest.
	name := "clinic/room2/two" + archive.ManifestSuffix
	meta := nats.NewMsg("$O." + wire.StationBucket("clinic", "room2") + ".M." + base64.URLEncoding.EncodeToString([]byte(name)))
	meta.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	meta.Data = []byte(`{"name":"` + name + `","bucket":"x","nuid":"FORGED","size":1,"chunks":1}`)
	require.NoError(t, s1.st.Conn().PublishMsg(meta))
	require.NoError(t, s1.st.Conn().Publish("$O."+wire.StationBucket("clinic", "room2")+".C.FORGED", []byte("x")))
	require.NoError(t, s1.st.Conn().Flush())

	// room1's own archive works (and its messages follow the spoof on the
	// same leaf connection: when it is done, the spoof was dealt with).
	dir1 := sessionFolder(t, "one")
	rec1, err := s1.st.Archive(ctx, dir1)
	require.NoError(t, err)
	require.False(t, rec1.Pending, rec1.Error)
	assert.Equal(t, before, msgs(), "nothing of room1's reached room2's bucket")

	// A manifest in room1's own bucket that claims to be room2's is not listed.
	obs1, err := js1.ObjectStore(ctx, wire.StationBucket("clinic", "room1"))
	require.NoError(t, err)
	forged := `{"format":"cueroom-archive/1","site":"clinic","station":"room2","session":"fake","files":[]}`
	_, err = obs1.PutBytes(ctx, "clinic/room2/fake"+archive.ManifestSuffix, []byte(forged))
	require.NoError(t, err)

	c, err := archive.Dial(ctx, h.NATSURL(), rc)
	require.NoError(t, err)
	defer c.Close()
	ls, err := archive.List(ctx, c.NC)
	require.NoError(t, err)
	var ids []string
	for _, e := range ls {
		ids = append(ids, e.ID())
	}
	assert.ElementsMatch(t, []string{"clinic/room1/one", "clinic/room2/two"}, ids)
	for id, dir := range map[string]string{"clinic/room1/one": dir1, "clinic/room2/two": dir2} {
		dest := filepath.Join(t.TempDir(), "got")
		require.NoError(t, archive.Get(ctx, c.NC, id, dest))
		sameTree(t, dir, dest)
	}
}

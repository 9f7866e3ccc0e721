package hub_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/hub"
	"github.com/cueroom/cueroom/hub/station"
	"github.com/cueroom/cueroom/hub/wire"
	"github.com/cueroom/cueroom/internal/leakcheck"
)

// logs collects what a station says.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimSpace(strings.ReplaceAll(sprintf(format, args...), "\n", " ")))
}

func (l *logs) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func TestUnreachableHubRunsStandalone(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	addr := freePort(t) // nothing listens there
	var l logs
	start := time.Now()
	n := startStation(t, "nats://"+addr, "room1", storeOf(t, "room1"), func(c *station.Config) { c.Logf = l.logf })
	assert.Less(t, time.Since(start), 5*time.Second, "Start does not wait for the hub")
	require.NoError(t, n.st.Wait(ctx, func(s station.Status) bool { return s.Hub == station.Offline }))
	assert.Contains(t, l.all(), "hub nats://"+addr+" not reachable: running standalone; the backlog will flow when it returns")
	assert.Equal(t, 1, strings.Count(l.all(), "not reachable"), "said once")
	n.samples(100) // the session goes on, into the local stream
	n.bus.Close()
	require.NoError(t, n.st.Close())
	st := n.st.Status()
	assert.EqualValues(t, 0, st.Failed)
	assert.GreaterOrEqual(t, st.Published, uint64(3), "the stream description, samples and an event")
}

func TestStationNamesAreSubjectTokens(t *testing.T) {
	for _, bad := range []string{"", "room.1", "room*", "room>", "room 1", "röom", strings.Repeat("x", 65)} {
		_, err := station.Start(context.Background(), station.Config{Station: bad, StoreDir: t.TempDir()}, bus.New())
		require.Error(t, err, "%q", bad)
		assert.Contains(t, err.Error(), "--station", "%q", bad)
	}
	_, err := station.Start(context.Background(), station.Config{Site: "a.b", Station: "ok", StoreDir: t.TempDir()}, bus.New())
	require.ErrorContains(t, err, "--site")
	require.NoError(t, wire.ValidName("--station", "Room_2-b"))
}

func TestSecondStationWithTheSameNameIsRefused(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := startHub(t, t.TempDir(), "")
	first := startStation(t, h.NATSURL(), "room1", storeOf(t, "a"))
	require.NoError(t, first.st.Wait(ctx, connected))
	var l logs
	second := startStation(t, h.NATSURL(), "room1", storeOf(t, "b"), func(c *station.Config) { c.Logf = l.logf })
	require.NoError(t, second.st.Wait(ctx, func(s station.Status) bool { return s.Hub == station.Refused }))
	assert.Contains(t, second.st.Status().Error, "another station named clinic/room1 is connected to this hub")
	assert.Contains(t, l.all(), "give this one another name (--station)")
	// The first is not disturbed; the second records on, alone.
	first.samples(200)
	second.samples(200)
	waitFor(ctx, t, "the first station's samples", func() (bool, string) {
		seqs, _ := hubSamples(ctx, t, h, "clinic", "room1")
		return len(seqs) == 200, itoa(len(seqs))
	})
	assert.Equal(t, station.Connected, first.st.Status().Hub)

	// The same station again (same store: same id) is itself, not a second.
	first.close()
	again := startStation(t, h.NATSURL(), "room1", first.st.StoreDir())
	require.NoError(t, again.st.Wait(ctx, connected))
}

func TestCredentialsTLSAndPermissions(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := startHub(t, t.TempDir(), "", func(c *hub.Config) { c.TLS = true })
	require.True(t, strings.HasPrefix(h.NATSURL(), "tls://"), h.NATSURL())
	require.NotEmpty(t, h.Fingerprint())
	c1, err := h.AddStation("clinic", "room1")
	require.NoError(t, err)
	c2, err := h.AddStation("clinic", "room2")
	require.NoError(t, err)
	cr, err := wire.ReadCreds(c1)
	require.NoError(t, err)
	assert.Equal(t, h.Fingerprint(), cr.Fingerprint, "the creds pin the hub's certificate")

	s1 := startStation(t, h.NATSURL(), "room1", storeOf(t, "1"), func(c *station.Config) { c.Creds = c1 })
	s2 := startStation(t, h.NATSURL(), "room2", storeOf(t, "2"), func(c *station.Config) { c.Creds = c2 })
	require.NoError(t, s1.st.Wait(ctx, connected))
	require.NoError(t, s2.st.Wait(ctx, connected))
	s1.samples(300)
	waitFor(ctx, t, "room1 over TLS", func() (bool, string) {
		seqs, _ := hubSamples(ctx, t, h, "clinic", "room1")
		return len(seqs) == 300, itoa(len(seqs))
	})

	// room1 cannot speak for room2, nor hear room2's commands.
	spoof := make(chan *nats.Msg, 1)
	sub, err := h.Conn().ChanSubscribe("cueroom.clinic.room2.events", spoof)
	require.NoError(t, err)
	defer sub.Unsubscribe()
	require.NoError(t, h.Conn().Flush())
	require.NoError(t, s1.st.Conn().Publish("cueroom.clinic.room2.events", []byte(`{"kind":"marker"}`)))
	require.NoError(t, s1.st.Conn().Publish("cueroom.clinic.room1.events", []byte(`{"kind":"marker"}`)))
	require.NoError(t, s1.st.Conn().Flush())
	// A message of room2's own, sent after the spoof, arrives; the spoof never did.
	s2.samples(1)
	got := <-spoof
	assert.Contains(t, string(got.Data), `"marker"`)
	assert.Contains(t, string(got.Data), `"after 1"`, "the first message on room2's subject is room2's own")

	// Nor answer the hub's JetStream requests to room2's domain (replies
	// are scoped by domain): a reply of room1's own domain gets through, one
	// for room2's never does.
	cr2, err := wire.ReadCreds(c2)
	require.NoError(t, err)
	replies := make(chan *nats.Msg, 4)
	for _, d := range []string{wire.Domain(cr2.Instance), wire.Domain(cr.Instance)} {
		rsub, err := h.Conn().ChanSubscribe("$JSC.R."+d+".x.>", replies)
		require.NoError(t, err)
		defer rsub.Unsubscribe()
	}
	require.NoError(t, h.Conn().Flush())
	// The hub's interest reaches room1's server a moment later: send both
	// until one arrives (the spoof, sent first each time, would be first).
	tk := time.NewTicker(50 * time.Millisecond)
	defer tk.Stop()
	for got := false; !got; {
		require.NoError(t, s1.st.Conn().Publish("$JSC.R."+wire.Domain(cr2.Instance)+".x.CUEROOM.hub.1", []byte("spoof")))
		require.NoError(t, s1.st.Conn().Publish("$JSC.R."+wire.Domain(cr.Instance)+".x.CUEROOM.hub.1", []byte("own")))
		select {
		case m := <-replies:
			assert.Equal(t, "own", string(m.Data), m.Subject)
			got = true
		case <-tk.C:
		case <-ctx.Done():
			t.Fatal("room1's reply on its own domain did not reach the hub")
		}
	}

	// Commands reach the station they are for, and only it: room1 hears
	// nothing of room2's (its own command, answered after, comes in order
	// on the same leaf connection).
	spy, err := s1.st.Conn().SubscribeSync("cueroom.clinic.room2.>")
	require.NoError(t, err)
	defer spy.Unsubscribe()
	spyFC, err := s1.st.Conn().SubscribeSync("$JS.FC." + wire.Domain(cr2.Instance) + ".>")
	require.NoError(t, err)
	defer spyFC.Unsubscribe()
	require.NoError(t, s1.st.Conn().Flush())
	cmd, err := h.Command(ctx, "clinic", "room2", []byte(`{"cmd":"pause"}`))
	require.NoError(t, err)
	assert.Contains(t, string(cmd), "no commands", "no OnCommand: refused, but answered")
	s2.samples(2000) // room2's stream flows to the hub (flow control and all)
	waitFor(ctx, t, "room2's samples", func() (bool, string) {
		seqs, _ := hubSamples(ctx, t, h, "clinic", "room2")
		return len(seqs) == 2001, itoa(len(seqs))
	})
	_, err = h.Command(ctx, "clinic", "room1", []byte(`{"cmd":"pause"}`))
	require.NoError(t, err)
	n, _, _ := spy.Pending()
	assert.Zero(t, n, "room1 heard room2's subjects")
	n, _, _ = spyFC.Pending()
	assert.Zero(t, n, "room1 heard room2's flow control")

	// Wrong password: refused at connect, said clearly.
	bad := cr
	bad.Password = "wrong"
	badFile := filepath.Join(t.TempDir(), "bad.creds")
	require.NoError(t, wire.WriteCreds(badFile, bad))
	var l logs
	s3 := startStation(t, h.NATSURL(), "room1", storeOf(t, "3"), func(c *station.Config) { c.Creds = badFile; c.Logf = l.logf })
	require.NoError(t, s3.st.Wait(ctx, func(s station.Status) bool { return s.Hub == station.Refused }))
	assert.Contains(t, s3.st.Status().Error, "refused this station's connection (--creds "+badFile+"): authorization violation")
	assert.Contains(t, l.all(), "running standalone")
	assert.Equal(t, station.Connected, s1.st.Status().Hub, "the real room1 stays")

	// Another station's creds are refused before dialling.
	_, err = station.Start(ctx, station.Config{Site: "clinic", Station: "room3", Hub: h.NATSURL(), Creds: c1, StoreDir: t.TempDir()}, bus.New())
	require.ErrorContains(t, err, "credentials of station clinic/room1, not clinic/room3")
	_ = os.Remove(badFile)
}

func TestHubStartErrors(t *testing.T) {
	leakcheck.Check(t)
	_, err := hub.Start(hub.Config{NATSListen: "0.0.0.0:0", MonitorListen: "-", DataDir: t.TempDir()})
	require.ErrorContains(t, err, "--add-station", "beyond loopback without credentials")
	_, err = hub.Start(hub.Config{NATSListen: "127.0.0.1", DataDir: t.TempDir()})
	require.ErrorContains(t, err, "HOST:PORT")
	_, err = hub.Start(hub.Config{NATSListen: "127.0.0.1:0"})
	require.ErrorContains(t, err, "--data")
	h := startHub(t, t.TempDir(), "")
	busy := strings.TrimPrefix(h.NATSURL(), "nats://")
	start := time.Now()
	_, err = hub.Start(hub.Config{NATSListen: busy, MonitorListen: "-", DataDir: t.TempDir()})
	require.Error(t, err, "the port is taken")
	assert.Less(t, time.Since(start), 20*time.Second)
}

package hub_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/hub"
	"github.com/cueroom/cueroom/hub/station"
	"github.com/cueroom/cueroom/internal/leakcheck"
)

func connected(s station.Status) bool { return s.Hub == station.Connected }

// checkOnce says whether seqs are 0..n-1, each once, in order.
func checkOnce(t *testing.T, name string, seqs []uint32, n int) {
	t.Helper()
	require.Len(t, seqs, n, "%s: samples on the hub", name)
	for i, s := range seqs {
		if s != uint32(i) {
			t.Fatalf("%s: sample %d on the hub is number %d: lost or duplicated", name, i, s)
		}
	}
}

func TestThreeStationsReachTheHub(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Stale after a minute: a loaded machine may take seconds to count.
	h := startHub(t, t.TempDir(), "", func(c *hub.Config) { c.Stale, c.Offline = time.Minute, 2*time.Minute })
	names := []string{"room1", "room2", "room3"}
	var nodes []*node
	for _, n := range names {
		nodes = append(nodes, startStation(t, h.NATSURL(), n, storeOf(t, n)))
	}
	for _, n := range nodes {
		require.NoError(t, n.st.Wait(ctx, connected))
	}
	for round := 0; round < 5; round++ {
		for _, n := range nodes {
			n.samples(500)
		}
	}
	for _, n := range nodes {
		waitFor(ctx, t, n.name+" on the hub", func() (bool, string) {
			seqs, evs := hubSamples(ctx, t, h, "clinic", n.name)
			return len(seqs) == int(n.seq) && evs == n.evs, "samples " + itoa(len(seqs)) + "/" + itoa(int(n.seq))
		})
		seqs, evs := hubSamples(ctx, t, h, "clinic", n.name)
		checkOnce(t, n.name, seqs, int(n.seq))
		assert.Equal(t, n.evs, evs)
		ss, err := h.Stream(ctx, "clinic", n.name)
		require.NoError(t, err)
		assert.EqualValues(t, 5, ss.Subjects["cueroom.clinic."+n.name+".events"])
		assert.EqualValues(t, 1, ss.Subjects["cueroom.clinic."+n.name+".streams"])
	}
	tiles := h.Stations()
	require.Len(t, tiles, 3)
	for i, tl := range tiles {
		assert.Equal(t, names[i], tl.Station)
		assert.Equal(t, "live", tl.Conn)
		assert.EqualValues(t, 2500, tl.Samples, "the monitor saw every sample live")
	}
}

// The hub goes down mid-session and comes back on the same address with
// the same data: the stations record on, and every sample reaches the hub
// exactly once (the backlog sourced when the leaf nodes are back).
func TestHubRestartLosesNothing(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	data, addr := t.TempDir(), freePort(t)
	h := startHub(t, data, addr)
	var nodes []*node
	for _, n := range []string{"room1", "room2", "room3"} {
		nodes = append(nodes, startStation(t, h.NATSURL(), n, storeOf(t, n)))
	}
	for _, n := range nodes {
		require.NoError(t, n.st.Wait(ctx, connected))
		n.samples(1000)
	}
	for _, n := range nodes {
		waitFor(ctx, t, n.name+" before the outage", func() (bool, string) {
			seqs, _ := hubSamples(ctx, t, h, "clinic", n.name)
			return len(seqs) == int(n.seq), itoa(len(seqs)) + "/" + itoa(int(n.seq))
		})
	}

	require.NoError(t, h.Close())
	for _, n := range nodes {
		require.NoError(t, n.st.Wait(ctx, func(s station.Status) bool { return s.Hub == station.Offline }))
		for r := 0; r < 4; r++ {
			n.samples(1000) // recorded locally while the hub is down
		}
	}

	h2 := startHub(t, data, addr)
	for _, n := range nodes {
		require.NoError(t, n.st.Wait(ctx, connected))
		n.samples(1000) // and live again
	}
	for _, n := range nodes {
		waitFor(ctx, t, n.name+" after the outage", func() (bool, string) {
			seqs, evs := hubSamples(ctx, t, h2, "clinic", n.name)
			return len(seqs) >= int(n.seq) && evs >= n.evs, itoa(len(seqs)) + "/" + itoa(int(n.seq))
		})
		seqs, evs := hubSamples(ctx, t, h2, "clinic", n.name)
		checkOnce(t, n.name, seqs, int(n.seq))
		assert.Equal(t, n.evs, evs, "%s: events on the hub", n.name)
	}
}

// A station restarted with the same store (a new session in the same
// room) goes on where it was: the hub holds each sample once.
func TestStationRestartKeepsItsPlace(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := startHub(t, t.TempDir(), "")
	store := storeOf(t, "room1")
	a := startStation(t, h.NATSURL(), "room1", store)
	require.NoError(t, a.st.Wait(ctx, connected))
	a.samples(700)
	a.close()
	b := startStation(t, h.NATSURL(), "room1", store)
	b.seq, b.t = a.seq, a.t
	require.NoError(t, b.st.Wait(ctx, connected))
	b.samples(300)
	waitFor(ctx, t, "both sessions on the hub", func() (bool, string) {
		seqs, _ := hubSamples(ctx, t, h, "clinic", "room1")
		return len(seqs) >= 1000, itoa(len(seqs))
	})
	seqs, evs := hubSamples(ctx, t, h, "clinic", "room1")
	checkOnce(t, "room1", seqs, 1000)
	assert.Equal(t, 2, evs)
}

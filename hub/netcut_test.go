package hub_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/hub/station"
	"github.com/cueroom/cueroom/internal/leakcheck"
)

// cable is a loopback TCP relay between a station and the hub that the
// test can cut and mend: the network of one room failing while the hub
// stays up.
type cable struct {
	addr, to string
	mu       sync.Mutex
	ln       net.Listener
	conns    []net.Conn
	wg       sync.WaitGroup
}

func newCable(t *testing.T, to string) *cable {
	c := &cable{addr: freePort(t), to: to}
	c.mend(t)
	t.Cleanup(c.cut)
	return c
}

func (c *cable) mend(t *testing.T) {
	ln, err := net.Listen("tcp", c.addr)
	require.NoError(t, err)
	c.mu.Lock()
	c.ln = ln
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			a, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", c.to)
			if err != nil {
				a.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, a, b)
			c.mu.Unlock()
			c.wg.Add(2)
			go func() { defer c.wg.Done(); _, _ = io.Copy(a, b); a.Close() }()
			go func() { defer c.wg.Done(); _, _ = io.Copy(b, a); b.Close() }()
		}
	}()
}

func (c *cable) cut() {
	c.mu.Lock()
	if c.ln != nil {
		c.ln.Close()
		c.ln = nil
	}
	for _, x := range c.conns {
		x.Close()
	}
	c.conns = nil
	c.mu.Unlock()
	c.wg.Wait()
}

// A room's network fails while the hub runs on: the station records
// alone, and when the network is back its backlog reaches the hub once.
func TestRoomNetworkOutage(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	h := startHub(t, t.TempDir(), "")
	c := newCable(t, h.NATSURL()[len("nats://"):])
	n := startStation(t, "nats://"+c.addr, "room1", storeOf(t, "room1"))
	other := startStation(t, h.NATSURL(), "room2", storeOf(t, "room2"))
	require.NoError(t, n.st.Wait(ctx, connected))
	require.NoError(t, other.st.Wait(ctx, connected))
	n.samples(500)
	waitFor(ctx, t, "before the outage", func() (bool, string) {
		seqs, _ := hubSamples(ctx, t, h, "clinic", "room1")
		return len(seqs) == 500, itoa(len(seqs))
	})

	c.cut()
	require.NoError(t, n.st.Wait(ctx, func(s station.Status) bool { return s.Hub == station.Offline }))
	for i := 0; i < 4; i++ {
		n.samples(500)
		other.samples(100) // the other room is not affected
	}
	c.mend(t)
	require.NoError(t, n.st.Wait(ctx, connected))
	n.samples(500)
	waitFor(ctx, t, "after the outage", func() (bool, string) {
		seqs, _ := hubSamples(ctx, t, h, "clinic", "room1")
		return len(seqs) >= 3000, itoa(len(seqs))
	})
	seqs, evs := hubSamples(ctx, t, h, "clinic", "room1")
	checkOnce(t, "room1", seqs, 3000)
	require.Equal(t, 6, evs)
	seqs2, _ := hubSamples(ctx, t, h, "clinic", "room2")
	checkOnce(t, "room2", seqs2, 400)
}

package hub_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/hub"
	"github.com/cueroom/cueroom/hub/station"
	"github.com/cueroom/cueroom/hub/wire"
	"github.com/cueroom/cueroom/sensors"
)

// startHub starts a hub on loopback (a free port unless listen says one)
// and closes it when the test ends.
func startHub(t testing.TB, dir, listen string, mod ...func(*hub.Config)) *hub.Hub {
	t.Helper()
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	cfg := hub.Config{NATSListen: listen, MonitorListen: "127.0.0.1:0", DataDir: dir, Logf: t.Logf}
	for _, m := range mod {
		m(&cfg)
	}
	h, err := hub.Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	return h
}

// node is a station under test and the bus it follows.
type node struct {
	name string
	bus  *bus.Bus
	st   *station.Station
	seq  uint32 // next sample number
	t    time.Duration
	evs  int
}

func startStation(t testing.TB, hubURL, name, store string, mod ...func(*station.Config)) *node {
	t.Helper()
	b := bus.New()
	cfg := station.Config{Site: "clinic", Station: name, Hub: hubURL, StoreDir: store, Logf: t.Logf,
		BatchEvery: 20 * time.Millisecond, HubWait: time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	st, err := station.Start(context.Background(), cfg, b)
	require.NoError(t, err)
	n := &node{name: name, bus: b, st: st}
	t.Cleanup(n.close)
	b.Publish(bus.Msg{Stream: &sensors.Stream{Device: "bitalino", Kind: "bitalino", Rate: 1000,
		Channels: []sensors.Channel{{Label: "eda", Unit: "uS"}, {Label: "ecg", Unit: "mV"}}}})
	return n
}

func (n *node) close() {
	n.bus.Close()
	n.st.Close()
}

// samples publishes k BITalino-like samples (seq counts them) and an event.
func (n *node) samples(k int) {
	for i := 0; i < k; i++ {
		s := sensors.Sample{Device: "bitalino", T: n.t, Seq: n.seq, N: 2}
		s.Values[0], s.Values[1] = 5+float64(n.seq%100)/100, float64(n.seq%7)/10
		n.bus.Publish(bus.Msg{Sample: &s})
		n.seq++
		n.t += time.Millisecond
	}
	e := event.New(n.t, 0, event.Marker{By: "test", Text: fmt.Sprintf("after %d", n.seq)})
	n.bus.Publish(bus.Msg{Event: &e})
	n.evs++
}

// waitFor polls cond until it holds or ctx ends (the hub's sourcing has no
// event to wait on from outside).
func waitFor(ctx context.Context, t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	tk := time.NewTicker(50 * time.Millisecond)
	defer tk.Stop()
	for {
		ok, state := cond()
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: still not after the deadline: %s", what, state)
		case <-tk.C:
		}
	}
}

// hubSamples reads the hub's whole stream of a station and returns the
// sample numbers it holds (in order) and its event count.
func hubSamples(ctx context.Context, t testing.TB, h *hub.Hub, site, name string) (seqs []uint32, events int) {
	t.Helper()
	js, err := jetstream.New(h.Conn())
	require.NoError(t, err)
	s, err := js.Stream(ctx, wire.HubStream(site, name))
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	for got := uint64(0); got < info.State.Msgs; {
		batch, err := c.Fetch(int(min(1000, info.State.Msgs-got)), jetstream.FetchMaxWait(5*time.Second))
		require.NoError(t, err)
		for m := range batch.Messages() {
			got++
			_, _, rest, _ := wire.Parse(m.Subject())
			switch rest {
			case "samples.bitalino":
				b, err := wire.DecodeBatch(m.Data())
				require.NoError(t, err)
				for _, s := range b.Samples {
					seqs = append(seqs, s.Seq)
				}
			case "events":
				events++
			}
		}
		require.NoError(t, batch.Error())
	}
	return seqs, events
}

// freePort is a loopback port free now (for a hub restarted on the same
// address).
func freePort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func storeOf(t testing.TB, name string) string { return filepath.Join(t.TempDir(), name) }

func itoa(i int) string { return strconv.Itoa(i) }

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

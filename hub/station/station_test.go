package station

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/hub/wire"
	"github.com/cueroom/cueroom/internal/leakcheck"
	"github.com/cueroom/cueroom/sensors"
)

// Without a hub a station is its local stream: what the bus carries is
// kept, in order, samples batched, and the id survives a restart.
func TestStandaloneKeepsTheBusLocally(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	b := bus.New()
	st, err := Start(ctx, Config{Station: "room1", StoreDir: dir, State: func() any { return map[string]string{"status": "running"} }}, b)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close(); st.Close() })
	assert.Equal(t, Standalone, st.Status().Hub)
	for i := 0; i < 250; i++ {
		s := sensors.Sample{Device: "bitalino", T: time.Duration(i) * time.Millisecond, Seq: uint32(i), N: 2}
		b.Publish(bus.Msg{Sample: &s})
	}
	e := event.New(time.Second, 0, event.Marker{Text: "x"})
	b.Publish(bus.Msg{Event: &e})
	require.NoError(t, st.Wait(ctx, func(s Status) bool { return s.Published >= 3 }), "samples, the event and the state")

	js, err := jetstream.New(st.Conn())
	require.NoError(t, err)
	s, err := js.Stream(ctx, wire.StreamName)
	require.NoError(t, err)
	info, err := s.Info(ctx, jetstream.WithSubjectFilter("cueroom.>"))
	require.NoError(t, err)
	subj := wire.Subjects{Site: wire.DefaultSite, Station: "room1"}
	assert.EqualValues(t, 1, info.State.Subjects[subj.Events()])
	assert.GreaterOrEqual(t, info.State.Subjects[subj.Samples("bitalino")], uint64(1))
	_, err = st.Archive(ctx, dir)
	require.ErrorContains(t, err, "no hub")
	id := st.Instance()
	b.Close()
	require.NoError(t, st.Close())
	require.NoError(t, st.Close(), "twice is fine")

	b2 := bus.New()
	st2, err := Start(ctx, Config{Station: "room1", StoreDir: dir}, b2)
	require.NoError(t, err)
	b2.Close()
	defer st2.Close()
	assert.Equal(t, id, st2.Instance(), "the same station after a restart")
}

func TestBadHubURL(t *testing.T) {
	for _, u := range []string{"localhost:4222", "http://x:1", "nats://nohost", "nats://:"} {
		_, err := Start(context.Background(), Config{Station: "room1", Hub: u, StoreDir: t.TempDir()}, bus.New())
		require.ErrorContains(t, err, "--hub", u)
	}
}

package bus

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/internal/leakcheck"
	"github.com/cueroom/cueroom/sensors"
)

func sample(i int) Msg { return Msg{Sample: &sensors.Sample{Seq: uint32(i)}} }

func TestLosslessKeepsEverythingInOrderWhileReaderIsBlocked(t *testing.T) {
	b := New()
	sub := b.Subscribe(4, true)
	const n = 10000
	// Nobody reads while publishing: the publisher must not block.
	for i := 0; i < n; i++ {
		b.Publish(sample(i))
	}
	b.Close()
	i := 0
	for m := range sub.C {
		require.Equal(t, uint32(i), m.Sample.Seq)
		i++
	}
	assert.Equal(t, n, i)
	assert.Zero(t, sub.Dropped())
}

func TestLossyDropsAndCountsWithoutBlocking(t *testing.T) {
	b := New()
	slow := b.Subscribe(8, false)
	fast := b.Subscribe(100, true)
	for i := 0; i < 100; i++ {
		b.Publish(sample(i))
	}
	b.Close()
	got := 0
	for range slow.C {
		got++
	}
	assert.Equal(t, 8, got, "a lossy queue keeps what fits")
	assert.Equal(t, uint64(92), slow.Dropped())
	n := 0
	for range fast.C {
		n++
	}
	assert.Equal(t, 100, n, "a slow lossy reader costs the lossless one nothing")
}

func TestPublishAfterCloseAndLateSubscribe(t *testing.T) {
	b := New()
	b.Close()
	b.Publish(sample(1)) // no panic, no effect
	s := b.Subscribe(1, true)
	_, ok := <-s.C
	assert.False(t, ok, "subscribing to a closed bus gives a closed channel")
	b.Close() // idempotent
}

func TestPumpsEndAfterClose(t *testing.T) {
	leakcheck.Check(t) // a leak would leave 100 pumps behind
	for i := 0; i < 100; i++ {
		b := New()
		s := b.Subscribe(1, true)
		b.Publish(sample(i))
		b.Close()
		for range s.C {
		}
	}
}

func BenchmarkPublishLossless(b *testing.B) {
	bs := New()
	sub := bs.Subscribe(4096, true)
	done := make(chan struct{})
	go func() {
		for range sub.C {
		}
		close(done)
	}()
	m := sample(1)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		bs.Publish(m)
	}
	bs.Close()
	<-done
}

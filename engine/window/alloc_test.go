package window

import (
	"runtime"
	"testing"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/stretchr/testify/require"
)

// BenchmarkDrawAllocs counts heap allocations made by Game.Draw in the game
// loop, on a steady scene (panorama, caption band, rating scale), per frame
// (target: 0). One op is one frame.
func BenchmarkDrawAllocs(b *testing.B) {
	t := b
	n := b.N
	var perFrame []uint64
	done := make(chan struct{})
	var ms runtime.MemStats
	frames := 0
	r := newDetachedRig(t, benchProtocol, benchFS(t), Options{})
	require.Eventually(t, func() bool { return r.s.Snapshot().Prompt != nil }, 10*time.Second, time.Millisecond)
	g := r.g
	g.opt.OnFrame = nil // the rig's pixel probe is test code: leave it out
	measure := &measuringGame{g: g, after: func(allocs uint64) {
		frames++
		if frames > 30 && len(perFrame) < n { // steady state: after warm-up
			perFrame = append(perFrame, allocs)
		}
		if len(perFrame) == n {
			select {
			case <-done:
			default:
				close(done)
			}
		}
	}, ms: &ms}
	host.mu.Lock()
	host.measure = measure
	host.mu.Unlock()
	t.Cleanup(func() { host.mu.Lock(); host.measure = nil; host.mu.Unlock() })
	select {
	case <-done:
	case <-time.After(time.Duration(n+60) * time.Second):
		t.Fatal("not enough frames")
	}
	var total uint64
	for _, a := range perFrame {
		total += a
	}
	b.ReportMetric(float64(total)/float64(len(perFrame)), "allocs/frame")
}

type measuringGame struct {
	g     *Game
	after func(uint64)
	ms    *runtime.MemStats
}

func (m *measuringGame) draw(screen *ebiten.Image) {
	runtime.ReadMemStats(m.ms)
	before := m.ms.Mallocs
	m.g.Draw(screen)
	runtime.ReadMemStats(m.ms)
	m.after(m.ms.Mallocs - before)
}

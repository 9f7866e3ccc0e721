package leakcheck

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { Main(m) }

const (
	parkFunc  = "github.com/cueroom/cueroom/internal/leakcheck.park"
	startFunc = "github.com/cueroom/cueroom/internal/leakcheck.startParked"
)

//go:noinline
func park(release <-chan struct{}, parked chan<- struct{}) {
	close(parked)
	<-release
}

// startParked starts a goroutine parked in park until release closes, and
// returns once it is there; exited closes when it has ended.
//
//go:noinline
func startParked(release <-chan struct{}) (exited <-chan struct{}) {
	parked, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		park(release, parked)
	}()
	<-parked
	return done
}

func TestLeftoverFindsAndForgets(t *testing.T) {
	release := make(chan struct{})
	exited := startParked(release)
	assert.Contains(t, Leftover(20*time.Millisecond, parkFunc), "leakcheck.park(", "a parked goroutine is a leak")
	assert.Contains(t, Leftover(0, startFunc), "leakcheck.park(", "so is one its creator's name matches")
	assert.Empty(t, Leftover(0, parkFunc+"Not"), "a prefix matches the names, not the other way round")
	close(release)
	<-exited
	assert.Empty(t, Leftover(Wait, parkFunc), "a finished goroutine is no leak")
}

// Leftover waits for a goroutine on its way out instead of judging one
// sample.
func TestLeftoverWaits(t *testing.T) {
	release := make(chan struct{})
	startParked(release)
	require.NotEmpty(t, Leftover(0, parkFunc))
	time.AfterFunc(50*time.Millisecond, func() { close(release) })
	start := time.Now()
	assert.Empty(t, Leftover(Wait, parkFunc))
	assert.GreaterOrEqual(t, time.Since(start), 40*time.Millisecond)
}

func TestLeftoverSkipsTheCaller(t *testing.T) {
	assert.Empty(t, Leftover(0, "github.com/cueroom/cueroom/internal/leakcheck.TestLeftoverSkipsTheCaller"))
}

// fakeT records what the checks do with a test.
type fakeT struct {
	testing.TB
	cleanups []func()
	errors   []string
}

func (f *fakeT) Helper()           {}
func (f *fakeT) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeT) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

// end runs the cleanups as the testing package does, last-registered first.
func (f *fakeT) end() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

func TestCheck(t *testing.T) {
	t.Run("leak", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		ft := &fakeT{}
		check(ft, 50*time.Millisecond)
		startParked(release)
		ft.end()
		require.Len(t, ft.errors, 1)
		assert.Contains(t, ft.errors[0], "leakcheck.park(")
		assert.Contains(t, ft.errors[0], "created by "+startFunc)
	})
	t.Run("stopped by a later cleanup", func(t *testing.T) {
		ft := &fakeT{}
		check(ft, Wait)
		release := make(chan struct{})
		startParked(release)
		ft.Cleanup(func() { close(release) }) // does not wait for the exit
		ft.end()
		assert.Empty(t, ft.errors)
	})
	t.Run("goroutines from before are not the test's", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		startParked(release)
		ft := &fakeT{}
		check(ft, 0)
		ft.end()
		assert.Empty(t, ft.errors)
	})
}

func TestCheckFunc(t *testing.T) {
	release := make(chan struct{})
	exited := startParked(release)
	ft := &fakeT{}
	checkFunc(ft, 50*time.Millisecond, []string{parkFunc})
	ft.end()
	require.Len(t, ft.errors, 1, "it sees goroutines from before the test too")
	assert.Contains(t, ft.errors[0], "leakcheck.park(")

	ft = &fakeT{}
	checkFunc(ft, Wait, []string{parkFunc})
	ft.Cleanup(func() { close(release) })
	ft.end()
	assert.Empty(t, ft.errors)
	<-exited
}

func TestParse(t *testing.T) {
	g, ok := parse(strings.Join([]string{
		"goroutine 1030 [select, 2 minutes, locked to thread]:",
		"example.com/a/video.(*Video).run(0xc0000ae240)",
		"\t/src/video.go:415 +0x6d8",
		"example.com/a/video.glue[...](...)",
		"\t/src/video.go:20",
		"...additional frames elided...",
		"created by example.com/a/video.(*Video).Start in goroutine 1029",
		"\t/src/video.go:273 +0x19d",
	}, "\n"))
	require.True(t, ok)
	assert.Equal(t, uint64(1030), g.id)
	assert.Equal(t, []string{"example.com/a/video.(*Video).run", "example.com/a/video.glue[...]"}, g.funcs)
	assert.Equal(t, "example.com/a/video.(*Video).Start", g.creator)
	assert.True(t, g.runs([]string{"example.com/a/video.(*Video).run"}))
	assert.True(t, g.runs([]string{"example.com/a/"}))
	assert.False(t, g.runs([]string{"example.com/b/"}))
	assert.False(t, g.ignored())

	_, ok = parse("not a goroutine")
	assert.False(t, ok)

	for stack, want := range map[string]bool{
		"goroutine 3 [chan receive]:\ntesting.(*T).Run(0xc000003a40, {0x5, 0x4}, 0x1)\n\t/go/testing.go:1 +0x1\ncreated by testing.runTests in goroutine 1": true,
		"goroutine 4 [syscall]:\nos/signal.signal_recv()\n\t/go/sig.go:1 +0x1\nos/signal.loop()\ncreated by os/signal.Notify.func1.1 in goroutine 1":        true,
		"goroutine 5 [running]:\nexample.com/a.cleanup()\n\t/a.go:1 +0x1\ncreated by runtime.(*cleanupQueue).createGs in goroutine 1":                       true,
		"goroutine 6 [chan send]:\nexample.com/a.send()\n\t/a.go:1 +0x1\ncreated by example.com/a.Start in goroutine 2":                                     false,
	} {
		g, ok := parse(stack)
		require.True(t, ok, stack)
		assert.Equal(t, want, g.ignored(), stack)
	}
}

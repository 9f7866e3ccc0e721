package audio

import (
	"math"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gopxl/beep/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tone makes d of a 440 Hz sine at the output rate.
func tone(d time.Duration) *Sound {
	n := Rate.N(d)
	i := 0
	s := beep.StreamerFunc(func(buf [][2]float64) (int, bool) {
		if i >= n {
			return 0, false
		}
		k := 0
		for ; k < len(buf) && i < n; k++ {
			v := 0.5 * math.Sin(2*math.Pi*440*float64(i)/float64(Rate))
			buf[k] = [2]float64{v, v}
			i++
		}
		return k, true
	})
	return Decode(s, beep.Format{SampleRate: Rate, NumChannels: 2, Precision: 2})
}

func TestNullSinkPacesInRealTime(t *testing.T) {
	var warned []string
	var mu sync.Mutex
	o := Open(Options{NoDevice: true, Warn: func(s string) { mu.Lock(); warned = append(warned, s); mu.Unlock() }})
	defer o.Close()
	assert.Equal(t, "null", o.Sink())

	started, ended := make(chan time.Duration, 1), make(chan time.Duration, 1)
	t0 := time.Now()
	o.Play(tone(300*time.Millisecond), PlayOptions{
		OnStart: func(p time.Duration) { started <- p },
		OnEnd:   func(p time.Duration) { ended <- p },
	})
	s := <-started
	e := <-ended
	wall := time.Since(t0)
	// The voice's span on the output clock is its length, and a paced sink
	// cannot deliver 300 ms of sound in less than ~300 ms of wall time.
	assert.InDelta(t, 300, float64((e - s).Milliseconds()), 15)
	assert.GreaterOrEqual(t, wall, 280*time.Millisecond)
	assert.Equal(t, 0, o.Playing())
}

func TestStopFadesOutAndEnds(t *testing.T) {
	o := Open(Options{NoDevice: true})
	defer o.Close()
	ended := make(chan time.Duration, 1)
	started := make(chan time.Duration, 1)
	v := o.Play(tone(10*time.Second), PlayOptions{Loop: true,
		OnStart: func(p time.Duration) { started <- p },
		OnEnd:   func(p time.Duration) { ended <- p }})
	s := <-started
	o.Stop(v, 100*time.Millisecond)
	e := <-ended
	// It ended long before its 10 s: the fade, plus at most a pull or two.
	assert.Less(t, e-s, time.Second)
}

func TestCloseEndsPlayingVoices(t *testing.T) {
	o := Open(Options{NoDevice: true})
	started := make(chan struct{})
	var ends []time.Duration
	o.Play(tone(10*time.Second), PlayOptions{
		OnStart: func(time.Duration) { close(started) },
		OnEnd:   func(p time.Duration) { ends = append(ends, p) }})
	<-started
	// Queued but never mixed: it has no onset, so it gets no offset either.
	o.SetPaused(true)
	o.Play(tone(time.Second), PlayOptions{OnEnd: func(p time.Duration) { ends = append(ends, -1) }})
	require.NoError(t, o.Close())
	require.Len(t, ends, 1, "the started voice ends once, the unstarted one not at all")
	assert.Equal(t, o.Position(), ends[0], "ended at the last frame that went out")
	assert.Equal(t, 0, o.Playing())
}

func TestDrainWaitsForFades(t *testing.T) {
	o := Open(Options{NoDevice: true})
	defer o.Close()
	v := o.Play(tone(10*time.Second), PlayOptions{})
	require.Eventually(t, func() bool { o.mu.Lock(); defer o.mu.Unlock(); return v.started }, 5*time.Second, time.Millisecond)
	assert.False(t, o.Drain(0), "a 10 s tone is still playing")
	o.Stop(v, 50*time.Millisecond)
	assert.True(t, o.Drain(5*time.Second))
	assert.Equal(t, 0, o.Playing())
}

func TestPlayOffset(t *testing.T) {
	o := Open(Options{NoDevice: true})
	defer o.Close()
	snd := tone(time.Second)
	assert.Nil(t, o.Play(snd, PlayOptions{Offset: 2 * time.Second}), "a 1 s sound is over 2 s in")
	// Looping, 2.5 s in is 0.5 s into the second pass; without the loop
	// 0.8 s in leaves 0.2 s to play.
	o.SetPaused(true) // the mixer leaves voices where they are
	v := o.Play(snd, PlayOptions{Loop: true, Offset: 2500 * time.Millisecond})
	require.NotNil(t, v)
	o.mu.Lock()
	assert.Equal(t, Rate.N(500*time.Millisecond), v.seek.Position())
	o.mu.Unlock()
	o.Stop(v, time.Millisecond)
	o.SetPaused(false)
	started, ended := make(chan time.Duration, 1), make(chan time.Duration, 1)
	require.NotNil(t, o.Play(snd, PlayOptions{Offset: 800 * time.Millisecond,
		OnStart: func(p time.Duration) { started <- p }, OnEnd: func(p time.Duration) { ended <- p }}))
	s := <-started
	assert.InDelta(t, 200, float64((<-ended - s).Milliseconds()), 15)
}

func TestLoopKeepsPlaying(t *testing.T) {
	o := Open(Options{NoDevice: true})
	defer o.Close()
	snd := tone(20 * time.Millisecond)
	ended := make(chan struct{}, 1)
	v := o.Play(snd, PlayOptions{Loop: true, OnEnd: func(time.Duration) { ended <- struct{}{} }})
	// Several loop lengths later it is still playing.
	start := o.Position()
	require.Eventually(t, func() bool { return o.Position()-start > 200*time.Millisecond }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, 1, o.Playing())
	o.Stop(v, time.Millisecond)
	<-ended
}

func TestPauseFreezesVoices(t *testing.T) {
	o := Open(Options{NoDevice: true})
	defer o.Close()
	v := o.Play(tone(time.Second), PlayOptions{})
	require.Eventually(t, func() bool { o.mu.Lock(); defer o.mu.Unlock(); return v.played > 0 }, 5*time.Second, time.Millisecond)
	o.SetPaused(true)
	o.mu.Lock()
	before := v.played
	o.mu.Unlock()
	pos := o.Position()
	require.Eventually(t, func() bool { return o.Position()-pos > 100*time.Millisecond }, 5*time.Second, 5*time.Millisecond)
	o.mu.Lock()
	assert.Equal(t, before, v.played, "a paused voice must not advance")
	o.mu.Unlock()
	o.SetPaused(false)
	require.Eventually(t, func() bool { o.mu.Lock(); defer o.mu.Unlock(); return v.played > before }, 5*time.Second, time.Millisecond)
}

// TestDevicePlays runs on the real output when a sound server is there (the
// test script starts a PulseAudio null sink); otherwise it checks the
// fallback says so.
func TestDevicePlays(t *testing.T) {
	var warned []string
	var mu sync.Mutex
	o := Open(Options{Warn: func(s string) { mu.Lock(); warned = append(warned, s); mu.Unlock() }})
	defer o.Close()
	t.Logf("PULSE_SERVER=%q: sink is %s", os.Getenv("PULSE_SERVER"), o.Sink())
	ended := make(chan struct{})
	o.Play(tone(200*time.Millisecond), PlayOptions{OnEnd: func(time.Duration) { close(ended) }})
	<-ended
	mu.Lock()
	defer mu.Unlock()
	if o.Sink() == "null" {
		require.NotEmpty(t, warned, "falling back to the null sink must be announced")
	} else {
		assert.Empty(t, warned)
	}
}

func TestLoadRejectsBadFiles(t *testing.T) {
	fsys := os.DirFS(t.TempDir())
	_, err := Load(fsys, "missing.wav")
	assert.ErrorContains(t, err, "missing.wav")
}

func TestPlayStreamPullsLive(t *testing.T) {
	o := Open(Options{NoDevice: true})
	defer o.Close()
	pulled := 0
	n := Rate.N(100 * time.Millisecond)
	s := beep.StreamerFunc(func(buf [][2]float64) (int, bool) {
		if pulled >= n {
			return 0, false
		}
		k := min(len(buf), n-pulled)
		pulled += k // only what the mixer asks for: nothing is read ahead
		return k, true
	})
	started, ended := make(chan time.Duration, 1), make(chan time.Duration, 1)
	o.Play(tone(time.Millisecond), PlayOptions{}) // another voice alongside
	o.PlayStream(s, PlayOptions{Loop: true,
		OnStart: func(p time.Duration) { started <- p }, OnEnd: func(p time.Duration) { ended <- p }})
	a := <-started
	b := <-ended
	assert.InDelta(t, 100, float64((b - a).Milliseconds()), 15, "a live stream plays once, its own length (Loop ignored)")
}

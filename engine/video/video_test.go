package video

import (
	"bytes"
	"fmt"
	"image"
	"math"
	"os"
	"runtime"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/audio"
	"github.com/cueroom/cueroom/internal/leakcheck"
)

// The test clips (testdata/make.sh) are 128×72 at 25 fps; each picture
// shows its frame number in binary as six bars.
const (
	clipFrames = 50
	frameTime  = 40 * time.Millisecond
)

var testdata = os.DirFS("testdata")

// frameNumber reads the number a test clip's picture shows.
func frameNumber(img *image.RGBA) int {
	n := 0
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for k := 0; k < 6; k++ {
		if img.RGBAAt((2*k+1)*w/12, h/2).R > 128 {
			n |= 1 << k
		}
	}
	return n
}

func openClip(t testing.TB, name string) *Video {
	t.Helper()
	v, err := Open(testdata, name)
	require.NoError(t, err)
	t.Cleanup(func() { v.Close() })
	return v
}

// waitFrame asks for the picture at t until the decoder has delivered the
// one due, and returns its number.
func waitFrame(t *testing.T, v *Video, at time.Duration, want int) {
	t.Helper()
	got := -1
	require.Eventually(t, func() bool {
		img, _ := v.Frame(at)
		got = frameNumber(img)
		return got == want
	}, 5*time.Second, time.Millisecond, "at %v: want frame %d, last saw %d", at, want, got)
}

func TestOpenReadsTheFormat(t *testing.T) {
	tests := []struct {
		file  string
		audio bool
	}{
		{"clip.mpg", true},
		{"silent.mpg", false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			v := openClip(t, tt.file)
			assert.Equal(t, image.Pt(128, 72), v.Size())
			assert.Equal(t, 25.0, v.FrameRate())
			assert.Equal(t, 2*time.Second, v.Duration())
			assert.Equal(t, tt.audio, v.HasAudio())
			assert.Equal(t, tt.audio, v.Audio() != nil)
			assert.Equal(t, time.Duration(0), v.Time())
			assert.NoError(t, v.Err())
		})
	}
}

func TestFirstFrameIsReadyBeforeStart(t *testing.T) {
	v := openClip(t, "silent.mpg")
	img, changed := v.Frame(time.Second)
	assert.True(t, changed, "the first call must report a new picture")
	assert.Equal(t, 0, frameNumber(img))
	img, changed = v.Frame(time.Second)
	assert.False(t, changed)
	assert.Equal(t, 0, frameNumber(img))
}

func TestFramesComeInOrderAtTheirTimes(t *testing.T) {
	for _, file := range []string{"clip.mpg", "silent.mpg"} {
		t.Run(file, func(t *testing.T) {
			v := openClip(t, file)
			v.Start()
			for i := 0; i < clipFrames; i++ {
				due := time.Duration(i) * frameTime
				if i > 0 {
					// Just before its time the previous picture stays, even
					// though the next one may already be decoded.
					img, changed := v.Frame(due - time.Millisecond)
					require.Equal(t, i-1, frameNumber(img), "just before %v", due)
					require.False(t, changed)
				}
				waitFrame(t, v, due, i)
			}
			// After the end the last picture stays.
			img, changed := v.Frame(time.Hour)
			assert.Equal(t, clipFrames-1, frameNumber(img))
			assert.False(t, changed)
			assert.NoError(t, v.Err())
		})
	}
}

func TestLoopStartsOver(t *testing.T) {
	v := openClip(t, "silent.mpg")
	v.SetLoop(true)
	v.Start()
	// Three passes, sampled mid-frame at a few points of each.
	for pass := 0; pass < 3; pass++ {
		for _, i := range []int{0, 1, 25, 49} {
			at := time.Duration(pass)*v.Duration() + time.Duration(i)*frameTime + frameTime/2
			waitFrame(t, v, at, i)
		}
	}
	assert.NoError(t, v.Err())
}

func TestLateFramesAreSkipped(t *testing.T) {
	v := openClip(t, "silent.mpg")
	// Jumping 1.2 s ahead: the frames in between are dropped, and the one
	// due comes out. The window asks before decoding starts, so the decoder
	// knows from its first frame how late it is, whatever the load: it then
	// converts one frame in maxSkip+1 (some movement on a slow machine),
	// and only those can ever be seen on the way.
	at := 30*frameTime + frameTime/2
	img, _ := v.Frame(at)
	seen := map[int]bool{frameNumber(img): true}
	v.Start()
	require.Eventually(t, func() bool {
		img, _ := v.Frame(at)
		seen[frameNumber(img)] = true
		return frameNumber(img) == 30
	}, 5*time.Second, time.Millisecond)
	for f := range seen {
		assert.True(t, f == 0 || f == 30 || f%(maxSkip+1) == 0, "frame %d was shown, but it was late and should have been dropped (seen %v)", f, seen)
	}
	assert.LessOrEqual(t, len(seen), 2+30/(maxSkip+1), "pictures passed through on the way: %v", seen)
}

func TestPauseFreezesPictureAndSound(t *testing.T) {
	for _, withSound := range []bool{false, true} {
		name := map[bool]string{false: "silent.mpg", true: "clip.mpg"}[withSound]
		t.Run(name, func(t *testing.T) {
			v := openClip(t, name)
			wall := time.Unix(1000, 0)
			v.clock.now = func() time.Time { return wall }
			var snd = v.Audio()
			buf := make([][2]float64, 480)
			pull := func(d time.Duration) { // the mixer pulls d of sound
				if snd == nil {
					return
				}
				for k := audio.Rate.N(d); k > 0; k -= len(buf) {
					n, ok := snd.Stream(buf[:min(k, len(buf))])
					require.True(t, ok)
					require.Equal(t, min(k, len(buf)), n)
				}
			}
			v.Start()
			wall = wall.Add(500 * time.Millisecond)
			pull(500 * time.Millisecond)
			require.Equal(t, 500*time.Millisecond, v.Time())
			waitFrame(t, v, v.Time(), 12)

			v.Pause(true)
			wall = wall.Add(3 * time.Second)
			if snd != nil {
				n, ok := snd.Stream(buf)
				require.True(t, ok)
				require.Equal(t, len(buf), n)
				assert.Equal(t, make([][2]float64, len(buf)), buf, "a paused video plays silence")
			}
			pull(time.Second)
			assert.Equal(t, 500*time.Millisecond, v.Time(), "the clock must stand still")
			img, changed := v.Frame(v.Time())
			assert.False(t, changed)
			assert.Equal(t, 12, frameNumber(img))

			v.Pause(false)
			wall = wall.Add(200 * time.Millisecond)
			pull(200 * time.Millisecond)
			assert.Equal(t, 700*time.Millisecond, v.Time())
			waitFrame(t, v, v.Time(), 17)
		})
	}
}

// decoder is a Video's decode goroutine as stack traces name it.
const decoder = "github.com/cueroom/cueroom/engine/video.(*Video).run"

func TestCloseEndsGoroutines(t *testing.T) {
	// At the end, after the cleanups that close: nothing this test started
	// is left running. (It waits for goroutines on their way out: Close
	// waits for the decoder's work, but the goroutine still has to return.)
	leakcheck.Check(t)
	v := openClip(t, "silent.mpg")
	v.Start()
	// FuzzOpen looks for leaked decoders by this name: make sure it is
	// the decoder's, so a renamed run does not leave that check blind.
	require.Eventually(t, func() bool { return leakcheck.Leftover(0, decoder) != "" }, 5*time.Second, time.Millisecond, "no goroutine runs %s", decoder)
	require.NoError(t, v.Close())
	for _, file := range []string{"clip.mpg", "silent.mpg", "hd.mpg"} {
		for _, loop := range []bool{false, true} {
			v, err := Open(testdata, file)
			require.NoError(t, err)
			v.SetLoop(loop)
			v.Start()
			v.Frame(100 * time.Millisecond)
			require.NoError(t, v.Close())
			require.NoError(t, v.Close(), "a second Close is harmless")
			// Frame and the sound still answer after Close.
			img, _ := v.Frame(time.Second)
			require.NotNil(t, img)
			if s := v.Audio(); s != nil {
				n, ok := s.Stream(make([][2]float64, 10))
				assert.False(t, ok)
				assert.Zero(t, n)
			}
		}
	}
}

// streamAll pulls a stream until it ends (at most max frames).
func streamAll(t *testing.T, s interface {
	Stream([][2]float64) (int, bool)
}, max int) [][2]float64 {
	t.Helper()
	var out [][2]float64
	buf := make([][2]float64, 512)
	for len(out) < max {
		n, ok := s.Stream(buf[:min(len(buf), max-len(out))])
		out = append(out, buf[:n]...)
		if !ok {
			break
		}
	}
	return out
}

func TestSoundIsTheTrackAtTheOutputRate(t *testing.T) {
	v := openClip(t, "clip.mpg")
	got := streamAll(t, v.Audio(), 10*int(audio.Rate))
	// 2 s at 48 kHz, give or take the resampler's edge.
	assert.InDelta(t, 2*int(audio.Rate), len(got), 8)
	// A 440 Hz sine: count rising zero crossings over the middle second.
	mid := got[int(audio.Rate)/2 : int(audio.Rate)*3/2]
	rises, peak := 0, 0.0
	for i := 1; i < len(mid); i++ {
		if mid[i-1][0] < 0 && mid[i][0] >= 0 {
			rises++
		}
		peak = math.Max(peak, math.Abs(mid[i][1]))
		require.InDelta(t, mid[i][0], mid[i][1], 0.01, "stereo channels of a mono sine")
	}
	assert.InDelta(t, 440, rises, 2)
	assert.Greater(t, peak, 0.05)
	assert.Equal(t, 2*time.Second, v.clock.heard.Round(time.Millisecond))
	assert.NoError(t, v.Err())
}

func TestSoundLoopsWithThePictures(t *testing.T) {
	v := openClip(t, "clip.mpg")
	v.SetLoop(true)
	got := streamAll(t, v.Audio(), 5*int(audio.Rate))
	require.Equal(t, 5*int(audio.Rate), len(got), "a looping sound does not end")
	// The second pass repeats the first, in step with the pictures.
	pass := 2 * int(audio.Rate)
	for _, i := range []int{1000, 30000, 70000} {
		assert.InDelta(t, got[i][0], got[pass+i][0], 0.02, "sample %d", i)
	}
}

func TestClockFollowsTheSound(t *testing.T) {
	v := openClip(t, "clip.mpg")
	wall := time.Unix(1000, 0)
	v.clock.now = func() time.Time { return wall }
	snd := v.Audio()
	pull := func(d time.Duration) {
		streamAll(t, &limited{snd, audio.Rate.N(d)}, audio.Rate.N(d))
	}
	v.Start()
	wall = wall.Add(300 * time.Millisecond)
	assert.Equal(t, time.Duration(0), v.Time(), "the picture waits for the sound to start")
	pull(40 * time.Millisecond)
	assert.Equal(t, time.Duration(0), v.Time(), "then runs from there")
	wall = wall.Add(30 * time.Millisecond)
	assert.Equal(t, 30*time.Millisecond, v.Time())
	wall = wall.Add(time.Second)
	assert.Equal(t, 40*time.Millisecond, v.Time(), "never ahead of the sound: a stalled output stops the picture")
	pull(time.Second)
	assert.Equal(t, 1040*time.Millisecond-audioSlack, v.Time(), "never far behind it")
	wall = wall.Add(100 * time.Millisecond)
	assert.Equal(t, 1040*time.Millisecond-audioSlack+100*time.Millisecond, v.Time())
}

// limited pulls at most n frames from s, as one mixer pull would.
type limited struct {
	s interface {
		Stream([][2]float64) (int, bool)
	}
	n int
}

func (l *limited) Stream(buf [][2]float64) (int, bool) {
	if l.n == 0 {
		return 0, false
	}
	n, ok := l.s.Stream(buf[:min(len(buf), l.n)])
	l.n -= n
	return n, ok
}

func TestClockWithoutSoundIsTheWallClock(t *testing.T) {
	v := openClip(t, "silent.mpg")
	wall := time.Unix(1000, 0)
	v.clock.now = func() time.Time { return wall }
	wall = wall.Add(time.Second)
	assert.Equal(t, time.Duration(0), v.Time(), "not started")
	v.Start()
	wall = wall.Add(1500 * time.Millisecond)
	assert.Equal(t, 1500*time.Millisecond, v.Time())
}

// TestFrameDoesNotAllocate counts every allocation in the process while
// the window asks for frames and the decoder fills the queue: in steady
// state there are none. (BenchmarkDecode720p shows the same at 1280×720.)
func TestFrameDoesNotAllocate(t *testing.T) {
	v := openClip(t, "silent.mpg")
	v.SetLoop(true)
	v.Start()
	at := time.Duration(0)
	late := false
	step := func() {
		at += 20 * time.Millisecond
		// Poll without require.Eventually, whose timers would be counted.
		deadline := time.Now().Add(10 * time.Second)
		for {
			v.Frame(at)
			if v.cur.t+v.frameDur > at {
				return
			}
			if time.Now().After(deadline) {
				late = true
				return
			}
			runtime.Gosched()
		}
	}
	// Warm up over more than one pass: the decoder's buffers grow to size.
	for i := 0; i < 120; i++ {
		step()
	}
	allocs := testing.AllocsPerRun(50, step)
	require.False(t, late, "the decoder did not deliver in time")
	assert.Zero(t, allocs)
}

func TestMonoSoundAt32kHz(t *testing.T) {
	v := openClip(t, "tiny.mpg")
	assert.Equal(t, image.Pt(32, 16), v.Size())
	assert.Equal(t, 240*time.Millisecond, v.Duration())
	require.True(t, v.HasAudio())
	got := streamAll(t, v.Audio(), int(audio.Rate))
	assert.InDelta(t, audio.Rate.N(240*time.Millisecond), len(got), 8)
	loud := 0
	for _, s := range got {
		require.Equal(t, s[0], s[1], "mono plays on both channels")
		if math.Abs(s[0]) > 0.05 {
			loud++
		}
	}
	assert.Greater(t, loud, len(got)/4)
}

// setAudioPTS moves the first sound packet's timestamp by d.
func setAudioPTS(t *testing.T, b []byte, d time.Duration) []byte {
	b = bytes.Clone(b)
	pes := at(t, b, codeAudio0, 0) + 6
	i := pes
	for b[i] == 0xFF {
		i++
	}
	if b[i]&0xC0 == 0x40 {
		i += 2
	}
	require.Equal(t, byte(0x20), b[i]&0xF0, "a packet with a PTS")
	c := b[i:]
	pts := int64(c[0]>>1&7)<<30 | int64(c[1])<<22 | int64(c[2]>>1)<<15 | int64(c[3])<<7 | int64(c[4]>>1)
	pts += int64(d.Seconds() * 90000)
	c[0] = c[0]&0xF1 | byte(pts>>29)&0x0E
	c[1] = byte(pts >> 22)
	c[2] = byte(pts>>14) | 1
	c[3] = byte(pts >> 7)
	c[4] = byte(pts<<1) | 1
	return b
}

func TestSoundStartingLateIsDelayed(t *testing.T) {
	late := setAudioPTS(t, readClip(t, "clip.mpg"), 500*time.Millisecond)
	v, err := Open(fstest.MapFS{"late.mpg": {Data: late}}, "late.mpg")
	require.NoError(t, err)
	defer v.Close()
	// ffmpeg put the sound 10.9 ms before the first picture; now it is
	// 489 ms after it.
	assert.InDelta(t, 489.1, float64(v.in.audioLead)/1e6, 0.1)
	got := streamAll(t, v.Audio(), 10*int(audio.Rate))
	assert.InDelta(t, 2*int(audio.Rate), len(got), 8, "still as long as the pictures")
	lead := audio.Rate.N(489 * time.Millisecond)
	for i := 0; i < lead; i++ {
		require.Zero(t, got[i][0], "silence before the sound starts, sample %d", i)
	}
	peak := 0.0
	for _, s := range got[lead+audio.Rate.N(20*time.Millisecond) : lead+audio.Rate.N(100*time.Millisecond)] {
		peak = math.Max(peak, math.Abs(s[0]))
	}
	assert.Greater(t, peak, 0.05, "the sine is there right after")
}

func TestSkipStartsMidway(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		loop  bool
		skip  time.Duration
		first int // the picture shown before Start
		next  int // the one after it
	}{
		{"into the clip", "clip.mpg", false, 1010 * time.Millisecond, 25, 26},
		{"silent clip", "silent.mpg", false, 400 * time.Millisecond, 10, 11},
		{"a later pass of a loop", "clip.mpg", true, 2*2*time.Second + 200*time.Millisecond, 5, 6},
		{"past the end without the loop", "silent.mpg", false, time.Hour, clipFrames - 1, clipFrames - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := openClip(t, tt.file)
			v.SetLoop(tt.loop)
			require.NoError(t, v.Skip(tt.skip))
			img, _ := v.Frame(tt.skip)
			assert.Equal(t, tt.first, frameNumber(img))
			if tt.loop || tt.skip < v.Duration() {
				assert.Equal(t, tt.skip, v.Time(), "the media clock starts at the skip")
			}
			v.Start()
			pass := time.Duration(0)
			if tt.loop {
				pass = tt.skip / v.Duration() * v.Duration()
			}
			waitFrame(t, v, pass+time.Duration(tt.next)*frameTime+frameTime/2, tt.next)
			assert.Error(t, v.Skip(time.Second), "only before Start")
			assert.NoError(t, v.Err())
		})
	}
}

func TestSkipMovesTheSound(t *testing.T) {
	a, b := openClip(t, "clip.mpg"), openClip(t, "clip.mpg")
	require.NoError(t, b.Skip(500*time.Millisecond))
	// b's sound starts where a's is after half a second.
	n := audio.Rate.N(500 * time.Millisecond)
	skipped := make([][2]float64, n)
	got, _ := a.Audio().Stream(skipped)
	require.Equal(t, n, got)
	wantBuf, gotBuf := make([][2]float64, 1024), make([][2]float64, 1024)
	na, _ := a.Audio().Stream(wantBuf)
	nb, _ := b.Audio().Stream(gotBuf)
	require.Equal(t, na, nb)
	var energy float64
	for _, v := range flat(wantBuf[:na]) {
		energy += v * v
	}
	require.Greater(t, energy, 1.0, "the clip has sound there, so the comparison means something")
	assert.InDeltaSlice(t, flat(wantBuf[:na]), flat(gotBuf[:nb]), 1e-9)
}

func flat(b [][2]float64) []float64 {
	out := make([]float64, 0, 2*len(b))
	for _, s := range b {
		out = append(out, s[0], s[1])
	}
	return out
}

// TestEndedWhenTheLastPictureHadItsTime: a video that does not loop ends
// once its clock reaches its duration, whether the wall clock (no sound)
// or its sound, pulled to its end, drives the clock; one that loops never
// ends.
func TestEndedWhenTheLastPictureHadItsTime(t *testing.T) {
	for _, tt := range []struct {
		name string
		loop bool
	}{{"silent.mpg", false}, {"clip.mpg", false}, {"silent.mpg", true}, {"clip.mpg", true}} {
		t.Run(fmt.Sprintf("%s loop=%v", tt.name, tt.loop), func(t *testing.T) {
			v := openClip(t, tt.name)
			v.SetLoop(tt.loop)
			wall := time.Unix(1000, 0)
			v.clock.now = func() time.Time { return wall }
			snd := v.Audio()
			pull := func(d time.Duration) { // the mixer pulls d of sound, or what is left
				if snd == nil {
					return
				}
				buf := make([][2]float64, 480)
				for k := audio.Rate.N(d); k > 0; k -= len(buf) {
					if _, ok := snd.Stream(buf[:min(k, len(buf))]); !ok {
						return
					}
				}
			}
			v.Start()
			assert.False(t, v.Ended(), "at the start")
			wall = wall.Add(v.Duration() - frameTime)
			pull(v.Duration() - frameTime)
			assert.False(t, v.Ended(), "during its last picture")
			wall = wall.Add(time.Second)
			pull(time.Second)
			assert.Equal(t, !tt.loop, v.Ended(), "a second after its end")
		})
	}
}

// TestPosterIsTheFirstPicture: Poster hands out the picture Start begins
// at, before Start only; after it, Frame's first call reports no change
// (the window has it already), unless a Skip moved the start since.
func TestPosterIsTheFirstPicture(t *testing.T) {
	tests := []struct {
		name        string
		skip        time.Duration // after the poster
		wantChanged bool          // Frame's first call
		want        int           // the picture it returns
	}{
		{"poster then start", 0, false, 0},
		{"a skip after the poster", 400 * time.Millisecond, true, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := openClip(t, "silent.mpg")
			got := -1
			require.True(t, v.Poster(func(img *image.RGBA) { got = frameNumber(img) }))
			assert.Equal(t, 0, got, "the poster is the first picture")
			require.NoError(t, v.Skip(tt.skip))
			v.Start()
			img, changed := v.Frame(0)
			assert.Equal(t, tt.wantChanged, changed)
			assert.Equal(t, tt.want, frameNumber(img))
			assert.False(t, v.Poster(func(*image.RGBA) { t.Error("a poster after Start") }))
		})
	}
	t.Run("without a poster the first frame is a change", func(t *testing.T) {
		v := openClip(t, "silent.mpg")
		v.Start()
		_, changed := v.Frame(0)
		assert.True(t, changed)
	})
	t.Run("closed", func(t *testing.T) {
		v := openClip(t, "silent.mpg")
		require.NoError(t, v.Close())
		assert.False(t, v.Poster(func(*image.RGBA) { t.Error("a poster after Close") }))
	})
}

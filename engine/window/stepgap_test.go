package window

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/present"
)

// The step-change benchmark plays steps with big media (a 4K picture, a
// 4096×2048 panorama, the demo's video, panorama and pictures) in the test
// window and changes step every stepEvery, as a therapist would (next,
// repeat, back). It reports the longest interval between two presented
// frames around each change: goal, no more than two frame periods.

const gapProtocol = `cueroom: 1
title: Step changes
substance: alcohol
baseline:
  duration: 1h
  cues:
    - text: "Sit comfortably."
steps:
  - name: Big picture
    intensity: 1
    duration: 1h
    cues:
      - image: big.png
        zoom: 1.2
      - text: "A picture of 3840 by 2160 pixels."
  - name: Big panorama
    intensity: 2
    duration: 1h
    cues:
      - panorama: bigpano.png
      - text: "A panorama of 4096 by 2048 pixels."
  - name: Video
    intensity: 3
    duration: 1h
    cues:
      - video: bar.mpg
      - text: "Watch the glass fill."
  - name: Bar
    intensity: 4
    duration: 1h
    cues:
      - panorama: bar_pano.png
      - text: "Look around."
  - name: Pacer
    intensity: 4
    duration: 1h
    cues:
      - breathing: 6
      - text: "Breathe with the circle."
  - name: Bottle and rating
    intensity: 5
    duration: 1h
    cues:
      - image: bottle.png
    rating:
      scale: craving
      question: "How strong is your craving right now?"
      at: start
  - name: Bar picture
    intensity: 6
    duration: 1h
    cues:
      - image: bar.png
      - text: "Your usual bar."
`

// gradientPNG is a w×h picture (its content does not matter: upload cost
// is by size).
func gradientPNG(t testing.TB, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := img.PixOffset(x, y)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(x), uint8(y), uint8(x^y), 255
		}
	}
	var b bytes.Buffer
	require.NoError(t, (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img))
	return b.Bytes()
}

func gapFS(t testing.TB) fstest.MapFS {
	fsys := fstest.MapFS{
		"big.png":     {Data: gradientPNG(t, 3840, 2160)},
		"bigpano.png": {Data: gradientPNG(t, 4096, 2048)},
	}
	for _, f := range []string{"bar.mpg", "bar_pano.png", "bottle.png", "bar.png"} {
		data, err := os.ReadFile("../../assets/demo/media/" + f)
		require.NoError(t, err)
		fsys[f] = &fstest.MapFile{Data: data}
	}
	return fsys
}

// frameLog records when each frame was presented.
type frameLog struct {
	mu sync.Mutex
	t  []time.Duration
}

func (l *frameLog) Presented(f present.Frame) { l.mu.Lock(); l.t = append(l.t, f.T); l.mu.Unlock() }
func (l *frameLog) Closed()                   {}

func (l *frameLog) times() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.t)
}

// stepGaps plays the step changes and returns, for each, the gap at the
// change: the longest of the first changeFrames frame intervals after it
// (the old step's last frame to the new one's first, and the new step's
// first uploads), in ms and in local frame periods: the median interval of
// the 20 frames before the change and the 20 after those first ones (a
// panorama draws slower than a picture with Mesa's software renderer, so
// each side's own pace counts). Also the longest interval anywhere in the
// half step after each change (frame jitter included), and the late uploads.
func stepGaps(t testing.TB, stepEvery time.Duration) (gaps []time.Duration, ratios []float64, windowMax time.Duration, late int) {
	log := &frameLog{}
	if os.Getenv("GAPTRACE") != "" {
		defer traceFrames()()
	}
	r := newDetachedRig(t, gapProtocol, gapFS(t), Options{Present: log})
	r.g.opt.OnFrame = nil // the rig's pixel probe waits for the GPU: not in a measure
	host.set(r.g)
	t.Cleanup(func() { host.set(nil) })
	clock := r.g.clock
	require.Eventually(t, func() bool { return len(log.times()) > 30 }, 20*time.Second, time.Millisecond)
	// next through every step, then repeat and back, as a therapist might.
	changes := []func(string) error{}
	for range 7 {
		changes = append(changes, r.s.Next)
	}
	changes = append(changes, r.s.Repeat, r.s.Back, r.s.Back, r.s.Repeat)
	var at []time.Duration
	for _, change := range changes {
		time.Sleep(stepEvery) // the scenario: the step plays a while
		at = append(at, clock.Now())
		if os.Getenv("GAPTRACE") == "2" {
			fmt.Printf("CHANGE %d\n", len(at))
		}
		require.NoError(t, change("bench"))
	}
	time.Sleep(stepEvery)
	ts := log.times()
	if os.Getenv("GAPTRACE") != "" { // the intervals around each change, in ms
		for _, c := range at {
			var row []string
			for i := 1; i < len(ts); i++ {
				if ts[i] > c-250*time.Millisecond && ts[i] < c+250*time.Millisecond {
					if ts[i-1] <= c && ts[i] > c {
						row = append(row, "|")
					}
					row = append(row, fmt.Sprintf("%.1f", float64(ts[i]-ts[i-1])/1e6))
				}
			}
			fmt.Fprintf(os.Stderr, "change at %v: %v\n", c, row)
		}
	}
	interval := func(i int) time.Duration { return ts[i] - ts[i-1] }
	for _, c := range at {
		first, _ := slices.BinarySearch(ts, c+1) // the first frame presented after the change
		require.Less(t, first+changeFrames+20, len(ts), "frames after the change at %v", c)
		require.Greater(t, first, 21, "frames before the change at %v", c)
		var gap time.Duration
		for i := first; i < first+changeFrames; i++ {
			gap = max(gap, interval(i))
		}
		var around []time.Duration
		for i := first - 20; i < first; i++ {
			around = append(around, interval(i))
		}
		for i := first + changeFrames; i < first+changeFrames+20; i++ {
			around = append(around, interval(i))
		}
		slices.Sort(around)
		gaps = append(gaps, gap)
		ratios = append(ratios, float64(gap)/float64(around[len(around)/2]))
		for i := first; i < len(ts) && ts[i-1] < c+stepEvery/2; i++ {
			windowMax = max(windowMax, interval(i))
		}
	}
	late = r.g.pre.late
	return gaps, ratios, windowMax, late
}

// traceFrames, for GAPTRACE: while a frame takes over 30 ms, every
// goroutine's stack goes to /tmp/cueroom-stall-*.txt (the render thread's
// shows the GL call it waits in); Go draws over 8 ms are printed; with
// GAPTRACE=2 each frame and step change is marked on stdout, to read
// beside the command lists a build with -tags=ebitenginedebug prints. It
// returns the function that stops it.
func traceFrames() func() {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	stop := make(chan struct{})
	dumped := int64(0)
	go every(2*time.Millisecond, stop, func() {
		l := last.Load()
		if time.Since(time.Unix(0, l)) > 30*time.Millisecond && dumped != l {
			dumped = l
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			os.WriteFile(fmt.Sprintf("/tmp/cueroom-stall-%d.txt", time.Now().UnixNano()), buf[:n], 0o644)
		}
	})
	watchDraw = func() func() {
		t0 := time.Now()
		if os.Getenv("GAPTRACE") == "2" {
			fmt.Printf("FRAME %.1f ms since last\n", float64(t0.UnixNano()-last.Load())/1e6)
		}
		last.Store(t0.UnixNano())
		return func() {
			if d := time.Since(t0); d > 8*time.Millisecond {
				fmt.Fprintf(os.Stderr, "draw took %v at %v\n", d, t0.Format("05.000"))
			}
		}
	}
	return func() { watchDraw = nil; close(stop) }
}

// every calls f every d until stop is closed.
func every(d time.Duration, stop <-chan struct{}, f func()) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			f()
		}
	}
}

// changeFrames is how many frame intervals after a step change count as
// the change's: its first frame, and the two after (where a lazy upload
// or a video's opening would land).
const changeFrames = 3

// BenchmarkStepChangeFrameGap reports the longest interval between two
// presented frames at a step change (max-gap-ms), the same in frame periods
// (frame-periods; goal ≤ 2), and the pictures that were not preloaded in
// time (late-uploads; goal 0). With "lazy", preloading is off: pictures go
// to the GPU when first drawn and videos open when their step starts, as
// before.
//
// Each iteration runs in a process of its own (this test binary, asked
// for TestStepGapChild), with Mesa's shader cache off: a new window whose
// shaders are all compiled for the first time, as on a session's first
// launch on a new machine. In a process that had already drawn everything
// once, the first changes would look better than a patient sees them.
func BenchmarkStepChangeFrameGap(b *testing.B) {
	for _, mode := range []string{"preloaded", "lazy"} {
		b.Run(mode, func(b *testing.B) {
			var worst, window time.Duration
			var periods float64
			late := 0
			for range b.N {
				r := gapChild(b, mode)
				b.Logf("%s: gaps at the changes %v, in local frame periods %.2f; longest interval in the half step after a change %v; late uploads %d", mode, r.Gaps, r.Ratios, r.WindowMax, r.Late)
				worst, periods, window, late = max(worst, slices.Max(r.Gaps)), max(periods, slices.Max(r.Ratios)), max(window, r.WindowMax), late+r.Late
			}
			b.ReportMetric(float64(worst)/float64(time.Millisecond), "max-gap-ms")
			b.ReportMetric(periods, "frame-periods")
			b.ReportMetric(float64(window)/float64(time.Millisecond), "window-max-ms")
			b.ReportMetric(float64(late)/float64(b.N), "late-uploads")
		})
	}
}

// gapResult is what one child process measured.
type gapResult struct {
	Gaps      []time.Duration
	Ratios    []float64
	WindowMax time.Duration
	Late      int
}

// gapChild runs TestStepGapChild in a new process and returns what it
// measured.
func gapChild(b *testing.B, mode string) gapResult {
	out := filepath.Join(b.TempDir(), "gaps.json")
	cmd := exec.Command(os.Args[0], "-test.run=^TestStepGapChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CUEROOM_STEPGAP_OUT="+out, "CUEROOM_STEPGAP_MODE="+mode, "MESA_SHADER_CACHE_DISABLE=true")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, os.Stderr // GAPTRACE writes to stderr
	// This process's own window, idle meanwhile, would otherwise keep
	// drawing empty frames (half a core here) beside the child's.
	ebiten.SetFPSMode(ebiten.FPSModeVsyncOffMinimum) //nolint:staticcheck // its successor, SetScreenClearedEveryFrame(false), still draws
	defer func() {
		// The loop waits for input in that mode, and SetFPSMode for the
		// loop: ScheduleFrame wakes it until the mode is back.
		back := make(chan struct{})
		go every(5*time.Millisecond, back, ebiten.ScheduleFrame) //nolint:staticcheck
		ebiten.SetFPSMode(ebiten.FPSModeVsyncOn)                 //nolint:staticcheck
		close(back)
	}()
	if err := cmd.Run(); err != nil {
		b.Fatalf("step-change child: %v\n%s", err, log.String())
	}
	data, err := os.ReadFile(out)
	require.NoError(b, err, "the child's result\n%s", log.String())
	var r gapResult
	require.NoError(b, json.Unmarshal(data, &r))
	require.NotEmpty(b, r.Gaps)
	return r
}

// TestStepGapChild is BenchmarkStepChangeFrameGap's measure, in a process
// of its own; skipped otherwise.
func TestStepGapChild(t *testing.T) {
	out := os.Getenv("CUEROOM_STEPGAP_OUT")
	if out == "" {
		t.Skip("run by BenchmarkStepChangeFrameGap, in a process of its own")
	}
	<-host.started
	noPreload.Store(os.Getenv("CUEROOM_STEPGAP_MODE") == "lazy")
	defer noPreload.Store(false)
	var r gapResult
	r.Gaps, r.Ratios, r.WindowMax, r.Late = stepGaps(t, 1500*time.Millisecond)
	data, err := json.Marshal(r)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(out, data, 0o644))
}

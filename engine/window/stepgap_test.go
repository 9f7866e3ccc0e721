package window

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"testing/fstest"
	"time"

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

// stepGaps plays the step changes and returns, for each, the longest frame
// interval from just before it to stepEvery after, and the median frame
// period of the whole run.
func stepGaps(t testing.TB, stepEvery time.Duration) (gaps []time.Duration, period time.Duration, late int) {
	log := &frameLog{}
	if os.Getenv("GAPTRACE") != "" {
		watchDraw = func() func() {
			done := make(chan struct{})
			go func() {
				select {
				case <-done:
				case <-time.After(150 * time.Millisecond):
					buf := make([]byte, 1<<20)
					n := runtime.Stack(buf, true)
					os.WriteFile(fmt.Sprintf("/tmp/cueroom-stall-%d.txt", time.Now().UnixNano()), buf[:n], 0o644)
				}
			}()
			return func() { close(done) }
		}
		defer func() { watchDraw = nil }()
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
		require.NoError(t, change("bench"))
	}
	time.Sleep(stepEvery)
	ts := log.times()
	var periods []time.Duration
	for i := 1; i < len(ts); i++ {
		periods = append(periods, ts[i]-ts[i-1])
	}
	slices.Sort(periods)
	period = periods[len(periods)/2]
	if os.Getenv("GAPTRACE") != "" { // the intervals around each change, in ms
		for _, c := range at {
			var row []string
			for i := 1; i < len(ts); i++ {
				if ts[i] > c-20*time.Millisecond && ts[i] < c+300*time.Millisecond {
					row = append(row, fmt.Sprintf("%.1f", float64(ts[i]-ts[i-1])/1e6))
				}
			}
			fmt.Fprintf(os.Stderr, "change at %v: %v\n", c, row)
		}
	}
	for _, c := range at {
		var worst time.Duration
		for i := 1; i < len(ts); i++ {
			if ts[i] > c && ts[i-1] < c+stepEvery/2 {
				worst = max(worst, ts[i]-ts[i-1])
			}
		}
		gaps = append(gaps, worst)
	}
	late = r.g.pre.late
	return gaps, period, late
}

// BenchmarkStepChangeFrameGap reports the longest interval between two
// presented frames at a step change (max-gap-ms), the same in frame periods
// (frame-periods; goal ≤ 2), and the pictures that were not preloaded in
// time (late-uploads; goal 0). With "lazy", preloading is off: pictures go
// to the GPU when first drawn and videos open when their step starts, as
// before.
func BenchmarkStepChangeFrameGap(b *testing.B) {
	for _, mode := range []string{"preloaded", "lazy"} {
		b.Run(mode, func(b *testing.B) {
			<-host.started
			noPreload.Store(mode == "lazy")
			defer noPreload.Store(false)
			var worst, period time.Duration
			late := 0
			for range b.N {
				gaps, p, l := stepGaps(b, 1500*time.Millisecond)
				b.Logf("%s: frame period %v; gaps at the changes: %v; late uploads %d", mode, p, gaps, l)
				worst, period, late = max(worst, slices.Max(gaps)), p, late+l
			}
			b.ReportMetric(float64(worst)/float64(time.Millisecond), "max-gap-ms")
			b.ReportMetric(float64(worst)/float64(period), "frame-periods")
			b.ReportMetric(float64(late)/float64(b.N), "late-uploads")
		})
	}
}

package window

import (
	"bytes"
	"image"
	"image/jpeg"
	"sync"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
)

// ViewSampler takes a small copy of the patient's screen a few times a
// second for the therapist's dashboard. The render thread only scales the
// frame down on the GPU and reads the small copy back; JPEG encoding runs on
// a goroutine of its own, and a picture not yet sent is replaced, never
// queued.
type ViewSampler struct {
	every time.Duration
	w, h  int
	sink  func(t time.Duration, jpeg []byte)

	small *ebiten.Image
	last  time.Time
	pix   []byte

	mu      sync.Mutex
	pending *image.RGBA
	pendT   time.Duration
	wake    chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup
}

// NewViewSampler sends a w×h JPEG of the screen to sink at most once per
// every. Close it when the window has closed.
func NewViewSampler(every time.Duration, w, h int, sink func(t time.Duration, jpeg []byte)) *ViewSampler {
	v := &ViewSampler{every: every, w: w, h: h, sink: sink,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	v.wg.Add(1)
	go v.encode()
	return v
}

// OnFrame is the window's per-frame hook (Options.OnFrame).
func (v *ViewSampler) OnFrame(screen *ebiten.Image, t time.Duration) {
	// Paced on the wall clock: a paused replay's clock stands still, yet
	// its dashboard must see a seek.
	now := time.Now()
	if now.Sub(v.last) < v.every {
		return
	}
	v.last = now
	if v.small == nil {
		v.small = ebiten.NewImage(v.w, v.h)
		v.pix = make([]byte, 4*v.w*v.h)
	}
	sw, sh := screen.Bounds().Dx(), screen.Bounds().Dy()
	op := &ebiten.DrawImageOptions{Filter: ebiten.FilterLinear}
	op.GeoM.Scale(float64(v.w)/float64(sw), float64(v.h)/float64(sh))
	v.small.Clear()
	v.small.DrawImage(screen, op)
	v.small.ReadPixels(v.pix)
	v.mu.Lock()
	if v.pending == nil {
		v.pending = image.NewRGBA(image.Rect(0, 0, v.w, v.h))
	}
	copy(v.pending.Pix, v.pix)
	v.pendT = t
	v.mu.Unlock()
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

func (v *ViewSampler) encode() {
	defer v.wg.Done()
	img := image.NewRGBA(image.Rect(0, 0, v.w, v.h))
	var buf bytes.Buffer
	for {
		select {
		case <-v.done:
			return
		case <-v.wake:
		}
		v.mu.Lock()
		copy(img.Pix, v.pending.Pix)
		t := v.pendT
		v.mu.Unlock()
		buf.Reset()
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 70}); err != nil {
			continue
		}
		v.sink(t, bytes.Clone(buf.Bytes()))
	}
}

// Close stops the encoder.
func (v *ViewSampler) Close() {
	select {
	case <-v.done:
	default:
		close(v.done)
	}
	v.wg.Wait()
}

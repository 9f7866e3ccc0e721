package xr

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/scenes"
)

// sectorColours are the test panorama's eight 45° sectors of longitude,
// from −180°: a pixel read back names the direction the view shows.
var sectorColours = []color.RGBA{
	{200, 40, 40, 255}, {200, 140, 30, 255}, {200, 200, 40, 255}, {60, 190, 60, 255},
	{40, 190, 190, 255}, {50, 80, 210, 255}, {150, 60, 200, 255}, {210, 90, 160, 255},
}

// sectorAt is the colour of longitude lon (degrees, 0 = the picture's centre).
func sectorAt(lon float64) color.RGBA {
	u := math.Mod(lon+180+720, 360) / 360
	return sectorColours[int(u*8)%8]
}

// panorama draws an equirectangular test picture w×w/2 of the sectors,
// with darker bands near the poles.
func panorama(w int) image.Image {
	pal := color.Palette{color.RGBA{30, 30, 30, 255}}
	for _, c := range sectorColours {
		pal = append(pal, c)
	}
	img := image.NewPaletted(image.Rect(0, 0, w, w/2), pal)
	for y := 0; y < w/2; y++ {
		lat := 90 - 180*(float64(y)+0.5)/float64(w/2)
		for x := 0; x < w; x++ {
			if math.Abs(lat) > 70 {
				continue // index 0: the dark poles
			}
			img.Pix[y*img.Stride+x] = uint8(1 + x*8/w)
		}
	}
	return img
}

// picture is a test photo: orange with a blue centre square.
func picture(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{230, 120, 30, 255}
			if x > w/3 && x < 2*w/3 && y > h/3 && y < 2*h/3 {
				c = color.RGBA{30, 70, 220, 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

func writePNG(t testing.TB, path string, img image.Image) {
	t.Helper()
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	require.NoError(t, enc.Encode(&b, img))
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
}

// writeWAV writes a second of a soft 440 Hz tone (16-bit mono, 22.05 kHz).
func writeWAV(t testing.TB, path string) {
	t.Helper()
	const rate, n = 22050, 22050
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	w(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	w(uint32(16))
	w(uint16(1))
	w(uint16(1))
	w(uint32(rate))
	w(uint32(2 * rate))
	w(uint16(2))
	w(uint16(16))
	b.WriteString("data")
	w(uint32(2 * n))
	for i := 0; i < n; i++ {
		w(int16(3000 * math.Sin(2*math.Pi*440*float64(i)/rate)))
	}
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
}

// The test protocol's steps, by index.
const (
	stepBreath = iota
	stepPicture
	stepPano
	stepBigPano
	stepText
	stepVideo
	stepBad
	stepSound
)

// testProtocol writes a protocol with every cue kind the page draws and
// its media into a temporary folder, and loads it.
func testProtocol(t testing.TB, big bool) *scenes.Protocol {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "media"), 0o755))
	writePNG(t, filepath.Join(dir, "media/pic.png"), picture(640, 480))
	writePNG(t, filepath.Join(dir, "media/bad.png"), picture(320, 240))
	writePNG(t, filepath.Join(dir, "media/pano.png"), panorama(1024))
	bigW := 1024
	if big {
		bigW = 8192
	}
	writePNG(t, filepath.Join(dir, "media/bigpano.png"), panorama(bigW))
	clip, err := os.ReadFile("testdata/clip.mpg")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "media/clip.mpg"), clip, 0o644))
	writeWAV(t, filepath.Join(dir, "media/tone.wav"))
	src := `cueroom: 1
title: "Headset test"
substance: other
crossfade: 0
baseline:
  duration: 60s
  cues:
    - breathing: 6
steps:
  - {id: s-pic, name: Picture, intensity: 1, duration: 60s, cues: [{id: pic, image: media/pic.png}]}
  - {id: s-pano, name: Panorama, intensity: 2, duration: 60s, cues: [{id: pano, panorama: media/pano.png, yaw: 90, fov: 90}]}
  - {id: s-big, name: Big panorama, intensity: 3, duration: 60s, cues: [{id: big, panorama: media/bigpano.png}]}
  - {id: s-words, name: Words, intensity: 4, duration: 60s, cues: [{id: words, text: "Notice what you feel, and let it pass."}]}
  - {id: s-vid, name: Video, intensity: 5, duration: 60s, cues: [{id: vid, video: media/clip.mpg}]}
  - {id: s-bad, name: Tampered, intensity: 6, duration: 60s, cues: [{id: bad, image: media/bad.png}]}
  - {id: s-snd, name: Sound, intensity: 7, duration: 60s, cues: [{id: snd, narration: media/tone.wav, subtitles: "Listen to the tone."}, {id: snd.t, text: "A sound plays."}]}
`
	file := filepath.Join(dir, "protocol.yaml")
	require.NoError(t, os.WriteFile(file, []byte(src), 0o644))
	p, err := scenes.Load(file)
	require.NoError(t, err)
	return p
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// ---- a tiny feed: just enough of the dashboard server's protocol for the page ----

// got is one message the test feed received from the page.
type got struct {
	At  float64         `json:"at"` // session time of receipt, s
	Raw json.RawMessage `json:"raw"`
	Err string          `json:"err,omitempty"` // ParseDisplay's refusal
}

// testFeed serves /xr (Handler), /ws with the display role (hello, state,
// events, pongs) and a control API the browser test drives:
//
//	POST /test/step   {"state":{...},"events":[{"kind":..,"step":..,"data":{..}}]}
//	                  sends the events, then the state; answers {"t": session time}
//	GET  /test/got    what the page sent, with session times of receipt
//	GET  /test/now    the session clock, {"t": s}
//	POST /test/mute   {"on":true}: nothing more is sent, pings go unanswered
type testFeed struct {
	t     testing.TB
	srv   *httptest.Server
	token string
	start time.Time
	base  time.Duration // the session clock at start: not the page's clock

	plan *Plan

	mu       sync.Mutex
	conn     *websocket.Conn
	wmu      sync.Mutex // one writer at a time
	state    map[string]any
	scene    uint64 // bumped by every /test/step, as the engine's Snapshot.Scene
	recv     []got
	muted    bool
	events   []string   // what the displays published, stopped, answered (Session)
	displays []*Display // one per connection
	wg       sync.WaitGroup
}

// The test feed is the Session a Display acts on.
func (f *testFeed) Now() time.Duration { return f.now() }
func (f *testFeed) Showing() (int, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	step, _ := f.state["step_index"].(float64)
	if i, ok := f.state["step_index"].(int); ok {
		step = float64(i)
	}
	return int(step), f.scene
}
func (f *testFeed) Publish(t time.Duration, step int, d event.Data) {
	b, _ := json.Marshal(d)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, fmt.Sprintf("%s step %d %s", d.Kind(), step, b))
}
func (f *testFeed) PatientStop(by string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, "patient_stop "+by)
	return nil
}
func (f *testFeed) Answer(scale string, value int, by string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, _ := f.state["prompt"].(map[string]any)
	if p == nil || p["scale"] != scale {
		return fmt.Errorf("no %s prompt is open", scale)
	}
	f.events = append(f.events, fmt.Sprintf("answer %s %d %s", scale, value, by))
	return nil
}

// refusals sums what the displays refused or ignored, by reason.
func (f *testFeed) refusals() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for _, d := range f.displays {
		for k, v := range d.Refusals() {
			out[k] += v
		}
	}
	return out
}

// published lists what the displays did to the session.
func (f *testFeed) published() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.events...)
}

// feedToken is the test feed's display token.
const feedToken = "display-token-0123"

func newTestFeed(t testing.TB, plan *Plan, media func() http.Handler) *testFeed {
	f := &testFeed{t: t, token: feedToken, start: time.Now(), base: 1000 * time.Second, plan: plan,
		state: map[string]any{"status": "ready", "step_index": -1, "steps": len(plan.Steps), "t": 0.0}}
	var up = websocket.Upgrader{}
	mux := http.NewServeMux()
	h := media()
	mux.Handle("/xr", h)
	mux.Handle("/xr/", h)
	mux.HandleFunc("/test/now", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]float64{"t": f.now().Seconds()})
	})
	mux.HandleFunc("/test/got", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(f.recv)
	})
	mux.HandleFunc("/test/mute", func(w http.ResponseWriter, r *http.Request) {
		var b struct{ On bool }
		_ = json.NewDecoder(r.Body).Decode(&b)
		f.mu.Lock()
		f.muted = b.On
		f.mu.Unlock()
	})
	mux.HandleFunc("/test/step", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			State  map[string]any `json:"state"`
			Events []struct {
				Kind string         `json:"kind"`
				Step int            `json:"step"`
				Data map[string]any `json:"data"`
			} `json:"events"`
		}
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// As the engine: the session changes (its snapshot), then the
		// event goes out at once, the state message after it.
		f.mu.Lock()
		f.scene++
		now := f.now().Seconds()
		for k, v := range b.State {
			if v == nil {
				delete(f.state, k)
			} else {
				f.state[k] = v
			}
		}
		f.state["t"] = now
		st := copyMap(f.state)
		f.mu.Unlock()
		for _, e := range b.Events {
			f.send(map[string]any{"type": "event", "v": 1, "t": now, "kind": e.Kind, "step": e.Step, "data": e.Data})
		}
		if b.State != nil {
			f.send(map[string]any{"type": "state", "v": 1, "state": st})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]float64{"t": now})
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("token") != f.token {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		f.mu.Lock()
		if f.conn != nil {
			f.conn.Close() // the page reconnected: one display at a time
		}
		f.conn = c
		st := copyMap(f.state)
		f.mu.Unlock()
		f.write(c, map[string]any{"type": "hello", "v": 1, "client": "c1", "role": "display", "history_s": 180,
			"session": map[string]any{"steps": []any{}, "state": st}})
		f.write(c, map[string]any{"type": "state", "v": 1, "state": st})
		f.wg.Add(1)
		go f.read(c)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		f.srv.Close()
		f.mu.Lock()
		if f.conn != nil {
			f.conn.Close()
		}
		f.mu.Unlock()
		f.wg.Wait()
	})
	return f
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (f *testFeed) now() time.Duration { return f.base + time.Since(f.start) }

func (f *testFeed) url() string { return f.srv.URL + "/xr?token=" + f.token }

func (f *testFeed) write(c *websocket.Conn, v any) {
	b, _ := json.Marshal(v)
	f.wmu.Lock()
	defer f.wmu.Unlock()
	_ = c.WriteMessage(websocket.TextMessage, b)
}

func (f *testFeed) send(v any) {
	f.mu.Lock()
	c, muted := f.conn, f.muted
	f.mu.Unlock()
	if c != nil && !muted {
		f.write(c, v)
	}
}

// read hands every message to a Display, as the feed does, keeps it, and
// sends the pongs back at once.
func (f *testFeed) read(c *websocket.Conn) {
	defer f.wg.Done()
	d := NewDisplay(f.plan, f)
	f.mu.Lock()
	f.displays = append(f.displays, d)
	f.mu.Unlock()
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			return
		}
		at := f.now()
		reply, err := d.Handle(b)
		g := got{At: at.Seconds(), Raw: append(json.RawMessage(nil), b...)}
		if err != nil {
			g.Err = err.Error()
		}
		f.mu.Lock()
		f.recv = append(f.recv, g)
		muted := f.muted
		f.mu.Unlock()
		if reply != nil && !muted {
			f.wmu.Lock()
			_ = c.WriteMessage(websocket.TextMessage, reply)
			f.wmu.Unlock()
		}
	}
}

// received lists what the page sent, parsed.
func (f *testFeed) received() []got {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]got(nil), f.recv...)
}

package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/bus"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/scenes"
	"github.com/cueroom/cueroom/sensors"
)

// Speeds a replay may play at.
const (
	MinSpeed = 0.25
	MaxSpeed = 16
)

// SeekKind is the event a replay publishes when it jumps: consumers (the
// dashboard) drop what they hold and take the history that follows.
const SeekKind = "replay_seek"

// DefaultContext is how much signal before the new position a seek sends,
// so the charts are not empty after a jump.
const DefaultContext = time.Minute

// Fades when the replay stops sound: a jump (short, no click) and the calm
// scene (as the live session does).
const (
	seekFade = 30 * time.Millisecond
	calmFade = 500 * time.Millisecond
)

// CuePlayer plays a step's sound and video cues (engine.SoundPlayer does).
type CuePlayer interface {
	StartStepAt(step int, cues []scenes.Cue, offset time.Duration)
	StopAll(fade time.Duration)
	SetPaused(bool)
}

// Options configure a Player.
type Options struct {
	// Cues plays the recorded sound and video cues at 1× speed; nil: none.
	Cues CuePlayer
	// Context is the signal history sent after a seek; DefaultContext when 0.
	Context time.Duration
	// Speed to start at; 1 when 0.
	Speed float64
	// Paused starts the replay paused.
	Paused bool
	// Now is the wall clock (tests); time.Now when nil.
	Now func() time.Time
}

// ErrReadOnly refuses what a replay cannot do: change what was recorded.
var ErrReadOnly = errors.New("this is a replay of a recorded session: it cannot be changed")

// Player plays one recorded session. All methods are safe for concurrent use.
type Player struct {
	tl   *Timeline
	rec  *record.Session
	bus  *bus.Bus
	opt  Options
	devs []string // devices in a fixed order

	mu      sync.Mutex
	base    time.Duration // position at anchor
	anchor  time.Time
	speed   float64
	playing bool
	gen     int // bumped by every seek
	cueGen  int // bumped by seeks and speed changes: the cues start again
	nextEv  int
	nextSmp map[string]int
	out     []bus.Msg // queued for the bus, see publishLocked
	spare   []bus.Msg
	have    struct {
		on, paused bool
		epoch, gen int
	}

	done    chan struct{}
	endOnce sync.Once
	wake    chan struct{}
}

// New prepares a replay of rec, whose protocol's played order is steps;
// recorded samples and events go to b as the replay reaches them.
func New(rec *record.Session, steps []scenes.Step, b *bus.Bus, opt Options) *Player {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Context <= 0 {
		opt.Context = DefaultContext
	}
	if opt.Speed == 0 {
		opt.Speed = 1
	}
	p := &Player{
		tl: NewTimeline(rec.Events, steps), rec: rec, bus: b, opt: opt,
		speed: min(max(opt.Speed, MinSpeed), MaxSpeed), playing: !opt.Paused,
		anchor: opt.Now(), nextSmp: map[string]int{},
		done: make(chan struct{}), wake: make(chan struct{}, 1),
	}
	for d, ss := range rec.Samples {
		p.devs = append(p.devs, d)
		if n := len(ss); n > 0 && ss[n-1].T > p.tl.end {
			p.tl.end = ss[n-1].T
		}
	}
	sort.Strings(p.devs)
	return p
}

// Timeline is the scene over the session.
func (p *Player) Timeline() *Timeline { return p.tl }

// Duration is the length of the recording.
func (p *Player) Duration() time.Duration { return p.tl.end }

// Now is the replay position on the session clock (the window's clock).
func (p *Player) Now() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.posLocked()
}

func (p *Player) posLocked() time.Duration {
	pos := p.base
	if p.playing {
		pos += time.Duration(float64(p.opt.Now().Sub(p.anchor)) * p.speed)
	}
	return min(max(pos, 0), p.tl.end)
}

// rebaseLocked fixes the position now, before the speed or the play state
// changes.
func (p *Player) rebaseLocked() {
	p.base = p.posLocked()
	p.anchor = p.opt.Now()
}

// Snapshot is the scene at the replay position, as the window reads it.
func (p *Player) Snapshot() engine.Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	snap := p.tl.At(p.posLocked())
	snap.Scene += uint64(p.gen) << 32
	return snap
}

// Step returns the step at index i of the played order.
func (p *Player) Step(i int) (scenes.Step, bool) { return p.tl.Step(i) }

// LookAt is where the patient looked in a 360° cue at the position.
func (p *Player) LookAt(cue string) (yaw, pitch float64, ok bool) {
	return p.tl.LookAt(cue, p.Now())
}

// Done is closed by End.
func (p *Player) Done() <-chan struct{} { return p.done }

// End stops the replay (the window closes).
func (p *Player) End(string) {
	p.endOnce.Do(func() {
		close(p.done)
		p.poke()
	})
}

// Calm is the patient's stop key in the live window; in a replay Esc pauses.
func (p *Player) Calm(string, string) error { return p.Pause() }

// Answer refuses: the ratings were given in the session.
func (p *Player) Answer(int, string) error { return ErrReadOnly }

// Emit drops the window's re-rendered onsets: the recorded ones are sent.
func (p *Player) Emit(bus.Event) {}

// Play continues from the current position (from the start at the end).
func (p *Player) Play() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.playing {
		return nil
	}
	if p.posLocked() >= p.tl.end {
		p.seekLocked(0)
	}
	p.anchor = p.opt.Now()
	p.playing = true
	p.poke()
	return nil
}

// Pause holds the position.
func (p *Player) Pause() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rebaseLocked()
	p.playing = false
	p.poke()
	return nil
}

// SetSpeed plays at x times real time, MinSpeed..MaxSpeed. Sound and video
// cues play only at 1×; at other speeds they are held (silent, a still
// picture).
func (p *Player) SetSpeed(x float64) error {
	if !(x >= MinSpeed && x <= MaxSpeed) {
		return fmt.Errorf("speed %g: give %g to %g (times real time)", x, float64(MinSpeed), float64(MaxSpeed))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rebaseLocked()
	if x != p.speed {
		p.cueGen++ // the cues restart from the position at the new speed
	}
	p.speed = x
	p.poke()
	return nil
}

// Seek jumps to session time t (clamped to the recording).
func (p *Player) Seek(t time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seekLocked(t)
}

// SeekStep jumps to the first presentation of the step at index i.
func (p *Player) SeekStep(i int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.tl.starts {
		if s.Step == i {
			p.seekLocked(s.T)
			return nil
		}
	}
	return fmt.Errorf("step %d was not played in this session (%d steps were started)", i+1, len(p.tl.starts))
}

// NextStep jumps to the next step presentation after the position.
func (p *Player) NextStep() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	pos := p.posLocked()
	for _, s := range p.tl.starts {
		if s.T > pos {
			p.seekLocked(s.T)
			return nil
		}
	}
	return errors.New("next: no later step in this recording")
}

// PrevStep jumps to the start of the current step presentation or, within
// its first two seconds, of the one before (as media players do).
func (p *Player) PrevStep() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	pos := p.posLocked()
	i := sort.Search(len(p.tl.starts), func(i int) bool { return p.tl.starts[i].T > pos }) - 1
	if i >= 0 && pos-p.tl.starts[i].T < 2*time.Second {
		i--
	}
	if i < 0 {
		p.seekLocked(0)
		return nil
	}
	p.seekLocked(p.tl.starts[i].T)
	return nil
}

func (p *Player) seekLocked(t time.Duration) {
	from := p.posLocked()
	t = min(max(t, 0), p.tl.end)
	p.base, p.anchor = t, p.opt.Now()
	p.gen++
	p.cueGen++
	// Consumers drop what they show and take the context that follows.
	p.publishLocked(bus.Msg{Event: &bus.Event{T: t, Wall: p.wall(t), Kind: SeekKind, Step: p.tl.At(t).Step,
		Data: map[string]any{"from": from.Seconds(), "to": t.Seconds()}}})
	ctxFrom := t - p.opt.Context
	p.nextEv = sort.Search(len(p.rec.Events), func(i int) bool { return p.rec.Events[i].T > ctxFrom })
	p.sendStateLocked(p.nextEv)
	for _, d := range p.devs {
		ss := p.rec.Samples[d]
		p.nextSmp[d] = sort.Search(len(ss), func(i int) bool { return ss[i].T > ctxFrom })
	}
	p.poke()
}

// sendStateLocked sends, of the events before index end (older than the
// context a seek sends), those the dashboard's picture of the session
// rests on: the step under way and its cues still on, the baseline, the
// arousal ceiling, and every rating.
func (p *Player) sendStateLocked(end int) {
	evs := p.rec.Events[:end]
	var keep []int
	step, baseline, ceiling := -1, -1, -1
	for i, e := range evs {
		switch e.Kind {
		case bus.StepStart:
			step = i
		case "baseline":
			baseline = i
		case bus.Alert:
			if _, ok := e.Data["limit"].(float64); ok {
				ceiling = i
			}
		case bus.Rating:
			keep = append(keep, i)
		}
	}
	if step >= 0 {
		keep = append(keep, step)
		on := map[string]int{}
		for i := step + 1; i < len(evs); i++ {
			e := evs[i]
			key := fmt.Sprint(e.Data["cue"], "/", e.Data["channel"])
			switch e.Kind {
			case bus.CueOnset:
				on[key] = i
			case bus.CueOffset:
				delete(on, key)
			}
		}
		for _, i := range on {
			keep = append(keep, i)
		}
	}
	for _, i := range []int{baseline, ceiling} {
		if i >= 0 {
			keep = append(keep, i)
		}
	}
	sort.Ints(keep)
	for _, i := range keep {
		p.publishLocked(bus.Msg{Event: &evs[i]})
	}
}

func (p *Player) wall(t time.Duration) time.Time {
	if p.rec.Meta.Start.IsZero() {
		return time.Time{}
	}
	return p.rec.Meta.Start.Add(t)
}

func (p *Player) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// publishLocked queues m for the bus. Only step publishes (outside the
// lock, in queued order): a seek's minute of context is many thousand
// messages, and the render thread takes the lock every frame.
func (p *Player) publishLocked(m bus.Msg) {
	if p.bus != nil {
		p.out = append(p.out, m)
	}
}

// flush publishes what is queued; step's goroutine only.
func (p *Player) flush() {
	p.mu.Lock()
	out := p.out
	p.out = p.spare[:0]
	p.mu.Unlock()
	for _, m := range out {
		p.bus.Publish(m)
	}
	clear(out)
	p.mu.Lock()
	p.spare = out[:0]
	p.mu.Unlock()
}

// Run announces the recorded streams and then sends samples and events as
// the position reaches them, until ctx is done or End is called. It stops
// the cues when it returns.
func (p *Player) Run(ctx context.Context) {
	streams := append([]sensors.Stream(nil), p.rec.Meta.Streams...)
	seen := map[string]bool{}
	for _, s := range streams {
		seen[s.Device] = true
	}
	for _, s := range p.rec.Streams {
		if !seen[s.Device] {
			streams = append(streams, s)
			seen[s.Device] = true
		}
	}
	// Announced first: a seek queued before Run (--at) follows at the first step.
	if p.bus != nil {
		for i := range streams {
			p.bus.Publish(bus.Msg{Stream: &streams[i]})
		}
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	defer func() {
		if p.opt.Cues != nil {
			p.opt.Cues.StopAll(0)
		}
	}()
	for {
		p.step()
		select {
		case <-ctx.Done():
			return
		case <-p.done:
			return
		case <-t.C:
		case <-p.wake:
		}
	}
}

// step sends what the position has reached and keeps the cues in line.
func (p *Player) step() {
	p.stepLocked()
	if p.bus != nil {
		p.flush()
	}
}

func (p *Player) stepLocked() {
	p.mu.Lock()
	defer p.mu.Unlock()
	pos := p.posLocked()
	if p.playing && pos >= p.tl.end {
		p.base, p.playing = p.tl.end, false // hold the last picture
	}
	for _, d := range p.devs {
		ss := p.rec.Samples[d]
		i := p.nextSmp[d]
		for ; i < len(ss) && ss[i].T <= pos; i++ {
			p.publishLocked(bus.Msg{Sample: &ss[i]})
		}
		p.nextSmp[d] = i
	}
	for ; p.nextEv < len(p.rec.Events) && p.rec.Events[p.nextEv].T <= pos; p.nextEv++ {
		p.publishLocked(bus.Msg{Event: &p.rec.Events[p.nextEv]})
	}
	p.cuesLocked(pos)
}

// cuesLocked plays the sound (and video) cues that were playing at pos,
// from where they were, at 1× only.
func (p *Player) cuesLocked(pos time.Duration) {
	c := p.opt.Cues
	if c == nil {
		return
	}
	epoch, step, off, segPaused, ok := p.tl.sound(pos)
	// A jump or a speed change cuts the sound at once (a few ms of fade, so
	// it does not click); the calm scene fades it as the live one did; a
	// new step lets each cue fade out as it would have.
	fade := seekFade
	switch {
	case p.have.gen == p.cueGen && !ok:
		fade = calmFade
	case p.have.gen == p.cueGen:
		fade = 0
	}
	if !ok {
		if p.have.on {
			c.StopAll(fade)
			p.have.on = false
		}
		return
	}
	// Away from 1× the cues are held where they were when their step or
	// the jump began: silent, a video on that picture.
	paused := segPaused || !p.playing || p.speed != 1
	if !p.have.on || p.have.epoch != epoch || p.have.gen != p.cueGen {
		c.StopAll(fade)
		st, _ := p.tl.Step(step)
		c.SetPaused(paused)
		c.StartStepAt(step, st.Cues, off)
		p.have.on, p.have.epoch, p.have.gen, p.have.paused = true, epoch, p.cueGen, paused
		return
	}
	if p.have.paused != paused {
		c.SetPaused(paused)
		p.have.paused = paused
	}
}

// Status is the replay's state for the dashboard: the scene as the live
// session's state, plus where the replay is.
type Status struct {
	engine.Snapshot
	Position time.Duration
	Duration time.Duration
	Speed    float64
	Playing  bool
}

// Status reports the scene and the replay position.
func (p *Player) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	pos := p.posLocked()
	return Status{Snapshot: p.tl.At(pos), Position: pos, Duration: p.tl.end, Speed: p.speed, Playing: p.playing}
}

// MarshalJSON writes the live state's fields plus "replay": {position_s,
// duration_s, speed, playing}.
func (s Status) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(s.Snapshot)
	if err != nil {
		return nil, err
	}
	r, err := json.Marshal(struct {
		Position float64 `json:"position_s"`
		Duration float64 `json:"duration_s"`
		Speed    float64 `json:"speed"`
		Playing  bool    `json:"playing"`
	}{s.Position.Seconds(), s.Duration.Seconds(), s.Speed, s.Playing})
	if err != nil || len(b) < 2 || b[len(b)-1] != '}' {
		return nil, fmt.Errorf("replay status: the snapshot is not a JSON object: %s", b)
	}
	// The snapshot is an object: add the field before its closing brace.
	sep := `,"replay":`
	if len(b) == 2 {
		sep = `"replay":`
	}
	b = append(b[:len(b)-1], sep...)
	b = append(b, r...)
	return append(b, '}'), nil
}

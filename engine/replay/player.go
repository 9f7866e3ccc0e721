package replay

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/scenes"
	"github.com/cueroom/cueroom/sensors"
)

// Speeds a replay may play at.
const (
	MinSpeed = 0.25
	MaxSpeed = 16
)

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
	// Logf is told when data.rec cannot be read on (an I/O error, or the
	// file changed since it was indexed): that device's samples stop until
	// the next seek. Nil: Err keeps the first such error only.
	Logf func(format string, args ...any)
}

// ErrReadOnly refuses what a replay cannot do: change what was recorded.
var ErrReadOnly = errors.New("this is a replay of a recorded session: it cannot be changed")

// Player plays one recorded session. All methods are safe for concurrent use.
//
// The events are in memory (the Index holds them; they are few); the
// samples are read from data.rec as the position reaches them, through a
// cursor per device, so a replay needs the same memory for a 4 h session
// as for a 10-minute one.
type Player struct {
	tl   *Timeline
	x    *record.Index
	bus  *bus.Bus
	opt  Options
	srcs []*source // one per device, in name order; step's (under reading)

	mu      sync.Mutex
	base    time.Duration // position at anchor
	anchor  time.Time
	speed   float64
	playing bool
	gen     int           // bumped by every seek
	ctxFrom time.Duration // where the last seek's context starts
	cueGen  int           // bumped by seeks and speed changes: the cues start again
	nextEv  int
	out     []bus.Msg // queued for the bus, see publishLocked
	spare   []bus.Msg
	err     error // the first read error
	have    struct {
		on, paused bool
		epoch, gen int
	}

	// reading is held by step: the cursors, and what step reads with
	// them, are its own, so data.rec is read outside mu (a seek's minute
	// of context is megabytes, and the render thread takes mu every frame).
	reading sync.Mutex
	srcGen  int              // the seek (gen) the cursors are positioned for
	batch   []bus.Msg        // samples read, not yet queued
	chunk   []sensors.Sample // the samples sent point into it, see keep

	done    chan struct{}
	endOnce sync.Once
	wake    chan struct{}
}

// source is one device's samples as step reads them: a cursor, and the
// sample read ahead of the position.
type source struct {
	c    *record.Cursor
	head sensors.Sample // the next sample to send, when have
	have bool
	end  bool // nothing more to read until the next seek (the end, or an error)
}

// New prepares a replay of the session x indexes, whose protocol's played
// order is steps; recorded samples and events go to b as the replay reaches
// them. The caller closes x after the replay (after Run returns).
func New(x *record.Index, steps []scenes.Step, b *bus.Bus, opt Options) *Player {
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
		tl: NewTimeline(x.Events, steps), x: x, bus: b, opt: opt,
		speed: min(max(opt.Speed, MinSpeed), MaxSpeed), playing: !opt.Paused,
		anchor: opt.Now(),
		done:   make(chan struct{}), wake: make(chan struct{}, 1),
	}
	for _, d := range x.Devices() { // sorted: a fixed order
		st := x.Stats(d)
		if st.Count > 0 && st.Last > p.tl.end {
			p.tl.end = st.Last
		}
		p.srcs = append(p.srcs, &source{c: x.Cursor(d)})
	}
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
	p.publishLocked(bus.Msg{Event: &event.Event{T: t, Wall: p.wall(t), Step: p.tl.At(t).Step,
		Data: event.ReplaySeek{From: event.Secs(from), To: event.Secs(t)}}})
	p.ctxFrom = t - p.opt.Context
	evs := p.x.Events
	p.nextEv = sort.Search(len(evs), func(i int) bool { return evs[i].T > p.ctxFrom })
	p.sendStateLocked(p.nextEv)
	// step moves the cursors to ctxFrom when it sees the new gen.
	p.poke()
}

// sendStateLocked sends, of the events before index end (older than the
// context a seek sends), those the dashboard's picture of the session
// rests on: the step under way and its cues still on, the baseline, the
// arousal ceiling, and every rating.
func (p *Player) sendStateLocked(end int) {
	evs := p.x.Events[:end]
	var keep []int
	step, baseline, ceiling := -1, -1, -1
	for i, e := range evs {
		switch d := e.Data.(type) {
		case event.StepStart:
			step = i
		case event.Baseline:
			baseline = i
		case event.Alert:
			if d.Limit != nil && d.Limit.Name == "" {
				ceiling = i // the arousal ceiling
			}
		case event.Rating:
			keep = append(keep, i)
		}
	}
	if step >= 0 {
		keep = append(keep, step)
		on := map[string]int{}
		for i := step + 1; i < len(evs); i++ {
			c, ok := event.CueOf(evs[i].Data)
			if !ok {
				continue
			}
			key := c.Cue + "/" + c.Channel
			if _, onset := evs[i].Data.(event.CueOnset); onset {
				on[key] = i
			} else {
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
	if p.x.Meta.Start.IsZero() {
		return time.Time{}
	}
	return p.x.Meta.Start.Add(t)
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
	streams := append([]sensors.Stream(nil), p.x.Meta.Streams...)
	seen := map[string]bool{}
	for _, s := range streams {
		seen[s.Device] = true
	}
	for _, s := range p.x.Streams {
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
// It reads the samples outside mu: it takes the position and any new seek
// under it, reads up to that position, then queues what it read unless a
// seek came meanwhile (the next step reads from the new position).
func (p *Player) step() {
	p.reading.Lock()
	defer p.reading.Unlock()
	pos, gen, ctxFrom := p.position()
	if gen != p.srcGen {
		p.srcGen = gen
		for _, src := range p.srcs {
			src.c.Seek(ctxFrom + 1) // the samples after ctxFrom, as the events
			src.have, src.end = false, false
		}
	}
	p.read(pos)
	p.send(pos, gen)
	if p.bus != nil {
		p.flush()
	}
}

// position is where step sends up to: the position, held at the end.
func (p *Player) position() (pos time.Duration, gen int, ctxFrom time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pos = p.posLocked()
	if p.playing && pos >= p.tl.end {
		p.base, p.playing = p.tl.end, false // hold the last picture
	}
	return pos, p.gen, p.ctxFrom
}

// read reads each device's samples up to pos into batch (nothing when no
// bus listens). reading is held.
func (p *Player) read(pos time.Duration) {
	p.batch = p.batch[:0]
	if p.bus == nil {
		return
	}
	for _, src := range p.srcs {
		for {
			if !src.have && !p.next(src) {
				break
			}
			if src.head.T > pos {
				break
			}
			p.batch = append(p.batch, bus.Msg{Sample: p.keep(&src.head)})
			src.have = false
		}
	}
}

// next reads a source's next sample into head; false at its end or on a
// read error (reported, and the device stays silent until a seek).
func (p *Player) next(src *source) bool {
	if src.end {
		return false
	}
	if src.c.Next() {
		src.head, src.have = *src.c.Sample(), true
		return true
	}
	src.end = true
	if err := src.c.Err(); err != nil {
		p.mu.Lock()
		if p.err == nil {
			p.err = err
		}
		p.mu.Unlock()
		if p.opt.Logf != nil {
			p.opt.Logf("replay: %v: some samples are not shown", err)
		}
	}
	return false
}

// keep copies a sample for the bus. Consumers hold the pointers as long
// as they like, so each is a copy; they are made in chunks, which the
// collector frees when nothing points into them any more.
func (p *Player) keep(s *sensors.Sample) *sensors.Sample {
	if len(p.chunk) == cap(p.chunk) {
		p.chunk = make([]sensors.Sample, 0, 256)
	}
	p.chunk = append(p.chunk, *s)
	return &p.chunk[len(p.chunk)-1]
}

// send queues the samples read and the events up to pos, and keeps
// the cues in line, unless a seek came since step took pos (gen).
func (p *Player) send(pos time.Duration, gen int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer clear(p.batch)
	if gen != p.gen {
		return // the next step reads from the new position
	}
	p.out = append(p.out, p.batch...)
	for evs := p.x.Events; p.nextEv < len(evs) && evs[p.nextEv].T <= pos; p.nextEv++ {
		p.publishLocked(bus.Msg{Event: &evs[p.nextEv]})
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

// Err returns the first error met reading data.rec, if any.
func (p *Player) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Status is the replay's state for the dashboard: the scene as the live
// session's state, plus where the replay is (its "replay" object).
type Status struct {
	engine.Snapshot
	Playback `json:"replay"`
}

// Playback is where a replay is and how it plays.
type Playback struct {
	Position engine.Duration `json:"position_s"`
	Duration engine.Duration `json:"duration_s"`
	Speed    float64         `json:"speed"`
	Playing  bool            `json:"playing"`
}

// Status reports the scene and the replay position.
func (p *Player) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	pos := p.posLocked()
	return Status{Snapshot: p.tl.At(pos), Playback: Playback{Position: engine.Duration(pos),
		Duration: engine.Duration(p.tl.end), Speed: p.speed, Playing: p.playing}}
}

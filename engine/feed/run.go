package feed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
)

// Run consumes the bus until sub is closed, ctx is done or the server is
// closed: samples are batched per device every 50 ms (all of them, never
// thinned), events and streams are forwarded at once. It never blocks on a
// client. Give it a lossless subscriber, or a lossy one large enough: bus
// drops are reported to clients as an "overrun" error.
func (s *Server) Run(ctx context.Context, sub *bus.Sub) {
	if sub == nil || !s.trackRun() {
		return
	}
	defer s.wg.Done()
	defer s.runs.Done()
	t := time.NewTicker(s.lim.batchEvery)
	defer t.Stop()
	b := batcher{s: s, pending: map[string][]sensors.Sample{}, labels: map[string][]string{},
		slot: map[string]int64{}, sum: newSummarizer()}
	var dropped uint64
	for {
		select {
		case <-ctx.Done():
			// Stopped at the session's end, the bus closed first (as the
			// pipeline does): everything it carried still goes out, the
			// session's end and its summary included, until the
			// subscription closes (or writeWait, if the bus lives on).
			// select may pick this case however much is waiting: CI once
			// saw pages get no summary.
			b.drainClosed(sub, s.lim.writeWait)
			return
		case <-s.quit:
			// What the bus had already delivered goes out before the
			// goodbye (the session's end, its last samples), no more.
			b.drain(sub)
			return
		case m, ok := <-sub.C:
			if !ok {
				b.flushAll()
				return
			}
			b.take(m)
		case <-t.C:
			b.flushAll()
			if d := sub.Dropped(); d > dropped {
				e := &protoError{Code: codeOverrun, Msg: fmt.Sprintf("the live feed fell behind and lost %d bus messages (%d in all); the recording is not affected", d-dropped, d)}
				dropped = d
				s.broadcast(encodeError(e), false) // displays get no samples: not theirs
			}
		}
	}
}

// batcher holds each device's samples until the next flush. Run's
// goroutine only.
type batcher struct {
	s       *Server
	pending map[string][]sensors.Sample
	devices []string // flush order: first seen first
	labels  map[string][]string
	slot    map[string]int64 // device → the last history slot it kept a sample for
	sum     *summarizer      // what the session came to, sent when it ends
}

func (b *batcher) take(m bus.Msg) {
	switch {
	case m.Sample != nil:
		d := m.Sample.Device
		p, seen := b.pending[d]
		if !seen {
			b.devices = append(b.devices, d)
		}
		if len(p) > 0 && p[0].N != m.Sample.N {
			// A message has one channel count: start a new one.
			b.flush(d)
			p = b.pending[d]
		}
		b.pending[d] = append(p, *m.Sample)
		b.sum.sample(m.Sample, b.labels[d])
		if len(b.pending[d]) >= b.s.lim.maxBatch {
			b.flush(d)
		}
	case m.Event != nil:
		// Samples that came before the event go out before it.
		b.flushAll()
		msg := encodeEvent(m.Event)
		b.s.broadcastKeep(msg, msg, false, forDisplay(m.Event))
		if b.sum.event(m.Event) {
			b.s.setSummary(b.sum.encode())
		}
		if m.Event.Kind() == event.KindReplaySeek {
			// What follows is another stretch of the session.
			b.sum = newSummarizer()
			b.s.setSummary(nil)
		}
	case m.Stream != nil:
		st := *m.Stream
		b.flush(st.Device)
		b.labels[st.Device] = labelsOf(st)
		b.sum.stream(st)
		msg, err := encodeStream(st)
		if err != nil {
			b.s.logf("feed: stream of %q cannot be encoded, not forwarded: %v", st.Device, err)
			return
		}
		b.s.setStream(st.Device, msg)
	}
}

// drainClosed takes everything sub carries until it closes, or for at most
// wait, then sends everything pending.
func (b *batcher) drainClosed(sub *bus.Sub, wait time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case m, ok := <-sub.C:
			if !ok {
				b.flushAll()
				return
			}
			b.take(m)
		case <-t.C:
			b.flushAll()
			return
		}
	}
}

// drain takes what sub already holds, then sends everything pending.
func (b *batcher) drain(sub *bus.Sub) {
	for range len(sub.C) {
		m, ok := <-sub.C
		if !ok {
			break
		}
		b.take(m)
	}
	b.flushAll()
}

func (b *batcher) flushAll() {
	for _, d := range b.devices {
		b.flush(d)
	}
}

func (b *batcher) flush(device string) {
	p := b.pending[device]
	if len(p) == 0 {
		return
	}
	// Rough size: ~12 bytes per number, so one allocation usually suffices.
	msg := appendSamples(make([]byte, 0, 128+len(p)*(24+12*p[0].N)), device, b.labels[device], p)
	b.pending[device] = p[:0]
	b.s.broadcastKeep(msg, b.thin(device, p), true, false)
}

// thin picks the samples the history keeps once a batch is older than the
// full-rate window: the first of each 1/thinRate s slot of sample time, so
// a late joiner gets the shape of the last minutes without megabytes of
// them. nil when the batch has none.
func (b *batcher) thin(device string, p []sensors.Sample) []byte {
	rate := b.s.lim.thinRate
	if rate <= 0 {
		return nil
	}
	last, seen := b.slot[device]
	var keep []sensors.Sample
	for _, sm := range p {
		slot := int64(math.Floor(sm.T.Seconds() * rate))
		if !seen || slot != last {
			keep = append(keep, sm)
			last, seen = slot, true
		}
	}
	b.slot[device] = last
	if len(keep) == 0 {
		return nil
	}
	return appendSamplesThin(nil, device, b.labels[device], keep, true)
}

// setStream remembers a device's latest stream for new clients and sends it.
func (s *Server) setStream(device string, msg []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.streams[device]; !ok {
		s.order = append(s.order, device)
	}
	s.streams[device] = msg
	s.broadcastLocked(msg, false)
}

// SetState records the latest session state and sends it to every client
// when it differs from the last one. Safe from any goroutine; never blocks
// on a client.
func (s *Server) SetState(state any) {
	msg, err := encodeState(state)
	if err != nil {
		s.logf("feed: session state cannot be encoded as JSON, not sent: %v", err)
		return
	}
	var st struct {
		State struct {
			Status string `json:"status"`
		} `json:"state"`
	}
	_ = json.Unmarshal(msg, &st) // a state without a status is not "ended"
	s.mu.Lock()
	defer s.mu.Unlock()
	if bytes.Equal(msg, s.state) {
		return
	}
	s.state = msg
	s.ended = st.State.Status == "ended"
	s.broadcastLocked(msg, true)
}

// SetView sends the patient's view (a small JPEG of the frame on screen at
// session time t) to every client that keeps up. Views are not kept in the
// history: a reconnecting dashboard waits for the next one.
func (s *Server) SetView(t time.Duration, jpeg []byte) {
	msg, err := json.Marshal(struct {
		Type string  `json:"type"`
		V    int     `json:"v"`
		T    float64 `json:"t"`
		JPEG []byte  `json:"jpeg"`
	}{"view", Version, t.Seconds(), jpeg})
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.clients {
		if c.display == nil {
			c.offer(msg)
		}
	}
}

// broadcast queues msg for every dashboard (not displays); keep also puts
// it in the history that (re)connecting clients get.
func (s *Server) broadcast(msg []byte, keep bool) {
	if keep {
		s.broadcastKeep(msg, msg, false, false)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.broadcastLocked(msg, false)
}

// broadcastKeep queues msg for every client and keeps it in the history:
// as is for the full-rate window (limits.histFull), then as thin (nil:
// forgotten then). Events keep themselves (thin == msg); sample batches
// keep a decimated copy. display says whether displays get it too.
func (s *Server) broadcastKeep(msg, thin []byte, sample, display bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.History > 0 {
		s.hist.add(time.Now(), histItem{msg: msg, thin: thin, sample: sample, display: display}, s.cfg.History, s.lim.histFull, s.lim.historyBytes)
	}
	s.broadcastLocked(msg, display)
}

// broadcastLocked queues msg for every dashboard, and for the display when
// display is set (a display gets hello, state, its events and pongs only).
func (s *Server) broadcastLocked(msg []byte, display bool) {
	for c := range s.clients {
		if display || c.display == nil {
			c.enqueue(msg)
		}
	}
}

// history is a ring of recent messages bounded by age and total size.
// Sample batches are kept whole for the full-rate window, then thinned.
type history struct {
	items    []histItem
	head     int // index of the oldest live item
	thinHead int // items before this index (and from head) are thinned
	bytes    int
}

type histItem struct {
	at      time.Time
	msg     []byte // what is sent; nil once thinned away
	thin    []byte // what msg becomes after the full-rate window
	sample  bool   // a sample batch (may be left out of a backlog); else an event
	display bool   // an event displays get (forDisplay)
}

func (h *history) len() int { return len(h.items) - h.head }

func (h *history) add(now time.Time, it histItem, window, full time.Duration, maxBytes int) {
	it.at = now
	h.items = append(h.items, it)
	h.bytes += len(it.msg)
	h.evict(now, window, full, maxBytes)
}

func (h *history) evict(now time.Time, window, full time.Duration, maxBytes int) {
	h.thinHead = max(h.thinHead, h.head)
	for h.thinHead < len(h.items) && now.Sub(h.items[h.thinHead].at) > full {
		it := &h.items[h.thinHead]
		h.bytes += len(it.thin) - len(it.msg)
		it.msg, it.thin = it.thin, nil
		h.thinHead++
	}
	for h.head < len(h.items) && (h.bytes > maxBytes || now.Sub(h.items[h.head].at) > window) {
		h.bytes -= len(h.items[h.head].msg)
		h.items[h.head] = histItem{}
		h.head++
	}
	h.thinHead = max(h.thinHead, h.head)
	// Compact when the dead prefix dominates, so memory follows the live part.
	if h.head > 64 && h.head*2 > len(h.items) {
		n := copy(h.items, h.items[h.head:])
		clear(h.items[n:])
		h.items = h.items[:n]
		h.thinHead -= h.head
		h.head = 0
	}
}

// appendTo appends the messages younger than window, oldest first, in at
// most budget bytes: when they would not fit, the oldest sample batches are
// left out (events never are).
func (h *history) appendTo(dst [][]byte, now time.Time, window time.Duration, budget int) [][]byte {
	live := h.items[h.head:]
	first := len(live)
	total := 0
	for i, it := range live {
		if it.msg != nil && now.Sub(it.at) <= window {
			first = min(first, i)
			total += len(it.msg)
		}
	}
	for _, it := range live[min(first, len(live)):] {
		if it.msg == nil || now.Sub(it.at) > window {
			continue
		}
		if it.sample && total > budget {
			total -= len(it.msg)
			continue
		}
		dst = append(dst, it.msg)
	}
	return dst
}

package feed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/sensors"
)

// Run consumes the bus until sub is closed, ctx is done or the server is
// closed: samples are batched per device every 50 ms (all of them, never
// thinned), events and streams are forwarded at once. It never blocks on a
// client. Give it a lossless subscriber, or a lossy one large enough: bus
// drops are reported to clients as an "overrun" error.
func (s *Server) Run(ctx context.Context, sub *bus.Sub) {
	if sub == nil || !s.track() {
		return
	}
	defer s.wg.Done()
	t := time.NewTicker(s.lim.batchEvery)
	defer t.Stop()
	b := batcher{s: s, pending: map[string][]sensors.Sample{}, labels: map[string][]string{}}
	var dropped uint64
	for {
		select {
		case <-ctx.Done():
			b.flushAll()
			return
		case <-s.quit:
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
				s.broadcast(encodeError(e), false)
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
		if len(b.pending[d]) >= b.s.lim.maxBatch {
			b.flush(d)
		}
	case m.Event != nil:
		// Samples that came before the event go out before it.
		b.flushAll()
		b.s.broadcast(encodeEvent(m.Event), true)
	case m.Stream != nil:
		st := *m.Stream
		b.flush(st.Device)
		b.labels[st.Device] = labelsOf(st)
		msg, err := encodeStream(st)
		if err != nil {
			b.s.logf("feed: stream of %q cannot be encoded, not forwarded: %v", st.Device, err)
			return
		}
		b.s.setStream(st.Device, msg)
	}
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
	// Rough size: ~20 bytes per number, so one allocation usually suffices.
	msg := appendSamples(make([]byte, 0, 128+len(p)*(32+20*p[0].N)), device, b.labels[device], p)
	b.pending[device] = p[:0]
	b.s.broadcast(msg, true)
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if bytes.Equal(msg, s.state) {
		return
	}
	s.state = msg
	s.broadcastLocked(msg, false)
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
		c.offer(msg)
	}
}

// broadcast queues msg for every client; keep also puts it in the history
// that (re)connecting clients get.
func (s *Server) broadcast(msg []byte, keep bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.broadcastLocked(msg, keep)
}

func (s *Server) broadcastLocked(msg []byte, keep bool) {
	if keep && s.cfg.History > 0 {
		s.hist.add(time.Now(), msg, s.cfg.History, s.lim.historyBytes)
	}
	for c := range s.clients {
		c.enqueue(msg)
	}
}

// history is a ring of recent messages bounded by age and total size.
type history struct {
	items []histItem
	head  int // index of the oldest live item
	bytes int
}

type histItem struct {
	at  time.Time
	msg []byte
}

func (h *history) len() int { return len(h.items) - h.head }

func (h *history) add(now time.Time, msg []byte, window time.Duration, maxBytes int) {
	h.items = append(h.items, histItem{at: now, msg: msg})
	h.bytes += len(msg)
	h.evict(now, window, maxBytes)
}

func (h *history) evict(now time.Time, window time.Duration, maxBytes int) {
	for h.head < len(h.items) && (h.bytes > maxBytes || now.Sub(h.items[h.head].at) > window) {
		h.bytes -= len(h.items[h.head].msg)
		h.items[h.head] = histItem{}
		h.head++
	}
	// Compact when the dead prefix dominates, so memory follows the live part.
	if h.head > 64 && h.head*2 > len(h.items) {
		n := copy(h.items, h.items[h.head:])
		clear(h.items[n:])
		h.items = h.items[:n]
		h.head = 0
	}
}

// appendTo appends the messages younger than window, oldest first.
func (h *history) appendTo(dst [][]byte, now time.Time, window time.Duration) [][]byte {
	for _, it := range h.items[h.head:] {
		if now.Sub(it.at) <= window {
			dst = append(dst, it.msg)
		}
	}
	return dst
}

package bus

import (
	"sync"
	"sync/atomic"
)

// Bus fans messages out to subscribers. The zero value is not usable: use New.
type Bus struct {
	mu     sync.RWMutex
	subs   []*Sub
	closed bool
}

// New returns an empty bus.
func New() *Bus { return &Bus{} }

// Sub is one subscriber's queue. Read C until it is closed.
type Sub struct {
	C       <-chan Msg
	in      chan Msg
	out     chan Msg
	lossy   bool
	dropped atomic.Uint64
	done    chan struct{}
}

// Dropped counts messages a lossy subscriber did not keep up with.
func (s *Sub) Dropped() uint64 { return s.dropped.Load() }

// Subscribe adds a subscriber. A lossless subscriber never misses a message:
// its queue grows as needed. A lossy one keeps at most size messages queued
// and drops the newest beyond that.
func (b *Bus) Subscribe(size int, lossless bool) *Sub {
	if size < 1 {
		size = 1
	}
	s := &Sub{lossy: !lossless, done: make(chan struct{})}
	if lossless {
		s.in = make(chan Msg, size)
		s.out = make(chan Msg, size)
		go s.pump()
		s.C = s.out
	} else {
		s.in = make(chan Msg, size)
		s.C = s.in
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(s.in)
		return s
	}
	b.subs = append(b.subs, s)
	return s
}

// pump moves messages from in to out through an unbounded slice, so the
// publisher never waits on a slow lossless reader.
func (s *Sub) pump() {
	defer close(s.out)
	var q []Msg
	in := s.in
	for in != nil || len(q) > 0 {
		var out chan Msg
		var head Msg
		if len(q) > 0 {
			out, head = s.out, q[0]
		}
		select {
		case m, ok := <-in:
			if !ok {
				in = nil
				continue
			}
			q = append(q, m)
		case out <- head:
			q[0] = Msg{}
			q = q[1:]
			if len(q) == 0 {
				q = nil
			}
		}
	}
}

// Publish sends m to every subscriber without blocking the caller for long:
// a lossless subscriber's pump drains its inbox continuously.
func (b *Bus) Publish(m Msg) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return
	}
	for _, s := range b.subs {
		if s.lossy {
			select {
			case s.in <- m:
			default:
				s.dropped.Add(1)
			}
		} else {
			s.in <- m
		}
	}
}

// Close ends the bus: every subscriber's channel is closed once its queue
// has been read. Publishing after Close is a no-op.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for _, s := range b.subs {
		close(s.in)
	}
}

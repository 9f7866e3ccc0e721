package synth

import (
	"sort"
	"sync"
	"time"
)

// lightKeep is how many transitions a Light remembers. A simulated
// photodiode asks for the light at most its lag (≤ 1 s) plus the
// simulator's backlog (≤ 1 s by default) in the past; 1024 transitions
// cover that even for a patch toggled on every frame at 240 Hz.
const lightKeep = 1024

// Light is a light source seen by a simulated photodiode: the on/off
// history of the window's sync patch, as the window presents it. The
// window calls Set on each change, a simulator calls At for each sample it
// takes. The zero value is a light that has always been off. It is safe
// for concurrent use and its memory is bounded: it keeps the last 1024
// transitions.
type Light struct {
	mu   sync.Mutex
	ring [lightKeep]transition
	head int // index of the oldest kept transition
	n    int // transitions kept
}

type transition struct {
	at time.Time
	on bool // the state from at on
}

// Set records that the light turned on (or off) at the given time: when
// the frame that shows the change was presented. Times must come from the
// clock At is asked about (time.Now's, as a simulator's sample times are);
// a time before the last change is taken as that change's time, as the
// history only moves forward. Setting the state it already has does
// nothing.
func (l *Light) Set(on bool, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n > 0 {
		last := l.ring[(l.head+l.n-1)%lightKeep]
		if last.on == on {
			return
		}
		if at.Before(last.at) {
			at = last.at
		}
	} else if !on {
		return // it was off already
	}
	if l.n == lightKeep {
		l.head = (l.head + 1) % lightKeep
		l.n--
	}
	l.ring[(l.head+l.n)%lightKeep] = transition{at: at, on: on}
	l.n++
}

// At reports whether the light was on at time t. Before the oldest change
// it remembers, the light was in the state that change left.
func (l *Light) At(t time.Time) bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == 0 {
		return false
	}
	// the first kept transition after t; the one before it holds at t
	i := sort.Search(l.n, func(i int) bool { return l.ring[(l.head+i)%lightKeep].at.After(t) })
	if i == 0 {
		return !l.ring[l.head].on // transitions alternate
	}
	return l.ring[(l.head+i-1)%lightKeep].on
}

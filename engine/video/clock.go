package video

import (
	"sync"
	"time"
)

// audioSlack is how far the picture may trail the sound handed to the mixer
// before it is pulled forward. Pulls come in bursts of 10–40 ms; a
// card's clock differs from the system's by well under 0.1 %, so this is
// reached only after minutes, and then corrected in steps of a few
// milliseconds.
const audioSlack = 250 * time.Millisecond

// clock is a video's media time: the wall clock while running, held within
// [heard-audioSlack, heard] once it follows the sound.
type clock struct {
	mu      sync.Mutex
	now     func() time.Time
	running bool
	base    time.Duration // media time at wall
	wall    time.Time
	audio   bool
	heard   time.Duration // sound handed to the mixer so far
}

func (c *clock) time() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	t := c.base
	if c.running {
		t += now.Sub(c.wall)
	}
	if c.audio {
		t = min(max(t, c.heard-audioSlack), c.heard)
		t = max(t, 0)
		c.base, c.wall = t, now
	}
	return t
}

func (c *clock) setRunning(r bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r == c.running {
		return
	}
	now := c.now()
	if c.running {
		c.base += now.Sub(c.wall)
	}
	c.wall, c.running = now, r
}

// follow ties the clock to the sound from now on.
func (c *clock) follow() {
	c.mu.Lock()
	c.audio = true
	c.mu.Unlock()
}

// handed records how much sound has gone to the mixer.
func (c *clock) handed(d time.Duration) {
	c.mu.Lock()
	c.heard = d
	c.mu.Unlock()
}

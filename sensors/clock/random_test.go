package clock

import (
	"fmt"
	"testing"
	"time"
)

// TestRandomStreams runs streams mixing every trouble at random: drift,
// a stall whose backlog drains at random speed, losses, and (with a
// counter) a 10 s latency step that is not a whole number of wraps.
func TestRandomStreams(t *testing.T) {
	seeds := uint64(12)
	if testing.Short() {
		seeds = 4
	}
	var worst, steady time.Duration
	for seed := range seeds {
		for _, c := range []Counter{bitalino, none} {
			s := base(100 * time.Second)
			s.Seed, s.Counter = seed, c
			s.DriftPPM = float64(int(seed%11)-5) * 100
			s.StallAt, s.Stall = time.Duration(5+seed*29%30)*time.Second, time.Duration(1+seed%3)*time.Second
			s.Drain = time.Duration(seed%4) * 300 * time.Microsecond
			if c == bitalino && seed%2 == 1 {
				s.ExtraAt, s.Extra = 60*time.Second, 25*time.Millisecond
			}
			k := int(5 + seed%41)
			s.Lose = map[int]int{int(75+seed%10) * 1000: k, 90000: 16}
			t.Run(fmt.Sprintf("seed %d %+v", seed, c), func(t *testing.T) {
				r := run(t, s, Config{Rate: s.Rate, Counter: s.Counter})
				if r.lostWrong != 0 || r.lost != uint64(k+16) {
					t.Errorf("lost %d (%d samples wrong), want %d", r.lost, r.lostWrong, k+16)
				}
				if r.maxDev > time.Millisecond || r.stats.Anchors != 1 {
					t.Errorf("max deviation %v (sample %d), want ≤ 1 ms; %d anchors, want 1", r.maxDev, r.worst, r.stats.Anchors)
				}
				worst, steady = max(worst, r.maxDev), max(steady, r.steadyDev)
			})
		}
	}
	t.Logf("largest deviation %v; after the first 5 s %v", worst, steady)
}

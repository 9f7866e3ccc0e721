package synth

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestLight(t *testing.T) {
	t0 := time.Now()
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	type set struct {
		on bool
		at time.Duration
	}
	tests := []struct {
		name string
		sets []set
		want map[time.Duration]bool // At(t0+key)
	}{
		{"never set: dark", nil, map[time.Duration]bool{-time.Hour: false, 0: false, time.Hour: false}},
		{"off when off does nothing", []set{{false, 0}}, map[time.Duration]bool{0: false, time.Second: false}},
		{"one flash", []set{{true, 10 * ms}, {false, 60 * ms}}, map[time.Duration]bool{
			0: false, 10*ms - 1: false, 10 * ms: true, 59 * ms: true, 60 * ms: false, time.Hour: false}},
		{"repeated states are not transitions", []set{{true, 10 * ms}, {true, 20 * ms}, {false, 30 * ms}, {false, 40 * ms}, {true, 50 * ms}},
			map[time.Duration]bool{15 * ms: true, 25 * ms: true, 35 * ms: false, 45 * ms: false, 50 * ms: true}},
		{"a time out of order is the last change's", []set{{true, 50 * ms}, {false, 40 * ms}}, map[time.Duration]bool{
			45 * ms: false, 50 * ms: false, 51 * ms: false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var l Light
			for _, s := range tc.sets {
				l.Set(s.on, at(s.at))
			}
			for d, want := range tc.want {
				assert.Equal(t, want, l.At(at(d)), "at %v", d)
			}
		})
	}
	var nilLight *Light
	assert.False(t, nilLight.At(t0), "no light is dark")
}

// The history is bounded: the oldest transitions are forgotten, and before
// the oldest kept the light is in the state it left.
func TestLightForgets(t *testing.T) {
	var l Light
	t0 := time.Now()
	n := 3*lightKeep + 1
	for i := range n { // on at even ms, off at odd
		l.Set(i%2 == 0, t0.Add(time.Duration(i)*ms))
	}
	assert.Equal(t, lightKeep, l.n)
	oldest := time.Duration(n-lightKeep) * ms
	for _, d := range []time.Duration{oldest, oldest + ms, time.Duration(n-1) * ms} {
		assert.Equal(t, (d/ms)%2 == 0, l.At(t0.Add(d)), "at %v", d)
	}
	assert.True(t, l.At(t0.Add(time.Hour)), "the last change (i = n-1, even) turned it on")
	assert.Equal(t, (oldest/ms-1)%2 == 0, l.At(t0), "before what it remembers: the state the oldest change left")
}

// Set and At from several goroutines: go test -race checks it.
func TestLightConcurrent(t *testing.T) {
	var l Light
	t0 := time.Now()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 5000 {
			l.Set(i%2 == 0, t0.Add(time.Duration(i)*ms))
		}
	}()
	go func() {
		defer wg.Done()
		for i := range 5000 {
			l.At(t0.Add(time.Duration(i) * ms))
		}
	}()
	wg.Wait()
	assert.False(t, l.At(t0.Add(time.Hour)), "the last change (i = 4999) turned it off")
}

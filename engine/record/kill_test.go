package record

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cueroom/cueroom/event"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/sensors"
)

const childEnv = "CUEROOM_RECORD_KILL_CHILD"

// childSample and childEvent are what the child records, so the parent can
// check every value it reads back.
func childSample(i int) sensors.Sample {
	s := sensors.Sample{Device: "bitalino", T: time.Duration(i) * time.Millisecond, Seq: uint32(i), N: 6}
	for c := 0; c < 6; c++ {
		s.Values[c] = float64(i)*0.001 + float64(c)
	}
	return s
}

func childEvent(k int) event.Event {
	return ev(event.KindMarker, k, time.Duration(k*50)*time.Millisecond, map[string]any{"k": float64(k)})
}

// runChild records until it is killed, printing a line after every fsync.
func runChild(root string) {
	w, err := Create(root, testMeta(), protoSrc, SyncEvery(10*time.Millisecond), func(o *options) {
		o.onSync = func(n int) { fmt.Printf("fsynced %d records\n", n) }
	})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	fmt.Printf("dir %s\n", w.Dir())
	b := bus.New()
	go w.Run(b.Subscribe(64, true))
	tick := time.NewTicker(time.Millisecond) // paces the workload, not a test
	for i := 0; ; i++ {
		s := childSample(i)
		b.Publish(bus.Msg{Sample: &s})
		if i%50 == 0 {
			e := childEvent(i / 50)
			b.Publish(bus.Msg{Event: &e})
		}
		if i%10 == 9 {
			<-tick.C
		}
	}
}

func TestKill9LosesNothingFsynced(t *testing.T) {
	if root := os.Getenv(childEnv); root != "" {
		runChild(root)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	root := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9LosesNothingFsynced$")
	cmd.Env = append(os.Environ(), childEnv+"="+root)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	waited := false
	t.Cleanup(func() {
		if !waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})

	type progress struct {
		dir    string
		synced int
		err    error
	}
	got := make(chan progress, 1)
	go func() {
		var p progress
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if d, ok := strings.CutPrefix(line, "dir "); ok {
				p.dir = d
			}
			var n int
			if _, err := fmt.Sscanf(line, "fsynced %d records", &n); err == nil && n >= 30 && p.dir != "" {
				p.synced = n
				got <- p
				// Keep draining so the child never blocks on a full pipe.
				for sc.Scan() {
				}
				return
			}
		}
		p.err = fmt.Errorf("child stopped before reporting enough fsynced records: %v", sc.Err())
		got <- p
	}()
	var p progress
	select {
	case p = <-got:
	case <-time.After(60 * time.Second):
		t.Fatal("the child did not report an fsync in time")
	}
	require.NoError(t, p.err)
	require.NoError(t, cmd.Process.Kill()) // SIGKILL on Unix: no deferred code, no Close
	cmd.Wait()
	waited = true

	s, err := Open(p.dir)
	require.NoError(t, err)
	t.Logf("fsynced %d, read %d records, %d samples, %d events, recovered %+v", p.synced, s.Records, len(s.Samples["bitalino"]), len(s.Events), s.Recovered)
	assert.False(t, s.Complete, "the session never closed")
	assert.GreaterOrEqual(t, s.Records, p.synced, "every fsynced record is there")
	if s.Recovered != nil {
		assert.Zero(t, s.Recovered.Skipped, "only the tail can be torn: %s", s.Recovered.Note)
	}
	// No gaps: the records read are exactly the first ones written.
	samples := s.Samples["bitalino"]
	require.NotEmpty(t, samples)
	for i, smp := range samples {
		require.Equal(t, childSample(i), smp, "sample %d", i)
	}
	require.NotEmpty(t, s.Events)
	for k, e := range s.Events {
		require.Equal(t, childEvent(k), e, "event %d", k)
	}

	rep, err := Repair(p.dir)
	require.NoError(t, err)
	again, err := Open(p.dir)
	require.NoError(t, err)
	assert.Nil(t, again.Recovered)
	assert.Equal(t, s.Records, again.Records)
	if rep != nil {
		require.Len(t, again.Notes, 1)
	}
}

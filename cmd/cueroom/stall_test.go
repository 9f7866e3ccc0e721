package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/physio"
)

// TestStallKeepsSampleTimes is issue 12's stall: the sensor runs in its own
// process (cueroom sim, as a real device keeps sending whatever our process
// does), and the cueroom process is stopped (SIGSTOP) for 2.5 s in the
// middle of a session. Samples are timed by the device's counter, so the
// recorded times of the 1 kHz stream stay on one straight line, and the
// derived physiology and SCRs, timed from them, stay where they belong.
func TestStallKeepsSampleTimes(t *testing.T) {
	sim := cueroom(t, "sim", "bitalino?rate=1000&buffer=1m") // a device that never overflows: every sample arrives, late or not
	// The simulator dies with the test, even one killed by a timeout.
	sim.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := sim.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, sim.Start())
	t.Cleanup(func() { _ = sim.Process.Signal(os.Interrupt); _ = sim.Wait() })
	sc := bufio.NewScanner(out)
	require.True(t, sc.Scan(), "cueroom sim printed no port")
	port := strings.TrimSpace(sc.Text())

	p := startRun(t, t.TempDir(), "--sensor", "bitalino:"+port, "testdata/stall.yaml")
	c := p.dial(t)
	// Stop it a few seconds into the step, with baseline samples behind.
	readUntil(t, c, 30*time.Second, func(m feedMsg) bool {
		return m.Type == "event" && m.Kind == string(event.KindStepStart) && m.Data["id"] == "hold"
	})
	pid := p.cmd.Process.Pid
	require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
	time.Sleep(2500 * time.Millisecond) // the stall itself, not a synchronisation
	require.NoError(t, syscall.Kill(pid, syscall.SIGCONT))
	p.wait(t, 60*time.Second)

	s, err := record.Open(p.dir)
	require.NoError(t, err)
	var stream sensors.Stream
	for _, st := range s.Streams {
		if st.Kind == "bitalino" {
			stream = st
		}
	}
	got := s.Samples[stream.Device]
	require.Greater(t, len(got), 10_000, "samples of %s", stream.Device)

	// The stall happened: some samples arrived 2 s or more after they were
	// taken, and their arrival times are in the recording.
	var late time.Duration
	for _, x := range got {
		late = max(late, x.Arrival-x.T)
	}
	assert.Greater(t, late, 2*time.Second, "the process was stopped 2.5 s: samples arrived that late")

	if dump := os.Getenv("CUEROOM_STALL_DUMP"); dump != "" {
		// For studying a failure: the samples' counters, arrivals and times.
		var b strings.Builder
		for _, x := range got {
			fmt.Fprintf(&b, "%d,%d,%d\n", x.Seq, x.Arrival, x.T)
		}
		require.NoError(t, os.WriteFile(dump, []byte(b.String()), 0o644))
	}
	// On a failure, where the times stepped (a loss counted, a re-anchor).
	for i, n := 1, 0; i < len(got) && n < 20; i++ {
		if d := got[i].T - got[i-1].T; d < 500*time.Microsecond || d > 1500*time.Microsecond {
			n++
			t.Logf("sample %d: seq %d→%d, T +%v, arrival %v→%v", i, got[i-1].Seq, got[i].Seq, d, got[i-1].Arrival, got[i].Arrival)
		}
	}
	// Recorded times on a straight line through the device's counter.
	a, b := fitLine(got)
	var worst time.Duration
	for _, x := range got {
		d := x.T - lineAt(a, b, x.Seq)
		worst = max(worst, d, -d)
	}
	t.Logf("%d samples; latest arrival %v after sampling; worst deviation from the line %v", len(got), late, worst)
	assert.LessOrEqual(t, worst, 2*time.Millisecond, "recorded sample times off a straight line")

	// The derived physiology and SCRs recorded live are what the same
	// samples give on the ideal line, within 5 ms.
	ideal := make([]sensors.Sample, len(got))
	for i, x := range got {
		ideal[i] = x
		ideal[i].T = lineAt(a, b, x.Seq)
	}
	proc, err := physio.New(stream, physio.Config{})
	require.NoError(t, err)
	var levels, scrs []time.Duration
	var out2 []physio.Derived
	for _, x := range ideal {
		out2 = proc.Push(x, out2[:0])
		for _, d := range out2 {
			switch d.Kind {
			case physio.KindLevels:
				levels = append(levels, d.T)
			case physio.KindSCR:
				scrs = append(scrs, d.SCR.Onset, d.SCR.Peak)
			}
		}
	}
	var liveLevels, liveSCRs []time.Duration
	for _, x := range s.Samples["physio"] {
		liveLevels = append(liveLevels, x.T)
	}
	for _, e := range s.Events {
		if r, ok := e.Data.(event.SCR); ok {
			liveSCRs = append(liveSCRs, r.Onset.Duration(), r.Peak.Duration())
		}
	}
	require.NotEmpty(t, levels)
	assertSameTimes(t, "derived physiology", levels, liveLevels)
	assertSameTimes(t, "SCR onsets and peaks", scrs, liveSCRs)
}

// fitLine fits T = a + b·seq by least squares.
func fitLine(xs []sensors.Sample) (a, b float64) {
	var sx, sy, sxx, sxy float64
	n := float64(len(xs))
	x0 := float64(xs[0].Seq)
	for _, s := range xs {
		x, y := float64(s.Seq)-x0, float64(s.T)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	b = (n*sxy - sx*sy) / (n*sxx - sx*sx)
	a = (sy - b*sx) / n
	return a - b*x0, b
}

func lineAt(a, b float64, seq uint32) time.Duration {
	return time.Duration(math.Round(a + b*float64(seq)))
}

// assertSameTimes checks that two runs of the same derivation gave the same
// number of results, each within 5 ms of the other's.
func assertSameTimes(t *testing.T, what string, want, got []time.Duration) {
	t.Helper()
	n := min(len(want), len(got))
	// The live run may stop a few ticks early: at the end, derived values
	// made after the bus has closed are not recorded (a loaded machine's
	// physiology stage lags by up to a second or two there).
	assert.LessOrEqual(t, abs(len(want)-len(got)), 8, "%s: %d offline, %d live", what, len(want), len(got))
	var worst time.Duration
	for i := range n {
		d := got[i] - want[i]
		worst = max(worst, d, -d)
	}
	t.Logf("%s: %d offline, %d live, worst difference %v", what, len(want), len(got), worst)
	assert.LessOrEqual(t, worst, 5*time.Millisecond, "%s moved", what)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

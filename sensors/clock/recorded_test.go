package clock

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRecordedBurstAndStall replays arrival times recorded on a loaded
// machine (testdata/loaded-burst-stall.csv.gz: its header says how): the
// first two seconds of a 1 kHz BITalino stream arrived in one burst, then
// the process was stopped for 2.5 s. No frame was lost, so every emitted
// time must sit on one straight line, one period apart, with nothing
// counted lost.
func TestRecordedBurstAndStall(t *testing.T) {
	ins := loadRecorded(t)
	dev, lost, n := replayRecorded(ins)
	require.Equal(t, len(ins), n, "every sample out")
	require.Zero(t, lost, "nothing was lost")
	t.Logf("%d samples, worst deviation from the line %v", n, dev)
	require.LessOrEqual(t, dev, 2*time.Millisecond)
}

// BenchmarkRecordedStall reports the worst deviation from the straight
// line on the recorded burst-and-stall arrivals (max-dev-ms), with the
// cost of mapping them.
func BenchmarkRecordedStall(b *testing.B) {
	ins := loadRecorded(b)
	var dev time.Duration
	for b.Loop() {
		dev, _, _ = replayRecorded(ins)
	}
	b.ReportMetric(float64(dev)/1e6, "max-dev-ms")
	b.ReportMetric(float64(len(ins)), "samples/op")
}

type recorded struct {
	seq     uint32
	arrival time.Duration
}

func loadRecorded(tb testing.TB) []recorded {
	f, err := os.Open("testdata/loaded-burst-stall.csv.gz")
	require.NoError(tb, err)
	defer f.Close()
	z, err := gzip.NewReader(f)
	require.NoError(tb, err)
	var ins []recorded
	sc := bufio.NewScanner(z)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		var x recorded
		_, err := fmt.Sscanf(sc.Text(), "%d,%d", &x.seq, &x.arrival)
		require.NoError(tb, err, sc.Text())
		ins = append(ins, x)
	}
	require.NoError(tb, sc.Err())
	return ins
}

// replayRecorded maps the recorded samples (all taken one period apart)
// and returns the worst deviation of their times from that line, the
// samples counted lost and the samples emitted.
func replayRecorded(ins []recorded) (worst time.Duration, lost uint64, n int) {
	var first time.Duration
	m := New(Config{Rate: 1000, Counter: Counter{Wrap: 16}}, func(i int, at time.Duration, l uint64) {
		if n == 0 {
			first = at
		}
		d := at - first - time.Duration(i)*time.Millisecond
		worst = max(worst, d, -d)
		lost += l
		n++
	})
	for i, x := range ins {
		m.Push(i, x.seq, x.arrival)
	}
	m.Flush()
	return worst, lost, n
}

// TestRecordedIntervals: on the recorded burst-and-stall arrivals, no
// interval between emitted times is off the period by more than slewRate
// of it, while the envelope learns (an exporter's one-segment XDF and
// half-period BIDS grid rely on it).
func TestRecordedIntervals(t *testing.T) {
	ins := loadRecorded(t)
	var prev time.Duration
	var worst float64
	n := 0
	m := New(Config{Rate: 1000, Counter: Counter{Wrap: 16}}, func(_ int, at time.Duration, _ uint64) {
		if n > 0 {
			worst = max(worst, math.Abs((at-prev).Seconds()-1e-3))
		}
		prev = at
		n++
	})
	for i, x := range ins {
		m.Push(i, x.seq, x.arrival)
	}
	m.Flush()
	require.Equal(t, len(ins), n)
	t.Logf("worst interval off the period: %.1f µs", worst*1e6)
	require.LessOrEqual(t, worst, slewRate*1e-3+2e-9)
}

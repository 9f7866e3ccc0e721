package record_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/engine/record/recordtest"
)

// TestMain removes the benchmarks' recorded fixtures when the run ends.
func TestMain(m *testing.M) { os.Exit(recordtest.Run(m)) }

// readAll indexes a session and reads every sample, as a consumer
// streaming it does.
func readAll(tb testing.TB, dir string) {
	x, err := record.OpenIndex(dir)
	require.NoError(tb, err)
	defer x.Close()
	n := 0
	for range x.Samples(recordtest.Device) {
		n++
	}
	require.NoError(tb, x.Err())
	require.Equal(tb, x.Stats(recordtest.Device).Count, n)
}

// BenchmarkIndexPeakMemory: indexing a 10-minute and a 4-hour session
// (1 kHz × 2 channels) and reading every sample back through a cursor
// needs the same memory (recordtest.PeakHeap), however long the session.
// The 4 h case reports its ratio to the 10-minute one (issue #11: at most
// 1.3) and samples/s; it is skipped in -short mode.
func BenchmarkIndexPeakMemory(b *testing.B) {
	short := recordtest.Fixture(b, 10*time.Minute)
	for _, dur := range []time.Duration{10 * time.Minute, 4 * time.Hour} {
		b.Run(recordtest.Name(dur), func(b *testing.B) {
			dir := recordtest.Fixture(b, dur)
			b.ResetTimer()
			var peak recordtest.Peak
			for range b.N {
				peak = peak.Max(recordtest.PeakHeap(func() { readAll(b, dir) }))
			}
			b.ReportMetric(dur.Seconds()*recordtest.Rate*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
			recordtest.ReportPeak(b, peak)
			if dur > 10*time.Minute {
				b.StopTimer()
				recordtest.ReportRatio(b, peak, recordtest.PeakHeap(func() { readAll(b, short) }))
			}
		})
	}
}

// BenchmarkOpenPeakMemory is what reading a 10-minute session whole
// (record.Open) needs, to compare with BenchmarkIndexPeakMemory. (A 4 h
// session read whole needs some 2 GB, too much for a benchmark run.)
func BenchmarkOpenPeakMemory(b *testing.B) {
	dir := recordtest.Fixture(b, 10*time.Minute)
	b.ResetTimer()
	var peak recordtest.Peak
	for range b.N {
		peak = peak.Max(recordtest.PeakHeap(func() {
			s, err := record.Open(dir)
			require.NoError(b, err)
			require.Len(b, s.Samples[recordtest.Device], 600*recordtest.Rate)
		}))
	}
	recordtest.ReportPeak(b, peak)
}

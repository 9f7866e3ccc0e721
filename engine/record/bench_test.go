package record

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/sensors"
)

// benchSample is a 1000 Hz, 6-channel sample i with realistic
// full-precision values.
func benchSample(i int) sensors.Sample {
	s := sensors.Sample{Device: "bitalino", T: time.Duration(i) * time.Millisecond, Seq: uint32(i & 15), N: 6}
	for c := 0; c < 6; c++ {
		s.Values[c] = float64(i%1024)*0.0123456789 + float64(c)*1.1
	}
	return s
}

func reportThroughput(b *testing.B, dir string) {
	st, err := os.Stat(filepath.Join(dir, DataFile))
	require.NoError(b, err)
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/sec, "samples/s")
	b.ReportMetric(float64(st.Size())/sec/1e6, "MB/s")
	b.ReportMetric(float64(st.Size())/float64(b.N), "B/sample")
}

// BenchmarkWrite1000Hz6ch measures the writer itself: batching, encoding,
// checksums, writes and the fsync cadence (the default second), and the
// final Close. 1000 samples/s are needed in real time.
func BenchmarkWrite1000Hz6ch(b *testing.B) {
	w, err := Create(b.TempDir(), testMeta(), protoSrc)
	require.NoError(b, err)
	s := make([]sensors.Sample, 1024)
	for i := range s {
		s[i] = benchSample(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		smp := &s[i&1023]
		smp.T = time.Duration(i) * time.Millisecond
		w.handle(bus.Msg{Sample: smp})
	}
	require.NoError(b, w.Close())
	b.StopTimer()
	reportThroughput(b, w.Dir())
}

// BenchmarkWriteThroughBus is the same workload arriving the way it does
// in a session: published on the bus, consumed by Run.
func BenchmarkWriteThroughBus(b *testing.B) {
	w, err := Create(b.TempDir(), testMeta(), protoSrc)
	require.NoError(b, err)
	bs := bus.New()
	sub := bs.Subscribe(1024, true)
	done := make(chan error, 1)
	go func() { done <- w.Run(sub) }()
	s := make([]sensors.Sample, b.N)
	for i := range s {
		s[i] = benchSample(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range s {
		bs.Publish(bus.Msg{Sample: &s[i]})
	}
	bs.Close()
	require.NoError(b, <-done)
	require.NoError(b, w.Close())
	b.StopTimer()
	reportThroughput(b, w.Dir())
}

// BenchmarkOpen reads back one minute of 1000 Hz × 6 channels.
func BenchmarkOpen(b *testing.B) {
	w, err := Create(b.TempDir(), testMeta(), protoSrc)
	require.NoError(b, err)
	for i := 0; i < 60_000; i++ {
		s := benchSample(i)
		w.handle(bus.Msg{Sample: &s})
	}
	require.NoError(b, w.Close())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := Open(w.Dir())
		require.NoError(b, err)
		require.Len(b, s.Samples["bitalino"], 60_000)
	}
	b.ReportMetric(60_000*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

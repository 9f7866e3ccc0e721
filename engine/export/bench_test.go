package export

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/bus"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/sensors"
)

// bench2h records a two-hour session at 1000 Hz × 2 channels the way a
// session does (record.Create, the bus, the writer), with a step and a cue
// every minute, and returns its folder.
func bench2h(b *testing.B, root string) string {
	const (
		span = 2 * time.Hour
		rate = 1000
	)
	stream := sensors.Stream{Device: "bitalino", Kind: "bitalino", Rate: rate,
		Channels: []sensors.Channel{{Label: "eda", Unit: "uS", Type: "EDA"}, {Label: "ecg", Unit: "mV", Type: "ECG"}}}
	w, err := record.Create(root, record.Meta{Title: "two hours", Start: goldenStart,
		Streams: []sensors.Stream{stream}, Manifest: goldenManifest()}, []byte(protoSrc))
	require.NoError(b, err)
	bs := bus.New()
	sub := bs.Subscribe(4096, true)
	done := make(chan error, 1)
	go func() { done <- w.Run(sub) }()
	n := int(span.Seconds() * rate)
	for i := 0; i < n; i++ {
		t := time.Duration(i) * time.Second / rate
		if i%(60*rate) == 0 {
			step := i / (60 * rate)
			bs.Publish(ev(t, bus.StepStart, step, map[string]any{"id": "s", "intensity": step % 5}))
			bs.Publish(ev(t+time.Millisecond, bus.CueOnset, step, map[string]any{"cue": "bottle.c1", "channel": "visual"}))
			bs.Publish(ev(t+59*time.Second, bus.CueOffset, step, map[string]any{"cue": "bottle.c1", "channel": "visual"}))
			bs.Publish(ev(t+60*time.Second-time.Millisecond, bus.StepEnd, step, nil))
		}
		// Arrival in bursts of four, as over Bluetooth.
		s := &sensors.Sample{Device: "bitalino", T: time.Duration(i|3)*time.Second/rate + 3*time.Millisecond, Seq: uint32(i & 15), N: 2}
		s.Values[0] = 2 + float64(i%4096)/1000
		s.Values[1] = float64(i%997)/500 - 1
		bs.Publish(bus.Msg{Sample: s})
	}
	bs.Close()
	require.NoError(b, <-done)
	require.NoError(b, w.Close())
	return w.Dir()
}

// BenchmarkExport2h exports a two-hour, 1000 Hz × 2 channel session in
// each format and reports how many times faster than real time that is:
// x_realtime with reading the session (record.Open) included, as the
// command does, x_realtime_write for the export alone.
func BenchmarkExport2h(b *testing.B) {
	root := b.TempDir()
	dir := bench2h(b, root)
	for _, f := range Formats {
		b.Run(string(f), func(b *testing.B) {
			b.ReportAllocs()
			var writing time.Duration // Write alone, without reading the session
			for i := 0; i < b.N; i++ {
				s, err := record.Open(dir)
				require.NoError(b, err)
				require.Len(b, s.Samples["bitalino"], 7_200_000)
				out := filepath.Join(root, "out-"+string(f))
				if f == XDF {
					out += ".xdf"
				}
				t0 := time.Now()
				_, err = Write(s, out, Options{Format: f})
				writing += time.Since(t0)
				require.NoError(b, err)
				b.StopTimer()
				require.NoError(b, os.RemoveAll(out))
				b.StartTimer()
			}
			b.ReportMetric(2*3600*float64(b.N)/b.Elapsed().Seconds(), "x_realtime")
			b.ReportMetric(2*3600*float64(b.N)/writing.Seconds(), "x_realtime_write")
		})
	}
}

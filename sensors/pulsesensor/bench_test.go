package pulsesensor

import (
	"strconv"
	"testing"
)

// loop serves the same bytes forever.
type loop struct {
	data []byte
	off  int
}

func (l *loop) Read(b []byte) (int, error) {
	n := copy(b, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

func BenchmarkDecode(b *testing.B) {
	var plot, vis []byte
	for i := range 1000 {
		plot = append(plot, "72,833,"+strconv.Itoa(400+i%300)+"\r\n"...)
		vis = append(vis, "S"+strconv.Itoa(400+i%300)+"\r\n"...)
		if i%40 == 0 {
			vis = append(vis, "B72\r\nQ833\r\n"...)
		}
	}
	for _, tc := range []struct {
		mode Mode
		data []byte
	}{{Plotter, plot}, {Visualizer, vis}} {
		b.Run(string(tc.mode), func(b *testing.B) {
			dec := device(b, Config{Mode: tc.mode}).NewDecoder(&loop{data: tc.data})
			b.SetBytes(int64(len(tc.data) / 1000))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := dec.Next(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
			if dec.Dropped() != 0 {
				b.Fatalf("dropped %d bytes", dec.Dropped())
			}
		})
	}
}

package lineproto

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestdata(name string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", name)) }

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

// BenchmarkDecode measures throughput per sample: MB/s from SetBytes, and
// samples/s; allocations must stay at zero.
func BenchmarkDecode(b *testing.B) {
	tests := []struct {
		name string
		cfg  Config
		head string
		line func(i int) string
	}{
		{"grove", Config{Mode: Grove}, "", func(i int) string { return fmt.Sprint(300 + i%200) }},
		{"csv", Config{}, Header, func(i int) string {
			return fmt.Sprintf("%d,%.3f,%.1f", 1000+i*20, 4+float64(i%100)/100, 70+float64(i%10))
		}},
		{"kv", Config{}, "", func(i int) string {
			return fmt.Sprintf("seq=%d eda_uS=%.3f hr=%.1f", i, 4+float64(i%100)/100, 70+float64(i%10))
		}},
	}
	for _, tc := range tests {
		b.Run(tc.name, func(b *testing.B) {
			var sb strings.Builder
			const lines = 1000
			for i := range lines {
				sb.WriteString(tc.line(i) + "\r\n")
			}
			body := sb.String()
			d, err := New(tc.cfg)
			if err != nil {
				b.Fatal(err)
			}
			// detect on a first pass so the loop measures decoding only
			dec := d.NewDecoder(&loop{data: []byte(tc.head + "\r\n" + body)}).(*Decoder)
			for range 3 {
				if _, err := dec.Next(); err != nil {
					b.Fatal(err)
				}
			}
			dec = d.NewDecoder(&loop{data: []byte(body)}).(*Decoder)
			b.SetBytes(int64(len(body) / lines))
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

package shimmer

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
	for _, crc := range []int{0, 2} {
		b.Run("crc"+strconv.Itoa(crc), func(b *testing.B) {
			data, _ := stream(b, 256, 4096, 0, crc)
			d, err := New(Config{CRC: crc})
			if err != nil {
				b.Fatal(err)
			}
			dec := d.NewDecoder(&loop{data: data})
			b.SetBytes(int64(8 + crc))
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

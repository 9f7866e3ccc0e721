package contec

import "testing"

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
	for _, proto := range []Protocol{ProtocolNew, ProtocolOld} {
		b.Run(string(proto), func(b *testing.B) {
			data, _ := stream(proto, 1000)
			dec := device(b, Config{Protocol: proto}).NewDecoder(&loop{data: data})
			L := newLen
			if proto == ProtocolOld {
				L = oldLen
			}
			b.SetBytes(int64(L))
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

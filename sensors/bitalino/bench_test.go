package bitalino

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
	for _, n := range []int{1, 2, 6} {
		b.Run(strconv.Itoa(n)+"ch", func(b *testing.B) {
			data, _ := frames(b, n, 16*64, 0) // a whole number of sequence cycles
			d := rawDevice(b, n)
			if n == 2 {
				d = quickDeviceB(b)
			}
			dec := d.NewDecoder(&loop{data: data})
			b.SetBytes(int64(FrameLen(n)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := dec.Next(); err != nil {
					b.Fatal(err)
				}
			}
			if dec.Dropped() != 0 {
				b.Fatalf("dropped %d bytes", dec.Dropped())
			}
		})
	}
}

// quickDeviceB is the default EDA+ECG device, so conversion is measured too.
func quickDeviceB(b *testing.B) *Device {
	d, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	return d
}

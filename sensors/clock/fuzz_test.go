package clock

import (
	"encoding/binary"
	"testing"
	"time"
)

// FuzzPush feeds arbitrary counters and arrival times, with Flush and
// Reset in between: the mapper must not panic, must emit every sample
// exactly once, in order, and its times must strictly increase.
func FuzzPush(f *testing.F) {
	clean := []byte{0, 0}
	for range 600 {
		clean = append(clean, 1, 10, 0) // 1 sample, 1 ms later
	}
	f.Add(clean)
	f.Add([]byte{1, 3, 64, 40, 0, 64, 40, 0, 0x80, 0, 0, 64, 200, 0})
	f.Add([]byte{2, 1, 1, 0xFF, 0xFF, 1, 0xFF, 0x7F, 0xC1, 0, 0, 1, 1, 0})
	f.Add([]byte{3, 2, 0, 0, 0, 0, 0, 0, 0x3F, 0, 0x80, 0xC0, 1, 1})
	f.Fuzz(fuzzOne)
}

func fuzzOne(t *testing.T, data []byte) {
	if len(data) < 2 {
		return
	}
	cfgs := []Config{
		{Rate: 1000, Counter: bitalino},
		{Rate: 512, Counter: shimmer},
		{Rate: 60},
		{Rate: 1000, Counter: Counter{Wrap: 1 << 32}},
		{Rate: 1000, Counter: Counter{TicksPerSecond: 32768, Wrap: 1 << 16}},
		{},
	}
	cfg := cfgs[int(data[0])%len(cfgs)]
	cfg.Window = time.Duration(1+data[1]%8) * time.Second // small: the ring wraps
	var (
		emitted, pushed int
		last            time.Duration
		seq             uint32
		at              = time.Duration(data[1]) * time.Hour
	)
	m := New(cfg, func(i int, t2 time.Duration, _ uint64) {
		if i != emitted {
			t.Fatalf("emitted sample %d, want %d", i, emitted)
		}
		if emitted > 0 && t2 <= last {
			t.Fatalf("sample %d: time %v not after %v", i, t2, last)
		}
		emitted, last = i+1, t2
	})
	for b := data[2:]; len(b) >= 3; b = b[3:] {
		// b[0]: the counter's step (top bits 11: Flush, Reset or a jump);
		// b[1:3]: the arrival step, in 100 µs, signed.
		step := uint32(b[0] & 0x3F)
		if b[0]>>6 == 3 {
			switch b[0] & 3 {
			case 0:
				m.Flush()
			case 1:
				m.Reset()
			default:
				step = binary.LittleEndian.Uint32([]byte{b[1], b[2], b[0], b[1]})
			}
		}
		if cfg.Counter.TicksPerSecond > 0 {
			step *= 64
		}
		seq += step
		at += time.Duration(int16(binary.LittleEndian.Uint16(b[1:3]))) * 100 * time.Microsecond
		m.Push(pushed, seq, at)
		pushed++
	}
	m.Flush()
	if emitted != pushed {
		t.Fatalf("emitted %d of %d samples", emitted, pushed)
	}
	if s := m.Stats(); s.Samples != uint64(pushed) {
		t.Fatalf("stats count %d samples, want %d", s.Samples, pushed)
	}
}

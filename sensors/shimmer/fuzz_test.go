package shimmer

import (
	"bytes"
	"errors"
	"io"
	"math"
	"testing"
	"testing/iotest"
	"time"
)

// FuzzDecode feeds arbitrary bytes to the decoder in every CRC mode and GSR
// range: it must not panic, must account for every byte (decoded or
// dropped), and must produce values in the converters' ranges.
func FuzzDecode(f *testing.F) {
	clean, _ := stream(f, 256, 20, 0xFFFFF0, 0)
	crc2, _ := stream(f, 256, 20, 77, 2)
	f.Add(uint8(0), uint8(0), false, unhex(f, "00 DE D0 B2 26 07 00 DE D1 B2 26 07"))
	f.Add(uint8(0), uint8(0), false, clean)
	f.Add(uint8(0), uint8(2), true, append([]byte{0xFF, 0x00, 0x13}, clean...))
	f.Add(uint8(2), uint8(4), false, crc2)
	f.Add(uint8(2), uint8(1), true, append(crc2[:13:13], crc2[20:]...))
	f.Add(uint8(1), uint8(3), false, []byte{})
	f.Fuzz(func(t *testing.T, crc, rng uint8, oneByte bool, data []byte) {
		cfg := Config{CRC: int(crc % 3), GSRRange: GSRRange(rng % 5), Rate: []float64{128, 1, 1024, 51.2}[rng/5%4]}
		d, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = bytes.NewReader(data)
		if oneByte {
			r = iotest.OneByteReader(r)
		}
		dec := d.NewDecoder(r)
		L := 8 + cfg.CRC
		count := 0
		for {
			s, err := dec.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("error %v, want io.EOF", err)
				}
				break
			}
			count++
			if s.N != 2 {
				t.Fatalf("N = %d", s.N)
			}
			eda, ppg := s.Values[0], s.Values[1]
			if math.IsNaN(eda) || eda < 1000.0/4700-1e-12 || eda > 1000.0/8+1e-12 {
				t.Fatalf("EDA %v µS out of the device's range", eda)
			}
			if math.IsNaN(ppg) || ppg < 0 || ppg > 3000 {
				t.Fatalf("PPG %v mV out of range", ppg)
			}
		}
		if got := uint64(count*L) + dec.Dropped(); got != uint64(len(data)) {
			t.Fatalf("%d samples × %d bytes + %d dropped ≠ %d bytes", count, L, dec.Dropped(), len(data))
		}
	})
}

// FuzzSimCommands feeds arbitrary command bytes to the simulator: it must
// not panic, and whatever it streams must decode for the settings it chose.
func FuzzSimCommands(f *testing.F) {
	f.Add(unhex(f, "20 01 08 04 01 00 05 00 01 21 04 01 07"))
	f.Add(unhex(f, "8b 02 08 04 21 00 05 40 00 21 02 07 72 03"))
	f.Add(unhex(f, "8b 01 05 00 00 07 2e 3f 23"))
	f.Fuzz(func(t *testing.T, cmds []byte) {
		sim, err := NewSim(SimConfig{Clock0: 0xFFFF00})
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		st := sim.newState(t0)
		for _, c := range cmds {
			_ = sim.command(&st, c, t0, nil)
		}
		if !st.streaming || !st.lay.hasAll {
			return
		}
		rate := TicksPerSecond / float64(st.div)
		if rate < 1 || rate > 1024 || st.lay.n != 2 {
			return // outside what a Device may ask for
		}
		period := time.Duration(st.div) * time.Second / TicksPerSecond
		var data []byte
		for k := 1; k <= 10; k++ {
			// period is rounded down to whole nanoseconds: aim just past the due time
			data = sim.packets(&st, st.start.Add(time.Duration(k)*period+time.Microsecond), data)
		}
		d, err := New(Config{CRC: st.crc, GSRRange: st.rng, Rate: rate})
		if err != nil {
			t.Fatal(err)
		}
		if d.div != st.div {
			return // a rate the Device would round to another divider
		}
		dec := d.NewDecoder(bytes.NewReader(data))
		for i := range 10 {
			if _, err := dec.Next(); err != nil {
				t.Fatalf("packet %d of % x: %v", i, data, err)
			}
		}
	})
}

// FuzzAwait feeds arbitrary replies to the reply scanner of Start.
func FuzzAwait(f *testing.F) {
	f.Add(uint8(0), unhex(f, "ff 02 80 02 02 ff 01 08 02 01 12 1c"))
	f.Add(uint8(1), unhex(f, "ff 02 80 02 02 ff 01 08 00 01 86"))
	f.Add(uint8(2), unhex(f, "ff ff 02 01 00 ff f4 65"))
	f.Fuzz(func(t *testing.T, crc uint8, data []byte) {
		l := &link{rw: rw{iotest.OneByteReader(bytes.NewReader(data))}, name: "fuzz", timeout: time.Minute, crc: int(crc % 3)}
		inq, err := l.inquiry()
		if err == nil {
			if len(inq.Channels) > maxChans {
				t.Fatalf("%d channels", len(inq.Channels))
			}
			if !bytes.Contains(data, inq.Channels) {
				t.Fatalf("channels % x are not in the input", inq.Channels)
			}
		}
	})
}

type rw struct{ io.Reader }

func (rw) Write(b []byte) (int, error) { return len(b), nil }

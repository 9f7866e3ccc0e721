package pulsesensor

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"time"
)

// FuzzDecode feeds arbitrary bytes to the decoder in both modes, for one
// or several sensors: it must not panic, must drop only bytes it was
// given, and must produce values within the line format's limits.
func FuzzDecode(f *testing.F) {
	f.Add(uint8(0), false, []byte(crlf("72,833,512", "0,600,1023")))
	f.Add(uint8(1), true, []byte(crlf("S512", "B72", "Q833", "S0")))
	f.Add(uint8(5), false, []byte("a512\r\nb5\r\nA72\r\nN9\r\n\xff\x00b6"))
	f.Add(uint8(4), true, []byte("512,520,530\n1,2\n"))
	f.Fuzz(func(t *testing.T, sel uint8, oneByte bool, data []byte) {
		mode := []Mode{Plotter, Visualizer}[sel%2]
		sensor := int(sel/2) % (maxSensors + 1)
		var r io.Reader = bytes.NewReader(data)
		if oneByte {
			r = iotest.OneByteReader(r)
		}
		dec := device(t, Config{Mode: mode, Sensor: sensor}).NewDecoder(r)
		count := 0
		for {
			s, err := dec.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("error %v, want io.EOF", err)
				}
				break
			}
			if s.Seq != uint32(count) {
				t.Fatalf("counter %d for sample %d", s.Seq, count)
			}
			count++
			if v := s.Values; v[0] < 0 || v[0] > maxSample || v[1] < 0 || v[1] > maxBPM || v[2] < 0 || v[2] > maxIBI {
				t.Fatalf("values out of range: %v", s.Vals())
			}
		}
		// every sample line has at least 2 bytes ("0\n")
		if dec.Dropped()+uint64(2*count) > uint64(len(data)) {
			t.Fatalf("%d dropped + %d samples exceed the %d bytes given", dec.Dropped(), count, len(data))
		}
	})
}

// FuzzStart feeds arbitrary bytes to Start: it must not panic and must
// fail with ErrNotPulseSensor or hand over a line that decodes.
func FuzzStart(f *testing.F) {
	f.Add(false, []byte(crlf("2,800,512", "72,800,515")))
	f.Add(true, []byte(crlf("junk", "S512")))
	f.Add(true, []byte("B72\r\n"))
	f.Fuzz(func(t *testing.T, vis bool, data []byte) {
		mode := Plotter
		if vis {
			mode = Visualizer
		}
		d := device(t, Config{Mode: mode, Timeout: time.Minute})
		err := d.Start(rw{bytes.NewReader(data)})
		if err != nil {
			if !errors.Is(err, ErrNotPulseSensor) {
				t.Fatalf("error %v does not wrap ErrNotPulseSensor", err)
			}
			return
		}
		d.mu.Lock()
		left := d.leftover
		d.mu.Unlock()
		i := bytes.IndexByte(left, '\n')
		if i < 0 {
			t.Fatalf("Start handed over %q, not a line", left)
		}
		if k := (parser{mode: mode}).parse(bytes.TrimSuffix(left[:i], []byte{'\r'})).kind; k == bad || k == other {
			t.Fatalf("Start handed over %q, not a valid line", left[:i])
		}
	})
}

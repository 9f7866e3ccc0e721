package bitalino

import (
	"bytes"
	"errors"
	"io"
	"math"
	"testing"
	"testing/iotest"
	"time"
)

// FuzzDecode feeds arbitrary bytes to the decoder for 1..6 channels: it
// must not panic, must account for every byte (decoded or dropped), and
// must produce values in the converters' ranges with a counter that agrees
// with the raw sequence number.
func FuzzDecode(f *testing.F) {
	clean, _ := frames(f, 2, 20, 0)
	six, _ := frames(f, 6, 20, 9)
	f.Add(uint8(1), false, []byte{0x00, 0x08, 0x51, 0x00, 0x08, 0x61})
	f.Add(uint8(2), false, clean)
	f.Add(uint8(2), true, append([]byte{0xFF, 0x13}, clean...))
	f.Add(uint8(6), false, six)
	f.Add(uint8(6), true, append(six[:13:13], six[20:]...))
	f.Add(uint8(3), false, []byte{})
	f.Fuzz(func(t *testing.T, nch uint8, oneByte bool, data []byte) {
		n := 1 + int(nch)%MaxAnalog
		inputs := []Input{{1, EDA}, {2, ECG}, {3, Raw}, {4, ECG}, {5, EDA}, {6, Raw}}[:n]
		d, err := New(Config{Inputs: inputs, EDARevision: []EDARevision{EDACurrent, EDAOlder, EDAOriginal}[int(nch)/6%3]})
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = bytes.NewReader(data)
		if oneByte {
			r = iotest.OneByteReader(r)
		}
		dec := d.NewDecoder(r)
		var count int
		var last uint32
		for {
			s, err := dec.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("error %v, want io.EOF", err)
				}
				break
			}
			if count > 0 && s.Seq <= last {
				t.Fatalf("counter went from %d to %d", last, s.Seq)
			}
			if count > 0 && s.Seq-last > 16 {
				t.Fatalf("counter jumped by %d", s.Seq-last)
			}
			last = s.Seq
			count++
			if s.N != n {
				t.Fatalf("N = %d, want %d", s.N, n)
			}
			for k, v := range s.Vals() {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("channel %d value %v", k, v)
				}
				if inputs[k].Sensor == Raw && (v < 0 || v > 1023) {
					t.Fatalf("raw channel %d value %v", k, v)
				}
				if inputs[k].Sensor == ECG && math.Abs(v) > 1.5 {
					t.Fatalf("ECG %v mV out of range", v)
				}
			}
		}
		if got := uint64(count*FrameLen(n)) + dec.Dropped(); got != uint64(len(data)) {
			t.Fatalf("%d samples × %d bytes + %d dropped ≠ %d bytes", count, FrameLen(n), dec.Dropped(), len(data))
		}
	})
}

// FuzzFrame checks encode → parse for any values and that parsing any
// bytes never panics.
func FuzzFrame(f *testing.F) {
	f.Add(uint8(1), uint8(5), uint8(0), uint16(512), uint16(0), uint16(0), uint16(0), uint16(0), uint16(0), []byte{0, 8, 0x51})
	f.Add(uint8(6), uint8(15), uint8(15), uint16(1023), uint16(1023), uint16(1023), uint16(1023), uint16(63), uint16(63), []byte{})
	f.Fuzz(func(t *testing.T, nch, seq, dig uint8, a0, a1, a2, a3, a4, a5 uint16, raw []byte) {
		n := 1 + int(nch)%MaxAnalog
		fr := Frame{Seq: seq & 0x0F, Digital: dig & 0x0F, N: n, ADC: [6]uint16{a0, a1, a2, a3, a4, a5}}
		for k := range MaxAnalog {
			if k >= n {
				fr.ADC[k] = 0
			} else {
				fr.ADC[k] &= 1<<fieldBits(k) - 1
			}
		}
		b, err := AppendFrame(nil, fr)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseFrame(b, n)
		if err != nil || got != fr {
			t.Fatalf("round trip: %+v → % x → %+v, %v", fr, b, got, err)
		}
		_, _ = ParseFrame(raw, n) // must not panic on anything
	})
}

// FuzzReadVersion feeds arbitrary replies to the version reader.
func FuzzReadVersion(f *testing.F) {
	f.Add([]byte("BITalino_v5.1\n"))
	f.Add([]byte("\x00\x08\x51BITalino_v4.2\r\n"))
	f.Add([]byte("BITal"))
	f.Add([]byte("BITalinoBITalino\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := readVersion(iotest.OneByteReader(bytes.NewReader(data)), "fuzz", time.Minute)
		if err == nil {
			if !bytes.HasPrefix([]byte(v), versionTag) || bytes.ContainsAny([]byte(v), "\n") {
				t.Fatalf("bad version %q", v)
			}
			if !bytes.Contains(data, append([]byte(v), '\n')) && !bytes.Contains(data, append([]byte(v), '\r', '\n')) {
				t.Fatalf("version %q is not a line of the input", v)
			}
		} else if !errors.Is(err, ErrNotBITalino) {
			t.Fatalf("error %v does not wrap ErrNotBITalino", err)
		}
	})
}

// FuzzSimCommands feeds arbitrary command bytes to the simulator: it must
// not panic, and whatever it streams must decode for the channels it chose.
func FuzzSimCommands(f *testing.F) {
	f.Add([]byte{0x00, 0x07, 0xC3, 0x0D})
	f.Add([]byte{0x83, 0xFD, 0x00, 0x07, 0x05})
	f.Add([]byte{0x01, 0xFF, 0x0B, 0xA3, 0x10})
	f.Fuzz(func(t *testing.T, cmds []byte) {
		sim, err := NewSim(SimConfig{})
		if err != nil {
			t.Fatal(err)
		}
		var st simState
		st.code = 3
		var out bytes.Buffer
		for _, c := range cmds {
			if err := sim.command(&st, &out, c); err != nil {
				t.Fatal(err)
			}
		}
		if !st.live {
			return
		}
		if st.n < 1 || st.n > MaxAnalog {
			t.Fatalf("live with %d channels", st.n)
		}
		// one period at a time: frame k is due k periods after the start
		period := time.Second / time.Duration(rates[st.code])
		var data []byte
		for k := 1; k <= 20; k++ {
			data = sim.frames(&st, st.t0.Add(time.Duration(k)*period), data)
		}
		if len(data) != 20*FrameLen(st.n) {
			t.Fatalf("%d bytes for 20 frames of %d channels", len(data), st.n)
		}
		in := make([]Input, st.n)
		for k := range in {
			in[k] = Input{Analog: k + 1, Sensor: Raw}
		}
		d, err := New(Config{Inputs: in})
		if err != nil {
			t.Fatal(err)
		}
		dec := d.NewDecoder(bytes.NewReader(data))
		for i := range 20 {
			s, err := dec.Next()
			if err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			if s.Seq != uint32(i) {
				t.Fatalf("frame %d has counter %d", i, s.Seq)
			}
		}
	})
}

package contec

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"time"
)

// FuzzDecode feeds arbitrary bytes to the decoder of either protocol: it
// must not panic, must account for every byte (decoded or dropped), and
// must produce values within the fields' widths.
func FuzzDecode(f *testing.F) {
	n, _ := stream(ProtocolNew, 10)
	o, _ := stream(ProtocolOld, 10)
	f.Add(false, false, unhex(f, "01 e0 85 d5 9a bd e3 ff ff"))
	f.Add(false, true, append([]byte{0xFF, 0x01, 0xE0}, n...))
	f.Add(true, false, o)
	f.Add(true, true, append(o[:7:7], o[9:]...))
	f.Add(true, false, []byte{})
	f.Fuzz(func(t *testing.T, old, oneByte bool, data []byte) {
		proto := ProtocolNew
		L := newLen
		if old {
			proto, L = ProtocolOld, oldLen
		}
		var r io.Reader = bytes.NewReader(data)
		if oneByte {
			r = iotest.OneByteReader(r)
		}
		dec := device(t, Config{Protocol: proto}).NewDecoder(r)
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
			v := s.Values
			maxPR := 127.0
			if old {
				maxPR = 255
			}
			if v[0] > 127 || v[1] > maxPR || v[2] > 127 || v[3] > 15 || v[4] > 31 {
				t.Fatalf("values out of the fields' widths: %v", s.Vals())
			}
		}
		if got := count*L + int(dec.Dropped()); got != len(data) {
			t.Fatalf("%d packets × %d bytes + %d dropped ≠ %d bytes", count, L, dec.Dropped(), len(data))
		}
	})
}

// FuzzStart feeds arbitrary bytes to Start: it must not panic, must fail
// with ErrNotContec or hand over bytes that decode.
func FuzzStart(f *testing.F) {
	n, _ := stream(ProtocolNew, 2)
	o, _ := stream(ProtocolOld, 3)
	f.Add(false, append([]byte{0x13, 0x01}, n...))
	f.Add(true, o)
	f.Add(true, []byte{0x80, 0, 0, 0})
	f.Fuzz(func(t *testing.T, old bool, data []byte) {
		proto := ProtocolNew
		if old {
			proto = ProtocolOld
		}
		d := device(t, Config{Protocol: proto, Timeout: time.Minute})
		err := d.Start(rw{bytes.NewReader(data)})
		if err != nil {
			if !errors.Is(err, ErrNotContec) {
				t.Fatalf("error %v does not wrap ErrNotContec", err)
			}
			return
		}
		if _, err := d.NewDecoder(bytes.NewReader(nil)).Next(); err != nil {
			t.Fatalf("Start succeeded but its bytes do not decode: %v", err)
		}
	})
}

type rw struct{ io.Reader }

func (rw) Write(b []byte) (int, error) { return len(b), nil }

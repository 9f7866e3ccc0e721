package lineproto

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzDecode feeds arbitrary bytes to the decoder in every mode: it must
// not panic, must end with io.EOF (or, while detecting, a clear
// configuration error), must not drop more bytes than it was given, and
// must produce samples that fit the format.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"grove.txt", "csv_header.txt", "csv_noheader.txt", "kv.txt", "csv_noisy.txt"} {
		b, err := readTestdata(name)
		if err != nil {
			f.Fatal(err)
		}
		for mode := range uint8(4) {
			f.Add(mode, uint8(0), false, b)
		}
	}
	f.Add(uint8(1), uint8(3), true, []byte("436\n"+strings.Repeat("9", 300)+"\n430"))
	f.Add(uint8(0), uint8(1), false, []byte("a,b,c,d,e,f,g,h,i\n1,2,3,4,5,6,7,8,9\n"))
	f.Add(uint8(2), uint8(0), true, []byte("a;b\n1;2\nb;a\n3;4\n\xff\n"))
	f.Add(uint8(3), uint8(0), false, []byte("x=1e308 y=-0\nx=1e999 y=.5\nx:nan,y:ovf\n"))
	f.Fuzz(func(t *testing.T, mode uint8, lim uint8, oneByte bool, data []byte) {
		cfg := Config{Mode: []Mode{Auto, Grove, CSV, KV}[mode%4], MaxLine: 8 + int(lim)*16}
		d, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = bytes.NewReader(data)
		if oneByte {
			r = iotest.OneByteReader(r)
		}
		dec := d.NewDecoder(r).(*Decoder)
		n := 0
		for {
			s, err := dec.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "lineproto: ") {
					t.Fatalf("error %v", err)
				}
				break
			}
			n++
			if n > bytes.Count(data, []byte{'\n'})+1 {
				t.Fatalf("%d samples from %d lines", n, bytes.Count(data, []byte{'\n'})+1)
			}
			l := dec.lay
			if s.N != len(l.chans) || s.N < 1 || s.N > 8 {
				t.Fatalf("N = %d with %d channels", s.N, len(l.chans))
			}
			for k, v := range s.Vals() {
				if math.IsInf(v, 0) {
					t.Fatalf("channel %d is %v", k, v)
				}
			}
			if l.mode == Grove {
				us, raw := s.Values[0], s.Values[1]
				if raw < 0 || raw > 1023 || raw != math.Trunc(raw) {
					t.Fatalf("Grove reading %v", raw)
				}
				if math.IsNaN(us) != (raw >= 512) || (!math.IsNaN(us) && (us <= 0 || us > 50)) {
					t.Fatalf("Grove reading %v gave %v µS", raw, us)
				}
			}
		}
		if dec.Dropped() > uint64(len(data)) {
			t.Fatalf("dropped %d of %d bytes", dec.Dropped(), len(data))
		}
	})
}

// FuzzParseNumber checks the allocation-free number parser against
// strconv: whatever it accepts, strconv reads as the same value.
func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"0", "-12", "4.52", "+.5", "5.", "1e3", "1E-7", "00000000000000000000001", "123456789012345678",
		"1234567890123456789", ".00000000000000000000100", "-0", "nan", "-INF", "ovf", "1e400", "1e-400", "", "-", ".", "1e", "0x10", "1_0", "--1", "9.999999999999999e22"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseNumber([]byte(s))
		if !ok {
			return
		}
		if math.IsNaN(v) {
			if !isNonFinite([]byte(s)) {
				t.Fatalf("%q read as NaN", s)
			}
			return
		}
		want, err := strconv.ParseFloat(s, 64)
		if err != nil && !(errors.Is(err, strconv.ErrRange) && math.Abs(want) < 1) {
			t.Fatalf("parseNumber(%q) = %v, strconv: %v", s, v, err)
		}
		if v != want || math.Signbit(v) != math.Signbit(want) {
			t.Fatalf("parseNumber(%q) = %v, want %v exactly", s, v, want)
		}
	})
}

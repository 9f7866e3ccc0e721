package lsl

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestParseDiscovery(t *testing.T) {
	for _, tc := range []struct {
		pkt  string
		want discovery
		err  bool
	}{
		{pkt: "LSL:shortinfo\r\nsession_id='default'\r\n16574 1234567\r\n",
			want: discovery{method: "LSL:shortinfo", query: "session_id='default'", returnPort: 16574, queryID: "1234567"}},
		{pkt: "LSL:shortinfo\n\n40000\n", want: discovery{method: "LSL:shortinfo", returnPort: 40000}},
		{pkt: " LSL:timedata \r\n77 20607.25409948800\r\n", want: discovery{method: "LSL:timedata", waveID: 77, t0: 20607.254099488}},
		{pkt: "LSL:timedata\r\n-5\r\n1.5e3", want: discovery{method: "LSL:timedata", waveID: -5, t0: 1500}},
		{pkt: "LSL:shortinfo\r\nx\r\n0 1\r\n", err: true},
		{pkt: "LSL:shortinfo\r\nx\r\n65536 1\r\n", err: true},
		{pkt: "LSL:shortinfo\r\nx", err: true},
		{pkt: "LSL:timedata\r\nx 1\r\n", err: true},
		{pkt: "LSL:timedata\r\n1 y\r\n", err: true},
		{pkt: "LSL:timedata\r\n99999999999 1\r\n", err: true},
		{pkt: "GET / HTTP/1.0\r\n", err: true},
		{pkt: "", err: true},
	} {
		got, err := parseDiscovery([]byte(tc.pkt))
		if (err != nil) != tc.err || err == nil && got != tc.want {
			t.Errorf("%q: %+v, %v; want %+v (error %v)", tc.pkt, got, err, tc.want, tc.err)
		}
	}
}

func TestTimedataRoundTrip(t *testing.T) {
	// liblsl's own reply, as captured from SendStringMarkersC.
	w, t0, t1, t2, err := parseTimedataReply([]byte(" 77 1234.5 20607.254099488 20607.254199816"))
	if err != nil || w != 77 || t0 != 1234.5 || t1 != 20607.254099488 || t2 != 20607.254199816 {
		t.Fatalf("%v %v %v %v %v", w, t0, t1, t2, err)
	}
	if got := string(timedataReply(77, 1234.5, 20607.254099488, 20607.254199816)); got != " 77 1234.5 20607.254099488 20607.254199816" {
		t.Errorf("reply %q", got)
	}
	d, err := parseDiscovery(timedataRequest(12, 20607.123456789012))
	if err != nil || d.waveID != 12 || d.t0 != 20607.12345678901 {
		t.Errorf("request round trip: %+v %v", d, err)
	}
}

// liblsl's data_receiver request, as it sends it.
const liblslFeedRequest = "LSL:streamfeed/110 9a021fde-c5f0-450e-adf7-cf28361a951e\r\n" +
	"Native-Byte-Order: 1234\r\nEndian-Performance: 6.54e+06\r\nHas-IEEE754-Floats: 1\r\n" +
	"Supports-Subnormals: 0\r\nValue-Size: 8\r\nData-Protocol-Version: 110\r\n" +
	"Max-Buffer-Length: 360000\r\nMax-Chunk-Length: 0\r\nHostname: vm\r\nSource-Id: x\r\nSession-Id: default\r\n\r\n"

func TestFeedNegotiation(t *testing.T) {
	si := sampleInfo()
	si.Format = Double64
	for _, tc := range []struct {
		name, req string
		wantResp  string
		wantOrder binary.ByteOrder
	}{
		{"liblsl", liblslFeedRequest,
			"LSL/110 200 OK\r\nUID: 9a021fde-c5f0-450e-adf7-cf28361a951e\r\nByte-Order: 1234\r\nSuppress-Subnormals: 1\r\nData-Protocol-Version: 110\r\n\r\n",
			binary.LittleEndian},
		{"big endian client", strings.Replace(liblslFeedRequest, "Native-Byte-Order: 1234", "native-byte-order: 4321 ; a comment", 1),
			"LSL/110 200 OK\r\nUID: 9a021fde-c5f0-450e-adf7-cf28361a951e\r\nByte-Order: 4321\r\nSuppress-Subnormals: 1\r\nData-Protocol-Version: 110\r\n\r\n",
			binary.BigEndian},
		{"other stream", strings.Replace(liblslFeedRequest, "9a021fde", "00000000", 1), "LSL/110 404 Not found\r\n", nil},
		{"newer protocol", strings.Replace(liblslFeedRequest, "streamfeed/110", "streamfeed/210", 1), "LSL/110 505 Version not supported\r\n", nil},
		{"value size", strings.Replace(liblslFeedRequest, "Value-Size: 8", "Value-Size: 4", 1), "LSL/110 505 Version not supported\r\n", nil},
		{"protocol 1.00", "LSL:streamfeed\r\n100 0\r\n", "LSL/110 505 Version not supported\r\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := parseFeedRequest(bufio.NewReader(strings.NewReader(tc.req)))
			if err != nil {
				t.Fatal(err)
			}
			p := negotiate(req, &si)
			if got := string(p.response(si.UID)); got != tc.wantResp {
				t.Errorf("response %q, want %q", got, tc.wantResp)
			}
			if tc.wantOrder != nil && p.order != tc.wantOrder {
				t.Errorf("order %v", p.order)
			}
			if tc.name == "liblsl" && (req.maxBuffered != 360000 || req.endianPerf != 6.54e6) {
				t.Errorf("request %+v", req)
			}
		})
	}
}

func TestParseFeedRequest(t *testing.T) {
	for _, tc := range []struct {
		in     string
		method string
		err    bool
	}{
		{"LSL:fullinfo\r\n", "LSL:fullinfo", false},
		{"LSL:shortinfo\r\ntype='EEG'\r\n", "LSL:shortinfo", false},
		{"LSL:streamfeed/110\r\n\r\n", "LSL:streamfeed", false},
		{"LSL:streamfeed/abc x\r\n\r\n", "", true},
		{"LSL:streamfeed/110 x\r\nValue-Size: big\r\n\r\n", "", true},
		{"LSL:streamfeed/110 x\r\nValue-Size: 4\r\n", "", true}, // cut off
		{"LSL:streamfeed/110 x\r\n" + strings.Repeat("X-A: 1\r\n", maxHeaders+1) + "\r\n", "", true},
		{strings.Repeat("a", maxLine+1) + "\n", "", true},
		{"HELLO\r\n", "", true},
		{"", "", true},
	} {
		req, err := parseFeedRequest(bufio.NewReader(strings.NewReader(tc.in)))
		if (err != nil) != tc.err || err == nil && req.method != tc.method {
			t.Errorf("%.40q: %+v %v", tc.in, req, err)
		}
	}
}

func TestParseFeedResponse(t *testing.T) {
	ok := "LSL/110 200 OK\r\nUID: u\r\nByte-Order: 4321\r\nSuppress-Subnormals: 1\r\nData-Protocol-Version: 110\r\n\r\n"
	r, err := parseFeedResponse(bufio.NewReader(strings.NewReader(ok)))
	if err != nil || r.order != binary.BigEndian || !r.suppress || r.uid != "u" || r.version != 110 {
		t.Fatalf("%+v %v", r, err)
	}
	for _, bad := range []string{
		"LSL/110 404 Not found\r\n",
		"LSL/110 505 Version not supported",
		"LSL/210 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\n",
		"LSL/110 200 OK\r\nByte-Order: 3412\r\n\r\n",
		"LSL/110 200 OK\r\nData-Protocol-Version: 100\r\n\r\n",
		"LSL/110 200 OK\r\n", // no end of headers
	} {
		if _, err := parseFeedResponse(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The bytes of liblsl's feed for its SendStringMarkersC stream: the test
// pattern, twice, then a marker (captured on loopback).
const liblslMarkerFeed = "\x02\xc9v\xbe\x9f\x0c$\xfe@\x01\x0210\x02\xc9v\xbe\x9f\x0c$\xfe@\x01\x0210" +
	"\x02\xe3,\xb2\x1e\xe6\x1f\xd4@\x01\x04Test"

func TestDecodeLibLSLFeed(t *testing.T) {
	d := decoder{format: String, n: 1, order: binary.LittleEndian}
	r := bufio.NewReader(strings.NewReader(liblslMarkerFeed))
	var s Sample
	for _, off := range []int{4, 2} {
		if err := d.next(r, &s); err != nil || !matchesTestPattern(&s, String, 1, off) {
			t.Fatalf("test pattern %d: %+v %v", off, s, err)
		}
	}
	if err := d.next(r, &s); err != nil || s.Strings[0] != "Test" || s.T != 20607.595623535 {
		t.Fatalf("marker: %+v %v", s, err)
	}
	if err := d.next(r, &s); err != io.EOF {
		t.Fatalf("at the end: %v", err)
	}
	// And we encode the same bytes.
	e := encoder{format: String, n: 1, order: binary.LittleEndian}
	b := e.testPattern(nil, 4)
	b = e.testPattern(b, 2)
	if string(b) != liblslMarkerFeed[:len(b)] {
		t.Errorf("test pattern % x", b)
	}
}

func TestSampleRoundTrip(t *testing.T) {
	vals := []float64{0, 1, -1, 127, -128, 1e6, -2.5, 3.25}
	for f := Float32; f <= Int64; f++ {
		for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
			e := encoder{format: f, n: len(vals), order: order}
			d := decoder{format: f, n: len(vals), order: order}
			var b []byte
			strs := []string{"", "a", strings.Repeat("x", 300), "ü", "", "z", "0", "long"}
			if f == String {
				b = e.strings(b, 12.5, strs)
				b = e.strings(b, DeducedTimestamp, strs)
			} else {
				b = e.numeric(b, 12.5, vals)
				b = e.numeric(b, DeducedTimestamp, vals)
			}
			for _, off := range []int{4, 2} {
				b = e.testPattern(b, off)
			}
			r := bufio.NewReader(bytes.NewReader(b))
			var s Sample
			for i, wantT := range []float64{12.5, DeducedTimestamp} {
				if err := d.next(r, &s); err != nil {
					t.Fatalf("%s %v sample %d: %v", f, order, i, err)
				}
				if s.T != wantT {
					t.Errorf("%s: T %v", f, s.T)
				}
				if f == String {
					if !reflect.DeepEqual(s.Strings, strs) {
						t.Errorf("strings %q", s.Strings)
					}
					continue
				}
				for k, v := range vals {
					want := v
					switch f {
					case Int8:
						want = math.Max(-128, math.Min(127, math.Round(v)))
					case Int16:
						want = math.Max(-32768, math.Min(32767, math.Round(v)))
					case Int32, Int64:
						want = math.Round(v)
					}
					if s.Values[k] != want {
						t.Errorf("%s %v channel %d: %v, want %v", f, order, k, s.Values[k], want)
					}
				}
			}
			for _, off := range []int{4, 2} {
				if err := d.next(r, &s); err != nil || !matchesTestPattern(&s, f, len(vals), off) {
					t.Errorf("%s test pattern %d: %+v %v", f, off, s, err)
				}
			}
		}
	}
}

func TestDecodeCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    ChannelFormat
		b    string
	}{
		{"tag", Double64, "\x07"},
		{"short time", Double64, "\x02\x00\x00"},
		{"short value", Int32, "\x01\x00\x00"},
		{"length bytes", String, "\x01\x03"},
		{"huge string", String, "\x01\x08\xff\xff\xff\xff\xff\xff\xff\x7f"},
		{"short string", String, "\x01\x01\x05ab"},
	} {
		d := decoder{format: tc.f, n: 1, order: binary.LittleEndian}
		var s Sample
		err := d.next(bufio.NewReader(strings.NewReader(tc.b)), &s)
		if err == nil || err == io.EOF {
			t.Errorf("%s: %v", tc.name, err)
		}
		if tc.name == "huge string" && !errors.Is(err, errCorrupt) {
			t.Errorf("huge string: %v", err)
		}
	}
}

func TestSubnormalSuppression(t *testing.T) {
	e := encoder{format: Double64, n: 2, order: binary.LittleEndian}
	b := e.numeric(nil, 1, []float64{5e-324, -1e-310})
	d := decoder{format: Double64, n: 2, order: binary.LittleEndian, suppress: true}
	var s Sample
	if err := d.next(bufio.NewReader(bytes.NewReader(b)), &s); err != nil || s.Values[0] != 0 || !math.Signbit(s.Values[1]) || s.Values[1] != 0 {
		t.Errorf("%v %v", s.Values, err)
	}
}

package lsl

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"testing"
)

// Untrusted input never panics: discovery packets, feed requests and
// responses, samples, stream descriptions and queries come off the network.

func FuzzParseDiscovery(f *testing.F) {
	for _, s := range []string{
		"LSL:shortinfo\r\nsession_id='default'\r\n16574 1234567\r\n",
		"LSL:shortinfo\r\nsession_id='default' and (type='EEG')\r\n40000 99\r\n",
		"LSL:timedata\r\n77 20607.25409948800\r\n",
		"LSL:timedata\r\n-1 nan\r\n",
		"LSL:shortinfo\r\n((((\r\n1 x",
	} {
		f.Add([]byte(s))
	}
	si := sampleInfo()
	doc := si.tree(true)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		d, err := parseDiscovery(pkt)
		if err != nil {
			return
		}
		if d.method == "LSL:shortinfo" {
			if d.returnPort < 1 || d.returnPort > 65535 {
				t.Fatalf("port %d", d.returnPort)
			}
			if q, err := CompileQuery(d.query); err == nil {
				q.match(doc)
			}
		}
	})
}

func FuzzCompileQuery(f *testing.F) {
	for _, s := range []string{
		"session_id='default' and type='EEG'", "starts-with(name,'x') or not(channel_count>2)",
		"desc/channels/channel/label='C3'", "count(*)=18", "/info/name!=\"a\"", "((1))", "string(number('3'))=3",
	} {
		f.Add(s)
	}
	si := sampleInfo()
	doc := si.tree(true)
	f.Fuzz(func(t *testing.T, s string) {
		if q, err := CompileQuery(s); err == nil {
			q.match(doc)
		}
		ParseSelector(s) //nolint:errcheck // must not panic
	})
}

func FuzzParseFeedRequest(f *testing.F) {
	f.Add([]byte(liblslFeedRequest))
	f.Add([]byte("LSL:shortinfo\r\ntype='EEG'\r\n"))
	f.Add([]byte("LSL:fullinfo\r\n"))
	f.Add([]byte("LSL:streamfeed\r\n10 0\r\n"))
	f.Add([]byte("LSL:streamfeed/110 u\r\nnative-byte-order: 4321\r\nvalue-size: 2\r\nmax-buffer-length: -5\r\n\r\n"))
	si := sampleInfo() // the stream the requests are for
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := parseFeedRequest(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			return
		}
		for _, format := range []ChannelFormat{String, Double64, Int16} {
			si.Format = format
			p := negotiate(req, &si)
			resp := p.response(si.UID)
			if p.statusLine == "" {
				if _, err := parseFeedResponse(bufio.NewReader(bytes.NewReader(resp))); err != nil {
					t.Fatalf("our own response %q: %v", resp, err)
				}
			}
		}
	})
}

func FuzzParseFeedResponse(f *testing.F) {
	f.Add([]byte("LSL/110 200 OK\r\nUID: u\r\nByte-Order: 1234\r\nSuppress-Subnormals: 0\r\nData-Protocol-Version: 110\r\n\r\n"))
	f.Add([]byte("LSL/110 404 Not found"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseFeedResponse(bufio.NewReader(bytes.NewReader(b))) //nolint:errcheck // must not panic
	})
}

func FuzzDecodeSample(f *testing.F) {
	f.Add(uint8(String), uint8(1), false, []byte(liblslMarkerFeed))
	e := encoder{format: Double64, n: 6, order: binary.LittleEndian}
	f.Add(uint8(Double64), uint8(6), false, e.numeric(e.testPattern(nil, 4), DeducedTimestamp, make([]float64, 6)))
	e = encoder{format: Int16, n: 3, order: binary.BigEndian}
	f.Add(uint8(Int16), uint8(3), true, e.numeric(nil, 5, []float64{1, -2, 3}))
	f.Add(uint8(String), uint8(2), true, []byte("\x02\x00\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x02ab\x08\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, format, n uint8, big bool, b []byte) {
		fm := ChannelFormat(format%7 + 1)
		var order byteOrder = binary.LittleEndian
		if big {
			order = binary.BigEndian
		}
		d := decoder{format: fm, n: int(n%16) + 1, order: order, suppress: big}
		r := bufio.NewReader(bytes.NewReader(b))
		var s Sample
		for range 64 {
			if d.next(r, &s) != nil {
				return
			}
			if got := len(s.Values) + len(s.Strings); got != d.n {
				t.Fatalf("%d values for %d channels", got, d.n)
			}
		}
	})
}

func FuzzParseInfo(f *testing.F) {
	f.Add(liblslShortinfo(f))
	si := sampleInfo()
	si.Channels = []Channel{{"a", "b", "c"}}
	si.Fields = []Field{{"manufacturer", "x"}}
	f.Add(si.XML(true))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ParseInfo(b)
		if err != nil {
			return
		}
		if got.Name == "" || got.UID == "" || got.ChannelCount > MaxChannels || got.Format <= FormatUndefined || got.Format > Int64 {
			t.Fatalf("accepted %+v", got)
		}
		got.XML(true)
	})
}

package lsl

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cueroom/cueroom/internal/leakcheck"
)

// These tests serve by address only (no discovery), on the host's
// loopback.
func addrOutlet(t *testing.T, info StreamInfo, opts ...Option) *Outlet {
	t.Helper()
	opts = append([]Option{WithConfig(Config{NoDiscovery: true, Listen: netip.MustParseAddr("127.0.0.1")}), WithLogf(t.Logf)}, opts...)
	o, err := NewOutlet(info, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func dialFeed(t *testing.T, o *Outlet, headers string) (net.Conn, *bufio.Reader, feedResponse) {
	t.Helper()
	conn, err := net.Dial("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.Info().V4DataPort)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "LSL:streamfeed/110 %s\r\n%s\r\n", o.Info().UID, headers)
	r := bufio.NewReader(conn)
	resp, err := parseFeedResponse(r)
	if err != nil {
		t.Fatal(err)
	}
	return conn, r, resp
}

// A big-endian client gets the feed in its byte order.
func TestOutletBigEndianFeed(t *testing.T) {
	leakcheck.Check(t)
	o := addrOutlet(t, StreamInfo{Name: "be", ChannelCount: 2, Format: Int32, Rate: 10})
	_, r, resp := dialFeed(t, o, "Native-Byte-Order: 4321\r\nEndian-Performance: 10\r\nValue-Size: 4\r\nMax-Buffer-Length: 100\r\n")
	if resp.order != binary.BigEndian {
		t.Fatalf("byte order %v", resp.order)
	}
	d := decoder{format: Int32, n: 2, order: binary.BigEndian}
	var s Sample
	for _, off := range []int{4, 2} {
		if err := d.next(r, &s); err != nil || !matchesTestPattern(&s, Int32, 2, off) {
			t.Fatalf("test pattern: %+v %v", s, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := o.WaitForConsumers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	o.Push(5.5, []float64{-7, 1 << 20}) //nolint:errcheck // read back below
	if err := d.next(r, &s); err != nil || s.T != 5.5 || s.Values[0] != -7 || s.Values[1] != 1<<20 {
		t.Fatalf("sample: %+v %v", s, err)
	}
}

// Without Max-Buffer-Length the outlet sends the header and test pattern
// only, as liblsl does.
func TestOutletHeaderOnly(t *testing.T) {
	leakcheck.Check(t)
	o := addrOutlet(t, StreamInfo{Name: "h", ChannelCount: 1, Format: Float32, Rate: 10})
	_, r, _ := dialFeed(t, o, "")
	d := decoder{format: Float32, n: 1, order: binary.LittleEndian}
	var s Sample
	for range 2 {
		if err := d.next(r, &s); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.next(r, &s); err != io.EOF {
		t.Fatalf("after the test pattern: %v", err)
	}
}

// A consumer that stops reading loses its oldest samples, counted; the
// pusher never waits for it.
func TestOutletSlowConsumer(t *testing.T) {
	leakcheck.Check(t)
	const n = 1000
	o := addrOutlet(t, StreamInfo{Name: "slow", ChannelCount: n, Format: Double64, Rate: 1000})
	dialFeed(t, o, "Max-Buffer-Length: 10\r\n") // never read
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := o.WaitForConsumers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	vals := make([]float64, n)
	start := time.Now()
	for i := 0; o.Dropped() == 0; i++ {
		if i > 100000 {
			t.Fatal("nothing dropped after 800 MB pushed")
		}
		if err := o.Push(0, vals); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("dropping after %v", time.Since(start))
}

// Garbage on every port leaves the outlet serving.
func TestOutletSurvivesGarbage(t *testing.T) {
	leakcheck.Check(t)
	o := addrOutlet(t, StreamInfo{Name: "g", ChannelCount: 1, Format: String})
	data := net.JoinHostPort("127.0.0.1", strconv.Itoa(o.Info().V4DataPort))
	for _, junk := range []string{
		"\x00\x01\x02\r\n", strings.Repeat("A", 70000), "LSL:streamfeed/110 " + o.Info().UID + "\r\nValue-Size: x\r\n\r\n",
		"LSL:streamfeed/999999999999999999999\r\n\r\n", "LSL:shortinfo\r\n((((\r\n", "LSL:streamfeed\r\n1 1\r\n",
	} {
		conn, err := net.Dial("tcp4", data)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write([]byte(junk)) //nolint:errcheck // the outlet may hang up first
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.Copy(io.Discard, conn) //nolint:errcheck // until the outlet hangs up
		conn.Close()
	}
	svc, err := net.Dial("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.Info().V4ServicePort)))
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	for _, junk := range []string{"", "LSL:timedata\r\n", "LSL:shortinfo\r\nx\r\n0 0\r\n", strings.Repeat("\xff", 9000)} {
		svc.Write([]byte(junk)) //nolint:errcheck // UDP
	}
	// Still answering: a time probe and a feed.
	svc.Write(timedataRequest(42, 1.5)) //nolint:errcheck // the reply is the check
	svc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	n, err := svc.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if w, t0, _, _, err := parseTimedataReply(buf[:n]); err != nil || w != 42 || t0 != 1.5 {
		t.Fatalf("time probe answer %q: %v", buf[:n], err)
	}
	in, err := NewInlet(context.Background(), StreamInfo{Name: "g", ChannelCount: 1, Format: String, Version: 110,
		UID: o.Info().UID, V4Address: "127.0.0.1", V4DataPort: o.Info().V4DataPort})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if in.Info().Name != "g" {
		t.Errorf("full info: %+v", in.Info())
	}
}

// An inlet refuses a stream whose test pattern is wrong.
func TestInletChecksTestPattern(t *testing.T) {
	leakcheck.Check(t)
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			r := bufio.NewReader(c)
			if line, _ := readLine(r); strings.HasPrefix(line, "LSL:streamfeed") {
				readHeaders(r, func(string, string) error { return nil }) //nolint:errcheck // a fake outlet
				e := encoder{format: Int16, n: 2, order: binary.LittleEndian}
				b := []byte("LSL/110 200 OK\r\nByte-Order: 1234\r\nData-Protocol-Version: 110\r\n\r\n")
				b = e.testPattern(b, 2) // the wrong one first
				c.Write(b)              //nolint:errcheck // a fake outlet
			}
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = NewInlet(context.Background(), StreamInfo{Name: "x", ChannelCount: 2, Format: Int16, Version: 110, UID: "u",
		V4Address: "127.0.0.1", V4DataPort: port})
	if err == nil || !strings.Contains(err.Error(), "test-pattern") {
		t.Fatalf("NewInlet: %v", err)
	}
	if errors.Is(err, io.EOF) {
		t.Fatal("read past the test pattern")
	}
}

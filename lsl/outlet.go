package lsl

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Option configures an outlet, inlet or resolve.
type Option func(*options)

type options struct {
	cfg       Config
	maxBuffer time.Duration // outlet: per consumer; inlet: asked of the outlet
	hostname  string
	logf      func(format string, args ...any)
	flush     time.Duration
	flushSet  bool
}

// WithConfig sets the network configuration.
func WithConfig(c Config) Option { return func(o *options) { o.cfg = c } }

// WithMaxBuffer bounds how much of the stream is held for a slow consumer
// (outlet) or asked to be held (inlet); liblsl's default is 360 s. Beyond
// it the oldest samples are dropped and counted.
func WithMaxBuffer(d time.Duration) Option { return func(o *options) { o.maxBuffer = d } }

// WithFlushInterval makes an outlet write to each inlet at most once per
// d, sending what was pushed meanwhile in one write: fewer system calls for
// a stream pushed sample by sample (at 1 kHz, 5 ms makes 200 writes a
// second per inlet instead of 1000), at the cost of up to d of latency;
// the samples' timestamps are not affected, and samples pushed in bursts
// further apart than d go out at once. 0 sends each push at once, as liblsl does. The default is
// DefaultFlushInterval for streams with a nominal rate and 0 for
// irregular ones (markers go out at once).
func WithFlushInterval(d time.Duration) Option {
	return func(o *options) { o.flush, o.flushSet = d, true }
}

// DefaultFlushInterval is the flush interval of regular-rate outlets.
const DefaultFlushInterval = 5 * time.Millisecond

// WithLogf reports what the network does not let us do (a malformed
// request, a failed send), which is otherwise silent.
func WithLogf(f func(format string, args ...any)) Option { return func(o *options) { o.logf = f } }

func buildOptions(opts []Option) options {
	o := options{maxBuffer: 360 * time.Second, logf: func(string, ...any) {}}
	for _, f := range opts {
		f(&o)
	}
	o.cfg = o.cfg.withDefaults()
	if o.hostname == "" {
		o.hostname, _ = os.Hostname()
	}
	return o
}

// handshakeTimeout bounds how long a client may take to send its request.
const handshakeTimeout = 10 * time.Second

// Outlet offers one stream on the network: it answers discovery and time
// probes, and sends every pushed sample to each connected inlet.
type Outlet struct {
	info  StreamInfo
	opt   options
	short []byte
	full  []byte
	doc   *xnode
	maxQ  int // samples held per consumer

	tcp  *net.TCPListener
	svc  *net.UDPConn
	disc *net.UDPConn // nil without discovery

	mu        sync.Mutex
	consumers map[*consumer]struct{}
	pending   map[net.Conn]struct{} // clients not yet consumers
	changed   chan struct{}         // closed and replaced when consumers change
	scratch   []byte
	scratchBE []byte
	queries   map[string]bool
	closed    bool
	sent      uint64
	dropped   uint64

	done chan struct{}
	wg   sync.WaitGroup
}

type consumer struct {
	conn  net.Conn
	order byteOrder
	buf   []byte // encoded samples not yet written
	ends  []int  // end of each sample in buf
	first int    // samples before it were dropped
	spare []byte
	max   int // samples held: the client's buffer or ours, the smaller
	wake  chan struct{}
	gone  chan struct{}
}

// NewOutlet starts offering a stream. info needs a name, a channel count,
// a format and a nominal rate (IrregularRate for markers); the outlet fills
// in its identity (UID, ports, host, creation time).
func NewOutlet(info StreamInfo, opts ...Option) (*Outlet, error) {
	if err := info.Validate(); err != nil {
		return nil, err
	}
	o := &Outlet{opt: buildOptions(opts), consumers: map[*consumer]struct{}{},
		pending: map[net.Conn]struct{}{}, changed: make(chan struct{}), queries: map[string]bool{}, done: make(chan struct{})}
	cfg := o.opt.cfg
	if !cfg.NoDiscovery {
		if err := guardDiscovery(); err != nil {
			return nil, err
		}
	}
	ctx := context.Background()
	var err error
	if o.tcp, err = cfg.listenTCPInRange(ctx); err != nil {
		return nil, fmt.Errorf("lsl: outlet %s: data port: %w", info.Name, err)
	}
	if o.svc, err = cfg.listenUDPInRange(ctx); err != nil {
		o.tcp.Close()
		return nil, fmt.Errorf("lsl: outlet %s: service port: %w", info.Name, err)
	}
	if !cfg.NoDiscovery {
		if o.disc, err = cfg.listenDiscovery(ctx); err != nil {
			o.tcp.Close()
			o.svc.Close()
			return nil, fmt.Errorf("lsl: outlet %s: %w", info.Name, err)
		}
	}
	info.Version = ProtocolVersion
	info.CreatedAt = LocalClock()
	info.UID = newUUID()
	info.SessionID = cfg.SessionID
	info.Hostname = o.opt.hostname
	info.V4Address, info.V6Address = "", ""
	info.V4DataPort = o.tcp.Addr().(*net.TCPAddr).Port
	info.V4ServicePort = o.svc.LocalAddr().(*net.UDPAddr).Port
	info.V6DataPort, info.V6ServicePort = 0, 0
	o.info = info
	o.short = info.XML(false)
	o.full = info.XML(true)
	o.doc = info.tree(true)
	if !o.opt.flushSet && info.Rate > 0 {
		o.opt.flush = DefaultFlushInterval
	}
	if info.Rate > 0 {
		o.maxQ = max(1, int(info.Rate*o.opt.maxBuffer.Seconds()))
	} else {
		o.maxQ = max(1, int(100*o.opt.maxBuffer.Seconds())) // liblsl: 100 per second
	}

	o.wg.Add(2)
	go o.acceptLoop()
	go o.udpLoop(o.svc, true)
	if o.disc != nil {
		o.wg.Add(1)
		go o.udpLoop(o.disc, false)
	}
	return o, nil
}

// newUUID is a random (version 4) UUID, liblsl's stream UID form.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand.Read does not fail
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Info is the stream as the outlet offers it.
func (o *Outlet) Info() StreamInfo { return o.info }

// Push sends a sample of a numeric stream taken at t on LSL's clock
// (LocalClock, or a session time through SessionClock.LSL); t == 0 stamps
// it now, t == DeducedTimestamp leaves it to the receiver. Values are
// converted to the stream's format (integers rounded, saturating).
func (o *Outlet) Push(t float64, values []float64) error {
	if o.info.Format == String {
		return fmt.Errorf("lsl: outlet %s carries strings: use PushStrings", o.info.Name)
	}
	if len(values) != o.info.ChannelCount {
		return fmt.Errorf("lsl: outlet %s: %d values for %d channels", o.info.Name, len(values), o.info.ChannelCount)
	}
	if t == 0 {
		t = LocalClock()
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return net.ErrClosed
	}
	o.fanOut(func(dst []byte, order byteOrder) []byte {
		enc := encoder{format: o.info.Format, n: o.info.ChannelCount, order: order}
		return enc.numeric(dst, t, values)
	})
	return nil
}

// fanOut encodes a sample once per byte order a consumer asked for (big
// endian only when one did) and queues it for every consumer. o.mu held.
func (o *Outlet) fanOut(encode func(dst []byte, order byteOrder) []byte) {
	o.scratch = encode(o.scratch[:0], binary.LittleEndian)
	o.scratchBE = o.scratchBE[:0]
	for c := range o.consumers {
		if c.order == binary.BigEndian && len(o.scratchBE) == 0 {
			o.scratchBE = encode(o.scratchBE, binary.BigEndian)
		}
		o.enqueue(c)
	}
}

// PushStrings sends a sample of a string stream (markers): one value per
// channel, at t as for Push.
func (o *Outlet) PushStrings(t float64, values ...string) error {
	if o.info.Format != String {
		return fmt.Errorf("lsl: outlet %s carries %s values: use Push", o.info.Name, o.info.Format)
	}
	if len(values) != o.info.ChannelCount {
		return fmt.Errorf("lsl: outlet %s: %d values for %d channels", o.info.Name, len(values), o.info.ChannelCount)
	}
	if t == 0 {
		t = LocalClock()
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return net.ErrClosed
	}
	o.fanOut(func(dst []byte, order byteOrder) []byte {
		enc := encoder{format: String, n: o.info.ChannelCount, order: order}
		return enc.strings(dst, t, values)
	})
	return nil
}

// enqueue queues the encoded sample for c, dropping its oldest when it
// holds maxQ already (as liblsl's consumer queue does). o.mu is held.
func (o *Outlet) enqueue(c *consumer) {
	s := o.scratch
	if c.order == binary.BigEndian {
		s = o.scratchBE
	}
	if len(c.ends)-c.first >= c.max {
		c.first++
		o.dropped++
	}
	c.buf = append(c.buf, s...)
	c.ends = append(c.ends, len(c.buf))
	o.sent++
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Consumers is the number of inlets receiving the stream.
func (o *Outlet) Consumers() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.consumers)
}

// WaitForConsumers blocks until at least n inlets receive the stream.
func (o *Outlet) WaitForConsumers(ctx context.Context, n int) error {
	for {
		o.mu.Lock()
		have, ch, closed := len(o.consumers), o.changed, o.closed
		o.mu.Unlock()
		switch {
		case have >= n:
			return nil
		case closed:
			return net.ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Dropped is how many queued samples were dropped for consumers that fell
// more than the buffer behind.
func (o *Outlet) Dropped() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.dropped
}

// Close stops offering the stream and disconnects its inlets.
func (o *Outlet) Close() error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	// Consumers' writers send what is queued, then hang up.
	close(o.done)
	for c := range o.pending {
		c.Close()
	}
	close(o.changed)
	o.mu.Unlock()
	o.tcp.Close()
	o.svc.Close()
	if o.disc != nil {
		o.disc.Close()
	}
	o.wg.Wait()
	return nil
}

func (o *Outlet) acceptLoop() {
	defer o.wg.Done()
	for {
		conn, err := o.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			o.opt.logf("lsl: outlet %s: accept: %v", o.info.Name, err)
			select {
			case <-o.done:
				return
			case <-time.After(50 * time.Millisecond): // e.g. out of file descriptors
			}
			continue
		}
		o.mu.Lock()
		if o.closed {
			o.mu.Unlock()
			conn.Close()
			return
		}
		o.wg.Add(1)
		o.pending[conn] = struct{}{}
		o.mu.Unlock()
		go o.session(conn)
	}
}

// matches evaluates a discovery query against the stream, remembering
// the answers (resolvers repeat the same query every half second).
func (o *Outlet) matches(q string) bool {
	o.mu.Lock()
	m, ok := o.queries[q]
	o.mu.Unlock()
	if ok {
		return m
	}
	cq, err := CompileQuery(q)
	m = err == nil && cq.match(o.doc)
	if err != nil {
		o.opt.logf("lsl: outlet %s: %v", o.info.Name, err)
	}
	o.mu.Lock()
	if len(o.queries) >= 100 {
		clear(o.queries)
	}
	o.queries[q] = m
	o.mu.Unlock()
	return m
}

// session serves one TCP client.
func (o *Outlet) session(conn net.Conn) {
	defer o.wg.Done()
	defer conn.Close()
	defer func() {
		o.mu.Lock()
		delete(o.pending, conn)
		o.mu.Unlock()
	}()
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true) //nolint:errcheck // best effort
	}
	conn.SetReadDeadline(time.Now().Add(handshakeTimeout)) //nolint:errcheck // best effort
	r := bufio.NewReaderSize(conn, 4096)
	req, err := parseFeedRequest(r)
	if err != nil {
		o.opt.logf("lsl: outlet %s: request from %s: %v", o.info.Name, conn.RemoteAddr(), err)
		return
	}
	conn.SetReadDeadline(time.Time{}) //nolint:errcheck // best effort
	// Replies are small; a client that does not take them is dropped.
	conn.SetWriteDeadline(time.Now().Add(handshakeTimeout)) //nolint:errcheck // best effort
	switch req.method {
	case "LSL:fullinfo":
		conn.Write(o.full) //nolint:errcheck // the client sees a short reply
		return
	case "LSL:shortinfo":
		if o.matches(req.query) {
			conn.Write(o.short) //nolint:errcheck // as above
		}
		return
	}
	p := negotiate(req, &o.info)
	head := p.response(o.info.UID)
	if p.statusLine != "" {
		conn.Write(head) //nolint:errcheck // as above
		return
	}
	enc := encoder{format: o.info.Format, n: o.info.ChannelCount, order: p.order}
	head = enc.testPattern(head, 4)
	head = enc.testPattern(head, 2)

	if req.maxBuffered <= 0 {
		// Without a buffer liblsl sends only the header (its tests use it).
		conn.Write(head) //nolint:errcheck // as above
		return
	}
	// The client receives every sample pushed once it is registered,
	// which is before it can read the header: so a sample pushed after an
	// inlet has connected is never missed. They queue until the header
	// is out.
	c := &consumer{conn: conn, order: p.order, max: min(req.maxBuffered, o.maxQ),
		wake: make(chan struct{}, 1), gone: make(chan struct{})}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	o.consumers[c] = struct{}{}
	delete(o.pending, conn)
	o.notifyChanged()
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		delete(o.consumers, c)
		o.notifyChanged()
		o.mu.Unlock()
	}()
	if _, err := conn.Write(head); err != nil {
		return
	}
	conn.SetWriteDeadline(time.Time{}) //nolint:errcheck // the writer sets its own

	o.wg.Add(1)
	go o.writeLoop(c)
	// Clients send nothing more; a read ending means they left.
	io.Copy(io.Discard, conn) //nolint:errcheck // any end is the end
	close(c.gone)
}

func (o *Outlet) notifyChanged() {
	if !o.closed {
		close(o.changed)
		o.changed = make(chan struct{})
	}
}

// closeFlushTime bounds how long Close waits for a consumer to take
// what was pushed before it.
const closeFlushTime = time.Second

// writeLoop sends what is queued for c, all of it in one write.
func (o *Outlet) writeLoop(c *consumer) {
	defer o.wg.Done()
	defer c.conn.Close()
	var hold *time.Timer // nil: no flush interval
	if o.opt.flush > 0 {
		hold = time.NewTimer(time.Hour)
		hold.Stop()
		defer hold.Stop()
	}
	var last time.Time
	for closing := false; !closing; {
		select {
		case <-c.wake:
			// Write at most once per flush interval: a stream pushed in
			// bursts goes out as it comes, a sample-by-sample one is
			// gathered.
			if d := time.Until(last.Add(o.opt.flush)); hold != nil && d > 0 {
				hold.Reset(d)
				select {
				case <-hold.C:
				case <-c.gone:
					return
				case <-o.done:
				}
			}
		case <-c.gone:
			return
		case <-o.done:
		}
		select {
		case <-o.done:
			closing = true
			c.conn.SetWriteDeadline(time.Now().Add(closeFlushTime)) //nolint:errcheck // best effort
		default:
		}
		o.mu.Lock()
		start := 0
		if c.first > 0 {
			start = c.ends[c.first-1]
		}
		out := c.buf[start:]
		c.buf, c.spare = c.spare[:0], c.buf
		c.ends, c.first = c.ends[:0], 0
		o.mu.Unlock()
		if len(out) == 0 {
			continue
		}
		if _, err := c.conn.Write(out); err != nil {
			return
		}
		if hold != nil {
			last = time.Now()
		}
	}
}

// udpLoop answers discovery queries (and, on the service port, time
// probes).
func (o *Outlet) udpLoop(conn *net.UDPConn, service bool) {
	defer o.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		t1 := LocalClock()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. an ICMP error from an earlier send
		}
		d, err := parseDiscovery(buf[:n])
		if err != nil {
			if err != errUnknownMethod || service {
				o.opt.logf("lsl: outlet %s: from %s: %v", o.info.Name, from, err)
			}
			continue
		}
		switch {
		case d.method == "LSL:shortinfo":
			if !o.matches(d.query) {
				continue
			}
			reply := append([]byte(d.queryID+"\r\n"), o.short...)
			to := net.UDPAddrFromAddrPort(from)
			to.Port = d.returnPort
			if _, err := conn.WriteToUDP(reply, to); err != nil {
				o.opt.logf("lsl: outlet %s: answer to %s: %v", o.info.Name, to, err)
			}
		case service: // timedata; discovery sockets do not answer it
			if _, err := conn.WriteToUDPAddrPort(timedataReply(d.waveID, d.t0, t1, LocalClock()), from); err != nil {
				o.opt.logf("lsl: outlet %s: time probe from %s: %v", o.info.Name, from, err)
			}
		}
	}
}

package lsl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Sample is one sample received by an inlet.
type Sample struct {
	// T is when the sample was taken on the outlet's LSL clock, seconds.
	// Add the inlet's time correction to put it on ours.
	T       float64
	Values  []float64 // numeric streams, converted to float64
	Strings []string  // string streams
}

// Correction is an estimate of how the outlet's clock relates to ours.
type Correction struct {
	Offset float64 // seconds to add to the outlet's times for ours
	RTT    float64 // round trip of the best probe: the error bound
	At     float64 // when it was measured, on our clock
}

// Time-correction schedule, as liblsl's defaults (TimeUpdateInterval,
// TimeProbeCount, TimeProbeInterval, TimeProbeMaxRTT, TimeUpdateMinProbes).
const (
	timeUpdateInterval = 2 * time.Second
	timeProbeCount     = 8
	timeProbeInterval  = 64 * time.Millisecond
	timeProbeMaxRTT    = 128 * time.Millisecond
	timeMinProbes      = 6
)

// Inlet receives one stream from its outlet.
type Inlet struct {
	info  StreamInfo
	opt   options
	conn  net.Conn
	r     *bufio.Reader
	dec   decoder
	last  float64
	count uint64

	tmu      sync.Mutex
	corr     Correction
	haveCorr bool
	corrUpd  chan struct{} // closed and replaced on each estimate
	udp      *net.UDPConn
	done     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

// NewInlet connects to a resolved stream: it reads the stream's full
// description (channel labels and units), opens the data feed, checks the
// test pattern, and starts measuring the time correction in the
// background (every 2 s, as liblsl).
func NewInlet(ctx context.Context, info StreamInfo, opts ...Option) (*Inlet, error) {
	in := &Inlet{opt: buildOptions(opts), corrUpd: make(chan struct{}), done: make(chan struct{})}
	if info.V4Address == "" || info.V4DataPort == 0 {
		return nil, fmt.Errorf("lsl: stream %s has no IPv4 address (resolve it first)", info.Name)
	}
	if info.ChannelCount < 1 || info.ChannelCount > MaxChannels || info.Format <= FormatUndefined || info.Format > Int64 {
		return nil, fmt.Errorf("lsl: stream %s: %d channels of %s", info.Name, info.ChannelCount, info.Format)
	}
	if info.Version/100 > ProtocolVersion/100 {
		return nil, fmt.Errorf("lsl: stream %s speaks protocol %d", info.Name, info.Version)
	}
	addr := net.JoinHostPort(info.V4Address, strconv.Itoa(info.V4DataPort))
	if full, err := fetchFullInfo(ctx, addr); err == nil && full.UID == info.UID {
		full.V4Address = info.V4Address
		info = full
	}
	in.info = info

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp4", addr)
	if err != nil {
		return nil, fmt.Errorf("lsl: stream %s: %w", info.Name, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) }) //nolint:errcheck // wakes the handshake
	defer stop()
	if err := in.handshake(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("lsl: stream %s: %w", info.Name, err)
	}
	if !stop() {
		conn.Close()
		return nil, ctx.Err()
	}
	conn.SetDeadline(time.Time{}) //nolint:errcheck // best effort
	in.conn = conn

	if info.V4ServicePort != 0 {
		svc := net.JoinHostPort(info.V4Address, strconv.Itoa(info.V4ServicePort))
		if ua, err := net.ResolveUDPAddr("udp4", svc); err == nil {
			in.udp, err = net.DialUDP("udp4", nil, ua)
			if err != nil {
				in.opt.logf("lsl: stream %s: time probes: %v", info.Name, err)
			}
		}
	}
	if in.udp != nil {
		in.wg.Add(1)
		go in.correctLoop()
	}
	return in, nil
}

func (in *Inlet) handshake(conn net.Conn) error {
	maxBuf := int(100 * in.opt.maxBuffer.Seconds())
	if in.info.Rate > 0 {
		maxBuf = int(math.Ceil(in.info.Rate * in.opt.maxBuffer.Seconds()))
	}
	if _, err := conn.Write(feedRequestFor(&in.info, max(1, maxBuf))); err != nil {
		return err
	}
	in.r = bufio.NewReaderSize(conn, 64<<10)
	resp, err := parseFeedResponse(in.r)
	if err != nil {
		return err
	}
	if resp.uid != "" && resp.uid != in.info.UID {
		return fmt.Errorf("lsl: outlet answered for stream %s", resp.uid)
	}
	in.dec = decoder{format: in.info.Format, n: in.info.ChannelCount, order: resp.order, suppress: resp.suppress}
	var s Sample
	for _, off := range []int{4, 2} {
		if err := in.dec.next(in.r, &s); err != nil {
			return fmt.Errorf("lsl: test pattern: %w", err)
		}
		if !matchesTestPattern(&s, in.info.Format, in.info.ChannelCount, off) {
			return errors.New("lsl: the test-pattern samples do not match: incompatible formats")
		}
	}
	return nil
}

func matchesTestPattern(s *Sample, f ChannelFormat, n, offset int) bool {
	if s.T != testPatternTime {
		return false
	}
	if f == String {
		want := make([]string, n)
		for k := range want {
			v := k + 10
			if k%2 == 1 {
				v = -v
			}
			want[k] = strconv.Itoa(v)
		}
		return slices.Equal(s.Strings, want)
	}
	return slices.Equal(s.Values, testPatternValues(f, n, offset))
}

// fetchFullInfo asks an outlet for its full description.
func fetchFullInfo(ctx context.Context, addr string) (StreamInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp4", addr)
	if err != nil {
		return StreamInfo{}, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl) //nolint:errcheck // best effort
	}
	if _, err := conn.Write([]byte("LSL:fullinfo\r\n")); err != nil {
		return StreamInfo{}, err
	}
	b, err := io.ReadAll(io.LimitReader(conn, 4<<20))
	if err != nil {
		return StreamInfo{}, err
	}
	return ParseInfo(b)
}

// Info is the stream's full description.
func (in *Inlet) Info() StreamInfo { return in.info }

// Next blocks until the next sample and reads it into s, reusing its
// slices. A sample sent without a timestamp gets the previous one's plus
// 1/rate. At the end of the stream (the outlet closed, the connection
// broke) it returns an error wrapping io.EOF or the network's error.
func (in *Inlet) Next(s *Sample) error {
	if err := in.dec.next(in.r, s); err != nil {
		return fmt.Errorf("lsl: stream %s: %w", in.info.Name, err)
	}
	if s.T == DeducedTimestamp {
		s.T = in.last
		if in.info.Rate > 0 {
			s.T += 1 / in.info.Rate
		}
	}
	in.last = s.T
	in.count++
	return nil
}

// SetReadDeadline makes Next fail (wrapping os.ErrDeadlineExceeded) when
// no sample has arrived by t: a silence watchdog; the zero time clears it.
// A sample may have been cut in half by it, so after such an error the
// inlet is only good for Close.
func (in *Inlet) SetReadDeadline(t time.Time) error { return in.conn.SetReadDeadline(t) }

// Received is how many samples Next has returned.
func (in *Inlet) Received() uint64 { return in.count }

// Correction is the latest time-correction estimate; ok is false until
// the first has been made.
func (in *Inlet) Correction() (c Correction, ok bool) {
	in.tmu.Lock()
	defer in.tmu.Unlock()
	return in.corr, in.haveCorr
}

// TimeCorrection waits for the first time-correction estimate (liblsl's
// time_correction()).
func (in *Inlet) TimeCorrection(ctx context.Context) (Correction, error) {
	for {
		in.tmu.Lock()
		c, ok, ch := in.corr, in.haveCorr, in.corrUpd
		in.tmu.Unlock()
		if ok {
			return c, nil
		}
		if in.udp == nil {
			return Correction{}, fmt.Errorf("lsl: stream %s has no service port for time probes", in.info.Name)
		}
		select {
		case <-ch:
		case <-in.done:
			return Correction{}, net.ErrClosed
		case <-ctx.Done():
			return Correction{}, ctx.Err()
		}
	}
}

// Close disconnects.
func (in *Inlet) Close() error {
	in.once.Do(func() {
		close(in.done)
		in.conn.Close()
		if in.udp != nil {
			in.udp.Close()
		}
	})
	in.wg.Wait()
	return nil
}

// correctLoop estimates the time correction as liblsl's time_receiver: a
// wave of probes, each answered with the outlet's receive and send
// times; the probe with the shortest round trip gives the offset.
func (in *Inlet) correctLoop() {
	defer in.wg.Done()
	buf := make([]byte, 1024)
	for {
		wave := int32(rand.Uint32() >> 1)
		type est struct{ rtt, off float64 }
		var ests []est
		start := time.Now()
		for i := range timeProbeCount + 1 {
			var until time.Time
			if i < timeProbeCount {
				if _, err := in.udp.Write(timedataRequest(wave, LocalClock())); err != nil && errors.Is(err, net.ErrClosed) {
					return
				}
				until = start.Add(time.Duration(i+1) * timeProbeInterval)
			} else {
				until = time.Now().Add(timeProbeMaxRTT)
			}
			for {
				in.udp.SetReadDeadline(until) //nolint:errcheck // a closed conn fails the read
				n, err := in.udp.Read(buf)
				t3 := LocalClock()
				if err != nil {
					if errors.Is(err, net.ErrClosed) {
						return
					}
					if time.Now().Before(until) {
						continue // an ICMP error: the outlet may be gone
					}
					break
				}
				w, t0, t1, t2, err := parseTimedataReply(buf[:n])
				if err != nil || w != wave {
					continue
				}
				ests = append(ests, est{rtt: (t3 - t0) - (t2 - t1), off: ((t1 - t0) + (t2 - t3)) / 2})
			}
		}
		if len(ests) >= timeMinProbes {
			best := ests[0]
			for _, e := range ests[1:] {
				if e.rtt < best.rtt {
					best = e
				}
			}
			in.tmu.Lock()
			in.corr = Correction{Offset: -best.off, RTT: best.rtt, At: LocalClock()}
			in.haveCorr = true
			close(in.corrUpd)
			in.corrUpd = make(chan struct{})
			in.tmu.Unlock()
		}
		select {
		case <-in.done:
			return
		case <-time.After(time.Until(start.Add(timeUpdateInterval))):
		}
	}
}

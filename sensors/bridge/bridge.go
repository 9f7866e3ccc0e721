// Package bridge connects a device on a serial port to the rest of the
// engine: it opens the port, starts the device, decodes its stream, times
// each sample by the device's own clock (package sensors/clock: its counter
// mapped onto the session clock, the arrival time kept for audit) and
// hands it on.
//
// A failure before the first sample (a wrong, missing or busy port, a
// device that does not answer or whose bytes never decode) ends Run at once
// with an error naming the port, so a session is not started on a sensor
// that was never there. Once the device has streamed, Config.Reconnect
// makes Run survive losing it: the port closing (unplugged, switched off,
// out of Bluetooth range), its path vanishing and coming back (a USB
// re-enumeration, a udev by-id link), the device falling silent, or its
// bytes no longer decoding. Run then reports the loss at once through
// OnStatus, reopens the port with exponential backoff, re-runs the device's
// start sequence and carries on with the same Now and a new anchor of the
// device clock, so the samples after the gap sit on the same time base as
// those before, and the gap itself is reported.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.bug.st/serial"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/clock"
	"github.com/cueroom/cueroom/sensors/serialport"
)

// ErrUndecodable means bytes arrive but none decode: almost always a wrong
// baud rate or parity, or another device's port.
var ErrUndecodable = errors.New("bytes arrive but do not decode")

// ErrNoise means a stream that was decoding stopped: bytes keep arriving
// but the decoder finds no frame it can trust in them (noise on the line,
// a loose contact, a device that changed its line setting). It comes
// wrapped together with ErrUndecodable, and ends the connection like a
// silence does: a Lost status (the therapist's alert), then reconnection.
var ErrNoise = errors.New("bytes arrive but stopped decoding")

// Config says what to run.
type Config struct {
	Port   string         // path of the serial port, e.g. /dev/rfcomm0
	Device sensors.Device // how to start and decode the device

	// Now returns the session clock arrival times are read on; default:
	// time since Run started (monotonic). Reconnections keep it.
	Now func() time.Duration
	// Sink receives every sample, in order, from Run's goroutine, timed by
	// the device's clock (Sample.T) with its arrival (Sample.Arrival). The
	// first half second of each connection is held back to learn the
	// device clock's offset. It should not block for long: the device
	// keeps sending meanwhile.
	Sink func(sensors.Sample)
	// OnStream, if set, receives the device's stream description once the
	// device has answered, before its first sample. It is called once per
	// Run: a reconnection does not announce the stream again.
	OnStream func(sensors.Stream)

	// Silence is the data watchdog: the connection fails when no byte
	// arrives for this long (with Reconnect: a Lost status, then a
	// reconnection). Default: 3 s or five sample periods, whichever is
	// longer.
	Silence time.Duration
	// Open opens the port; default serialport.Open with the device's line
	// setting (a device with a SerialMode method) or 115200 8N1. Tests and
	// future transports (TCP, a recording) plug in here.
	Open func(path string, silence time.Duration) (io.ReadWriteCloser, error)

	// Reconnect makes Run reconnect, paced by Backoff, when the connection
	// fails after the device has streamed at least one sample. Without it
	// Run returns the error, as it does for a first-time failure.
	Reconnect bool
	Backoff   Backoff
	// OnStatus, if set, receives the connection's status from Run's
	// goroutine: Connecting before each attempt, Streaming at the first
	// sample (and, at most every StatusEvery, when counts changed), Lost as
	// soon as a loss is detected (alert the therapist), Reconnected with the
	// gap at the first sample after one.
	OnStatus func(Status)
	// StatusEvery bounds how often a Streaming status reports changed
	// counts; default 1 s.
	StatusEvery time.Duration
}

// Backoff paces reconnection attempts: the first waits First, each next
// one twice as long as the one before, at most Max.
type Backoff struct {
	First time.Duration // default 250 ms
	Max   time.Duration // default 5 s
	// GiveUp ends Run with the last error once the device has been lost
	// this long; 0: keep trying until ctx is done.
	GiveUp time.Duration
}

// Delay returns the wait before reconnection attempt n (1, 2, ...).
func (b Backoff) Delay(n int) time.Duration {
	first, most := b.First, b.Max
	if first <= 0 {
		first = 250 * time.Millisecond
	}
	if most <= 0 {
		most = 5 * time.Second
	}
	d := first
	for i := 1; i < n && d < most; i++ {
		d *= 2
	}
	return min(d, max(most, first))
}

// State is where a connection stands.
type State string

// Connection states reported through Config.OnStatus.
const (
	Connecting  State = "connecting"  // opening the port and starting the device
	Streaming   State = "streaming"   // samples flow
	Lost        State = "lost"        // the connection failed after streaming: alert, then reconnect
	Reconnected State = "reconnected" // samples flow again; Status.Gap says what is missing
	Stopped     State = "stopped"     // Run's context ended after samples flowed: the final counts and clock
)

// Why a connection was lost (Gap.Reason).
const (
	ReasonGone        = "gone"        // the port closed or failed: unplugged, switched off, out of range
	ReasonSilent      = "silent"      // no byte for Config.Silence
	ReasonUndecodable = "undecodable" // bytes stopped decoding
	ReasonError       = "error"       // anything else
)

// Gap is a stretch with no samples from a device: samples are missing
// strictly between Start (the last sample before the loss) and End (the
// first after it; zero while the device is still lost). Both are on the
// session clock (Config.Now).
type Gap struct {
	Start  time.Duration `json:"start"`
	End    time.Duration `json:"end,omitempty"`
	Reason string        `json:"reason"`
}

// Status is a connection's state and running counts.
type Status struct {
	State  State
	Device string        // the stream's device name
	Port   string        // Config.Port
	T      time.Duration // session clock when the status was taken
	// Err is why the connection was lost (Lost), or why the previous
	// reconnection attempt failed (Connecting, Attempt > 1).
	Err     error
	Attempt int  // Connecting: reconnection attempt, 0 for the first connection
	Gap     *Gap // Lost: the open gap; Reconnected: the closed one
	// Clock is how the samples are timed: the device clock's estimated
	// offset and drift, and how sure it is.
	Clock clock.Stats

	// Totals since Run started, over every connection.
	Bytes          uint64 // bytes read while streaming
	DroppedBytes   uint64 // bytes discarded while resynchronising (corrupt, truncated)
	Samples        uint64 // samples delivered to Sink
	DroppedSamples uint64 // samples the device sent that did not arrive (counter gaps), gaps excluded
	Gaps           int    // connections lost
}

// Message says what the status means, for an operator or an alert.
func (s Status) Message() string {
	who := s.Device + " on " + s.Port
	switch s.State {
	case Connecting:
		if s.Attempt == 0 {
			return "connecting to " + who
		}
		m := fmt.Sprintf("reconnecting %s (attempt %d)", who, s.Attempt)
		if s.Err != nil {
			m += fmt.Sprintf("; the last attempt failed: %v", s.Err)
		}
		return m
	case Lost:
		return fmt.Sprintf("%s lost (%s): %v; no data from it until it is back — reconnecting", who, s.Gap.Reason, s.Err)
	case Reconnected:
		return fmt.Sprintf("%s is back after a %.1f s gap (%s)", who, (s.Gap.End - s.Gap.Start).Seconds(), s.Gap.Reason)
	case Stopped:
		return fmt.Sprintf("%s stopped: %d samples, %d bytes dropped, %d samples lost; %v", who, s.Samples, s.DroppedBytes, s.DroppedSamples, s.Clock)
	}
	return fmt.Sprintf("%s streaming: %d samples, %d bytes dropped, %d samples lost", who, s.Samples, s.DroppedBytes, s.DroppedSamples)
}

// Limits for the wrong-line-setting check: bytes arriving for this long
// (at least five sample periods) without a sample, or this many bytes
// mostly dropped. Past checkedBytes the line setting is taken as right.
const (
	undecodableBytes = 4 << 10
	undecodableAfter = 3 * time.Second
	checkedBytes     = 16 << 10
)

// noiseAfter is how long a stream that has decoded may go without a
// sample while the bytes arriving are dropped before the connection is
// declared lost to noise (at least five sample periods). The decoders
// hold samples back after a resync until several frames in a row agree
// (at most four periods), so a stream that recovers does so well within
// it; the issue asks for alerts within a second.
const noiseAfter = time.Second

// Run opens the port, starts the device, and streams its samples to Sink
// until ctx is done (it then asks the device to stop, closes the port and
// returns ctx.Err()) or the connection fails for good: at once before the
// first sample; after it, only without Reconnect or past Backoff.GiveUp. A
// device that does not answer like the expected one yields the device's
// own error (for a BITalino, wrapping bitalino.ErrNotBITalino), naming the
// port; bytes that never decode, an error wrapping ErrUndecodable naming
// the line setting.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Port == "" || cfg.Device == nil || cfg.Sink == nil {
		return errors.New("bridge: Config needs Port, Device and Sink")
	}
	r := newRunner(cfg)
	err := r.runAll(ctx)
	if ctx.Err() != nil && r.streamed {
		r.report(Status{State: Stopped})
	}
	return err
}

func (r *runner) runAll(ctx context.Context) error {
	cfg := r.cfg
	if err := ctx.Err(); err != nil {
		return err
	}
	r.report(Status{State: Connecting})
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	r.stream = cfg.Device.Stream() // now with what Start learned (firmware, format)
	if cfg.OnStream != nil {
		cfg.OnStream(r.stream)
	}
	err = r.run(ctx, c, nil)
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if r.decoded == 0 || !cfg.Reconnect || (r.gaps == 0 && errors.Is(err, ErrUndecodable) && !errors.Is(err, ErrNoise)) {
			return err // never streamed: a few samples from noise do not count
		}
		gap := &Gap{Start: r.lastT, Reason: reason(err)}
		r.gaps++
		r.report(Status{State: Lost, Err: err, Gap: gap})
		lostAt := time.Now()
		var last error
		for n := 1; ; n++ {
			if !pause(ctx, cfg.Backoff.Delay(n)) {
				return ctx.Err()
			}
			if gu := cfg.Backoff.GiveUp; gu > 0 && time.Since(lostAt) > gu {
				why := ""
				if last != nil {
					why = fmt.Sprintf(" (the last attempt: %v)", last)
				}
				return fmt.Errorf("bridge: %s on %s: gave up reconnecting after %v%s; the connection was lost: %w",
					r.stream.Device, cfg.Port, gu, why, err)
			}
			r.report(Status{State: Connecting, Attempt: n, Err: last})
			if c, last = r.connect(ctx); last == nil {
				break
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		err = r.run(ctx, c, gap)
	}
}

func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func reason(err error) string {
	switch {
	case errors.Is(err, serialport.ErrSilent):
		return ReasonSilent
	case errors.Is(err, ErrUndecodable):
		return ReasonUndecodable
	case errors.Is(err, serialport.ErrGone), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, os.ErrClosed):
		return ReasonGone
	}
	return ReasonError
}

// runner is one Run's state across connections.
type runner struct {
	cfg     Config
	now     func() time.Duration
	silence time.Duration
	open    func(string, time.Duration) (io.ReadWriteCloser, error)
	stream  sensors.Stream

	samples, bytes     uint64 // samples delivered, bytes read
	decoded            uint64 // samples decoded (some may still be held back)
	droppedB, droppedS uint64 // over finished connections
	cur                *conn  // the connection streaming, for live counts
	clk                *clock.Mapper[sensors.Sample]
	streamed           bool // a sample has been handed on
	lastT              time.Duration
	lastStatus         time.Duration
	reported           [2]uint64 // dropped bytes and samples last reported
	gaps               int
}

func newRunner(cfg Config) *runner {
	r := &runner{cfg: cfg, now: cfg.Now, stream: cfg.Device.Stream(), open: cfg.Open, silence: cfg.Silence}
	if r.now == nil {
		t0 := time.Now()
		r.now = func() time.Duration { return time.Since(t0) }
	}
	if r.silence <= 0 {
		r.silence = 3 * time.Second
		if rate := r.stream.Rate; rate > 0 {
			r.silence = max(r.silence, time.Duration(5*float64(time.Second)/rate))
		}
	}
	if r.open == nil {
		r.open = func(path string, silence time.Duration) (io.ReadWriteCloser, error) {
			var opt serialport.Options
			if m, ok := cfg.Device.(sensors.LineSetter); ok {
				opt.Mode = m.SerialMode()
			}
			opt.Silence = silence
			return serialport.Open(path, opt)
		}
	}
	if r.cfg.StatusEvery <= 0 {
		r.cfg.StatusEvery = time.Second
	}
	return r
}

func (r *runner) report(s Status) {
	if r.cfg.OnStatus == nil {
		return
	}
	if s.Gap != nil {
		g := *s.Gap // the callee may keep it; the runner goes on to close it
		s.Gap = &g
	}
	s.Device, s.Port, s.T = r.stream.Device, r.cfg.Port, r.now()
	if r.clk != nil {
		s.Clock = r.clk.Stats()
	}
	s.Samples, s.Bytes, s.Gaps = r.samples, r.bytes, r.gaps
	s.DroppedBytes, s.DroppedSamples = r.dropped()
	r.reported = [2]uint64{s.DroppedBytes, s.DroppedSamples}
	r.lastStatus = s.T
	r.cfg.OnStatus(s)
}

func (r *runner) dropped() (bytes, samples uint64) {
	bytes, samples = r.droppedB, r.droppedS
	if c := r.cur; c != nil && c.dec != nil {
		bytes += c.dec.Dropped()
		samples += c.lost()
	}
	return bytes, samples
}

// conn is one open connection.
type conn struct {
	port io.ReadWriteCloser
	stop func() bool // unregisters the cancel hook; false if it ran
	dec  sensors.Decoder
	m    *meter

	gap      *Gap   // the gap this connection closes, until its first sample is out
	emitted  uint64 // samples handed on
	clkLost  uint64 // samples the device clock shows lost
	restarts uint64 // the decoder's stream restarts seen (sensors.Restarter)
}

func (c *conn) lost() uint64 {
	if lc, ok := c.dec.(sensors.LossCounter); ok {
		return lc.SamplesLost()
	}
	return c.clkLost
}

// close asks the device to stop (best effort) and closes the port.
func (c *conn) close(dev sensors.Device) {
	if c.stop() { // not cancelled: the hook has not stopped the device
		_ = dev.Stop(c.port)
	}
	_ = c.port.Close()
}

// connect opens the port and starts the device.
func (r *runner) connect(ctx context.Context) (*conn, error) {
	port, err := r.open(r.cfg.Port, r.silence)
	if err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	dev := r.cfg.Device
	// Cancelling ctx stops the device and closes the port, which interrupts
	// a Start or a Read in progress.
	c := &conn{port: port, stop: context.AfterFunc(ctx, func() {
		_ = dev.Stop(port)
		_ = port.Close()
	})}
	if err := dev.Start(port); err != nil {
		c.close(dev)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("bridge: starting %s on %s: %w", r.stream.Kind, r.cfg.Port, err)
	}
	return c, nil
}

// run streams one connection until it fails, then closes it. gap is the
// gap this connection ends (nil for the first).
func (r *runner) run(ctx context.Context, c *conn, gap *Gap) error {
	defer func() {
		r.droppedB += c.dec.Dropped()
		r.droppedS += c.lost()
		r.cur = nil
	}()
	period := time.Duration(float64(time.Second) / max(r.stream.Rate, 1))
	limit := max(undecodableAfter, 5*period)
	c.m = &meter{r: c.port, total: &r.bytes, limit: limit, describe: r.undecodable,
		noise: max(noiseAfter, 5*period), noisy: r.noisy}
	c.dec = r.cfg.Device.NewDecoder(c.m)
	c.m.dropped = c.dec.Dropped
	r.cur = c
	c.gap = gap
	for {
		s, err := c.dec.Next()
		if err != nil {
			c.close(r.cfg.Device)
			if r.clk != nil {
				// What was held back is data: out before the loss is
				// reported, and the next connection is a new anchor.
				r.clk.Reset()
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("bridge: %s on %s: %w (%d bytes dropped while resynchronising)",
				r.stream.Device, r.cfg.Port, err, c.dec.Dropped())
		}
		s.Arrival = r.now()
		if s.Device == "" {
			s.Device = r.stream.Device
		}
		c.m.samples++
		r.decoded++
		if r.clk == nil {
			r.clk = clock.New(r.clockConfig(c.dec), r.emit)
		}
		if rs, ok := c.dec.(sensors.Restarter); ok {
			if n := rs.Restarts(); n != c.restarts {
				c.restarts = n
				r.clk.Reset() // a new stream: its count starts afresh
			}
		}
		r.clk.Push(s, s.Seq, s.Arrival)
	}
}

// clockConfig says how the device's samples are timed: by the counter the
// decoder or the device declares, else numbered as received.
func (r *runner) clockConfig(dec sensors.Decoder) clock.Config {
	cfg := clock.Config{Rate: r.stream.Rate}
	if c, ok := dec.(sensors.Clocked); ok {
		cfg.Counter = c.Counter()
	} else if c, ok := r.cfg.Device.(sensors.Clocked); ok {
		cfg.Counter = c.Counter()
	}
	return cfg
}

// emit hands on a sample the device clock has timed.
func (r *runner) emit(s sensors.Sample, t time.Duration, lost uint64) {
	c := r.cur
	s.T = t
	c.clkLost += lost
	c.emitted++
	r.samples++
	switch {
	case c.emitted == 1 && c.gap != nil:
		c.gap.End = s.T
		r.report(Status{State: Reconnected, Gap: c.gap})
		c.gap = nil
	case !r.streamed:
		r.streamed = true
		r.report(Status{State: Streaming})
	case s.T-r.lastStatus >= r.cfg.StatusEvery:
		// Checked: the next check is StatusEvery on, not at every
		// sample until the counts change.
		r.lastStatus = s.T
		if b, n := r.dropped(); b != r.reported[0] || n != r.reported[1] {
			r.report(Status{State: Streaming})
		}
	}
	r.lastT = s.T
	r.cfg.Sink(s)
}

// undecodable builds the error for bytes that do not decode.
func (r *runner) undecodable(n, dropped uint64, d time.Duration) error {
	setting := "its line setting"
	if m, ok := r.cfg.Device.(sensors.LineSetter); ok {
		setting = lineSetting(m.SerialMode())
	}
	what := "none decoded"
	if dropped < n {
		what = fmt.Sprintf("%d%% did not decode", dropped*100/n)
	}
	return fmt.Errorf("%d bytes arrived in %v but %s as %s data: the port is set to %s; "+
		"the device probably uses another baud rate or parity — check its documented line setting "+
		"(docs/devices.md) and the sensor's options, or whether this is another device's port: %w",
		n, d.Round(time.Millisecond), what, r.stream.Kind, setting, ErrUndecodable)
}

// noisy builds the error for a stream that stopped decoding.
func (r *runner) noisy(dropped uint64, d time.Duration) error {
	return fmt.Errorf("no sample for %v while %d bytes arrived that do not decode as %s data: noise on the line "+
		"(a loose cable or contact, interference, a device that reset to another line setting); "+
		"nothing of it is recorded as data: %w: %w",
		d.Round(time.Millisecond), dropped, r.stream.Kind, ErrNoise, ErrUndecodable)
}

func lineSetting(m serial.Mode) string {
	parity := map[serial.Parity]string{serial.NoParity: "no", serial.OddParity: "odd", serial.EvenParity: "even",
		serial.MarkParity: "mark", serial.SpaceParity: "space"}[m.Parity]
	stop := map[serial.StopBits]string{serial.OneStopBit: "1", serial.OnePointFiveStopBits: "1.5", serial.TwoStopBits: "2"}[m.StopBits]
	bits := m.DataBits
	if bits == 0 {
		bits = 8
	}
	baud := m.BaudRate
	if baud == 0 {
		baud = 115200
	}
	return fmt.Sprintf("%d baud, %d data bits, %s parity, %s stop bit(s)", baud, bits, parity, stop)
}

// meter counts a connection's bytes and, until enough have decoded well,
// fails its reads when they do not decode: bytes arriving for a while with
// no sample, or mostly dropped with hardly a sample (noise decodes now and
// then by chance). A
// decoder resynchronising forever on a wrong line setting would otherwise
// never return.
type meter struct {
	r        io.Reader
	total    *uint64 // the run's byte count
	n        uint64
	first    time.Time
	limit    time.Duration
	samples  uint64
	checked  bool
	dropped  func() uint64
	describe func(n, dropped uint64, d time.Duration) error

	// Once samples flowed: no sample for noise while bytes are dropped
	// means the stream turned to noise (the decoders deliver none from
	// it), whatever the counts before.
	noise     time.Duration
	noisy     func(dropped uint64, d time.Duration) error
	seen      uint64    // samples at lastT
	lastT     time.Time // when the sample count last changed
	droppedAt uint64    // Dropped at lastT
}

func (m *meter) Read(b []byte) (int, error) {
	if m.samples > 0 {
		now := time.Now()
		if m.samples != m.seen {
			m.seen, m.lastT, m.droppedAt = m.samples, now, m.dropped()
		} else if d := now.Sub(m.lastT); d >= m.noise {
			if dr := m.dropped(); dr > m.droppedAt {
				return 0, m.noisy(dr-m.droppedAt, d)
			}
		}
	}
	if !m.checked && m.n > 0 {
		since := time.Since(m.first)
		if m.samples == 0 && since >= m.limit {
			return 0, m.describe(m.n, m.n, since)
		}
		// Noise decodes by chance about once per kilobyte at most; a right
		// setting gives many samples per kilobyte, whatever else is dropped.
		if m.n >= undecodableBytes && m.samples*1024 < m.n {
			if d := m.dropped(); d*10 >= m.n*9 {
				return 0, m.describe(m.n, d, since)
			}
		}
		m.checked = m.n >= checkedBytes
	}
	n, err := m.r.Read(b)
	if n > 0 {
		if m.n == 0 {
			m.first = time.Now()
		}
		m.n += uint64(n)
		*m.total += uint64(n)
	}
	return n, err
}

// Package record writes a session to disk so that it survives kill -9 and
// power loss, and reads it back for researchers.
//
// A session is a folder named YYYYMMDD-HHMMSS-<title slug> (never reused:
// -2, -3… is added if the name is taken) holding:
//
//   - protocol.yaml: the protocol source as run;
//   - session.json: metadata (title, substance, software, start, streams,
//     cue manifest, extra), rewritten atomically at Close with "end",
//     "counts" and "complete": true (false plus "error" if a write failed);
//     Repair appends to "notes";
//   - data.rec: the magic "CUEREC1\n", then append-only frames: u32 LE
//     payload length, u32 LE CRC-32C (Castagnoli) of the payload, payload.
//
// Each payload is one JSON object whose first key is "k":
//
//	{"k":"event", "t":ns, "wall":RFC3339, "kind":…, "step":n, "data":{…}}     an event.Event
//	{"k":"stream", "device":…, "kind":…, "rate":hz, "channels":[…], …}        a sensors.Stream
//	{"k":"samples", "device":…, "n":channels, "t":[ns…], "seq":[…], "v":[[ch0…],[ch1…],…]}
//
// Samples are column-major, one record per device per ~100 ms of sample
// time, never thinned; times are nanoseconds on the session clock; values
// are written with the shortest text that parses back to the same float,
// NaN and infinities as the strings "NaN", "Inf", "-Inf".
//
// Writes are buffered; a background goroutine writes and fsyncs at least
// every second (SyncEvery), so a crash loses at most about a second. Open
// reports a torn tail or a corrupt region in Session.Recovered and returns
// every good record; Repair cuts a torn tail off in place.
package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/sensors"
)

const (
	defaultSyncEvery = time.Second
	// batchSpan is how much sample time one samples record covers.
	batchSpan = 100 * time.Millisecond
	// maxBatch bounds a record when sample times do not advance (a device
	// that is not stamped) so records stay small.
	maxBatch = 4096
	// flushAt is how much encoded data is buffered before it goes to the
	// file between syncs.
	flushAt = 64 << 10
)

// Option tunes a Writer.
type Option func(*options)

type options struct {
	syncEvery time.Duration
	onSync    func(records int) // called after each successful fsync (tests)
	wrap      func(file) file   // wraps data.rec (fault injection in tests)
	now       func() time.Time  // clock for the end time (tests)
}

// SyncEvery sets how often buffered data is written and fsynced: the most a
// crash can lose. The default is one second; d <= 0 keeps it.
func SyncEvery(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.syncEvery = d
		}
	}
}

// file is what the writer needs of data.rec.
type file interface {
	Write(p []byte) (int, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

// Writer records one session. Run feeds it from the bus; Close finishes it.
// Its methods are safe to call from several goroutines.
type Writer struct {
	dir  string
	path string // data.rec
	opts options
	meta metaJSON

	mu      sync.Mutex
	f       file
	buf     []byte    // encoded records not yet written to f
	ends    []pending // where each record in buf ends
	size    int64     // bytes in f
	batches map[string]*batch
	order   []*batch // batches in first-seen order, so flushing is deterministic
	counts  Counts   // what is in f
	streams []sensors.Stream
	err     error
	closed  bool

	stop      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// pending is one record waiting in buf.
type pending struct {
	end     int
	events  int64
	samples int64
}

// Create makes a new session folder under root (created if needed) and
// starts recording into it. It writes protocolSrc as protocol.yaml and the
// metadata as session.json, both fsynced before it returns. A session
// folder is never reused: if the name is taken, -2, -3… is added.
func Create(root string, meta Meta, protocolSrc []byte, opts ...Option) (*Writer, error) {
	o := options{syncEvery: defaultSyncEvery, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if meta.Start.IsZero() {
		meta.Start = o.now()
	}
	streams := make([]sensors.Stream, len(meta.Streams))
	for i, s := range meta.Streams {
		streams[i] = cleanStream(s)
	}
	m := metaJSON{
		Format: metaFormat, Title: meta.Title, Substance: meta.Substance, Software: meta.Software,
		Start: meta.Start, Streams: streams, Manifest: meta.Manifest, Extra: meta.Extra,
	}
	js, err := marshalMeta(&m)
	if err != nil {
		return nil, fmt.Errorf("record: the session metadata cannot be stored as JSON (%v); check the cue manifest and extra fields", err)
	}

	// Keep our own copy for the rewrite at Close, so a caller that goes on
	// changing its manifest map cannot race with it.
	m = metaJSON{}
	if err := json.Unmarshal(js, &m); err != nil {
		return nil, fmt.Errorf("record: the session metadata does not read back (%v)", err)
	}

	dir, err := makeSessionDir(root, meta.Start, meta.Title)
	if err != nil {
		return nil, err
	}
	w, err := create(dir, m, js, protocolSrc, o)
	if err != nil {
		// Nothing was recorded yet: leave no half-made folder behind.
		os.RemoveAll(dir)
		return nil, err
	}
	return w, nil
}

func create(dir string, m metaJSON, js, protocolSrc []byte, o options) (*Writer, error) {
	if err := writeFileNew(filepath.Join(dir, ProtocolFile), protocolSrc); err != nil {
		return nil, fmt.Errorf("record: writing the protocol: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, MetaFile), js); err != nil {
		return nil, fmt.Errorf("record: writing session metadata: %w", err)
	}
	path := filepath.Join(dir, DataFile)
	osf, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, filePerm)
	if err != nil {
		return nil, fmt.Errorf("record: creating the data file: %w", err)
	}
	var f file = osf
	if o.wrap != nil {
		f = o.wrap(f)
	}
	if _, err := f.Write([]byte(magic)); err != nil {
		f.Close()
		return nil, fmt.Errorf("record: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("record: syncing %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, fmt.Errorf("record: syncing %s: %w", dir, err)
	}
	w := &Writer{
		dir: dir, path: path, opts: o, meta: m, f: f,
		size:    int64(len(magic)),
		counts:  Counts{Bytes: int64(len(magic))},
		buf:     make([]byte, 0, 2*flushAt),
		batches: make(map[string]*batch),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go w.syncLoop()
	return w, nil
}

// Dir is the session folder.
func (w *Writer) Dir() string { return w.dir }

// Err returns the first write error (disk full, I/O error). After it the
// writer stops writing, so what is already in data.rec stays intact.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Run records everything from a lossless subscription until its channel is
// closed. It keeps draining after a write error (so the bus queue does not
// grow without bound) and then returns that error.
func (w *Writer) Run(sub *bus.Sub) error {
	for m := range sub.C {
		w.handle(m)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.closed && w.counts.Lost > 0 {
		return fmt.Errorf("record: %d messages arrived after Close and were not recorded; close the bus before the writer", w.counts.Lost)
	}
	return nil
}

// handle records one bus message.
func (w *Writer) handle(m bus.Msg) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.err != nil {
		w.counts.Lost++
		return
	}
	switch {
	case m.Sample != nil:
		w.addSample(m.Sample)
	case m.Event != nil:
		w.appendRaw(encodeEvent(*m.Event), 1, 0)
	case m.Stream != nil:
		s := cleanStream(*m.Stream)
		// Its samples so far belong to the old description.
		if b := w.batches[s.Device]; b != nil && b.len() > 0 {
			w.writeBatch(b)
		}
		p, _ := json.Marshal(streamRecord{K: kindStream, Stream: s}) // cleanStream made it storable
		w.appendRaw(p, 0, 0)
		w.noteStream(s)
	}
}

func (w *Writer) addSample(s *sensors.Sample) {
	n := s.N
	if n < 0 {
		n = 0
	}
	if n > sensors.MaxChannels {
		n = sensors.MaxChannels
	}
	b := w.batches[s.Device]
	if b == nil {
		b = newBatch(s.Device)
		w.batches[s.Device] = b
		w.order = append(w.order, b)
	}
	if k := b.len(); k > 0 && (n != b.n || s.T-time.Duration(b.t[0]) >= batchSpan || k >= maxBatch) {
		w.writeBatch(b)
	}
	b.add(s, n)
}

// writeBatch encodes a batch into the buffer and empties it.
func (w *Writer) writeBatch(b *batch) {
	if w.err != nil {
		return
	}
	var start int
	w.buf, start = beginFrame(w.buf)
	w.buf = b.appendPayload(w.buf)
	w.endRecord(start, 0, int64(b.len()))
	b.reset()
}

func (w *Writer) appendRaw(p []byte, events, samples int64) {
	if w.err != nil {
		return
	}
	var start int
	w.buf, start = beginFrame(w.buf)
	w.buf = append(w.buf, p...)
	w.endRecord(start, events, samples)
}

func (w *Writer) endRecord(start int, events, samples int64) {
	w.buf = endFrame(w.buf, start)
	w.ends = append(w.ends, pending{end: len(w.buf), events: events, samples: samples})
	if len(w.buf) >= flushAt {
		w.flushLocked()
	}
}

// flushBatchesLocked writes every partly filled batch into the buffer, so a
// device that went quiet does not keep its last samples in memory.
func (w *Writer) flushBatchesLocked() {
	for _, b := range w.order {
		if b.len() > 0 {
			w.writeBatch(b)
		}
	}
}

// flushLocked writes the buffer to the file. On a failed or short write it
// cuts the file back to the last whole record, records the error and stops
// all later writes, so data.rec never ends in a half record by our doing.
func (w *Writer) flushLocked() {
	if w.err != nil || len(w.buf) == 0 {
		return
	}
	n, err := w.f.Write(w.buf)
	if err == nil && n < len(w.buf) {
		err = errors.New("short write")
	}
	kept := 0
	for _, p := range w.ends {
		if p.end > n {
			break
		}
		kept = p.end
		w.counts.Records++
		w.counts.Events += p.events
		w.counts.Samples += p.samples
	}
	if err != nil {
		w.err = fmt.Errorf("record: writing %s at byte %d failed: %w; recording stopped, everything before byte %d is intact (free disk space for the next session)",
			w.path, w.size+int64(n), err, w.size+int64(kept))
		if kept < n {
			// Best effort: a torn tail would be found and cut on open anyway.
			w.f.Truncate(w.size + int64(kept))
		}
	}
	w.size += int64(kept)
	w.counts.Bytes = w.size
	w.buf = w.buf[:0]
	w.ends = w.ends[:0]
}

// syncLoop makes buffered data durable on a cadence.
func (w *Writer) syncLoop() {
	defer close(w.stopped)
	t := time.NewTicker(w.opts.syncEvery)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.sync()
		}
	}
}

// sync writes everything pending and fsyncs. The fsync runs outside the
// lock so recording does not wait for the disk.
func (w *Writer) sync() error {
	w.mu.Lock()
	w.flushBatchesLocked()
	w.flushLocked()
	records := int(w.counts.Records)
	w.mu.Unlock()
	// Sync even after a write error: what did reach the file must be made
	// durable.
	if err := w.f.Sync(); err != nil {
		w.mu.Lock()
		if w.err == nil {
			// After a failed fsync the kernel may have dropped the data:
			// writing on would pretend otherwise.
			w.err = fmt.Errorf("record: fsync of %s failed: %w; recording stopped, data written before the last successful sync is intact", w.path, err)
		}
		err = w.err
		w.mu.Unlock()
		return err
	}
	w.mu.Lock()
	err := w.err
	w.mu.Unlock()
	if err == nil && w.opts.onSync != nil {
		w.opts.onSync(records)
	}
	return err
}

func (w *Writer) noteStream(s sensors.Stream) {
	for i := range w.streams {
		if w.streams[i].Device == s.Device {
			w.streams[i] = s
			return
		}
	}
	w.streams = append(w.streams, s)
}

// Close writes everything pending, fsyncs, closes data.rec and rewrites
// session.json with the end time, the counts and "complete": true (false,
// with the error, if a write failed). Messages that Run receives after
// Close are not recorded. Close is idempotent.
func (w *Writer) Close() error {
	w.closeOnce.Do(func() { w.closeErr = w.close() })
	return w.closeErr
}

func (w *Writer) close() error {
	close(w.stop)
	<-w.stopped
	w.mu.Lock()
	w.closed = true // from here Run only counts what it drops
	w.mu.Unlock()
	syncErr := w.sync()

	w.mu.Lock()
	closeErr := w.f.Close()
	m := w.meta
	m.End = w.opts.now()
	counts := w.counts
	m.Counts = &counts
	m.Streams = mergeStreams(m.Streams, w.streams)
	m.Complete = w.err == nil
	if w.err != nil {
		m.Error = w.err.Error()
	}
	w.mu.Unlock()

	js, err := marshalMeta(&m)
	if err == nil {
		err = writeFileAtomic(filepath.Join(w.dir, MetaFile), js)
	}
	switch {
	case syncErr != nil:
		return syncErr
	case closeErr != nil:
		return fmt.Errorf("record: closing %s: %w", w.path, closeErr)
	case err != nil:
		return fmt.Errorf("record: rewriting %s: %w; the data in %s is complete", filepath.Join(w.dir, MetaFile), err, w.path)
	}
	return nil
}

// mergeStreams updates the streams known at start with those announced on
// the bus (same device: the announcement wins).
func mergeStreams(start, announced []sensors.Stream) []sensors.Stream {
	out := append([]sensors.Stream(nil), start...)
next:
	for _, s := range announced {
		for i := range out {
			if out[i].Device == s.Device {
				out[i] = s
				continue next
			}
		}
		out = append(out, s)
	}
	return out
}

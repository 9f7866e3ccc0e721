// Package record writes a session to disk so that it survives kill -9,
// power loss and a full disk, and reads it back for researchers.
//
// A session is a folder named YYYYMMDD-HHMMSS-<title slug> (never reused:
// -2, -3… is added if the name is taken) holding:
//
//   - protocol.yaml: the protocol source as run;
//   - session.json: metadata (title, substance, software, start, streams,
//     cue manifest, extra), rewritten atomically at Close with "end",
//     "counts" and "complete": true (false plus "error" if a write failed);
//     each write failure is added to "outages" (when, the error, the file,
//     what was lost, when recording resumed and in which file) as soon as
//     session.json can be written; Repair appends to "notes";
//   - data.rec: the magic "CUEREC1\n", then append-only frames: u32 LE
//     payload length, u32 LE CRC-32C (Castagnoli) of the payload, payload;
//   - data.2.rec, data.3.rec…: only after a write failure (a full disk):
//     recording goes on in a new segment file, same magic and framing, so
//     a record torn by the failure at the end of the last one does not
//     matter. The readers join data.rec and its later segments in number
//     order as one recording; a frame never spans two files. A recording
//     without a failure is data.rec alone, as before segments.
//
// Each payload is one JSON object whose first key is "k":
//
//	{"k":"event", "t":ns, "wall":RFC3339, "kind":…, "step":n, "data":{…}}     an event.Event
//	{"k":"stream", "device":…, "kind":…, "rate":hz, "channels":[…], …}        a sensors.Stream
//	{"k":"samples", "device":…, "n":channels, "t":[ns…], "seq":[…], "v":[[ch0…],[ch1…],…], "arrival":[ns…]}
//
// Samples are column-major, one record per device per ~100 ms of sample
// time, never thinned; times are nanoseconds on the session clock: "t" is
// when the device took the sample, "arrival" when it reached cueroom (kept
// for audit; written only if a sample of the record has one, 0 for one
// that has none; records written before arrival times were kept have no
// such key and read with Arrival 0). Values are written with the shortest
// text that parses back to the same float, NaN and infinities as the
// strings "NaN", "Inf", "-Inf".
//
// Writes are buffered; a background goroutine writes and fsyncs at least
// every second (SyncEvery), so a crash loses at most about a second. Open
// reports a torn tail or a corrupt region in Session.Recovered and returns
// every good record; Repair cuts a torn tail off in place.
//
// A write or fsync that fails does not end the session: OnTrouble is told
// at once, samples are dropped and counted while recording is stopped,
// events and stream announcements are kept in memory (up to 1 MiB), and
// every second or so the writer tries a new segment; when one can be
// written, recording resumes in it. EstimateBytes and FreeBytes tell
// before a session whether the disk has room for it.
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
	// defaultRetryEvery is how often a failed recording tries a new
	// segment: soon after space is freed, without hammering a full disk.
	defaultRetryEvery = time.Second
	// batchSpan is how much sample time one samples record covers.
	batchSpan = 100 * time.Millisecond
	// maxBatch bounds a record when sample times do not advance (a device
	// that is not stamped) so records stay small.
	maxBatch = 4096
	// flushAt is how much encoded data is buffered before it goes to the
	// file between syncs.
	flushAt = 64 << 10
	// maxHeld bounds the events and stream announcements kept in memory
	// while recording is stopped by a write failure (some 5000 events),
	// so a disk that stays full cannot make the session run out of memory.
	maxHeld = 1 << 20
)

// Option tunes a Writer.
type Option func(*options)

type options struct {
	syncEvery  time.Duration
	retryEvery time.Duration     // how often a new segment is tried while recording is stopped
	onSync     func(records int) // called after each successful fsync (tests)
	onTrouble  func(Trouble)
	// wrap wraps each segment file as it is created, data.rec first
	// (fault injection in tests).
	wrap func(path string, f file) file
	// writeMeta replaces session.json (fault injection in tests).
	writeMeta func(path string, data []byte) error
	now       func() time.Time // clock for the end and outage times (tests)
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

// file is what the writer needs of a segment file.
type file interface {
	Write(p []byte) (int, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

// Writer records one session. Run feeds it from the bus; Close finishes it.
// Its methods are safe to call from several goroutines.
//
// A write or fsync that fails (a full disk) does not end the recording:
// the session goes on, OnTrouble is told, session.json records the
// failure; samples are dropped and counted while recording is stopped,
// events are kept in memory; every second or so the writer tries a new
// segment file, and once one can be written recording goes on in it.
type Writer struct {
	dir  string
	opts options
	meta metaJSON

	// fileMu orders what touches the files outside mu (fsync, a new
	// segment, closing a failed one): the sync loop, and Close after it.
	fileMu sync.Mutex

	mu      sync.Mutex
	f       file      // the segment being written; nil while recording is stopped
	seg     int       // its number: 1 is data.rec, then data.2.rec…
	path    string    // its path
	size    int64     // bytes in f
	old     *failed   // a segment that failed, still to be closed
	buf     []byte    // encoded records not yet written to f
	ends    []pending // where each record in buf ends
	batches map[string]*batch
	order   []*batch // batches in first-seen order, so flushing is deterministic
	counts  Counts   // what is in the segment files
	synced  Counts   // counts when the last successful fsync of f began
	streams []sensors.Stream
	err     error    // why recording is stopped now; nil while it records
	first   error    // the first write error of the session
	outages []Outage // every failure so far, for session.json
	// troubles wait for the sync loop to report them; dirty says
	// session.json does not yet say what outages does.
	troubles []Trouble
	dirty    bool
	closed   bool
	late     int64 // messages that arrived after Close

	wake      chan struct{} // a trouble to report now
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
	stream  bool
	lo, hi  time.Duration // the session times of its samples or event
}

// held says a record is kept through a write failure, to be written when
// recording resumes: events and stream announcements are few and matter
// most; samples would fill the memory.
func (p pending) held() bool { return p.events > 0 || p.stream }

// failed is a segment file given up after a write failure.
type failed struct {
	f    file
	sync bool // what reached it is made durable before it is closed (not after a failed fsync)
	at   int  // its outage in Writer.outages
	// unsynced is what was written to it since its last good fsync: lost
	// if that last fsync fails too.
	unsynced Counts
}

// Create makes a new session folder under root (created if needed) and
// starts recording into it. It writes protocolSrc as protocol.yaml and the
// metadata as session.json, both fsynced before it returns. A session
// folder is never reused: if the name is taken, -2, -3… is added.
func Create(root string, meta Meta, protocolSrc []byte, opts ...Option) (*Writer, error) {
	o := options{syncEvery: defaultSyncEvery, retryEvery: defaultRetryEvery, now: time.Now, writeMeta: writeFileAtomic}
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
	f, err := newSegment(path, os.O_EXCL, o)
	if err != nil {
		return nil, err
	}
	w := &Writer{
		dir: dir, path: path, seg: 1, opts: o, meta: m, f: f,
		size:    int64(len(magic)),
		counts:  Counts{Bytes: int64(len(magic))},
		buf:     make([]byte, 0, 2*flushAt),
		batches: make(map[string]*batch),
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	w.synced = w.counts
	go w.syncLoop()
	return w, nil
}

// newSegment creates a segment file and makes its magic durable, file and
// folder entry; on failure it leaves no file behind. flag adds O_EXCL for
// data.rec (a new segment's name was ours to take: a leftover of a failed
// try is overwritten).
func newSegment(path string, flag int, o options) (file, error) {
	osf, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND|flag, filePerm)
	if err != nil {
		return nil, fmt.Errorf("record: creating %s: %w", path, err)
	}
	var f file = osf
	if o.wrap != nil {
		f = o.wrap(path, f)
	}
	fail := func(err error) (file, error) {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	if _, err := f.Write([]byte(magic)); err != nil {
		return fail(fmt.Errorf("record: writing %s: %w", path, err))
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("record: syncing %s: %w", path, err))
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fail(fmt.Errorf("record: syncing %s: %w", filepath.Dir(path), err))
	}
	return f, nil
}

// Dir is the session folder.
func (w *Writer) Dir() string { return w.dir }

// Err returns the write error (disk full, I/O error) that has stopped
// recording, or nil while it records — also once it has resumed in a new
// segment after one (Close then says what was lost).
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Run records everything from a lossless subscription until its channel is
// closed. It keeps draining while a write failure has stopped recording
// (so the bus queue does not grow without bound), and returns the error if
// recording is still stopped when the channel closes.
func (w *Writer) Run(sub *bus.Sub) error {
	for m := range sub.C {
		w.handle(m)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.late > 0 {
		return fmt.Errorf("record: %d messages arrived after Close and were not recorded; close the bus before the writer", w.late)
	}
	return nil
}

// handle records one bus message.
func (w *Writer) handle(m bus.Msg) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		w.counts.Lost++
		w.late++
		return
	}
	switch {
	case m.Sample != nil:
		w.addSample(m.Sample)
	case m.Event != nil:
		w.appendRaw(encodeEvent(*m.Event), pending{events: 1, lo: m.Event.T, hi: m.Event.T})
	case m.Stream != nil:
		s := cleanStream(*m.Stream)
		// Its samples so far belong to the old description.
		if b := w.batches[s.Device]; b != nil && b.len() > 0 {
			w.writeBatch(b)
		}
		p, _ := json.Marshal(streamRecord{K: kindStream, Stream: s}) // cleanStream made it storable
		w.appendRaw(p, pending{stream: true})
		w.noteStream(s)
	}
}

func (w *Writer) addSample(s *sensors.Sample) {
	if w.f == nil {
		w.loseLocked(pending{samples: 1, lo: s.T, hi: s.T})
		return
	}
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
		if w.f == nil { // that write failed
			w.loseLocked(pending{samples: 1, lo: s.T, hi: s.T})
			return
		}
	}
	b.add(s, n)
}

// writeBatch encodes a batch into the buffer and empties it; while
// recording is stopped its samples are counted as lost.
func (w *Writer) writeBatch(b *batch) {
	if w.f == nil {
		w.dropBatch(b)
		return
	}
	var start int
	w.buf, start = beginFrame(w.buf)
	w.buf = b.appendPayload(w.buf)
	rec := pending{samples: int64(b.len()), lo: time.Duration(b.lo), hi: time.Duration(b.hi)}
	// Emptied first: if this write fails, the samples are counted lost
	// with their record, not once more with the batch.
	b.reset()
	w.endRecord(start, rec)
}

func (w *Writer) dropBatch(b *batch) {
	if b.len() > 0 {
		w.loseLocked(pending{samples: int64(b.len()), lo: time.Duration(b.lo), hi: time.Duration(b.hi)})
	}
	b.reset()
}

// appendRaw adds a record; while recording is stopped it is kept for
// later if there is room, else counted as lost.
func (w *Writer) appendRaw(p []byte, rec pending) {
	if w.f == nil && len(w.buf)+frameHeader+len(p) > maxHeld {
		w.loseLocked(rec)
		return
	}
	var start int
	w.buf, start = beginFrame(w.buf)
	w.buf = append(w.buf, p...)
	w.endRecord(start, rec)
}

func (w *Writer) endRecord(start int, rec pending) {
	w.buf = endFrame(w.buf, start)
	rec.end = len(w.buf)
	w.ends = append(w.ends, rec)
	if len(w.buf) >= flushAt {
		w.flushLocked()
	}
}

// loseLocked counts a record, or a message, that will not be recorded.
func (w *Writer) loseLocked(p pending) {
	streams := int64(0)
	if p.stream {
		streams = 1
	}
	w.counts.Lost += p.events + p.samples + streams
	if n := len(w.outages); n > 0 {
		w.outages[n-1].Lost.add(p.events, p.samples, streams, p.lo, p.hi)
		w.dirty = true
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
// cuts the file back to the last whole record, so a segment never ends in
// a half record by our doing, and stops recording until a new segment can
// be written (failLocked).
func (w *Writer) flushLocked() {
	if w.f == nil || len(w.buf) == 0 {
		return
	}
	n, err := w.f.Write(w.buf)
	if err == nil && n < len(w.buf) {
		err = errors.New("short write")
	}
	kept, i := 0, 0
	for ; i < len(w.ends) && w.ends[i].end <= n; i++ {
		p := w.ends[i]
		kept = p.end
		w.counts.Records++
		w.counts.Events += p.events
		w.counts.Samples += p.samples
	}
	w.size += int64(kept)
	w.counts.Bytes += int64(kept)
	if err == nil {
		w.buf = w.buf[:0]
		w.ends = w.ends[:0]
		return
	}
	if kept < n {
		// Best effort: a torn tail would be found and skipped on open anyway.
		w.f.Truncate(w.size)
	}
	w.failLocked(fmt.Errorf("record: writing %s at byte %d failed: %w; everything before byte %d is intact, and recording goes on in a new file once the disk has room",
		w.path, w.size-int64(kept)+int64(n), err, w.size), true, nil)
	w.holdLocked(kept, i)
}

// holdLocked keeps, of the records in buf from byte from (record i on),
// those held through a failure, moved to the front of buf; the others are
// lost. A frame is self-contained, so moving it keeps it whole.
func (w *Writer) holdLocked(from, i int) {
	out, prev := 0, from
	ends := w.ends[:0]
	for _, p := range w.ends[i:] {
		rec := w.buf[prev:p.end]
		prev = p.end
		if p.held() && out+len(rec) <= maxHeld {
			copy(w.buf[out:], rec)
			out += len(rec)
			p.end = out
			ends = append(ends, p)
			continue
		}
		w.loseLocked(p)
	}
	w.buf, w.ends = w.buf[:out], ends
}

// failLocked stops recording after a failed write (syncOld: what reached
// the file is still made durable) or fsync (unsynced: what it may have
// lost): the segment is given up, the failure recorded and reported, and
// the samples waiting in batches are lost.
func (w *Writer) failLocked(err error, syncOld bool, unsynced *Counts) {
	now := w.opts.now()
	w.outages = append(w.outages, Outage{Start: now, Error: err.Error(), Segment: filepath.Base(w.path), Unsynced: unsynced})
	w.old = &failed{f: w.f, sync: syncOld, at: len(w.outages) - 1, unsynced: w.counts.minus(w.synced)}
	w.f = nil
	w.err = err
	if w.first == nil {
		w.first = err
	}
	w.dirty = true
	w.troubles = append(w.troubles, Trouble{Kind: TroubleFailed, Err: err, Time: now, Segment: filepath.Base(w.path)})
	for _, b := range w.order {
		w.dropBatch(b)
	}
	w.wakeLocked()
}

// wakeLocked has the sync loop report the troubles at once.
func (w *Writer) wakeLocked() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// syncLoop makes buffered data durable on a cadence, reports troubles as
// they come, and while recording is stopped tries a new segment.
func (w *Writer) syncLoop() {
	defer close(w.stopped)
	t := time.NewTicker(w.opts.syncEvery)
	defer t.Stop()
	retry := time.NewTimer(w.opts.retryEvery)
	retry.Stop()
	defer retry.Stop()
	armed := false
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.sync()
		case <-w.wake:
		case <-retry.C:
			armed = false
			w.resume()
		}
		w.tend()
		if w.Err() != nil && !armed {
			retry.Reset(w.opts.retryEvery)
			armed = true
		}
	}
}

// sync writes everything pending and fsyncs. The fsync runs outside the
// lock so recording does not wait for the disk.
func (w *Writer) sync() error {
	w.fileMu.Lock()
	defer w.fileMu.Unlock()
	w.closeFailed()
	w.mu.Lock()
	w.flushBatchesLocked()
	w.flushLocked()
	f, mark := w.f, w.counts
	w.mu.Unlock()
	// A failed write leaves its segment to closeFailed, which still makes
	// what did reach it durable.
	w.closeFailed()
	if f == nil {
		return w.Err()
	}
	if err := f.Sync(); err != nil {
		w.mu.Lock()
		if w.f == f {
			// After a failed fsync the kernel may have dropped the data:
			// writing on in this file would pretend otherwise.
			unsynced := w.counts.minus(w.synced)
			w.failLocked(fmt.Errorf("record: fsync of %s failed: %w; data written before the last successful sync is intact, and recording goes on in a new file once the disk allows",
				w.path, err), false, &unsynced)
			w.holdLocked(0, 0)
		}
		err = w.err
		w.mu.Unlock()
		w.closeFailed()
		return err
	}
	w.mu.Lock()
	if w.f == f {
		w.synced = mark
	}
	err := w.err
	w.mu.Unlock()
	if err == nil && w.opts.onSync != nil {
		w.opts.onSync(int(mark.Records))
	}
	return err
}

// closeFailed closes a segment given up after a failure, first making
// what reached it durable if it can. Called with fileMu held.
func (w *Writer) closeFailed() {
	w.mu.Lock()
	old := w.old
	w.old = nil
	w.mu.Unlock()
	if old == nil {
		return
	}
	if old.sync {
		if err := old.f.Sync(); err != nil {
			w.mu.Lock()
			u := old.unsynced
			w.outages[old.at].Unsynced = &u
			w.dirty = true
			w.mu.Unlock()
		}
	}
	old.f.Close()
}

// resume tries to go on recording in a new segment; false if it cannot
// yet.
func (w *Writer) resume() bool {
	w.fileMu.Lock()
	defer w.fileMu.Unlock()
	w.closeFailed()
	w.mu.Lock()
	if w.err == nil {
		w.mu.Unlock()
		return true
	}
	k := w.seg + 1
	w.mu.Unlock()
	path := filepath.Join(w.dir, segmentName(k))
	f, err := newSegment(path, 0, w.opts)
	if err != nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.opts.now()
	o := &w.outages[len(w.outages)-1]
	o.Resumed, o.ResumedIn = now, filepath.Base(path)
	w.troubles = append(w.troubles, Trouble{Kind: TroubleResumed, Err: w.err, Time: now, Segment: o.ResumedIn, Lost: o.Lost})
	w.dirty = true
	w.wakeLocked()
	w.f, w.seg, w.path, w.size = f, k, path, int64(len(magic))
	w.counts.Bytes += int64(len(magic))
	w.synced = w.counts
	w.err = nil
	w.flushLocked() // what was held; a new failure starts a new outage
	return true
}

// tend reports the troubles so far and rewrites session.json if it does
// not yet say what happened; a rewrite that fails (the disk is still full)
// is tried again next time. Called by the sync loop, and by Close after it.
func (w *Writer) tend() {
	w.mu.Lock()
	troubles := w.troubles
	w.troubles = nil
	var js []byte
	if w.dirty && !w.closed {
		w.dirty = false
		m := w.meta
		m.Streams = mergeStreams(m.Streams, w.streams)
		m.Outages = append([]Outage(nil), w.outages...)
		js, _ = marshalMeta(&m) // the start's metadata marshalled; outages always do
	}
	w.mu.Unlock()
	if w.opts.onTrouble != nil {
		for _, t := range troubles {
			w.opts.onTrouble(t)
		}
	}
	if js != nil {
		if err := w.opts.writeMeta(filepath.Join(w.dir, MetaFile), js); err != nil {
			w.mu.Lock()
			w.dirty = true
			w.mu.Unlock()
		}
	}
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

// Close writes everything pending, fsyncs, closes the segment file and
// rewrites session.json with the end time, the counts, the outages and
// "complete": true — false, with "error", if a write failed (then Close
// returns an error too: the one that stopped recording, or if recording
// resumed, one that says what was lost and wraps the first write error).
// If recording is stopped by a write failure when Close is called, it
// tries a new segment once more for the events held in memory. Messages
// that Run receives after Close are not recorded. Close is idempotent.
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
	w.sync()
	w.mu.Lock()
	held := w.err != nil && len(w.buf) > 0
	w.mu.Unlock()
	if held && w.resume() {
		w.sync()
	}

	w.fileMu.Lock()
	defer w.fileMu.Unlock()
	w.closeFailed()
	w.mu.Lock()
	// What is still held will not be written now.
	for _, p := range w.ends {
		w.loseLocked(p)
	}
	w.buf, w.ends = w.buf[:0], w.ends[:0]
	var closeErr error
	if w.f != nil {
		closeErr = w.f.Close()
		w.f = nil
	}
	m := w.meta
	m.End = w.opts.now()
	counts := w.counts
	m.Counts = &counts
	m.Streams = mergeStreams(m.Streams, w.streams)
	m.Outages = append([]Outage(nil), w.outages...)
	m.Complete = len(w.outages) == 0
	recErr := w.err
	switch {
	case w.err != nil:
		m.Error = w.err.Error()
	case len(w.outages) > 0:
		m.Error = outagesSummary(w.outages)
		recErr = &outageError{summary: m.Error, first: w.first}
	}
	w.dirty = false
	path := w.path
	w.mu.Unlock()
	w.tend() // the troubles of the last sync

	js, err := marshalMeta(&m)
	if err == nil {
		err = w.opts.writeMeta(filepath.Join(w.dir, MetaFile), js)
	}
	switch {
	case recErr != nil:
		return recErr
	case closeErr != nil:
		return fmt.Errorf("record: closing %s: %w", path, closeErr)
	case err != nil:
		return fmt.Errorf("record: rewriting %s: %w; the recorded data is complete", filepath.Join(w.dir, MetaFile), err)
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

package record

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
)

// Folder is what a session folder says of itself besides its data: the
// same for both readers (Session, Index).
type Folder struct {
	Dir      string
	Meta     Meta // as started; Meta.Streams also holds streams announced later if the session closed
	Protocol []byte
	End      time.Time // zero if the session was never closed (a crash)
	Complete bool      // closed normally with no write error
	// Error is the write error that stopped recording, if any; if
	// recording resumed after it, what was lost (see Outages).
	Error  string
	Counts Counts // what the writer had written at close (zero after a crash)
	// Outages are the times a write failure stopped recording, what each
	// lost and when recording resumed (in a new segment); none in a
	// session without one.
	Outages []Outage
	Notes   []string // notes added later, e.g. by Repair
}

// folder reads the folder's part of a header.
func (h *folder) read(dir string) Folder {
	return Folder{Dir: dir, Meta: h.meta.meta(), Protocol: h.protocol, End: h.meta.End, Complete: h.meta.Complete,
		Error: h.meta.Error, Counts: h.counts(), Outages: h.meta.Outages, Notes: h.meta.Notes}
}

// Session is a recorded session as read back, whole.
type Session struct {
	Folder

	Events  []event.Event               // in session-time order (see Open)
	Streams []sensors.Stream            // stream announcements, in recorded order
	Samples map[string][]sensors.Sample // by device, in recorded order
	Records int                         // whole records read from data.rec

	Recovered *Recovery // nil when data.rec was read without damage

	batches map[string][]*samplesJSON // samples records while reading, by device
	rec     recorded                  // each event's data object as recorded
}

// RecordedData returns the data object of s.Events[i] exactly as data.rec
// holds it (nil if the record had none), and false when it is not known:
// a Session not read by Open, or whose Events were changed since. Exports
// use it to show every field the session recorded, including fields of a
// newer version that the typed payload does not carry.
func (s *Session) RecordedData(i int) (json.RawMessage, bool) { return s.rec.get(s.Events, i) }

// Session is the visitor readData fills.
func (s *Session) event(e event.Event, data json.RawMessage) {
	s.Events = s.rec.add(s.Events, e, data)
}

func (s *Session) stream(st sensors.Stream) { s.Streams = append(s.Streams, st) }

func (s *Session) samples(r *samplesJSON, _ int64, _ int, _ bool) {
	if s.batches == nil {
		s.batches = map[string][]*samplesJSON{}
	}
	s.batches[r.Device] = append(s.batches[r.Device], r)
}

// flatten turns the sample records read into Samples, each device's slice
// allocated once at its size: growing it record by record cost a third
// of the reading time in copies, and twice the memory at the peak.
func (s *Session) flatten() {
	for dev, bs := range s.batches {
		n := len(s.Samples[dev])
		for _, b := range bs {
			n += len(b.T)
		}
		out := make([]sensors.Sample, len(s.Samples[dev]), n)
		copy(out, s.Samples[dev])
		for _, b := range bs {
			out = b.appendTo(out)
		}
		s.Samples[dev] = out
	}
	s.batches = nil
}

// Recovery reports damage found in data.rec (and its later segments, if
// recording went on in a new file after a write failure). Everything
// outside the damaged bytes was read.
type Recovery struct {
	TornBytes int64 // bytes at the end of a segment after its last whole record: an interrupted write; Repair cuts them
	Skipped   int64 // bytes of damaged records before the end; the records after them were read
	// Offset is where the first damage is: the byte offset in data.rec, or
	// for a later segment in the segments joined end to end (data.rec
	// whole, then data.2.rec whole…); Note names the file and its byte.
	Offset  int64
	Records int    // whole records read
	Note    string // what was found, where, and what to do

	torn []string // the files with a torn tail, in a recording of several segments
}

// Summary says in a line what Repair did: the torn bytes it cut off and
// the damaged bytes it left for the readers to skip.
func (r *Recovery) Summary() string {
	files := DataFile
	if len(r.torn) > 0 {
		files = strings.Join(r.torn, " and ")
	}
	var did []string
	if r.TornBytes > 0 {
		did = append(did, fmt.Sprintf("cut a torn tail of %d bytes off %s", r.TornBytes, files))
	}
	if r.Skipped > 0 {
		did = append(did, fmt.Sprintf("left %d damaged bytes in place (the readers skip them)", r.Skipped))
	}
	if len(did) == 0 {
		did = append(did, fmt.Sprintf("rewrote the torn header of %s", files))
	}
	return fmt.Sprintf("%s; %d whole records kept", strings.Join(did, " and "), r.Records)
}

// damage is one bad region of the recording.
type damage struct {
	off, n int64
	reason string
	tail   bool // runs to the end of its segment
	seg    int  // the segment it is in
}

// scanner walks the frames of a recording's segments in order. After a bad
// frame it looks for the next good one, so one flipped byte costs one
// record, not the rest of the session. A frame never spans two segments:
// each segment is scanned to its own end.
type scanner struct {
	j       *joined
	r       io.ReaderAt
	seg     int   // the segment being scanned
	end     int64 // where it ends
	off     int64
	buf     []byte
	hdr     [frameHeader]byte // a frame header being read (here, not on the stack: ReadAt would make that escape for every frame)
	chunk   []byte
	records int
	damage  []damage
}

// newScanner checks the magic of the first segment: a file that does not
// start with it is not a recording (an error). A file shorter than the
// magic but matching it is a torn header (a crash right after creation),
// not an error.
func newScanner(j *joined) (*scanner, error) {
	s := &scanner{j: j, r: j, seg: -1}
	if len(j.segs) == 0 {
		return nil, errors.New("record: no data file")
	}
	head := make([]byte, min(j.segs[0].size, int64(len(magic))))
	if _, err := j.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("record: reading %s: %w", j.path(0), err)
	}
	for i := range head {
		if head[i] != magic[i] {
			return nil, fmt.Errorf("record: %s byte %d: not a cueroom recording (it starts %q, want %q); is this a session folder?", j.path(0), i, head, magic)
		}
	}
	if err := s.begin(0); err != nil {
		return nil, err
	}
	return s, nil
}

// begin starts scanning segment k after its magic. A later segment that
// does not start with the magic is damage, not an error: its frames are
// looked for as after any damage.
func (s *scanner) begin(k int) error {
	seg := s.j.segs[k]
	s.seg, s.end = k, seg.base+seg.size
	head := make([]byte, min(seg.size, int64(len(magic))))
	if _, err := s.r.ReadAt(head, seg.base); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("record: reading %s: %w", s.j.path(k), err)
	}
	if string(head) != magic[:len(head)] {
		return s.resync(seg.base, fmt.Sprintf("the file does not start with %q", magic))
	}
	if seg.size < int64(len(magic)) {
		s.damage = append(s.damage, damage{off: seg.base, n: seg.size, tail: true, seg: k,
			reason: fmt.Sprintf("the file ends %d bytes into the %d-byte header", seg.size, len(magic))})
		s.off = s.end
		return nil
	}
	s.off = seg.base + int64(len(magic))
	return nil
}

// next returns the next frame's payload (valid until the following call)
// and its offset, or io.EOF.
func (s *scanner) next() ([]byte, int64, error) {
	for {
		for s.off < s.end {
			p, reason, err := s.frameAt(s.off)
			if err != nil {
				return nil, 0, err
			}
			if reason == "" {
				off := s.off
				s.off += frameHeader + int64(len(p))
				s.records++
				return p, off, nil
			}
			if err := s.resync(s.off, reason); err != nil {
				return nil, 0, err
			}
		}
		if s.seg+1 >= len(s.j.segs) {
			return nil, 0, io.EOF
		}
		if err := s.begin(s.seg + 1); err != nil {
			return nil, 0, err
		}
	}
}

// frameAt reads the frame at off. A bad frame gives a reason, not an error;
// errors are I/O failures.
func (s *scanner) frameAt(off int64) ([]byte, string, error) {
	left := s.end - off
	if left < frameHeader {
		return nil, fmt.Sprintf("the file ends %d bytes into a frame header", left), nil
	}
	h := s.hdr[:]
	if _, err := s.r.ReadAt(h, off); err != nil {
		return nil, "", fmt.Errorf("reading %s: %w", s.j.byteAt(off), err)
	}
	n := int64(binary.LittleEndian.Uint32(h[:]))
	sum := binary.LittleEndian.Uint32(h[4:])
	switch {
	case n < int64(len(recordPrefix)) || n > maxPayload:
		return nil, fmt.Sprintf("impossible frame length %d", n), nil
	case n > left-frameHeader:
		return nil, fmt.Sprintf("frame length %d but only %d bytes follow", n, left-frameHeader), nil
	}
	if int64(cap(s.buf)) < n {
		s.buf = make([]byte, n)
	}
	p := s.buf[:n]
	if _, err := s.r.ReadAt(p, off+frameHeader); err != nil {
		return nil, "", fmt.Errorf("reading %s: %w", s.j.byteAt(off+frameHeader), err)
	}
	if got := crc32.Checksum(p, castagnoli); got != sum {
		return nil, fmt.Sprintf("checksum mismatch (stored %08x, computed %08x)", sum, got), nil
	}
	return p, "", nil
}

// resync records the damage starting at bad and moves to the next good
// frame of the segment, or to its end if there is none (a torn tail).
func (s *scanner) resync(bad int64, reason string) error {
	const chunkSize = 64 << 10
	if s.chunk == nil {
		s.chunk = make([]byte, chunkSize+len(recordPrefix))
	}
	// A frame's payload starts with recordPrefix, frameHeader bytes after
	// the frame; only such places are worth a checksum.
	for pos := bad + 1 + frameHeader; pos < s.end; pos += chunkSize {
		c := s.chunk[:min(int64(len(s.chunk)), s.end-pos)]
		if _, err := s.r.ReadAt(c, pos); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading %s: %w", s.j.byteAt(pos), err)
		}
		for i := 0; i < len(c) && i < chunkSize; {
			j := bytes.Index(c[i:], []byte(recordPrefix))
			if j < 0 || i+j >= chunkSize {
				break // a match at or past chunkSize is found by the next chunk
			}
			cand := pos + int64(i+j) - frameHeader
			if !s.endsFrame(cand) {
				i += j + 1
				continue
			}
			_, why, err := s.frameAt(cand)
			if err != nil {
				return err
			}
			if why == "" {
				s.damage = append(s.damage, damage{off: bad, n: cand - bad, reason: reason, seg: s.seg})
				s.off = cand
				return nil
			}
			i += j + 1
		}
	}
	s.damage = append(s.damage, damage{off: bad, n: s.end - bad, reason: reason, tail: true, seg: s.seg})
	s.off = s.end
	return nil
}

// endsFrame is a cheap test before a checksum: every payload is a JSON
// object, so the byte its length points at last must be '}'. It keeps a
// corrupt region full of look-alikes from costing a checksum each.
func (s *scanner) endsFrame(off int64) bool {
	var h [frameHeader]byte
	if _, err := s.r.ReadAt(h[:], off); err != nil {
		return false
	}
	n := int64(binary.LittleEndian.Uint32(h[:]))
	if n < int64(len(recordPrefix)) || n > maxPayload || off+frameHeader+n > s.end {
		return false
	}
	var last [1]byte
	if _, err := s.r.ReadAt(last[:], off+frameHeader+n-1); err != nil {
		return false
	}
	return last[0] == '}'
}

// bad marks a frame whose checksum is right but whose content is not a
// record we can use.
func (s *scanner) bad(off int64, n int, reason string) {
	s.records--
	s.damage = append(s.damage, damage{off: off, n: frameHeader + int64(n), reason: reason, seg: s.j.at(off)})
}

// recovery summarises the damage, or returns nil if there was none.
func (s *scanner) recovery() *Recovery {
	if len(s.damage) == 0 {
		return nil
	}
	r := &Recovery{Records: s.records, Offset: s.damage[0].off}
	var notes []string
	const maxNotes = 10
	last := len(s.j.segs) - 1
	for i, d := range s.damage {
		var note string
		seg := s.j.segs[d.seg]
		if d.tail {
			r.TornBytes += d.n
			if last > 0 {
				r.torn = append(r.torn, seg.name)
			}
			why := "the recording was interrupted mid-write"
			if d.seg < last {
				why = fmt.Sprintf("a write failed there and recording went on in %s", s.j.segs[d.seg+1].name)
			}
			note = fmt.Sprintf("%s byte %d: torn tail, %s; the last %d bytes were not read (%s).%s",
				seg.name, d.off-seg.base, d.reason, d.n, why, repairHint)
		} else {
			r.Skipped += d.n
			note = fmt.Sprintf("%s byte %d: %s; skipped %d bytes to the next whole record at byte %d.",
				seg.name, d.off-seg.base, d.reason, d.n, d.off+d.n-seg.base)
		}
		if i < maxNotes {
			notes = append(notes, note)
		}
	}
	if len(s.damage) > maxNotes {
		notes = append(notes, fmt.Sprintf("… and %d more damaged regions.", len(s.damage)-maxNotes))
	}
	notes = append(notes, fmt.Sprintf("%d whole records were read; everything outside the damaged bytes is intact.", s.records))
	r.Note = strings.Join(notes, " ")
	return r
}

// repairHint ends a torn tail's note: what to do about it. Repair's own
// note, kept in session.json, says what it did instead.
const repairHint = " Repair cuts them off: run 'cueroom repair' on this folder."

// Open reads a session folder whole into memory: data.rec and, if a write
// failure made recording go on in later segments, those after it, as one.
// Damage (a torn tail after a crash, a corrupt region) is reported in
// Session.Recovered, not as an error, and every good record is returned.
// Errors are for folders that are not sessions and for I/O failures.
//
// A long session's samples take a lot of memory this way (about 100 bytes
// each); OpenIndex reads the same folder keeping only an index of them.
func Open(dir string) (*Session, error) {
	h, j, err := openFolder(dir)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	sess := &Session{Folder: h.read(dir), Samples: map[string][]sensors.Sample{}, Events: eventsRoom(eventsHint(h))}
	if err := readData(j, sess); err != nil {
		return nil, err
	}
	sess.rec.done(sess.Events)
	return sess, nil
}

// folder is what a session folder holds besides data.rec.
type folder struct {
	meta     *metaJSON
	protocol []byte
}

// eventsHint is how many events to make room for: what a closed session
// says it recorded, so a long session's events are not copied as they grow.
func eventsHint(h *folder) int {
	if c := h.meta.Counts; c != nil && c.Events > 0 && c.Events < 1<<20 {
		return int(c.Events)
	}
	return 0
}

// eventsRoom is an empty events slice with room for n (nil for none).
func eventsRoom(n int) []event.Event {
	if n == 0 {
		return nil
	}
	return make([]event.Event, 0, n)
}

func (h *folder) counts() Counts {
	if h.meta.Counts == nil {
		return Counts{}
	}
	return *h.meta.Counts
}

// openFolder reads session.json and protocol.yaml and opens the
// recording's segments for reading.
func openFolder(dir string) (*folder, *joined, error) {
	m, err := readMeta(dir)
	if err != nil {
		return nil, nil, err
	}
	proto, err := os.ReadFile(filepath.Join(dir, ProtocolFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("record: %w", err)
	}
	j, err := openSegments(dir, os.O_RDONLY)
	if err != nil {
		return nil, nil, err
	}
	return &folder{meta: m, protocol: proto}, j, nil
}

// sortEvents orders events by session time, keeping the written order among
// equal times, and their recorded data with them. Frame offsets are stamped
// with the last frame that showed a cue, so they are written after events
// that happened a little later.
func sortEvents(events []event.Event, data []json.RawMessage) {
	sort.Stable(eventsByT{events, data})
}

type eventsByT struct {
	e []event.Event
	d []json.RawMessage
}

func (s eventsByT) Len() int           { return len(s.e) }
func (s eventsByT) Less(i, j int) bool { return s.e[i].T < s.e[j].T }
func (s eventsByT) Swap(i, j int) {
	s.e[i], s.e[j] = s.e[j], s.e[i]
	if len(s.d) == len(s.e) {
		s.d[i], s.d[j] = s.d[j], s.d[i]
	}
}

func openData(dir string, flag int) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, DataFile), flag, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("record: %s exists but %s does not: the session was interrupted while being created, or files were moved",
			filepath.Join(dir, MetaFile), filepath.Join(dir, DataFile))
	}
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	return f, nil
}

// readMeta reads and checks session.json, telling a foreign folder apart.
func readMeta(dir string) (*metaJSON, error) {
	metaPath := filepath.Join(dir, MetaFile)
	b, err := os.ReadFile(metaPath)
	if errors.Is(err, os.ErrNotExist) {
		if _, derr := os.Stat(filepath.Join(dir, DataFile)); derr != nil {
			return nil, fmt.Errorf("record: %s is not a session folder (no %s or %s); pass a folder named like 20250131-142500-title", dir, MetaFile, DataFile)
		}
		return nil, fmt.Errorf("record: %s is missing; restore it from a backup (the recording in %s is still there)", metaPath, DataFile)
	}
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	return parseMeta(metaPath, b)
}

// readData decodes every good record of the recording into sess.
func readData(j *joined, sess *Session) error {
	sc, err := scanData(j, sess)
	if err != nil {
		return err
	}
	sess.flatten()
	sess.Records = sc.records
	sess.Recovered = sc.recovery()
	return nil
}

// visitor takes the records of data.rec as they are decoded: Open keeps
// them all, OpenIndex keeps the events and an index of the samples.
type visitor interface {
	event(e event.Event, data json.RawMessage)
	stream(s sensors.Stream)
	// samples gets a samples record and where its frame is: at byte off,
	// n payload bytes; canonical if in the writer's own form.
	samples(r *samplesJSON, off int64, n int, canonical bool)
}

// reuser is a visitor that keeps nothing of the samples records it is
// given, so they can all be decoded into one.
type reuser interface {
	samplesBuffer() *samplesJSON
}

// scanData decodes every good record of the recording for v. A frame whose
// checksum is right but whose record is unusable is counted as damage.
func scanData(j *joined, v visitor) (*scanner, error) {
	sc, err := newScanner(j)
	if err != nil {
		return nil, err
	}
	for {
		p, off, err := sc.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("record: %s: %w", j.name(), err)
		}
		if err := decodeRecord(p, off, v); err != nil {
			sc.bad(off, len(p), fmt.Sprintf("checksum matches but the record is unusable (%v)", err))
		}
	}
	return sc, nil
}

// kindOf reads "k". The writer always puts it first, which saves parsing
// every record twice; anything else takes the general path.
func kindOf(p []byte) (string, error) {
	for _, k := range []string{kindSamples, kindEvent, kindStream} {
		if len(p) > len(recordPrefix)+len(k)+1 && string(p[len(recordPrefix):len(recordPrefix)+len(k)+2]) == k+`",` &&
			string(p[:len(recordPrefix)]) == recordPrefix {
			return k, nil
		}
	}
	var k struct {
		K string `json:"k"`
	}
	err := json.Unmarshal(p, &k)
	return k.K, err
}

func decodeRecord(p []byte, off int64, v visitor) error {
	kind, err := kindOf(p)
	if err != nil {
		return err
	}
	switch kind {
	case kindEvent:
		var e event.Event
		if err := json.Unmarshal(p, &e); err != nil {
			return err
		}
		// The data object as recorded, for exports (see RecordedData).
		var raw struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(p, &raw); err != nil {
			return err
		}
		v.event(e, raw.Data)
	case kindStream:
		var s streamRecord
		if err := json.Unmarshal(p, &s); err != nil {
			return err
		}
		v.stream(s.Stream)
	case kindSamples:
		buf := &samplesJSON{}
		if r, ok := v.(reuser); ok {
			buf = r.samplesBuffer()
		}
		r, canonical, err := decodeSamplesInto(p, buf)
		if err != nil {
			return err
		}
		v.samples(r, off, len(p), canonical)
	default:
		return fmt.Errorf("unknown kind %.40q, perhaps written by newer software", kind)
	}
	return nil
}

// SetExtra sets one key of session.json's "extra" after the recording has
// closed (where the session was archived), rewriting the file atomically:
// a crash leaves the old file or the new, never half of one.
func SetExtra(dir, key string, v any) error {
	m, err := readMeta(dir)
	if err != nil {
		return err
	}
	if m.Extra == nil {
		m.Extra = map[string]any{}
	}
	m.Extra[key] = v
	b, err := marshalMeta(m)
	if err != nil {
		return fmt.Errorf("record: %s: %w", MetaFile, err)
	}
	tmp, err := os.CreateTemp(dir, ".session-*.json")
	if err != nil {
		return fmt.Errorf("record: rewriting %s: %w", MetaFile, err)
	}
	defer os.Remove(tmp.Name())
	if _, err = tmp.Write(b); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, MetaFile))
	}
	if err != nil {
		return fmt.Errorf("record: rewriting %s: %w", MetaFile, err)
	}
	return nil
}

// Repair cuts a torn tail off data.rec in place (after a crash) and appends
// a note saying so to session.json; so too off each later segment (the
// file a write failed in has one if it could not be cut back then).
// Damage in the middle of a file is left as it is (Open skips it) and
// noted. It returns nil, nil if the recording has no damage. Do not run it
// on a session that is still being recorded.
func Repair(dir string) (*Recovery, error) {
	metaPath := filepath.Join(dir, MetaFile)
	if _, err := readMeta(dir); err != nil {
		return nil, err
	}
	j, err := openSegments(dir, os.O_RDWR)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	sc, err := newScanner(j)
	if err != nil {
		return nil, err
	}
	for {
		if _, _, err := sc.next(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("record: %s: %w", j.name(), err)
		}
	}
	rec := sc.recovery()
	if rec == nil {
		return nil, nil
	}
	var cuts []string
	for _, d := range sc.damage {
		if !d.tail {
			continue
		}
		f, seg := j.files[d.seg], j.segs[d.seg]
		cut := d.off - seg.base
		if cut < int64(len(magic)) {
			// The header itself was torn: start the file afresh.
			err = f.Truncate(0)
			if err == nil {
				_, err = f.WriteAt([]byte(magic), 0)
			}
		} else {
			err = f.Truncate(cut)
		}
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			return nil, fmt.Errorf("record: cutting the torn tail of %s at byte %d: %w", j.path(d.seg), cut, err)
		}
		cuts = append(cuts, fmt.Sprintf(" Repair cut %s at byte %d.", seg.name, cut))
	}
	if len(cuts) > 0 {
		rec.Note = strings.ReplaceAll(rec.Note, repairHint, "") + strings.Join(cuts, "")
	}
	if rec.Skipped > 0 {
		rec.Note += " Damaged regions before the end were left in place; Open skips them."
	}
	if err := addNote(metaPath, time.Now().UTC().Format(time.RFC3339)+" repair: "+rec.Note); err != nil {
		return rec, fmt.Errorf("record: %s was repaired but the note could not be added to %s: %w", j.name(), metaPath, err)
	}
	return rec, nil
}

// addNote appends to session.json's notes, keeping every other field as it
// is (even ones this version does not know).
func addNote(path, note string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	var notes []string
	if raw, ok := fields["notes"]; ok {
		if err := json.Unmarshal(raw, &notes); err != nil {
			return fmt.Errorf("notes field: %w", err)
		}
	}
	notes = append(notes, note)
	raw, err := json.Marshal(notes)
	if err != nil {
		return err
	}
	fields["notes"] = raw
	out, err := json.MarshalIndent(fields, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(out, '\n'))
}

// Unclosed says how a session that did not end normally ended, for a
// warning, or "" if it was closed normally. After a crash, a power loss or
// a kill session.json still says what it said at the start; after a write
// error the session was closed early, or if recording resumed in a new
// segment, it has gaps (what they lost is said).
func (x *Index) Unclosed() string {
	last := time.Duration(0)
	if n := len(x.Events); n > 0 {
		last = x.Events[n-1].T
	}
	for _, d := range x.devices {
		last = max(last, d.stats.Max)
	}
	return x.Folder.unclosed(last)
}

// Warnings are what to tell the user before what was recorded is used
// (use says how: "analysed", "replayed"): the damage read around, and a
// session not closed normally.
func (x *Index) Warnings(use string) []string {
	var out []string
	if x.Recovered != nil {
		out = append(out, x.Recovered.Note)
	}
	if u := x.Unclosed(); u != "" {
		out = append(out, u+": what was recorded is "+use)
	}
	return out
}

// Unclosed is Index.Unclosed for a session read whole.
func (s *Session) Unclosed() string {
	last := time.Duration(0)
	if n := len(s.Events); n > 0 {
		last = s.Events[n-1].T
	}
	for _, ss := range s.Samples {
		for i := range ss {
			last = max(last, ss[i].T)
		}
	}
	return s.Folder.unclosed(last)
}

// unclosed words Unclosed; last is the latest session time recorded.
func (f Folder) unclosed(last time.Duration) string {
	n := len(f.Outages)
	switch {
	case f.Complete && !f.End.IsZero():
		return ""
	case f.End.IsZero():
		s := fmt.Sprintf("was not closed normally (the recording stopped at %s; a crash or power loss)", clock(last))
		if n > 0 {
			s += "; before that, a write error stopped the recording at " + f.Outages[0].Start.Format(time.RFC3339) + " (" + f.Outages[0].Error + ")"
		}
		return s
	case n > 0 && !f.Outages[n-1].Resumed.IsZero():
		return "has gaps: " + outagesSummary(f.Outages)
	}
	return fmt.Sprintf("was closed early: a write error stopped the recording at %s (%s)", clock(last), cmp.Or(f.Error, "no error was recorded"))
}

// clock is a session time as m:ss, or h:mm:ss from an hour on.
func clock(d time.Duration) string {
	s := int64(max(d, 0) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

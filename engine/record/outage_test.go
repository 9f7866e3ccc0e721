package record

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/internal/leakcheck"
	"github.com/cueroom/cueroom/sensors"
)

// troubles collects what OnTrouble is told.
type troubles struct {
	mu  sync.Mutex
	got []Trouble
	c   chan Trouble
}

func newTroubles() *troubles { return &troubles{c: make(chan Trouble, 64)} }

func (tr *troubles) on() Option {
	return OnTrouble(func(t Trouble) {
		tr.mu.Lock()
		tr.got = append(tr.got, t)
		tr.mu.Unlock()
		tr.c <- t
	})
}

// next waits for the next trouble reported.
func (tr *troubles) next(t *testing.T) Trouble {
	t.Helper()
	select {
	case x := <-tr.c:
		return x
	case <-time.After(10 * time.Second):
		t.Fatal("no trouble was reported")
		return Trouble{}
	}
}

func (tr *troubles) kinds() []TroubleKind {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []TroubleKind
	for _, t := range tr.got {
		out = append(out, t.Kind)
	}
	return out
}

// ticking is a clock that moves a second each time it is read, so every
// outage time differs.
func ticking() Option {
	var mu sync.Mutex
	now := t0
	return func(o *options) {
		o.now = func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(time.Second)
			return now
		}
	}
}

// phase feeds a writer a second of session time from at: 1 kHz of two
// channels, with an event every 100 ms, and returns what it fed.
func phase(w *Writer, at time.Duration, arrival bool) ([]event.Event, []sensors.Sample) {
	var events []event.Event
	var samples []sensors.Sample
	for i := 0; i < 1000; i++ {
		tm := at + time.Duration(i)*time.Millisecond
		s := sensors.Sample{Device: "bitalino", T: tm, Seq: uint32(i & 15), N: 2, Values: [sensors.MaxChannels]float64{float64(i) / 3, -1}}
		if arrival {
			s.Arrival = tm + 3*time.Millisecond
		}
		w.handle(bus.Msg{Sample: &s})
		samples = append(samples, s)
		if i%100 == 0 {
			e := ev(event.KindMarker, int(at/time.Second), tm, map[string]any{"text": "m"})
			w.handle(bus.Msg{Event: &e})
			events = append(events, e)
		}
	}
	return events, samples
}

// TestFullDiskResumesInANewSegment: the disk fills mid-session and frees up
// later. The failure is reported at once, a new segment cannot be created
// while the disk is full, then recording goes on in data.2.rec; both
// readers join the segments: every event (those of the outage were held),
// the samples before and after it; session.json says what was lost.
func TestFullDiskResumesInANewSegment(t *testing.T) {
	leakcheck.Check(t)
	disk := &fakeDisk{limit: math.MaxInt64, syncsLeft: math.MaxInt}
	tr := newTroubles()
	w := newTestWriter(t, testMeta(), noTicks, disk.on(), tr.on(), ticking())
	metaPath := filepath.Join(w.Dir(), MetaFile)

	before, beforeS := phase(w, 0, true)
	require.NoError(t, w.sync())

	disk.full()
	during, duringS := phase(w, time.Second, true)
	err := w.sync()
	require.ErrorIs(t, err, syscall.ENOSPC)
	require.Equal(t, err, w.Err())
	failed := tr.next(t)
	assert.Equal(t, TroubleFailed, failed.Kind)
	assert.ErrorIs(t, failed.Err, syscall.ENOSPC)
	assert.Equal(t, DataFile, failed.Segment)
	assert.Equal(t, "recording stopped: writing data.rec failed (no space left on device) — free disk space; the session goes on, "+
		"what was recorded is kept, and recording resumes by itself when there is room", failed.Message())

	// Still full: no new segment, and none left half made.
	assert.False(t, w.resume())
	assert.NoFileExists(t, filepath.Join(w.Dir(), "data.2.rec"))
	more, moreS := phase(w, 2*time.Second, false)
	during, duringS = append(during, more...), append(duringS, moreS...)

	disk.free()
	require.True(t, w.resume())
	require.NoError(t, w.Err())
	resumed := tr.next(t)
	assert.Equal(t, TroubleResumed, resumed.Kind)
	assert.Equal(t, "data.2.rec", resumed.Segment)
	assert.ErrorIs(t, resumed.Err, syscall.ENOSPC)
	assert.Positive(t, resumed.Lost.Samples)
	assert.Equal(t, "recording resumed in data.2.rec; not recorded while it was stopped: "+resumed.Lost.String(), resumed.Message())
	// session.json says so before the session ends.
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(metaPath)
		return err == nil && strings.Contains(string(b), `"resumed_in": "data.2.rec"`)
	}, 10*time.Second, time.Millisecond)

	after, afterS := phase(w, 3*time.Second, true)
	closeErr := w.Close()
	require.Error(t, closeErr)
	assert.ErrorIs(t, closeErr, syscall.ENOSPC)
	assert.Contains(t, closeErr.Error(), "recording failed once and resumed (in data.2.rec)")
	assert.Equal(t, []TroubleKind{TroubleFailed, TroubleResumed}, tr.kinds())
	assert.Equal(t, []string{DataFile, "data.2.rec", "data.2.rec"}, disk.files, "the first try at data.2.rec failed, the second worked")

	s, err := Open(w.Dir())
	require.NoError(t, err)
	assert.Nil(t, s.Recovered)
	// Every event: those of the outage were kept in memory.
	want := slices.Concat(before, during, after)
	assert.Equal(t, want, s.Events)
	// The samples before and after; of those in between, the ones written
	// before the write failed.
	got := s.Samples["bitalino"]
	require.GreaterOrEqual(t, len(got), len(beforeS)+len(afterS))
	assert.Equal(t, beforeS, got[:len(beforeS)])
	assert.Equal(t, afterS, got[len(got)-len(afterS):])
	written := got[len(beforeS) : len(got)-len(afterS)]
	assert.Equal(t, duringS[:len(written)], written)
	lostSamples := int64(len(duringS) - len(written))
	assert.Positive(t, lostSamples)

	require.Len(t, s.Outages, 1)
	o := s.Outages[0]
	assert.Contains(t, o.Error, "no space left on device")
	assert.Equal(t, DataFile, o.Segment)
	assert.Equal(t, "data.2.rec", o.ResumedIn)
	assert.True(t, o.Resumed.After(o.Start))
	assert.Equal(t, Lost{Samples: lostSamples, From: duringS[len(written)].T, To: duringS[len(duringS)-1].T}, o.Lost)
	assert.Nil(t, o.Unsynced)
	assert.False(t, s.Complete)
	assert.Contains(t, s.Error, "recording failed once and resumed")
	assert.Equal(t, lostSamples, s.Counts.Lost)
	assert.Equal(t, int64(len(want)), s.Counts.Events)
	assert.Equal(t, int64(len(got)), s.Counts.Samples)
	assert.Equal(t, int64(s.Records), s.Counts.Records)
	assert.Equal(t, fileSizes(t, w.Dir()), s.Counts.Bytes)
	assert.Equal(t, "has gaps: recording failed once and resumed (in data.2.rec); not recorded: "+
		plural(lostSamples, "sample")+", 0 events (session time 0:01–0:02); first failure: "+o.Error, s.Unclosed())

	x, err := OpenIndex(w.Dir())
	require.NoError(t, err)
	defer x.Close()
	requireSameAsOpen(t, s, x)
	assert.Equal(t, s.Outages, x.Outages)
	// A seek into the second segment.
	c := x.Cursor("bitalino")
	c.Seek(3*time.Second + 500*time.Millisecond)
	require.True(t, c.Next())
	assert.Equal(t, afterS[500], *c.Sample())

	rec, err := Repair(w.Dir())
	require.NoError(t, err)
	assert.Nil(t, rec, "nothing to repair")
}

// fileSizes adds up the sizes of a session's segment files.
func fileSizes(t *testing.T, dir string) int64 {
	t.Helper()
	names, err := segmentNames(dir)
	require.NoError(t, err)
	var n int64
	for _, name := range names {
		st, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		n += st.Size()
	}
	return n
}

// TestOutageRetriesOnItsOwn: recording through the bus; the disk fills
// and session.json cannot be written either; the writer retries every few
// milliseconds by itself and resumes once there is room, and session.json
// then says what happened. Nothing but the writer's own loop drives it.
func TestOutageRetriesOnItsOwn(t *testing.T) {
	leakcheck.Check(t)
	disk := &fakeDisk{limit: math.MaxInt64, syncsLeft: math.MaxInt}
	tr := newTroubles()
	var metaWrites, metaFails int
	var mu sync.Mutex
	w := newTestWriter(t, testMeta(), disk.on(), tr.on(), SyncEvery(2*time.Millisecond), func(o *options) {
		o.retryEvery = 2 * time.Millisecond
		o.writeMeta = func(path string, data []byte) error {
			mu.Lock()
			defer mu.Unlock()
			metaWrites++
			if disk.isFull() {
				metaFails++
				return syscall.ENOSPC
			}
			return writeFileAtomic(path, data)
		}
	})
	b := bus.New()
	sub := b.Subscribe(16, true)
	done := make(chan error, 1)
	go func() { done <- w.Run(sub) }()
	publish := func(e event.Event) { b.Publish(bus.Msg{Event: &e}) }

	publish(ev(event.KindMarker, 0, 0, map[string]any{"text": "before"}))
	disk.full()
	publish(ev(event.KindMarker, 1, time.Second, map[string]any{"text": "during"}))
	failed := tr.next(t) // the sync that writes it fails
	assert.Equal(t, TroubleFailed, failed.Kind)
	s := sensors.Sample{Device: "d", T: time.Second, N: 1}
	b.Publish(bus.Msg{Sample: &s})
	// Retries go on while it is full: each new segment's creation fails,
	// and so does each rewrite of session.json.
	require.Eventually(t, func() bool {
		mu.Lock()
		fails := metaFails
		mu.Unlock()
		disk.mu.Lock()
		tries := len(disk.files) - 1
		disk.mu.Unlock()
		w.mu.Lock()
		lost := w.counts.Lost
		w.mu.Unlock()
		return fails >= 2 && tries >= 2 && lost == 1
	}, 10*time.Second, time.Millisecond)
	assert.Equal(t, []TroubleKind{TroubleFailed}, tr.kinds())

	disk.free()
	resumed := tr.next(t)
	assert.Equal(t, TroubleResumed, resumed.Kind)
	require.Eventually(t, func() bool {
		m, err := readMeta(w.Dir())
		return err == nil && len(m.Outages) == 1 && m.Outages[0].ResumedIn == "data.2.rec"
	}, 10*time.Second, time.Millisecond, "session.json is written once the disk has room")
	publish(ev(event.KindMarker, 2, 2*time.Second, map[string]any{"text": "after"}))
	b.Close()
	require.NoError(t, <-done, "recording is going when the bus closes")
	require.ErrorIs(t, w.Close(), syscall.ENOSPC)

	got, err := Open(w.Dir())
	require.NoError(t, err)
	var texts []string
	for _, e := range got.Events {
		texts = append(texts, event.Fields(e.Data)["text"].(string))
	}
	assert.Equal(t, []string{"before", "during", "after"}, texts)
	require.Len(t, got.Outages, 1)
	assert.Equal(t, int64(1), got.Outages[0].Lost.Samples)
	assert.Equal(t, time.Second, got.Outages[0].Lost.From)
	assert.Empty(t, got.Samples["d"])
}

// TestFsyncFailureResumes: an fsync that fails with ENOSPC gives its
// segment up too (the kernel may have dropped what it held); what was
// written since the last good fsync is noted as unsynced.
func TestFsyncFailureResumes(t *testing.T) {
	leakcheck.Check(t)
	disk := &fakeDisk{limit: math.MaxInt64, syncsLeft: math.MaxInt, syncErr: syscall.ENOSPC}
	tr := newTroubles()
	w := newTestWriter(t, testMeta(), noTicks, disk.on(), tr.on(), ticking())
	before, beforeS := phase(w, 0, false)
	require.NoError(t, w.sync())
	e := ev(event.KindMarker, 1, 1500*time.Millisecond, map[string]any{"text": "unsynced"})
	w.handle(bus.Msg{Event: &e})
	disk.set(func(d *fakeDisk) { d.syncsLeft = 0 })
	require.ErrorIs(t, w.sync(), syscall.ENOSPC)
	assert.Equal(t, TroubleFailed, tr.next(t).Kind)
	assert.False(t, w.resume(), "the new segment's magic cannot be synced")
	assert.NoFileExists(t, filepath.Join(w.Dir(), "data.2.rec"))
	disk.set(func(d *fakeDisk) { d.syncsLeft = math.MaxInt })
	require.True(t, w.resume())
	assert.Equal(t, TroubleResumed, tr.next(t).Kind)
	after, afterS := phase(w, 2*time.Second, false)
	require.ErrorIs(t, w.Close(), syscall.ENOSPC)

	s, err := Open(w.Dir())
	require.NoError(t, err)
	assert.Equal(t, slices.Concat(before, []event.Event{e}, after), s.Events, "the file was not lost, only its fsync failed")
	assert.Equal(t, slices.Concat(beforeS, afterS), s.Samples["bitalino"])
	require.Len(t, s.Outages, 1)
	o := s.Outages[0]
	assert.Contains(t, o.Error, "fsync of "+filepath.Join(w.Dir(), DataFile))
	require.NotNil(t, o.Unsynced)
	assert.Equal(t, int64(1), o.Unsynced.Events)
	assert.Equal(t, int64(1), o.Unsynced.Records)
	assert.True(t, o.Lost.none())
}

// TestTornSegmentThenResume: the write failure cannot be cut back, so
// data.rec ends in a torn record; the readers skip it and go on into
// data.2.rec, and Repair cuts it off.
func TestTornSegmentThenResume(t *testing.T) {
	disk := &fakeDisk{limit: math.MaxInt64, syncsLeft: math.MaxInt, truncateFails: true}
	w := newTestWriter(t, testMeta(), noTicks, disk.on())
	first := ev(event.KindMarker, 0, 0, map[string]any{"text": strings.Repeat("a", 100)})
	w.handle(bus.Msg{Event: &first})
	require.NoError(t, w.sync())
	disk.set(func(d *fakeDisk) { d.limit = d.written + 50 }) // half the next record
	second := ev(event.KindMarker, 1, time.Second, map[string]any{"text": strings.Repeat("b", 100)})
	w.handle(bus.Msg{Event: &second})
	require.Error(t, w.sync())
	disk.free()
	require.True(t, w.resume())
	third := ev(event.KindMarker, 2, 2*time.Second, nil)
	w.handle(bus.Msg{Event: &third})
	require.Error(t, w.Close())

	s, err := Open(w.Dir())
	require.NoError(t, err)
	assert.Equal(t, []event.Event{first, second, third}, s.Events, "the torn record was held and written again")
	require.NotNil(t, s.Recovered)
	assert.Equal(t, int64(50), s.Recovered.TornBytes)
	assert.Contains(t, s.Recovered.Note, "data.rec byte ")
	assert.Contains(t, s.Recovered.Note, "a write failed there and recording went on in data.2.rec")
	x, err := OpenIndex(w.Dir())
	require.NoError(t, err)
	requireSameAsOpen(t, s, x)
	require.NoError(t, x.Close())

	rec, err := Repair(w.Dir())
	require.NoError(t, err)
	require.NotNil(t, rec)
	assert.Equal(t, "cut a torn tail of 50 bytes off data.rec; 3 whole records kept", rec.Summary())
	again, err := Open(w.Dir())
	require.NoError(t, err)
	assert.Nil(t, again.Recovered)
	assert.Equal(t, s.Events, again.Events)
	assert.Len(t, again.Outages, 1, "Repair keeps the outages")
}

// TestHeldEventsAreBounded: while recording is stopped events are kept in
// memory, up to maxHeld; the rest are counted lost.
func TestHeldEventsAreBounded(t *testing.T) {
	disk := &fakeDisk{limit: math.MaxInt64, syncsLeft: math.MaxInt}
	w := newTestWriter(t, testMeta(), noTicks, disk.on())
	disk.full()
	e := ev(event.KindMarker, 0, 0, map[string]any{"text": "x"})
	w.handle(bus.Msg{Event: &e})
	require.Error(t, w.sync())
	big := ev(event.KindMarker, 1, time.Second, map[string]any{"text": strings.Repeat("y", 100_000)})
	const n = 15 // 1.5 MB: more than maxHeld
	for range n {
		w.handle(bus.Msg{Event: &big})
	}
	small, each := frameHeader+len(encodeEvent(e)), frameHeader+len(encodeEvent(big))
	disk.free()
	require.True(t, w.resume())
	require.Error(t, w.Close())
	s, err := Open(w.Dir())
	require.NoError(t, err)
	kept := len(s.Events) - 1
	assert.Equal(t, (maxHeld-small)/each, kept, "as many as fit in maxHeld")
	require.Len(t, s.Outages, 1)
	assert.Equal(t, int64(n-kept), s.Outages[0].Lost.Events)
	assert.Equal(t, time.Second, s.Outages[0].Lost.From)
	assert.Equal(t, int64(n-kept), s.Counts.Lost)
}

// TestCloseWhileFull: the session ends while the disk is full: Close tries
// once more, fails, and says so; the events held are counted lost, and the
// outage has no resume time.
func TestCloseWhileFull(t *testing.T) {
	disk := &fakeDisk{limit: math.MaxInt64, syncsLeft: math.MaxInt}
	tr := newTroubles()
	w := newTestWriter(t, testMeta(), noTicks, disk.on(), tr.on())
	disk.full()
	e := ev(event.KindMarker, 0, 0, map[string]any{"text": "x"})
	w.handle(bus.Msg{Event: &e})
	err := w.Close()
	require.ErrorIs(t, err, syscall.ENOSPC)
	assert.Equal(t, []TroubleKind{TroubleFailed}, tr.kinds(), "reported even when it happens in Close")
	s, rerr := Open(w.Dir())
	require.NoError(t, rerr)
	require.Len(t, s.Outages, 1)
	assert.True(t, s.Outages[0].Resumed.IsZero())
	assert.Equal(t, int64(1), s.Outages[0].Lost.Events)
	assert.Equal(t, err.Error(), s.Error)
	assert.Contains(t, s.Unclosed(), "was closed early: a write error stopped the recording")
	assert.Empty(t, s.Events)
}

// TestSessionJSONOutagesFormat pins how session.json records an outage.
func TestSessionJSONOutagesFormat(t *testing.T) {
	o := Outage{Start: t0, Error: "record: writing …: no space left on device", Segment: DataFile,
		Lost:    Lost{Events: 0, Samples: 1200, From: 61 * time.Second, To: 62*time.Second + 199*time.Millisecond},
		Resumed: t0.Add(3 * time.Second), ResumedIn: "data.2.rec"}
	b, err := json.Marshal(o)
	require.NoError(t, err)
	assert.JSONEq(t, `{"start":"2025-03-14T09:26:53Z","error":"record: writing …: no space left on device","segment":"data.rec",
		"lost":{"events":0,"samples":1200,"from_ns":61000000000,"to_ns":62199000000},
		"resumed":"2025-03-14T09:26:56Z","resumed_in":"data.2.rec"}`, string(b))
	var back Outage
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, o, back)
	assert.Equal(t, "1200 samples, 0 events (session time 1:01–1:02)", o.Lost.String())
}

// TestSegmentNames: which files are a recording's segments, in order.
func TestSegmentNames(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"data.rec", "data.10.rec", "data.2.rec", "data.02.rec", "data.1.rec", "data.x.rec", "data.3.rec.tmp", "data..rec"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), nil, 0o600))
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "data.3.rec"), 0o700))
	got, err := segmentNames(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"data.rec", "data.2.rec", "data.10.rec"}, got)
	for _, tc := range []struct {
		k      int
		name   string
		number int // 0: not a later segment's name
	}{{1, "data.rec", 0}, {2, "data.2.rec", 2}, {12, "data.12.rec", 12}} {
		assert.Equal(t, tc.name, segmentName(tc.k))
		assert.Equal(t, tc.number, segmentNumber(tc.name))
	}
}

// TestJoinedReadAt reads across segment boundaries.
func TestJoinedReadAt(t *testing.T) {
	j := &joined{}
	j.add(strings.NewReader("abc"), 3, "a")
	j.add(strings.NewReader(""), 0, "b")
	j.add(strings.NewReader("defg"), 4, "c")
	for _, tc := range []struct {
		off  int64
		n    int
		want string
		eof  bool
	}{
		{0, 7, "abcdefg", false}, {2, 3, "cde", false}, {3, 2, "de", false}, {5, 5, "fg", true}, {7, 1, "", true},
	} {
		p := make([]byte, tc.n)
		n, err := j.ReadAt(p, tc.off)
		assert.Equal(t, tc.want, string(p[:n]), "%+v", tc)
		assert.Equal(t, tc.eof, errors.Is(err, io.EOF), "%+v: %v", tc, err)
	}
	assert.Equal(t, "c byte 1", j.where(4))
	assert.Equal(t, "a byte 2", j.where(2))
}

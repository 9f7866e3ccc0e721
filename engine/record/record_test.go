package record

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cueroom/cueroom/event"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/sensors"
)

var (
	t0       = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	tEnd     = t0.Add(90 * time.Minute)
	protoSrc = []byte("title: Alcohol cues\nsteps:\n  - neutral: 60s\n")
)

func fixedEnd(o *options) { o.now = func() time.Time { return tEnd } }

// noTicks keeps the sync loop out of a test so record boundaries are
// deterministic, and its retries after a write failure too; Close still
// flushes and fsyncs.
var noTicks Option = func(o *options) { o.syncEvery, o.retryEvery = time.Hour, time.Hour }

func testMeta() Meta {
	return Meta{
		Title: "Alcohol cues, week 3", Substance: "alcohol", Software: "cueroom 0.1.0-test", Start: t0,
		Streams: []sensors.Stream{{Device: "bitalino", Kind: "bitalino", Rate: 1000,
			Channels: []sensors.Channel{{Label: "eda", Unit: "uS", Type: "EDA"}, {Label: "ecg", Unit: "mV", Type: "ECG"}}}},
		Manifest: []any{map[string]any{"file": "beer.jpg", "sha256": "ab12", "modality": "image", "personalised": true}},
		Extra:    map[string]any{"site": "clinic-a"},
	}
}

func newTestWriter(t *testing.T, meta Meta, opts ...Option) *Writer {
	t.Helper()
	w, err := Create(t.TempDir(), meta, protoSrc, append([]Option{fixedEnd}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { w.Close() })
	return w
}

// playThroughBus publishes msgs on a real bus that w.Run consumes and
// returns Run's result once the bus is closed.
func playThroughBus(t *testing.T, w *Writer, msgs []bus.Msg) error {
	t.Helper()
	b := bus.New()
	sub := b.Subscribe(16, true)
	done := make(chan error, 1)
	go func() { done <- w.Run(sub) }()
	for _, m := range msgs {
		b.Publish(m)
	}
	b.Close()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the bus closed")
		return nil
	}
}

// genSamples makes n samples of ch channels at rate Hz with full-precision
// values and a few awkward ones.
func genSamples(dev string, n, ch int, rate float64) []sensors.Sample {
	out := make([]sensors.Sample, n)
	awkward := []float64{1e-300, math.MaxFloat64, -math.SmallestNonzeroFloat64, 123456789.123456789, -0.1}
	for i := range out {
		s := sensors.Sample{Device: dev, T: time.Duration(float64(i) / rate * float64(time.Second)), Seq: uint32(i % 16), N: ch}
		for c := 0; c < ch; c++ {
			s.Values[c] = math.Sin(float64(i)*0.013+float64(c)) * 37.7
		}
		if i%97 == 0 {
			s.Values[0] = awkward[(i/97)%len(awkward)]
		}
		out[i] = s
	}
	return out
}

// ev makes a typed event from a kind and its data as the JSON edge would
// give them (fields the kind does not have are dropped, as decoding does).
func ev(kind event.Kind, step int, at time.Duration, data map[string]any) event.Event {
	raw, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	d, err := event.UnmarshalData(kind, raw)
	if err != nil {
		panic(err)
	}
	return event.Event{T: at, Wall: t0.Add(at), Step: step, Data: d}
}

type fixture struct {
	msgs    []bus.Msg
	events  []event.Event
	streams []sensors.Stream
	samples map[string][]sensors.Sample
	records int // records the writer must produce with noTicks
}

// sessionFixture interleaves two devices' samples with events and a stream
// announcement the way a live session does.
func sessionFixture() fixture {
	var f fixture
	f.samples = map[string][]sensors.Sample{
		"bitalino": genSamples("bitalino", 2500, 6, 1000), // 2.5 s → 25 records of 100 ms
		"oximeter": genSamples("oximeter", 10, 2, 4),      // 250 ms apart → one record each
	}
	st := sensors.Stream{Device: "oximeter", Kind: "nonin", Rate: 4,
		Channels: []sensors.Channel{{Label: "hr", Unit: "bpm", Type: "HR"}, {Label: "spo2", Unit: "%", Type: "SPO2"}},
		Settings: map[string]string{"port": "/dev/ttyUSB1"}}
	// The BITalino was known at start; its announcement adds the settings.
	bit := testMeta().Streams[0]
	bit.Settings = map[string]string{"mac": "20:16:07:18:15:59"}
	f.streams = []sensors.Stream{st, bit}
	f.msgs = append(f.msgs, bus.Msg{Stream: &st}, bus.Msg{Stream: &bit})
	f.records = 2 + 25 + 10
	ox := 0
	for i, s := range f.samples["bitalino"] {
		s := s
		f.msgs = append(f.msgs, bus.Msg{Sample: &s})
		if ox < 10 && f.samples["oximeter"][ox].T <= s.T {
			o := f.samples["oximeter"][ox]
			f.msgs = append(f.msgs, bus.Msg{Sample: &o})
			ox++
		}
		if i%500 == 250 {
			e := ev(event.KindCueOnset, i/500, s.T, map[string]any{"cue": "beer.jpg", "intensity": 3.5, "tags": []any{"bar", "night"}})
			f.events = append(f.events, e)
			f.msgs = append(f.msgs, bus.Msg{Event: &e})
		}
	}
	e := ev(event.KindSessionEnd, -1, 2500*time.Millisecond, nil)
	f.events = append(f.events, e)
	f.msgs = append(f.msgs, bus.Msg{Event: &e})
	f.records += len(f.events)
	return f
}

func TestRoundTripThroughBus(t *testing.T) {
	f := sessionFixture()
	w := newTestWriter(t, testMeta(), noTicks)
	require.NoError(t, playThroughBus(t, w, f.msgs))
	require.NoError(t, w.Close())

	s, err := Open(w.Dir())
	require.NoError(t, err)
	assert.Nil(t, s.Recovered)
	assert.Equal(t, f.events, s.Events)
	assert.Equal(t, f.streams, s.Streams)
	require.Len(t, s.Samples, 2)
	for dev, want := range f.samples {
		assert.Equal(t, want, s.Samples[dev], dev)
	}
	assert.Equal(t, f.records, s.Records)
	assert.Equal(t, protoSrc, s.Protocol)

	want := testMeta()
	want.Streams = []sensors.Stream{f.streams[1], f.streams[0]} // announcements update and extend the start list
	assert.Equal(t, want, s.Meta)
	assert.True(t, s.Complete)
	assert.Empty(t, s.Error)
	assert.True(t, tEnd.Equal(s.End))
	st, err := os.Stat(filepath.Join(w.Dir(), DataFile))
	require.NoError(t, err)
	assert.Equal(t, Counts{Records: int64(f.records), Events: int64(len(f.events)), Samples: 2510, Bytes: st.Size()}, s.Counts)
}

func TestSessionJSONCompleteFlag(t *testing.T) {
	w := newTestWriter(t, testMeta())
	path := filepath.Join(w.Dir(), MetaFile)
	read := func() map[string]any {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		return m
	}
	started := read()
	assert.Equal(t, false, started["complete"])
	assert.NotContains(t, started, "end")
	assert.Equal(t, "Alcohol cues, week 3", started["title"])
	assert.Equal(t, "cueroom 0.1.0-test", started["software"])
	assert.Equal(t, "2025-03-14T09:26:53Z", started["start"])

	s, err := Open(w.Dir())
	require.NoError(t, err, "a session being recorded can be opened")
	assert.False(t, s.Complete)
	assert.True(t, s.End.IsZero())

	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "Close is idempotent")
	closed := read()
	assert.Equal(t, true, closed["complete"])
	assert.Equal(t, "2025-03-14T10:56:53Z", closed["end"])
	assert.Equal(t, map[string]any{"records": 0.0, "events": 0.0, "samples": 0.0, "bytes": 8.0, "lost": 0.0}, closed["counts"])
	_, err = os.Stat(path + ".tmp")
	assert.ErrorIs(t, err, os.ErrNotExist, "no temporary file is left behind")
}

func TestFolderNames(t *testing.T) {
	root := t.TempDir()
	// Someone else's folder with the name we want must be left alone.
	taken := filepath.Join(root, "20250314-092653-alcohol-cues-week-3")
	require.NoError(t, os.Mkdir(taken, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(taken, "keep.txt"), []byte("mine"), 0o644))

	var dirs []string
	for i := 0; i < 3; i++ {
		w, err := Create(root, testMeta(), protoSrc)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		dirs = append(dirs, filepath.Base(w.Dir()))
	}
	assert.Equal(t, []string{
		"20250314-092653-alcohol-cues-week-3-2",
		"20250314-092653-alcohol-cues-week-3-3",
		"20250314-092653-alcohol-cues-week-3-4",
	}, dirs)
	b, err := os.ReadFile(filepath.Join(taken, "keep.txt"))
	require.NoError(t, err)
	assert.Equal(t, "mine", string(b))
	entries, err := os.ReadDir(taken)
	require.NoError(t, err)
	assert.Len(t, entries, 1)
}

func TestCreatesSessionsRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a", "b")
	w, err := Create(root, Meta{Start: t0}, nil)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Equal(t, filepath.Join(root, "20250314-092653-session"), w.Dir())
	s, err := Open(w.Dir())
	require.NoError(t, err)
	assert.Empty(t, s.Protocol)
}

func TestCreateRejectsUnstorableMetaAndLeavesNothing(t *testing.T) {
	root := t.TempDir()
	meta := testMeta()
	meta.Manifest = map[string]any{"bad": make(chan int)}
	_, err := Create(root, meta, protoSrc)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "manifest")
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	assert.Empty(t, entries)
}

func TestSlug(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Alcohol cues, week 3", "alcohol-cues-week-3"},
		{"  Sesión café — Ñandú ", "sesion-cafe-nandu"},
		{"../../etc/passwd", "etc-passwd"},
		{"", "session"},
		{"日本語", "session"},
		{"Straße Œuvre", "strasse-oeuvre"},
		{strings.Repeat("ab ", 40), strings.TrimSuffix(strings.Repeat("ab-", 16), "-")},
	} {
		assert.Equal(t, tc.want, slug(tc.in), tc.in)
	}
}

func TestNonFiniteAndSignedZeroKeepTheirBits(t *testing.T) {
	w := newTestWriter(t, testMeta(), noTicks)
	vals := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0, 5e-324}
	s := sensors.Sample{Device: "d", T: time.Millisecond, Seq: 7, N: len(vals)}
	copy(s.Values[:], vals)
	st := sensors.Stream{Device: "d", Rate: math.NaN()}
	require.NoError(t, playThroughBus(t, w, []bus.Msg{{Stream: &st}, {Sample: &s}}))
	require.NoError(t, w.Close())

	got, err := Open(w.Dir())
	require.NoError(t, err)
	require.Len(t, got.Samples["d"], 1)
	for c, v := range vals {
		assert.Equal(t, math.Float64bits(v), math.Float64bits(got.Samples["d"][0].Values[c]), "channel %d", c)
	}
	require.Len(t, got.Streams, 1)
	assert.Equal(t, 0.0, got.Streams[0].Rate, "a NaN rate is stored as 0 (unknown)")
}

func TestUnstorableEventIsStillRecorded(t *testing.T) {
	w := newTestWriter(t, testMeta(), noTicks)
	bad := event.Event{T: time.Second, Step: 2, Data: event.Alert{Source: "arousal", Message: "yes", Value: event.Float(math.NaN())}}
	huge := event.Event{T: 2 * time.Second, Step: 3, Data: event.Marker{Text: strings.Repeat("x", maxEventPayload)}}
	farWall := ev(event.KindMarker, 4, 3*time.Second, nil)
	farWall.Wall = time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, playThroughBus(t, w, []bus.Msg{{Event: &bad}, {Event: &huge}, {Event: &farWall}}))
	require.NoError(t, w.Close())

	got, err := Open(w.Dir())
	require.NoError(t, err)
	require.Len(t, got.Events, 3)
	e := got.Events[0]
	assert.Equal(t, event.KindAlert, e.Kind(), "the event keeps its kind")
	assert.Contains(t, event.Fields(e.Data)["record_error"], "unsupported value: NaN")
	assert.Equal(t, 2, e.Step)
	assert.Equal(t, event.KindMarker, got.Events[1].Kind())
	assert.Contains(t, event.Fields(got.Events[1].Data)["record_error"], "more than the 1048576 allowed")
	assert.Equal(t, 3, got.Events[1].Step)
	assert.Equal(t, 4, got.Events[2].Step)
	assert.True(t, got.Events[2].Wall.IsZero())
}

func TestSampleChannelCountIsClamped(t *testing.T) {
	w := newTestWriter(t, testMeta(), noTicks)
	over := sensors.Sample{Device: "d", N: 99}
	neg := sensors.Sample{Device: "e", N: -3}
	require.NoError(t, playThroughBus(t, w, []bus.Msg{{Sample: &over}, {Sample: &neg}}))
	require.NoError(t, w.Close())
	got, err := Open(w.Dir())
	require.NoError(t, err)
	assert.Equal(t, sensors.MaxChannels, got.Samples["d"][0].N)
	assert.Equal(t, 0, got.Samples["e"][0].N)
}

func TestBatchesFollowSampleTime(t *testing.T) {
	for _, tc := range []struct {
		name    string
		samples []sensors.Sample
		records int
	}{
		{"100 ms per record", genSamples("d", 1000, 2, 1000), 10},
		{"channel count change starts a record", func() []sensors.Sample {
			s := genSamples("d", 10, 2, 1000)
			for i := 5; i < len(s); i++ {
				s[i].N = 3
			}
			return s
		}(), 2},
		{"unstamped samples are capped", genSamples("d", maxBatch+1, 1, math.Inf(1)), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newTestWriter(t, testMeta(), noTicks)
			var msgs []bus.Msg
			for i := range tc.samples {
				msgs = append(msgs, bus.Msg{Sample: &tc.samples[i]})
			}
			require.NoError(t, playThroughBus(t, w, msgs))
			require.NoError(t, w.Close())
			got, err := Open(w.Dir())
			require.NoError(t, err)
			assert.Equal(t, tc.records, got.Records)
			assert.Equal(t, tc.samples, got.Samples["d"])
		})
	}
}

func TestSyncLoopMakesDataDurableWithoutClose(t *testing.T) {
	synced := make(chan int, 100)
	w := newTestWriter(t, testMeta(), SyncEvery(5*time.Millisecond), func(o *options) {
		o.onSync = func(n int) {
			select {
			case synced <- n:
			default:
			}
		}
	})
	e := ev(event.KindMarker, 1, time.Second, map[string]any{"note": "craving"})
	s := genSamples("d", 3, 2, 1000)
	w.handle(bus.Msg{Event: &e})
	for i := range s {
		w.handle(bus.Msg{Sample: &s[i]})
	}
	// The partly filled batch must be written by the ticker, not wait for
	// more samples.
	require.Eventually(t, func() bool {
		select {
		case n := <-synced:
			return n == 2
		default:
			return false
		}
	}, 5*time.Second, time.Millisecond)
	got, err := Open(w.Dir())
	require.NoError(t, err)
	assert.Nil(t, got.Recovered)
	assert.Equal(t, []event.Event{e}, got.Events)
	assert.Equal(t, s, got.Samples["d"])
}

// fakeDisk is a disk that fills up. Its files share limit bytes; a write
// past it fails like a full disk (a short write first, then ENOSPC). Syncs
// fail with syncErr (EIO if nil) once syncsLeft are used up. A test
// changes it (set) to free space or make syncs work again.
type fakeDisk struct {
	mu            sync.Mutex
	limit         int64
	written       int64
	truncateFails bool
	syncsLeft     int
	syncErr       error
	files         []string // the files it holds, in creation order
}

// wrap is options.wrap.
func (d *fakeDisk) wrap(path string, f file) file {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.files = append(d.files, filepath.Base(path))
	return &faultyFile{file: f, d: d}
}

func (d *fakeDisk) set(f func(d *fakeDisk)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d)
}

// full makes every write from now on fail (room for nothing more).
func (d *fakeDisk) full() { d.set(func(d *fakeDisk) { d.limit = d.written }) }

// free makes room for everything again.
func (d *fakeDisk) free() { d.set(func(d *fakeDisk) { d.limit = math.MaxInt64 }) }

func (d *fakeDisk) isFull() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.written >= d.limit
}

// on is the Option that puts a writer's files on the disk.
func (d *fakeDisk) on() Option { return func(o *options) { o.wrap = d.wrap } }

// faultyFile is a file on a fakeDisk.
type faultyFile struct {
	file
	d *fakeDisk
}

func (f *faultyFile) Write(p []byte) (int, error) {
	d := f.d
	d.mu.Lock()
	defer d.mu.Unlock()
	room := max(d.limit-d.written, 0)
	if int64(len(p)) <= room {
		n, err := f.file.Write(p)
		d.written += int64(n)
		return n, err
	}
	n, err := f.file.Write(p[:room])
	d.written += int64(n)
	if err == nil {
		err = syscall.ENOSPC
	}
	return n, err
}

func (f *faultyFile) Sync() error {
	d := f.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.syncsLeft <= 0 {
		if d.syncErr != nil {
			return d.syncErr
		}
		return syscall.EIO
	}
	d.syncsLeft--
	return f.file.Sync()
}

func (f *faultyFile) Truncate(size int64) error {
	f.d.mu.Lock()
	fails := f.d.truncateFails
	f.d.mu.Unlock()
	if fails {
		return syscall.EIO
	}
	return f.file.Truncate(size)
}

// TestWriteErrorStopsCleanly: a disk that fills up and stays full. What
// was written is intact, what came after is counted, not written, and
// session.json says why (see outage_test.go for a disk that frees up).
func TestWriteErrorStopsCleanly(t *testing.T) {
	for _, tc := range []struct {
		name          string
		limit         int64
		truncateFails bool
		torn          bool
	}{
		{"fails in the first flush", 30_000, false, false},
		{"fails in a later flush", 150_000, false, false},
		{"fails and cannot cut back", 150_000, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			disk := &fakeDisk{limit: tc.limit, truncateFails: tc.truncateFails, syncsLeft: math.MaxInt}
			w := newTestWriter(t, testMeta(), noTicks, disk.on())
			var events []event.Event
			var msgs []bus.Msg
			for i := 0; i < 400; i++ {
				e := ev(event.KindMarker, i, time.Duration(i)*time.Millisecond, map[string]any{"text": strings.Repeat("p", 1000)})
				events = append(events, e)
				msgs = append(msgs, bus.Msg{Event: &e})
			}
			// 400 events of ~1.1 kB: the buffer reaches the file every 64 kB,
			// so the disk fills while Run is recording.
			runErr := playThroughBus(t, w, msgs)
			require.Error(t, runErr)
			assert.ErrorIs(t, runErr, syscall.ENOSPC)
			closeErr := w.Close()
			require.Error(t, closeErr)
			assert.ErrorIs(t, closeErr, syscall.ENOSPC)
			assert.Contains(t, closeErr.Error(), filepath.Join(w.Dir(), DataFile))
			assert.Contains(t, closeErr.Error(), "everything before byte")
			assert.Equal(t, closeErr, w.Err())

			got, err := Open(w.Dir())
			require.NoError(t, err)
			assert.False(t, got.Complete)
			assert.Contains(t, got.Error, "no space left on device")
			require.NotEmpty(t, got.Events)
			assert.Equal(t, events[:len(got.Events)], got.Events, "what was written is intact and in order")
			assert.Less(t, len(got.Events), len(events))
			assert.Equal(t, int64(len(got.Events)), got.Counts.Events)
			assert.Positive(t, got.Counts.Lost, "messages after the error are counted, not written")
			require.Len(t, got.Outages, 1)
			assert.True(t, got.Outages[0].Resumed.IsZero(), "the disk never had room again")
			assert.Equal(t, got.Counts.Lost, got.Outages[0].Lost.Events)
			assert.NoFileExists(t, filepath.Join(w.Dir(), "data.2.rec"), "no segment is left half made")
			// Whole records up to the failing byte were kept.
			assert.LessOrEqual(t, got.Counts.Bytes, tc.limit)
			assert.Greater(t, got.Counts.Bytes, tc.limit-2000)
			if tc.torn {
				require.NotNil(t, got.Recovered)
				assert.Positive(t, got.Recovered.TornBytes)
			} else {
				assert.Nil(t, got.Recovered)
				st, err := os.Stat(filepath.Join(w.Dir(), DataFile))
				require.NoError(t, err)
				assert.Equal(t, got.Counts.Bytes, st.Size())
			}
		})
	}
}

func TestFsyncError(t *testing.T) {
	failing := func(syncs int) Option {
		return (&fakeDisk{limit: math.MaxInt64, syncsLeft: syncs}).on()
	}
	t.Run("at creation leaves no folder", func(t *testing.T) {
		root := t.TempDir()
		_, err := Create(root, testMeta(), protoSrc, failing(0))
		require.ErrorIs(t, err, syscall.EIO)
		entries, err := os.ReadDir(root)
		require.NoError(t, err)
		assert.Empty(t, entries)
	})
	// Syncs keep failing, so recording never resumes in a new file.
	t.Run("while recording stops it", func(t *testing.T) {
		w := newTestWriter(t, testMeta(), noTicks, failing(1))
		e := ev(event.KindMarker, 1, 0, nil)
		w.handle(bus.Msg{Event: &e})
		err := w.sync()
		require.ErrorIs(t, err, syscall.EIO)
		assert.Contains(t, err.Error(), "fsync of "+filepath.Join(w.Dir(), DataFile))
		assert.Equal(t, err, w.Err())
		w.handle(bus.Msg{Event: &e})
		require.Equal(t, err, w.Close())
		s, oerr := Open(w.Dir())
		require.NoError(t, oerr)
		assert.False(t, s.Complete)
		assert.Contains(t, s.Error, "fsync")
		assert.Equal(t, []event.Event{e}, s.Events, "written before the failed fsync")
		assert.Equal(t, int64(1), s.Counts.Lost)
	})
}

func TestRunAfterCloseCountsLostMessages(t *testing.T) {
	w := newTestWriter(t, testMeta())
	require.NoError(t, w.Close())
	e := ev(event.KindMarker, 1, 0, nil)
	err := playThroughBus(t, w, []bus.Msg{{Event: &e}, {Event: &e}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "2 messages arrived after Close")
	got, err := Open(w.Dir())
	require.NoError(t, err)
	assert.Empty(t, got.Events)
}

// frames lists where each frame of a data.rec starts, reading the format
// independently of the package's reader; the last entry is the file size.
func frames(t *testing.T, data []byte) []int64 {
	t.Helper()
	require.Equal(t, magic, string(data[:8]))
	offs := []int64{8}
	for off := 8; off < len(data); {
		require.GreaterOrEqual(t, len(data)-off, 8)
		n := int(binary.LittleEndian.Uint32(data[off:]))
		off += 8 + n
		require.LessOrEqual(t, off, len(data))
		offs = append(offs, int64(off))
	}
	return offs
}

// TestSetExtra: a key added to session.json after the session closed
// reads back, and nothing else in the file changes.
func TestSetExtra(t *testing.T) {
	w := newTestWriter(t, testMeta())
	require.NoError(t, w.Close())
	dir := w.Dir()
	before, err := os.ReadFile(filepath.Join(dir, MetaFile))
	require.NoError(t, err)
	require.NoError(t, SetExtra(dir, "archive", map[string]any{"object": "a/b", "files": 3}))
	s, err := Open(dir)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"object": "a/b", "files": float64(3)}, s.Meta.Extra["archive"])
	assert.Equal(t, "clinic-a", s.Meta.Extra["site"], "the other extras kept")
	var a, b map[string]any
	after, err := os.ReadFile(filepath.Join(dir, MetaFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(before, &a))
	require.NoError(t, json.Unmarshal(after, &b))
	delete(b["extra"].(map[string]any), "archive")
	assert.Equal(t, a, b, "nothing else changed")
	left, _ := filepath.Glob(filepath.Join(dir, ".session-*"))
	assert.Empty(t, left, "no temporary file left")
	assert.Error(t, SetExtra(t.TempDir(), "x", 1), "not a session folder")
}

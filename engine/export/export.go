// Package export turns a recorded session into files researchers' tools
// read: XDF (as LabRecorder writes it), a BIDS dataset, or CSV for
// spreadsheets.
//
// Every format keeps the session clock: times are seconds since the session
// started (Meta.Start on the wall clock), the same time base as the
// recording, so samples, cue onsets and ratings stay aligned across formats.
//
//   - XDF (one file): one double64 stream per device (channel labels, units
//     and types in desc/channels) and one string marker stream,
//     "cueroom-events", whose every sample is one event as a JSON object
//     {"kind":…,"step":…,"data":{…}} (JSON rather than "kind:cue" strings so
//     no field is lost; the cue manifest is in that stream's desc/cues).
//     Samples chunks cover half a second each; ClockOffset chunks every 5 s
//     and Boundary chunks every 10 s, as LabRecorder writes them. All
//     streams share the session clock, so every clock offset is 0.
//   - BIDS (a folder): the session as sub-<label>/ses-<label>/beh/, see bids.go.
//   - CSV (a folder): one <device>_samples.csv per device, events.csv and
//     cues.csv (the cue manifest), see csv.go.
//
// The output is never overwritten: Write fails if it exists, and removes
// what it made if it fails part-way.
//
// WriteIndex exports a session read with record.OpenIndex: samples are
// streamed from data.rec device by device, so a 4 h session exports in
// about the memory of a 10-minute one. Write takes a session already in
// memory (record.Open) and gives the same files.
package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
)

// Format names an export format.
type Format string

// The formats Write knows.
const (
	XDF  Format = "xdf"
	BIDS Format = "bids"
	CSV  Format = "csv"
)

// Formats lists the formats, for help texts.
var Formats = []Format{XDF, BIDS, CSV}

// FormatList names the formats for a message: "xdf, bids or csv".
func FormatList() string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Options tunes an export. The zero value is valid apart from Format.
type Options struct {
	Format Format

	// BIDS labels (letters and digits only); defaults "01", "01" and
	// "cueexposure".
	Subject, Session, Task string
	// Stimuli are where BIDS looks for the cue files named in the manifest
	// (paths relative to the protocol's folder), to copy them into
	// stimuli/. A file is copied only if its SHA-256 matches the manifest.
	Stimuli []fs.FS
	// PersonalStimuli also copies personalised cues (a patient's own
	// photos may identify them, so they are left out by default).
	PersonalStimuli bool
}

// Result says what an export wrote.
type Result struct {
	Files    []string // paths written, in order
	Warnings []string // what was left out or approximated, and why
}

func (r *Result) warnf(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}

// ErrExists is returned (wrapped) when the output path already exists.
var ErrExists = errors.New("already exists")

// ErrOption is returned (wrapped) for options that cannot be used.
var ErrOption = errors.New("unusable export option")

// optionError reads as its message and matches ErrOption.
type optionError struct{ msg string }

func (e optionError) Error() string { return e.msg }
func (e optionError) Unwrap() error { return ErrOption }

func optionErrorf(format string, args ...any) error {
	return optionError{fmt.Sprintf(format, args...)}
}

var labelRE = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// WriteIndex exports the session x indexes to out: a file for XDF, a new
// folder for BIDS and CSV. out must not exist. A damaged or unfinished
// session is exported as far as it was read, with a warning. Samples are
// read from data.rec as they are written out, so x must stay open.
func WriteIndex(x *record.Index, out string, o Options) (*Result, error) {
	if x == nil {
		return nil, errors.New("export: no session")
	}
	return write(indexView(x), out, o)
}

// Write exports s, a session read whole by record.Open, to out; see
// WriteIndex, which needs far less memory for the same files.
func Write(s *record.Session, out string, o Options) (*Result, error) {
	if s == nil {
		return nil, errors.New("export: no session")
	}
	return write(sessionView(s), out, o)
}

func write(v *view, out string, o Options) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if _, err := os.Lstat(out); err == nil {
		return nil, fmt.Errorf("export: %s %w; choose a new path (exports never overwrite)", out, ErrExists)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("export: %w", err)
	}
	v.dst = osDest{}
	res := &Result{}
	v.warnDamage(res)

	var err error
	if o.Format == XDF {
		err = v.write(out, o, res) // a single file, removed if it fails
	} else {
		err = inNewDir(out, func() error { return v.write(out, o, res) })
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// write writes the export through v.dst.
func (v *view) write(out string, o Options, res *Result) error {
	switch o.Format {
	case XDF:
		return writeXDFFile(v, out, res)
	case BIDS:
		return writeBIDS(v, out, o, res)
	default:
		return writeCSV(v, out, res)
	}
}

func (o *Options) check() error {
	switch o.Format {
	case XDF, BIDS, CSV:
	case "":
		return optionErrorf("export: no format given: choose xdf, bids or csv")
	default:
		return optionErrorf("export: unknown format %q: choose xdf, bids or csv", o.Format)
	}
	for _, l := range []struct {
		name string
		v    *string
		def  string
	}{{"subject", &o.Subject, "01"}, {"session", &o.Session, "01"}, {"task", &o.Task, "cueexposure"}} {
		if *l.v == "" {
			*l.v = l.def
		}
		if !labelRE.MatchString(*l.v) {
			return optionErrorf("export: %s label %q: BIDS labels are letters and digits only (e.g. %s)", l.name, *l.v, l.def)
		}
	}
	return nil
}

// inNewDir creates dir (failing if it exists, so nothing is overwritten),
// runs fill, and removes dir again if fill fails: a half export must not
// pass for a whole one.
func inNewDir(dir string, fill func() error) error {
	if err := os.Mkdir(dir, 0o750); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("export: %s %w; choose a new path (exports never overwrite)", dir, ErrExists)
		}
		return fmt.Errorf("export: %w", err)
	}
	if err := fill(); err != nil {
		os.RemoveAll(dir)
		return err
	}
	return nil
}

// dest is where an export's files go: the disk, or memory in the fuzz
// test (which must run thousands of exports a second).
type dest interface {
	create(path string) (io.WriteCloser, error) // fails if path exists
	mkdirAll(path string) error
	remove(path string)
}

type osDest struct{}

func (osDest) create(path string) (io.WriteCloser, error) { return createNew(path) }
func (osDest) remove(path string)                         { os.Remove(path) }
func (osDest) mkdirAll(path string) error {
	if err := os.MkdirAll(path, 0o750); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// createNew creates a file that must not exist yet.
func createNew(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("export: %s %w; choose a new path (exports never overwrite)", path, ErrExists)
	}
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return f, nil
}

// device is one device's stream as exported: its description (channels
// padded to the widest sample) and where its samples come from.
type device struct {
	stream   sensors.Stream
	n        int    // channels
	count    int    // samples
	fileName string // safe, unique file-name part
}

// regular says whether the device has a usable nominal rate.
func (d *device) regular() bool {
	return d.stream.Rate > 0 && !math.IsInf(d.stream.Rate, 0) && !math.IsNaN(d.stream.Rate)
}

// samples walks one device's samples in recorded order: a record.Cursor
// reading data.rec, or a slice in memory.
type samples interface {
	Next() bool
	Sample() *sensors.Sample // valid until the next call to Next
	Err() error
}

// source is where a session's samples and recorded event data come from:
// a *record.Index or a session in memory.
type source interface {
	Devices() []string // those with samples records
	Stats(device string) record.SampleStats
	open(device string) samples
	RecordedData(i int) (json.RawMessage, bool)
}

// view is the session as the writers need it.
type view struct {
	src       source
	meta      record.Meta
	streams   []sensors.Stream // announced on the bus, in recorded order
	recovered *record.Recovery
	complete  bool
	errText   string
	start     time.Time
	devices   []*device
	events    []event.Event
	manifest  []map[string]any
	cues      map[string]map[string]any // manifest by cue id
	warn      []string                  // found while building the view
	dst       dest
}

func indexView(x *record.Index) *view {
	return newView(indexSource{x}, x.Meta, x.Streams, x.Events, x.Recovered, x.Complete, x.Error)
}

func sessionView(s *record.Session) *view {
	return newView(sessionSource{s}, s.Meta, s.Streams, s.Events, s.Recovered, s.Complete, s.Error)
}

func newView(src source, meta record.Meta, streams []sensors.Stream, events []event.Event, rec *record.Recovery, complete bool, errText string) *view {
	v := &view{src: src, meta: meta, streams: streams, events: events, recovered: rec, complete: complete,
		errText: errText, start: meta.Start, cues: map[string]map[string]any{}}
	v.buildDevices()
	v.buildManifest()
	return v
}

// open starts reading a device's samples.
func (v *view) open(d *device) samples { return v.src.open(d.stream.Device) }

type indexSource struct{ *record.Index }

func (s indexSource) open(device string) samples { return s.Cursor(device) }

// sessionSource serves a session read whole.
type sessionSource struct{ s *record.Session }

func (s sessionSource) Devices() []string {
	var out []string
	for name := range s.s.Samples {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func (s sessionSource) Stats(device string) record.SampleStats {
	all := s.s.Samples[device]
	st := record.SampleStats{Count: len(all)}
	for i := range all {
		st.Width = max(st.Width, width(&all[i]))
	}
	return st
}

func (s sessionSource) open(device string) samples {
	return &sliceSamples{s: s.s.Samples[device], i: -1}
}

func (s sessionSource) RecordedData(i int) (json.RawMessage, bool) { return s.s.RecordedData(i) }

type sliceSamples struct {
	s []sensors.Sample
	i int
}

func (c *sliceSamples) Next() bool              { c.i++; return c.i < len(c.s) }
func (c *sliceSamples) Sample() *sensors.Sample { return &c.s[c.i] }
func (c *sliceSamples) Err() error              { return nil }

// buildDevices merges the streams known at start with those announced
// later (same device: the announcement wins, as the recorder does), then
// adds devices that have samples but no description.
func (v *view) buildDevices() {
	byName := map[string]*device{}
	add := func(st sensors.Stream) {
		if d := byName[st.Device]; d != nil {
			d.stream = st
			return
		}
		d := &device{stream: st}
		byName[st.Device] = d
		v.devices = append(v.devices, d)
	}
	for _, st := range v.meta.Streams {
		add(st)
	}
	for _, st := range v.streams {
		add(st)
	}
	for _, name := range v.src.Devices() { // sorted
		if byName[name] == nil {
			v.warn = append(v.warn, fmt.Sprintf("device %q has samples but no description of its channels: they are named ch1, ch2… with no units and no rate", name))
			add(sensors.Stream{Device: name})
		}
	}
	used := map[string]bool{}
	for _, d := range v.devices {
		st := v.src.Stats(d.stream.Device)
		d.count = st.Count
		d.n = max(len(d.stream.Channels), st.Width)
		d.stream.Channels = channels(d.stream.Channels, d.n)
		d.fileName = uniqueName(safeName(d.stream.Device, "device"), used)
	}
}

// width is how many values a sample holds, whatever its N claims.
func width(s *sensors.Sample) int { return max(0, min(s.N, sensors.MaxChannels)) }

// channels pads or names the channels so there are n with unique,
// non-empty labels.
func channels(in []sensors.Channel, n int) []sensors.Channel {
	out := make([]sensors.Channel, n)
	copy(out, in)
	used := map[string]bool{}
	for i := range out {
		if out[i].Label == "" {
			out[i].Label = "ch" + strconv.Itoa(i+1)
		}
		out[i].Label = uniqueName(out[i].Label, used)
	}
	return out
}

// uniqueName returns name, or name_2, name_3… if taken, and marks it taken.
func uniqueName(name string, used map[string]bool) string {
	u := name
	for i := 2; used[u]; i++ {
		u = name + "_" + strconv.Itoa(i)
	}
	used[u] = true
	return u
}

// safeName keeps letters, digits, '-' and '_' (device names come from the
// recording and must not steer a path), lower-cased.
func safeName(s, fallback string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 64 {
			break
		}
	}
	out := strings.Trim(b.String(), "_")
	if out == "" {
		return fallback
	}
	return out
}

// buildManifest reads the cue manifest, which session.json stores as any
// JSON: a list of objects is expected, anything else is reported.
func (v *view) buildManifest() {
	if v.meta.Manifest == nil {
		return
	}
	if err := v.meta.DecodeManifest(&v.manifest); err != nil {
		v.manifest = nil
		v.warn = append(v.warn, fmt.Sprintf("%s: the cue manifest is not a list of cues (%v); cue details are left out", record.MetaFile, err))
		return
	}
	kept := v.manifest[:0]
	for _, c := range v.manifest {
		if c == nil {
			continue
		}
		kept = append(kept, c)
		if id, ok := c["id"].(string); ok && v.cues[id] == nil {
			v.cues[id] = c
		}
	}
	v.manifest = kept
}

// warnDamage passes on what the reader found wrong with the session.
func (v *view) warnDamage(res *Result) {
	if v.recovered != nil {
		res.warnf("%s was damaged; what could be read was exported: %s", record.DataFile, v.recovered.Note)
	}
	if !v.complete {
		if v.errText != "" {
			res.warnf("the recording stopped on an error (%s); the export ends where it stopped", v.errText)
		} else {
			res.warnf("the session was not closed normally (a crash or power loss?); the export ends with the last record that was written")
		}
	}
	res.Warnings = append(res.Warnings, v.warn...)
}

// seconds is a session time in seconds.
func seconds(t time.Duration) float64 { return float64(t) / float64(time.Second) }

// fmtMicros writes a session time as seconds with microseconds, exactly
// (from the integer nanoseconds, so no float rounding shows).
func fmtMicros(t time.Duration) string { return string(appendMicros(nil, t)) }

func appendMicros(dst []byte, t time.Duration) []byte {
	us := int64(t) / 1000
	if r := int64(t) % 1000; r >= 500 {
		us++
	} else if r <= -500 {
		us--
	}
	if us < 0 {
		dst = append(dst, '-')
		us = -us // |MinInt64/1000| fits
	}
	dst = strconv.AppendInt(dst, us/1e6, 10)
	dst = append(dst, '.')
	return appendPadded(dst, us%1e6, 6)
}

// fmtFloat writes a value with the shortest decimal that reads back the
// same, without an exponent (spreadsheets and TSV readers like plain
// numbers).
func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// wallTime is the ISO 8601 UTC wall-clock time of a session time.
func (v *view) wallTime(t time.Duration) string {
	return v.start.Add(t).UTC().Round(time.Microsecond).Format("2006-01-02T15:04:05.000000Z")
}

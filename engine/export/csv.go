package export

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cueroom/cueroom/event"
)

// The CSV export, for spreadsheets: comma-separated, UTF-8, one header row,
// a dot as decimal separator, empty cells for no value.
//
//	<device>_samples.csv  wall_time_utc, session_s, seq, then "<label> (<unit>)" per channel
//	events.csv            every event as recorded: times, kind, step, cue, value, text, data (JSON)
//	cues.csv              the cue manifest: one row per cue with every field
//
// wall_time_utc is ISO 8601 in UTC with microseconds; session_s is seconds
// since the session started, on the clock that stamped everything.

func writeCSV(v *view, out string, res *Result) error {
	for _, d := range v.devices {
		if err := writeSamplesCSV(v, d, filepath.Join(out, d.fileName+"_samples.csv"), res); err != nil {
			return err
		}
	}
	if err := writeEventsCSV(v, filepath.Join(out, "events.csv"), res); err != nil {
		return err
	}
	return writeCuesCSV(v, filepath.Join(out, "cues.csv"), res)
}

// csvFile writes one new CSV file through fill.
func csvFile(d dest, path string, res *Result, fill func(w *csv.Writer, raw io.Writer) error) (err error) {
	f, err := d.create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("export: writing %s: %w", path, cerr)
		}
	}()
	bw := bufio.NewWriterSize(f, 64<<10)
	w := csv.NewWriter(bw)
	if err := fill(w, bw); err != nil {
		return fmt.Errorf("export: writing %s: %w", path, err)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("export: writing %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export: writing %s: %w", path, err)
	}
	res.Files = append(res.Files, path)
	return nil
}

func writeSamplesCSV(v *view, d *device, path string, res *Result) error {
	return csvFile(v.dst, path, res, func(w *csv.Writer, raw io.Writer) error {
		head := []string{"wall_time_utc", "session_s", "seq"}
		for _, c := range d.stream.Channels {
			h := c.Label
			if c.Unit != "" {
				h += " (" + c.Unit + ")"
			}
			head = append(head, h)
		}
		if err := w.Write(head); err != nil {
			return err
		}
		w.Flush()
		// The rows hold only numbers and times, which never need quoting:
		// they are appended by hand, as csv.Writer would allocate for each.
		var wall wallCache
		buf := make([]byte, 0, 64<<10)
		src := v.open(d)
		for src.Next() {
			s := src.Sample()
			buf = wall.append(buf, v.start, s.T)
			buf = append(buf, ',')
			buf = appendMicros(buf, s.T)
			buf = append(buf, ',')
			buf = strconv.AppendUint(buf, uint64(s.Seq), 10)
			k := width(s)
			for c := 0; c < d.n; c++ {
				buf = append(buf, ',')
				if c < k && !math.IsNaN(s.Values[c]) && !math.IsInf(s.Values[c], 0) {
					buf = strconv.AppendFloat(buf, s.Values[c], 'f', -1, 64)
				}
			}
			buf = append(buf, '\n')
			if len(buf) >= 60<<10 {
				if _, err := raw.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
		if err := src.Err(); err != nil {
			return err
		}
		_, err := raw.Write(buf)
		return err
	})
}

// wallCache formats wall times, reusing the part down to the second:
// 1000 samples share it.
type wallCache struct {
	sec    int64
	prefix []byte
	ok     bool
}

// append appends the ISO 8601 UTC time with microseconds.
func (c *wallCache) append(dst []byte, start time.Time, t time.Duration) []byte {
	w := start.Add(t).UTC().Round(time.Microsecond)
	if sec := w.Unix(); !c.ok || sec != c.sec {
		c.sec, c.ok = sec, true
		c.prefix = w.AppendFormat(c.prefix[:0], "2006-01-02T15:04:05.")
	}
	dst = append(dst, c.prefix...)
	dst = appendPadded(dst, int64(w.Nanosecond()/1000), 6)
	return append(dst, 'Z')
}

// appendPadded appends n (≥ 0) with at least width digits.
func appendPadded(dst []byte, n int64, width int) []byte {
	var d [20]byte
	i := len(d)
	for n > 0 || i > len(d)-width {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return append(dst, d[i:]...)
}

func writeEventsCSV(v *view, path string, res *Result) error {
	return csvFile(v.dst, path, res, func(w *csv.Writer, raw io.Writer) error {
		head := []string{"wall_time_utc", "session_s", "kind", "step", "step_id", "cue", "channel",
			"modality", "file", "value", "text", "by", "data"}
		if err := w.Write(head); err != nil {
			return err
		}
		stepIDs := map[int]string{}
		for _, e := range v.events {
			if d, ok := e.Data.(event.StepStart); ok && d.ID != "" {
				stepIDs[e.Step] = d.ID
			}
		}
		for i, e := range v.events {
			wall := v.wallTime(e.T)
			if !e.Wall.IsZero() {
				wall = e.Wall.UTC().Round(time.Microsecond).Format("2006-01-02T15:04:05.000000Z")
			}
			step := ""
			if e.Step >= 0 {
				step = strconv.Itoa(e.Step)
			}
			c, _ := csvColumns(e.Data)
			rec := []string{wall, fmtMicros(e.T), oneLine(string(e.Kind())), step, oneLine(stepIDs[e.Step]),
				c.cue, c.channel, c.modality, c.file, c.value, c.text, c.by, v.dataCell(i)}
			if err := w.Write(rec); err != nil {
				return err
			}
		}
		return nil
	})
}

func writeCuesCSV(v *view, path string, res *Result) error {
	return csvFile(v.dst, path, res, func(w *csv.Writer, raw io.Writer) error {
		keys := allManifestKeys(v.manifest)
		if len(keys) == 0 {
			keys = manifestOrder
		}
		if err := w.Write(keys); err != nil {
			return err
		}
		for _, c := range v.manifest {
			rec := make([]string, len(keys))
			for i, k := range keys {
				rec[i] = cell(c[k])
			}
			if err := w.Write(rec); err != nil {
				return err
			}
		}
		return nil
	})
}

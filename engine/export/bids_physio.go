package export

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/cueroom/cueroom/sensors"
)

// rateGroup is the devices sampled at one nominal rate.
type rateGroup struct {
	rate    float64
	devices []*device
}

func (b *bidsWriter) physio() error {
	var groups []*rateGroup
	for _, d := range b.v.devices {
		switch {
		case d.count == 0:
			continue
		case !d.regular():
			b.res.warnf("device %q has no nominal sampling rate, so it is not in the BIDS physio files (it is in the XDF and CSV exports)", d.stream.Device)
			continue
		case d.stream.Rate > maxRate:
			b.res.warnf("device %q claims %s Hz, more than the %s Hz a physiological sensor sends, so it is not in the BIDS physio files (it is in the XDF and CSV exports)",
				d.stream.Device, fmtFloat(d.stream.Rate), fmtFloat(maxRate))
			continue
		case d.n == 0:
			continue
		}
		var g *rateGroup
		for _, x := range groups {
			if x.rate == d.stream.Rate {
				g = x
			}
		}
		if g == nil {
			g = &rateGroup{rate: d.stream.Rate}
			groups = append(groups, g)
		}
		g.devices = append(g.devices, d)
	}
	used := map[string]bool{}
	for _, g := range groups {
		label := uniqueName(rateLabel(g.rate), used)
		if err := b.physioGroup(g, filepath.Join(b.beh, b.prefix+"_recording-"+label+"_physio")); err != nil {
			return err
		}
	}
	return nil
}

// rateLabel names a rate as a BIDS label: 1000 → "1000hz", 0.5 → "0p5hz".
func rateLabel(r float64) string {
	s := strings.ReplaceAll(strconv.FormatFloat(r, 'f', -1, 64), ".", "p")
	if len(s) > 20 {
		s = strconv.FormatFloat(math.Round(r), 'f', 0, 64)
	}
	return s + "hz"
}

// placedDevice is a device on the grid: its columns, its samples as they
// are placed, and then how they went.
type placedDevice struct {
	d    *device
	rows *gridRows
	cols []string
	p    placement
}

// Each device's samples are read twice, as streams: the first second of
// each for the grid's start (which also tells whether a device's first
// sample, and so the device, is on the grid at all: its columns), then all
// together, row by row, for the table. The warnings and the sidecar, which
// say how the samples went on the grid, follow the table.
func (b *bidsWriter) physioGroup(g *rateGroup, base string) error {
	first := make([]float64, len(g.devices))
	start := math.Inf(1)
	for i, d := range g.devices {
		dj := newDejitterer(b.v.open(d), d.count, g.rate)
		_, t, ok := dj.next()
		if err := dj.src.Err(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		first[i] = math.NaN()
		if ok {
			first[i] = t
			start = min(start, t)
		}
	}
	if math.IsInf(start, 1) {
		return nil
	}
	// Whole nanoseconds, as the recording's clock has: no float noise in
	// StartTime.
	start = math.Round(start*1e9) / 1e9
	var pds []*placedDevice
	used := map[string]bool{}
	for i, d := range g.devices {
		// A device whose first sample is cut (as placer.place would) has
		// no sample on the grid.
		if math.IsNaN(first[i]) || (first[i]-start)*g.rate > float64(maxFill(g.rate)) {
			continue
		}
		pd := &placedDevice{d: d, rows: b.v.gridRows(d, start, g.rate)}
		for _, c := range d.stream.Channels {
			col := safeName(c.Label, "ch")
			if len(g.devices) > 1 {
				col = safeName(d.stream.Device, "device") + "_" + col
			}
			pd.cols = append(pd.cols, uniqueName(col, used))
		}
		pds = append(pds, pd)
	}
	if len(pds) > 0 {
		if err := b.physioTSV(pds, base+".tsv.gz"); err != nil {
			return err
		}
	}
	tol := gapTolerance(g.rate)
	k := 0
	for i, d := range g.devices {
		name := d.stream.Device
		var p placement
		if k < len(pds) && pds[k].d == d {
			p = pds[k].rows.pl.p
			pds[k].p = p
			k++
		} else if !math.IsNaN(first[i]) {
			p = placement{cut: d.count, cutAt: first[i]}
		}
		if p.cut > 0 {
			b.res.warnf("%s: %d samples from %.3f s on follow a gap of more than %.0f s and are left out of %s (they are in the XDF and CSV exports)",
				name, p.cut, p.cutAt, float64(maxFill(g.rate))/g.rate, filepath.Base(base)+".tsv.gz")
		}
		if p.placed == 0 {
			continue
		}
		if p.gaps > 0 {
			b.res.warnf("%s: %d gap(s) in the recording (%d samples' time in all) are n/a rows in %s",
				name, p.gaps, p.missing, filepath.Base(base)+".tsv.gz")
		}
		if p.maxErr > tol+1/g.rate {
			b.res.warnf("%s: on the %s Hz grid its samples are up to %.3f s from their recorded times (the device ran faster than its nominal rate); use the XDF or CSV export for exact times",
				name, fmtFloat(g.rate), p.maxErr)
		}
	}
	if len(pds) == 0 {
		return nil
	}
	return b.physioJSON(pds, g.rate, start, base+".json")
}

// gridRows walks a device's samples with their rows on the grid.
type gridRows struct {
	dj  *dejitterer
	pl  *placer
	s   *sensors.Sample
	row int64
}

func (v *view) gridRows(d *device, start, rate float64) *gridRows {
	return &gridRows{dj: newDejitterer(v.open(d), d.count, rate), pl: newPlacer(start, rate, d.count)}
}

// next moves to the next placed sample; false at the end or at a cut.
func (g *gridRows) next() bool {
	s, t, ok := g.dj.next()
	if !ok {
		return false
	}
	g.s = s
	g.row, ok = g.pl.place(t)
	return ok
}

func (g *gridRows) err() error { return g.dj.src.Err() }

// physioTSV writes rows from 0 until every device's samples are placed; a
// device with no sample in a row gets n/a.
func (b *bidsWriter) physioTSV(pds []*placedDevice, path string) (err error) {
	f, err := b.v.dst.create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("export: writing %s: %w", path, cerr)
		}
	}()
	bw := bufio.NewWriterSize(f, 64<<10)
	// Level 1: the physiology compresses nearly as well and several times
	// faster than at the default level.
	zw, _ := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	rows := make([]*gridRows, len(pds))
	more := make([]bool, len(pds))
	left := 0 // devices with samples still to place
	for k, pd := range pds {
		rows[k] = pd.rows
		if more[k] = rows[k].next(); more[k] {
			left++
		}
	}
	line := make([]byte, 0, 64<<10)
	for row := int64(0); left > 0; row++ {
		for k, pd := range pds {
			if k > 0 {
				line = append(line, '\t')
			}
			if more[k] && rows[k].row == row {
				s := rows[k].s
				w := width(s)
				for c := 0; c < pd.d.n; c++ {
					if c > 0 {
						line = append(line, '\t')
					}
					if c < w && !math.IsNaN(s.Values[c]) && !math.IsInf(s.Values[c], 0) {
						line = strconv.AppendFloat(line, s.Values[c], 'f', -1, 64)
					} else {
						line = append(line, "n/a"...)
					}
				}
				if more[k] = rows[k].next(); !more[k] {
					left--
				}
			} else {
				for c := 0; c < pd.d.n; c++ {
					if c > 0 {
						line = append(line, '\t')
					}
					line = append(line, "n/a"...)
				}
			}
		}
		line = append(line, '\n')
		if len(line) >= 60<<10 {
			if _, err := zw.Write(line); err != nil {
				return fmt.Errorf("export: writing %s: %w", path, err)
			}
			line = line[:0]
		}
	}
	for _, r := range rows {
		if err := r.err(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	if _, err := zw.Write(line); err != nil {
		return fmt.Errorf("export: writing %s: %w", path, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("export: writing %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export: writing %s: %w", path, err)
	}
	b.res.Files = append(b.res.Files, path)
	return nil
}

func (b *bidsWriter) physioJSON(pds []*placedDevice, rate, start float64, path string) error {
	var cols []string
	for _, pd := range pds {
		cols = append(cols, pd.cols...)
	}
	side := obj{
		{"SamplingFrequency", rate},
		{"StartTime", start},
		{"Columns", cols},
	}
	for _, pd := range pds {
		for i, c := range pd.d.stream.Channels {
			desc := fmt.Sprintf("%s from device %s", firstNonEmpty(c.Type, c.Label), pd.d.stream.Device)
			side = append(side, kv{pd.cols[i], obj{{"Description", desc}, {"Units", c.Unit}}})
		}
	}
	devs := obj{}
	for _, pd := range pds {
		s := pd.d.stream
		settings := obj{}
		keys := make([]string, 0, len(s.Settings))
		for k := range s.Settings {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			settings = append(settings, kv{k, s.Settings[k]})
		}
		devs = append(devs, kv{s.Device, obj{
			{"Kind", s.Kind}, {"Settings", settings},
			{"Samples", pd.p.placed}, {"GapRows", pd.p.missing},
			{"MaxTimingErrorSeconds", math.Round(pd.p.maxErr*1e6) / 1e6},
		}})
	}
	side = append(side,
		kv{"SoftwareVersions", b.v.meta.Software},
		kv{"Devices", devs},
		kv{"TimingNote", "Rows are the recorded samples in order on the grid StartTime + row/SamplingFrequency (seconds since the session started); each sample's recorded time (the device's clock on the session clock) is de-jittered, and lost samples leave n/a rows; MaxTimingErrorSeconds is the largest move. See README."},
	)
	return b.writeJSON(path, side)
}

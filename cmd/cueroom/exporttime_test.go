package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/export/xdftest"
	"github.com/cueroom/cueroom/engine/record"
)

// Issue 12, point 1: in a clean session, the times an export carries are
// times a researcher can use as they are. The XDF's regular streams must
// be one segment by pyxdf's break rule (else pyxdf fits a line per piece
// and the pieces' clocks disagree) with every step close to one period;
// the BIDS grid must move no sample by more than half a period. The
// figures are logged for the README.

// stepStats summarises the steps between consecutive time stamps.
type stepStats struct {
	n        int     // time stamps
	min, max float64 // seconds
	bad      int     // steps outside ±50% of the period (or not increasing)
	firstBad int     // index of the first such step's later sample, -1 if none
	residual float64 // seconds: the largest distance from the least-squares line, what pyxdf's de-jittering moves a sample by
	rate     float64 // Hz: (n−1) / (last − first)
}

func steps(times []float64, period float64) stepStats {
	st := stepStats{n: len(times), min: math.Inf(1), max: math.Inf(-1), firstBad: -1}
	for i := 1; i < len(times); i++ {
		d := times[i] - times[i-1]
		st.min, st.max = min(st.min, d), max(st.max, d)
		if !(d > 0) || math.Abs(d-period) > 0.5*period {
			if st.bad == 0 {
				st.firstBad = i
			}
			st.bad++
		}
	}
	if len(times) > 1 {
		st.rate = float64(len(times)-1) / (times[len(times)-1] - times[0])
		st.residual = lineResidual(times)
	}
	return st
}

// lineResidual fits t_i = a + b·i by least squares (as pyxdf's
// _jitter_removal does per segment) and returns the largest |t_i − fit|.
// Index and time are centred first so a long session loses no precision.
func lineResidual(times []float64) float64 {
	n := float64(len(times))
	mi, mt := (n-1)/2, 0.0
	for _, t := range times {
		mt += t
	}
	mt /= n
	var sit, sii float64
	for i, t := range times {
		di := float64(i) - mi
		sit += di * (t - mt)
		sii += di * di
	}
	b := sit / sii
	worst := 0.0
	for i, t := range times {
		worst = max(worst, math.Abs(t-(mt+b*(float64(i)-mi))))
	}
	return worst
}

// TestExportTimesXDFOneSegment: every regular stream of the clean shared
// session is one segment for pyxdf, strictly increasing, each step within
// ±50% of the nominal period.
func TestExportTimesXDFOneSegment(t *testing.T) {
	p := recordedShort(t)
	out := filepath.Join(t.TempDir(), "s.xdf")
	require.NoError(t, cmdExport([]string{p.dir, "--format", "xdf", "--out", out}))
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	x, err := xdftest.Read(b)
	require.NoError(t, err)

	regular := 0
	for _, id := range x.Order {
		s := x.Streams[id]
		rate := s.Info.NominalSrate
		if rate == 0 {
			continue // the markers and irregular streams: pyxdf does not segment them
		}
		regular++
		t.Run(s.Info.Name, func(t *testing.T) {
			require.Greater(t, len(s.Times), 1, "a regular stream with samples")
			period := 1 / rate
			segs := xdftest.Segments(s.Times, rate)
			st := steps(s.Times, period)
			t.Logf("XDF %s at %g Hz: %d samples, %d pyxdf segment(s); steps %.6f–%.6f s (period %.6f s), %d outside ±50%%; effective rate %.4f Hz; pyxdf's line fit moves a sample by at most %.3f ms",
				s.Info.Name, rate, st.n, segs, st.min, st.max, period, st.bad, st.rate, st.residual*1e3)
			assert.Equal(t, 1, segs, "pyxdf loads a clean session's stream as one segment")
			if st.bad > 0 {
				i := st.firstBad
				t.Errorf("%d step(s) not strictly increasing within ±50%% of %.6f s; the first: sample %d at %.6f s, %.6f s after the one before",
					st.bad, period, i, s.Times[i], s.Times[i]-s.Times[i-1])
			}
		})
	}
	require.Positive(t, regular, "the session has a regular device stream")
}

// TestExportTimesBIDSHalfPeriod: in each BIDS physio sidecar, every
// device's MaxTimingErrorSeconds (grid row time against the sample's
// de-jittered time) is at most half a period; and, measured here against
// the recording itself, no sample's row time is further than half a period
// from its recorded time.
func TestExportTimesBIDSHalfPeriod(t *testing.T) {
	p := recordedShort(t)
	s, err := record.Open(p.dir)
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "bids")
	require.NoError(t, cmdExport([]string{p.dir, "--format", "bids", "--out", out}))
	sidecars, err := filepath.Glob(filepath.Join(out, "sub-01", "ses-01", "beh", "*_physio.json"))
	require.NoError(t, err)
	require.NotEmpty(t, sidecars, "a physio file for the device")

	devices := 0
	for _, path := range sidecars {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		var side struct {
			SamplingFrequency float64
			StartTime         float64
			Devices           map[string]struct {
				Samples               int
				GapRows               int
				MaxTimingErrorSeconds *float64
			}
		}
		require.NoError(t, json.Unmarshal(b, &side), "%s", path)
		require.Positive(t, side.SamplingFrequency, "%s", path)
		half := 0.5 / side.SamplingFrequency
		names := make([]string, 0, len(side.Devices))
		for name := range side.Devices {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			d := side.Devices[name]
			devices++
			require.NotNil(t, d.MaxTimingErrorSeconds, "%s: %s has MaxTimingErrorSeconds", filepath.Base(path), name)
			maxErr := *d.MaxTimingErrorSeconds
			// Independently: row k is sample k when there are no gap rows,
			// and a device alone in its file starts the grid at row 0.
			recorded := s.Samples[name]
			moved := math.NaN()
			if len(side.Devices) == 1 && d.GapRows == 0 && d.Samples == len(recorded) {
				moved = 0
				for k, smp := range recorded {
					moved = max(moved, math.Abs(side.StartTime+float64(k)/side.SamplingFrequency-smp.T.Seconds()))
				}
			}
			t.Logf("BIDS %s at %g Hz: %d samples, %d gap rows; MaxTimingErrorSeconds %.6f s (half a period: %.6f s); grid row against recorded time, at most %.6f s",
				name, side.SamplingFrequency, d.Samples, d.GapRows, maxErr, half, moved)
			assert.Zero(t, d.GapRows, "%s: a clean session has no gap rows", name)
			assert.LessOrEqual(t, maxErr, half, "%s: the grid moves no sample by more than half a period", name)
			if !math.IsNaN(moved) {
				assert.LessOrEqual(t, moved, half, "%s: no row is more than half a period from its sample's recorded time", name)
			}
		}
	}
	require.Positive(t, devices, "the sidecars describe the devices")
}

package physio_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/physio"
	"github.com/cueroom/cueroom/sensors/physio/internal/testsig"
)

// stream describes a device with the given channel types, in order.
func stream(rate float64, types ...string) sensors.Stream {
	st := sensors.Stream{Device: "test", Kind: "test", Rate: rate}
	for _, ty := range types {
		st.Channels = append(st.Channels, sensors.Channel{Label: lower(ty), Type: ty})
	}
	return st
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// feed pushes the columns (one per channel) as samples stamped at their
// nominal time, through edit (which may change a sample) if not nil.
func feed(t *testing.T, p *physio.Processor, rate float64, cols [][]float64, edit func(i int, s *sensors.Sample)) []physio.Derived {
	t.Helper()
	var out []physio.Derived
	n := len(cols[0])
	for i := range n {
		s := sensors.Sample{Device: "test", T: time.Duration(float64(i) / rate * float64(time.Second)), Seq: uint32(i), N: len(cols)}
		for c := range cols {
			s.Values[c] = cols[c][i]
		}
		if edit != nil {
			edit(i, &s)
		}
		out = p.Push(s, out)
	}
	return out
}

func newProc(t *testing.T, st sensors.Stream, cfg physio.Config) *physio.Processor {
	t.Helper()
	p, err := physio.New(st, cfg)
	require.NoError(t, err)
	return p
}

func ofKind(ds []physio.Derived, k physio.Kind, source string) []physio.Derived {
	var out []physio.Derived
	for _, d := range ds {
		if d.Kind == k && (source == "" || d.Source == source) {
			out = append(out, d)
		}
	}
	return out
}

func seconds(ds []physio.Derived) []float64 {
	var out []float64
	for _, d := range ds {
		out = append(out, d.T.Seconds())
	}
	return out
}

// latencies returns Known − T of each value, in seconds.
func latencies(ds []physio.Derived) (maxLat, mean float64) {
	for _, d := range ds {
		l := (d.Known - d.T).Seconds()
		maxLat = max(maxLat, l)
		mean += l
	}
	return maxLat, mean / math.Max(1, float64(len(ds)))
}

func recording(seed uint64, rate float64, dur time.Duration, cfg testsig.Config) testsig.Rec {
	cfg.Seed, cfg.Rate, cfg.Duration = seed, rate, dur
	return testsig.Make(cfg)
}

func after(ds []physio.Derived, t time.Duration) []physio.Derived {
	var out []physio.Derived
	for _, d := range ds {
		if d.T >= t {
			out = append(out, d)
		}
	}
	return out
}

package analysis

import (
	"fmt"
	"iter"
	"math"
	"sort"
	"strings"

	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/physio/offline"
)

// signals are a sensor's channels laid out for the offline analysis.
type signals struct {
	stream sensors.Stream  // the device the samples are laid out at (beats come from it when it has them)
	eda    *sensors.Stream // where skin conductance came from when another device measured it
	in     offline.Input
	t0     float64 // session time of sample 0, s
	gaps   int     // samples missing (NaN) where the sensor's data was lost
	n      int     // samples laid out (once streamed)
}

// index is the sample at session time t; time is the session time of a
// (fractional) sample index, or of seconds from sample 0.
func (g *signals) index(t float64) int64          { return int64(math.Round((t - g.t0) * g.in.Rate)) }
func (g *signals) time(fromFirst float64) float64 { return g.t0 + fromFirst }

// devices names the device(s) the analysis used.
func (g *signals) devices() string {
	if g.eda != nil {
		return g.stream.Device + " + " + g.eda.Device
	}
	return g.stream.Device
}

// edaDevice is the device skin conductance came from.
func (g *signals) edaDevice() string {
	if g.eda != nil {
		return g.eda.Device
	}
	return g.stream.Device
}

// layoutSignals lays a recording's samples out at the device's nominal
// rate: arrival times come in bursts, and the jitter does not matter at
// the windows used (seconds). Where the sensor was lost (a gap event, or
// samples more than five seconds behind the clock: a device slower than it
// says) the missing span is NaN, so what follows stays on the session clock.
//
// Nothing is read yet: rows streams the laid-out samples (the analysis
// never holds a whole channel).
func layoutSignals(info Info, evs []event.Event) (*layout, error) {
	beat, eda := physiologicalStreams(info.Streams)
	st := beat
	if st == nil {
		st = eda
	}
	if st == nil {
		return nil, ErrNoSignal
	}
	l, err := layoutStream(info, evs, *st)
	if err != nil {
		return nil, err
	}
	// An oximeter for the heart and an Arduino for the skin: the skin
	// conductance is brought onto the heart device's samples.
	if l.col[edaCol] < 0 && eda != nil && eda.Device != st.Device {
		h, err := layoutStream(info, evs, *eda)
		if err != nil && !noSamples(err) {
			return nil, err
		}
		if err == nil && h.col[edaCol] >= 0 {
			l.onto, l.g.in.EDAName, l.g.eda = h, h.g.in.EDAName, eda
		}
	}
	return l, nil
}

// errNoSamples: a device was announced but recorded nothing.
type errNoSamples string

func (e errNoSamples) Error() string { return fmt.Sprintf("device %s recorded no samples", string(e)) }

func noSamples(err error) bool { _, ok := err.(errNoSamples); return ok }

// The columns of a laid-out row.
const (
	ecgCol = iota
	ppgCol
	edaCol
)

// row is one laid-out sample: ECG, PPG and EDA (NaN when missing).
type row [3]float64

// layout is one device's samples laid out, read as they are streamed.
type layout struct {
	g       *signals
	st      sensors.Stream
	col     [3]int // the device's channel of each row column; -1: none
	gapEnds []float64
	onto    *layout // skin conductance from another device, resampled onto this one
}

// layoutStream prepares one device's layout.
func layoutStream(info Info, evs []event.Event, st sensors.Stream) (*layout, error) {
	ext := info.Samples[st.Device]
	if ext.N == 0 {
		return nil, errNoSamples(st.Device)
	}
	l := &layout{g: &signals{stream: st, in: offline.Input{Rate: st.Rate}, t0: ext.First.Seconds()}, st: st, col: [3]int{-1, -1, -1}}
	for _, e := range evs {
		// A gap recorded without its times decodes with gap_end 0, which
		// marks the first sample: no effect.
		if d, ok := e.Data.(event.Gap); ok && d.Device == st.Device {
			l.gapEnds = append(l.gapEnds, float64(d.End))
		}
	}
	sort.Float64s(l.gapEnds)
	for i, c := range st.Channels {
		switch strings.ToUpper(c.Type) {
		case "ECG":
			l.col[ecgCol], l.g.in.ECGName = i, c.Label
		case "PPG":
			l.col[ppgCol], l.g.in.PPGName = i, c.Label
		case "EDA":
			l.col[edaCol], l.g.in.EDAName = i, c.Label
		}
	}
	return l, nil
}

// has says whether rows carry column c (EDA also when resampled from
// another device).
func (l *layout) has(c int) bool { return l.col[c] >= 0 || c == edaCol && l.onto != nil }

// rows streams the laid-out samples, counting them and the gap samples in
// l.g; EDA resampled from l.onto when set.
func (l *layout) rows(rec Recording) iter.Seq2[row, error] {
	own := l.ownRows(rec)
	if l.onto == nil {
		return own
	}
	return func(yield func(row, error) bool) {
		next, stop := iter.Pull2(l.onto.ownRows(rec))
		defer stop()
		rs := &resampler{next: func() (float64, bool, error) {
			r, err, ok := next()
			return r[edaCol], ok, err
		}, rate: l.onto.g.in.Rate, t0: l.onto.g.t0}
		i := 0
		for r, err := range own {
			if err != nil {
				yield(r, err)
				return
			}
			v, err := rs.at(l.g.t0 + float64(i)/l.g.in.Rate)
			if err != nil {
				yield(r, err)
				return
			}
			r[edaCol] = v
			i++
			if !yield(r, nil) {
				return
			}
		}
	}
}

// ownRows lays out the device's own samples.
func (l *layout) ownRows(rec Recording) iter.Seq2[row, error] {
	return func(yield func(row, error) bool) {
		g := l.g
		g.n, g.gaps = 0, 0
		nan := row{math.NaN(), math.NaN(), math.NaN()}
		rate := l.st.Rate
		// A time hours away is corrupt, not a gap: never fill that much.
		maxFill := int(6 * 3600 * rate)
		pos, next := 0, 0
		for smp, err := range rec.Samples(l.st.Device) {
			if err != nil {
				yield(nan, err)
				return
			}
			t := smp.T.Seconds()
			want := int(math.Round((t - g.t0) * rate))
			resync := want-pos > int(5*rate)
			for next < len(l.gapEnds) && t >= l.gapEnds[next]-0.01 {
				resync, next = true, next+1
			}
			if resync && want > pos && want-pos <= maxFill {
				for ; pos < want; pos++ {
					g.gaps++
					g.n++
					if !yield(nan, nil) {
						return
					}
				}
			}
			r := nan
			for c, ch := range l.col {
				if ch >= 0 && ch < smp.N {
					r[c] = smp.Values[ch]
				}
			}
			pos++
			g.n++
			if !yield(r, nil) {
				return
			}
		}
	}
}

// resampler interpolates a laid-out skin conductance series (pulled from
// next, sample k at t0 + k/rate) linearly at increasing times: NaN outside
// it and across its gaps. It holds two samples.
type resampler struct {
	next     func() (float64, bool, error)
	rate, t0 float64
	pulled   int        // samples pulled so far
	last     [2]float64 // samples pulled−2 and pulled−1
	ended    bool
}

// at is the series at time t (not before an earlier call's t).
func (r *resampler) at(t float64) (float64, error) {
	u := (t - r.t0) * r.rate
	k := int(math.Floor(u))
	if k < 0 {
		return math.NaN(), nil
	}
	for r.pulled < k+2 && !r.ended {
		v, ok, err := r.next()
		switch {
		case err != nil:
			return 0, err
		case !ok:
			r.ended = true
		default:
			r.last[0], r.last[1] = r.last[1], v
			r.pulled++
		}
	}
	switch {
	case k >= r.pulled:
		return math.NaN(), nil // beyond the series
	case k == r.pulled-1:
		return r.last[1], nil // the last sample
	}
	a, b := r.last[0], r.last[1]
	f := u - float64(k)
	return a + (b-a)*f, nil // NaN in, NaN out
}

// resampleOnto interpolates h's skin conductance linearly at g's sample
// times (NaN outside h's recording and across its gaps): resampler on
// series in memory.
func resampleOnto(h, g *signals) []float64 {
	n := max(len(g.in.ECG), len(g.in.PPG), len(g.in.EDA))
	src, i := h.in.EDA, 0
	rs := &resampler{next: func() (float64, bool, error) {
		if i >= len(src) {
			return 0, false, nil
		}
		i++
		return src[i-1], true, nil
	}, rate: h.in.Rate, t0: h.t0}
	out := make([]float64, n)
	for j := range out {
		out[j], _ = rs.at(g.t0 + float64(j)/g.in.Rate)
	}
	return out
}

// physiologicalStreams picks the first recorded sensor (not derived) with a
// heart channel (ECG or PPG) and the first with skin conductance: the same
// device, or two (an oximeter and a GSR rig).
func physiologicalStreams(streams []sensors.Stream) (beat, eda *sensors.Stream) {
	for i := range streams {
		st := &streams[i]
		if st.Kind == "derived" || !(st.Rate > 0) {
			continue
		}
		for _, c := range st.Channels {
			switch strings.ToUpper(c.Type) {
			case "ECG", "PPG":
				if beat == nil {
					beat = st
				}
			case "EDA":
				if eda == nil {
					eda = st
				}
			}
		}
	}
	// One device with both is better than two, whichever came first.
	if beat != nil && eda != nil && beat != eda && hasType(*eda, "ECG", "PPG") {
		beat = eda
	} else if beat != nil && eda != nil && beat != eda && hasType(*beat, "EDA") {
		eda = beat
	}
	return beat, eda
}

func hasType(st sensors.Stream, types ...string) bool {
	for _, c := range st.Channels {
		for _, t := range types {
			if strings.EqualFold(c.Type, t) {
				return true
			}
		}
	}
	return false
}

package physio_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/physio"
	"github.com/cueroom/cueroom/sensors/physio/internal/testsig"
)

// fuzzBase is a clean 10 s recording the fuzzer corrupts.
var fuzzBase = testsig.Make(testsig.Config{Seed: 1, Rate: 100, Duration: 10 * time.Second})

// FuzzProcessor feeds the live processor corrupted streams: NaN and
// infinite values, huge spikes, rails, negative conductance, lost samples
// and arrival-time jumps. Each 3 bytes are one corruption (op, value,
// length). It must not panic, every value it reports must be JSON-able, and
// nothing may be reported before it happened.
func FuzzProcessor(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{7, 0, 255, 7, 0, 255, 7, 0, 255, 7, 0, 255})
	f.Add([]byte{0, 0, 40, 7, 0, 255, 1, 5, 3, 7, 0, 255, 2, 127, 1, 7, 1, 200})
	f.Add([]byte{3, 0, 200, 4, 200, 1, 5, 3, 150, 6, 9, 30, 7, 0, 255, 7, 0, 255})
	f.Add([]byte{8, 0, 255, 9, 0, 255, 10, 128, 255, 11, 0, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := physio.New(sensors.Stream{Device: "fuzz", Rate: 100, Channels: []sensors.Channel{
			{Label: "ecg", Type: "ECG"}, {Label: "ppg", Type: "PPG"}, {Label: "eda", Type: "EDA"}, {Label: "hr", Type: "HR"},
		}}, physio.Config{Baseline: 2 * time.Second, Ranges: map[string]physio.Range{"ecg": {Min: -1.5, Max: 1.5}}})
		if err != nil {
			t.Fatal(err)
		}
		p.MarkStep(time.Second)
		var out []physio.Derived
		i := 0
		var clock time.Duration
		step := 10 * time.Millisecond
		for k := 0; k+2 < len(data); k += 3 {
			op, v, n := data[k], float64(int8(data[k+1])), int(data[k+2])+1
			for range n {
				j := i % len(fuzzBase.ECG)
				s := sensors.Sample{Device: "fuzz", T: clock, N: 4}
				s.Values[0], s.Values[1], s.Values[2], s.Values[3] = fuzzBase.ECG[j], fuzzBase.PPG[j], fuzzBase.EDA[j], 70
				switch op % 12 {
				case 0:
					s.Values[0] = math.NaN()
				case 1:
					s.Values[int(math.Abs(v))%4] = math.Inf(int(v))
				case 2:
					s.Values[int(math.Abs(v))%4] = v * 1e300
				case 3:
					s.Values[2] = v / 10
				case 4:
					clock += time.Duration(v) * 100 * time.Millisecond // jumps both ways
				case 5:
					s.Values[1] = v
				case 6:
					s.Values[0] = math.Float64frombits(uint64(v) * 0x9e3779b97f4a7c15)
				case 8:
					s.Values[0] = 1.5 // rail
				case 9:
					s.N = int(math.Abs(v)) % 5 // short sample
				case 10:
					s.Values[3] = v * 4 // device HR, some out of range
				case 11:
					s.Values[0] += v / 20 // noise
				}
				out = p.Push(s, out[:0])
				for _, d := range out {
					if d.T > d.Known+time.Millisecond && d.Kind != physio.KindRecovery {
						t.Fatalf("%s reported at %v for %v: before it happened", d.Kind, d.Known, d.T)
					}
					if d.Kind == physio.KindHR && (d.HR < 30 || d.HR > 220) {
						t.Fatalf("heart rate %v outside the plausible range", d.HR)
					}
					if _, err := json.Marshal(d); err != nil {
						t.Fatalf("%s is not JSON: %v (%+v)", d.Kind, err, d)
					}
				}
				i++
				clock += step
			}
			if i > 20000 {
				break
			}
		}
		_ = p.Habituated(physio.Habituation{})
		if _, err := json.Marshal(p.State()); err != nil {
			t.Fatal(err)
		}
	})
}

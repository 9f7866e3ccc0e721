package offline_test

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/cueroom/cueroom/sensors/physio/offline"
)

// FuzzReadCSV: any bytes and any column selector give columns or a clear
// error, never a panic; columns always have one value per row.
func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("ECG,EDA\n1,2\n3,4\n"), "EDA")
	f.Add([]byte("1\t2\n3\t4\n"), "2")
	f.Add([]byte("# c\nv;w\r\n1;\r\nNaN;2\r\n"), "w")
	f.Add([]byte("a,b\n1,2\n3\n"), "a")
	f.Add([]byte("\"a\nb\",c\n1,2\n"), "c")
	f.Add([]byte("x\n1e999\n-inf\n\n0x1p-2\n"), "1")
	f.Fuzz(func(t *testing.T, data []byte, sel string) {
		cols, err := offline.ReadCSV(bytes.NewReader(data), "fuzz.csv", []string{sel, "1"})
		if err != nil {
			if len(err.Error()) == 0 {
				t.Fatal("empty error")
			}
			return
		}
		if len(cols) != 2 || len(cols[0].Values) != len(cols[1].Values) || len(cols[0].Values) == 0 {
			t.Fatalf("ragged result: %d columns", len(cols))
		}
		for _, c := range cols {
			gaps := 0
			for _, v := range c.Values {
				if math.IsNaN(v) {
					gaps++
				} else if math.IsInf(v, 0) {
					t.Fatal("infinity must be a gap")
				}
			}
			if gaps != c.Gaps {
				t.Fatalf("gap count %d, counted %d", c.Gaps, gaps)
			}
		}
	})
}

// FuzzAnalyze runs the offline analysis on arbitrary signals (NaN runs,
// spikes, steps, noise) and event columns; the report must always encode as
// JSON (no NaN or infinity in it).
func FuzzAnalyze(f *testing.F) {
	f.Add([]byte{}, uint8(0))
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, uint8(1))
	f.Add(bytes.Repeat([]byte{0, 100, 0, 0, 0, 0, 200, 255}, 300), uint8(2))
	f.Add(bytes.Repeat([]byte{255, 255, 0, 7, 128, 1, 3, 250}, 500), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, r uint8) {
		rate := []float64{50, 100, 250}[int(r)%3]
		n := len(data) / 2
		in := offline.Input{Rate: rate, ECG: make([]float64, n), PPG: make([]float64, n), EDA: make([]float64, n)}
		ev := make([]float64, n)
		for i := range n {
			a, b := data[2*i], data[2*i+1]
			ph := float64(i) / rate
			base := math.Pow(math.Sin(math.Pi*ph*1.2), 40) // pulse-like, 72 bpm
			switch a % 8 {
			case 0:
				in.ECG[i] = math.NaN()
			case 1:
				in.ECG[i] = float64(b) * 1e15
			case 2:
				in.EDA[i] = math.NaN()
			default:
				in.ECG[i] = base + float64(int8(b))/500
			}
			in.PPG[i] = base + float64(a)/1000
			in.EDA[i] += 5 + float64(b)/100
			ev[i] = float64(a >> 6)
		}
		in.Events = offline.EventsFromColumn(ev, rate)
		rep, err := offline.Analyze(in, offline.Config{})
		if err != nil {
			if n > 0 {
				t.Fatalf("analysis of %d samples failed: %v", n, err)
			}
			return
		}
		if _, err := json.Marshal(rep); err != nil {
			t.Fatalf("report is not JSON: %v", err)
		}
	})
}

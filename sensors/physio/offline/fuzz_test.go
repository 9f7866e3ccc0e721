package offline_test

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
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
	f.Add([]byte("\n\nECG,EDA\r\n1,2\r\n\r\n \t\r\n3,4\n\n"), "ECG")
	f.Add([]byte("v,n\n1,\"a\n\nb\"\n\n2,x\n"), "v")
	f.Add([]byte("v\n1\n# \"q\n\n\x1e\n2\n"), "v")
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

// FuzzReadCSVBlankLines builds a one-column file from a pattern (numbers,
// blank and white lines, comments, NaN cells, CRLF) and checks every
// interior blank line became a gap in its place and nothing else moved.
func FuzzReadCSVBlankLines(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 3, 0, 1, 1})
	f.Add([]byte{1, 1, 0, 4, 5, 0, 6, 1})
	f.Add([]byte{7, 0, 7})
	f.Fuzz(func(t *testing.T, pat []byte) {
		var b strings.Builder
		b.WriteString("v\n")
		var want []float64 // NaN: gap
		pending := 0       // blank lines not yet followed by a row
		for i, p := range pat {
			switch p % 8 {
			case 0: // a number
				for range pending {
					want = append(want, math.NaN())
				}
				pending = 0
				v := float64(i) + 0.5
				b.WriteString(strconv.FormatFloat(v, 'g', -1, 64) + "\n")
				want = append(want, v)
			case 1:
				b.WriteString("\n")
				pending++
			case 2:
				b.WriteString(" \t \n")
				pending++
			case 3:
				b.WriteString("\r\n")
				pending++
			case 4:
				b.WriteString("# a \"comment\n")
			case 5, 6: // an explicit gap cell
				for range pending {
					want = append(want, math.NaN())
				}
				pending = 0
				b.WriteString([]string{"NaN", "NA"}[p%8-5] + "\n")
				want = append(want, math.NaN())
			default:
				b.WriteString("2\r\n")
				for range pending {
					want = append(want, math.NaN())
				}
				pending = 0
				want = append(want, 2)
			}
		}
		cols, err := offline.ReadCSV(strings.NewReader(b.String()), "fuzz.csv", []string{"v"})
		if len(want) == 0 {
			if err == nil {
				t.Fatal("no rows, no error")
			}
			return
		}
		if err != nil {
			t.Fatalf("%v on %q", err, b.String())
		}
		got := cols[0].Values
		if len(got) != len(want) {
			t.Fatalf("%d rows, want %d, from %q", len(got), len(want), b.String())
		}
		for i := range want {
			if math.IsNaN(want[i]) != math.IsNaN(got[i]) || (!math.IsNaN(want[i]) && want[i] != got[i]) {
				t.Fatalf("row %d: %v, want %v", i, got[i], want[i])
			}
		}
	})
}

// FuzzEventsFromColumn: any marker column (levels, noise, spikes, NaN)
// gives events in order, inside the column, never a panic.
func FuzzEventsFromColumn(f *testing.F) {
	f.Add([]byte{5, 5, 5, 0, 0, 0, 5, 5}, uint8(0))
	f.Add(bytes.Repeat([]byte{50, 51, 49, 50, 200, 201, 199, 50, 52}, 40), uint8(1))
	f.Add([]byte{255, 0, 255, 0, 128}, uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		v := make([]float64, len(data))
		for i, d := range data {
			v[i] = float64(d) / 10
			switch mode % 4 {
			case 1:
				v[i] += float64(i%7) * 0.013 // not exactly held: the two-level path
			case 2:
				if d == 255 {
					v[i] = math.NaN()
				}
			case 3:
				if d == 0 {
					v[i] = math.Inf(1)
				}
			}
		}
		evs := offline.EventsFromColumn(v, 100)
		last := int64(-1)
		for _, e := range evs {
			if e.Index <= last || e.Index < 0 || e.Index >= int64(len(v)) || e.Duration < 1 || e.Index+e.Duration > int64(len(v)) {
				t.Fatalf("bad event %+v in %d samples (previous at %d)", e, len(v), last)
			}
			last = e.Index
		}
	})
}

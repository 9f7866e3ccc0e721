package hrv_test

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/cueroom/cueroom/sensors/physio/hrv"
)

// FuzzCorrect builds beat series from arbitrary bytes: each 3 bytes are an
// operation and a 16-bit value. Mostly intervals (from 1 ms to over 6 s,
// so extra, missed, ectopic-looking and impossible beats all occur), and
// now and then a NaN or infinite beat, a repeated or earlier beat, a gap,
// or a corrected interval for the live RMSSD. Nothing may panic, every
// number reported must be finite (JSON has no NaN), the NN series must be
// ordered and plausible, and the live value must be finite.
func FuzzCorrect(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0x03, 0x20, 0, 0x03, 0x20, 0, 0x03, 0x20})
	f.Add([]byte{0, 0x40, 0, 1, 0, 0, 0, 0x40, 0, 2, 0, 0, 3, 0x80, 0, 0, 0x40, 0})
	f.Add([]byte{4, 0xff, 0xff, 5, 0, 1, 0, 0, 1, 0, 0xff, 0xff, 6, 1, 1})
	seed := make([]byte, 0, 3*400)
	for i := range 400 {
		v := uint16(13000 + 1500*math.Sin(float64(i)/3)) // about 0.8 s, varying
		op := byte(0)
		if i%37 == 0 {
			op = byte(i % 7)
		}
		seed = append(seed, op, byte(v>>8), byte(v))
	}
	f.Add(seed)
	f.Fuzz(fuzzCorrect)
}

// fuzzCorrect is FuzzCorrect's body.

func fuzzCorrect(t *testing.T, data []byte) {
	var beats []float64
	var gaps []hrv.Span
	var corrected []bool
	tm := 0.0
	for i := 0; i+3 <= len(data); i += 3 {
		v := binary.BigEndian.Uint16(data[i+1:])
		rr := 0.001 + float64(v)/65535*6 // 1 ms … 6 s
		switch data[i] % 8 {
		case 1:
			beats = append(beats, math.NaN())
			continue
		case 2:
			beats = append(beats, math.Inf(int(v%2)*2-1))
			continue
		case 3:
			if len(beats) > 0 {
				beats = append(beats, beats[len(beats)-1]) // the same beat twice
			}
			continue
		case 4:
			beats = append(beats, tm-rr) // out of order
			continue
		case 5:
			gaps = append(gaps, hrv.Span{From: tm + rr/10, To: tm + rr})
		case 6:
			gaps = append(gaps, hrv.Span{From: math.NaN(), To: tm}, hrv.Span{From: tm + rr, To: tm})
		}
		tm += rr
		beats = append(beats, tm)
		corrected = append(corrected, data[i]%8 == 7)
	}
	c := hrv.Correction{}
	s := hrv.Correct(beats, gaps, c)
	for i, nn := range s.NN {
		if !(nn.Start < nn.End) || !(nn.Length >= 0.25 && nn.Length <= 3) || math.IsNaN(nn.Length) {
			t.Fatalf("interval %d: %+v", i, nn)
		}
		if i > 0 && nn.Start < s.NN[i-1].End {
			t.Fatalf("interval %d overlaps the one before: %+v %+v", i, s.NN[i-1], nn)
		}
	}
	raw := hrv.Correct(beats, gaps, hrv.Correction{Off: true})
	windows := [][2]float64{{math.Inf(-1), math.Inf(1)}, {0, tm / 2}, {tm / 3, tm}, {math.NaN(), 5}, {10, 5}}
	for _, w := range windows {
		for _, ser := range []*hrv.Series{s, raw} {
			r := ser.Analyze(w[0], w[1], hrv.Options{MinTime: 1, MinFreq: 2})
			if _, err := json.Marshal(r); err != nil {
				t.Fatalf("window %v: %v: %+v", w, err, r)
			}
			checkFinite(t, reflect.ValueOf(r), "Result")
		}
	}
	l := hrv.NewLive(10)
	for i, b := range beats {
		if i == 0 {
			continue
		}
		v, _ := l.Add(b, b-beats[i-1], i-1 < len(corrected) && corrected[i-1])
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			t.Fatalf("live RMSSD %v", v)
		}
	}
}

// checkFinite fails on any NaN or infinite float in v (structs, pointers).
func checkFinite(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.Float64:
		if math.IsNaN(v.Float()) || math.IsInf(v.Float(), 0) {
			t.Fatalf("%s = %v", path, v.Float())
		}
	case reflect.Pointer:
		if !v.IsNil() {
			checkFinite(t, v.Elem(), path)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			checkFinite(t, v.Field(i), path+"."+v.Type().Field(i).Name)
		}
	}
}

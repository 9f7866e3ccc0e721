package pulsesensor

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
	type want struct {
		kind          kind
		sample        int
		bpm, ibi      int
		hasBeat, miss bool
	}
	tests := []struct {
		mode   Mode
		sensor int
		line   string
		want   want
	}{
		// one sensor, visualizer (devices.md: S<sample>, B<bpm>, Q<ibi>)
		{Visualizer, 0, "S512", want{kind: sample, sample: 512}},
		{Visualizer, 0, "S0", want{kind: sample}},
		{Visualizer, 0, "S4095", want{kind: sample, sample: 4095}},
		{Visualizer, 0, "B72", want{kind: bpm, bpm: 72}},
		{Visualizer, 0, "Q833", want{kind: ibi, ibi: 833}},
		{Visualizer, 0, "S4096", want{}},
		{Visualizer, 0, "B1000", want{}},
		{Visualizer, 0, "S", want{}},
		{Visualizer, 0, "S-1", want{}},
		{Visualizer, 0, "S12a", want{}},
		{Visualizer, 0, "S 12", want{}},
		{Visualizer, 0, "S123456", want{}},
		{Visualizer, 0, "a512", want{}},
		{Visualizer, 0, "72,833,512", want{miss: true}},
		{Visualizer, 0, "", want{}},
		// several sensors: a, b… samples; A, B… BPM; M, N… IBI
		{Visualizer, 1, "a512", want{kind: sample, sample: 512}},
		{Visualizer, 2, "b520", want{kind: sample, sample: 520}},
		{Visualizer, 2, "a512", want{kind: other}},
		{Visualizer, 2, "B70", want{kind: bpm, bpm: 70}},
		{Visualizer, 2, "A70", want{kind: other}},
		{Visualizer, 2, "N850", want{kind: ibi, ibi: 850}},
		{Visualizer, 12, "l1", want{kind: sample, sample: 1}},
		{Visualizer, 12, "X9", want{kind: ibi, ibi: 9}},
		{Visualizer, 1, "S512", want{kind: other}}, // S is the IBI letter of sensor 7
		{Visualizer, 1, "Z5", want{}},
		// one sensor, plotter (devices.md: bpm,ibi,sample)
		{Plotter, 0, "72,833,512", want{kind: sample, bpm: 72, ibi: 833, sample: 512, hasBeat: true}},
		{Plotter, 0, "0,600,511", want{kind: sample, ibi: 600, sample: 511, hasBeat: true}},
		{Plotter, 0, "72,833", want{}},
		{Plotter, 0, "72,833,512,9", want{}},
		{Plotter, 0, "72,,512", want{}},
		{Plotter, 0, "72,833,", want{}},
		{Plotter, 0, "72,833,5000", want{}},
		{Plotter, 0, "1000,833,512", want{}},
		{Plotter, 0, "S512", want{miss: true}},
		// several sensors, plotter: s0,s1,…
		{Plotter, 2, "512,520", want{kind: sample, sample: 520}},
		{Plotter, 1, "512,520,530", want{kind: sample, sample: 512}},
		{Plotter, 3, "512,520", want{kind: other}},
		{Plotter, 2, "512,5200", want{}},
	}
	for _, tc := range tests {
		got := parser{mode: tc.mode, sensor: tc.sensor}.parse([]byte(tc.line))
		assert.Equal(t, tc.want, want{got.kind, got.sample, got.bpm, got.ibi, got.hasBeat, got.mismatch},
			"%s sensor %d: %q", tc.mode, tc.sensor, tc.line)
	}
}

package lineproto

import (
	"bytes"
	"context"
	"io"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/bridge"
	"github.com/cueroom/cueroom/sensors/internal/simtest"
	"github.com/cueroom/cueroom/sensors/simport"
	"github.com/cueroom/cueroom/sensors/synth"
)

type lineLog struct {
	mu    sync.Mutex
	lines []SimLine
}

func (l *lineLog) add(x SimLine) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, x)
}

// samples returns the lines a decoder must deliver, in order.
func (l *lineLog) samples() []SimLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []SimLine
	for _, x := range l.lines {
		if x.Values != nil && !x.Corrupt {
			out = append(out, x)
		}
	}
	return out
}

// simulator → real pty → serialport → bridge → samples, for every format,
// clean and with faults: what arrives is exactly what was printed, minus
// the lines Start used to detect the format and the spoilt ones.
func TestSimThroughBridge(t *testing.T) {
	faults := Faults{GarbageEvery: 7, TextEvery: 11, LongEvery: 13, OpenEvery: 5}
	tests := []struct {
		name   string
		sim    SimConfig
		dev    Config
		chans  []string
		format string
	}{
		{"grove, configured", SimConfig{Mode: Grove}, Config{Mode: Grove}, []string{"eda/uS", "raw/adc"}, "grove: eda (uS), raw (adc)"},
		{"grove, detected", SimConfig{Mode: Grove}, Config{}, []string{"eda/uS", "raw/adc"}, "grove: eda (uS), raw (adc)"},
		{"csv, header at start only", SimConfig{Mode: CSV}, Config{}, []string{"eda/uS", "hr/bpm"},
			`csv with a header: eda (uS), hr (bpm); counter "millis"`},
		{"kv", SimConfig{Mode: KV}, Config{}, []string{"eda/uS", "hr/bpm"}, `kv: eda (uS), hr (bpm); counter "seq"`},
		{"grove with faults", SimConfig{Mode: Grove, Faults: faults}, Config{Mode: Grove}, []string{"eda/uS", "raw/adc"}, "grove: eda (uS), raw (adc)"},
		{"csv with faults and a repeated header", SimConfig{Mode: CSV, Faults: faults, HeaderEvery: 9}, Config{Mode: CSV},
			[]string{"eda/uS", "hr/bpm"}, `csv with a header: eda (uS), hr (bpm); counter "millis"`},
		{"kv with faults", SimConfig{Mode: KV, Faults: faults}, Config{Mode: KV}, []string{"eda/uS", "hr/bpm"}, `kv: eda (uS), hr (bpm); counter "seq"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sent := &lineLog{}
			tc.sim.OnLine = sent.add
			tc.sim.Rate = 250
			tc.sim.MaxBacklog = time.Hour
			tc.sim.Synth = synth.Config{Seed: 5}
			sim, err := NewSim(tc.sim)
			require.NoError(t, err)
			p, err := simport.Start(context.Background(), sim)
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, p.Close()) })

			dev, err := New(tc.dev)
			require.NoError(t, err)
			got := &simtest.Collector{}
			var mu sync.Mutex
			var statuses []bridge.Status
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() {
				errc <- bridge.Run(ctx, bridge.Config{Port: p.Path, Device: dev, Sink: got.Sink, OnStream: got.OnStream,
					StatusEvery: time.Millisecond, OnStatus: func(s bridge.Status) {
						mu.Lock()
						defer mu.Unlock()
						statuses = append(statuses, s)
					}})
			}()
			var early error
			require.Eventually(t, func() bool {
				select {
				case early = <-errc:
					return true
				default:
					return got.Count() >= 150
				}
			}, 20*time.Second, 5*time.Millisecond)
			require.NoError(t, early, "the bridge stopped early")
			cancel()
			select {
			case err := <-errc:
				require.ErrorIs(t, err, context.Canceled)
			case <-time.After(5 * time.Second):
				t.Fatal("bridge did not stop")
			}

			samples, stream := got.Got()
			require.NotNil(t, stream, "the bridge announced no stream")
			var chans []string
			for _, c := range stream.Channels {
				chans = append(chans, c.Label+"/"+c.Unit)
			}
			assert.Equal(t, tc.chans, chans)
			assert.Equal(t, tc.format, dev.Format())
			want := sent.samples()
			off := align(t, want, samples)
			require.LessOrEqual(t, off+len(samples), len(want))
			invalid := 0
			for i, s := range samples {
				w := want[off+i]
				require.Equal(t, len(w.Values), s.N, "sample %d (%q)", i, w.Line)
				for k, v := range w.Values {
					if math.IsNaN(v) {
						require.True(t, math.IsNaN(s.Values[k]), "sample %d (%q) channel %d", i, w.Line, k)
						invalid++
						continue
					}
					require.Equal(t, v, s.Values[k], "sample %d (%q) channel %d", i, w.Line, k)
				}
				if tc.sim.Mode != Grove {
					require.Equal(t, w.Seq, s.Seq, "sample %d: the device's counter", i)
				}
			}
			mu.Lock()
			last := statuses[len(statuses)-1]
			mu.Unlock()
			if tc.sim.Faults != (Faults{}) {
				assert.Positive(t, last.DroppedBytes, "spoilt lines are counted")
				assert.Positive(t, last.DroppedSamples)
				if tc.sim.Mode == Grove {
					assert.Positive(t, invalid, "open electrodes arrive as NaN")
				}
			} else {
				assert.Zero(t, last.DroppedBytes)
				assert.Zero(t, last.DroppedSamples)
				if tc.sim.Mode == Grove {
					for i := 1; i < len(samples); i++ {
						require.Equal(t, samples[i-1].Seq+1, samples[i].Seq, "no line lost")
					}
				}
			}
		})
	}
}

// align finds where the decoded samples start among the lines sent: Start
// consumed the first few.
func align(t *testing.T, want []SimLine, got []sensors.Sample) int {
	t.Helper()
	require.NotEmpty(t, got)
	for off := 0; off < 20 && off < len(want); off++ {
		ok := true
		for i := 0; i < 20 && i < len(got) && off+i < len(want); i++ {
			w, g := want[off+i].Values, got[i].Values
			for k := range w {
				if w[k] != g[k] && !(math.IsNaN(w[k]) && math.IsNaN(g[k])) {
					ok = false
				}
			}
		}
		if ok {
			return off
		}
	}
	t.Fatalf("the decoded samples match no run of the lines sent")
	return 0
}

func TestSimLines(t *testing.T) {
	tests := []struct {
		cfg   SimConfig
		first string // a prefix of the output
	}{
		{SimConfig{Mode: CSV}, Header + "\r\n20,"},
		{SimConfig{Mode: KV}, "seq=1 eda_uS="},
		{SimConfig{}, ""},
	}
	for _, tc := range tests {
		sim, err := NewSim(tc.cfg)
		require.NoError(t, err)
		var buf safeBuffer
		done := make(chan error, 1)
		go func() { done <- sim.Run(context.Background(), &buf) }()
		require.Eventually(t, func() bool { return bytes.Count(buf.bytes(), []byte("\r\n")) >= 3 }, 5*time.Second, time.Millisecond)
		require.NoError(t, sim.Close())
		require.NoError(t, <-done, "Close is a requested stop")
		out := buf.bytes()
		assert.True(t, bytes.HasPrefix(out, []byte(tc.first)), "%q", out)
		if tc.cfg.Mode == "" {
			line, _, _ := bytes.Cut(out, []byte("\r\n"))
			r, ok := parseReading(line)
			require.True(t, ok, "%q", line)
			assert.InDelta(t, 430, r, 60, "a resting 4 µS reads about 436")
		}
	}
	for _, bad := range []SimConfig{{Mode: "morse"}, {Rate: -1}, {Rate: 1e6}} {
		_, err := NewSim(bad)
		assert.Error(t, err)
	}
}

type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) Read([]byte) (int, error) { return 0, io.EOF }

func (s *safeBuffer) bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

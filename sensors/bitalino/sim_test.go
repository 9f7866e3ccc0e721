package bitalino

import (
	"bytes"
	"io"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/internal/simtest"
	"github.com/cueroom/cueroom/sensors/synth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder keeps what the simulator sent.
type recorder = simtest.Recorder[SimFrame]

// runSim serves a simulator on one end of a pipe and returns the other.
// Cleanup stops it and checks that Run returned nil.
func runSim(t *testing.T, cfg SimConfig) (*Sim, *recorder, net.Conn) {
	t.Helper()
	rec := &recorder{}
	cfg.OnFrame = rec.Add
	if cfg.MaxBacklog == 0 {
		cfg.MaxBacklog = time.Hour // a loaded test machine must not make the sim skip frames
	}
	sim, err := NewSim(cfg)
	require.NoError(t, err)
	return sim, rec, simtest.Serve(t, sim)
}

func next(t *testing.T, dec sensors.Decoder, count int) []sensors.Sample {
	return simtest.Next(t, dec, count)
}

// expect checks decoded samples against the frames the simulator sent.
func expect(t *testing.T, d *Device, got []sensors.Sample, sent []SimFrame) {
	t.Helper()
	require.GreaterOrEqual(t, len(sent), len(got))
	for i, s := range got {
		f := sent[i].Frame
		require.Equal(t, uint32(f.Seq), s.Seq&0x0F, "sample %d", i)
		require.Equal(t, f.N, s.N)
		for k, in := range d.inputs {
			var want float64
			switch in.Sensor {
			case EDA:
				want = float64(EDAuS(d.cfg.EDARevision, f.ADC[k], fieldBits(k)))
			case ECG:
				want = float64(ECGmV(f.ADC[k], fieldBits(k)))
			default:
				want = float64(f.ADC[k])
			}
			require.Equal(t, want, s.Values[k], "sample %d channel %d", i, k)
		}
	}
}

func TestSimRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		inputs []Input
		rev    EDARevision
	}{
		{"default A1 EDA A2 ECG", nil, ""},
		{"six channels, older EDA", []Input{{1, ECG}, {2, Raw}, {3, Raw}, {4, Raw}, {5, EDA}, {6, Raw}}, EDAOlder},
		{"EDA alone on A3, original board", []Input{{3, EDA}}, EDAOriginal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, rec, conn := runSim(t, SimConfig{Inputs: tc.inputs, EDARevision: tc.rev, Synth: synth.Config{Seed: 7}})
			d := quickDevice(t, Config{Inputs: tc.inputs, EDARevision: tc.rev})
			require.NoError(t, d.Start(conn))
			assert.Equal(t, "BITalino_v5.2", d.Firmware())
			dec := d.NewDecoder(conn)
			got := next(t, dec, 300)
			for i, s := range got {
				require.Equal(t, uint32(i), s.Seq, "no gaps, counter from 0")
			}
			expect(t, d, got, rec.Get())
			assert.Zero(t, dec.Dropped())
		})
	}
}

// The simulated physiology reaches the decoder in range: EDA 1–12 µS, ECG
// within ±1.5 mV with R peaks near 1 mV.
func TestSimValuesPlausible(t *testing.T) {
	_, _, conn := runSim(t, SimConfig{Synth: synth.Config{Seed: 3}})
	d := quickDevice(t, Config{})
	require.NoError(t, d.Start(conn))
	got := next(t, d.NewDecoder(conn), 1500)
	maxECG := -10.0
	for _, s := range got {
		assert.InDelta(t, 6, s.Values[0], 5, "EDA µS")
		assert.InDelta(t, 0, s.Values[1], 1.5, "ECG mV")
		maxECG = max(maxECG, s.Values[1])
	}
	assert.InDelta(t, 1.0, maxECG, 0.3, "R peak")
}

func TestSimFaults(t *testing.T) {
	// Garbage before every 10th frame and a bad CRC on every 25th: the
	// decoder must skip exactly those bytes and deliver every other frame.
	const garbageLen = 6
	_, rec, conn := runSim(t, SimConfig{Synth: synth.Config{Seed: 11},
		Faults: Faults{GarbageEvery: 10, GarbageLen: garbageLen, CorruptEvery: 25}})
	d := quickDevice(t, Config{})
	require.NoError(t, d.Start(conn))
	dec := d.NewDecoder(conn)
	got := next(t, dec, 400)

	sent := rec.Get()
	var good []SimFrame
	var dropped uint64
	corrupt := 0
	for _, f := range sent {
		if len(good) == len(got) {
			break
		}
		dropped += uint64(f.Garbage)
		if f.Corrupt {
			corrupt++
			dropped += uint64(FrameLen(2))
			continue
		}
		good = append(good, f)
	}
	require.Greater(t, corrupt, 10)
	expect(t, d, got, good)
	assert.Equal(t, dropped, dec.Dropped())
	// A corrupt frame shows as a gap of one in the running counter.
	gaps := 0
	for i := 1; i < len(got); i++ {
		if got[i].Seq-got[i-1].Seq == 2 {
			gaps++
		} else {
			require.Equal(t, uint32(1), got[i].Seq-got[i-1].Seq)
		}
	}
	assert.Equal(t, corrupt, gaps)
}

// Frames are paced by the wall clock: frame k is due k periods after the
// start command, never earlier. (The upper bound is loose: a loaded test
// machine may delay frames, which then arrive together.)
func TestSimRate(t *testing.T) {
	for _, rate := range []int{10, 100, 1000} {
		t.Run(strconv.Itoa(rate)+"Hz", func(t *testing.T) {
			_, _, conn := runSim(t, SimConfig{})
			d := quickDevice(t, Config{Rate: rate})
			before := time.Now()
			require.NoError(t, d.Start(conn))
			n := rate / 2
			got := next(t, d.NewDecoder(conn), n)
			el := time.Since(before)
			want := time.Duration(n) * time.Second / time.Duration(rate)
			assert.GreaterOrEqual(t, el, want, "%d samples at %d Hz", n, rate)
			assert.Less(t, el, want+3*time.Second, "%d samples at %d Hz", n, rate)
			assert.Equal(t, uint32(n-1), got[n-1].Seq)
		})
	}
}

// After Stop the simulator is idle: it answers the version query again, and
// a new start restarts the sequence numbers.
func TestSimStopAndRestart(t *testing.T) {
	sim, _, conn := runSim(t, SimConfig{})
	d := quickDevice(t, Config{})
	require.NoError(t, d.Start(conn))
	dec := d.NewDecoder(conn)
	next(t, dec, 50)
	require.NoError(t, d.Stop(conn))
	require.NoError(t, d.Start(conn)) // skips the frames still in flight
	got := next(t, d.NewDecoder(conn), 20)
	assert.Equal(t, uint32(0), got[0].Seq)

	onset := sim.Stimulus()
	scrs := sim.Synth().SCRs()
	require.NotEmpty(t, scrs)
	last := scrs[len(scrs)-1]
	assert.True(t, last.Stimulus)
	assert.Equal(t, onset, last.Onset)
	assert.GreaterOrEqual(t, onset-last.StimulusAt, time.Second)
}

// Run returns nil promptly on Close or cancel even when nobody reads the
// frames (its write is blocked).
func TestSimStops(t *testing.T) {
	simtest.CheckStops(t, func(t *testing.T) simtest.Sim {
		sim, err := NewSim(SimConfig{})
		require.NoError(t, err)
		return sim
	}, func(t *testing.T, a io.ReadWriter) {
		d := quickDevice(t, Config{})
		require.NoError(t, d.Start(a))
		_, err := d.NewDecoder(a).Next() // streaming has begun; now stop reading
		require.NoError(t, err)
	})
}

func TestSimPeerHangsUp(t *testing.T) {
	sim, err := NewSim(SimConfig{})
	require.NoError(t, err)
	simtest.CheckHangUp(t, sim)
}

func TestSimCommands(t *testing.T) {
	tests := []struct {
		name  string
		cmds  []byte
		live  bool
		code  int
		n     int
		reply string
	}{
		{"version when idle", []byte{0x07}, false, 3, 0, "BITalino_v5.2\n"},
		{"rate then start", []byte{0x43, 0x0D}, true, 1, 2, ""},
		{"simulated mode streams too", []byte{0x02 | 0x3F<<2}, true, 3, 6, ""},
		{"empty channel mask is ignored", []byte{0x01}, false, 3, 0, ""},
		{"battery threshold is ignored", []byte{0x00, 0x7C}, false, 3, 0, ""},
		{"version and rate ignored while live", []byte{0x05, 0x07, 0x03}, true, 3, 1, ""},
		{"stop", []byte{0x05, 0x00}, false, 3, 1, ""},
		{"idle (2.x)", []byte{0x05, 0xFF}, false, 3, 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim, err := NewSim(SimConfig{})
			require.NoError(t, err)
			st := simState{code: 3}
			var out bytes.Buffer
			for _, c := range tc.cmds {
				require.NoError(t, sim.command(&st, &out, c))
			}
			assert.Equal(t, tc.live, st.live)
			assert.Equal(t, tc.code, st.code)
			assert.Equal(t, tc.n, st.n)
			assert.Equal(t, tc.reply, out.String())
		})
	}
}

// A writer whose port refused its frames for more than a second (no one
// reading: its writes blocked) skips frames, as the device's buffer
// overflows; the sequence shows it.
func TestSimOverrun(t *testing.T) {
	sim, err := NewSim(SimConfig{}) // default backlog: 1 s
	require.NoError(t, err)
	st := simState{code: 1}
	require.NoError(t, sim.command(&st, io.Discard, 0x05)) // A1 at 10 Hz
	st.overflow.Wrote(3*time.Second, 0)                    // nobody read the port for 3 s
	data := sim.frames(&st, st.t0.Add(3*time.Second), nil)
	assert.Len(t, data, 10*FrameLen(1), "one second of frames")
	assert.Equal(t, int64(20), st.overruns)
	f, err := ParseFrame(data[:3], 1)
	require.NoError(t, err)
	assert.Equal(t, uint8(20%16), f.Seq, "the first frame sent after the skip")
	assert.Equal(t, 3*time.Second, sim.Synth().Now(), "the physiology kept time")
}

// A writer that is only late (its goroutine starved, its process stopped:
// the port took every write) skips nothing: a real device keeps its own
// time and sends every frame, so no loss is made up. CI once saw 4 frames
// "lost" this way, the simulator 1.004 s behind in cueroom's own process.
func TestSimLateWriterSkipsNothing(t *testing.T) {
	for _, blocked := range []time.Duration{0, 500 * time.Millisecond} {
		sim, err := NewSim(SimConfig{}) // default backlog: 1 s
		require.NoError(t, err)
		st := simState{code: 1}
		require.NoError(t, sim.command(&st, io.Discard, 0x05)) // A1 at 10 Hz
		st.overflow.Wrote(blocked, 0)
		data := sim.frames(&st, st.t0.Add(3*time.Second), nil)
		assert.Len(t, data, 30*FrameLen(1), "every frame due, blocked %v", blocked)
		assert.Zero(t, st.overruns)
		for k := range 30 {
			f, err := ParseFrame(data[k*FrameLen(1):(k+1)*FrameLen(1)], 1)
			require.NoError(t, err)
			require.Equal(t, uint8(k%16), f.Seq, "frame %d", k)
		}
	}
}

// A host that stops reading fills the port: the simulator's writes block
// and, past MaxBacklog, it skips frames as the device's buffer overflows.
// net.Pipe holds nothing, so every unread frame blocks the writer.
func TestSimPortFullSkips(t *testing.T) {
	_, rec, conn := runSim(t, SimConfig{MaxBacklog: 100 * time.Millisecond})
	began := time.Now()
	_, err := conn.Write([]byte{0xC3, 0x05}) // 1000 Hz, A1
	require.NoError(t, err)
	buf := make([]byte, 4096)
	read := func(d time.Duration) {
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(d)))
		for {
			if _, err := conn.Read(buf); err != nil {
				require.ErrorIs(t, err, os.ErrDeadlineExceeded)
				return
			}
		}
	}
	read(100 * time.Millisecond)
	time.Sleep(500 * time.Millisecond) // the scenario: no one reads the port
	read(200 * time.Millisecond)
	// About 400 frames of the 500 ms were skipped: a whole number of
	// wraps may hide in the 4-bit counter, so count the frames sent.
	due := int(time.Since(began) / time.Millisecond)
	sent := len(rec.Get())
	t.Logf("%d frames sent in %d ms", sent, due)
	assert.Less(t, sent, due-250, "frames were skipped")
}

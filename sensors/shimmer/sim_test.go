package shimmer

import (
	"io"
	"math"
	"net"
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
type recorder = simtest.Recorder[SimPacket]

// runSim serves a simulator on one end of a pipe and returns the other.
// Cleanup stops it and checks that Run returned nil.
func runSim(t *testing.T, cfg SimConfig) (*Sim, *recorder, net.Conn) {
	t.Helper()
	rec := &recorder{}
	cfg.OnPacket = rec.Add
	if cfg.MaxBacklog == 0 {
		cfg.MaxBacklog = time.Hour // a loaded test machine must not make the sim skip packets
	}
	sim, err := NewSim(cfg)
	require.NoError(t, err)
	return sim, rec, simtest.Serve(t, sim)
}

func next(t *testing.T, dec sensors.Decoder, count int) []sensors.Sample {
	return simtest.Next(t, dec, count)
}

// expect checks decoded samples against the packets the simulator sent,
// matched by timestamp.
func expect(t *testing.T, r GSRRange, got []sensors.Sample, sent []SimPacket) {
	t.Helper()
	byTS := map[uint32]Packet{}
	for _, p := range sent {
		if !p.Truncated {
			byTS[p.Timestamp] = p.Packet
		}
	}
	for i, s := range got {
		p, ok := byTS[s.Seq&0xFFFFFF]
		require.True(t, ok, "sample %d: timestamp %#x was never sent whole", i, s.Seq&0xFFFFFF)
		require.Equal(t, want(p, r), [2]float64(s.Values[:2]), "sample %d", i)
	}
}

func TestSimCommands(t *testing.T) {
	tests := []struct {
		name  string
		cmds  string
		reply string
		live  bool
	}{
		// the two replies Shimmer's own Java simulator records in 1-byte CRC mode
		{"1-byte CRC, bare ACK", "8b 01", "ff f4", false},
		{"1-byte CRC, inquiry", "8b 01 01", "ff f4 ff 02 80 02 02 ff 01 08 00 01 86", false},
		{"inquiry at power-on", "01", "ff 02 80 02 02 ff 01 08 00 01", false},
		{"GSR + A13", "08 04 01 00 01", "ff ff 02 80 02 02 ff 01 08 02 01 12 1c", false},
		{"battery comes first", "08 04 21 00 01", "ff ff 02 80 02 02 ff 01 08 03 01 03 12 1c", false},
		{"set then get rate", "05 00 01 03", "ff ff 04 00 01", false},
		{"arguments may come one by one", "05 00", "", false},
		{"set then get GSR range", "21 02 23", "ff ff 22 02", false},
		{"an invalid range is ignored", "21 09 23", "ff ff 22 04", false},
		{"firmware version", "2e", "ff 2f 03 00 00 00 10 00", false},
		{"shimmer version", "3f", "ff 25 03", false},
		{"status idle", "72", "ff 8a 71 00", false},
		{"status streaming", "07 72", "ff ff 8a 71 12", true},
		{"2-byte CRC", "8b 02", "ff f4 65", false},
		{"CRC off again", "8b 02 8b 00", "ff f4 65 ff", false},
		{"start, stop", "07 20", "ff ff", false},
		{"unknown commands get no reply", "99 42", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim, err := NewSim(SimConfig{})
			require.NoError(t, err)
			now := time.Now()
			st := sim.newState(now)
			var out []byte
			for _, c := range unhex(t, tc.cmds) {
				out = sim.command(&st, c, now, out)
			}
			assert.Equal(t, unhex(t, tc.reply), append([]byte{}, out...))
			assert.Equal(t, tc.live, st.streaming)
		})
	}
}

func TestSimRoundTrip(t *testing.T) {
	tests := []struct {
		cfg   Config
		clock uint32
	}{
		{Config{}, 1234},
		{Config{CRC: 1, GSRRange: GSRRange2, Rate: 256}, 0xFFFF00},
		{Config{CRC: 2, Rate: 51.2}, 0},
	}
	for _, tc := range tests {
		t.Run("crc"+strconv.Itoa(tc.cfg.CRC)+"_"+tc.cfg.GSRRange.String(), func(t *testing.T) {
			_, rec, conn := runSim(t, SimConfig{Synth: synth.Config{Seed: 7}, Clock0: tc.clock})
			d := device(t, tc.cfg)
			require.NoError(t, d.Start(conn))
			dec := d.NewDecoder(conn)
			got := next(t, dec, 100)
			sent := rec.Get()
			require.GreaterOrEqual(t, len(sent), len(got))
			div := uint32(math.Round(32768 / d.Rate()))
			for i, s := range got {
				require.Equal(t, sent[i].Timestamp, s.Seq&0xFFFFFF, "sample %d: the first packet is not lost", i)
				require.Equal(t, got[0].Seq+uint32(i)*div, s.Seq, "sample %d: no gaps", i)
			}
			expect(t, tc.cfg.GSRRange, got, sent)
			assert.Zero(t, dec.Dropped())
		})
	}
}

// The physiology reaches the decoder in range: skin conductance 1–15 µS,
// PPG around 1.2–1.6 V with one pulse per heartbeat.
func TestSimValuesPlausible(t *testing.T) {
	sim, _, conn := runSim(t, SimConfig{Synth: synth.Config{Seed: 3}})
	d := device(t, Config{})
	require.NoError(t, d.Start(conn))
	got := next(t, d.NewDecoder(conn), 128*4)
	peaks := 0
	for i, s := range got {
		assert.InDelta(t, 7, s.Values[0], 6, "EDA µS")
		assert.InDelta(t, 1350, s.Values[1], 350, "PPG mV")
		// a systolic peak: the highest point within ±150 ms, well above the base
		if i >= 20 && i+20 < len(got) && s.Values[1] > 1350 {
			top := true
			for j := i - 19; j <= i+19; j++ {
				if got[j].Values[1] > s.Values[1] {
					top = false
				}
			}
			if top {
				peaks++
			}
		}
	}
	beats := 0
	for _, b := range sim.Synth().Beats() {
		at := b + synth.PulseTransit + 140*time.Millisecond
		if at > 160*time.Millisecond && at < 4*time.Second-160*time.Millisecond {
			beats++
		}
	}
	assert.InDelta(t, beats, peaks, 1, "one PPG peak per heartbeat")
}

func TestSimFingerOutAndMotion(t *testing.T) {
	sim, _, conn := runSim(t, SimConfig{Synth: synth.Config{Seed: 4, PPGNoise: -1}})
	d := device(t, Config{})
	require.NoError(t, d.Start(conn))
	dec := d.NewDecoder(conn)
	next(t, dec, 10)
	sim.Synth().SetFingerOut(true)
	got := next(t, dec, 128) // a few packets may have been made before the switch
	flat := got[len(got)-100:]
	for _, s := range flat {
		require.Equal(t, flat[0].Values[1], s.Values[1], "PPG is flat with the finger out")
	}
	assert.InDelta(t, 1200, flat[0].Values[1], 1)
	sim.Synth().SetFingerOut(false)
	sim.Synth().Motion(2 * time.Second)
	got = next(t, dec, 256)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range got[20:] {
		lo, hi = min(lo, s.Values[1]), max(hi, s.Values[1])
	}
	assert.Greater(t, hi-lo, 400.0, "motion swings the PPG well beyond a pulse (250 mV)")
}

func TestSimFaults(t *testing.T) {
	const garbage = 7
	_, rec, conn := runSim(t, SimConfig{Synth: synth.Config{Seed: 11},
		Faults: Faults{GarbageEvery: 10, GarbageLen: garbage, TruncateEvery: 25}})
	d := device(t, Config{CRC: 2})
	require.NoError(t, d.Start(conn))
	dec := d.NewDecoder(conn)
	got := next(t, dec, 300)
	sent := rec.Get()
	expect(t, GSRAuto, got, sent)
	// every whole packet up to the last decoded one arrives; the bytes in
	// between are exactly the garbage and the truncated halves
	var dropped uint64
	delivered := 0
	for _, p := range sent {
		if delivered == len(got) {
			break
		}
		dropped += uint64(p.Garbage)
		if p.Truncated {
			dropped += uint64(10 / 2)
			continue
		}
		require.Equal(t, p.Timestamp, got[delivered].Seq&0xFFFFFF)
		delivered++
	}
	assert.Equal(t, dropped, dec.Dropped())
	assert.Greater(t, dropped, uint64(30*garbage))
}

// Packets are paced by the wall clock: packet k is due k periods after the
// start command, never earlier.
func TestSimRate(t *testing.T) {
	for _, rate := range []float64{32, 128, 512} {
		t.Run(strconv.FormatFloat(rate, 'g', -1, 64)+"Hz", func(t *testing.T) {
			_, _, conn := runSim(t, SimConfig{})
			d := device(t, Config{Rate: rate})
			before := time.Now()
			require.NoError(t, d.Start(conn))
			n := int(rate / 4)
			next(t, d.NewDecoder(conn), n)
			el := time.Since(before)
			want := time.Duration(float64(n) / rate * float64(time.Second))
			assert.GreaterOrEqual(t, el, want)
			assert.Less(t, el, want+3*time.Second)
		})
	}
}

// After Stop the simulator is idle and answers an inquiry again; a new
// Start streams with the clock still running.
func TestSimStopAndRestart(t *testing.T) {
	sim, _, conn := runSim(t, SimConfig{})
	d := device(t, Config{})
	require.NoError(t, d.Start(conn))
	first := next(t, d.NewDecoder(conn), 20)
	require.NoError(t, d.Stop(conn))
	require.NoError(t, d.Start(conn)) // skips what was still in flight
	again := next(t, d.NewDecoder(conn), 5)
	assert.Greater(t, (again[0].Seq-first[19].Seq)&0xFFFFFF, uint32(256), "the device clock kept running")

	at := sim.Synth().Now()
	onset := sim.Stimulus()
	assert.GreaterOrEqual(t, onset-at, time.Second)
	assert.LessOrEqual(t, onset-at, 3*time.Second)
}

// Run returns nil promptly on Close or cancel even when nobody reads.
func TestSimStops(t *testing.T) {
	simtest.CheckStops(t, func(t *testing.T) simtest.Sim {
		sim, err := NewSim(SimConfig{})
		require.NoError(t, err)
		return sim
	}, func(t *testing.T, a io.ReadWriter) {
		d := device(t, Config{})
		require.NoError(t, d.Start(a))
		_, err := d.NewDecoder(a).Next()
		require.NoError(t, err)
	})
}

func TestSimPeerHangsUp(t *testing.T) {
	sim, err := NewSim(SimConfig{})
	require.NoError(t, err)
	simtest.CheckHangUp(t, sim)
}

// A writer whose port refused packets for over a second skips packets; the
// timestamps show it.
func TestSimOverrun(t *testing.T) {
	sim, err := NewSim(SimConfig{Clock0: 100}) // default backlog: 1 s
	require.NoError(t, err)
	t0 := time.Now()
	st := sim.newState(t0)
	for _, c := range unhex(t, "08 04 01 00 05 00 01 07") {
		sim.command(&st, c, t0, nil)
	}
	require.True(t, st.streaming)
	lay := st.lay
	st.overflow.Wrote(3*time.Second, 0) // nobody read the port for 3 s
	data := sim.packets(&st, t0.Add(3*time.Second), nil)
	require.Len(t, data, 128*lay.size, "one second of packets")
	assert.Equal(t, int64(256), st.overruns)
	assert.Equal(t, uint32(100+256*256), ts24(data), "the first packet sent after the skip")
	assert.Equal(t, 3*time.Second, sim.Synth().Now(), "the physiology kept time")
	assert.Nil(t, sim.packets(&st, t0.Add(3*time.Second), nil), "nothing more is due")
	assert.Equal(t, byte(dataPacket), data[0])
}

func TestNewSimChecks(t *testing.T) {
	_, err := NewSim(SimConfig{Faults: Faults{GarbageEvery: -1}})
	require.ErrorContains(t, err, "must not be negative")
}

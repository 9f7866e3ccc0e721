package contec

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/internal/simtest"
	"github.com/cueroom/cueroom/sensors/serialport"
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

// align finds where the decoded samples start among the packets sent
// whole (an unprompted stream may have begun before the reader).
func align(t *testing.T, proto Protocol, got []sensors.Sample, sent []SimPacket) []SimPacket {
	t.Helper()
	var whole []SimPacket
	for _, p := range sent {
		if !p.Truncated {
			whole = append(whole, p)
		}
	}
	k := min(len(got), 8)
	for off := 0; off+k <= len(whole); off++ {
		match := true
		for i := range k {
			if wire(proto, whole[off+i].Packet) != vals(got[i]) {
				match = false
				break
			}
		}
		if match {
			return whole[off:]
		}
	}
	t.Fatalf("the first decoded samples match no run of sent packets")
	return nil
}

func expect(t *testing.T, proto Protocol, got []sensors.Sample, sent []SimPacket) {
	t.Helper()
	sent = align(t, proto, got, sent)
	require.GreaterOrEqual(t, len(sent), len(got))
	for i, s := range got {
		require.Equal(t, wire(proto, sent[i].Packet), vals(s), "sample %d", i)
		require.Equal(t, got[0].Seq+uint32(i), s.Seq)
	}
}

func TestSimRoundTrip(t *testing.T) {
	for _, proto := range []Protocol{ProtocolNew, ProtocolOld} {
		t.Run(string(proto), func(t *testing.T) {
			_, rec, conn := runSim(t, SimConfig{Protocol: proto, Synth: synth.Config{Seed: 7}})
			d := device(t, Config{Protocol: proto})
			require.NoError(t, d.Start(conn))
			dec := d.NewDecoder(conn)
			got := next(t, dec, 120)
			assert.Equal(t, uint32(0), got[0].Seq)
			expect(t, proto, got, rec.Get())
			if proto == ProtocolNew {
				assert.Equal(t, wire(proto, rec.Get()[0].Packet), vals(got[0]), "the first packet is not lost")
			}
			assert.Zero(t, dec.Dropped())
		})
	}
}

// The unit shows a pulse rate near the true heart rate, SpO₂ near 97.5 %,
// and marks each pulse on two packets.
func TestSimPhysiology(t *testing.T) {
	sim, _, conn := runSim(t, SimConfig{Synth: synth.Config{Seed: 5}})
	d := device(t, Config{})
	require.NoError(t, d.Start(conn))
	got := next(t, d.NewDecoder(conn), 5*Rate)
	var hr, spo2 []float64
	marks := 0
	for _, s := range got {
		if s.Values[1] > 0 {
			hr = append(hr, s.Values[1])
			spo2 = append(spo2, s.Values[2])
		}
		if int(s.Values[4])&PulseBeat != 0 {
			marks++
		}
		assert.LessOrEqual(t, s.Values[0], 127.0)
	}
	require.NotEmpty(t, hr)
	beats := sim.Synth().Beats()
	rr := (beats[len(beats)-1] - beats[0]).Seconds() / float64(len(beats)-1)
	assert.InDelta(t, 60/rr, mean(hr), 6, "pulse rate")
	assert.InDelta(t, 97.5, mean(spo2), 1.5, "SpO2")
	assert.InDelta(t, 2*len(beats), marks, 4, "two marked packets per pulse")
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func TestSimFingerOut(t *testing.T) {
	for _, proto := range []Protocol{ProtocolNew, ProtocolOld} {
		t.Run(string(proto), func(t *testing.T) {
			sim, _, conn := runSim(t, SimConfig{Protocol: proto, Synth: synth.Config{Seed: 6}})
			d := device(t, Config{Protocol: proto})
			require.NoError(t, d.Start(conn))
			dec := d.NewDecoder(conn)
			next(t, dec, Rate)
			sim.Synth().SetFingerOut(true)
			got := next(t, dec, Rate/2)
			last := got[len(got)-10:]
			for _, s := range last {
				assert.Equal(t, [5]float64{0, 0, 0, 0, FingerOut}, vals(s), "flag set, PPG flat, no readings")
			}
			sim.Synth().SetFingerOut(false)
			got = next(t, dec, 4*Rate)
			searching, readings := 0, 0
			for _, s := range got {
				if int(s.Values[4])&Searching != 0 {
					searching++
					assert.Zero(t, s.Values[1])
				}
				if s.Values[1] > 0 {
					readings++
				}
			}
			assert.InDelta(t, 2*Rate, searching, 20, "about 2 s of searching")
			assert.Greater(t, readings, Rate/2, "then readings again, from the first pulse on")
		})
	}
}

func TestSimFaults(t *testing.T) {
	for _, proto := range []Protocol{ProtocolNew, ProtocolOld} {
		t.Run(string(proto), func(t *testing.T) {
			// under 5 garbage bytes the weak old framing cannot be fooled
			_, rec, conn := runSim(t, SimConfig{Protocol: proto, Synth: synth.Config{Seed: 11},
				Faults: Faults{GarbageEvery: 7, GarbageLen: 4, TruncateEvery: 11}})
			d := device(t, Config{Protocol: proto})
			require.NoError(t, d.Start(conn))
			dec := d.NewDecoder(conn)
			got := next(t, dec, 200)
			sent := rec.Get()
			if proto == ProtocolNew {
				expect(t, proto, got, sent)
			} else {
				// each damage also costs the packet before it: every sample
				// is a packet sent, in order, and most packets arrive
				j := 0
				for i, s := range got {
					for j < len(sent) && (sent[j].Truncated || wire(proto, sent[j].Packet) != vals(s)) {
						j++
					}
					require.Less(t, j, len(sent), "sample %d was not sent (in this order)", i)
					j++
				}
				assert.Greater(t, len(got), j*6/10) // 18 of 77 packets are damaged or precede damage
			}
			L := newLen
			if proto == ProtocolOld {
				L = oldLen
			}
			if proto == ProtocolNew { // Start saw the whole stream: count every byte
				var dropped uint64
				n := 0
				for _, p := range sent {
					if n == len(got) {
						break
					}
					dropped += uint64(p.Garbage)
					if p.Truncated {
						dropped += uint64(L / 2)
						continue
					}
					n++
				}
				assert.Equal(t, dropped, dec.Dropped())
			}
			assert.Positive(t, dec.Dropped())
		})
	}
}

// A unit that stops after StopAfter is started again by the decoder: the
// samples keep coming across the stops. The decoder may be handed a
// read-only wrapper of the port (the bridge meters its reads): it then
// restarts on the port Start was given.
func TestRestartAfterStop(t *testing.T) {
	for _, wrapped := range []bool{false, true} {
		t.Run(map[bool]string{false: "port", true: "wrapped port"}[wrapped], func(t *testing.T) {
			sim, rec, conn := runSim(t, SimConfig{Synth: synth.Config{Seed: 2}, StopAfter: 300 * time.Millisecond})
			d := device(t, Config{Restart: 100 * time.Millisecond})
			require.NoError(t, d.Start(conn))
			var r io.Reader = conn
			if wrapped {
				r = struct{ io.Reader }{conn}
			}
			dec := d.NewDecoder(r)
			got := next(t, dec, 2*Rate) // 2 s of data across several 300 ms runs
			assert.GreaterOrEqual(t, sim.Starts(), 4)
			expect(t, ProtocolNew, got, rec.Get())
			assert.Zero(t, dec.Dropped())
		})
	}
}

// A unit that stops and ignores the start commands: the decoder gives up
// after three of them with an error wrapping ErrSilent.
func TestRestartGivesUp(t *testing.T) {
	a, b := net.Pipe()
	var mu sync.Mutex
	var heard []byte
	done := make(chan struct{})
	go func() { // ten packets, then deaf
		defer close(done)
		data, _ := stream(ProtocolNew, 10)
		if _, err := b.Write(data); err != nil {
			return
		}
		buf := make([]byte, 64)
		for {
			n, err := b.Read(buf)
			mu.Lock()
			heard = append(heard, buf[:n]...)
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { a.Close(); b.Close(); <-done })
	dec := device(t, Config{Restart: 50 * time.Millisecond}).NewDecoder(namedConn{Conn: a, Path: "/dev/ttyUSB3"})
	got := next(t, dec, 10)
	assert.Equal(t, uint32(9), got[9].Seq)
	start := time.Now()
	_, err := dec.Next()
	require.ErrorIs(t, err, serialport.ErrSilent)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.ErrorContains(t, err, "no packet from /dev/ttyUSB3 for 200ms after 3 start commands: the oximeter stopped")
	_, err2 := dec.Next()
	assert.Equal(t, err, err2, "the error is sticky")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, bytes.Repeat(startCommand[:], 3), heard)
}

// Packets are paced by the wall clock: packet k is due k/60 s after the start.
func TestSimRate(t *testing.T) {
	_, _, conn := runSim(t, SimConfig{})
	d := device(t, Config{})
	before := time.Now()
	require.NoError(t, d.Start(conn))
	next(t, d.NewDecoder(conn), Rate/2)
	el := time.Since(before)
	assert.GreaterOrEqual(t, el, 500*time.Millisecond)
	assert.Less(t, el, 3500*time.Millisecond)
}

func TestSimStopAfterAndOverrun(t *testing.T) {
	sim, err := NewSim(SimConfig{StopAfter: 500 * time.Millisecond}) // default backlog: 1 s
	require.NoError(t, err)
	var st simState
	t0 := time.Now()
	for _, c := range startCommand {
		sim.command(&st, c, t0)
	}
	require.True(t, st.streaming)
	assert.Equal(t, 1, sim.Starts())
	data := sim.packets(&st, t0.Add(400*time.Millisecond), nil)
	assert.Len(t, data, 24*newLen)
	data = sim.packets(&st, t0.Add(2*time.Second), nil)
	assert.Len(t, data, 6*newLen, "the stream ended 500 ms after the start command")
	assert.False(t, st.streaming)
	assert.Nil(t, sim.packets(&st, t0.Add(3*time.Second), nil))

	old, err := NewSim(SimConfig{Protocol: ProtocolOld})
	require.NoError(t, err)
	st = simState{streaming: true, t0: t0}
	st.overflow.Wrote(3*time.Second, 0) // nobody read the port for 3 s
	data = old.packets(&st, t0.Add(3*time.Second), nil)
	assert.Len(t, data, Rate*oldLen, "one second of packets")
	assert.Equal(t, int64(2*Rate), st.overruns)
	assert.InDelta(t, 3*time.Second, old.Synth().Now(), float64(time.Microsecond), "the physiology kept time")
}

// Run returns nil promptly on Close or cancel even when nobody reads.
func TestSimStops(t *testing.T) {
	simtest.CheckStops(t, func(t *testing.T) simtest.Sim {
		sim, err := NewSim(SimConfig{Protocol: ProtocolOld})
		require.NoError(t, err)
		return sim
	}, func(t *testing.T, a io.ReadWriter) {
		_, err := device(t, Config{Protocol: ProtocolOld}).NewDecoder(a).Next()
		require.NoError(t, err)
	})
}

func TestSimPeerHangsUp(t *testing.T) {
	sim, err := NewSim(SimConfig{})
	require.NoError(t, err)
	simtest.CheckHangUp(t, sim)
}

func TestNewSimChecks(t *testing.T) {
	_, err := NewSim(SimConfig{Protocol: "v9"})
	assert.ErrorContains(t, err, `protocol "v9" is unknown`)
	_, err = NewSim(SimConfig{StopAfter: -1})
	assert.ErrorContains(t, err, "must not be negative")
}

// Stimulus schedules an SCR 1–3 s later in the generator's ground truth.
func TestSimStimulus(t *testing.T) {
	sim, err := NewSim(SimConfig{Synth: synth.Config{SpontaneousPerMin: -1}})
	require.NoError(t, err)
	sim.Synth().Next(10 * time.Second)
	onset := sim.Stimulus()
	scrs := sim.Synth().SCRs()
	require.Len(t, scrs, 1)
	assert.True(t, scrs[0].Stimulus)
	assert.Equal(t, onset, scrs[0].Onset)
	assert.GreaterOrEqual(t, onset, 11*time.Second)
	assert.LessOrEqual(t, onset, 13*time.Second)
}

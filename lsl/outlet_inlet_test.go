package lsl_test

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/cueroom/cueroom/internal/leakcheck"
	"github.com/cueroom/cueroom/lsl"
	"github.com/cueroom/cueroom/lsl/lsltest"
)

func resolve(t *testing.T, ctx context.Context, sel string, want int) []lsl.StreamInfo {
	t.Helper()
	pred, err := lsl.ParseSelector(sel)
	if err != nil {
		t.Fatal(err)
	}
	got, err := lsl.Resolve(ctx, pred, want, lsl.WithConfig(lsltest.Config()), lsl.WithLogf(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func connect(t *testing.T, ctx context.Context, info lsl.StreamInfo) *lsl.Inlet {
	t.Helper()
	in, err := lsl.NewInlet(ctx, info, lsl.WithConfig(lsltest.Config()), lsl.WithLogf(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	return in
}

// Our inlet resolves our outlets by name, by type and by XPath, reads the
// full description, and receives every format exactly, on the outlet's
// clock; the time correction between two of ours on one machine is ~0.
func TestOutletToInlet(t *testing.T) {
	if !lsltest.Isolate(t) {
		return
	}
	leakcheck.Check(t)
	ctx := ctxFor(t, 30*time.Second)
	for _, f := range []lsl.ChannelFormat{lsl.Float32, lsl.Double64, lsl.Int32, lsl.Int16, lsl.Int8, lsl.Int64, lsl.String} {
		t.Run(f.String(), func(t *testing.T) {
			info := eegInfo("cueroom-"+f.String(), 3, f, 250)
			info.Type = "Test" + f.String()
			o := newOutlet(t, info)
			got := resolve(t, ctx, "type=Test"+f.String(), 1)
			if len(got) != 1 || got[0].UID != o.Info().UID || got[0].V4Address != "127.0.0.1" {
				t.Fatalf("resolved %+v", got)
			}
			in := connect(t, ctx, got[0])
			if full := in.Info(); !reflect.DeepEqual(full.Channels, info.Channels) || !reflect.DeepEqual(full.Fields, info.Fields) {
				t.Errorf("description: %+v", full)
			}
			if err := o.WaitForConsumers(ctx, 1); err != nil {
				t.Fatal(err)
			}
			t0 := lsl.LocalClock()
			vals := [][]float64{{1, -2, 3}, {100, -100, 0}, {0.5, 0.25, -0.125}}
			strs := [][]string{{"a", "", "ü"}, {"cue_onset", "x", "y"}, {"1", "2", "3"}}
			for i := range vals {
				var err error
				ts := t0 + float64(i)/250
				if i == 2 {
					ts = lsl.DeducedTimestamp
				}
				if f == lsl.String {
					err = o.PushStrings(ts, strs[i]...)
				} else {
					err = o.Push(ts, vals[i])
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			var s lsl.Sample
			for i := range vals {
				if err := in.Next(&s); err != nil {
					t.Fatal(err)
				}
				if want := t0 + float64(i)/250; math.Abs(s.T-want) > 1e-9 {
					t.Errorf("sample %d at %.9f, pushed %.9f", i, s.T, want)
				}
				if f == lsl.String {
					if !slices.Equal(s.Strings, strs[i]) {
						t.Errorf("sample %d: %q", i, s.Strings)
					}
					continue
				}
				want := slices.Clone(vals[i])
				if f != lsl.Float32 && f != lsl.Double64 {
					for k := range want {
						want[k] = math.Round(want[k]) // integer formats round
					}
				}
				if !slices.Equal(s.Values, want) {
					t.Errorf("sample %d: %v, want %v", i, s.Values, want)
				}
			}
			c, err := in.TimeCorrection(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(c.Offset) > 0.001 || c.RTT <= 0 || c.RTT > 0.01 {
				t.Errorf("time correction %+v", c)
			}
		})
	}
}

// Discovery finds several outlets, also when liblsl would be one of them;
// queries match what they say.
func TestResolve(t *testing.T) {
	if !lsltest.Isolate(t) {
		return
	}
	leakcheck.Check(t)
	ctx := ctxFor(t, 30*time.Second)
	a := newOutlet(t, eegInfo("cueroom-A", 2, lsl.Float32, 100))
	b := newOutlet(t, eegInfo("cueroom-B", 2, lsl.Float32, 100))
	m := newOutlet(t, markerInfo("cueroom-Markers"))
	uids := func(infos []lsl.StreamInfo) []string {
		var u []string
		for _, i := range infos {
			u = append(u, i.UID)
		}
		slices.Sort(u)
		return u
	}
	sorted := func(s ...string) []string { slices.Sort(s); return s }
	for _, tc := range []struct {
		sel  string
		want []string
	}{
		{"cueroom-A", []string{a.Info().UID}},
		{"type=EEG", sorted(a.Info().UID, b.Info().UID)},
		{"starts-with(name,'cueroom-')", sorted(a.Info().UID, b.Info().UID, m.Info().UID)},
		{"desc/channels/channel/label='ch2'", sorted(a.Info().UID, b.Info().UID)},
	} {
		got := resolve(t, ctx, tc.sel, len(tc.want))
		if !slices.Equal(uids(got), tc.want) {
			t.Errorf("%s: resolved %v, want %v", tc.sel, uids(got), tc.want)
		}
	}

	// All streams: gather for a while.
	wctx, cancel := context.WithTimeout(ctx, 1200*time.Millisecond)
	defer cancel()
	all, err := lsl.Resolve(wctx, "", 0, lsl.WithConfig(lsltest.Config()))
	if err != nil || len(all) != 3 {
		t.Errorf("all streams: %d, %v", len(all), err)
	}

	// Nothing: an error that says so when the time is up.
	nctx, cancel2 := context.WithTimeout(ctx, 700*time.Millisecond)
	defer cancel2()
	if _, err := lsl.Resolve(nctx, "name='nobody'", 1, lsl.WithConfig(lsltest.Config())); !errors.Is(err, lsl.ErrNotFound) {
		t.Errorf("resolving nothing: %v", err)
	}
}

// An inlet sees its outlet go away: Next ends with an error.
func TestInletSeesOutletClose(t *testing.T) {
	if !lsltest.Isolate(t) {
		return
	}
	leakcheck.Check(t)
	ctx := ctxFor(t, 30*time.Second)
	o := newOutlet(t, eegInfo("cueroom-Gone", 1, lsl.Double64, 10))
	in := connect(t, ctx, resolve(t, ctx, "cueroom-Gone", 1)[0])
	if err := o.WaitForConsumers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	o.Push(0, []float64{1}) //nolint:errcheck // checked below
	o.Close()
	var s lsl.Sample
	if err := in.Next(&s); err != nil || s.Values[0] != 1 {
		t.Fatalf("the sample pushed before closing: %v %v", s, err)
	}
	if err := in.Next(&s); err == nil || !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		t.Fatalf("after the outlet closed: %v", err)
	}
	if err := o.Push(0, []float64{2}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("push after close: %v", err)
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}

// Without a namespace, discovery refuses to start in a test (this test
// runs on the host's network on purpose, and sends nothing).
func TestDiscoveryRefusedOutsideNamespace(t *testing.T) {
	if lsl.Isolated() {
		t.Skip("this process sees only loopback interfaces")
	}
	if _, err := lsl.NewOutlet(markerInfo("x")); !errors.Is(err, lsl.ErrNotIsolated) {
		t.Errorf("NewOutlet: %v", err)
	}
	if _, err := lsl.Resolve(context.Background(), "", 0); !errors.Is(err, lsl.ErrNotIsolated) {
		t.Errorf("Resolve: %v", err)
	}
	// Serving by address only joins nothing and sends nothing: allowed.
	o, err := lsl.NewOutlet(markerInfo("x"), lsl.WithConfig(lsl.Config{NoDiscovery: true, Listen: loopback}))
	if err != nil {
		t.Fatal(err)
	}
	o.Close()
}

var loopback = netip.MustParseAddr("127.0.0.1")

// A silent stream trips the inlet's read deadline (the sensor layer's
// silence watchdog).
func TestInletReadDeadline(t *testing.T) {
	if !lsltest.Isolate(t) {
		return
	}
	leakcheck.Check(t)
	ctx := ctxFor(t, 30*time.Second)
	newOutlet(t, eegInfo("cueroom-Silent", 1, lsl.Float32, 10))
	in := connect(t, ctx, resolve(t, ctx, "cueroom-Silent", 1)[0])
	if err := in.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	var s lsl.Sample
	if err := in.Next(&s); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Next on a silent stream: %v", err)
	}
}

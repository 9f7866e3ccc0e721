package spec

import (
	"strings"
	"testing"
	"time"
)

// FuzzParse: any spec text (a command line) either fails with an error
// quoting it or parses to a spec whose canonical form parses to itself;
// fault schedules parse to windows in order.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"bitalino:/dev/rfcomm0?rate=100&eda=older&name=left", "sim:bitalino?seed=3", "auto?active=true&listen=1s",
		"csv:/dev/ttyACM0?columns=eda_uS,hr_bpm,-&units=hr:bpm&counter=-", "kv:ttyACM0?baud=9600&silence=10s",
		"sim:contec?fingerout=20s-30s,1m&motion=5s-8s&motionrate=2", "sim:shimmer?fingerout=1m30s-1m31.5s",
		"sim:grove?motion=0s-1ns", "sim:contec?fingerout=10s-20s,15s", "sim:pulsesensor?fingerout=-1s", "sim:", "?", "",
		"sim:bitalino?photodiode=A5&lag=12ms", "sim:bitalino?photodiode=a1&inputs=A2:eda,A3&lag=1s", "sim:bitalino?lag=-1ms",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := Parse(s)
		if err != nil {
			if !strings.Contains(err.Error(), "sensor ") {
				t.Fatalf("error does not quote the spec: %v", err)
			}
			return
		}
		again, err := Parse(sp.String())
		if err != nil {
			t.Fatalf("%q parses but its canonical form %q does not: %v", s, sp.String(), err)
		}
		if again.String() != sp.String() {
			t.Fatalf("canonical form of %q: %q, then %q", s, sp.String(), again.String())
		}
		if sp.Opts.Has("photodiode") {
			// a photodiode parses, on a free input, with a lag in range
			p := photodiode(sp.Opts)
			in, err := parseInputs(sp.Opts.Get("inputs"))
			if err != nil || p.Analog < 1 || p.Analog > 6 || p.Lag < 0 || p.Lag > time.Second {
				t.Fatalf("%q passed the checks but: photodiode %+v, inputs %v (%v)", s, p, in, err)
			}
			for _, x := range in {
				if x.Analog == p.Analog {
					t.Fatalf("%q passed the checks with the photodiode on a used input", s)
				}
			}
		}
		for _, name := range []string{"fingerout", "motion"} {
			if !sp.Opts.Has(name) {
				continue
			}
			ws, err := parseWindows(sp.Opts.Get(name), name == "motion")
			if err != nil || len(ws) == 0 {
				t.Fatalf("%s=%q passed the check but: %v", name, sp.Opts.Get(name), err)
			}
			for i, w := range ws {
				if w.From < 0 || (w.To != 0 && w.To <= w.From) || (i > 0 && w.From < ws[i-1].To) || (w.To == 0 && i < len(ws)-1) {
					t.Fatalf("%s=%q: bad window %d: %+v", name, sp.Opts.Get(name), i, ws)
				}
			}
		}
	})
}

package detect

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors/bitalino"
	"github.com/cueroom/cueroom/sensors/lineproto"
	"github.com/cueroom/cueroom/sensors/serialport"
	"github.com/cueroom/cueroom/sensors/simport"
)

func TestRecognise(t *testing.T) {
	tests := []struct {
		port   Port
		likely string
		kinds  []string
	}{
		{Port{Name: "/dev/ttyUSB0", IsUSB: true, VID: "10c4", PID: "ea60"}, "likely a Contec CMS50D+", []string{"contec"}},
		{Port{Name: "/dev/ttyACM0", IsUSB: true, VID: "2341", PID: "0043"}, "Arduino board", []string{"pulsesensor", "arduino"}},
		{Port{Name: "/dev/ttyUSB1", IsUSB: true, VID: "1A86", PID: "7523"}, "CH340", []string{"pulsesensor", "arduino"}},
		{Port{Name: "/dev/ttyUSB2", IsUSB: true, VID: "0403", PID: "6001"}, "FTDI FT232R", []string{"pulsesensor", "arduino"}},
		{Port{Name: "/dev/ttyUSB3", IsUSB: true, VID: "067B", PID: "2303"}, "USB serial device 067B:2303, not one we know", []string{"arduino"}},
		{Port{Name: "/dev/rfcomm0"}, "likely a BITalino or a Shimmer", []string{"bitalino", "shimmer"}},
		{Port{Name: "/dev/ttyS0"}, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.port.Name, func(t *testing.T) {
			p := Recognise(tc.port)
			if tc.likely == "" {
				assert.Empty(t, p.Likely)
			} else {
				assert.Contains(t, p.Likely, tc.likely)
			}
			assert.Equal(t, tc.kinds, p.Kinds)
			assert.Equal(t, strings.ToUpper(tc.port.VID), p.VID)
		})
	}
}

// rig is a simulator on a pty, reachable under a chosen name (a symlink),
// as the enumerator would list it.
func rig(t *testing.T, name string, sim simport.Simulator) string {
	t.Helper()
	p, err := simport.Start(context.Background(), sim)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	if name == "" {
		return p.Path
	}
	link := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.Symlink(p.Path, link))
	return link
}

func groveSim(t *testing.T) simport.Simulator {
	s, err := lineproto.NewSim(lineproto.SimConfig{Rate: 100})
	require.NoError(t, err)
	return s
}

func bitSim(t *testing.T) simport.Simulator {
	s, err := bitalino.NewSim(bitalino.SimConfig{})
	require.NoError(t, err)
	return s
}

var silent = simport.Func(func(ctx context.Context, _ io.ReadWriter) error { <-ctx.Done(); return nil })

func ports(ps ...Port) func() ([]Port, error) { return func() ([]Port, error) { return ps, nil } }

func TestList(t *testing.T) {
	grove := rig(t, "", groveSim(t))
	bit := rig(t, "rfcomm7", bitSim(t))
	quiet := rig(t, "", silent)
	busy := rig(t, "", groveSim(t))
	hold, err := serialport.Open(busy, serialport.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { hold.Close() })
	all := ports(
		Port{Name: grove, IsUSB: true, VID: "1a86", PID: "7523", Serial: "A1B2"},
		Port{Name: bit},
		Port{Name: quiet, IsUSB: true, VID: "2341", PID: "0043"},
		Port{Name: busy, IsUSB: true, VID: "0403", PID: "6001"},
		Port{Name: "/dev/ttyS4"},
	)
	tests := []struct {
		name  string
		opt   Options
		found map[string]string // port → spec found
		notes map[string]string // port → part of its note
	}{
		{"listing only", Options{}, map[string]string{}, map[string]string{grove: "", bit: ""}},
		{"listening", Options{Probe: true}, map[string]string{grove: "grove:" + grove + "?baud=115200"},
			map[string]string{bit: "not probed for bitalino: that needs commands sent to the device; allow it with auto?active=true",
				quiet: "probed: nothing recognised", busy: "could not probe: busy", "/dev/ttyS4": "not probed: not a USB or Bluetooth port"}},
		{"asking too", Options{Probe: true, Active: true}, map[string]string{grove: "grove:" + grove + "?baud=115200", bit: "bitalino:" + bit},
			map[string]string{quiet: "nothing recognised"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opt.Ports, tc.opt.Listen = all, 400*time.Millisecond
			got, err := List(context.Background(), tc.opt)
			require.NoError(t, err)
			require.Len(t, got, 5)
			for _, p := range got {
				if want, ok := tc.found[p.Name]; ok {
					require.NotNil(t, p.Found, "%s: %s", p.Name, p.Note)
					assert.Equal(t, want, p.Found.Spec.String())
					assert.Contains(t, p.String(), "found "+want)
				} else {
					assert.Nil(t, p.Found, p.Name)
				}
				if note, ok := tc.notes[p.Name]; ok {
					assert.Contains(t, p.Note, note, p.Name)
				}
			}
			assert.Equal(t, grove+" [USB 1A86:7523, serial A1B2]: CH340 USB-serial bridge: likely an Arduino (clone) rig",
				strings.Split(got[0].String(), ";")[0])
			if tc.opt.Active {
				assert.Equal(t, "BITalino_v5.2", got[1].Found.Detail)
				assert.True(t, got[1].Found.Strong)
			}
		})
	}
}

func TestAuto(t *testing.T) {
	grove := rig(t, "", groveSim(t))
	kv, err := lineproto.NewSim(lineproto.SimConfig{Mode: lineproto.KV, Rate: 100})
	require.NoError(t, err)
	kvPort := rig(t, "", kv)
	bit := rig(t, "rfcomm3", bitSim(t))
	quiet := rig(t, "", silent)
	usb := func(name string) Port { return Port{Name: name, IsUSB: true, VID: "2341", PID: "0043"} }
	tests := []struct {
		name   string
		opt    Options
		spec   string
		errHas []string
	}{
		{"one rig", Options{Ports: ports(usb(grove), usb(quiet))}, "grove:" + grove + "?baud=115200", nil},
		{"a bitalino when allowed to ask", Options{Ports: ports(Port{Name: bit}, usb(quiet)), Active: true}, "bitalino:" + bit, nil},
		{"a bitalino, not asked", Options{Ports: ports(Port{Name: bit}, usb(quiet))}, "",
			[]string{"auto: no sensor recognised; ports:", bit + ": Bluetooth serial link (rfcomm): likely a BITalino or a Shimmer",
				"write --sensor KIND:PORT (e.g. bitalino:/dev/rfcomm0), or let auto send commands: --sensor auto?active=true"}},
		{"two", Options{Ports: ports(usb(grove), usb(kvPort))}, "",
			[]string{"auto: several sensors found; name each with its own --sensor: --sensor grove:" + grove + "?baud=115200 --sensor kv:" + kvPort}},
		{"none", Options{Ports: ports(usb(quiet))}, "", []string{"auto: no sensor recognised", quiet + " [USB 2341:0043]", "nothing recognised"}},
		{"no ports", Options{Ports: ports()}, "", []string{"there is no serial port: plug the device in"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opt.Listen = 400 * time.Millisecond
			s, _, err := Auto(context.Background(), tc.opt)
			if tc.spec != "" {
				require.NoError(t, err)
				assert.Equal(t, tc.spec, s.String())
				_, err := s.Device()
				require.NoError(t, err, "the spec found builds a device")
				return
			}
			require.Error(t, err)
			for _, h := range tc.errHas {
				assert.Contains(t, err.Error(), h)
			}
		})
	}
}

func TestAutoCancelled(t *testing.T) {
	quiet := rig(t, "", silent)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	_, _, err := Auto(ctx, Options{Ports: ports(Port{Name: quiet, IsUSB: true}), Listen: 5 * time.Second})
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 3*time.Second)
}

func TestSystem(t *testing.T) {
	ps, err := System()
	require.NoError(t, err)
	for _, p := range ps {
		assert.NotEmpty(t, p.Name)
		assert.NotContains(t, p.Name, "/dev/pts/", "ptys are never listed")
	}
}

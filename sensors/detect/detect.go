// Package detect finds sensors: it lists serial ports with their USB ids,
// says what each is likely to be, and probes where that is safe, so
// `cueroom devices` can show what is plugged in and `--sensor auto` can pick
// the one sensor there is.
//
// Probing never sends a byte unless asked (Options.Active): by default it
// only listens, which finds devices that stream unprompted (Arduino rigs,
// oximeters); devices that wait for a command (BITalino, Shimmer) are named
// from their link (a Bluetooth rfcomm port) and left alone.
package detect

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"

	"github.com/cueroom/cueroom/sensors/serialport"
	"github.com/cueroom/cueroom/sensors/spec"
)

// Port is a serial port and what is known about it.
type Port struct {
	Name    string // path, e.g. /dev/ttyUSB0
	IsUSB   bool
	VID     string // USB vendor id, uppercase hex ("10C4")
	PID     string // USB product id
	Serial  string // USB serial number
	Product string // USB product string, when the system gives it

	Likely string   // what the USB id or the name suggests; "" if nothing
	Kinds  []string // registered kinds worth trying here, most specific first

	Found *Found // what probing recognised, nil if nothing
	Note  string // why it was not probed, or what went wrong
}

// Found is a recognised sensor.
type Found struct {
	Spec   spec.Spec // ready to use, e.g. grove:/dev/ttyUSB0
	Detail string    // what the probe saw
	Strong bool      // identified beyond doubt (see spec.Match)
}

// Options tune List and Auto.
type Options struct {
	// Ports lists the ports to consider; default System. Tests inject
	// ptys here (the enumerator never lists them).
	Ports func() ([]Port, error)
	// Probe listens on the ports for devices that stream unprompted.
	Probe bool
	// Active also runs probes that send commands (a BITalino version
	// query): only when the user asked, as the bytes mean other things to
	// other devices.
	Active bool
	// Listen bounds each probe attempt; default 2.5 s (an Arduino resets
	// when its port opens and needs 1–2 s to print again).
	Listen time.Duration
}

// FromSpec reads an auto spec's options (auto?active=true&listen=1s).
func FromSpec(s spec.Spec) Options {
	return Options{Active: s.Opts.Bool("active"), Listen: s.Opts.Duration("listen")}
}

// usb ids we recognise. An empty pid matches any product of the vendor.
var usbIDs = []struct {
	vid, pid string
	likely   string
	kinds    []string
}{
	{"10C4", "EA60", "Silicon Labs CP210x USB-serial bridge: likely a Contec CMS50D+ pulse oximeter (other devices use this chip too)",
		[]string{"contec"}},
	{"2341", "", "Arduino board: likely an Arduino rig (Grove GSR, PulseSensor, CSV or key=value lines)", arduino},
	{"2A03", "", "Arduino board: likely an Arduino rig (Grove GSR, PulseSensor, CSV or key=value lines)", arduino},
	{"1A86", "7523", "CH340 USB-serial bridge: likely an Arduino (clone) rig", arduino},
	{"1A86", "5523", "CH341 USB-serial bridge: likely an Arduino (clone) rig", arduino},
	{"1A86", "55D4", "CH9102 USB-serial bridge: likely an Arduino (clone) rig", arduino},
	{"0403", "6001", "FTDI FT232R USB-serial bridge: likely an Arduino rig", arduino},
	{"0403", "6015", "FTDI FT-X USB-serial bridge: likely an Arduino rig", arduino},
	{"239A", "", "Adafruit board: likely an Arduino-style rig", arduino},
	{"1B4F", "", "SparkFun board: likely an Arduino-style rig", arduino},
}

// arduino rigs: the PulseSensor's own format first, then generic lines.
var arduino = []string{"pulsesensor", "arduino"}

// Recognise fills in Likely and Kinds from the USB id or the port's name.
// Kinds holds only registered kinds; Likely may name a device whose driver
// is not there yet.
func Recognise(p Port) Port {
	p.VID, p.PID = strings.ToUpper(p.VID), strings.ToUpper(p.PID)
	var kinds []string
	base := p.Name[strings.LastIndexByte(p.Name, '/')+1:]
	switch {
	case p.IsUSB || p.VID != "":
		p.Likely = fmt.Sprintf("USB serial device %s:%s, not one we know", p.VID, p.PID)
		for _, id := range usbIDs {
			if id.vid == p.VID && (id.pid == "" || id.pid == p.PID) {
				p.Likely, kinds = id.likely, id.kinds
				break
			}
		}
		if kinds == nil { // unknown USB serial: listening is harmless
			for _, k := range spec.Kinds() {
				if k.Probe != nil && !k.Probe.Sends {
					kinds = append(kinds, k.Name)
				}
			}
		}
	case strings.HasPrefix(base, "rfcomm"):
		p.Likely = "Bluetooth serial link (rfcomm): likely a BITalino or a Shimmer"
		kinds = []string{"bitalino", "shimmer"}
	default:
		p.Likely = ""
	}
	p.Kinds = nil
	for _, k := range kinds {
		if _, ok := spec.Lookup(k); ok {
			p.Kinds = append(p.Kinds, k)
		}
	}
	return p
}

// System lists the machine's serial ports with go.bug.st/serial's
// enumerator (USB ids from sysfs). Pseudo-terminals are never listed.
func System() ([]Port, error) {
	names, err := serial.GetPortsList()
	if err != nil {
		return nil, fmt.Errorf("detect: listing serial ports: %w", err)
	}
	details, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, fmt.Errorf("detect: reading serial port details: %w", err)
	}
	var out []Port
	seen := map[string]bool{}
	for _, d := range details {
		if d.Name == "" { // the enumerator returns blanks for ports without a sysfs device (rfcomm)
			continue
		}
		seen[d.Name] = true
		out = append(out, Port{Name: d.Name, IsUSB: d.IsUSB, VID: d.VID, PID: d.PID, Serial: d.SerialNumber, Product: d.Product})
	}
	for _, n := range names {
		if !seen[n] {
			out = append(out, Port{Name: n})
		}
	}
	slices.SortFunc(out, func(a, b Port) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// List lists the ports, recognises them, and with Options.Probe probes
// each (in parallel) until one of its kinds matches.
func List(ctx context.Context, opt Options) ([]Port, error) {
	if opt.Ports == nil {
		opt.Ports = System
	}
	if opt.Listen <= 0 {
		opt.Listen = 2500 * time.Millisecond
	}
	ports, err := opt.Ports()
	if err != nil {
		return nil, err
	}
	for i := range ports {
		ports[i] = Recognise(ports[i])
	}
	if !opt.Probe {
		return ports, nil
	}
	var wg sync.WaitGroup
	for i := range ports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			probe(ctx, &ports[i], opt)
		}()
	}
	wg.Wait()
	return ports, ctx.Err()
}

// probe tries the port's kinds in order and stops at the first match.
func probe(ctx context.Context, p *Port, opt Options) {
	if len(p.Kinds) == 0 {
		if p.Likely == "" {
			p.Note = "not probed: not a USB or Bluetooth port (a built-in UART is rarely a sensor)"
		} else {
			p.Note = "not probed: no driver for it yet"
		}
		return
	}
	var notAsked []string
	for _, name := range p.Kinds {
		k, _ := spec.Lookup(name)
		if k.Probe == nil {
			continue
		}
		if k.Probe.Sends && !opt.Active {
			notAsked = append(notAsked, name)
			continue
		}
		m, err := k.Probe.Run(ctx, p.Name, opt.Listen)
		if err != nil {
			p.Note = "could not probe: " + portProblem(err)
			return
		}
		if !m.OK {
			continue
		}
		kind := m.Kind
		if kind == "" {
			kind = name
		}
		raw := kind + ":" + p.Name
		if q := url.Values(m.Opts).Encode(); q != "" {
			raw += "?" + q
		}
		s, err := spec.Parse(raw)
		if err != nil { // a probe proposing a bad spec is a bug; say so rather than hide the port
			p.Note = fmt.Sprintf("probe %s proposed %q: %v", name, raw, err)
			return
		}
		p.Found = &Found{Spec: s, Detail: m.Detail, Strong: m.Strong}
		return
	}
	switch {
	case len(notAsked) > 0:
		p.Note = fmt.Sprintf("not probed for %s: that needs commands sent to the device; allow it with auto?active=true "+
			"or name it, e.g. --sensor %s:%s", strings.Join(notAsked, " or "), notAsked[0], p.Name)
	default:
		p.Note = "probed: nothing recognised (no data, or a format we do not know)"
	}
}

func portProblem(err error) string {
	switch {
	case errors.Is(err, serialport.ErrBusy):
		return "busy: another program has it open"
	case errors.Is(err, serialport.ErrPermission):
		return "permission denied: add your user to the dialout group (sudo usermod -aG dialout $USER) and log in again"
	case errors.Is(err, serialport.ErrNotFound):
		return "it disappeared while probing"
	}
	return err.Error()
}

// String describes the port on one line, for `cueroom devices`.
func (p Port) String() string {
	var b strings.Builder
	b.WriteString(p.Name)
	var id []string
	if p.IsUSB || p.VID != "" {
		id = append(id, "USB "+p.VID+":"+p.PID)
	}
	if p.Serial != "" {
		id = append(id, "serial "+p.Serial)
	}
	if p.Product != "" {
		id = append(id, fmt.Sprintf("%q", p.Product))
	}
	if len(id) > 0 {
		b.WriteString(" [" + strings.Join(id, ", ") + "]")
	}
	if p.Likely != "" {
		b.WriteString(": " + p.Likely)
	}
	if p.Found != nil {
		fmt.Fprintf(&b, "; found %s (%s)", p.Found.Spec, p.Found.Detail)
	} else if p.Note != "" {
		b.WriteString("; " + p.Note)
	}
	return b.String()
}

// Auto probes the ports and returns the spec of the single sensor found.
// Otherwise its error lists every port and what is known of it, and says
// what to write instead.
func Auto(ctx context.Context, opt Options) (spec.Spec, []Port, error) {
	opt.Probe = true
	ports, err := List(ctx, opt)
	if err != nil {
		return spec.Spec{}, ports, fmt.Errorf("auto: %w", err)
	}
	var found []Port
	for _, p := range ports {
		if p.Found != nil {
			found = append(found, p)
		}
	}
	if len(found) == 1 {
		return found[0].Found.Spec, ports, nil
	}
	var b strings.Builder
	if len(found) == 0 {
		b.WriteString("auto: no sensor recognised")
	} else {
		b.WriteString("auto: several sensors found; name each with its own --sensor:")
		for _, p := range found {
			b.WriteString(" --sensor " + p.Found.Spec.String())
		}
	}
	if len(ports) == 0 {
		b.WriteString("; there is no serial port: plug the device in (USB) or bind it (Bluetooth: sudo rfcomm bind 0 MAC 1)")
	} else {
		b.WriteString("; ports:")
		for _, p := range ports {
			b.WriteString("\n  " + p.String())
		}
	}
	if len(found) == 0 {
		b.WriteString("\nwrite --sensor KIND:PORT (e.g. bitalino:/dev/rfcomm0)")
		if !opt.Active && slices.ContainsFunc(ports, func(p Port) bool { return strings.Contains(p.Note, "needs commands") }) {
			b.WriteString(", or let auto send commands: --sensor auto?active=true")
		}
	}
	return spec.Spec{}, ports, errors.New(b.String())
}

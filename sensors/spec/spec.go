// Package spec reads sensor specs, the values of --sensor:
//
//	KIND:PORT[?opts]   a device on a serial port, e.g. bitalino:/dev/rfcomm0?rate=100
//	sim:KIND[?opts]    a simulated device, e.g. sim:grove
//	auto[?opts]        the single device auto-detection finds (package detect)
//
// and keeps the registry of device kinds: how to build each kind's Device
// and simulator from validated options, and how to recognise it on a port.
// A new device driver is one Register call (see kinds.go).
package spec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/synth"
)

// Sim is a device simulator: it speaks the device's bytes on the master side
// of a pty (simport.Start serves it) and lets cue onsets trigger skin
// conductance responses.
type Sim interface {
	Run(ctx context.Context, rw io.ReadWriter) error
	Stimulus() time.Duration
	Close() error
}

// Kind is a device driver in the registry.
type Kind struct {
	Name    string // as written in a spec: lowercase letters and digits
	Summary string // one line for help: what the device is and measures
	Example string // a spec for help, e.g. "bitalino:/dev/rfcomm0?rate=100"
	// Options the kind accepts besides the common ones (name, silence,
	// and seed for simulators); each is validated before New or NewSim.
	Options []Option
	// Check, if set, validates the options together once each has passed
	// its own check (one option that needs another, values that clash).
	Check  func(Opts) error
	New    func(Opts) (sensors.Device, error)
	NewSim func(Opts) (Sim, error) // nil: no simulator
	Probe  *Probe                  // nil: not recognised by probing
}

// Probe recognises a kind on a port.
type Probe struct {
	// Sends says the probe writes to the port (a version query): it runs
	// only when the user asked for it, never on an unknown device by
	// default. A probe that only listens is safe on any port.
	Sends bool
	// Run opens path itself (with the kind's line setting), listens (and,
	// if Sends, asks) for at most listen per attempt, closes it, and says
	// whether the kind is there. An error is a port problem (busy, gone),
	// not a mismatch.
	Run func(ctx context.Context, path string, listen time.Duration) (Match, error)
}

// Match is what a probe found.
type Match struct {
	OK     bool
	Kind   string     // the kind to use; "" means the probing kind
	Opts   url.Values // options that reproduce the setting found (baud=9600)
	Detail string     // for people: "Grove GSR lines at 9600 baud", "BITalino_v5.2"
	// Strong: the bytes identify the device beyond doubt (a version reply,
	// checksummed frames); generic text lines are not.
	Strong bool
}

// Option is a kind's option.
type Option struct {
	Name    string
	Help    string // e.g. "sampling rate, Hz"
	Default string // shown in help; used when absent
	// Check validates a value and says what to write if it is wrong (the
	// helpers OneOf, IntIn, FloatIn, DurationIn, Names). nil accepts any.
	Check   func(string) error
	SimOnly bool // meaningful for sim: specs only
}

// Common options, accepted by every kind.
var common = append([]Option{
	{Name: "name", Help: "instance name in recordings and the dashboard", Check: instanceName},
	{Name: "silence", Help: "alert when no data for this long", Check: DurationIn(100*time.Millisecond, 10*time.Minute)},
	{Name: "seed", Help: "simulator seed", Check: IntIn(0, 1<<62), SimOnly: true},
}, faultOptions...)

var (
	regMu sync.RWMutex
	reg   = map[string]Kind{}
)

// Register adds a kind. It panics on a malformed or duplicate kind: that
// is a programming error, found at start-up.
func Register(k Kind) {
	if k.Name == "" || k.Name != strings.ToLower(k.Name) || strings.ContainsAny(k.Name, ":?/ ") ||
		k.Name == "sim" || k.Name == "auto" || k.New == nil {
		panic(fmt.Sprintf("spec: Register: kind %q needs a lowercase name (not sim or auto) and New", k.Name))
	}
	seen := map[string]bool{}
	for _, o := range append(slices.Clone(common), k.Options...) {
		if seen[o.Name] {
			panic(fmt.Sprintf("spec: Register: kind %q has option %q twice", k.Name, o.Name))
		}
		seen[o.Name] = true
	}
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := reg[k.Name]; dup {
		panic(fmt.Sprintf("spec: Register: kind %q registered twice", k.Name))
	}
	reg[k.Name] = k
}

// Lookup returns a registered kind.
func Lookup(name string) (Kind, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	k, ok := reg[name]
	return k, ok
}

// Kinds returns the registered kinds by name.
func Kinds() []Kind {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]Kind, 0, len(reg))
	for _, k := range reg {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b Kind) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func kindNames(withSim bool) string {
	var n []string
	for _, k := range Kinds() {
		if !withSim || k.NewSim != nil {
			n = append(n, k.Name)
		}
	}
	return strings.Join(n, ", ")
}

// Spec is one parsed sensor spec.
type Spec struct {
	Raw  string // as written
	Kind string // a registered kind; "" for auto
	Port string // the device's path; "" for a simulator or auto
	Sim  bool   // sim:KIND
	Auto bool   // auto: resolve with detect.Auto
	Opts Opts
}

// Auto's options.
var autoOptions = []Option{
	{Name: "active", Help: "also probe by sending commands (BITalino version query)", Default: "false", Check: OneOf("true", "false")},
	{Name: "listen", Help: "how long to listen on each port", Default: "2.5s", Check: DurationIn(100*time.Millisecond, time.Minute)},
}

const howTo = "write KIND:PORT (e.g. bitalino:/dev/rfcomm0), sim:KIND (e.g. sim:grove) or auto"

// Parse reads a spec and validates its options for its kind. Errors quote
// the spec and say what to write instead. A port without a '/' is taken as
// a name under /dev (bitalino:rfcomm0 is bitalino:/dev/rfcomm0).
func Parse(s string) (Spec, error) {
	sp := Spec{Raw: s}
	fail := func(format string, a ...any) (Spec, error) {
		return sp, fmt.Errorf("sensor %q: %s", s, fmt.Sprintf(format, a...))
	}
	body, query, hasQuery := strings.Cut(strings.TrimSpace(s), "?")
	if body == "" {
		return fail("empty: %s", howTo)
	}
	vals, err := url.ParseQuery(query)
	if err != nil || (hasQuery && query == "") {
		return fail("bad options after '?' (%v): write ?name=value&name=value", err)
	}
	if body == "auto" {
		sp.Auto = true
		sp.Opts, err = newOpts(vals, autoOptions, false, "auto")
		if err != nil {
			return fail("%v", err)
		}
		return sp, nil
	}
	kind, rest, ok := strings.Cut(body, ":")
	if kind == "sim" {
		if rest == "" {
			return fail("no kind after sim: write sim:KIND; kinds with a simulator: %s", kindNames(true))
		}
		sp.Sim, kind = true, rest
	}
	k, known := Lookup(kind)
	switch {
	case !known:
		return fail("unknown kind %q: %s; kinds: %s", kind, howTo, kindNames(false))
	case sp.Sim && k.NewSim == nil:
		return fail("there is no simulator for %s; kinds with one: %s", kind, kindNames(true))
	case !sp.Sim && (!ok || rest == ""):
		ex := k.Example
		if ex == "" {
			ex = kind + ":/dev/ttyUSB0"
		}
		return fail("no port: write %s:PORT (e.g. %s), or sim:%s for a simulator", kind, ex, kind)
	}
	sp.Kind = kind
	if !sp.Sim {
		sp.Port = rest
		if !strings.Contains(rest, "/") && !strings.Contains(rest, `\`) && !strings.HasPrefix(strings.ToUpper(rest), "COM") {
			sp.Port = "/dev/" + rest
		}
	}
	sp.Opts, err = newOpts(vals, append(slices.Clone(common), k.Options...), sp.Sim, kind)
	if err != nil {
		return fail("%v", err)
	}
	if k.Check != nil {
		if err := k.Check(sp.Opts); err != nil {
			return fail("%v", err)
		}
	}
	return sp, nil
}

// String returns the spec in canonical form (options sorted).
func (s Spec) String() string {
	var b strings.Builder
	switch {
	case s.Auto:
		b.WriteString("auto")
	case s.Sim:
		b.WriteString("sim:" + s.Kind)
	default:
		b.WriteString(s.Kind + ":" + s.Port)
	}
	if q := s.Opts.v.Encode(); q != "" {
		b.WriteString("?" + q)
	}
	return b.String()
}

// Name is the instance name: the name option, else the kind. Devices built
// by Device carry it.
func (s Spec) Name() string { return s.Opts.Name() }

// Silence is the silence option (0 if absent: the bridge's default).
func (s Spec) Silence() time.Duration { return s.Opts.Duration("silence") }

// Device builds the device. For a sim: spec it is set up to talk to the
// simulator (no pauses between commands).
func (s Spec) Device() (sensors.Device, error) {
	k, ok := Lookup(s.Kind)
	if !ok {
		return nil, fmt.Errorf("sensor %q: %s", s.Raw, howTo)
	}
	d, err := k.New(s.Opts)
	if err != nil {
		return nil, fmt.Errorf("sensor %q: %w", s.Raw, err)
	}
	return d, nil
}

// SimOption hands a simulator what it needs from the session around it.
type SimOption func(*simEnv)

// simEnv is what the SimOptions gave; kinds read it from their Opts.
type simEnv struct {
	light *synth.Light
}

// WithLight gives the simulator the light a simulated photodiode watches
// (sim:bitalino?photodiode=A5): the window's sync patch, which the window
// sets as it presents its frames. Without it the photodiode reads dark.
// Simulators without a photodiode ignore it.
func WithLight(l *synth.Light) SimOption { return func(e *simEnv) { e.light = l } }

// WantsLight reports whether the spec's simulator watches a light (has a
// photodiode), so that the caller knows to hand one in with WithLight.
func (s Spec) WantsLight() bool { return s.Sim && s.Opts.Has("photodiode") }

// NewSim builds the simulator of a sim: spec.
func (s Spec) NewSim(opts ...SimOption) (Sim, error) {
	k, ok := Lookup(s.Kind)
	if !ok || !s.Sim || k.NewSim == nil {
		return nil, fmt.Errorf("sensor %q is not a simulator: write sim:KIND; kinds with one: %s", s.Raw, kindNames(true))
	}
	o := s.Opts
	for _, opt := range opts {
		opt(&o.env)
	}
	sim, err := k.NewSim(o)
	if err != nil {
		return nil, fmt.Errorf("sensor %q: %w", s.Raw, err)
	}
	return sim, nil
}

// Opts are a spec's validated options. Getters return the option's
// default when it is absent.
type Opts struct {
	v    url.Values
	defs map[string]Option
	sim  bool
	kind string
	env  simEnv // what NewSim's options handed in
}

func newOpts(v url.Values, allowed []Option, sim bool, kind string) (Opts, error) {
	o := Opts{v: v, defs: map[string]Option{}, sim: sim, kind: kind}
	var names []string
	for _, a := range allowed {
		if a.SimOnly && !sim {
			continue
		}
		o.defs[a.Name] = a
		names = append(names, a.Name)
	}
	for _, name := range slices.Sorted(maps.Keys(v)) {
		vals := v[name]
		def, ok := o.defs[name]
		switch {
		case !ok && !sim && slices.ContainsFunc(allowed, func(a Option) bool { return a.Name == name }):
			return o, fmt.Errorf("option %s applies to simulators only (sim:%s?%s=…)", name, kind, name)
		case !ok:
			return o, fmt.Errorf("%s has no option %q: its options are %s", kind, name, strings.Join(names, ", "))
		case len(vals) > 1:
			return o, fmt.Errorf("option %s is given %d times: give it once", name, len(vals))
		case def.Check != nil:
			if err := def.Check(vals[0]); err != nil {
				return o, fmt.Errorf("%s=%s: %v", name, vals[0], err)
			}
		}
	}
	return o, nil
}

// Name is the instance name: the name option, else the kind's name.
func (o Opts) Name() string {
	if n := o.Get("name"); n != "" {
		return n
	}
	return o.kind
}

// Sim reports whether the options are for a simulator.
func (o Opts) Sim() bool { return o.sim }

// Has reports whether the option was given.
func (o Opts) Has(name string) bool { _, ok := o.v[name]; return ok }

// Get returns the option's text, or its default.
func (o Opts) Get(name string) string {
	if vs, ok := o.v[name]; ok && len(vs) > 0 {
		return vs[0]
	}
	return o.defs[name].Default
}

// Int returns an integer option (0 if absent without default).
func (o Opts) Int(name string) int {
	n, _ := strconv.Atoi(o.Get(name))
	return n
}

// Float returns a number option.
func (o Opts) Float(name string) float64 {
	f, _ := strconv.ParseFloat(o.Get(name), 64)
	return f
}

// Bool returns a true/false option.
func (o Opts) Bool(name string) bool { return o.Get(name) == "true" }

// Duration returns a duration option ("2s", "500ms").
func (o Opts) Duration(name string) time.Duration {
	d, _ := time.ParseDuration(o.Get(name))
	return d
}

// List returns a comma-separated option's items (nil if absent).
func (o Opts) List(name string) []string {
	s := o.Get(name)
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// Values returns a copy of the options as given.
func (o Opts) Values() url.Values {
	out := url.Values{}
	for k, v := range o.v {
		out[k] = slices.Clone(v)
	}
	return out
}

// OneOf accepts the listed values.
func OneOf(vals ...string) func(string) error {
	return func(s string) error {
		if slices.Contains(vals, s) {
			return nil
		}
		return fmt.Errorf("use %s", orList(vals))
	}
}

func orList(vals []string) string {
	if len(vals) == 1 {
		return vals[0]
	}
	return strings.Join(vals[:len(vals)-1], ", ") + " or " + vals[len(vals)-1]
}

// IntIn accepts integers lo..hi.
func IntIn(lo, hi int) func(string) error {
	return func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("use a whole number from %d to %d", lo, hi)
		}
		return nil
	}
}

// FloatIn accepts numbers lo..hi.
func FloatIn(lo, hi float64) func(string) error {
	return func(s string) error {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || !(f >= lo && f <= hi) {
			return fmt.Errorf("use a number from %g to %g", lo, hi)
		}
		return nil
	}
}

// DurationIn accepts durations lo..hi ("500ms", "2s").
func DurationIn(lo, hi time.Duration) func(string) error {
	return func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil || d < lo || d > hi {
			return fmt.Errorf("use a duration from %v to %v, e.g. 2s or 500ms", lo, hi)
		}
		return nil
	}
}

// Names accepts a comma-separated list of at most most names (letters,
// digits, '_', '-', '.', '%'); 0 means any number, and then "-" (skip a
// field) is allowed among them.
func Names(most int) func(string) error {
	return func(s string) error {
		items := strings.Split(s, ",")
		if most > 0 && len(items) > most {
			if most == 1 {
				return errors.New("use one name: letters, digits, '_', '-' or '.'")
			}
			return fmt.Errorf("use at most %d names separated by commas", most)
		}
		for _, it := range items {
			if it == "-" && most != 1 {
				continue
			}
			if !validName(it) {
				return fmt.Errorf("%q is not a name: use letters, digits, '_', '-' or '.'", it)
			}
		}
		return nil
	}
}

// DerivedPrefix names the derived physiology streams ("physio",
// "physio-DEVICE"); a device may not take such a name, or its samples and
// the derived ones would mix.
const DerivedPrefix = "physio"

func instanceName(s string) error {
	if err := Names(1)(s); err != nil {
		return err
	}
	if s == DerivedPrefix || strings.HasPrefix(s, DerivedPrefix+"-") {
		return fmt.Errorf("%q is reserved for the derived physiology streams: choose another name", s)
	}
	return nil
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '%') {
			return false
		}
	}
	return true
}

// Usage describes the spec syntax and every kind with its options, for
// --help and error messages.
func Usage() string {
	var b strings.Builder
	b.WriteString("Sensor specs: KIND:PORT[?opt=value&...], sim:KIND[?...] or auto[?active=true]\n")
	for _, k := range Kinds() {
		fmt.Fprintf(&b, "  %-9s %s", k.Name, k.Summary)
		if k.NewSim != nil {
			b.WriteString(" [sim]")
		}
		b.WriteString("\n")
		if k.Example != "" {
			fmt.Fprintf(&b, "            e.g. %s\n", k.Example)
		}
		for _, o := range k.Options {
			def := ""
			if o.Default != "" {
				def = " (default " + o.Default + ")"
			}
			if o.SimOnly {
				def += " [sim only]"
			}
			fmt.Fprintf(&b, "            %s: %s%s\n", o.Name, o.Help, def)
		}
	}
	b.WriteString("  every kind: name=NAME, silence=DURATION (alert after no data that long); simulators: seed=N,\n" +
		"            motion=FROM-TO,... (motion artefacts at these times of the stream, e.g. 30s-33s), motionrate=PER_MIN\n")
	return b.String()
}

package timing

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cueroom/cueroom/sensors"
)

// Channel is one recorded channel: a device's stream and a column of it.
type Channel struct {
	Device string  `json:"device"`
	Label  string  `json:"label"` // as recorded ("a5")
	Unit   string  `json:"unit,omitempty"`
	Index  int     `json:"-"` // the column in the device's samples
	Rate   float64 `json:"rate_hz,omitempty"`
	// Input is the analog input it is wired to, when the stream says so
	// (a BITalino's inputs setting): "A5".
	Input  string `json:"input,omitempty"`
	analog bool   // could carry a light sensor (see analog)
}

func (c Channel) String() string {
	s := c.Device + " " + c.Label
	if c.Input != "" && !strings.EqualFold(c.Input, c.Label) {
		s += " (" + c.Input + ")"
	}
	return s
}

// analog says whether a channel could carry a light sensor: raw ADC counts
// (an analog input with no conversion: BITalino's raw inputs, its LUX
// sensor), or a channel named or typed as light. Converted physiology
// (EDA, ECG, heart rate…) cannot.
func analog(c sensors.Channel) bool {
	return strings.EqualFold(c.Unit, "adc") || lightName(c.Label) || lightName(c.Type)
}

func lightName(s string) bool {
	s = strings.ToLower(s)
	for _, w := range []string{"lux", "light", "photo"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// channels lists every channel of the devices that recorded samples, in
// device order, from the streams as announced (the last announcement of a
// device wins, as it describes what it sent since).
func channels(streams []sensors.Stream, hasSamples func(device string) bool) []Channel {
	last := map[string]sensors.Stream{}
	var order []string
	for _, s := range streams {
		if _, seen := last[s.Device]; !seen {
			order = append(order, s.Device)
		}
		last[s.Device] = s
	}
	var out []Channel
	for _, dev := range order {
		s := last[dev]
		if s.Kind == "derived" || !hasSamples(dev) {
			continue
		}
		inputs := inputNames(s)
		for i, c := range s.Channels {
			ch := Channel{Device: dev, Label: c.Label, Unit: c.Unit, Index: i, Rate: s.Rate, analog: analog(c)}
			if i < len(inputs) {
				ch.Input = inputs[i]
			}
			out = append(out, ch)
		}
	}
	return out
}

// inputNames reads a BITalino's inputs setting ("A1=eda,A2=ecg,A5=raw"):
// the input of each column, in order.
func inputNames(s sensors.Stream) []string {
	set := s.Settings["inputs"]
	if set == "" {
		return nil
	}
	var out []string
	for _, it := range strings.Split(set, ",") {
		name, _, _ := strings.Cut(it, "=")
		out = append(out, strings.ToUpper(name))
	}
	if len(out) != len(s.Channels) {
		return nil // not one per column: do not guess
	}
	return out
}

// choose picks the channel to analyse: the one named (LABEL, an input
// such as A5, or DEVICE:LABEL; case does not matter), or else the one
// analog channel, or the one named for light among several.
func choose(all []Channel, name string) (Channel, error) {
	if name != "" {
		return named(all, name)
	}
	var cands []Channel
	for _, c := range all {
		if c.analog {
			cands = append(cands, c)
		}
	}
	switch len(cands) {
	case 0:
		return Channel{}, fmt.Errorf("%w in this session (it recorded %s): record a photodiode on an analog input "+
			"(e.g. --sensor 'bitalino:/dev/rfcomm0?inputs=A1:eda,A2:ecg,A5', or sim:bitalino?photodiode=A5) and the sync patch (--sync-patch)",
			ErrNoChannel, list(all))
	case 1:
		return cands[0], nil
	}
	var lit []Channel
	for _, c := range cands {
		if lightName(c.Label) {
			lit = append(lit, c)
		}
	}
	if len(lit) == 1 {
		return lit[0], nil
	}
	return Channel{}, fmt.Errorf("%w: several analog channels could be the photodiode (%s): say which with --channel, e.g. --channel %s",
		ErrChannel, list(cands), flagName(cands[len(cands)-1], all))
}

// named finds the channel the user named.
func named(all []Channel, name string) (Channel, error) {
	dev, label, scoped := strings.Cut(name, ":")
	if !scoped {
		dev, label = "", name
	}
	var found []Channel
	for _, c := range all {
		if scoped && !strings.EqualFold(c.Device, dev) {
			continue
		}
		if strings.EqualFold(c.Label, label) || strings.EqualFold(c.Input, label) {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return Channel{}, fmt.Errorf("%w %q in this session: its channels are %s", ErrChannel, name, list(all))
	}
	return Channel{}, fmt.Errorf("%w: %q names %s: write DEVICE:LABEL, e.g. --channel %s", ErrChannel, name, list(found),
		found[0].Device+":"+found[0].Label)
}

// flagName is how --channel names c: its input or label, with the device
// if another device has a channel of that name.
func flagName(c Channel, all []Channel) string {
	name := c.Label
	if c.Input != "" {
		name = c.Input
	}
	if slices.ContainsFunc(all, func(o Channel) bool {
		return o.Device != c.Device && (strings.EqualFold(o.Label, name) || strings.EqualFold(o.Input, name))
	}) {
		name = c.Device + ":" + name
	}
	return name
}

func list(cs []Channel) string {
	if len(cs) == 0 {
		return "no channels"
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.String()
	}
	if len(parts) > 12 {
		parts = append(parts[:12], "and "+strconv.Itoa(len(cs)-12)+" more")
	}
	return strings.Join(parts, ", ")
}

package spec

import (
	"strconv"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/contec"
	"github.com/cueroom/cueroom/sensors/pulsesensor"
	"github.com/cueroom/cueroom/sensors/shimmer"
)

func init() {
	Register(Kind{Name: "shimmer", Summary: "Shimmer3 GSR+: skin conductance and PPG, Bluetooth SPP",
		Example: "shimmer:/dev/rfcomm0?rate=128", Options: shimmerOptions,
		New: func(o Opts) (sensors.Device, error) { return shimmer.New(shimmerConfig(o)) },
		NewSim: func(o Opts) (Sim, error) {
			return shimmer.NewSim(shimmer.SimConfig{Synth: simSynth(o)})
		}})
	Register(Kind{Name: "contec", Summary: "Contec CMS50D+/CMS50E pulse oximeter: pulse rate, SpO2, pleth; USB (CP210x)",
		Example: "contec:/dev/ttyUSB0?protocol=new", Options: contecOptions,
		New: func(o Opts) (sensors.Device, error) {
			return contec.New(contec.Config{Name: o.Name(), Protocol: contec.Protocol(o.Get("protocol"))})
		},
		NewSim: func(o Opts) (Sim, error) {
			return contec.NewSim(contec.SimConfig{Protocol: contec.Protocol(o.Get("protocol")), Synth: simSynth(o)})
		}})
	Register(Kind{Name: "pulsesensor", Summary: "PulseSensor on an Arduino (PulseSensor Playground): pulse wave, BPM, IBI",
		Example: "pulsesensor:/dev/ttyACM0?mode=plotter", Options: pulseOptions,
		New: func(o Opts) (sensors.Device, error) {
			return pulsesensor.New(pulsesensor.Config{Name: o.Name(), Mode: pulsesensor.Mode(o.Get("mode")), Baud: o.Int("baud")})
		},
		NewSim: func(o Opts) (Sim, error) {
			return pulsesensor.NewSim(pulsesensor.SimConfig{Mode: pulsesensor.Mode(o.Get("mode")), Synth: simSynth(o)})
		}})
}

var shimmerOptions = []Option{
	{Name: "rate", Help: "sampling rate, Hz (1..1024)", Default: "128", Check: FloatIn(1, 1024)},
	{Name: "range", Help: "GSR range: auto, or 0..3 (fixed reference resistor)", Default: "auto", Check: OneOf("auto", "0", "1", "2", "3")},
	{Name: "crc", Help: "link CRC bytes the firmware appends: 0, 1 or 2", Default: "0", Check: OneOf("0", "1", "2")},
	fingerOutOption,
}

func shimmerConfig(o Opts) shimmer.Config {
	r := shimmer.GSRAuto
	if v := o.Get("range"); v != "auto" {
		n, _ := strconv.Atoi(v)
		r = shimmer.GSRRange0 + shimmer.GSRRange(n)
	}
	return shimmer.Config{Name: o.Name(), Rate: o.Float("rate"), GSRRange: r, CRC: o.Int("crc")}
}

var contecOptions = []Option{
	{Name: "protocol", Help: "new (firmware 4.6: 115200 8N1, start command) or old (19200 8O1, streams by itself)",
		Default: "new", Check: OneOf("new", "old")},
	fingerOutOption,
}

var pulseOptions = []Option{
	{Name: "mode", Help: "the sketch's output: plotter (bpm,ibi,sample) or visualizer (S/B/Q lines)", Default: "plotter",
		Check: OneOf("plotter", "visualizer")},
	{Name: "baud", Help: "the sketch's Serial.begin value", Default: "115200", Check: IntIn(300, 2000000)},
	fingerOutOption,
}

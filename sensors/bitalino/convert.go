package bitalino

import (
	"fmt"
	"math"

	"github.com/cueroom/cueroom/sensors"
)

// Sensor is what is plugged into an analog input.
type Sensor string

// Sensors the driver converts to physical units; anything else is Raw (ADC counts).
const (
	EDA Sensor = "eda"
	ECG Sensor = "ecg"
	Raw Sensor = "raw"
)

// EDARevision selects the EDA sensor's transfer function: PLUX changed it
// between board revisions, and a wrong choice gives plausible-looking but
// wrong µS.
type EDARevision string

// EDA sensor revisions (devices.md).
const (
	EDACurrent  EDARevision = "current"  // µS = ADC/2ⁿ · 3.3 / 0.132 (0–25 µS)
	EDAOlder    EDARevision = "older"    // µS = (ADC/2ⁿ · 3.3 − 0.574) / 0.132
	EDAOriginal EDARevision = "original" // R(MΩ) = 1 − ADC/2ⁿ, µS = 1/R
)

func (r EDARevision) valid() bool {
	return r == EDACurrent || r == EDAOlder || r == EDAOriginal
}

const vcc = 3.3

// ECGmV converts an ECG ADC reading of the given resolution to millivolts.
func ECGmV(adc uint16, bits uint) sensors.Millivolts {
	x := float64(adc) / float64(uint(1)<<bits)
	return sensors.Millivolts((x - 0.5) * vcc / 1100 * 1000)
}

// EDAuS converts an EDA ADC reading of the given resolution to microsiemens.
// For the original board a full-scale reading would mean zero resistance:
// the result is capped at the conductance of one ADC step.
func EDAuS(rev EDARevision, adc uint16, bits uint) sensors.Microsiemens {
	full := float64(uint(1) << bits)
	x := float64(adc) / full
	switch rev {
	case EDAOlder:
		return sensors.Microsiemens((x*vcc - 0.574) / 0.132)
	case EDAOriginal:
		r := 1 - x // MΩ
		if r < 1/full {
			r = 1 / full
		}
		return sensors.Microsiemens(1 / r)
	default:
		return sensors.Microsiemens(x * vcc / 0.132)
	}
}

// ecgADC is the inverse of ECGmV (for the simulator), clamped to the ADC range.
func ecgADC(mv sensors.Millivolts, bits uint) uint16 {
	full := float64(uint(1) << bits)
	return clampADC((float64(mv)/1000*1100/vcc+0.5)*full, bits)
}

// edaADC is the inverse of EDAuS (for the simulator), clamped to the ADC range.
func edaADC(rev EDARevision, us sensors.Microsiemens, bits uint) uint16 {
	full := float64(uint(1) << bits)
	var x float64
	switch rev {
	case EDAOlder:
		x = (float64(us)*0.132 + 0.574) / vcc
	case EDAOriginal:
		if us <= 0 {
			return 0
		}
		x = 1 - 1/float64(us)
	default:
		x = float64(us) * 0.132 / vcc
	}
	return clampADC(x*full, bits)
}

func clampADC(v float64, bits uint) uint16 {
	maxV := float64(uint(1)<<bits - 1)
	switch {
	case math.IsNaN(v) || v < 0:
		return 0
	case v > maxV:
		return uint16(maxV)
	}
	return uint16(math.Round(v))
}

// Input is one selected analog input and the sensor plugged into it.
type Input struct {
	Analog int    // 1..6 for A1..A6
	Sensor Sensor // EDA, ECG or Raw
}

func (in Input) String() string { return fmt.Sprintf("A%d=%s", in.Analog, in.Sensor) }

// channelFor describes a converted column for the Stream.
func channelFor(in Input, label string) sensors.Channel {
	switch in.Sensor {
	case EDA:
		return sensors.Channel{Label: label, Unit: "uS", Type: "EDA"}
	case ECG:
		return sensors.Channel{Label: label, Unit: "mV", Type: "ECG"}
	default:
		return sensors.Channel{Label: label, Unit: "adc", Type: "MISC"}
	}
}

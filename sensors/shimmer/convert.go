package shimmer

import (
	"math"

	"github.com/cueroom/cueroom/sensors"
)

// GSR amplifier: reference resistor and measurable resistance per range, kΩ.
var (
	gsrRef = [4]float64{40.2, 287, 1000, 3300}
	gsrMin = [4]float64{8, 63, 220, 680}
	gsrMax = [4]float64{63, 220, 680, 4700}
)

const (
	adcMax      = 4095
	adcVolts    = 3.0
	gsrAmpVolts = 0.5
	// gsrOpen is the lowest range-3 reading the driver trusts: below it
	// the amplifier output is under its 0.5 V reference (682.5 counts),
	// which only open electrodes produce.
	gsrOpen = 683
)

// gsrRangeOf returns the range a raw GSR field was measured on.
func gsrRangeOf(raw uint16, setting GSRRange) int {
	if setting == GSRAuto {
		return int(raw >> 14)
	}
	return int(setting) - 1
}

// GSRuS converts a raw GSR field to skin conductance. The ADC reading is
// the low 12 bits; the range is the configured one, or bits 15..14 in auto
// range. Resistance R = Rref/(V/0.5 − 1) is clamped to what the range can
// measure, a range-3 reading below 683 counts is taken as 683, and a
// reading at or below the amplifier's reference (open electrodes) reads as
// the range's highest resistance.
func GSRuS(raw uint16, setting GSRRange) sensors.Microsiemens {
	r := gsrRangeOf(raw, setting)
	adc := float64(raw & 0x0FFF)
	if r == 3 && adc < gsrOpen {
		adc = gsrOpen
	}
	v := adc * adcVolts / adcMax
	k := v/gsrAmpVolts - 1
	R := math.Inf(1)
	if k > 0 {
		R = gsrRef[r] / k
	}
	R = min(max(R, gsrMin[r]), gsrMax[r])
	return sensors.Microsiemens(1000 / R)
}

// PPGmV converts the A13 field (12-bit ADC, 3 V reference) to millivolts.
func PPGmV(raw uint16) sensors.Millivolts {
	return sensors.Millivolts(float64(raw&0x0FFF) * 3000 / adcMax)
}

// autoRange picks the range the firmware would for a resistance in kΩ.
func autoRange(kohm float64) int {
	for r := range 3 {
		if kohm < gsrMax[r] {
			return r
		}
	}
	return 3
}

// gsrRaw is the inverse of GSRuS for the simulator: the field a Shimmer
// would send for a conductance, with the range bits set.
func gsrRaw(us sensors.Microsiemens, setting GSRRange) uint16 {
	kohm := math.Inf(1)
	if us > 0 {
		kohm = 1000 / float64(us)
	}
	r := int(setting) - 1
	if setting == GSRAuto {
		r = autoRange(kohm)
	}
	v := gsrAmpVolts * (1 + gsrRef[r]/kohm)
	return adc12(v*adcMax/adcVolts) | uint16(r)<<14
}

// ppgRaw is the inverse of PPGmV for the simulator.
func ppgRaw(mv float64) uint16 { return adc12(mv * adcMax / 3000) }

func adc12(x float64) uint16 {
	switch {
	case math.IsNaN(x) || x < 0:
		return 0
	case x > adcMax:
		return adcMax
	}
	return uint16(math.Round(x))
}

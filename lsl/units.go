package lsl

import "strings"

// Units in a stream's description follow the XDF meta-data convention
// (spelled out: "microvolts"); cueroom records them short ("uV"). Units
// not in the table pass unchanged either way.
var units = [][2]string{
	{"uS", "microsiemens"},
	{"mV", "millivolts"},
	{"uV", "microvolts"},
	{"V", "volts"},
	{"z", "z-score"},
}

// XDFUnit spells a short unit as the XDF convention does.
func XDFUnit(short string) string {
	for _, u := range units {
		if u[0] == short {
			return u[1]
		}
	}
	return short
}

// ShortUnit is XDFUnit's inverse (case-insensitive).
func ShortUnit(xdf string) string {
	for _, u := range units {
		if strings.EqualFold(u[1], xdf) {
			return u[0]
		}
	}
	return xdf
}
